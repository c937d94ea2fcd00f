//! Running an UNLOAD's query into files. PARALLEL ON puts an `UnloadExec` on top of the query's
//! physical plan before the distributed planner places it, so wherever the rows are sliced the
//! writer runs on the compute nodes beside them, one writer per slice; PARALLEL OFF writes the
//! leader's single ordered result stream as one numbered series of files.

use std::sync::Arc;

use blueshift_compute::unload::exec::{FILES_SCHEMA, files_of};
use blueshift_compute::unload::{Naming, UnloadExec, UnloadSpec, UnloadedFile, write_stream};
use datafusion::common::Result as DfResult;
use datafusion::config::ConfigOptions;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use futures::TryStreamExt;

use crate::cluster::Cluster;
use crate::error::Result;
use crate::handler::query;

/// Wraps the query's plan in an [`UnloadExec`]; runs just before the distributed planner.
#[derive(Debug)]
struct PlantUnload(Arc<UnloadSpec>);

impl PhysicalOptimizerRule for PlantUnload {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> DfResult<Arc<dyn ExecutionPlan>> {
        // Files are written per partition: the query's rows need not be gathered first.
        let plan = match plan.downcast_ref::<CoalescePartitionsExec>() {
            Some(coalesce) => Arc::clone(coalesce.input()),
            None => plan,
        };
        Ok(Arc::new(UnloadExec::new(plan, Arc::clone(&self.0))))
    }

    fn name(&self) -> &str {
        "plant_unload"
    }

    fn schema_check(&self) -> bool {
        false
    }
}

/// PARALLEL ON: every slice writes its own files.
pub async fn parallel(state: SessionState, plan: LogicalPlan, spec: Arc<UnloadSpec>) -> Result<Vec<UnloadedFile>> {
    let mut rules = state.physical_optimizers().to_vec();
    let at = rules.iter().position(|r| r.name() == "distribute_scans").unwrap_or(rules.len());
    rules.insert(at, Arc::new(PlantUnload(spec)));
    let state = SessionStateBuilder::new_from_existing(state)
        .with_physical_optimizer_rules(rules)
        .build();
    let cluster = state.config().get_extension::<Cluster>();
    let physical = state.create_physical_plan(&plan).await?;
    let context = state.task_ctx();
    let stream = query::on_executor(cluster, Arc::clone(&FILES_SCHEMA), async move { execute_stream(physical, context) });
    let batches: Vec<_> = stream.try_collect().await?;
    let mut files = Vec::new();
    for batch in &batches {
        files.extend(files_of(batch)?);
    }
    files.sort_by(|a, b| a.url.cmp(&b.url));
    Ok(files)
}

/// PARALLEL OFF: the result, in order, as `000`, `001`, ...
pub async fn serial(state: SessionState, plan: LogicalPlan, spec: Arc<UnloadSpec>) -> Result<Vec<UnloadedFile>> {
    let (_, stream) = query::run(state, plan).await?;
    Ok(write_stream(spec, Naming::Serial, stream).await?)
}
