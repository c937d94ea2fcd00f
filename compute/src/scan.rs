//! `SliceScanExec`: the leaf of every plan that reads a local table.
//!
//! One partition reads one slice. On the compute node that owns the slice it lists the segments
//! visible to the query's MVCC snapshot, drops those whose zone maps prove no row can match the
//! pushed-down filters, and reads the rest with DataFusion's Parquet reader (page-index pruning,
//! late materialization), skipping deleted rows through a Parquet access plan. Anywhere else — the
//! leader, when the distributed planner kept a scan local — it streams the same partition from the
//! owning node over Arrow Flight, so the operator is correct wherever it runs.
//!
//! With `with_rowid`, the scan also returns each row's address in a hidden `__rowid` column; DELETE
//! and UPDATE use it to name the rows they change.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use blueshift_storage::segment::read_with_positions;
use blueshift_storage::zone_map::SegmentPruner;
use blueshift_storage::{
    NodeStore, ROWID_COLUMN, Snapshot, VisibleSegment, column_field_name, encode_rowid,
};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::stats::Precision;
use datafusion::common::{DataFusionError, Result, ScalarValue, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{ParquetAccessPlan, RowGroupAccess};
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr, conjunction};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions,
};
use datafusion_distributed::DistributedTaskContext;
use futures::{StreamExt, TryStreamExt};

use crate::remote;
use crate::restore::Restorer;

/// A table column as the scan sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanColumn {
    pub id: u32,
    pub name: String,
    pub data_type: DataType,
    /// What rows written before the column was added read as (`None`: NULL).
    pub missing: Option<ScalarValue>,
}

/// Everything about a scan except which slices it covers.
#[derive(Debug, Clone)]
pub struct SliceScanSpec {
    pub table_id: u64,
    /// `schema.table`, for plan display and error messages.
    pub table_name: String,
    /// Every column of the table; defines the file schema (`c<id>` fields).
    pub columns: Vec<ScanColumn>,
    /// The columns returned, as indices into `columns`.
    pub projection: Vec<usize>,
    /// Conjuncts of the query's WHERE clause over the file schema; used to prune segments,
    /// pages and rows. Not exact: the plan keeps its own filter above the scan.
    pub filters: Vec<Arc<dyn PhysicalExpr>>,
    pub snapshot: Snapshot,
    pub with_rowid: bool,
    /// Index (into `columns`) of the DISTKEY of a KEY-distributed table: rows with equal values
    /// of it share a slice, chosen by the stable hash in `blueshift_storage::distribution`.
    pub dist_key: Option<usize>,
    /// DISTSTYLE ALL: every node holds a full copy (on its first slice).
    pub replicated: bool,
    /// Live rows in the table, for the planner's size estimates.
    pub estimated_rows: Option<u64>,
}

impl SliceScanSpec {
    pub fn file_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(column_field_name(c.id), c.data_type.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    pub fn output_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .projection
            .iter()
            .map(|&i| {
                let c = &self.columns[i];
                Field::new(&c.name, c.data_type.clone(), true)
            })
            .collect();
        if self.with_rowid {
            fields.push(Field::new(ROWID_COLUMN, DataType::UInt64, false));
        }
        Arc::new(Schema::new(fields))
    }
}

/// How the slices map to partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceDispatch {
    /// Partition `i` reads `slices[i]`, wherever the scan runs (remotely if need be).
    PerPartition,
    /// In a stage with one task per compute node: task `t`'s partition `p` reads
    /// `slices[t * partitions + p]`, its node's own slices.
    PerNode { partitions: usize },
    /// In a stage with one task per compute node, for a DISTSTYLE ALL table: task `t` reads its
    /// node's copy, `slices[t]`, as one partition.
    NodeCopy,
}

#[derive(Debug)]
pub struct SliceScanExec {
    spec: Arc<SliceScanSpec>,
    slices: Vec<u32>,
    dispatch: SliceDispatch,
    /// Flight address of the node owning each slice, for reads from elsewhere.
    locations: Arc<HashMap<u32, String>>,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
    /// The Parquet scans this node ran, whose metrics are reported as this node's.
    inner: Arc<Mutex<Vec<Arc<dyn ExecutionPlan>>>>,
}

impl SliceScanExec {
    pub fn new(
        spec: Arc<SliceScanSpec>,
        slices: Vec<u32>,
        dispatch: SliceDispatch,
        locations: Arc<HashMap<u32, String>>,
    ) -> Self {
        let partitions = match dispatch {
            SliceDispatch::PerPartition => slices.len().max(1),
            SliceDispatch::PerNode { partitions } => partitions,
            SliceDispatch::NodeCopy => 1,
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(spec.output_schema()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        SliceScanExec {
            spec,
            slices,
            dispatch,
            locations,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
            inner: Arc::default(),
        }
    }

    pub fn spec(&self) -> &Arc<SliceScanSpec> {
        &self.spec
    }

    pub fn slices(&self) -> &[u32] {
        &self.slices
    }

    pub fn dispatch(&self) -> SliceDispatch {
        self.dispatch
    }

    pub fn locations(&self) -> &Arc<HashMap<u32, String>> {
        &self.locations
    }

    /// The same scan restricted to one slice, as a single partition.
    pub fn for_slice(&self, slice: u32) -> SliceScanExec {
        SliceScanExec::new(
            Arc::clone(&self.spec),
            vec![slice],
            SliceDispatch::PerPartition,
            Arc::clone(&self.locations),
        )
    }

    /// The same scan, laid out for a stage with one task per node. `slices` lists every slice of
    /// the table in node order (for ALL tables: each node's copy).
    pub fn per_node(&self, slices: Vec<u32>, dispatch: SliceDispatch) -> SliceScanExec {
        SliceScanExec::new(Arc::clone(&self.spec), slices, dispatch, Arc::clone(&self.locations))
    }

    fn slice_for(&self, partition: usize, context: &Arc<TaskContext>) -> Result<u32> {
        let task = || DistributedTaskContext::from_ctx(context).task_index;
        let index = match self.dispatch {
            SliceDispatch::PerPartition => partition,
            SliceDispatch::PerNode { partitions } => task() * partitions + partition,
            SliceDispatch::NodeCopy => task(),
        };
        self.slices.get(index).copied().ok_or_else(|| {
            DataFusionError::Internal(format!(
                "scan of {} has no slice for partition {partition}",
                self.spec.table_name
            ))
        })
    }

    fn local_store(context: &TaskContext, slice: u32) -> Option<Arc<NodeStore>> {
        context
            .session_config()
            .get_extension::<NodeStore>()
            .filter(|store| store.slices().contains(&slice))
    }

    async fn scan_local(
        spec: Arc<SliceScanSpec>,
        store: Arc<NodeStore>,
        slice: u32,
        context: Arc<TaskContext>,
        counters: ScanCounters,
        inner: Arc<Mutex<Vec<Arc<dyn ExecutionPlan>>>>,
    ) -> Result<SendableRecordBatchStream> {
        let segments = {
            let spec = Arc::clone(&spec);
            tokio::task::spawn_blocking(move || {
                store.visible_segments(spec.table_id, slice, &spec.snapshot)
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?
            .map_err(|e| DataFusionError::External(Box::new(e)))?
        };
        let segments = prune_segments(&spec, segments, &counters)?;
        // Only now, with pruned segments left out, bring what a restore left in the snapshot store.
        if let Some(restorer) = context.session_config().get_extension::<Restorer>() {
            restorer
                .ensure(segments.iter().map(|s| s.path.as_path()))
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
        }
        let output_schema = spec.output_schema();
        if segments.is_empty() {
            return Ok(Box::pin(RecordBatchStreamAdapter::new(
                output_schema,
                futures::stream::empty(),
            )));
        }
        let batch_size = context.session_config().batch_size();
        if spec.with_rowid {
            return read_positional(spec, slice, segments, batch_size);
        }
        // Segments older than a column added with a default are read position by position, to
        // fill in that default; all others through the Parquet reader with pushdown.
        let (positional, pushdown): (Vec<_>, Vec<_>) =
            segments.into_iter().partition(|s| needs_defaults(&spec, s));
        let mut streams: Vec<SendableRecordBatchStream> = Vec::new();
        if !pushdown.is_empty() {
            let plan = parquet_plan(&spec, &pushdown)?;
            inner.lock().unwrap().push(Arc::clone(&plan));
            let stream = plan.execute(0, context)?;
            let schema = Arc::clone(&output_schema);
            streams.push(Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&output_schema),
                stream.map(move |batch| {
                    let batch = batch?;
                    Ok(with_schema(&schema, batch.columns().to_vec(), batch.num_rows())?)
                }),
            )));
        }
        if !positional.is_empty() {
            streams.push(read_positional(Arc::clone(&spec), slice, positional, batch_size)?);
        }
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            output_schema,
            futures::stream::iter(streams).flatten(),
        )))
    }
}

#[derive(Clone)]
struct ScanCounters {
    segments_total: Count,
    segments_pruned: Count,
}

/// Keeps the segments whose zone maps allow a match.
fn prune_segments(
    spec: &SliceScanSpec,
    segments: Vec<VisibleSegment>,
    counters: &ScanCounters,
) -> Result<Vec<VisibleSegment>> {
    counters.segments_total.add(segments.len());
    if spec.filters.is_empty() || segments.is_empty() {
        return Ok(segments);
    }
    let predicate = conjunction(spec.filters.iter().cloned());
    let pruning = PruningPredicateBuilder::new()
        .with_file_schema(spec.file_schema())
        .try_build(predicate)?;
    let entries: Vec<&blueshift_storage::SegmentEntry> = segments.iter().map(|s| &s.entry).collect();
    let keep = pruning.prune(&SegmentPruner {
        segments: &entries,
        schema: spec.file_schema(),
        missing_values: spec
            .columns
            .iter()
            .filter_map(|c| c.missing.clone().map(|v| (c.id, v)))
            .collect(),
    })?;
    let total = entries.len();
    drop(entries);
    let kept: Vec<VisibleSegment> = segments
        .into_iter()
        .zip(keep)
        .filter_map(|(segment, keep)| keep.then_some(segment))
        .collect();
    counters.segments_pruned.add(total - kept.len());
    Ok(kept)
}

/// A Parquet scan of `segments`, with their deleted rows skipped and the filters pushed down.
fn parquet_plan(spec: &SliceScanSpec, segments: &[VisibleSegment]) -> Result<Arc<dyn ExecutionPlan>> {
    let file_schema = spec.file_schema();
    let mut source = ParquetSource::new(Arc::clone(&file_schema))
        .with_pushdown_filters(true)
        .with_enable_page_index(true);
    if !spec.filters.is_empty() {
        source = source.with_predicate(conjunction(spec.filters.iter().cloned()));
    }
    let files: Vec<PartitionedFile> = segments
        .iter()
        .map(|segment| {
            let file = PartitionedFile::new(
                segment.path.to_string_lossy().to_string(),
                segment.entry.bytes,
            );
            match &segment.deleted {
                Some(deleted) => file.with_extension(access_plan(segment, deleted)),
                None => file,
            }
        })
        .collect();
    let config = FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
        .with_file_group(FileGroup::new(files))
        .with_projection_indices(Some(spec.projection.clone()))?
        .build();
    Ok(DataSourceExec::from_data_source(config))
}

/// Row groups to read, skip or read in part, given a segment's deleted row positions.
fn access_plan(segment: &VisibleSegment, deleted: &roaring::RoaringBitmap) -> ParquetAccessPlan {
    let mut start = 0u64;
    let access = segment
        .entry
        .row_groups
        .iter()
        .map(|&rows| {
            let end = start + rows;
            let in_group = deleted.range_cardinality(start as u32..end as u32);
            let access = if in_group == 0 {
                RowGroupAccess::Scan
            } else if in_group == rows {
                RowGroupAccess::Skip
            } else {
                let shifted: roaring::RoaringBitmap = deleted
                    .range(start as u32..end as u32)
                    .map(|p| p - start as u32)
                    .collect();
                RowGroupAccess::Selection(blueshift_storage::segment::selection_without(
                    &shifted, rows,
                ))
            };
            start = end;
            access
        })
        .collect();
    ParquetAccessPlan::new(access)
}

/// A rough in-memory width of a value of `data_type`, for size estimates.
pub fn estimated_width(data_type: &DataType) -> usize {
    data_type.primitive_width().unwrap_or(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => 24,
        DataType::Boolean => 1,
        _ => 16,
    })
}

/// A batch of `rows` rows; the row count is explicit because a scan may return no columns
/// (`count(*)`).
fn with_schema(schema: &SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// Whether a segment predates a projected column that has a default for old rows.
fn needs_defaults(spec: &SliceScanSpec, segment: &VisibleSegment) -> bool {
    spec.projection.iter().any(|&i| {
        let column = &spec.columns[i];
        column.missing.is_some() && segment.entry.written_before_column(column.id)
    })
}

/// Reads segments by row position, without pushdown: every row can carry its address
/// (`__rowid`), and columns a segment predates are filled with their defaults.
fn read_positional(
    spec: Arc<SliceScanSpec>,
    slice: u32,
    segments: Vec<VisibleSegment>,
    batch_size: usize,
) -> Result<SendableRecordBatchStream> {
    let output_schema = spec.output_schema();
    let schema = Arc::clone(&output_schema);
    let stream = futures::stream::iter(segments)
        .then(move |segment| {
            let spec = Arc::clone(&spec);
            let schema = Arc::clone(&schema);
            async move {
                tokio::task::spawn_blocking(move || read_segment(&spec, slice, &segment, &schema, batch_size))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
            }
        })
        .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
        .try_flatten();
    Ok(Box::pin(RecordBatchStreamAdapter::new(output_schema, stream)))
}

fn read_segment(
    spec: &SliceScanSpec,
    slice: u32,
    segment: &VisibleSegment,
    schema: &SchemaRef,
    batch_size: usize,
) -> Result<Vec<RecordBatch>> {
    // The segment may predate some columns: read those it has, fill the rest with NULLs.
    let file_columns = &segment.entry.columns;
    let present: Vec<usize> = spec
        .projection
        .iter()
        .filter_map(|&i| file_columns.iter().position(|&id| id == spec.columns[i].id))
        .collect();
    let mut sorted_present = present.clone();
    sorted_present.sort_unstable();
    sorted_present.dedup();
    let empty = roaring::RoaringBitmap::new();
    let deleted = segment.deleted.as_deref().unwrap_or(&empty);
    let batches = read_with_positions(&segment.path, &sorted_present, deleted, batch_size)
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    batches
        .into_iter()
        .map(|(batch, positions)| {
            let mut columns: Vec<ArrayRef> = spec
                .projection
                .iter()
                .map(|&i| {
                    let column = &spec.columns[i];
                    let source = file_columns
                        .iter()
                        .position(|&id| id == column.id)
                        .and_then(|file_index| sorted_present.iter().position(|&p| p == file_index));
                    match source {
                        Some(index) => arrow::compute::cast(batch.column(index), &column.data_type)
                            .map_err(DataFusionError::from),
                        None => match &column.missing {
                            Some(value) => value.to_array_of_size(batch.num_rows()),
                            None => Ok(arrow::array::new_null_array(&column.data_type, batch.num_rows())),
                        },
                    }
                })
                .collect::<Result<_>>()?;
            if spec.with_rowid {
                let rowids: UInt64Array = positions
                    .iter()
                    .map(|&p| encode_rowid(slice, segment.entry.id, p))
                    .collect();
                columns.push(Arc::new(rowids));
            }
            Ok(with_schema(schema, columns, positions.len())?)
        })
        .collect()
}

impl DisplayAs for SliceScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let columns: Vec<&str> = self
            .spec
            .projection
            .iter()
            .map(|&i| self.spec.columns[i].name.as_str())
            .collect();
        write!(
            f,
            "SliceScanExec: table={}, slices={:?}, columns=[{}]",
            self.spec.table_name,
            self.slices,
            columns.join(", ")
        )?;
        match self.dispatch {
            SliceDispatch::PerPartition => {}
            SliceDispatch::PerNode { partitions } => write!(f, ", {partitions} slices per node task")?,
            SliceDispatch::NodeCopy => write!(f, ", each node's copy")?,
        }
        blueshift_spectrum::leaf::fmt_filters(f, &self.spec.filters)
    }
}

impl ExecutionPlan for SliceScanExec {
    fn name(&self) -> &str {
        "SliceScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        blueshift_spectrum::leaf::visit_filters(&self.spec.filters, f)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        blueshift_spectrum::leaf::without_children(self, &children)
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(datafusion::physical_plan::ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let slice = self.slice_for(partition, &context)?;
        let counters = ScanCounters {
            segments_total: MetricBuilder::new(&self.metrics).counter("segments_total", partition),
            segments_pruned: MetricBuilder::new(&self.metrics)
                .counter("segments_pruned_by_zone_map", partition),
        };
        let schema = self.spec.output_schema();
        let stream: futures::stream::BoxStream<'static, Result<RecordBatch>> =
            match Self::local_store(&context, slice) {
                Some(store) => {
                    let future = Self::scan_local(
                        Arc::clone(&self.spec),
                        store,
                        slice,
                        context,
                        counters,
                        Arc::clone(&self.inner),
                    );
                    futures::stream::once(future).try_flatten().boxed()
                }
                None => {
                    let location = self.locations.get(&slice).cloned().ok_or_else(|| {
                        DataFusionError::Execution(format!(
                            "no compute node is known for slice {slice} of {}",
                            self.spec.table_name
                        ))
                    })?;
                    let single = self.for_slice(slice);
                    futures::stream::once(remote::fetch_scan(location, single, context))
                        .try_flatten()
                        .boxed()
                }
            };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }

    fn statistics_from_inputs(&self, _input_stats: &[Arc<Statistics>], args: &StatisticsArgs) -> Result<Arc<Statistics>> {
        let schema = self.schema();
        let Some(rows) = self.spec.estimated_rows else {
            return Ok(Arc::new(Statistics::new_unknown(&schema)));
        };
        // A replicated table's copy holds every row; other scans spread rows over their slices.
        let share = match (args.partition(), self.dispatch) {
            (None, _) | (Some(_), SliceDispatch::NodeCopy) => rows,
            (Some(_), _) if self.spec.replicated => rows,
            (Some(_), _) => rows / self.slices.len().max(1) as u64,
        };
        let width: usize = schema.fields().iter().map(|f| estimated_width(f.data_type())).sum();
        let mut statistics = Statistics::new_unknown(&schema);
        statistics.num_rows = Precision::Inexact(share as usize);
        statistics.total_byte_size = Precision::Inexact(share as usize * width.max(1));
        Ok(Arc::new(statistics))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        let mut metrics = self.metrics.clone_inner();
        for plan in self.inner.lock().unwrap().iter() {
            if let Some(inner) = plan.metrics() {
                for metric in inner.iter() {
                    metrics.push(Arc::clone(metric));
                }
            }
        }
        Some(metrics)
    }
}
