//! STL_LOADERROR_DETAIL: for the first 20 rows each chunk of a load rejected, one row per field
//! up to and including the bad one, with the value as parsed and whether it stood for NULL, so a
//! user sees how the record was split into columns. Redshift's columns; `field` counts from 1.
//! Loads report them through [`super::load_errors::record_detail`].

use super::pg_catalog::relations::SUPERUSER_ID;
use crate::system::rows::{INT4, INT8, Rows, TEXT, char_n, int};
use crate::system::{CatalogTable, SystemContext};

pub struct StlLoaderrorDetail;

impl CatalogTable for StlLoaderrorDetail {
    const NAME: &'static str = "stl_loaderror_detail";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("userid", INT4),
        ("slice", INT4),
        ("session", INT4),
        ("query", INT4),
        ("filename", TEXT),
        ("line_number", INT8),
        ("field", INT4),
        ("colname", TEXT),
        ("value", TEXT),
        ("is_null", INT4),
        ("type", TEXT),
        ("col_length", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for detail in ctx.log.load_error_details() {
            for (index, field) in detail.fields.iter().enumerate() {
                rows.push(vec![
                    int(SUPERUSER_ID.into()),
                    int(0),
                    int(detail.pid.into()),
                    int(detail.query),
                    char_n(&detail.filename, 256),
                    int(detail.line_number),
                    int(index as i64 + 1),
                    char_n(&field.colname, 1024),
                    char_n(&field.value, 1024),
                    int(field.is_null.into()),
                    char_n(&field.column_type, 10),
                    char_n(&field.col_length, 10),
                ]);
            }
        }
    }
}
