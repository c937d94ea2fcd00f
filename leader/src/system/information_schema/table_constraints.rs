//! information_schema.table_constraints: primary, unique and foreign keys.

use crate::catalog::DATABASE;
use crate::system::pg_catalog::relations::{constraints, relations};
use crate::system::rows::{Rows, TEXT, text};
use crate::system::{CatalogTable, INFORMATION_SCHEMA, SystemContext};

pub struct TableConstraints;

pub fn constraint_type(kind: &str) -> &'static str {
    match kind {
        "p" => "PRIMARY KEY",
        "f" => "FOREIGN KEY",
        _ => "UNIQUE",
    }
}

impl CatalogTable for TableConstraints {
    const NAME: &'static str = "table_constraints";
    const SCHEMA: &'static str = INFORMATION_SCHEMA;
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("constraint_catalog", TEXT),
        ("constraint_schema", TEXT),
        ("constraint_name", TEXT),
        ("table_catalog", TEXT),
        ("table_schema", TEXT),
        ("table_name", TEXT),
        ("constraint_type", TEXT),
        ("is_deferrable", TEXT),
        ("initially_deferred", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx) {
            let Some(table) = r.table() else { continue };
            for c in constraints(table) {
                rows.push(vec![
                    text(DATABASE),
                    text(&r.schema),
                    text(&c.name),
                    text(DATABASE),
                    text(&r.schema),
                    text(&r.name),
                    text(constraint_type(c.kind)),
                    text("NO"),
                    text("NO"),
                ]);
            }
        }
    }
}
