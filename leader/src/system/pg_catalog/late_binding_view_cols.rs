//! `pg_get_late_binding_view_cols()`: the columns of the late-binding views (CREATE VIEW ...
//! WITH NO SCHEMA BINDING), which Redshift keeps out of `pg_attribute`'s reach of the tools
//! and serves through this function instead; sqlalchemy-redshift and dbt call it as
//! `FROM pg_get_late_binding_view_cols() cols(view_schema name, view_name name, col_name name,
//! col_type varchar, col_num int)`. It is served as an unlisted system relation of that name,
//! which [`crate::sql::redshift_idioms`] turns the call into.

use super::relations::{Kind, relations};
use super::types::format_type;
use crate::system::rows::{INT4, Rows, TEXT, text};
use crate::system::{CatalogTable, SystemContext};
use datafusion::common::ScalarValue;

pub struct LateBindingViewCols;

impl CatalogTable for LateBindingViewCols {
    const NAME: &'static str = "pg_get_late_binding_view_cols";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("view_schema", TEXT),
        ("view_name", TEXT),
        ("col_name", TEXT),
        ("col_type", TEXT),
        ("col_num", INT4),
    ];
    const VIEW_COLUMNS: bool = true;
    const LISTED: bool = false;

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for relation in relations(ctx) {
            if !matches!(relation.kind, Kind::View(view) if view.no_schema_binding) {
                continue;
            }
            for column in relation.attributes(ctx) {
                rows.push(vec![
                    text(&relation.schema),
                    text(&relation.name),
                    text(&column.name),
                    text(format_type(column.type_oid, Some(column.typmod)).unwrap_or_default()),
                    ScalarValue::Int32(Some(i32::from(column.num))),
                ]);
            }
        }
    }
}
