//! information_schema.schemata.

use crate::catalog::DATABASE;
use crate::system::pg_catalog::relations::namespaces;
use crate::system::rows::{Rows, TEXT, NULL, text};
use crate::system::{CatalogTable, INFORMATION_SCHEMA, SystemContext};

pub struct Schemata;

impl CatalogTable for Schemata {
    const NAME: &'static str = "schemata";
    const SCHEMA: &'static str = INFORMATION_SCHEMA;
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("catalog_name", TEXT),
        ("schema_name", TEXT),
        ("schema_owner", TEXT),
        ("default_character_set_catalog", TEXT),
        ("default_character_set_schema", TEXT),
        ("default_character_set_name", TEXT),
        ("sql_path", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for n in namespaces(ctx) {
            rows.push(vec![text(DATABASE), text(n.name), text(n.owner), NULL, NULL, NULL, NULL]);
        }
    }
}
