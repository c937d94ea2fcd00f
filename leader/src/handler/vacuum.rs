//! VACUUM: re-sorts tables whose loads left overlapping sort-key ranges, reclaims deleted rows,
//! and removes the files of segments that no transaction can see any more.
//!
//! As in Redshift it cannot run inside a transaction block, only one runs in the cluster at a
//! time, and it works one table at a time, each in a transaction of its own that holds the
//! table's write lock: writers of that table wait, readers do not. Each node rewrites its own
//! slices ([`blueshift_storage::vacuum`]); no row crosses the network. At the end the nodes forget
//! the segments that no running statement reads any more, those it replaced among them.

use std::sync::Arc;

use blueshift_proto::{Snapshot as SnapshotProto, VacuumMode, VacuumTableRequest, VacuumTableResponse};
use sqlparser::ast::{Statement, Value};

use super::done;
use crate::catalog::TableDef;
use crate::catalog::provider::Services;
use crate::error::{Error, Result, SqlState};
use crate::session::{Notice, Outcome, Session, StatementResult, resolve_relation};
use crate::sql::{StatementText, parse_statement};

/// Redshift's default `TO n PERCENT`.
pub const DEFAULT_THRESHOLD_PERCENT: u32 = 95;

/// When a pass that rewrote segments commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitRule {
    /// A VACUUM statement's pass: always.
    Always,
    /// An automatic pass: only while no other transaction that may write runs (see
    /// [`crate::txn::TransactionManager::commit_if_alone`]).
    IfAlone,
}

pub async fn vacuum(session: &Arc<Session>, statement: &StatementText) -> Result<StatementResult> {
    let Statement::Vacuum(vacuum) = parse_statement(&statement.text)? else {
        return Err(Error::syntax("expected VACUUM"));
    };
    let mode = if vacuum.delete_only {
        VacuumMode::VacuumDeleteOnly
    } else if vacuum.sort_only || vacuum.recluster {
        VacuumMode::VacuumSortOnly
    } else {
        VacuumMode::VacuumFull
    };
    let threshold_percent = match &vacuum.threshold {
        None => DEFAULT_THRESHOLD_PERCENT,
        Some(value) => match &value.value {
            Value::Number(n, _) => n.parse::<u32>().ok().filter(|n| *n <= 100),
            _ => None,
        }
        .ok_or_else(|| Error::new(SqlState::InvalidParameterValue, format!("VACUUM threshold must be a whole percentage from 0 to 100, not {value}")))?,
    };
    let services = &session.server.services;
    let catalog = services.txns.catalog();
    let tables: Vec<TableDef> = match &vacuum.table_name {
        Some(name) => {
            let (schema, relation) = resolve_relation(&catalog, &session.search_path(&catalog), name)?;
            let table = catalog.table(&schema, &relation).ok_or_else(|| {
                Error::new(SqlState::WrongObjectType, format!("\"{relation}\" is not a table"))
            })?;
            vec![table.clone()]
        }
        None => catalog.schemas.values().flat_map(|s| s.tables.values().cloned()).collect(),
    };
    let Ok(_running) = services.vacuum_running.try_lock() else {
        return Err(Error::new(SqlState::ObjectInUse, "VACUUM is already running: only one VACUUM may run in the cluster at a time"));
    };
    let mut total = VacuumTableResponse::default();
    for table in &tables {
        let rewritten = rewrite(services, table, mode, threshold_percent, CommitRule::Always).await?;
        total.rows_sorted += rewritten.rows_sorted;
        total.rows_reclaimed += rewritten.rows_reclaimed;
        total.segments_replaced += rewritten.segments_replaced;
        total.segments_written += rewritten.segments_written;
    }
    // The replaced segments go now unless a running statement still reads them; then the leader's
    // maintenance removes them once it is done.
    let purged = services.txns.purge_dropped_segments(&services.cluster).await?;
    let mut result = done(Outcome::command("VACUUM"))?;
    result.notices.push(Notice::info(format!(
        "Vacuum of {} table(s): {} row(s) sorted, {} deleted row(s) reclaimed, {} segment(s) rewritten into {}, {} byte(s) of files removed",
        tables.len(),
        total.rows_sorted,
        total.rows_reclaimed,
        total.segments_replaced,
        total.segments_written,
        purged
    )));
    Ok(result)
}

/// Rewrites a table's segments in a transaction of its own; the summary counts the table's rows
/// (a DISTSTYLE ALL table's once, not once per node's copy). One that finds nothing to rewrite ends
/// without a commit, so it does not count as a change of the table to transactions that later
/// write it; so does an automatic one that finds other transactions running when it is done.
pub async fn rewrite(services: &Services, table: &TableDef, mode: VacuumMode, threshold_percent: u32, rule: CommitRule) -> Result<VacuumTableResponse> {
    let txns = &services.txns;
    let mut txn = txns.begin().await?;
    // A writer that commits while this waits for the lock moves the pass to a snapshot that sees
    // its rows (see `lock_for_write`).
    if let Err(e) = txns.lock_for_write(&mut txn, table.oid, &table.name).await {
        txns.abort(txn).await;
        return Err(e);
    }
    // The table as of the pass's own snapshot: a VACUUM of every table reaches the last ones
    // after DDL may have changed them, and a rewrite must keep every column its segments hold.
    let catalog = txn.catalog();
    let Some((_, table)) = catalog.table_by_oid(table.oid) else {
        txns.abort(txn).await;
        return Ok(VacuumTableResponse::default());
    };
    let cluster = Arc::clone(&services.cluster);
    txn.written_nodes.extend(cluster.nodes.iter().map(|n| n.index));
    let snapshot = txn.snapshot;
    // Every node holds a copy of a DISTSTYLE ALL table's rows: count the table's rows once.
    let copies = if table.dist_style.is_all() { cluster.nodes.len().max(1) as u64 } else { 1 };
    let result = cluster
        .vacuum(request(table, txn.xid, snapshot.csn, snapshot.xid, mode, threshold_percent))
        .await
        .map(|summary| VacuumTableResponse {
            rows_sorted: summary.rows_sorted / copies,
            rows_reclaimed: summary.rows_reclaimed / copies,
            ..summary
        });
    match result {
        Ok(summary) if summary.segments_replaced > 0 => match rule {
            CommitRule::Always => {
                txns.commit(txn).await?;
                Ok(summary)
            }
            CommitRule::IfAlone if txns.commit_if_alone(txn).await? => Ok(summary),
            CommitRule::IfAlone => Ok(VacuumTableResponse::default()),
        },
        other => {
            txns.abort(txn).await;
            other
        }
    }
}

fn request(table: &TableDef, xid: u64, csn: u64, snapshot_xid: u64, mode: VacuumMode, threshold_percent: u32) -> VacuumTableRequest {
    VacuumTableRequest {
        xid,
        snapshot: Some(SnapshotProto { csn, xid: snapshot_xid }),
        table_id: u64::from(table.oid),
        column_ids: table.columns.iter().map(|c| c.id).collect(),
        sort_column_ids: table.sort_column_ids(),
        encodings: table.columns.iter().map(|c| (c.id, c.encoding.clone())).collect(),
        mode: mode.into(),
        threshold_percent,
    }
}
