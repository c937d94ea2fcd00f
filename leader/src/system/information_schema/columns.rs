//! information_schema.columns: every column of every relation with its SQL type, length,
//! precision and default.

use crate::catalog::DATABASE;
use crate::system::pg_catalog::relations::relations;
use crate::system::rows::{INT4, Rows, TEXT, NULL, int, opt_text, text};
use crate::system::{CatalogTable, INFORMATION_SCHEMA, SystemContext};

pub struct Columns;

impl CatalogTable for Columns {
    const NAME: &'static str = "columns";
    const SCHEMA: &'static str = INFORMATION_SCHEMA;
    const VIEW_COLUMNS: bool = true;
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("table_catalog", TEXT),
        ("table_schema", TEXT),
        ("table_name", TEXT),
        ("column_name", TEXT),
        ("ordinal_position", INT4),
        ("column_default", TEXT),
        ("is_nullable", TEXT),
        ("data_type", TEXT),
        ("character_maximum_length", INT4),
        ("character_octet_length", INT4),
        ("numeric_precision", INT4),
        ("numeric_precision_radix", INT4),
        ("numeric_scale", INT4),
        ("datetime_precision", INT4),
        ("udt_catalog", TEXT),
        ("udt_schema", TEXT),
        ("udt_name", TEXT),
        ("is_identity", TEXT),
        ("is_updatable", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx) {
            for a in r.attributes(ctx) {
                let facts = a.facts();
                let optional = |v: Option<i32>| v.map_or(NULL, |v| int(v.into()));
                rows.push(vec![
                    text(DATABASE),
                    text(&r.schema),
                    text(&r.name),
                    text(&a.name),
                    int(a.num.into()),
                    opt_text(a.default.clone()),
                    text(if a.not_null { "NO" } else { "YES" }),
                    text(facts.data_type),
                    optional(facts.length),
                    optional(facts.length.map(|l| l * 4)),
                    optional(facts.precision),
                    optional(facts.radix),
                    optional(facts.scale),
                    optional(facts.datetime_precision),
                    text(DATABASE),
                    text("pg_catalog"),
                    text(facts.udt_name),
                    text("NO"),
                    text(if r.table().is_some() { "YES" } else { "NO" }),
                ]);
            }
        }
    }
}
