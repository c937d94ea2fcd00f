//! `UnloadExec`: the plan node that writes its input's rows to S3 and returns the files it wrote.
//!
//! It runs partition by partition where its input is, so when the distributed planner leaves it on
//! the compute nodes, a task's partition `p` writes its node's `p`-th slice as
//! `<prefix><slice>_part_<nn>`: every slice uploads its own files in parallel and only the list of
//! files (one row each: url, bytes, rows) travels back to the leader.

use std::fmt;
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning, PlanProperties,
    ReplaceChildrenOptions,
};
use datafusion_distributed::DistributedTaskContext;

use super::files::{Naming, UnloadedFile, write_stream};
use super::UnloadSpec;

/// The files an [`UnloadExec`] wrote: one row per file.
pub static FILES_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("url", DataType::Utf8, false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("rows", DataType::UInt64, false),
    ]))
});

/// Reads back the rows [`UnloadExec`] returns.
pub fn files_of(batch: &RecordBatch) -> Result<Vec<UnloadedFile>> {
    let column = |i: usize| batch.column(i);
    let (Some(urls), Some(bytes), Some(rows)) = (
        column(0).as_any().downcast_ref::<StringArray>(),
        column(1).as_any().downcast_ref::<UInt64Array>(),
        column(2).as_any().downcast_ref::<UInt64Array>(),
    ) else {
        return internal_err!("unexpected UNLOAD file list {:?}", batch.schema());
    };
    Ok((0..batch.num_rows())
        .map(|i| UnloadedFile {
            url: urls.value(i).to_string(),
            bytes: bytes.value(i),
            rows: rows.value(i),
        })
        .collect())
}

#[derive(Debug)]
pub struct UnloadExec {
    input: Arc<dyn ExecutionPlan>,
    spec: Arc<UnloadSpec>,
    properties: Arc<PlanProperties>,
}

impl UnloadExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, spec: Arc<UnloadSpec>) -> UnloadExec {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&FILES_SCHEMA)),
            Partitioning::UnknownPartitioning(input.output_partitioning().partition_count()),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        UnloadExec {
            input,
            spec,
            properties: Arc::new(properties),
        }
    }

    pub fn spec(&self) -> &Arc<UnloadSpec> {
        &self.spec
    }

    pub fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }
}

impl DisplayAs for UnloadExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "UnloadExec: s3://{}/{}", self.spec.bucket, self.spec.prefix)
    }
}

/// Writes one partition's rows; returns the list of its files.
async fn write_partition(input: SendableRecordBatchStream, spec: Arc<UnloadSpec>, naming: Naming) -> Result<RecordBatch> {
    let done = write_stream(spec, naming, input).await?;
    RecordBatch::try_new(
        Arc::clone(&FILES_SCHEMA),
        vec![
            Arc::new(StringArray::from_iter_values(done.iter().map(|f| f.url.as_str()))),
            Arc::new(UInt64Array::from_iter_values(done.iter().map(|f| f.bytes))),
            Arc::new(UInt64Array::from_iter_values(done.iter().map(|f| f.rows))),
        ],
    )
    .map_err(DataFusionError::from)
}

impl ExecutionPlan for UnloadExec {
    fn name(&self) -> &str {
        "UnloadExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return internal_err!("UnloadExec has one input");
        }
        Ok(Arc::new(UnloadExec::new(children.remove(0), Arc::clone(&self.spec))))
    }

    #[allow(deprecated)]
    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(datafusion::physical_plan::ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        // A stage task's partitions are its node's slices, in order (see the distributed planner).
        let task = DistributedTaskContext::from_ctx(&context).task_index;
        let partitions = self.input.output_partitioning().partition_count();
        let slice = (task * partitions + partition) as u32;
        let input = self.input.execute(partition, context)?;
        let future = write_partition(input, Arc::clone(&self.spec), Naming::Slice(slice));
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&FILES_SCHEMA),
            futures::stream::once(future),
        )))
    }
}
