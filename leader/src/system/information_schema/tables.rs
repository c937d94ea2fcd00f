//! information_schema.tables.

use super::table_type;
use crate::catalog::DATABASE;
use crate::system::pg_catalog::relations::relations;
use crate::system::rows::{Rows, TEXT, NULL, text};
use crate::system::{CatalogTable, INFORMATION_SCHEMA, SystemContext};

pub struct Tables;

impl CatalogTable for Tables {
    const NAME: &'static str = "tables";
    const SCHEMA: &'static str = INFORMATION_SCHEMA;
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("table_catalog", TEXT),
        ("table_schema", TEXT),
        ("table_name", TEXT),
        ("table_type", TEXT),
        ("self_referencing_column_name", TEXT),
        ("reference_generation", TEXT),
        ("user_defined_type_catalog", TEXT),
        ("user_defined_type_schema", TEXT),
        ("user_defined_type_name", TEXT),
        ("is_insertable_into", TEXT),
        ("is_typed", TEXT),
        ("commit_action", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx) {
            let kind = table_type(&r);
            rows.push(vec![
                text(DATABASE),
                text(&r.schema),
                text(&r.name),
                text(kind),
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                text(if kind == "VIEW" { "NO" } else { "YES" }),
                text("NO"),
                NULL,
            ]);
        }
    }
}
