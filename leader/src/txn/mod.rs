//! Transactions: ids, snapshots, locks, and the commit protocol.
//!
//! The leader is the cluster's transaction manager. Each transaction gets an xid and a snapshot
//! (the csn of the last completed commit). Writes go to compute nodes tagged with the xid and stay
//! invisible to everyone else. COMMIT then runs, under one mutex so commits are totally ordered:
//!
//! 1. write the new catalog version, if the transaction ran DDL (`catalog-<csn>.json`, fsynced);
//! 2. append the `Commit` record to the commit log and fsync it — the transaction is now durable;
//! 3. tell every node the transaction wrote to that xid committed at csn;
//! 4. publish the csn as the snapshot for new transactions.
//!
//! Because step 4 follows step 3, a snapshot never sees a commit that some node has not applied.
//! A node that misses step 3 (it died) is settled from the log when it reattaches.

pub mod commit_log;
pub mod locks;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use blueshift_storage::Snapshot;

use crate::catalog::Catalog;
use crate::cluster::Cluster;
use crate::error::{Error, Result, SqlState};
use commit_log::{CommitLog, LogRecord, Recovered};
pub use locks::{LockKey, LockManager};

/// How many ids one `Reserve` record covers.
const RESERVE_BATCH: u64 = 10_000;

/// A transaction in progress, owned by its session.
///
/// A transaction dropped without COMMIT or ROLLBACK (its statement was cancelled, its client went
/// away) rolls itself back, so it can never leave locks or uncommitted writes behind.
pub struct Transaction {
    pub xid: u64,
    pub snapshot: Snapshot,
    /// The catalog as of the snapshot: reading the latest one instead could pair a table's new
    /// distribution style with rows laid out in its old one (a concurrent redistribution).
    committed_catalog: Arc<Catalog>,
    /// Catalog as changed by this transaction's DDL so far.
    catalog: Option<Catalog>,
    pub written_nodes: BTreeSet<usize>,
    pub written_tables: BTreeSet<u32>,
    pub dropped_tables: Vec<u32>,
    /// Net rows added to each table, for the planner's estimates.
    pub row_deltas: HashMap<u32, i64>,
    /// Tables emptied by TRUNCATE.
    pub truncated: BTreeSet<u32>,
    /// Bytes of segment files written, counted toward automated snapshots' change threshold.
    pub written_bytes: u64,
    /// Whether a statement of this transaction has run. Until one has, nothing was read as of
    /// the snapshot, so it may still move to a later one (see [`TransactionManager::take_latest_snapshot`]).
    ran_statement: bool,
    manager: Arc<TransactionManager>,
    finished: bool,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("xid", &self.xid)
            .field("snapshot", &self.snapshot)
            .finish_non_exhaustive()
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let manager = Arc::clone(&self.manager);
        let (xid, wrote) = (self.xid, self.may_have_written());
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move { manager.abort_xid(xid, wrote).await });
            }
            Err(_) => manager.finish_xid(xid),
        }
    }
}

impl Transaction {
    /// Whether any node may hold writes of this transaction (every write first locks its table).
    fn may_have_written(&self) -> bool {
        !self.written_tables.is_empty() || !self.written_nodes.is_empty()
    }

    pub fn has_changes(&self) -> bool {
        self.catalog.is_some() || !self.written_nodes.is_empty() || !self.written_tables.is_empty()
    }

    /// The catalog this transaction sees: its own DDL, or the catalog committed as of its snapshot.
    pub fn catalog(&self) -> Arc<Catalog> {
        match &self.catalog {
            Some(own) => Arc::new(own.clone()),
            None => Arc::clone(&self.committed_catalog),
        }
    }

    pub fn changed_catalog(&self) -> bool {
        self.catalog.is_some()
    }

    /// Records that a statement of this transaction ran: its snapshot is fixed from now on.
    pub fn statement_ran(&mut self) {
        self.ran_statement = true;
    }

    /// Whether nothing has been read or written as of this transaction's snapshot yet.
    fn unused(&self) -> bool {
        !self.ran_statement && !self.has_changes() && self.truncated.is_empty() && self.dropped_tables.is_empty()
    }
}

/// What became of a transaction that a compute node still holds uncommitted writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Committed(u64),
    Aborted,
    InProgress,
}

struct State {
    next_xid: u64,
    xid_limit: u64,
    /// Per table: the next IDENTITY ordinal and the reserved limit.
    identities: HashMap<u32, (i64, i64)>,
    /// csn of the last commit applied on every node it touched.
    last_csn: u64,
    /// Transactions in progress, with their snapshot csn.
    active: BTreeMap<u64, u64>,
    /// Those of them that can no longer write: a single query outside a transaction block.
    read_only: HashSet<u64>,
    committed: HashMap<u64, u64>,
    table_last_write: HashMap<u32, u64>,
    /// Snapshot csns held by statements whose rows may still be read (see [`SnapshotHold`]), with
    /// how many hold each.
    held: BTreeMap<u64, usize>,
}

pub struct TransactionManager {
    dir: PathBuf,
    log: tokio::sync::Mutex<CommitLog>,
    state: Mutex<State>,
    catalog: RwLock<Arc<Catalog>>,
    pub locks: LockManager,
    /// Tables whose files should be removed from the compute nodes.
    pending_drops: Mutex<Vec<u32>>,
    /// The compute nodes commits and aborts are sent to (set once they are attached).
    cluster: OnceLock<Arc<Cluster>>,
    /// Live rows of each table as of the last commit, for the planner (learned from the nodes
    /// on first use, then kept up to date by commits).
    row_estimates: Mutex<HashMap<u32, u64>>,
    /// Bytes written by committed transactions since the leader started.
    committed_bytes: AtomicU64,
    /// Snapshots in progress, which need every file of their commit: dropped tables' files stay
    /// until none is running.
    file_holds: AtomicUsize,
}

/// Keeps the segments visible at a csn from being purged while it lives: a statement
/// holds one from before its transaction begins until its last row is sent, which can be after
/// the transaction has ended.
pub struct SnapshotHold {
    txns: Arc<TransactionManager>,
    csn: u64,
}

impl Drop for SnapshotHold {
    fn drop(&mut self) {
        let mut state = self.txns.state.lock().unwrap();
        if let Some(count) = state.held.get_mut(&self.csn) {
            *count -= 1;
            if *count == 0 {
                state.held.remove(&self.csn);
            }
        }
    }
}

/// Keeps dropped tables' files on the nodes while it lives (see [`TransactionManager::hold_files`]).
pub struct FileHold(Arc<TransactionManager>);

impl Drop for FileHold {
    fn drop(&mut self) {
        self.0.file_holds.fetch_sub(1, AtomicOrdering::SeqCst);
    }
}

impl TransactionManager {
    /// Opens the transaction state in `dir`, recovering it from the commit log.
    pub fn open(dir: &Path) -> Result<TransactionManager> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
        let (log, recovered) = CommitLog::open(dir)?;
        let Recovered {
            xid_limit,
            identity_limits,
            last_csn,
            catalog_csn,
            committed,
            table_last_write,
            dropped,
        } = recovered;
        let catalog = if catalog_csn == 0 {
            Catalog::new()
        } else {
            load_catalog(&catalog_path(dir, catalog_csn))?
        };
        remove_old_catalogs(dir, catalog_csn);
        let (catalog, temp_tables) = catalog.without_temp_tables();
        let mut pending_drops = dropped;
        pending_drops.extend(temp_tables);
        Ok(TransactionManager {
            dir: dir.to_path_buf(),
            log: tokio::sync::Mutex::new(log),
            state: Mutex::new(State {
                next_xid: xid_limit.max(1),
                xid_limit,
                identities: identity_limits
                    .into_iter()
                    .map(|(table, limit)| (table, (limit, limit)))
                    .collect(),
                last_csn,
                active: BTreeMap::new(),
                read_only: HashSet::new(),
                committed,
                table_last_write,
                held: BTreeMap::new(),
            }),
            catalog: RwLock::new(Arc::new(catalog)),
            locks: LockManager::default(),
            pending_drops: Mutex::new(pending_drops),
            cluster: OnceLock::new(),
            row_estimates: Mutex::new(HashMap::new()),
            committed_bytes: AtomicU64::new(0),
            file_holds: AtomicUsize::new(0),
        })
    }

    /// Sets the compute nodes that commits and aborts reach.
    pub fn attach_cluster(&self, cluster: Arc<Cluster>) {
        let _ = self.cluster.set(cluster);
    }

    fn cluster(&self) -> &Arc<Cluster> {
        self.cluster.get().expect("the cluster is attached before transactions run")
    }

    /// The latest committed catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read().unwrap())
    }

    pub fn last_csn(&self) -> u64 {
        self.state.lock().unwrap().last_csn
    }

    /// Bytes of segment files written by transactions committed since the leader started.
    pub fn committed_bytes(&self) -> u64 {
        self.committed_bytes.load(AtomicOrdering::SeqCst)
    }

    /// The next IDENTITY ordinal of every table that has handed one out.
    pub fn identity_marks(&self) -> BTreeMap<u32, i64> {
        let state = self.state.lock().unwrap();
        state.identities.iter().map(|(table, (next, _))| (*table, *next)).collect()
    }

    /// Keeps the files of tables dropped from now on until the hold is released, so a snapshot
    /// can still read every file of the commit it copies.
    pub fn hold_files(self: &Arc<Self>) -> FileHold {
        self.file_holds.fetch_add(1, AtomicOrdering::SeqCst);
        FileHold(Arc::clone(self))
    }

    /// Holds the current snapshot's segments until the returned guard is dropped.
    pub fn hold_snapshot(self: &Arc<Self>) -> SnapshotHold {
        let mut state = self.state.lock().unwrap();
        let csn = state.last_csn;
        *state.held.entry(csn).or_default() += 1;
        SnapshotHold {
            txns: Arc::clone(self),
            csn,
        }
    }

    /// The csn up to which segments dropped by committed transactions may be forgotten: the
    /// oldest snapshot a running transaction or a statement still sending rows reads. 0 while a
    /// snapshot of the cluster is being taken, which reads every file of its commit.
    pub fn purge_horizon(&self) -> u64 {
        if self.file_holds.load(AtomicOrdering::SeqCst) > 0 {
            return 0;
        }
        let state = self.state.lock().unwrap();
        let oldest_active = state.active.values().min().copied();
        let oldest_held = state.held.keys().next().copied();
        [Some(state.last_csn), oldest_active, oldest_held].into_iter().flatten().min().unwrap_or(0)
    }

    /// Starts a transaction with a snapshot of everything committed so far.
    pub async fn begin(self: &Arc<Self>) -> Result<Transaction> {
        let needs_reserve = {
            let state = self.state.lock().unwrap();
            state.next_xid >= state.xid_limit
        };
        if needs_reserve {
            self.reserve_xids().await?;
        }
        let mut state = self.state.lock().unwrap();
        let xid = state.next_xid;
        state.next_xid += 1;
        let csn = state.last_csn;
        state.active.insert(xid, csn);
        // Commits publish their catalog under the state lock, so this is the catalog as of `csn`.
        let committed_catalog = self.catalog();
        Ok(Transaction {
            xid,
            snapshot: Snapshot { csn, xid },
            committed_catalog,
            catalog: None,
            written_nodes: BTreeSet::new(),
            written_tables: BTreeSet::new(),
            dropped_tables: Vec::new(),
            row_deltas: HashMap::new(),
            truncated: BTreeSet::new(),
            written_bytes: 0,
            ran_statement: false,
            manager: Arc::clone(self),
            finished: false,
        })
    }

    async fn reserve_xids(&self) -> Result<()> {
        let mut log = self.log.lock().await;
        let limit = {
            let state = self.state.lock().unwrap();
            if state.next_xid < state.xid_limit {
                return Ok(());
            }
            state.next_xid + RESERVE_BATCH
        };
        log.append(&LogRecord::ReserveXids { limit })?;
        self.state.lock().unwrap().xid_limit = limit;
        Ok(())
    }

    /// Hands out `count` consecutive IDENTITY ordinals of a table (value = seed + step *
    /// ordinal), never reused across restarts; returns the first.
    pub async fn allocate_identities(&self, table: u32, count: u64) -> Result<i64> {
        let count = count as i64;
        let mut log = self.log.lock().await;
        let (start, reserve) = {
            let mut state = self.state.lock().unwrap();
            let (next, limit) = state.identities.entry(table).or_insert((0, 0));
            let start = *next;
            *next += count;
            (start, (*next > *limit).then_some(*next + RESERVE_BATCH as i64))
        };
        if let Some(limit) = reserve {
            log.append(&LogRecord::ReserveIdentities { table, limit })?;
            self.state.lock().unwrap().identities.get_mut(&table).expect("present").1 = limit;
        }
        Ok(start)
    }

    /// Gives the transaction its own copy of the catalog to change, taking the catalog lock so
    /// DDL transactions run one at a time.
    pub async fn catalog_for_ddl<'t>(&self, txn: &'t mut Transaction) -> Result<&'t mut Catalog> {
        self.locks.acquire(LockKey::Catalog, txn.xid).await?;
        if txn.catalog.is_none() {
            txn.catalog = Some(self.catalog().as_ref().clone());
        }
        Ok(txn.catalog.as_mut().expect("just set"))
    }

    /// Moves a transaction that has not read or written anything yet to the latest snapshot and
    /// catalog, as PostgreSQL and Redshift take a transaction's snapshot at its first statement
    /// rather than at BEGIN. `unchanged` names a table whose definition the caller already
    /// looked up: if a commit since the old snapshot changed it, the transaction stays where it
    /// was. Returns whether it moved.
    pub fn take_latest_snapshot(&self, txn: &mut Transaction, unchanged: Option<u32>) -> bool {
        if !txn.unused() {
            return false;
        }
        let mut state = self.state.lock().unwrap();
        // Commits publish their catalog under the state lock, so this is the catalog as of `last_csn`.
        let catalog = self.catalog();
        if let Some(oid) = unchanged {
            let definition = |catalog: &Catalog| catalog.table_by_oid(oid).map(|(schema, table)| (schema.name.clone(), table.clone()));
            if definition(&txn.committed_catalog) != definition(&catalog) {
                return false;
            }
        }
        let csn = state.last_csn;
        txn.snapshot.csn = csn;
        state.active.insert(txn.xid, csn);
        txn.committed_catalog = catalog;
        true
    }

    /// Takes the write lock of a table, waiting for a transaction that holds it to end.
    ///
    /// If another transaction committed a change to the table after this one's snapshot, writing
    /// on top of rows this transaction cannot see would break serializability. A transaction
    /// that has not read anything yet (an autocommit statement, or the first statement of a
    /// block) then moves to the latest snapshot and goes on, as Redshift's concurrent COPY,
    /// INSERT, DELETE and UPDATE do after waiting; any other fails with Redshift's serializable
    /// isolation error (1023).
    pub async fn lock_for_write(&self, txn: &mut Transaction, table: u32, name: &str) -> Result<()> {
        self.locks.acquire(LockKey::Table(table), txn.xid).await?;
        let last_write = self
            .state
            .lock()
            .unwrap()
            .table_last_write
            .get(&table)
            .copied()
            .unwrap_or(0);
        if last_write > txn.snapshot.csn && !self.take_latest_snapshot(txn, Some(table)) {
            return Err(Error::new(
                SqlState::SerializationFailure,
                format!("1023: Serializable isolation violation on table - {table}, transactions forming the cycle are: {}", txn.xid),
            )
            .with_detail(format!(
                "Table \"{name}\" was changed by a transaction that committed after this transaction's snapshot."
            )));
        }
        txn.written_tables.insert(table);
        Ok(())
    }

    /// Commits: makes the transaction durable, then visible. On error nothing is committed.
    pub async fn commit(&self, txn: Transaction) -> Result<()> {
        self.finish_commit(txn, false).await.map(|_| ())
    }

    /// Commits only if no other transaction that may still write is in progress, and rolls back
    /// otherwise; returns whether it committed. Background work (automatic vacuum) commits this
    /// way, so that it never makes a running transaction's later write of the same table fail with
    /// 1023, while queries ([`TransactionManager::reads_only`]), which cannot fail so, do not hold
    /// it up. A transaction that begins while the commit is applied on the nodes still takes the
    /// snapshot before it.
    pub async fn commit_if_alone(&self, txn: Transaction) -> Result<bool> {
        self.finish_commit(txn, true).await
    }

    async fn finish_commit(&self, mut txn: Transaction, only_if_alone: bool) -> Result<bool> {
        txn.finished = true;
        let cluster = Arc::clone(self.cluster());
        if !txn.has_changes() {
            self.finish_xid(txn.xid);
            return Ok(true);
        }
        let mut log = self.log.lock().await;
        let csn = {
            let state = self.state.lock().unwrap();
            if only_if_alone && state.active.keys().any(|xid| *xid != txn.xid && !state.read_only.contains(xid)) {
                None
            } else {
                Some(state.last_csn + 1)
            }
        };
        let Some(csn) = csn else {
            drop(log);
            self.abort_xid(txn.xid, true).await;
            return Ok(false);
        };
        let durable = (|| -> Result<()> {
            if let Some(catalog) = &txn.catalog {
                write_catalog(&catalog_path(&self.dir, csn), catalog)?;
            }
            log.append(&LogRecord::Commit {
                xid: txn.xid,
                csn,
                catalog: txn.catalog.is_some(),
                wrote: txn.written_tables.clone(),
                dropped: txn.dropped_tables.clone(),
            })
        })();
        if let Err(e) = durable {
            drop(log);
            self.abort_xid(txn.xid, true).await;
            return Err(e);
        }
        cluster.commit_on(&txn.written_nodes, txn.xid, csn).await;
        {
            let mut state = self.state.lock().unwrap();
            state.committed.insert(txn.xid, csn);
            for table in &txn.written_tables {
                state.table_last_write.insert(*table, csn);
            }
            if let Some(catalog) = &txn.catalog {
                *self.catalog.write().unwrap() = Arc::new(catalog.clone());
            }
            state.last_csn = csn;
        }
        if txn.catalog.is_some() {
            remove_old_catalogs(&self.dir, csn);
        }
        self.apply_row_changes(&txn);
        self.committed_bytes.fetch_add(txn.written_bytes, AtomicOrdering::SeqCst);
        drop(log);
        self.finish_xid(txn.xid);
        if !txn.dropped_tables.is_empty() {
            self.pending_drops
                .lock()
                .unwrap()
                .extend(txn.dropped_tables.iter().copied());
            self.drop_table_files(&cluster).await;
        }
        Ok(true)
    }

    /// How many transactions that may still write are in progress.
    pub fn writers_in_progress(&self) -> usize {
        let state = self.state.lock().unwrap();
        state.active.keys().filter(|xid| !state.read_only.contains(xid)).count()
    }

    /// Records that `txn` will not write: it runs one query and ends.
    pub fn reads_only(&self, txn: &Transaction) {
        self.state.lock().unwrap().read_only.insert(txn.xid);
    }

    fn apply_row_changes(&self, txn: &Transaction) {
        let mut estimates = self.row_estimates.lock().unwrap();
        for table in &txn.truncated {
            estimates.insert(*table, 0);
        }
        for (table, delta) in &txn.row_deltas {
            if let Some(rows) = estimates.get_mut(table) {
                *rows = rows.saturating_add_signed(*delta);
            }
        }
        for table in &txn.dropped_tables {
            estimates.remove(table);
        }
    }

    /// Live rows of a table, if known.
    pub fn estimated_rows(&self, table: u32) -> Option<u64> {
        self.row_estimates.lock().unwrap().get(&table).copied()
    }

    /// Records a table's row count learned from the nodes.
    pub fn learn_rows(&self, table: u32, rows: u64) {
        self.row_estimates.lock().unwrap().entry(table).or_insert(rows);
    }

    /// Rolls back: every node discards the transaction's writes.
    pub async fn abort(&self, mut txn: Transaction) {
        txn.finished = true;
        self.abort_xid(txn.xid, txn.may_have_written()).await;
    }

    /// Rolls back a transaction by id. If it may have written, every node is told, not just those
    /// known to hold its writes: a statement cancelled mid-write may have reached nodes it never
    /// reported.
    ///
    /// Locks are released first: the transaction's writes are invisible to everyone from the
    /// moment it ends, so other writers need not wait for the nodes to discard them.
    async fn abort_xid(&self, xid: u64, wrote: bool) {
        self.finish_xid(xid);
        if wrote {
            let cluster = Arc::clone(self.cluster());
            let nodes: BTreeSet<usize> = cluster.nodes.iter().map(|n| n.index).collect();
            cluster.abort_on(&nodes, xid).await;
        }
    }

    fn finish_xid(&self, xid: u64) {
        let mut state = self.state.lock().unwrap();
        state.active.remove(&xid);
        state.read_only.remove(&xid);
        drop(state);
        self.locks.release_all(xid);
    }

    /// What happened to a transaction a node reports uncommitted writes for.
    pub fn outcome(&self, xid: u64) -> Outcome {
        let state = self.state.lock().unwrap();
        if let Some(csn) = state.committed.get(&xid) {
            Outcome::Committed(*csn)
        } else if state.active.contains_key(&xid) {
            Outcome::InProgress
        } else {
            Outcome::Aborted
        }
    }

    /// Has the nodes forget the segments that TRUNCATE and VACUUM dropped once no running
    /// statement reads them, removing their files; returns the bytes removed.
    pub async fn purge_dropped_segments(&self, cluster: &Cluster) -> Result<u64> {
        match self.purge_horizon() {
            0 => Ok(0),
            csn => cluster.purge_dropped(csn).await,
        }
    }

    /// Removes the files of dropped tables from every node; retried later for unreachable nodes.
    pub async fn drop_table_files(&self, cluster: &Cluster) {
        if self.file_holds.load(AtomicOrdering::SeqCst) > 0 {
            return;
        }
        let tables: Vec<u32> = std::mem::take(&mut *self.pending_drops.lock().unwrap());
        if tables.is_empty() {
            return;
        }
        if let Err(e) = cluster.drop_tables(&tables).await {
            tracing::warn!(error = %e, "could not remove dropped tables' files yet");
            self.pending_drops.lock().unwrap().extend(tables);
        }
    }
}

fn catalog_path(dir: &Path, csn: u64) -> PathBuf {
    dir.join(format!("catalog-{csn}.json"))
}

fn write_catalog(path: &Path, catalog: &Catalog) -> Result<()> {
    let bytes = serde_json::to_vec(catalog).expect("catalogs serialize");
    let tmp = path.with_extension("tmp");
    let io = |e: std::io::Error| Error::internal(format!("cannot write {}: {e}", path.display()));
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    std::fs::File::open(path.parent().expect("has a parent"))
        .and_then(|d| d.sync_all())
        .map_err(io)
}

fn load_catalog(path: &Path) -> Result<Catalog> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::internal(format!("cannot read catalog {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::internal(format!("corrupt catalog {}: {e}", path.display())))
}

/// Deletes catalog versions other than the current one (older ones, and newer ones written by a
/// commit that crashed before its log record).
fn remove_old_catalogs(dir: &Path, current: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(csn) = name
            .to_str()
            .and_then(|n| n.strip_prefix("catalog-"))
            .and_then(|n| n.strip_suffix(".json").or_else(|| n.strip_suffix(".tmp")))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if csn != current {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
