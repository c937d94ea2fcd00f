//! STV_RECENTS: running statements and the most recent finished ones.

use super::pg_catalog::relations::user_id;
use super::query_log::now_micros;
use super::stl_query::time;
use crate::catalog::DATABASE;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, char_n, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct StvRecents;

/// Finished statements shown besides the running ones.
const RECENT: usize = 100;

impl CatalogTable for StvRecents {
    const NAME: &'static str = "stv_recents";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("userid", INT4),
        ("status", TEXT),
        ("starttime", TIMESTAMP),
        ("duration", INT8),
        ("user_name", TEXT),
        ("db_name", TEXT),
        ("query", TEXT),
        ("pid", INT4),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        let finished = ctx.log.finished();
        let recent = finished.iter().rev().take(RECENT).map(|q| ("Done", q));
        let running = ctx.log.running();
        let now = now_micros();
        for (status, q) in running.iter().map(|q| ("Running", q)).chain(recent) {
            rows.push(vec![
                int(user_id(&q.user).into()),
                text(status),
                time(Some(q.start)),
                int(q.end.unwrap_or(now) - q.start),
                text(&q.user),
                text(DATABASE),
                char_n(&q.text, 600),
                int(q.pid.into()),
            ]);
        }
    }
}
