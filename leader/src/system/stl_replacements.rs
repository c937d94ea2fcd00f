//! STL_REPLACEMENTS: rows that loads stored with invalid UTF-8 replaced (COPY ... ACCEPTINVCHARS),
//! the first 100 of each chunk, with Redshift's columns. Loads report them through
//! [`super::load_errors::record_replacement`].

use super::pg_catalog::relations::SUPERUSER_ID;
use super::stl_query::time;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, char_n, int};
use crate::system::{CatalogTable, SystemContext};

pub struct StlReplacements;

impl CatalogTable for StlReplacements {
    const NAME: &'static str = "stl_replacements";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("userid", INT4),
        ("query", INT4),
        ("slice", INT4),
        ("tbl", INT4),
        ("starttime", TIMESTAMP),
        ("session", INT4),
        ("filename", TEXT),
        ("line_number", INT8),
        ("colname", TEXT),
        ("raw_line", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (at, r) in ctx.log.replacements() {
            rows.push(vec![
                int(SUPERUSER_ID.into()),
                int(r.query),
                int(0),
                int(r.table_oid.into()),
                time(Some(at)),
                int(r.pid.into()),
                char_n(&r.filename, 256),
                int(r.line_number),
                char_n(&r.colname, 127),
                char_n(&r.raw_line, 1024),
            ]);
        }
    }
}
