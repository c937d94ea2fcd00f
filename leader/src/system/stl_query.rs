//! STL_QUERY: finished queries (statements that read or write rows), from the leader's query log
//! (see [`super::query_log`]).

use super::pg_catalog::relations::user_id;
use super::query_log::QueryRecord;
use crate::catalog::DATABASE;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, char_n, int, text};
use crate::system::{CatalogTable, SystemContext};
use datafusion::common::ScalarValue;

pub struct StlQuery;

/// A log time as a timestamp value.
pub fn time(micros: Option<i64>) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(micros, None)
}

/// Finished QUERY statements, as STL_QUERY and SVL_QLOG show them.
pub fn finished_queries(ctx: &SystemContext<'_>) -> Vec<QueryRecord> {
    ctx.log.finished().into_iter().filter(|q| q.kind() == "QUERY").collect()
}

impl CatalogTable for StlQuery {
    const NAME: &'static str = "stl_query";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("userid", INT4),
        ("query", INT4),
        ("label", TEXT),
        ("xid", INT8),
        ("pid", INT4),
        ("database", TEXT),
        ("querytxt", TEXT),
        ("starttime", TIMESTAMP),
        ("endtime", TIMESTAMP),
        ("aborted", INT4),
        ("insert_pristine", INT4),
        ("concurrency_scaling_status", INT4),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for q in finished_queries(ctx) {
            rows.push(vec![
                int(user_id(&q.user).into()),
                int(q.query),
                text(&q.label),
                int(q.xid as i64),
                int(q.pid.into()),
                text(DATABASE),
                char_n(&q.text, 4000),
                time(Some(q.start)),
                time(q.end),
                int(i64::from(q.aborted)),
                int(0),
                int(0),
            ]);
        }
    }
}
