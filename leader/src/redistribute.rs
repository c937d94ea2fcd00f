//! Redistribution: rewriting a table's rows under another distribution style in one
//! transaction. `ALTER TABLE t ALTER DISTSTYLE ...` and `ALTER DISTKEY c` run it inside their
//! statement's transaction, and the leader's maintenance loop runs it on its own to move an
//! AUTO table from ALL to EVEN once it outgrows the small-table threshold, as Redshift does.
//!
//! A redistribution takes the table's write lock, so writers queue behind it, and a writer whose
//! snapshot predates its commit fails with the serializable isolation error rather than adding
//! rows in the old layout. It reads every row at the transaction's snapshot, marks the old
//! segments dropped, writes the rows in the new layout under the same xid and changes the
//! catalog entry: the commit switches data and catalog together, and an abort leaves both as
//! they were.

use std::sync::Arc;

use arrow::array::RecordBatch;
use futures::{StreamExt, TryStreamExt};

use crate::catalog::provider::{ContextCell, QueryContext, Services, SessionInfo, WriteLog, table_rows, write_batches};
use crate::catalog::{Catalog, DistStyle, TableDef};
use crate::error::{Error, Result, SqlState};
use crate::handler::query;
use crate::sql::parse_statement;
use crate::txn::Transaction;

/// A distribution a table can be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distribution {
    Even,
    All,
    Key(String),
    /// AUTO: ALL while the table is small, EVEN beyond the threshold.
    Auto,
}

/// Gives `schema.name` the distribution style `style` (with distkey `key` for KEY) within `txn`;
/// returns whether anything changed.
pub async fn redistribute(
    services: &Arc<Services>,
    txn: &mut Transaction,
    schema: &str,
    name: &str,
    (style, key): (DistStyle, Option<String>),
) -> Result<bool> {
    let txns = Arc::clone(&services.txns);
    let oid = txn
        .catalog()
        .table(schema, name)
        .map(|t| t.oid)
        .ok_or_else(|| Error::undefined_table(name))?;
    txns.lock_for_write(txn, oid, name).await?;
    let catalog = txns.catalog_for_ddl(txn).await?;
    let before = Arc::new(catalog.clone());
    let table = catalog.table_mut(schema, name)?;
    if table.dist_style == style && table.dist_key == key {
        return Ok(false);
    }
    table.dist_style = style;
    table.dist_key = key;
    let new = Arc::new(table.clone());
    let rows = read_rows(services, before, txn, schema, name).await?;
    let cluster = Arc::clone(&services.cluster);
    txn.written_nodes.extend(cluster.nodes.iter().map(|n| n.index));
    cluster.truncate(txn.xid, oid).await?;
    let writes = WriteLog::default();
    let written = write_batches(services, &new, txn.xid, futures::stream::iter(rows.into_iter().map(Ok)).boxed(), &writes, true).await;
    txn.written_nodes.extend(writes.nodes.lock().unwrap().iter().copied());
    txn.written_bytes += writes.bytes.load(std::sync::atomic::Ordering::SeqCst);
    written?;
    Ok(true)
}

/// The style and distkey `target` means for `table`.
pub async fn resolve(services: &Services, table: &TableDef, target: &Distribution) -> Result<(DistStyle, Option<String>)> {
    Ok(match target {
        Distribution::Even => (DistStyle::Even, None),
        Distribution::All => (DistStyle::All, None),
        Distribution::Key(column) => {
            if table.column(column).is_none() {
                return Err(Error::new(
                    SqlState::UndefinedColumn,
                    format!("column \"{column}\" of relation \"{}\" does not exist", table.name),
                ));
            }
            (DistStyle::Key, Some(column.clone()))
        }
        Distribution::Auto if matches!(table.dist_style, DistStyle::AutoAll | DistStyle::AutoEven) => (table.dist_style, None),
        Distribution::Auto => {
            let rows = table_rows(services, table).await?;
            let style = if rows > services.auto_all_max_rows { DistStyle::AutoEven } else { DistStyle::AutoAll };
            (style, None)
        }
    })
}

/// Every row of the table as `catalog` describes it, at the transaction's snapshot.
async fn read_rows(services: &Arc<Services>, catalog: Arc<Catalog>, txn: &Transaction, schema: &str, name: &str) -> Result<Vec<RecordBatch>> {
    let cell = Arc::new(ContextCell::default());
    let mut state = crate::planner::session_state(Arc::clone(&cell), Arc::clone(services));
    let context = Arc::new(QueryContext {
        snapshot: txn.snapshot,
        catalog,
        search_path: vec![schema.to_string()],
        rowid_table: None,
        pseudo_columns: false,
        writes: Arc::default(),
        session: SessionInfo::default(),
    });
    cell.set(Arc::clone(&context));
    state.config_mut().set_extension(context);
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let sql = format!("SELECT * FROM {}.{}", quote(schema), quote(name));
    let plan = query::plan(&state, parse_statement(&sql)?, None).await?;
    let (_, stream) = query::run(state, plan).await?;
    Ok(stream.try_collect().await?)
}

/// Moves every AUTO(ALL) table that has grown past the threshold to AUTO(EVEN), each in a
/// transaction of its own. A table that cannot be moved now (a writer holds its lock, or
/// committed since the snapshot) is tried again on the next call.
pub async fn grow_auto_tables(services: &Arc<Services>) {
    let catalog = services.txns.catalog();
    let mut auto_all = Vec::new();
    for schema in catalog.schemas.values() {
        for table in schema.tables.values().filter(|t| t.dist_style == DistStyle::AutoAll) {
            auto_all.push((schema.name.clone(), table.clone()));
        }
    }
    for (schema, table) in auto_all {
        match table_rows(services, &table).await {
            Ok(rows) if rows > services.auto_all_max_rows => {}
            _ => continue,
        }
        match switch_to_even(services, &schema, &table.name).await {
            Ok(()) => tracing::info!(table = %table.name, "AUTO table outgrew ALL: redistributed EVEN"),
            Err(e) => tracing::debug!(table = %table.name, error = %e, "AUTO table not redistributed yet"),
        }
    }
}

async fn switch_to_even(services: &Arc<Services>, schema: &str, name: &str) -> Result<()> {
    let txns = &services.txns;
    let mut txn = txns.begin().await?;
    match redistribute(services, &mut txn, schema, name, (DistStyle::AutoEven, None)).await {
        Ok(_) => txns.commit(txn).await,
        Err(e) => {
            txns.abort(txn).await;
            Err(e)
        }
    }
}
