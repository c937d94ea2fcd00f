//! STL_LOAD_ERRORS: rows that loads could not store, with Redshift's columns. Loads report them
//! through [`super::load_errors::record`].

use super::pg_catalog::relations::SUPERUSER_ID;
use super::stl_query::time;
use crate::system::rows::{BOOL, INT4, INT8, Rows, TEXT, TIMESTAMP, boolean, char_n, int};
use crate::system::{CatalogTable, SystemContext};

pub struct StlLoadErrors;

impl CatalogTable for StlLoadErrors {
    const NAME: &'static str = "stl_load_errors";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("userid", INT4),
        ("slice", INT4),
        ("tbl", INT4),
        ("starttime", TIMESTAMP),
        ("session", INT4),
        ("query", INT4),
        ("filename", TEXT),
        ("line_number", INT8),
        ("colname", TEXT),
        ("type", TEXT),
        ("col_length", TEXT),
        ("position", INT4),
        ("raw_line", TEXT),
        ("raw_field_value", TEXT),
        ("err_code", INT4),
        ("err_reason", TEXT),
        ("is_partial", BOOL),
        ("start_offset", INT8),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (at, e) in ctx.log.load_errors() {
            rows.push(vec![
                int(SUPERUSER_ID.into()),
                int(e.slice.into()),
                int(e.table_oid.into()),
                time(Some(at)),
                int(e.pid.into()),
                int(e.query),
                char_n(&e.filename, 256),
                int(e.line_number),
                char_n(&e.colname, 127),
                char_n(&e.column_type, 10),
                char_n(&e.col_length, 10),
                int(e.position.into()),
                char_n(&e.raw_line, 1024),
                char_n(&e.raw_field_value, 1024),
                int(e.err_code.into()),
                char_n(&e.err_reason, 100),
                boolean(e.is_partial),
                int(e.start_offset),
            ]);
        }
    }
}
