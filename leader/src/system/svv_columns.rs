//! SVV_COLUMNS: columns of user tables and views, with Redshift's column names.

use crate::catalog::DATABASE;
use crate::system::pg_catalog::relations::{Kind, relations};
use crate::system::rows::{INT4, Rows, TEXT, NULL, int, opt_text, text};
use crate::system::{CatalogTable, SystemContext};

pub struct SvvColumns;

impl CatalogTable for SvvColumns {
    const NAME: &'static str = "svv_columns";
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
        ("numeric_precision", INT4),
        ("numeric_precision_radix", INT4),
        ("numeric_scale", INT4),
        ("datetime_precision", INT4),
        ("interval_type", TEXT),
        ("interval_precision", TEXT),
        ("character_set_catalog", TEXT),
        ("character_set_schema", TEXT),
        ("character_set_name", TEXT),
        ("collation_catalog", TEXT),
        ("collation_schema", TEXT),
        ("collation_name", TEXT),
        ("domain_name", TEXT),
        ("remarks", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx).iter().filter(|r| !matches!(r.kind, Kind::System(_))) {
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
                    optional(facts.precision),
                    optional(facts.radix),
                    optional(facts.scale),
                    optional(facts.datetime_precision),
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                ]);
            }
        }
    }
}
