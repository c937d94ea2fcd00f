//! Redshift's system tables and views (STV_*, SVV_*), one per file.
//!
//! Each is computed when a query names it, from the catalog and from what the compute nodes
//! report about their slices as of the query's snapshot, and served to DataFusion as an in-memory
//! table in the `pg_catalog` schema (searched first, as in Redshift).

mod stv_blocklist;
mod stv_slices;
mod stv_tbl_perm;
mod svv_table_info;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use blueshift_proto::Block;
use blueshift_storage::Snapshot;

use crate::catalog::{Catalog, SchemaDef, TableDef};
use crate::cluster::Cluster;
use crate::error::Result;

/// The schema system tables live in.
pub const SYSTEM_SCHEMA: &str = "pg_catalog";

/// What a system table is computed from.
pub struct SystemContext<'a> {
    pub catalog: &'a Catalog,
    pub cluster: &'a Cluster,
    pub snapshot: Snapshot,
}

impl SystemContext<'_> {
    /// Every visible segment column of every table, from all nodes.
    pub async fn blocks(&self) -> Result<Vec<Block>> {
        self.cluster.blocklist(None, self.snapshot).await
    }

    /// Every table with its schema.
    pub fn tables(&self) -> impl Iterator<Item = (&SchemaDef, &TableDef)> {
        self.catalog
            .schemas
            .values()
            .flat_map(|s| s.tables.values().map(move |t| (s, t)))
    }
}

/// Live rows and segments of each table on each slice, from blocks (one block per segment column).
pub struct SliceUsage {
    pub rows: u64,
    pub sorted_rows: u64,
    pub segments: u64,
}

/// Per (table, slice): rows, sorted rows and segment count, counting each segment once.
pub fn slice_usage(blocks: &[Block], catalog: &Catalog) -> HashMap<(u32, u32), SliceUsage> {
    let mut usage: HashMap<(u32, u32), SliceUsage> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for block in blocks {
        if !seen.insert((block.table_id, block.slice, block.segment_id)) {
            continue;
        }
        let table = block.table_id as u32;
        let sorted = catalog
            .table_by_oid(table)
            .is_some_and(|(_, t)| !t.sort_key.is_empty() && block.sorted_by == t.sort_column_ids());
        let live = block.num_values - block.deleted;
        let entry = usage.entry((table, block.slice)).or_insert(SliceUsage {
            rows: 0,
            sorted_rows: 0,
            segments: 0,
        });
        entry.rows += live;
        entry.segments += 1;
        if sorted {
            entry.sorted_rows += live;
        }
    }
    usage
}

#[async_trait]
pub trait SystemTable: Send + Sync {
    fn name(&self) -> &'static str;
    fn schema(&self) -> SchemaRef;
    async fn rows(&self, ctx: &SystemContext<'_>) -> Result<RecordBatch>;
}

/// Every system table.
pub fn system_tables() -> Vec<Arc<dyn SystemTable>> {
    vec![
        Arc::new(stv_blocklist::StvBlocklist),
        Arc::new(stv_slices::StvSlices),
        Arc::new(stv_tbl_perm::StvTblPerm),
        Arc::new(svv_table_info::SvvTableInfo),
    ]
}

pub fn lookup(name: &str) -> Option<Arc<dyn SystemTable>> {
    system_tables().into_iter().find(|t| t.name() == name)
}
