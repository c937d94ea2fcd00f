//! The catalog as DataFusion sees it: schema providers backed by the Blueshift catalog, and a
//! table provider whose scans become `SliceScanExec`s and whose inserts stream to the slices.
//!
//! What a statement may see — its transaction's snapshot and catalog, the session's search path —
//! is carried by a [`QueryContext`] stored in the session config, so one DataFusion context serves
//! a session for its whole life.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use blueshift_compute::{ScanColumn, SliceDispatch, SliceScanExec, SliceScanSpec};
use blueshift_storage::{ROWID_COLUMN, Snapshot, column_field_name};
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, Session, TableProvider};
use datafusion::common::{DFSchema, DataFusionError, Result as DfResult, ScalarValue};
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::datasource::{MemTable, ViewTable};
use datafusion::execution::{SendableRecordBatchStream, SessionState, SessionStateBuilder, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::StreamExt;

use super::{Catalog, TableDef, ViewDef};
use crate::cluster::writer::TableWriter;
use crate::cluster::Cluster;
use crate::error::{Error, SqlState};
use crate::system::{SYSTEM_SCHEMA, SystemContext, SystemTable};
use crate::txn::TransactionManager;

/// DataFusion's default schema: resolves unqualified names along the session's search path.
pub const SEARCH_PATH_SCHEMA: &str = "__search_path__";

/// Views may nest this deep before we assume a cycle.
const MAX_VIEW_DEPTH: usize = 32;

/// The cluster-wide services a statement needs.
pub struct Services {
    pub cluster: Arc<Cluster>,
    pub txns: Arc<TransactionManager>,
    /// Sessions, statements and load errors, for the STL/STV system tables.
    pub log: Arc<crate::system::query_log::QueryLog>,
    /// Where `s3://` locations live (an S3 endpoint or the embedded store).
    pub s3: blueshift_compute::s3::S3Config,
    /// Rows beyond which an AUTO table stops being copied to every node (AUTO(ALL)) and is
    /// redistributed EVEN.
    pub auto_all_max_rows: u64,
    pub snapshots: Arc<crate::snapshot::Snapshots>,
    /// Held while a VACUUM runs: one at a time in the cluster.
    pub vacuum_running: tokio::sync::Mutex<()>,
}

/// What one statement may see and where its writes are recorded.
pub struct QueryContext {
    pub snapshot: Snapshot,
    pub catalog: Arc<Catalog>,
    /// Schemas searched for unqualified names, in order (temporary schema first).
    pub search_path: Vec<String>,
    /// A table whose scans also return `__rowid` (DELETE and UPDATE name rows through it).
    pub rowid_table: Option<(String, String)>,
    /// Whether external tables show the `"$path"` and `"$size"` pseudo-columns: only when the
    /// statement names one, as they are not part of `SELECT *`.
    pub pseudo_columns: bool,
    pub writes: Arc<WriteLog>,
    pub session: SessionInfo,
}

/// Who runs a statement, for the catalog functions and tables that depend on the session.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    pub pid: i32,
    pub user: String,
    /// Every setting's current value (SHOW ALL).
    pub settings: Vec<(String, String)>,
    /// Query id and row count of the session's last COPY.
    pub last_copy: Option<(i64, i64)>,
    /// Query id and row count of the session's last UNLOAD.
    pub last_unload: Option<(i64, i64)>,
}

impl QueryContext {
    /// `current_schema()`: the first existing schema of the search_path setting.
    pub fn current_schema(&self) -> Option<&str> {
        self.search_path
            .iter()
            .find(|s| !crate::system::is_system_schema(s) && !s.starts_with("pg_temp_"))
            .map(String::as_str)
    }
}

/// Nodes and rows a statement's inserts touched.
#[derive(Default, Debug)]
pub struct WriteLog {
    pub nodes: Mutex<BTreeSet<usize>>,
    pub rows: AtomicU64,
    /// Bytes of segment files the nodes stored.
    pub bytes: AtomicU64,
}

/// The session's current [`QueryContext`], swapped before each statement.
#[derive(Default)]
pub struct ContextCell {
    current: RwLock<Option<Arc<QueryContext>>>,
    view_depth: AtomicUsize,
}

impl ContextCell {
    pub fn set(&self, context: Arc<QueryContext>) {
        *self.current.write().unwrap() = Some(context);
    }

    pub fn get(&self) -> DfResult<Arc<QueryContext>> {
        self.current
            .read()
            .unwrap()
            .clone()
            .ok_or_else(|| DataFusionError::Internal("no statement context".into()))
    }
}

/// The DataFusion catalog list: a single database, `dev`.
pub struct BlueshiftCatalogList {
    catalog: Arc<BlueshiftCatalog>,
}

impl fmt::Debug for BlueshiftCatalogList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlueshiftCatalogList")
    }
}

impl BlueshiftCatalogList {
    pub fn new(cell: Arc<ContextCell>, services: Arc<Services>) -> Self {
        BlueshiftCatalogList {
            catalog: Arc::new(BlueshiftCatalog { cell, services }),
        }
    }
}

impl CatalogProviderList for BlueshiftCatalogList {
    fn register_catalog(
        &self,
        _name: String,
        _catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        None
    }

    fn catalog_names(&self) -> Vec<String> {
        vec![super::DATABASE.to_string()]
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        (name == super::DATABASE).then(|| Arc::clone(&self.catalog) as Arc<dyn CatalogProvider>)
    }
}

struct BlueshiftCatalog {
    cell: Arc<ContextCell>,
    services: Arc<Services>,
}

impl fmt::Debug for BlueshiftCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlueshiftCatalog")
    }
}

impl CatalogProvider for BlueshiftCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .cell
            .get()
            .map(|c| c.catalog.schemas.keys().cloned().collect())
            .unwrap_or_default();
        names.push(SYSTEM_SCHEMA.to_string());
        names.push(crate::system::INFORMATION_SCHEMA.to_string());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let context = self.cell.get().ok()?;
        let schemas = if name == SEARCH_PATH_SCHEMA {
            context.search_path.clone()
        } else if context.catalog.schemas.contains_key(name) || crate::system::is_system_schema(name) {
            vec![name.to_string()]
        } else {
            return None;
        };
        Some(Arc::new(BlueshiftSchema {
            schemas,
            cell: Arc::clone(&self.cell),
            services: Arc::clone(&self.services),
        }))
    }
}

/// One catalog schema, or the search path (several schemas searched in order).
struct BlueshiftSchema {
    schemas: Vec<String>,
    cell: Arc<ContextCell>,
    services: Arc<Services>,
}

impl fmt::Debug for BlueshiftSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlueshiftSchema({:?})", self.schemas)
    }
}

/// A relation found by name.
enum Relation<'a> {
    Table(&'a str, &'a TableDef),
    External(&'a str, &'a super::external::ExternalTableDef),
    View(&'a ViewDef),
    System(Arc<dyn SystemTable>),
}

fn find<'a>(catalog: &'a Catalog, schemas: &'a [String], name: &str) -> Option<Relation<'a>> {
    schemas.iter().find_map(|schema| {
        if crate::system::is_system_schema(schema) {
            return crate::system::lookup(schema, name).map(Relation::System);
        }
        let s = catalog.schemas.get(schema)?;
        if let Some(table) = s.tables.get(name) {
            return Some(Relation::Table(schema, table));
        }
        if let Some(table) = s.external_tables.get(name) {
            return Some(Relation::External(schema, table));
        }
        s.views.get(name).map(Relation::View)
    })
}

#[async_trait]
impl SchemaProvider for BlueshiftSchema {
    fn table_names(&self) -> Vec<String> {
        let Ok(context) = self.cell.get() else {
            return vec![];
        };
        let mut names: Vec<String> = self
            .schemas
            .iter()
            .filter_map(|s| context.catalog.schemas.get(s))
            .flat_map(|s| s.tables.keys().chain(s.views.keys()).chain(s.external_tables.keys()).cloned())
            .collect();
        for table in crate::system::system_tables() {
            if self.schemas.iter().any(|s| s == table.schema_name()) {
                names.push(table.name().to_string());
            }
        }
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let context = self.cell.get()?;
        match find(&context.catalog, &self.schemas, name) {
            None => Ok(None),
            Some(Relation::Table(schema, table)) => {
                let with_rowid = context
                    .rowid_table
                    .as_ref()
                    .is_some_and(|(s, t)| s == schema && t == name);
                Ok(Some(Arc::new(BlueshiftTable::new(
                    schema,
                    Arc::new(table.clone()),
                    Arc::clone(&self.services),
                    with_rowid,
                )?)))
            }
            Some(Relation::External(schema, table)) => Ok(Some(Arc::new(super::external::provider(
                schema,
                table,
                &context,
                &self.services,
            )))),
            Some(Relation::View(view)) => {
                let plan = plan_view(&self.cell, &self.services, view).await?;
                Ok(Some(Arc::new(ViewTable::new(plan, Some(view.sql.clone())))))
            }
            Some(Relation::System(table)) => {
                let view_columns = if table.uses_view_columns() {
                    self.view_columns(&context.catalog).await
                } else {
                    Default::default()
                };
                let system = SystemContext {
                    catalog: &context.catalog,
                    cluster: &self.services.cluster,
                    snapshot: context.snapshot,
                    query: &context,
                    log: &self.services.log,
                    snapshots: &self.services.snapshots,
                    view_columns: &view_columns,
                };
                let batch = table.rows(&system).await.map_err(|e| DataFusionError::External(Box::new(e)))?;
                Ok(Some(Arc::new(MemTable::try_new(table.schema(), vec![vec![batch]])?)))
            }
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.cell
            .get()
            .is_ok_and(|c| find(&c.catalog, &self.schemas, name).is_some())
    }
}

impl BlueshiftSchema {
    /// The result columns of every view that plans (a late-binding view over a dropped table
    /// does not, and is listed without columns).
    async fn view_columns(&self, catalog: &Catalog) -> std::collections::BTreeMap<u32, SchemaRef> {
        let mut columns = std::collections::BTreeMap::new();
        for view in catalog.schemas.values().flat_map(|s| s.views.values()) {
            if let Ok(plan) = plan_view(&self.cell, &self.services, view).await {
                columns.insert(view.oid, Arc::new(plan.schema().as_arrow().clone()));
            }
        }
        columns
    }
}

/// Plans a view's query against the same catalog view as the statement using it.
async fn plan_view(cell: &Arc<ContextCell>, services: &Arc<Services>, view: &ViewDef) -> DfResult<LogicalPlan> {
    let depth = cell.view_depth.fetch_add(1, Ordering::SeqCst);
    let result = async {
        if depth >= MAX_VIEW_DEPTH {
            return Err(DataFusionError::External(Box::new(Error::new(
                SqlState::InvalidTableDefinition,
                format!("infinite recursion detected in rules for relation \"{}\"", view.name),
            ))));
        }
        let state = crate::planner::session_state(Arc::clone(cell), Arc::clone(services));
        // Planned as any query is, so that the view reads as it did when it was created: Redshift's
        // functions and idioms, and PostgreSQL's names for unnamed columns.
        let statement = crate::sql::parse_statement(&view.sql).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let plan = crate::handler::query::plan(&state, statement, None)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        if view.columns.is_empty() {
            return Ok(plan);
        }
        let exprs = plan
            .schema()
            .columns()
            .into_iter()
            .zip(&view.columns)
            .map(|(c, name)| Expr::Column(c).alias(name))
            .collect::<Vec<_>>();
        datafusion::logical_expr::LogicalPlanBuilder::from(plan)
            .project(exprs)?
            .build()
    }
    .await;
    cell.view_depth.fetch_sub(1, Ordering::SeqCst);
    result
}

/// Plans SQL expressions (column defaults) outside any session.
static EXPRESSION_PLANNER: LazyLock<SessionState> =
    LazyLock::new(|| SessionStateBuilder::new().with_default_features().build());

/// `rows` values of a column's DEFAULT, for writes that leave the column out (COPY with a
/// column list). Defaults refer to no columns, so they are evaluated over a row-only batch.
pub fn default_values(column: &super::ColumnDef, rows: usize) -> Result<ArrayRef, Error> {
    let sql = column.default.as_deref().unwrap_or("NULL");
    let data_type = column.sql_type.arrow_type();
    let empty = DFSchema::empty();
    let expr = EXPRESSION_PLANNER
        .create_logical_expr(sql, &empty)?
        .cast_to(&data_type, &empty)?;
    let physical = EXPRESSION_PLANNER.create_physical_expr(expr, &empty)?;
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
    )?;
    Ok(physical.evaluate(&batch)?.into_array(rows)?)
}

/// One row holding each column's DEFAULT, fitted to its type (NULL for a column without one, and
/// for IDENTITY columns, which the writer fills). `positions` says which columns a load fills
/// itself: a column it leaves out must not default to NULL if it is NOT NULL.
pub fn default_row(def: &TableDef, positions: &[Option<usize>]) -> Result<RecordBatch, Error> {
    let columns = def
        .columns
        .iter()
        .zip(positions)
        .map(|(column, position)| {
            if column.default.is_none() || column.identity.is_some() {
                return Ok(arrow::array::new_null_array(&column.sql_type.arrow_type(), 1));
            }
            let value = default_values(column, 1)?;
            if position.is_none() && column.not_null && value.is_null(0) {
                return Err(not_null_violation(&column.name));
            }
            if column.sql_type.is_character() {
                return fit_length(&value, &column.sql_type);
            }
            Ok(value)
        })
        .collect::<Result<Vec<ArrayRef>, Error>>()?;
    Ok(RecordBatch::try_new(arrow_schema(def), columns)?)
}

/// A SQL literal for a constant, as stored in the catalog.
pub fn scalar_literal(value: &ScalarValue) -> String {
    if value.is_null() {
        return "NULL".into();
    }
    let text = value.to_string();
    match value.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => format!("'{}'", text.replace('\'', "''")),
        DataType::Boolean | DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => text,
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => text,
        other => format!("CAST('{}' AS {})", text.replace('\'', "''"), sql_type_name(&other)),
    }
}

fn sql_type_name(data_type: &DataType) -> String {
    super::SqlType::from_arrow(data_type)
        .map(|t| t.pg_name())
        .unwrap_or_else(|_| "varchar".into())
}

/// Evaluates a constant SQL literal to a value of `data_type`.
pub(crate) fn literal_value(literal: &str, data_type: &DataType) -> DfResult<ScalarValue> {
    let empty = DFSchema::empty();
    let expr = EXPRESSION_PLANNER.create_logical_expr(literal, &empty)?;
    let physical = EXPRESSION_PLANNER.create_physical_expr(expr, &empty)?;
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let value = match physical.evaluate(&batch)? {
        datafusion::logical_expr::ColumnarValue::Scalar(v) => v,
        datafusion::logical_expr::ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0)?,
    };
    value.cast_to(data_type)
}

/// The Arrow schema of a table as queries see it (all columns nullable: NOT NULL is enforced on
/// write by the sink, with PostgreSQL's error).
pub fn arrow_schema(table: &TableDef) -> SchemaRef {
    Arc::new(Schema::new(
        table
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.sql_type.arrow_type(), true))
            .collect::<Vec<_>>(),
    ))
}

/// A Blueshift table for DataFusion.
pub struct BlueshiftTable {
    schema_name: String,
    def: Arc<TableDef>,
    services: Arc<Services>,
    schema: SchemaRef,
    defaults: HashMap<String, Expr>,
}

impl fmt::Debug for BlueshiftTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlueshiftTable({}.{})", self.schema_name, self.def.name)
    }
}

impl BlueshiftTable {
    pub fn new(
        schema_name: &str,
        def: Arc<TableDef>,
        services: Arc<Services>,
        with_rowid: bool,
    ) -> DfResult<Self> {
        let table_schema = arrow_schema(&def);
        let mut fields: Vec<Field> = table_schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        if with_rowid {
            fields.push(Field::new(ROWID_COLUMN, DataType::UInt64, false));
        }
        let df_schema = DFSchema::try_from(table_schema.as_ref().clone())?;
        let defaults = def
            .columns
            .iter()
            .filter_map(|c| c.default.as_ref().map(|sql| (c, sql)))
            .map(|(c, sql)| {
                let expr = EXPRESSION_PLANNER.create_logical_expr(sql, &df_schema)?;
                Ok((c.name.clone(), expr.cast_to(&c.sql_type.arrow_type(), &df_schema)?))
            })
            .collect::<DfResult<_>>()?;
        Ok(BlueshiftTable {
            schema_name: schema_name.to_string(),
            def,
            services,
            schema: Arc::new(Schema::new(fields)),
            defaults,
        })
    }

    pub fn def(&self) -> &Arc<TableDef> {
        &self.def
    }

    fn file_schema(&self) -> DfResult<DFSchema> {
        DFSchema::try_from(Schema::new(
            self.def
                .columns
                .iter()
                .map(|c| Field::new(column_field_name(c.id), c.sql_type.arrow_type(), true))
                .collect::<Vec<_>>(),
        ))
    }
}

#[async_trait]
impl TableProvider for BlueshiftTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.defaults.get(column)
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let context = state
            .config()
            .get_extension::<QueryContext>()
            .ok_or_else(|| DataFusionError::Internal("scan outside a statement".into()))?;
        let cluster = &self.services.cluster;
        cluster
            .check_ready()
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let width = self.def.columns.len();
        let requested: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let table_columns: Vec<usize> = requested.iter().copied().filter(|&i| i < width).collect();
        let with_rowid = requested.contains(&width);
        let file_schema = self.file_schema()?;
        let spec = SliceScanSpec {
            table_id: u64::from(self.def.oid),
            table_name: format!("{}.{}", self.schema_name, self.def.name),
            columns: self
                .def
                .columns
                .iter()
                .map(|c| {
                    Ok(ScanColumn {
                        id: c.id,
                        name: c.name.clone(),
                        data_type: c.sql_type.arrow_type(),
                        missing: c
                            .missing_value
                            .as_deref()
                            .map(|literal| literal_value(literal, &c.sql_type.arrow_type()))
                            .transpose()?,
                    })
                })
                .collect::<DfResult<_>>()?,
            projection: table_columns.clone(),
            filters: filters
                .iter()
                .filter_map(|f| {
                    // Files name columns by id, so that renaming a column leaves them as they are.
                    let rename = |name: &str| self.def.column(name).map(|c| column_field_name(c.id));
                    blueshift_spectrum::leaf::pushdown_filter(state, f, &file_schema, rename)
                })
                .collect(),
            snapshot: context.snapshot,
            with_rowid,
            dist_key: match self.def.dist_style {
                super::DistStyle::Key => self.def.dist_key.as_deref().and_then(|k| self.def.column_index(k)),
                _ => None,
            },
            replicated: self.def.dist_style.is_all(),
            estimated_rows: Some(table_rows(&self.services, &self.def).await.map_err(user_error)?),
        };
        let slices = if self.def.dist_style.is_all() && !with_rowid {
            // Every node has a full copy; one suffices to read the table...
            vec![cluster.all_copy_slices()[0]]
        } else if self.def.dist_style.is_all() {
            // ...but DELETE and UPDATE must find the rows in every copy.
            cluster.all_copy_slices()
        } else {
            cluster.slices()
        };
        let scan: Arc<dyn ExecutionPlan> = Arc::new(SliceScanExec::new(
            Arc::new(spec),
            slices,
            SliceDispatch::PerPartition,
            Arc::new(cluster.locations()),
        ));
        // The scan returns table columns in projection order, then __rowid; reorder if the
        // request interleaves them differently.
        let natural: Vec<usize> = table_columns
            .iter()
            .copied()
            .chain(with_rowid.then_some(width))
            .collect();
        if natural == requested {
            return Ok(scan);
        }
        let scan_schema = scan.schema();
        let exprs = requested
            .iter()
            .map(|i| {
                let position = natural.iter().position(|n| n == i).expect("same columns");
                let name = scan_schema.field(position).name().clone();
                (
                    Arc::new(datafusion::physical_expr::expressions::Column::new(&name, position))
                        as Arc<dyn PhysicalExpr>,
                    name,
                )
            })
            .collect::<Vec<_>>();
        Ok(Arc::new(ProjectionExec::try_new(exprs, scan)?))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append {
            return Err(DataFusionError::NotImplemented(format!("{insert_op} is not supported")));
        }
        let sink = TableSink {
            def: Arc::clone(&self.def),
            services: Arc::clone(&self.services),
            schema: arrow_schema(&self.def),
        };
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

/// Writes INSERT rows into a table (see [`write_batches`]).
struct TableSink {
    def: Arc<TableDef>,
    services: Arc<Services>,
    schema: SchemaRef,
}

impl fmt::Debug for TableSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TableSink({})", self.def.name)
    }
}

impl DisplayAs for TableSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TableSink: table={}", self.def.name)
    }
}

fn user_error(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[async_trait]
impl DataSink for TableSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(&self, data: SendableRecordBatchStream, context: &Arc<TaskContext>) -> DfResult<u64> {
        let query = context
            .session_config()
            .get_extension::<QueryContext>()
            .ok_or_else(|| DataFusionError::Internal("insert outside a statement".into()))?;
        let rows = write_batches(
            &self.services,
            &self.def,
            query.snapshot.xid,
            data.map(|b| b.map_err(Error::from)).boxed(),
            &query.writes,
            false,
        )
        .await
        .map_err(user_error)?;
        Ok(rows)
    }
}

/// Live rows in a table as of the last commit, asking the nodes the first time.
pub async fn table_rows(services: &Services, def: &TableDef) -> Result<u64, Error> {
    let txns = &services.txns;
    if let Some(rows) = txns.estimated_rows(def.oid) {
        return Ok(rows);
    }
    let stats = services.cluster.table_stats(def.oid, Snapshot::latest()).await?;
    let copies = if def.dist_style.is_all() { services.cluster.nodes.len() as u64 } else { 1 };
    let rows = stats.iter().map(|s| s.rows).sum::<u64>() / copies.max(1);
    txns.learn_rows(def.oid, rows);
    Ok(rows)
}

/// Writes new rows (the table's columns, in order) into a table for transaction `xid`: fills
/// IDENTITY columns, enforces NOT NULL and character lengths, and streams the rows to their
/// slices. Nodes that received rows are recorded in `writes` even if the write fails, so the
/// transaction's abort reaches them. `keep_identity` lets rows carry identity values (UPDATE
/// rewriting existing rows).
pub async fn write_batches(
    services: &Services,
    def: &Arc<TableDef>,
    xid: u64,
    mut batches: futures::stream::BoxStream<'_, Result<RecordBatch, Error>>,
    writes: &WriteLog,
    keep_identity: bool,
) -> Result<u64, Error> {
    let mut writer = TableWriter::new(Arc::clone(&services.cluster), Arc::clone(def), xid);
    let schema = arrow_schema(def);
    let result: Result<(), Error> = async {
        while let Some(batch) = batches.next().await {
            let batch = prepare(services, def, &schema, batch?, keep_identity).await?;
            writer.write(batch).await?;
        }
        Ok(())
    }
    .await;
    writes.nodes.lock().unwrap().extend(writer.touched_nodes());
    result?;
    let outcome = writer.finish().await?;
    writes.rows.fetch_add(outcome.rows, Ordering::SeqCst);
    writes.bytes.fetch_add(outcome.bytes, Ordering::SeqCst);
    Ok(outcome.rows)
}

/// Applies the table's column rules to a batch of new rows.
async fn prepare(
    services: &Services,
    def: &TableDef,
    schema: &SchemaRef,
    batch: RecordBatch,
    keep_identity: bool,
) -> Result<RecordBatch, Error> {
    let mut columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(def.columns.iter())
        .map(|(array, column)| arrow::compute::cast(array, &column.sql_type.arrow_type()))
        .collect::<Result<_, _>>()?;
    for (i, column) in def.columns.iter().enumerate() {
        let array = &columns[i];
        if let Some(identity) = column.identity {
            if !identity.by_default && !keep_identity && array.null_count() != array.len() {
                return Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("cannot set an identity column to a value: column \"{}\"", column.name),
                ));
            }
            if array.null_count() > 0 {
                columns[i] = fill_identity(services, def.oid, array, identity, &column.sql_type.arrow_type()).await?;
            }
            continue;
        }
        if column.not_null && array.null_count() > 0 {
            return Err(not_null_violation(&column.name));
        }
        if column.sql_type.is_character() {
            columns[i] = fit_length(array, &column.sql_type)?;
        }
    }
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

fn not_null_violation(column: &str) -> Error {
    Error::new(
        SqlState::NotNullViolation,
        format!("null value in column \"{column}\" violates not-null constraint"),
    )
}

async fn fill_identity(
    services: &Services,
    table: u32,
    array: &ArrayRef,
    identity: super::Identity,
    data_type: &DataType,
) -> Result<ArrayRef, Error> {
    let start = services.txns.allocate_identities(table, array.null_count() as u64).await?;
    let existing = arrow::compute::cast(array, &DataType::Int64)?;
    let existing = existing.as_primitive::<arrow::datatypes::Int64Type>();
    let mut next = start;
    let filled: Int64Array = (0..existing.len())
        .map(|i| {
            if existing.is_null(i) {
                let value = identity.seed + identity.step * next;
                next += 1;
                Some(value)
            } else {
                Some(existing.value(i))
            }
        })
        .collect();
    Ok(arrow::compute::cast(&filled, data_type)?)
}

/// Enforces a character column's byte length: trailing blanks beyond it are dropped (as in
/// PostgreSQL), anything else is an error. CHAR values are stored without trailing blanks.
fn fit_length(array: &ArrayRef, sql_type: &super::SqlType) -> Result<ArrayRef, Error> {
    let max = sql_type.max_length().unwrap_or(u32::MAX) as usize;
    let is_char = matches!(sql_type, super::SqlType::Char { .. });
    let strings = array.as_string::<i32>();
    let needs_change = strings
        .iter()
        .flatten()
        .any(|s| s.len() > max || (is_char && s.ends_with(' ')));
    if !needs_change {
        return Ok(Arc::clone(array));
    }
    let fitted: StringArray = strings
        .iter()
        .map(|value| {
            value
                .map(|s| {
                    let trimmed = if s.len() > max || is_char { s.trim_end_matches(' ') } else { s };
                    if trimmed.len() > max {
                        return Err(Error::new(
                            SqlState::StringDataRightTruncation,
                            format!("value too long for type {sql_type}"),
                        ));
                    }
                    Ok(trimmed.to_string())
                })
                .transpose()
        })
        .collect::<Result<_, Error>>()?;
    Ok(Arc::new(fitted))
}
