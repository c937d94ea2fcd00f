//! information_schema.views.

use crate::catalog::DATABASE;
use crate::system::pg_catalog::relations::{Kind, relations};
use crate::system::pg_catalog::view_definition;
use crate::system::rows::{Rows, TEXT, text};
use crate::system::{CatalogTable, INFORMATION_SCHEMA, SystemContext};

pub struct Views;

impl CatalogTable for Views {
    const NAME: &'static str = "views";
    const SCHEMA: &'static str = INFORMATION_SCHEMA;
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("table_catalog", TEXT),
        ("table_schema", TEXT),
        ("table_name", TEXT),
        ("view_definition", TEXT),
        ("check_option", TEXT),
        ("is_updatable", TEXT),
        ("is_insertable_into", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx) {
            if let Kind::View(view) = r.kind {
                rows.push(vec![
                    text(DATABASE),
                    text(&r.schema),
                    text(&r.name),
                    text(view_definition(view)),
                    text("NONE"),
                    text("NO"),
                    text("NO"),
                ]);
            }
        }
    }
}
