//! STV_SESSIONS: open sessions.

use super::stl_query::time;
use crate::catalog::DATABASE;
use crate::system::rows::{INT4, Rows, TEXT, TIMESTAMP, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct StvSessions;

/// Redshift's idle session timeout, in seconds (4 hours).
const TIMEOUT: i64 = 4 * 3600;

impl CatalogTable for StvSessions {
    const NAME: &'static str = "stv_sessions";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("starttime", TIMESTAMP),
        ("process", INT4),
        ("user_name", TEXT),
        ("db_name", TEXT),
        ("timeout_sec", INT4),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for s in ctx.log.sessions() {
            rows.push(vec![time(Some(s.start)), int(s.pid.into()), text(&s.user), text(DATABASE), int(TIMEOUT)]);
        }
    }
}
