//! information_schema.columns: every column of every relation with its SQL type, length,
//! precision and default.

use crate::catalog::DATABASE;
use crate::system::pg_catalog::relations::relations;
use crate::system::pg_catalog::types::{self, BPCHAR, NUMERIC, VARCHAR};
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
                let pg = types::by_oid(a.type_oid);
                let data_type = pg.map_or("text", |t| t.display);
                let length = matches!(a.type_oid, VARCHAR | BPCHAR).then(|| a.typmod - 4).filter(|l| *l >= 0);
                let (precision, radix, scale) = match (a.type_oid, pg.map(|t| t.name)) {
                    (NUMERIC, _) if a.typmod >= 4 => (Some((a.typmod - 4) >> 16), Some(10), Some((a.typmod - 4) & 0xffff)),
                    (_, Some("int2")) => (Some(16), Some(2), Some(0)),
                    (_, Some("int4")) => (Some(32), Some(2), Some(0)),
                    (_, Some("int8")) => (Some(64), Some(2), Some(0)),
                    (_, Some("float4")) => (Some(24), Some(2), None),
                    (_, Some("float8")) => (Some(53), Some(2), None),
                    _ => (None, None, None),
                };
                let datetime = pg.is_some_and(|t| matches!(t.name, "timestamp" | "timestamptz" | "time" | "date"));
                let optional = |v: Option<i32>| v.map_or(NULL, |v| int(v.into()));
                rows.push(vec![
                    text(DATABASE),
                    text(&r.schema),
                    text(&r.name),
                    text(&a.name),
                    int(a.num.into()),
                    opt_text(a.default.clone()),
                    text(if a.not_null { "NO" } else { "YES" }),
                    text(data_type),
                    optional(length),
                    optional(length.map(|l| l * 4)),
                    optional(precision),
                    optional(radix),
                    optional(scale),
                    if datetime { int(if pg.is_some_and(|t| t.name == "date") { 0 } else { 6 }) } else { NULL },
                    text(DATABASE),
                    text("pg_catalog"),
                    text(pg.map_or("text", |t| t.name)),
                    text("NO"),
                    text(if r.table().is_some() { "YES" } else { "NO" }),
                ]);
            }
        }
    }
}
