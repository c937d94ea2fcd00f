//! The leader's table writes (INSERT, CTAS, COPY of IDENTITY tables): the rows go through a
//! [`SliceWriter`], which routes them to their slices and streams them to the compute nodes.
//! [`write_target`] says where a table's rows go; COPY hands the same target to the compute
//! nodes, which then write the rows they parse themselves.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::RecordBatch;
use blueshift_compute::writer::{Routing, SliceWriter, WriteError, WriteTarget};

use super::Cluster;
use crate::catalog::{DistStyle, TableDef};
use crate::error::{Error, Result, SqlState};

/// Where transaction `xid`'s rows of `table` go. EVEN tables continue their round-robin where the
/// table's previous write stopped, so that single-row inserts spread too; a write advances it by
/// its rows with [`Cluster::advance_even_cursor`] when it is done.
pub fn write_target(cluster: &Cluster, table: &TableDef, xid: u64) -> WriteTarget {
    let slices = if table.dist_style.is_all() {
        cluster.all_copy_slices()
    } else {
        cluster.slices()
    };
    let key_column = match table.dist_style {
        DistStyle::Key => table.dist_key.as_deref().and_then(|k| table.column_index(k)),
        _ => None,
    };
    let routing = match key_column {
        _ if table.dist_style.is_all() => Routing::All,
        Some(column) => Routing::Key { column },
        None => Routing::Even {
            start: cluster.advance_even_cursor(table.oid, 0),
        },
    };
    WriteTarget {
        xid,
        table_id: u64::from(table.oid),
        column_ids: table.columns.iter().map(|c| c.id).collect(),
        sort_column_ids: table.sort_column_ids(),
        not_null_column_ids: table.columns.iter().filter(|c| c.not_null).map(|c| c.id).collect(),
        encodings: table.columns.iter().map(|c| (c.id, c.encoding.clone())).collect(),
        routing,
        slices: slices
            .into_iter()
            .map(|slice| (slice, cluster.node_of_slice(slice).address.clone()))
            .collect(),
    }
}

/// Writes rows into one table on behalf of one transaction.
pub struct TableWriter {
    cluster: Arc<Cluster>,
    table_oid: u32,
    writer: SliceWriter,
}

/// What a finished write did.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    /// Rows written (each row once, even for DISTSTYLE ALL).
    pub rows: u64,
    pub nodes: BTreeSet<usize>,
    /// Bytes of segment files stored.
    pub bytes: u64,
}

impl TableWriter {
    pub fn new(cluster: Arc<Cluster>, table: Arc<TableDef>, xid: u64) -> TableWriter {
        let target = write_target(&cluster, &table, xid);
        TableWriter {
            cluster,
            table_oid: table.oid,
            writer: SliceWriter::new(target, None),
        }
    }

    /// Sends `batch` (the table's columns, in order) to its slices.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let written = self.writer.write(batch).await;
        written.map_err(|e| write_error(&self.cluster, e))
    }

    /// Waits until every slice has stored its rows.
    pub async fn finish(self) -> Result<WriteOutcome> {
        let TableWriter { cluster, table_oid, writer } = self;
        let rows = writer.rows();
        let written = writer.finish().await.map_err(|e| write_error(&cluster, e))?;
        cluster.advance_even_cursor(table_oid, rows);
        Ok(WriteOutcome {
            rows,
            nodes: written.keys().map(|&slice| cluster.node_of_slice(slice).index).collect(),
            bytes: written.values().map(|summary| summary.bytes).sum(),
        })
    }

    /// Nodes that may hold rows from this writer. A transaction records them before finishing
    /// the write, so that rows a failed write left behind are discarded when it aborts.
    pub fn touched_nodes(&self) -> BTreeSet<usize> {
        self.writer
            .touched_slices()
            .map(|slice| self.cluster.node_of_slice(slice).index)
            .collect()
    }
}

/// A failed write as the client sees it: a slice's failure names the slice's node.
pub fn write_error(cluster: &Cluster, e: WriteError) -> Error {
    match e.slice {
        Some(slice) => cluster.node_of_slice(slice).error(e),
        None => Error::new(SqlState::DataException, e.message),
    }
}
