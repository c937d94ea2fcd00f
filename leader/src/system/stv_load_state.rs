//! STV_LOAD_STATE: the progress of running COPY statements — files and bytes done out of the
//! total, and rows parsed so far — so a long load can be watched from another session. A load
//! registers its [`LoadProgress`] for as long as it runs; when it ends, its [`Registration`]
//! moves it to the query log's finished loads (SYS_LOAD_HISTORY).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use blueshift_compute::load::reader::Chunk;

use super::query_log::{FinishedLoad, QueryLog, now_micros};
use super::stl_query::time;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, int, text};
use crate::system::{CatalogTable, SystemContext};

/// What a load is.
#[derive(Debug, Clone)]
pub struct LoadInfo {
    pub query: i64,
    pub pid: i32,
    pub xid: u64,
    pub table: String,
    /// The FROM location (`stdin` for COPY FROM STDIN).
    pub data_source: String,
    /// SYS_LOAD_HISTORY's name for the format: csv, txt, json or parquet.
    pub file_format: &'static str,
}

/// One load's counters.
#[derive(Debug)]
pub struct LoadProgress {
    pub info: LoadInfo,
    pub start: i64,
    pub files_total: u64,
    pub bytes_total: u64,
    /// Chunks per file (all, and still to do), to count a file done when its last chunk is.
    chunks: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
    rows: AtomicU64,
    rejected: AtomicU64,
}

impl LoadProgress {
    /// A load of `chunks`, or, with none, of `stdin_bytes` sent by the client.
    pub fn new(info: LoadInfo, chunks: &[Chunk], stdin_bytes: Option<u64>) -> LoadProgress {
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
            info,
            start: now_micros(),
            files_total: per_file.len() as u64 + u64::from(stdin_bytes.is_some()),
            bytes_total: bytes_total + stdin_bytes.unwrap_or(0),
            chunks: std::sync::Mutex::new(per_file),
            files_done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    /// The client's data (COPY FROM STDIN) is parsed.
    pub fn stdin_done(&self, rows: u64, rejected: u64) {
        self.files_done.store(1, Ordering::SeqCst);
        self.bytes_done.store(self.bytes_total, Ordering::SeqCst);
        self.rows.store(rows, Ordering::SeqCst);
        self.rejected.store(rejected, Ordering::SeqCst);
    }

    /// A chunk is parsed: its rows and rejected rows count toward the load's (which the load
    /// itself reads), its bytes toward the bytes done.
    pub fn chunk_done(&self, chunk: &Chunk, rows: u64, rejected: u64) {
        self.rows.fetch_add(rows, Ordering::SeqCst);
        self.rejected.fetch_add(rejected, Ordering::SeqCst);
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
        *left -= 1;
        if *left == 0 {
            self.files_done.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub fn files_done(&self) -> u64 {
        self.files_done.load(Ordering::SeqCst)
    }

    pub fn bytes_done(&self) -> u64 {
        self.bytes_done.load(Ordering::SeqCst)
    }

    /// Rows parsed without error so far.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::SeqCst)
    }

    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::SeqCst)
    }
}

/// Keeps a load listed in STV_LOAD_STATE while it runs, and records it as finished when dropped:
/// completed if [`Registration::completed`] was called, aborted otherwise.
pub struct Registration {
    log: Arc<QueryLog>,
    progress: Arc<LoadProgress>,
    loaded: Option<u64>,
}

impl Registration {
    pub fn new(log: &Arc<QueryLog>, progress: Arc<LoadProgress>) -> Registration {
        log.loads.lock().unwrap().insert(progress.info.query, Arc::clone(&progress));
        Registration {
            log: Arc::clone(log),
            progress,
            loaded: None,
        }
    }

    /// The load succeeded, storing `rows` rows (0 for NOLOAD).
    pub fn completed(&mut self, rows: u64) {
        self.loaded = Some(rows);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.log.loads.lock().unwrap().remove(&self.progress.info.query);
        // The per-file chunk counts matter only while the load runs; the log keeps the rest.
        self.progress.chunks.lock().unwrap().clear();
        self.log.record_load(FinishedLoad {
            progress: Arc::clone(&self.progress),
            end: now_micros(),
            loaded: self.loaded,
        });
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
            let bytes_done = load.bytes_done();
            let pct = (bytes_done * 100).checked_div(load.bytes_total).unwrap_or(0);
            rows.push(vec![
                int(load.info.query),
                int(load.info.pid.into()),
                time(Some(load.start)),
                text(&load.info.table),
                int(load.files_done() as i64),
                int(load.files_total as i64),
                int(bytes_done as i64),
                int(load.bytes_total as i64),
                int(load.rows() as i64),
                int(pct as i64),
            ]);
        }
    }
}
