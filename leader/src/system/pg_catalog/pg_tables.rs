//! PG_TABLES: user tables by schema.

use super::relations::relations;
use crate::system::rows::{BOOL, Rows, TEXT, NULL, boolean, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgTables;

impl CatalogTable for PgTables {
    const NAME: &'static str = "pg_tables";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("schemaname", TEXT),
        ("tablename", TEXT),
        ("tableowner", TEXT),
        ("tablespace", TEXT),
        ("hasindexes", BOOL),
        ("hasrules", BOOL),
        ("hastriggers", BOOL),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx).iter().filter(|r| r.table().is_some()) {
            rows.push(vec![
                text(&r.schema),
                text(&r.name),
                text(&r.owner),
                NULL,
                boolean(false),
                boolean(false),
                boolean(false),
            ]);
        }
    }
}
