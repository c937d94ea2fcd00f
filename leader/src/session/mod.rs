//! A client session: its settings, its transaction block, and the dispatch of each statement to
//! its handler.
//!
//! Outside a transaction block every statement runs in its own transaction (autocommit). BEGIN
//! opens a block whose statements share one transaction and snapshot; the first failing statement
//! aborts the transaction, and until ROLLBACK (or COMMIT, which then rolls back) every statement
//! fails with `25P02`, as in PostgreSQL.

pub mod prepared;
pub mod settings;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::execution::{SendableRecordBatchStream, SessionState};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use sqlparser::ast::ObjectName;
use tokio_util::sync::CancellationToken;

use crate::catalog::provider::{ContextCell, QueryContext, SessionInfo, WriteLog};
use crate::catalog::Catalog;
use crate::error::{Error, Result, SqlState};
use crate::handler;
use crate::server::Server;
use crate::sql::{StatementText, split_statements};
use crate::txn::{SnapshotHold, Transaction};
use settings::{SettingCommand, Settings, parse_setting_command};

/// A message sent to the client before a statement's result.
#[derive(Debug, Clone)]
pub struct Notice {
    /// NOTICE, WARNING or INFO.
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl Notice {
    pub fn notice(message: impl Into<String>) -> Notice {
        Notice {
            severity: "NOTICE",
            code: "00000",
            message: message.into(),
        }
    }

    pub fn info(message: impl Into<String>) -> Notice {
        Notice {
            severity: "INFO",
            code: "00000",
            message: message.into(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Notice {
        Notice {
            severity: "WARNING",
            code,
            message: message.into(),
        }
    }
}

/// What a statement produced.
pub enum Outcome {
    Rows {
        schema: SchemaRef,
        stream: SendableRecordBatchStream,
    },
    /// A command tag such as `CREATE TABLE`, with a row count for INSERT, UPDATE, DELETE, SELECT.
    Command { tag: String, rows: Option<u64> },
    /// COPY FROM STDIN is waiting for the client's data (text format, this many columns).
    CopyIn { columns: usize },
    /// BEGIN: a transaction block is now open.
    BlockStarted(String),
    /// COMMIT or ROLLBACK (or a statement that implicitly ended the block).
    BlockEnded(String),
    Empty,
}

impl Outcome {
    pub fn command(tag: &str) -> Outcome {
        Outcome::Command {
            tag: tag.to_string(),
            rows: None,
        }
    }

    pub fn count(tag: &str, rows: u64) -> Outcome {
        Outcome::Command {
            tag: tag.to_string(),
            rows: Some(rows),
        }
    }

    /// A result of one text column, e.g. for SHOW.
    pub fn text_rows(column: &str, values: Vec<String>) -> Outcome {
        let schema = Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(StringArray::from(values))])
            .expect("one string column");
        Outcome::rows(schema, vec![batch])
    }

    pub fn rows(schema: SchemaRef, batches: Vec<RecordBatch>) -> Outcome {
        let stream = futures::stream::iter(batches.into_iter().map(Ok));
        Outcome::Rows {
            stream: Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&schema), stream)),
            schema,
        }
    }
}

pub struct StatementResult {
    pub notices: Vec<Notice>,
    pub outcome: Outcome,
}

enum Block {
    /// Autocommit: no transaction block.
    Idle,
    Open(Transaction),
    /// A statement in the block failed; its transaction is already rolled back.
    Failed,
}

pub struct Session {
    pub pid: i32,
    pub secret: i32,
    pub user: String,
    pub server: Arc<Server>,
    settings: Mutex<Settings>,
    block: tokio::sync::Mutex<Block>,
    cell: Arc<ContextCell>,
    base_state: SessionState,
    /// The running statement's cancellation token.
    running: Mutex<Option<CancellationToken>>,
    /// Set when a result stream failed after its statement returned: the block must fail.
    stream_failed: Arc<AtomicBool>,
    /// Open cursors of the transaction block, by name.
    pub cursors: Mutex<HashMap<String, handler::cursor::Cursor>>,
    /// The query id and loaded row count of the session's last successful COPY, for
    /// `pg_last_copy_id()` and `pg_last_copy_count()`.
    pub last_copy: Mutex<Option<(i64, i64)>>,
    /// A COPY FROM STDIN receiving its data (see [`handler::copy::stdin`]).
    pub copy_in: Mutex<Option<handler::copy::stdin::CopyIn>>,
    /// The query id and row count of the session's last successful UNLOAD, for
    /// `pg_last_unload_id()` and `pg_last_unload_count()`.
    pub last_unload: Mutex<Option<(i64, i64)>>,
    /// Names of the connection's prepared statements, for DEALLOCATE.
    pub prepared: Mutex<prepared::PreparedNames>,
}

impl Session {
    pub fn new(server: Arc<Server>, pid: i32, secret: i32, user: &str, application_name: Option<&str>) -> Session {
        let cell = Arc::new(ContextCell::default());
        let base_state = crate::planner::session_state(Arc::clone(&cell), Arc::clone(&server.services));
        server.services.log.session_started(pid, user);
        Session {
            pid,
            secret,
            user: user.to_string(),
            server,
            settings: Mutex::new(Settings::new(user, application_name)),
            block: tokio::sync::Mutex::new(Block::Idle),
            cell,
            base_state,
            running: Mutex::new(None),
            stream_failed: Arc::default(),
            cursors: Mutex::default(),
            last_copy: Mutex::default(),
            copy_in: Mutex::default(),
            last_unload: Mutex::default(),
            prepared: Mutex::default(),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().unwrap().clone()
    }

    /// Name of this session's schema for temporary tables.
    pub fn temp_schema(&self) -> String {
        format!("pg_temp_{}", self.pid)
    }

    /// Cancels the running statement, if any (a pg cancel request).
    pub fn cancel(&self) {
        if let Some(token) = self.running.lock().unwrap().as_ref() {
            token.cancel();
        }
    }

    /// Runs a simple-protocol query string: each statement in turn, stopping at the first error.
    /// Results of all but the last statement are fully read before the next statement runs.
    pub async fn run_query_string(self: &Arc<Self>, sql: &str) -> Vec<Result<StatementResult>> {
        let statements = match split_statements(sql) {
            Ok(s) => s,
            Err(e) => return vec![Err(e)],
        };
        let count = statements.len();
        let mut results = Vec::with_capacity(count);
        for (i, statement) in statements.iter().enumerate() {
            match self.execute(statement, None).await {
                Ok(result) if i + 1 < count => match materialize(result).await {
                    Ok(result) => results.push(Ok(result)),
                    Err(e) => {
                        self.fail_block().await;
                        results.push(Err(e));
                        break;
                    }
                },
                Ok(result) => results.push(Ok(result)),
                Err(e) => {
                    results.push(Err(e));
                    break;
                }
            }
        }
        results
    }

    /// Runs one statement, with cancellation and `statement_timeout` covering both its execution
    /// and the streaming of its result.
    pub async fn execute(self: &Arc<Self>, statement: &StatementText, params: Option<ParamValues>) -> Result<StatementResult> {
        if self.stream_failed.swap(false, Ordering::SeqCst) {
            self.fail_block().await;
        }
        let token = CancellationToken::new();
        *self.running.lock().unwrap() = Some(token.clone());
        let log = &self.server.services.log;
        let label = self.settings().get("query_group").unwrap_or("default").to_string();
        let query = log.start(self.pid, &self.user, &label, &statement.text);
        let logged = LoggedStatement {
            session: Arc::clone(self),
            query,
            failed: AtomicBool::new(false),
            _snapshot: (statement.first() != "VACUUM").then(|| self.server.services.txns.hold_snapshot()),
        };
        let timeout = self.settings().statement_timeout();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let run = self.dispatch(statement, params);
        let result = tokio::select! {
            result = run => result,
            _ = token.cancelled() => Err(Error::canceled()),
            _ = sleep_until(deadline) => Err(timeout_error()),
        };
        let result = match result {
            Ok(mut r) => {
                r.outcome = self.guard_stream(r.outcome, token, deadline, logged);
                Ok(r)
            }
            Err(e) => {
                logged.failed.store(true, Ordering::SeqCst);
                // A cancelled or timed-out statement may have left a transaction mid-write.
                if matches!(e.state, SqlState::QueryCanceled) {
                    self.fail_block().await;
                }
                Err(e)
            }
        };
        result
    }

    /// Wraps a result stream so cancellation, the timeout and errors keep applying while rows are
    /// sent, and a failure marks the transaction block failed.
    fn guard_stream(&self, outcome: Outcome, token: CancellationToken, deadline: Option<tokio::time::Instant>, logged: LoggedStatement) -> Outcome {
        let Outcome::Rows { schema, stream } = outcome else {
            return outcome;
        };
        let failed = Arc::clone(&self.stream_failed);
        let state = (stream, token, deadline, failed, false);
        let guarded = futures::stream::unfold(state, |(mut stream, token, deadline, failed, done)| async move {
            if done {
                return None;
            }
            let item = tokio::select! {
                biased;
                _ = token.cancelled() => Some(Err(Error::canceled())),
                _ = sleep_until(deadline) => Some(Err(timeout_error())),
                item = stream.next() => item.map(|r| r.map_err(Error::from)),
            };
            match item {
                None => None,
                Some(Ok(batch)) => Some((Ok(batch), (stream, token, deadline, failed, false))),
                Some(Err(e)) => {
                    failed.store(true, Ordering::SeqCst);
                    Some((
                        Err(datafusion::error::DataFusionError::External(Box::new(e))),
                        (stream, token, deadline, failed, true),
                    ))
                }
            }
        });
        // The log entry lives as long as the stream: it ends when the result is sent or dropped.
        let guarded = guarded.inspect(move |item| {
            if item.is_err() {
                logged.failed.store(true, Ordering::SeqCst);
            }
        });
        Outcome::Rows {
            stream: Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&schema), guarded)),
            schema,
        }
    }

    async fn fail_block(&self) {
        self.cursors.lock().unwrap().clear();
        let mut block = self.block.lock().await;
        if let Block::Open(txn) = std::mem::replace(&mut *block, Block::Idle) {
            self.abort(txn).await;
            *block = Block::Failed;
        } else if matches!(*block, Block::Failed) {
            *block = Block::Failed;
        }
    }

    async fn abort(&self, txn: Transaction) {
        self.server.services.txns.abort(txn).await;
    }

    async fn commit(&self, txn: Transaction) -> Result<()> {
        self.server.services.txns.commit(txn).await
    }

    async fn dispatch(self: &Arc<Self>, statement: &StatementText, params: Option<ParamValues>) -> Result<StatementResult> {
        let first = statement.first();
        match first {
            "BEGIN" | "START" => return self.begin().await,
            "COMMIT" | "END" => return self.end_block(true).await,
            "ROLLBACK" | "ABORT" => return self.end_block(false).await,
            _ => {}
        }
        if matches!(*self.block.lock().await, Block::Failed) {
            return Err(Error::in_failed_transaction());
        }
        match first {
            "SET" | "SHOW" | "RESET" => return self.setting(statement),
            // Not transactional, as in PostgreSQL: the statements are closed by the protocol layer.
            "DEALLOCATE" => {
                self.prepared.lock().unwrap().deallocate(&statement.text)?;
                let tag = if statement.keywords.last().is_some_and(|w| w == "ALL") { "DEALLOCATE ALL" } else { "DEALLOCATE" };
                return handler::done(Outcome::command(tag));
            }
            // Redshift keeps cursors inside transaction blocks only.
            "DECLARE" if matches!(*self.block.lock().await, Block::Idle) => {
                return Err(Error::new(
                    SqlState::NoActiveSqlTransaction,
                    "DECLARE CURSOR may only be used in transaction blocks",
                ));
            }
            // VACUUM runs its own transactions, one per table.
            "VACUUM" => {
                if matches!(*self.block.lock().await, Block::Open(_)) {
                    return Err(Error::new(SqlState::ActiveSqlTransaction, "VACUUM cannot run inside a transaction block"));
                }
                return handler::vacuum::vacuum(self, statement).await;
            }
            // TRUNCATE commits the open transaction first, then runs on its own (as in Redshift).
            "TRUNCATE" => {
                let ended_block = self.commit_open_block().await?;
                let result = self.in_transaction(statement, params).await?;
                if ended_block && let Outcome::Command { tag, .. } = &result.outcome {
                    return Ok(StatementResult {
                        notices: result.notices,
                        outcome: Outcome::BlockEnded(tag.clone()),
                    });
                }
                return Ok(result);
            }
            _ => {}
        }
        self.in_transaction(statement, params).await
    }

    /// Commits the open block, if any; returns whether there was one.
    async fn commit_open_block(&self) -> Result<bool> {
        let mut block = self.block.lock().await;
        match std::mem::replace(&mut *block, Block::Idle) {
            Block::Open(txn) => {
                self.commit(txn).await?;
                Ok(true)
            }
            other => {
                *block = other;
                Ok(false)
            }
        }
    }

    async fn begin(&self) -> Result<StatementResult> {
        let mut block = self.block.lock().await;
        let mut notices = Vec::new();
        match &*block {
            Block::Idle => *block = Block::Open(self.server.services.txns.begin().await?),
            Block::Open(_) | Block::Failed => notices.push(Notice::warning(
                "25001",
                "there is already a transaction in progress",
            )),
        }
        Ok(StatementResult {
            notices,
            outcome: Outcome::BlockStarted("BEGIN".into()),
        })
    }

    async fn end_block(&self, commit: bool) -> Result<StatementResult> {
        self.cursors.lock().unwrap().clear();
        let mut block = self.block.lock().await;
        let mut notices = Vec::new();
        let tag = match std::mem::replace(&mut *block, Block::Idle) {
            Block::Open(txn) if commit => {
                self.commit(txn).await?;
                "COMMIT"
            }
            Block::Open(txn) => {
                self.abort(txn).await;
                "ROLLBACK"
            }
            Block::Failed => "ROLLBACK",
            Block::Idle => {
                notices.push(Notice::warning("25P01", "there is no transaction in progress"));
                if commit { "COMMIT" } else { "ROLLBACK" }
            }
        };
        Ok(StatementResult {
            notices,
            outcome: Outcome::BlockEnded(tag.into()),
        })
    }

    fn setting(&self, statement: &StatementText) -> Result<StatementResult> {
        let mut settings = self.settings.lock().unwrap();
        let outcome = match parse_setting_command(&statement.text)? {
            SettingCommand::Set { name, value } => {
                settings.set(&name, value.as_deref())?;
                Outcome::command("SET")
            }
            SettingCommand::Reset(name) => {
                settings.reset(&name)?;
                Outcome::command("RESET")
            }
            SettingCommand::ResetAll => {
                settings.reset_all();
                Outcome::command("RESET")
            }
            SettingCommand::Show(name) => {
                let value = settings.show(&name)?;
                let column = name.replace(' ', "_");
                Outcome::text_rows(&column, vec![value])
            }
            SettingCommand::ShowAll => {
                let schema = Arc::new(Schema::new(vec![
                    Field::new("name", DataType::Utf8, false),
                    Field::new("setting", DataType::Utf8, false),
                ]));
                let (names, values): (Vec<String>, Vec<String>) = settings.all().into_iter().unzip();
                let batch = RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![Arc::new(StringArray::from(names)), Arc::new(StringArray::from(values))],
                )?;
                Outcome::rows(schema, vec![batch])
            }
        };
        Ok(StatementResult {
            notices: Vec::new(),
            outcome,
        })
    }

    /// Runs a statement in the open block's transaction, or in its own.
    async fn in_transaction(self: &Arc<Self>, statement: &StatementText, params: Option<ParamValues>) -> Result<StatementResult> {
        let mut block = self.block.lock().await;
        if let Block::Open(txn) = &mut *block {
            self.server.services.log.set_xid(self.pid, txn.snapshot.xid);
            // The block's snapshot is taken by its first statement, not by BEGIN.
            self.server.services.txns.take_latest_snapshot(txn, None);
            let result = handler::execute(&mut StatementContext::new(self, txn, statement, params, true)).await;
            txn.statement_ran();
            if result.is_err()
                && let Block::Open(txn) = std::mem::replace(&mut *block, Block::Failed)
            {
                self.abort(txn).await;
            }
            return result;
        }
        drop(block);
        let mut txn = self.server.services.txns.begin().await?;
        self.server.services.log.set_xid(self.pid, txn.snapshot.xid);
        let result = handler::execute(&mut StatementContext::new(self, &mut txn, statement, params, false)).await;
        match result {
            Ok(result) => {
                self.commit(txn).await?;
                Ok(result)
            }
            Err(e) => {
                self.abort(txn).await;
                Err(e)
            }
        }
    }

    /// Plans a statement for the extended protocol: result columns and parameter types.
    pub async fn describe(self: &Arc<Self>, statement: &StatementText) -> Result<handler::Description> {
        let txns = &self.server.services.txns;
        let mut block = self.block.lock().await;
        let controls_block = matches!(statement.first(), "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT");
        if matches!(*block, Block::Failed) && !controls_block {
            return Err(Error::in_failed_transaction());
        }
        if let Block::Open(txn) = &mut *block {
            // Planned as it will run: a block's first statement takes the latest snapshot.
            txns.take_latest_snapshot(txn, None);
            let (state, _) = self.query_context(txn, statement, None);
            let description = handler::describe(self, state, statement).await;
            if description.is_err()
                && let Block::Open(txn) = std::mem::replace(&mut *block, Block::Failed)
            {
                // As in PostgreSQL, a statement that fails to parse aborts the open block.
                self.abort(txn).await;
            }
            return description;
        }
        drop(block);
        let txn = txns.begin().await?;
        let (state, _) = self.query_context(&txn, statement, None);
        let description = handler::describe(self, state, statement).await;
        txns.abort(txn).await;
        description
    }

    /// The DataFusion state for one statement of `txn`.
    pub fn query_context(&self, txn: &Transaction, statement: &StatementText, rowid_table: Option<(String, String)>) -> (SessionState, Arc<WriteLog>) {
        let catalog = txn.catalog();
        let search_path = self.search_path(&catalog);
        let writes = Arc::new(WriteLog::default());
        let context = Arc::new(QueryContext {
            snapshot: txn.snapshot,
            catalog,
            search_path,
            rowid_table,
            pseudo_columns: self.settings().get("spectrum_enable_pseudo_columns").is_none_or(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "off" | "0"))
                && (statement.text.contains("\"$path\"") || statement.text.contains("\"$size\"")),
            writes: Arc::clone(&writes),
            session: SessionInfo {
                pid: self.pid,
                user: self.user.clone(),
                settings: self.settings().all(),
                last_copy: *self.last_copy.lock().unwrap(),
                last_unload: *self.last_unload.lock().unwrap(),
            },
        });
        self.cell.set(Arc::clone(&context));
        let mut state = self.base_state.clone();
        state.config_mut().set_extension(context);
        // The statement's start time, which now() and CURRENT_TIMESTAMP are simplified to (they
        // cannot be evaluated otherwise); one value for the whole statement, as in PostgreSQL.
        state.mark_start_execution();
        (state, writes)
    }

    /// Schemas searched for unqualified names: the system schema and the session's temporary
    /// schema (as in PostgreSQL), then the search_path entries that exist.
    pub fn search_path(&self, catalog: &Catalog) -> Vec<String> {
        std::iter::once(crate::system::SYSTEM_SCHEMA.to_string())
            .chain(std::iter::once(self.temp_schema()).filter(|s| catalog.schemas.contains_key(s)))
            .chain(self.settings().search_path().into_iter().filter(|s| catalog.schemas.contains_key(s)))
            .collect()
    }

    /// Drops this session's temporary tables and rolls back an open transaction.
    pub async fn close(self: &Arc<Self>) {
        let mut block = self.block.lock().await;
        if let Block::Open(txn) = std::mem::replace(&mut *block, Block::Idle) {
            self.abort(txn).await;
        }
        drop(block);
        if let Err(e) = handler::drop_temp_tables(self).await {
            tracing::warn!(pid = self.pid, error = %e, "could not drop temporary tables");
        }
        self.server.services.log.session_ended(self.pid);
    }
}

/// A statement in the query log: recorded as finished when its result has been sent or dropped.
struct LoggedStatement {
    session: Arc<Session>,
    query: i64,
    failed: AtomicBool,
    /// The statement's rows are read until its last one is sent: VACUUM keeps their segments.
    /// VACUUM itself holds none, so that it can remove the segments it replaces.
    _snapshot: Option<SnapshotHold>,
}

impl Drop for LoggedStatement {
    fn drop(&mut self) {
        let aborted = self.failed.load(Ordering::SeqCst);
        self.session.server.services.log.finish(self.session.pid, self.query, aborted);
    }
}

/// Everything a statement handler can reach.
pub struct StatementContext<'a> {
    pub session: &'a Arc<Session>,
    pub txn: &'a mut Transaction,
    pub statement: &'a StatementText,
    pub params: Option<ParamValues>,
    /// Whether the statement runs inside a transaction block (BEGIN ... END).
    pub in_block: bool,
}

impl<'a> StatementContext<'a> {
    pub fn new(
        session: &'a Arc<Session>,
        txn: &'a mut Transaction,
        statement: &'a StatementText,
        params: Option<ParamValues>,
        in_block: bool,
    ) -> Self {
        StatementContext {
            session,
            txn,
            statement,
            params,
            in_block,
        }
    }

    pub fn services(&self) -> &crate::catalog::provider::Services {
        &self.session.server.services
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.txn.catalog()
    }

    /// The transaction's catalog, for DDL (takes the catalog lock).
    pub async fn catalog_mut(&mut self) -> Result<&mut Catalog> {
        let txns = Arc::clone(&self.session.server.services.txns);
        txns.catalog_for_ddl(self.txn).await
    }

    pub fn state(&self, rowid_table: Option<(String, String)>) -> (SessionState, Arc<WriteLog>) {
        self.session.query_context(self.txn, self.statement, rowid_table)
    }

    /// Records a statement's writes in its transaction.
    pub fn record_writes(&mut self, writes: &WriteLog) {
        self.txn
            .written_nodes
            .extend(writes.nodes.lock().unwrap().iter().copied());
        self.txn.written_bytes += writes.bytes.load(std::sync::atomic::Ordering::SeqCst);
    }

    /// Takes a table's write lock for this transaction.
    pub async fn lock_for_write(&mut self, oid: u32, name: &str) -> Result<()> {
        let txns = Arc::clone(&self.session.server.services.txns);
        txns.lock_for_write(self.txn, oid, name).await
    }

    /// Finds an existing table or view: `(schema, name)`.
    pub fn resolve(&self, name: &ObjectName) -> Result<(String, String)> {
        let catalog = self.catalog();
        resolve_relation(&catalog, &self.session.search_path(&catalog), name)
    }

    /// Where a new relation named `name` goes: its explicit schema, the temporary schema, or the
    /// first schema of the search path that exists.
    pub fn target_schema(&self, name: &ObjectName, temporary: bool) -> Result<(String, String)> {
        let (schema, relation) = split_name(name)?;
        if temporary || relation.starts_with('#') {
            if schema.is_some() {
                return Err(Error::new(
                    SqlState::InvalidTableDefinition,
                    "cannot create temporary relation in non-temporary schema",
                ));
            }
            return Ok((self.session.temp_schema(), relation));
        }
        let catalog = self.catalog();
        match schema {
            Some(schema) => {
                catalog.schema(&schema)?;
                Ok((schema, relation))
            }
            None => self
                .session
                .settings()
                .search_path()
                .into_iter()
                .find(|s| catalog.schemas.contains_key(s))
                .map(|s| (s, relation))
                .ok_or_else(|| Error::new(SqlState::UndefinedSchema, "no schema has been selected to create in")),
        }
    }
}

/// Finds an existing table or view of `catalog`, unqualified names along `search_path`:
/// `(schema, name)`.
pub fn resolve_relation(catalog: &Catalog, search_path: &[String], name: &ObjectName) -> Result<(String, String)> {
    let (schema, relation) = split_name(name)?;
    match schema {
        Some(schema) => {
            catalog.schema(&schema)?;
            if catalog.relation_exists(&schema, &relation) {
                Ok((schema, relation))
            } else {
                Err(Error::undefined_table(&relation))
            }
        }
        None => search_path
            .iter()
            .find(|s| catalog.relation_exists(s, &relation))
            .map(|s| (s.clone(), relation.clone()))
            .ok_or_else(|| Error::undefined_table(&relation)),
    }
}

/// `[[database.]schema.]name`, lower-cased; the database must be `dev`.
pub fn split_name(name: &ObjectName) -> Result<(Option<String>, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| {
            p.as_ident()
                .map(|i| i.value.to_lowercase())
                .ok_or_else(|| Error::syntax(format!("invalid name {name}")))
        })
        .collect::<Result<_>>()?;
    match parts.as_slice() {
        [n] => Ok((None, n.clone())),
        [s, n] => Ok((Some(s.clone()), n.clone())),
        [d, s, n] if d == crate::catalog::DATABASE => Ok((Some(s.clone()), n.clone())),
        [d, _, _] => Err(Error::new(
            SqlState::FeatureNotSupported,
            format!("cross-database references are not implemented: \"{d}\""),
        )),
        _ => Err(Error::syntax(format!("improper qualified name (too many dotted names): {name}"))),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn timeout_error() -> Error {
    Error::new(SqlState::QueryCanceled, "canceling statement due to statement timeout")
}

/// Reads a result to the end, so a later statement of the same query string cannot run before it.
async fn materialize(result: StatementResult) -> Result<StatementResult> {
    let StatementResult { notices, outcome } = result;
    let outcome = match outcome {
        Outcome::Rows { schema, mut stream } => {
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                batches.push(batch.map_err(Error::from)?);
            }
            Outcome::rows(schema, batches)
        }
        other => other,
    };
    Ok(StatementResult { notices, outcome })
}

/// Registry of live sessions, for cancel requests (keyed by backend pid).
#[derive(Default)]
pub struct SessionRegistry {
    sessions: Mutex<HashMap<i32, std::sync::Weak<Session>>>,
}

impl SessionRegistry {
    pub fn register(&self, session: &Arc<Session>) {
        self.sessions
            .lock()
            .unwrap()
            .insert(session.pid, Arc::downgrade(session));
    }

    pub fn remove(&self, pid: i32) {
        self.sessions.lock().unwrap().remove(&pid);
    }

    pub fn cancel(&self, pid: i32, secret: i32) {
        let session = self.sessions.lock().unwrap().get(&pid).and_then(|w| w.upgrade());
        if let Some(session) = session
            && session.secret == secret
        {
            session.cancel();
        }
    }

    pub fn count(&self) -> usize {
        self.sessions.lock().unwrap().len()
    }
}
