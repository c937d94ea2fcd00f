//! Redshift's system tables and views (STV_*, SVV_*, STL_*, SVL_*, the `pg_catalog` tables and
//! `information_schema`), one per file.
//!
//! Each is computed when a query names it, from the catalog, the session, the leader's query log
//! and what the compute nodes report about their slices as of the query's snapshot, and served to
//! DataFusion as an in-memory table. Everything but `information_schema` lives in the
//! `pg_catalog` schema, which is searched first, as in Redshift.

pub mod information_schema;
pub mod load_errors;
pub mod pg_catalog;
pub mod query_log;
pub mod rows;
mod stl_load_commits;
mod stl_load_errors;
mod stl_loaderror_detail;
mod stl_query;
mod stl_replacements;
mod stv_blocklist;
pub mod stv_load_state;
mod stv_recents;
mod stv_restore_status;
mod stv_sessions;
mod stv_slices;
mod stv_tbl_perm;
mod svl_qlog;
pub mod svl_s3partition;
mod svl_statementtext;
mod sys_load_error_detail;
mod sys_load_history;
mod svv_columns;
mod svv_external_columns;
mod svv_external_partitions;
mod svv_external_schemas;
mod svv_external_tables;
mod svv_snapshots;
mod svv_table_info;
mod svv_tables;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use blueshift_proto::Block;
use blueshift_storage::Snapshot;

use crate::catalog::provider::QueryContext;
use crate::catalog::{Catalog, SchemaDef, TableDef};
use crate::cluster::Cluster;
use crate::error::Result;
use query_log::QueryLog;

/// The schema system tables live in.
pub const SYSTEM_SCHEMA: &str = "pg_catalog";
/// The SQL-standard catalog views' schema (not on the search path).
pub const INFORMATION_SCHEMA: &str = "information_schema";

/// What a system table is computed from.
pub struct SystemContext<'a> {
    pub catalog: &'a Catalog,
    pub cluster: &'a Cluster,
    pub snapshot: Snapshot,
    /// The statement's session: user, search path, settings.
    pub query: &'a QueryContext,
    pub log: &'a QueryLog,
    pub snapshots: &'a crate::snapshot::Snapshots,
    /// Result columns of each view that plans, by view oid (filled only for tables that ask, see
    /// [`SystemTable::uses_view_columns`]).
    pub view_columns: &'a BTreeMap<u32, SchemaRef>,
}

impl SystemContext<'_> {
    /// Every visible segment column of every table, from all nodes.
    pub async fn blocks(&self) -> Result<Vec<Block>> {
        self.cluster.blocklist(None, self.snapshot).await
    }

    /// Every external table with its schema.
    pub fn external_tables(&self) -> impl Iterator<Item = (&SchemaDef, &crate::catalog::external::ExternalTableDef)> {
        self.catalog
            .schemas
            .values()
            .flat_map(|s| s.external_tables.values().map(move |t| (s, t)))
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

    /// `pg_catalog` or `information_schema`.
    fn schema_name(&self) -> &'static str {
        SYSTEM_SCHEMA
    }

    /// Whether the table lists views' columns (which costs planning every view).
    fn uses_view_columns(&self) -> bool {
        false
    }

    /// Whether `pg_class` lists it (a table function served as a relation is not listed).
    fn listed(&self) -> bool {
        true
    }
}

/// A system table computed synchronously from the [`SystemContext`], declared by its name and
/// columns; [`table`] makes it a [`SystemTable`].
pub trait CatalogTable: Send + Sync + 'static {
    const NAME: &'static str;
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)];
    const SCHEMA: &'static str = SYSTEM_SCHEMA;
    const VIEW_COLUMNS: bool = false;
    const LISTED: bool = true;
    fn fill(ctx: &SystemContext<'_>, rows: &mut rows::Rows);
}

struct Catalogued<T>(std::marker::PhantomData<T>);

#[async_trait]
impl<T: CatalogTable> SystemTable for Catalogued<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn schema(&self) -> SchemaRef {
        rows::schema(T::COLUMNS)
    }

    async fn rows(&self, ctx: &SystemContext<'_>) -> Result<RecordBatch> {
        let mut rows = rows::Rows::new(self.schema());
        T::fill(ctx, &mut rows);
        rows.finish()
    }

    fn schema_name(&self) -> &'static str {
        T::SCHEMA
    }

    fn uses_view_columns(&self) -> bool {
        T::VIEW_COLUMNS
    }

    fn listed(&self) -> bool {
        T::LISTED
    }
}

/// A [`CatalogTable`] as a [`SystemTable`].
pub fn table<T: CatalogTable>() -> Arc<dyn SystemTable> {
    Arc::new(Catalogued::<T>(std::marker::PhantomData))
}

/// Every system table, in a fixed order (their position gives their OID).
pub fn system_tables() -> Vec<Arc<dyn SystemTable>> {
    let mut tables: Vec<Arc<dyn SystemTable>> = vec![
        table::<stl_load_errors::StlLoadErrors>(),
        table::<stl_query::StlQuery>(),
        Arc::new(stv_blocklist::StvBlocklist),
        table::<stv_recents::StvRecents>(),
        table::<stv_sessions::StvSessions>(),
        Arc::new(stv_slices::StvSlices),
        Arc::new(stv_tbl_perm::StvTblPerm),
        table::<svl_qlog::SvlQlog>(),
        table::<svl_statementtext::SvlStatementText>(),
        table::<svv_columns::SvvColumns>(),
        Arc::new(svv_table_info::SvvTableInfo),
        table::<svv_tables::SvvTables>(),
    ];
    tables.extend(pg_catalog::tables());
    tables.extend(information_schema::tables());
    // Appended last: a table's position gives its OID, which must not move.
    tables.push(table::<stv_load_state::StvLoadState>());
    tables.extend([
        table::<svv_external_schemas::SvvExternalSchemas>(),
        table::<svv_external_tables::SvvExternalTables>(),
        table::<svv_external_columns::SvvExternalColumns>(),
        table::<svv_external_partitions::SvvExternalPartitions>(),
        table::<svl_s3partition::SvlS3Partition>(),
    ]);
    tables.push(table::<pg_catalog::LateBindingViewCols>());
    tables.push(Arc::new(svv_snapshots::SvvSnapshots));
    tables.push(Arc::new(stv_restore_status::StvRestoreStatus));
    tables.push(table::<stl_replacements::StlReplacements>());
    tables.push(table::<stl_loaderror_detail::StlLoaderrorDetail>());
    tables.push(table::<stl_load_commits::StlLoadCommits>());
    tables.push(table::<sys_load_history::SysLoadHistory>());
    tables.push(table::<sys_load_error_detail::SysLoadErrorDetail>());
    tables
}

/// The system table `name` in system schema `schema`.
pub fn lookup(schema: &str, name: &str) -> Option<Arc<dyn SystemTable>> {
    system_tables()
        .into_iter()
        .find(|t| t.schema_name() == schema && t.name() == name)
}

/// Whether `schema` is one whose tables are computed here.
pub fn is_system_schema(schema: &str) -> bool {
    schema == SYSTEM_SCHEMA || schema == INFORMATION_SCHEMA
}
