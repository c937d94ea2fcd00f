//! `ExternalScanExec`: the leaf of a plan that reads an external table's files.
//!
//! The leader decides which files (or byte ranges of large Parquet files) a query reads and
//! deals them into one group per slice; partition `i` of the scan reads group `i`. Each file is
//! read by DataFusion's own reader (Parquet: row-group statistics, page index and pushed-down
//! filters; text: its CSV reader), from the object store registered for its bucket. Partition
//! column values and the `"$path"`/`"$size"` pseudo-columns are per-file constants, which
//! DataFusion fills in as partition values. Files are read one after another so that an error
//! can name the file it comes from.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::common::config::CsvOptions;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{CsvSource, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr, conjunction};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, ReplaceChildrenOptions,
};
use datafusion_distributed::DistributedTaskContext;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::s3::{self, S3Config, S3Url};

/// How an external table's files are laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFormat {
    Parquet,
    /// Delimited text, Hive-style: no quoting, `\N` for NULL.
    Text { delimiter: u8, skip_header_lines: usize },
}

/// One file, or a byte range of one, with the values of its partition fields (partition
/// columns, then the pseudo-columns the scan returns), as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSplit {
    pub url: String,
    pub size: u64,
    pub range: Option<(u64, u64)>,
    pub partition_values: Vec<String>,
}

/// What a scan reads, apart from which files.
#[derive(Debug, Clone)]
pub struct ScanSpec {
    /// `schema.table`, for plans and errors.
    pub table_name: String,
    pub location: String,
    pub format: FileFormat,
    /// The columns stored in the files.
    pub file_schema: SchemaRef,
    /// Per-file constant columns: partition columns, then `$path` and `$size` if queried.
    pub partition_fields: Vec<FieldRef>,
    /// Returned columns, as indices into file columns followed by partition fields.
    pub projection: Vec<usize>,
    /// Conjuncts of the WHERE clause over file columns and partition fields, for row-group, page
    /// and row pruning. Not exact: the plan keeps its own filter.
    pub filters: Vec<Arc<dyn PhysicalExpr>>,
    pub s3: S3Config,
    /// The `numRows` table property, for the planner's estimates.
    pub estimated_rows: Option<u64>,
}

impl ScanSpec {
    fn table_schema(&self) -> TableSchema {
        TableSchema::builder(Arc::clone(&self.file_schema))
            .with_table_partition_cols(self.partition_fields.clone())
            .build()
    }

    /// What the file reader is asked for: text files are read as text, and converted by
    /// [`typed_text`] with Hive's rules.
    fn read_schema(&self) -> TableSchema {
        match self.format {
            FileFormat::Parquet => self.table_schema(),
            FileFormat::Text { .. } => {
                let text = self
                    .file_schema
                    .fields()
                    .iter()
                    .map(|f| Field::new(f.name(), DataType::Utf8, true))
                    .collect::<Vec<_>>();
                TableSchema::builder(Arc::new(Schema::new(text)))
                    .with_table_partition_cols(self.partition_fields.clone())
                    .build()
            }
        }
    }

    pub fn output_schema(&self) -> SchemaRef {
        let table = self.table_schema();
        let fields: Vec<Field> = self
            .projection
            .iter()
            .map(|&i| table.table_schema().field(i).clone())
            .collect();
        Arc::new(Schema::new(fields))
    }
}

/// Which group of files a partition reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dispatch {
    /// Partition `i` reads group `i`.
    PerPartition,
    /// In a stage with one task per compute node: task `t`'s partition `p` reads group
    /// `t * partitions + p`.
    PerNode { partitions: usize },
}

#[derive(Debug)]
pub struct ExternalScanExec {
    spec: Arc<ScanSpec>,
    groups: Arc<Vec<Vec<FileSplit>>>,
    dispatch: Dispatch,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl ExternalScanExec {
    pub fn new(spec: Arc<ScanSpec>, groups: Arc<Vec<Vec<FileSplit>>>, dispatch: Dispatch) -> Self {
        let partitions = match dispatch {
            Dispatch::PerPartition => groups.len().max(1),
            Dispatch::PerNode { partitions } => partitions,
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(spec.output_schema()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        ExternalScanExec {
            spec,
            groups,
            dispatch,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    pub fn spec(&self) -> &Arc<ScanSpec> {
        &self.spec
    }

    pub fn groups(&self) -> &Arc<Vec<Vec<FileSplit>>> {
        &self.groups
    }

    pub fn dispatch(&self) -> Dispatch {
        self.dispatch
    }

    /// The same scan laid out for a stage with one task per node, `partitions` groups each.
    pub fn per_node(&self, partitions: usize) -> ExternalScanExec {
        ExternalScanExec::new(Arc::clone(&self.spec), Arc::clone(&self.groups), Dispatch::PerNode { partitions })
    }

    fn group_for(&self, partition: usize, context: &Arc<TaskContext>) -> Result<&[FileSplit]> {
        let index = match self.dispatch {
            Dispatch::PerPartition => partition,
            Dispatch::PerNode { partitions } => {
                DistributedTaskContext::from_ctx(context).task_index * partitions + partition
            }
        };
        match self.groups.get(index) {
            Some(group) => Ok(group),
            // More tasks or partitions than groups: nothing left to read.
            None => Ok(&[]),
        }
    }
}

/// A plan reading one file split.
fn file_plan(spec: &ScanSpec, split: &FileSplit, context: &TaskContext) -> Result<Arc<dyn ExecutionPlan>> {
    let url = S3Url::parse(&split.url).map_err(|e| DataFusionError::External(Box::new(e)))?;
    let bucket_url = ObjectStoreUrl::parse(format!("s3://{}", url.bucket))?;
    let store = s3::bucket_store(&spec.s3, &url.bucket, &Default::default())
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    context
        .runtime_env()
        .register_object_store(bucket_url.as_ref(), store);
    let values = spec
        .partition_fields
        .iter()
        .zip(&split.partition_values)
        .map(|(field, value)| crate::table::partition_value(value, field.data_type()))
        .collect::<Result<Vec<_>>>()?;
    let mut file = PartitionedFile::new(url.key.clone(), split.size);
    if let Some((start, end)) = split.range {
        file = file.with_range(start as i64, end as i64);
    }
    file.partition_values = values;
    let table_schema = spec.read_schema();
    let source: Arc<dyn datafusion::datasource::physical_plan::FileSource> = match &spec.format {
        FileFormat::Parquet => {
            let mut source = ParquetSource::new(table_schema)
                .with_pushdown_filters(true)
                .with_enable_page_index(true);
            if !spec.filters.is_empty() {
                source = source.with_predicate(conjunction(spec.filters.iter().cloned()));
            }
            Arc::new(source)
        }
        FileFormat::Text { delimiter, .. } => {
            // Header lines are dropped by the scan itself (see `execute`): there may be more than one.
            let options = CsvOptions {
                has_header: Some(false),
                delimiter: *delimiter,
                // Hive text files have no quoting: a quote character is data.
                quote: 0,
                // As in Hive, missing trailing fields are NULL (and a short header line is no error).
                truncated_rows: Some(true),
                ..Default::default()
            };
            Arc::new(CsvSource::new(table_schema).with_csv_options(options))
        }
    };
    let config = FileScanConfigBuilder::new(bucket_url, source)
        .with_file(file)
        .with_projection_indices(Some(spec.projection.clone()))?
        .build();
    Ok(DataSourceExec::from_data_source(config))
}

/// A text file's fields as the table's types: `\N` is NULL, and so is an empty field of a
/// non-text column; anything else that does not convert is an error.
fn typed_text(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let null_marker = StringArray::new_scalar("\\N");
    let empty = StringArray::new_scalar("");
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| {
            if array.data_type() != &DataType::Utf8 {
                return Ok(Arc::clone(array));
            }
            let mut nulls = arrow::compute::kernels::cmp::eq(array, &null_marker)?;
            if field.data_type() != &DataType::Utf8 {
                nulls = arrow::compute::or(&nulls, &arrow::compute::kernels::cmp::eq(array, &empty)?)?;
            }
            let array = arrow::compute::nullif(array, &nulls)?;
            let options = arrow::compute::CastOptions {
                safe: false,
                ..Default::default()
            };
            Ok(arrow::compute::cast_with_options(&array, field.data_type(), &options)?)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

/// Adds the file an error comes from, unless it is already named.
fn in_file(error: DataFusionError, url: &str) -> DataFusionError {
    let message = error.to_string();
    if message.contains(url) {
        return error;
    }
    DataFusionError::Execution(format!("error reading external file '{url}': {message}"))
}

impl DisplayAs for ExternalScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let files: usize = self.groups.iter().map(Vec::len).sum();
        write!(
            f,
            "ExternalScanExec: table={}, location={}, files={files}",
            self.spec.table_name, self.spec.location
        )?;
        crate::leaf::fmt_filters(f, &self.spec.filters)
    }
}

impl ExecutionPlan for ExternalScanExec {
    fn name(&self) -> &str {
        "ExternalScanExec"
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
        crate::leaf::visit_filters(&self.spec.filters, f)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        crate::leaf::without_children(self, &children)
    }

    #[allow(deprecated)]
    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(datafusion::physical_plan::ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let files_read = MetricBuilder::new(&self.metrics).counter("files_read", partition);
        let bytes_scanned = MetricBuilder::new(&self.metrics).counter("file_bytes", partition);
        let output = MetricBuilder::new(&self.metrics).output_rows(partition);
        let group = self.group_for(partition, &context)?.to_vec();
        let spec = Arc::clone(&self.spec);
        let schema = spec.output_schema();
        let text = matches!(spec.format, FileFormat::Text { .. });
        let typed_schema = Arc::clone(&schema);
        let stream = futures::stream::iter(group)
            .map(move |split| {
                files_read.add(1);
                let bytes = split.range.map_or(split.size, |(start, end)| end - start);
                bytes_scanned.add(bytes as usize);
                let url = split.url.clone();
                let stream = file_plan(&spec, &split, &context).and_then(|plan| plan.execute(0, Arc::clone(&context)));
                let typed_schema = Arc::clone(&typed_schema);
                // A text file's first 'skip.header.line.count' lines are headers, not rows.
                let mut skip = match spec.format {
                    FileFormat::Text { skip_header_lines, .. } => skip_header_lines,
                    FileFormat::Parquet => 0,
                };
                match stream {
                    Ok(stream) => stream
                        .map_ok(move |batch| {
                            let skipped = skip.min(batch.num_rows());
                            skip -= skipped;
                            batch.slice(skipped, batch.num_rows() - skipped)
                        })
                        .and_then(move |batch| {
                            let typed = if text { typed_text(batch, &typed_schema) } else { Ok(batch) };
                            futures::future::ready(typed)
                        })
                        .map_err(move |e| in_file(e, &url))
                        .boxed(),
                    Err(e) => futures::stream::once(futures::future::ready(Err(in_file(e, &split.url)))).boxed(),
                }
            })
            .flatten()
            .inspect_ok(move |batch| output.add(batch.num_rows()));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }

    fn statistics_from_inputs(&self, _input_stats: &[Arc<Statistics>], args: &StatisticsArgs) -> Result<Arc<Statistics>> {
        let schema = self.schema();
        let mut statistics = Statistics::new_unknown(&schema);
        let bytes: u64 = match args.partition() {
            None => self.groups.iter().flatten().map(|s| s.range.map_or(s.size, |(a, b)| b - a)).sum(),
            Some(_) => return Ok(Arc::new(statistics)),
        };
        statistics.total_byte_size = Precision::Inexact(bytes as usize);
        if let Some(rows) = self.spec.estimated_rows {
            statistics.num_rows = Precision::Inexact(rows as usize);
        }
        Ok(Arc::new(statistics))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}
