//! SVL_QLOG: finished queries with their elapsed time and the first 60 characters of their text.

use super::pg_catalog::relations::user_id;
use super::stl_query::{finished_queries, time};
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, NULL, char_n, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct SvlQlog;

impl CatalogTable for SvlQlog {
    const NAME: &'static str = "svl_qlog";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("userid", INT4),
        ("query", INT4),
        ("xid", INT8),
        ("pid", INT4),
        ("starttime", TIMESTAMP),
        ("endtime", TIMESTAMP),
        ("elapsed", INT8),
        ("aborted", INT4),
        ("label", TEXT),
        ("substring", TEXT),
        ("source_query", INT4),
        ("concurrency_scaling_status_txt", TEXT),
        ("from_sp_call", INT4),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for q in finished_queries(ctx) {
            rows.push(vec![
                int(user_id(&q.user).into()),
                int(q.query),
                int(q.xid as i64),
                int(q.pid.into()),
                time(Some(q.start)),
                time(q.end),
                int(q.end.unwrap_or(q.start) - q.start),
                int(i64::from(q.aborted)),
                text(&q.label),
                char_n(&q.text, 60),
                NULL,
                text("0 - Ran on the main cluster"),
                NULL,
            ]);
        }
    }
}
