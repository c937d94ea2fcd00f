//! PG_VIEWS: user views with their definitions.

use super::relations::{Kind, relations};
use crate::system::rows::{Rows, TEXT, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgViews;

impl CatalogTable for PgViews {
    const NAME: &'static str = "pg_views";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] =
        &[("schemaname", TEXT), ("viewname", TEXT), ("viewowner", TEXT), ("definition", TEXT)];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx) {
            if let Kind::View(view) = r.kind {
                rows.push(vec![text(&r.schema), text(&r.name), text(&r.owner), text(view_definition(view))]);
            }
        }
    }
}

/// `pg_get_viewdef`: the view's query, ending in `;` like PostgreSQL's.
pub fn view_definition(view: &crate::catalog::ViewDef) -> String {
    let sql = view.sql.trim().trim_end_matches(';');
    if view.no_schema_binding { format!("{sql} WITH NO SCHEMA BINDING;") } else { format!("{sql};") }
}
