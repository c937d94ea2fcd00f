//! PG_SETTINGS: the session's parameters and their current values.

use crate::system::rows::{Rows, TEXT, NULL, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgSettings;

impl CatalogTable for PgSettings {
    const NAME: &'static str = "pg_settings";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("name", TEXT),
        ("setting", TEXT),
        ("unit", TEXT),
        ("category", TEXT),
        ("short_desc", TEXT),
        ("extra_desc", TEXT),
        ("context", TEXT),
        ("vartype", TEXT),
        ("source", TEXT),
        ("min_val", TEXT),
        ("max_val", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (name, value) in &ctx.query.session.settings {
            let unit = if name == "statement_timeout" { text("ms") } else { NULL };
            rows.push(vec![
                text(name),
                text(value),
                unit,
                NULL,
                NULL,
                NULL,
                text("user"),
                text("string"),
                text("session"),
                NULL,
                NULL,
            ]);
        }
    }
}
