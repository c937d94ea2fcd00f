//! Where each part of a plan runs.
//!
//! A scan and the operators that can run on its rows slice by slice — filters, projections,
//! partial aggregates — form a stage that runs on the compute nodes, one task per slice, each task
//! routed to the node that stores its slice. The stage's output is gathered to the leader, which
//! runs the rest (final aggregation, joins, sorts, limits). The network boundaries are placed here
//! and handed to datafusion-distributed, which ships the stages and streams the results.

use std::sync::Arc;

use blueshift_compute::{SliceDispatch, SliceScanExec};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::config::ConfigOptions;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use datafusion_distributed::{NetworkCoalesceExec, RouteTasksEvent, RouteTasksEventResponse, WorkerResolver};
use url::Url;

use crate::cluster::Cluster;

/// Places a gather boundary above every maximal chain of slice-local operators over a scan.
#[derive(Debug)]
pub struct DistributeScans;

/// Whether `plan` can run on a slice's rows alone, with its input.
fn runs_per_slice(plan: &Arc<dyn ExecutionPlan>) -> bool {
    if plan.is::<FilterExec>() || plan.is::<ProjectionExec>() {
        return true;
    }
    plan.downcast_ref::<AggregateExec>()
        .is_some_and(|agg| *agg.mode() == AggregateMode::Partial)
}

/// The scan at the bottom of a chain of per-slice operators rooted at `plan`.
fn chain_scan(plan: &Arc<dyn ExecutionPlan>) -> Option<&SliceScanExec> {
    if let Some(scan) = plan.downcast_ref::<SliceScanExec>() {
        return Some(scan);
    }
    if !runs_per_slice(plan) {
        return None;
    }
    match plan.children().as_slice() {
        [child] => chain_scan(child),
        _ => None,
    }
}

/// Rebuilds a chain with its scan dispatching one slice per task.
fn per_task(plan: &Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    if let Some(scan) = plan.downcast_ref::<SliceScanExec>() {
        return Ok(Arc::new(scan.per_task()));
    }
    let children = plan
        .children()
        .into_iter()
        .map(per_task)
        .collect::<Result<Vec<_>>>()?;
    #[allow(deprecated)]
    Arc::clone(plan).with_new_children(children)
}

/// Makes joins yield to the scheduler as they produce batches. A join can emit many batches per
/// input batch without touching anything that yields (a cross product, say), and the aggregate
/// above it consumes them in a loop: without this, a cancelled or timed-out query would keep its
/// thread busy until it finished.
fn cooperative_joins(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    Ok(plan
        .transform_up(|node| {
            if node.name().ends_with("JoinExec") {
                Ok(Transformed::yes(Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>))
            } else {
                Ok(Transformed::no(node))
            }
        })?
        .data)
}

impl PhysicalOptimizerRule for DistributeScans {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = cooperative_joins(plan)?;
        let transformed = plan.transform_down(|node| {
            let Some(scan) = chain_scan(&node) else {
                return Ok(Transformed::no(node));
            };
            let tasks = scan.slices().len();
            if scan.dispatch() == SliceDispatch::PerTask || node.output_partitioning().partition_count() != tasks {
                return Ok(Transformed::new(node, false, TreeNodeRecursion::Jump));
            }
            let stage = per_task(&node)?;
            let gather = NetworkCoalesceExec::try_new(stage, tasks, 1)?;
            Ok(Transformed::new(Arc::new(gather), true, TreeNodeRecursion::Jump))
        })?;
        // The distributed plan's root runs as a single stream on the leader.
        let plan = transformed.data;
        if plan.output_partitioning().partition_count() > 1 {
            return Ok(Arc::new(CoalescePartitionsExec::new(plan)));
        }
        Ok(plan)
    }

    fn name(&self) -> &str {
        "distribute_scans"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Sends each task of a stage that scans slices to the node owning its slice.
pub fn route_tasks_to_slices(event: RouteTasksEvent) -> Option<Result<RouteTasksEventResponse>> {
    let mut found = None;
    let _ = event.plan.apply(|node| {
        if let Some(scan) = node.downcast_ref::<SliceScanExec>()
            && scan.dispatch() == SliceDispatch::PerTask
        {
            found = Some((scan.slices().to_vec(), Arc::clone(scan.locations())));
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    let (slices, locations) = found?;
    if slices.len() != event.task_count {
        return None;
    }
    let urls = slices
        .iter()
        .map(|slice| {
            let address = locations.get(slice).ok_or_else(|| {
                DataFusionError::Execution(format!("no compute node owns slice {slice}"))
            })?;
            Url::parse(address).map_err(|e| DataFusionError::Execution(format!("bad node address {address}: {e}")))
        })
        .collect::<Result<Vec<_>>>();
    Some(urls.map(RouteTasksEventResponse::new))
}

/// The cluster's compute nodes, as datafusion-distributed workers.
pub struct ClusterWorkers(pub Arc<Cluster>);

impl WorkerResolver for ClusterWorkers {
    fn get_urls(&self) -> Result<Vec<Url>, DataFusionError> {
        self.0
            .nodes
            .iter()
            .map(|n| Url::parse(&n.address).map_err(|e| DataFusionError::Execution(e.to_string())))
            .collect()
    }
}
