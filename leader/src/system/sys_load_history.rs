//! SYS_LOAD_HISTORY: one row per COPY, running, completed or aborted, with Redshift's columns:
//! its table, source and format, timing, and files, bytes and rows read, stored and rejected.
//! `loaded_bytes` counts the bytes of the source files whose rows a completed load stored.
//! Running loads come from their [`super::stv_load_state::LoadProgress`]; ended ones from the
//! query log, where their registration leaves them.

use super::pg_catalog::relations::SUPERUSER_ID;
use super::query_log::now_micros;
use super::stl_query::time;
use super::stv_load_state::LoadProgress;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct SysLoadHistory;

impl CatalogTable for SysLoadHistory {
    const NAME: &'static str = "sys_load_history";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("user_id", INT4),
        ("query_id", INT8),
        ("transaction_id", INT8),
        ("session_id", INT4),
        ("database_name", TEXT),
        ("status", TEXT),
        ("table_name", TEXT),
        ("start_time", TIMESTAMP),
        ("end_time", TIMESTAMP),
        ("duration", INT8),
        ("data_source", TEXT),
        ("file_format", TEXT),
        ("loaded_rows", INT8),
        ("loaded_bytes", INT8),
        ("source_file_count", INT4),
        ("source_file_bytes", INT8),
        ("file_count_scanned", INT4),
        ("file_bytes_scanned", INT8),
        ("error_count", INT8),
        ("copy_job_id", INT8),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for load in ctx.log.finished_loads() {
            let status = if load.loaded.is_some() { "completed" } else { "aborted" };
            rows.push(row(&load.progress, status, Some(load.end), load.loaded));
        }
        let running: Vec<_> = ctx.log.loads.lock().unwrap().values().cloned().collect();
        for load in running {
            rows.push(row(&load, "running", None, None));
        }
    }
}

/// A load's row; `end` is `None` while it runs, `loaded` the rows it stored if it completed.
fn row(load: &LoadProgress, status: &str, end: Option<i64>, loaded: Option<u64>) -> Vec<datafusion::scalar::ScalarValue> {
    let info = &load.info;
    vec![
        int(SUPERUSER_ID.into()),
        int(info.query),
        int(info.xid as i64),
        int(info.pid.into()),
        text(crate::catalog::DATABASE),
        text(status),
        text(&info.table),
        time(Some(load.start)),
        time(end),
        int(end.unwrap_or_else(now_micros) - load.start),
        text(&info.data_source),
        text(info.file_format),
        int(loaded.unwrap_or(0) as i64),
        int(if loaded.is_some() { load.bytes_done() as i64 } else { 0 }),
        int(load.files_total as i64),
        int(load.bytes_total as i64),
        int(load.files_done() as i64),
        int(load.bytes_done() as i64),
        int(load.rejected() as i64),
        int(0),
    ]
}
