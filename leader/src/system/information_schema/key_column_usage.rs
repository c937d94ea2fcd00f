//! information_schema.key_column_usage: the columns of each key, in key order.

use crate::catalog::DATABASE;
use crate::system::pg_catalog::relations::{constraints, relations};
use crate::system::rows::{INT4, Rows, TEXT, NULL, int, text};
use crate::system::{CatalogTable, INFORMATION_SCHEMA, SystemContext};

pub struct KeyColumnUsage;

impl CatalogTable for KeyColumnUsage {
    const NAME: &'static str = "key_column_usage";
    const SCHEMA: &'static str = INFORMATION_SCHEMA;
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("constraint_catalog", TEXT),
        ("constraint_schema", TEXT),
        ("constraint_name", TEXT),
        ("table_catalog", TEXT),
        ("table_schema", TEXT),
        ("table_name", TEXT),
        ("column_name", TEXT),
        ("ordinal_position", INT4),
        ("position_in_unique_constraint", INT4),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx) {
            let Some(table) = r.table() else { continue };
            for c in constraints(table) {
                for (i, column) in c.columns.iter().enumerate() {
                    rows.push(vec![
                        text(DATABASE),
                        text(&r.schema),
                        text(&c.name),
                        text(DATABASE),
                        text(&r.schema),
                        text(&r.name),
                        text(column),
                        int(i as i64 + 1),
                        if c.kind == "f" { int(i as i64 + 1) } else { NULL },
                    ]);
                }
            }
        }
    }
}
