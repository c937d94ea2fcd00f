//! SVV_TABLES: tables and views of the database (Redshift's view over information_schema-like
//! data, which tools such as TablePlus query instead of pg_class).

use crate::catalog::DATABASE;
use crate::system::information_schema::table_type;
use crate::system::pg_catalog::relations::relations;
use crate::system::rows::{Rows, TEXT, NULL, text};
use crate::system::{CatalogTable, SystemContext};

pub struct SvvTables;

impl CatalogTable for SvvTables {
    const NAME: &'static str = "svv_tables";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("table_catalog", TEXT),
        ("table_schema", TEXT),
        ("table_name", TEXT),
        ("table_type", TEXT),
        ("remarks", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx).iter().filter(|r| !matches!(r.kind, crate::system::pg_catalog::relations::Kind::System(_))) {
            rows.push(vec![text(DATABASE), text(&r.schema), text(&r.name), text(table_type(r)), NULL]);
        }
    }
}
