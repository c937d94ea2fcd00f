//! The leader's log of sessions, statements and load errors, which STL_QUERY, SVL_QLOG,
//! SVL_STATEMENTTEXT, STV_RECENTS, STV_SESSIONS and STL_LOAD_ERRORS show.
//!
//! Redshift keeps its STL logs on disk for days; Blueshift keeps them in leader memory, bounded
//! to the most recent [`CAPACITY`] statements and load errors, and they start empty when the
//! leader restarts. That is enough for what clients do with them: find the query they just ran,
//! its timing and its errors.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// Statements (and, separately, load errors) kept.
pub const CAPACITY: usize = 10_000;

/// One statement as the log records it.
#[derive(Debug, Clone)]
pub struct QueryRecord {
    pub query: i64,
    pub pid: i32,
    pub user: String,
    pub xid: u64,
    /// The session's query_group, or `default`.
    pub label: String,
    pub text: String,
    /// Microseconds since the Unix epoch.
    pub start: i64,
    pub end: Option<i64>,
    pub aborted: bool,
}

impl QueryRecord {
    /// SVL_STATEMENTTEXT's `type`: QUERY for statements that read or write rows, DDL for
    /// definitions, UTILITY for the rest.
    pub fn kind(&self) -> &'static str {
        let first = self
            .text
            .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match first.as_str() {
            "SELECT" | "WITH" | "VALUES" | "INSERT" | "UPDATE" | "DELETE" | "COPY" | "UNLOAD" | "FETCH" | "EXPLAIN" => "QUERY",
            "CREATE" | "DROP" | "ALTER" | "TRUNCATE" | "COMMENT" | "GRANT" | "REVOKE" => "DDL",
            _ => "UTILITY",
        }
    }
}

/// An open session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub pid: i32,
    pub user: String,
    pub start: i64,
}

/// A row that a load could not store (see [`crate::system::load_errors`]).
#[derive(Debug, Clone, Default)]
pub struct LoadError {
    pub slice: i32,
    pub table_oid: u32,
    pub pid: i32,
    pub query: i64,
    /// The load's transaction.
    pub xid: u64,
    pub filename: String,
    pub line_number: i64,
    pub colname: String,
    pub column_type: String,
    pub col_length: String,
    pub position: i32,
    pub raw_line: String,
    pub raw_field_value: String,
    pub err_code: i32,
    pub err_reason: String,
    pub is_partial: bool,
    pub start_offset: i64,
}

/// The fields of a row that a load could not store, up to and including the bad one
/// (STL_LOADERROR_DETAIL, one row per field).
#[derive(Debug, Clone, Default)]
pub struct LoadErrorDetail {
    pub pid: i32,
    pub query: i64,
    pub filename: String,
    pub line_number: i64,
    pub fields: Vec<DetailField>,
}

/// A field of a rejected row, with its column.
#[derive(Debug, Clone, Default)]
pub struct DetailField {
    pub colname: String,
    pub value: String,
    pub is_null: bool,
    pub column_type: String,
    pub col_length: String,
}

/// A file, or byte range of one, that a load stored the rows of (STL_LOAD_COMMITS).
#[derive(Debug, Clone, Default)]
pub struct LoadCommit {
    pub pid: i32,
    pub query: i64,
    /// The table loaded (STL_LOAD_COMMITS' name).
    pub table: String,
    pub filename: String,
    pub lines_scanned: i64,
    /// Rows of the file that were rejected.
    pub errors: i64,
    pub file_format: &'static str,
    pub is_partial: bool,
    pub start_offset: i64,
}

/// A COPY that ended (SYS_LOAD_HISTORY): its counters, when it ended, and the rows it stored if
/// it completed (`None`: aborted).
#[derive(Debug, Clone)]
pub struct FinishedLoad {
    pub progress: std::sync::Arc<super::stv_load_state::LoadProgress>,
    pub end: i64,
    pub loaded: Option<u64>,
}

/// A row that a load stored with invalid UTF-8 replaced (STL_REPLACEMENTS).
#[derive(Debug, Clone, Default)]
pub struct ReplacedRow {
    pub table_oid: u32,
    pub pid: i32,
    pub query: i64,
    pub filename: String,
    pub line_number: i64,
    pub colname: String,
    pub raw_line: String,
}

#[derive(Default)]
struct Inner {
    finished: VecDeque<QueryRecord>,
    /// The statement each session is running.
    running: BTreeMap<i32, QueryRecord>,
    sessions: BTreeMap<i32, SessionRecord>,
    load_errors: VecDeque<(i64, LoadError)>,
    load_error_details: VecDeque<LoadErrorDetail>,
    load_commits: VecDeque<(i64, LoadCommit)>,
    finished_loads: VecDeque<FinishedLoad>,
    replacements: VecDeque<(i64, ReplacedRow)>,
    s3_partitions: VecDeque<S3PartitionScan>,
}

/// How many of an external table's partitions a query's scan kept (SVL_S3PARTITION).
#[derive(Debug, Clone)]
pub struct S3PartitionScan {
    pub query: i64,
    pub table: String,
    pub time: i64,
    pub total: u64,
    pub qualified: u64,
}

#[derive(Default)]
pub struct QueryLog {
    inner: Mutex<Inner>,
    next_query: AtomicI64,
    /// Running loads, by query id, for STV_LOAD_STATE.
    pub loads: Mutex<BTreeMap<i64, std::sync::Arc<super::stv_load_state::LoadProgress>>>,
}

pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == CAPACITY {
        queue.pop_front();
    }
    queue.push_back(item);
}

impl QueryLog {
    pub fn session_started(&self, pid: i32, user: &str) {
        let record = SessionRecord {
            pid,
            user: user.to_string(),
            start: now_micros(),
        };
        self.inner.lock().unwrap().sessions.insert(pid, record);
    }

    pub fn session_ended(&self, pid: i32) {
        let mut inner = self.inner.lock().unwrap();
        inner.sessions.remove(&pid);
        if let Some(mut running) = inner.running.remove(&pid) {
            running.end = Some(now_micros());
            running.aborted = true;
            push_bounded(&mut inner.finished, running);
        }
    }

    /// Records a session's statement as started; returns its query id.
    pub fn start(&self, pid: i32, user: &str, label: &str, text: &str) -> i64 {
        let query = self.next_query.fetch_add(1, Ordering::SeqCst) + 1;
        let record = QueryRecord {
            query,
            pid,
            user: user.to_string(),
            xid: 0,
            label: label.to_string(),
            text: text.to_string(),
            start: now_micros(),
            end: None,
            aborted: false,
        };
        let mut inner = self.inner.lock().unwrap();
        if let Some(mut previous) = inner.running.insert(pid, record) {
            previous.end.get_or_insert_with(now_micros);
            push_bounded(&mut inner.finished, previous);
        }
        query
    }

    /// The transaction a session's running statement runs in.
    pub fn set_xid(&self, pid: i32, xid: u64) {
        if let Some(record) = self.inner.lock().unwrap().running.get_mut(&pid) {
            record.xid = xid;
        }
    }

    /// The query id of the statement a session is running, if any.
    pub fn running_query(&self, pid: i32) -> Option<i64> {
        self.inner.lock().unwrap().running.get(&pid).map(|r| r.query)
    }

    /// Records a statement as finished (its result fully sent, or abandoned).
    pub fn finish(&self, pid: i32, query: i64, aborted: bool) {
        let mut inner = self.inner.lock().unwrap();
        if inner.running.get(&pid).is_some_and(|r| r.query == query) {
            let mut record = inner.running.remove(&pid).expect("checked");
            record.end = Some(now_micros());
            record.aborted = aborted;
            push_bounded(&mut inner.finished, record);
        }
    }

    /// Finished statements, oldest first.
    pub fn finished(&self) -> Vec<QueryRecord> {
        self.inner.lock().unwrap().finished.iter().cloned().collect()
    }

    /// Running statements, by session.
    pub fn running(&self) -> Vec<QueryRecord> {
        self.inner.lock().unwrap().running.values().cloned().collect()
    }

    pub fn sessions(&self) -> Vec<SessionRecord> {
        self.inner.lock().unwrap().sessions.values().cloned().collect()
    }

    pub fn record_load_error(&self, error: LoadError) {
        push_bounded(&mut self.inner.lock().unwrap().load_errors, (now_micros(), error));
    }

    /// Load errors with the time they were recorded.
    pub fn load_errors(&self) -> Vec<(i64, LoadError)> {
        self.inner.lock().unwrap().load_errors.iter().cloned().collect()
    }

    pub fn record_load_error_detail(&self, detail: LoadErrorDetail) {
        push_bounded(&mut self.inner.lock().unwrap().load_error_details, detail);
    }

    pub fn load_error_details(&self) -> Vec<LoadErrorDetail> {
        self.inner.lock().unwrap().load_error_details.iter().cloned().collect()
    }

    pub fn record_load_commit(&self, commit: LoadCommit) {
        push_bounded(&mut self.inner.lock().unwrap().load_commits, (now_micros(), commit));
    }

    /// Files loaded, with the time they were recorded.
    pub fn load_commits(&self) -> Vec<(i64, LoadCommit)> {
        self.inner.lock().unwrap().load_commits.iter().cloned().collect()
    }

    pub fn record_load(&self, load: FinishedLoad) {
        push_bounded(&mut self.inner.lock().unwrap().finished_loads, load);
    }

    /// Loads that ended, oldest first.
    pub fn finished_loads(&self) -> Vec<FinishedLoad> {
        self.inner.lock().unwrap().finished_loads.iter().cloned().collect()
    }

    pub fn record_replacement(&self, row: ReplacedRow) {
        push_bounded(&mut self.inner.lock().unwrap().replacements, (now_micros(), row));
    }

    /// Rows loaded with invalid UTF-8 replaced, with the time they were recorded.
    pub fn replacements(&self) -> Vec<(i64, ReplacedRow)> {
        self.inner.lock().unwrap().replacements.iter().cloned().collect()
    }
}

impl QueryLog {
    /// Records a partition pruning decision for the statement `pid` is running.
    pub fn record_s3_partitions(&self, pid: i32, table: &str, total: usize, qualified: usize) {
        let query = self.running_query(pid).unwrap_or(0);
        let scan = S3PartitionScan {
            query,
            table: table.to_string(),
            time: now_micros(),
            total: total as u64,
            qualified: qualified as u64,
        };
        push_bounded(&mut self.inner.lock().unwrap().s3_partitions, scan);
    }

    pub fn s3_partitions(&self) -> Vec<S3PartitionScan> {
        self.inner.lock().unwrap().s3_partitions.iter().cloned().collect()
    }
}
