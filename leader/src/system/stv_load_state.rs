//! STV_LOAD_STATE: the progress of running COPY statements — files and bytes done out of the
//! total, and rows parsed so far — so a long load can be watched from another session. A load
//! registers its [`LoadProgress`] for as long as it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use blueshift_compute::load::reader::Chunk;

use super::query_log::now_micros;
use super::stl_query::time;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, int, text};
use crate::system::{CatalogTable, SystemContext};

/// One running load's counters.
#[derive(Debug)]
pub struct LoadProgress {
    pub query: i64,
    pub pid: i32,
    pub table: String,
    pub start: i64,
    pub files_total: u64,
    pub bytes_total: u64,
    /// Chunks per file (all, and still to do), to count a file done when its last chunk is.
    chunks: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
    rows: AtomicU64,
}

impl LoadProgress {
    pub fn new(query: i64, pid: i32, table: &str, chunks: &[Chunk]) -> LoadProgress {
        let mut per_file = std::collections::HashMap::new();
        let mut bytes_total = 0;
        for chunk in chunks {
            let (all, left) = per_file.entry(chunk.url.to_string()).or_insert((0, 0));
            if *all == 0 {
                bytes_total += chunk.size;
            }
            *all += 1;
            *left += 1;
        }
        LoadProgress {
            query,
            pid,
            table: table.to_string(),
            start: now_micros(),
            files_total: per_file.len() as u64,
            bytes_total,
            chunks: std::sync::Mutex::new(per_file),
            files_done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            rows: AtomicU64::new(0),
        }
    }

    pub fn chunk_done(&self, chunk: &Chunk, rows: u64) {
        let mut chunks = self.chunks.lock().unwrap();
        let Some((all, left)) = chunks.get_mut(&chunk.url.to_string()) else {
            return;
        };
        // Row groups of one file count as equal shares of its size.
        let bytes = match (&chunk.range, &chunk.row_groups) {
            (Some(range), _) => range.end - range.start,
            (None, Some(_)) => chunk.size / *all,
            (None, None) => chunk.size,
        };
        self.bytes_done.fetch_add(bytes, Ordering::SeqCst);
        self.rows.fetch_add(rows, Ordering::SeqCst);
        *left -= 1;
        if *left == 0 {
            self.files_done.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Keeps a load listed in STV_LOAD_STATE while it runs.
pub struct Registration {
    log: Arc<super::query_log::QueryLog>,
    query: i64,
}

impl Registration {
    pub fn new(log: &Arc<super::query_log::QueryLog>, progress: Arc<LoadProgress>) -> Registration {
        let query = progress.query;
        log.loads.lock().unwrap().insert(query, progress);
        Registration {
            log: Arc::clone(log),
            query,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.log.loads.lock().unwrap().remove(&self.query);
    }
}

pub struct StvLoadState;

impl CatalogTable for StvLoadState {
    const NAME: &'static str = "stv_load_state";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("query", INT4),
        ("pid", INT4),
        ("starttime", TIMESTAMP),
        ("table_name", TEXT),
        ("files_done", INT8),
        ("files_total", INT8),
        ("bytes_done", INT8),
        ("bytes_total", INT8),
        ("rows_parsed", INT8),
        ("pct_complete", INT4),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        let loads: Vec<Arc<LoadProgress>> = ctx.log.loads.lock().unwrap().values().cloned().collect();
        for load in loads {
            let bytes_done = load.bytes_done.load(Ordering::SeqCst);
            let pct = (bytes_done * 100).checked_div(load.bytes_total).unwrap_or(0);
            rows.push(vec![
                int(load.query),
                int(load.pid.into()),
                time(Some(load.start)),
                text(&load.table),
                int(load.files_done.load(Ordering::SeqCst) as i64),
                int(load.files_total as i64),
                int(bytes_done as i64),
                int(load.bytes_total as i64),
                int(load.rows.load(Ordering::SeqCst) as i64),
                int(pct as i64),
            ]);
        }
    }
}
