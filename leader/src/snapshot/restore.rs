//! Restoring from a snapshot: a whole new cluster, or one table into a running cluster.
//!
//! A new cluster takes the snapshot's slice images of the tables whose rows may stay where they
//! are and answers queries while its files download ([`super::fast_restore`]). The rows of the
//! others (KEY tables restored into another shape) and of a restored table are read back from the
//! snapshot's objects (each segment with its committed deletes applied, columns matched by id,
//! columns added after a segment was written filled with their default) and written through the
//! normal write path, which places every row by the target table's distribution, as if it had
//! been loaded there. A restore is one transaction: it commits
//! completely or leaves nothing behind.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::array::{ArrayRef, RecordBatch, new_null_array};
use arrow::compute::{cast, concat_batches};
use blueshift_storage::column_field_name;
use blueshift_storage::manifest::SegmentEntry;
use blueshift_storage::segment::selection_without;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use roaring::RoaringBitmap;

use super::store::{Manifest, RegionStore};
use crate::catalog::TableDef;
use crate::catalog::provider::{Services, WriteLog, arrow_schema, literal_value, write_batches};
use crate::error::{Error, Result, SqlState};
use crate::txn::Transaction;

/// Segments fetched at once while restoring a table.
const PARALLEL_FETCHES: usize = 4;

/// Recreates every table of snapshot `id` (from `region`'s store; empty: the cluster's own)
/// in this cluster, which must be new. Returns the rows restored.
pub async fn restore_cluster(services: &Arc<Services>, id: &str, region: &str) -> Result<u64> {
    let store = services.snapshots.region(region)?;
    store.summary(id).await?;
    let manifest = Arc::new(store.manifest(id).await?);
    let txns = Arc::clone(&services.txns);
    let mut txn = txns.begin().await?;
    let result = async {
        let (catalog, _) = manifest.catalog.clone().without_temp_tables();
        *txns.catalog_for_ddl(&mut txn).await? = catalog.clone();
        let (installed, rewritten): (Vec<&TableDef>, Vec<&TableDef>) = catalog
            .schemas
            .values()
            .flat_map(|s| s.tables.values())
            .filter(|t| t.backup)
            .partition(|t| super::fast_restore::takes_images(services, &manifest, t));
        let mut rows = super::fast_restore::install(services, &mut txn, &store, &manifest, &installed).await?;
        for table in rewritten {
            rows += copy_rows(services, &mut txn, &store, &manifest, table, Arc::new(table.clone())).await?;
        }
        for (table, next) in &manifest.identities {
            txns.allocate_identities(*table, *next as u64).await?;
        }
        Ok(rows)
    }
    .await;
    finish(services, txn, result).await
}

/// Creates `new_table` (`schema.name`) in the running cluster with the definition and rows of
/// `table` in snapshot `id`. Returns the rows restored.
pub async fn restore_table(services: &Arc<Services>, id: &str, region: &str, table: &str, new_table: &str) -> Result<u64> {
    let store = services.snapshots.region(region)?;
    store.summary(id).await?;
    let manifest = Arc::new(store.manifest(id).await?);
    let (schema, name) = qualified(table)?;
    let (new_schema, new_name) = qualified(new_table)?;
    let source = manifest.catalog.table(&schema, &name).cloned().ok_or_else(|| {
        Error::new(SqlState::UndefinedTable, format!("table \"{schema}.{name}\" is not in snapshot \"{id}\""))
    })?;
    let txns = Arc::clone(&services.txns);
    let mut txn = txns.begin().await?;
    let result = async {
        let catalog = txns.catalog_for_ddl(&mut txn).await?;
        let target = TableDef {
            oid: catalog.allocate_oid(),
            name: new_name,
            temp_owner: None,
            ..source.clone()
        };
        catalog.add_table(&new_schema, target.clone())?;
        if let Some(next) = manifest.identities.get(&source.oid) {
            txns.allocate_identities(target.oid, *next as u64).await?;
        }
        copy_rows(services, &mut txn, &store, &manifest, &source, Arc::new(target)).await
    }
    .await;
    finish(services, txn, result).await
}

async fn finish(services: &Services, txn: Transaction, result: Result<u64>) -> Result<u64> {
    match result {
        Ok(rows) => {
            services.txns.commit(txn).await?;
            Ok(rows)
        }
        Err(e) => {
            services.txns.abort(txn).await;
            Err(e)
        }
    }
}

/// `schema.name`, lower-cased as unquoted identifiers are.
fn qualified(name: &str) -> Result<(String, String)> {
    match name.split_once('.') {
        Some((schema, table)) if !schema.is_empty() && !table.is_empty() => {
            Ok((schema.to_lowercase(), table.to_lowercase()))
        }
        _ => Err(Error::new(
            SqlState::InvalidParameterValue,
            format!("\"{name}\" is not a table name of the form schema.table"),
        )),
    }
}

/// Writes the rows `source` had in the snapshot into `target`, a table of the transaction's
/// catalog, within the transaction.
async fn copy_rows(
    services: &Services,
    txn: &mut Transaction,
    store: &Arc<RegionStore>,
    manifest: &Manifest,
    source: &TableDef,
    target: Arc<TableDef>,
) -> Result<u64> {
    services.txns.lock_for_write(txn, target.oid, &target.name).await?;
    let writes = WriteLog::default();
    let batches = table_batches(Arc::clone(store), manifest, source);
    let result = write_batches(services, &target, txn.xid, batches, &writes, true).await;
    txn.written_nodes.extend(writes.nodes.lock().unwrap().iter().copied());
    txn.written_bytes += writes.bytes.load(Ordering::SeqCst);
    let rows = result?;
    txn.row_deltas.insert(target.oid, rows as i64);
    tracing::info!(table = %target.name, rows, "restored table rows");
    Ok(rows)
}

/// The rows of `table` in the snapshot, as batches of its columns. A DISTSTYLE ALL table is read
/// from one of its copies.
pub fn table_batches(store: Arc<RegionStore>, manifest: &Manifest, table: &TableDef) -> BoxStream<'static, Result<RecordBatch>> {
    let mut images: Vec<_> = manifest.images.iter().filter(|i| i.table_id == u64::from(table.oid)).collect();
    images.sort_by_key(|i| i.slice);
    if table.dist_style.is_all() {
        images.truncate(1);
    }
    let segments: Vec<SegmentEntry> = images.into_iter().flat_map(|i| i.segments.iter().cloned()).collect();
    let table = Arc::new(table.clone());
    futures::stream::iter(segments)
        .map(move |segment| read_segment(Arc::clone(&store), segment, Arc::clone(&table)))
        .buffered(PARALLEL_FETCHES)
        .try_filter(|batch| futures::future::ready(batch.num_rows() > 0))
        .boxed()
}

/// A segment's live rows (as of the snapshot) as one batch of the table's columns.
async fn read_segment(store: Arc<RegionStore>, segment: SegmentEntry, table: Arc<TableDef>) -> Result<RecordBatch> {
    let data = store.get(&store.object(&segment.file)).await?;
    let mut deleted = RoaringBitmap::new();
    for delete in &segment.deletes {
        let bytes = store.get(&store.object(&delete.file)).await?;
        deleted |= RoaringBitmap::deserialize_from(&bytes[..])
            .map_err(|e| Error::internal(format!("corrupt delete bitmap {} in the snapshot: {e}", delete.file)))?;
    }
    tokio::task::spawn_blocking(move || {
        let mut builder = ParquetRecordBatchReaderBuilder::try_new(data)
            .map_err(|e| Error::internal(format!("corrupt segment {} in the snapshot: {e}", segment.file)))?;
        if !deleted.is_empty() {
            builder = builder.with_row_selection(selection_without(&deleted, segment.rows));
        }
        let schema = Arc::clone(builder.schema());
        let reader = builder.with_batch_size(64 * 1024).build().map_err(|e| Error::internal(e.to_string()))?;
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        table_columns(&concat_batches(&schema, &batches)?, &table)
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))?
}

/// A segment's rows (fields `c<column id>`) as the table's columns, in order.
fn table_columns(file: &RecordBatch, table: &TableDef) -> Result<RecordBatch> {
    let rows = file.num_rows();
    let columns = table
        .columns
        .iter()
        .map(|c| {
            let data_type = c.sql_type.arrow_type();
            Ok(match file.column_by_name(&column_field_name(c.id)) {
                Some(values) if values.data_type() == &data_type => Arc::clone(values),
                Some(values) => cast(values, &data_type)?,
                None => match &c.missing_value {
                    Some(literal) => literal_value(literal, &data_type)?.to_array_of_size(rows)?,
                    None => new_null_array(&data_type, rows),
                },
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(arrow_schema(table), columns)?)
}
