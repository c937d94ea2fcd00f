//! STL_LOAD_COMMITS: the files, and byte ranges of files, whose rows a COPY stored, one row each,
//! with Redshift's columns; what users query to check which files a load took. `name` is the
//! table loaded, `lines_scanned` the records read (loaded and rejected), `errors` the rejected
//! ones, and `status` 1. Loads report them through [`super::load_errors::record_commit`].

use super::pg_catalog::relations::SUPERUSER_ID;
use super::stl_query::time;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, char_n, int};
use crate::system::{CatalogTable, SystemContext};

pub struct StlLoadCommits;

impl CatalogTable for StlLoadCommits {
    const NAME: &'static str = "stl_load_commits";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("userid", INT4),
        ("query", INT4),
        ("slice", INT4),
        ("name", TEXT),
        ("filename", TEXT),
        ("byte_offset", INT4),
        ("lines_scanned", INT4),
        ("errors", INT4),
        ("curtime", TIMESTAMP),
        ("status", INT4),
        ("file_format", TEXT),
        ("is_partial", INT4),
        ("start_offset", INT8),
        ("copy_job_id", INT8),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (at, c) in ctx.log.load_commits() {
            rows.push(vec![
                int(SUPERUSER_ID.into()),
                int(c.query),
                int(0),
                char_n(&c.table, 256),
                char_n(&c.filename, 256),
                int(0),
                int(c.lines_scanned),
                int(c.errors),
                time(Some(at)),
                int(1),
                char_n(c.file_format, 16),
                int(c.is_partial.into()),
                int(c.start_offset),
                int(0),
            ]);
        }
    }
}
