//! Where each part of a plan runs, and what moves between nodes.
//!
//! DataFusion plans a query as if for one machine; this rule decides, bottom-up, where each
//! operator runs and inserts datafusion-distributed's network boundaries only where the data's
//! distribution requires them. Stages run one task per compute node, and a task's partition `p`
//! holds its node's `p`-th slice, so an operator that works partition by partition runs beside the
//! data.
//!
//! - A scan of a KEY or EVEN table is *sliced*: each slice's rows, stored by the table's
//!   distribution; a KEY table's rows are placed by the stable hash of its distkey.
//! - A scan of a DISTSTYLE ALL table is *replicated*: every node reads its own full copy.
//! - A scan of an external table is *sliced* without a key: its files are dealt to the slices.
//! - Filters, projections, partial aggregates, per-partition sorts and limits stay where their
//!   input is. A final aggregate whose groups include the distkey completes on the compute nodes.
//! - A join of two tables placed by the join key runs where they are (DS_DIST_NONE); with a
//!   replicated side it runs against the local copy (DS_DIST_ALL_NONE); otherwise DataFusion's
//!   size-based choice between a collected build side and a partitioned join becomes a broadcast
//!   of the build side (DS_BCAST_INNER) or a redistribution of one or both sides by the join key to
//!   the slices where that key lives (DS_DIST_INNER, DS_DIST_OUTER, DS_DIST_BOTH).
//! - An UNLOAD's writer runs beside sliced rows, so each slice writes its own files.
//! - Everything else — final aggregation, sort-merge, limits, the result — runs on the leader,
//!   fed by a gather from the nodes.

use std::sync::Arc;

use blueshift_compute::shuffle::slice_route;
use blueshift_compute::unload::UnloadExec;
use blueshift_compute::{SliceDispatch, SliceScanExec};
use blueshift_spectrum::ExternalScanExec;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, JoinType, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::{Partitioning, PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::joins::{CrossJoinExec, HashJoinExec, NestedLoopJoinExec, PartitionMode};
use datafusion::physical_plan::limit::LocalLimitExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties, StatisticsArgs, StatisticsContext};
use datafusion_distributed::{
    BroadcastExec, NetworkBroadcastExec, NetworkCoalesceExec, NetworkShuffleExec, RouteTasksEvent,
    RouteTasksEventResponse, WorkerResolver,
};
use url::Url;

use crate::cluster::Cluster;

/// The cluster's shape, as stages see it: one task per node, one partition per slice.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Each node's slices, in node order.
    pub node_slices: Vec<Vec<u32>>,
    /// Each node's copy of a DISTSTYLE ALL table (its first slice).
    pub copy_slices: Vec<u32>,
    pub node_urls: Vec<String>,
}

impl Layout {
    pub fn of(cluster: &Cluster) -> Layout {
        Layout {
            node_slices: cluster.nodes.iter().map(|n| n.slices().collect()).collect(),
            copy_slices: cluster.all_copy_slices(),
            node_urls: cluster.nodes.iter().map(|n| n.address.clone()).collect(),
        }
    }

    fn nodes(&self) -> usize {
        self.node_slices.len()
    }

    /// Slices per node (the cluster requires the same number on every node).
    fn partitions(&self) -> usize {
        self.node_slices.first().map_or(1, Vec::len).max(1)
    }

    fn slices(&self) -> Vec<u32> {
        self.node_slices.iter().flatten().copied().collect()
    }
}

/// Where a plan's output is.
#[derive(Debug, Clone, PartialEq)]
enum Place {
    /// On the compute nodes, partition by slice. `Some(key)`: rows are on the slice the stable
    /// hash of these output columns names.
    Sliced(Option<Vec<usize>>),
    /// On every compute node in full (computed from DISTSTYLE ALL copies).
    Replicated,
    /// On the leader.
    Leader,
}

/// A plan for the stage its place implies.
struct Placed {
    plan: Arc<dyn ExecutionPlan>,
    place: Place,
}

impl Placed {
    fn leader(plan: Arc<dyn ExecutionPlan>) -> Placed {
        Placed {
            plan,
            place: Place::Leader,
        }
    }
}

#[derive(Debug)]
pub struct DistributeScans {
    pub layout: Layout,
}

fn rebuild(plan: &Arc<dyn ExecutionPlan>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
    #[allow(deprecated)]
    Arc::clone(plan).with_new_children(children)
}

/// Output column indices of `exprs`, if they are all plain columns.
fn column_indices(exprs: &[Arc<dyn PhysicalExpr>]) -> Option<Vec<usize>> {
    exprs
        .iter()
        .map(|e| e.downcast_ref::<Column>().map(Column::index))
        .collect()
}

/// Where key columns end up after an operator whose output column `j` is input column
/// `sources[j]` (or a computed value, `None`).
fn map_key(key: &Option<Vec<usize>>, sources: &[Option<usize>]) -> Option<Vec<usize>> {
    key.as_ref()?
        .iter()
        .map(|k| sources.iter().position(|s| *s == Some(*k)))
        .collect()
}

fn sources_of_exprs<'a>(exprs: impl Iterator<Item = &'a Arc<dyn PhysicalExpr>>) -> Vec<Option<usize>> {
    exprs.map(|e| e.downcast_ref::<Column>().map(Column::index)).collect()
}

/// The input column behind each output column of a join (left columns first, right columns
/// offset by the left width), after its own projection.
fn join_sources(join_type: &JoinType, left: usize, right: usize, projection: Option<&[usize]>) -> Vec<Option<usize>> {
    let all: Vec<Option<usize>> = match join_type {
        JoinType::LeftSemi | JoinType::LeftAnti => (0..left).map(Some).collect(),
        JoinType::LeftMark => (0..left).map(Some).chain([None]).collect(),
        JoinType::RightSemi | JoinType::RightAnti => (left..left + right).map(Some).collect(),
        JoinType::RightMark => (left..left + right).map(Some).chain([None]).collect(),
        _ => (0..left + right).map(Some).collect(),
    };
    match projection {
        Some(p) => p.iter().map(|&i| all.get(i).copied().flatten()).collect(),
        None => all,
    }
}

/// The row count DataFusion estimates for a plan's output, if it knows one.
pub fn estimated_rows(plan: &Arc<dyn ExecutionPlan>) -> Option<u64> {
    let statistics = StatisticsContext::new()
        .compute(plan.as_ref(), &StatisticsArgs::new())
        .ok()?;
    statistics.num_rows.get_value().map(|&n| n as u64)
}

/// Whether each row of the build (left) side may appear in the output only alongside a probe
/// row, so the build side can be repeated on every node (broadcast or a replicated copy).
fn left_may_repeat(join_type: &JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Inner | JoinType::Right | JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark
    )
}

/// The mirror image: the probe (right) side may be repeated on every node.
fn right_may_repeat(join_type: &JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Inner | JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark
    )
}

impl DistributeScans {
    /// Moves a sliced plan's rows to the slices their `key` hashes to.
    fn shuffle(&self, input: Placed, key: Vec<Arc<dyn PhysicalExpr>>, config: &ConfigOptions) -> Result<Placed> {
        let slices = (self.layout.nodes() * self.layout.partitions()) as i64;
        let mut args: Vec<Arc<dyn PhysicalExpr>> = vec![Arc::new(Literal::new(ScalarValue::Int64(Some(slices))))];
        args.extend(key.iter().cloned());
        let schema = input.plan.schema();
        let route = ScalarFunctionExpr::try_new(slice_route(), args, &schema, Arc::new(config.clone()))?;
        let repartition = RepartitionExec::try_new(
            input.plan,
            Partitioning::Hash(vec![Arc::new(route)], self.layout.partitions()),
        )?;
        let shuffle = NetworkShuffleExec::try_new(Arc::new(repartition), self.layout.nodes())?;
        Ok(Placed {
            plan: Arc::new(shuffle),
            place: Place::Sliced(column_indices(&key)),
        })
    }

    /// Sends a sliced plan's rows to every node. Each node's tasks receive one copy: the
    /// consumer count of the `BroadcastExec` is set when the stage runs, from the consumers.
    fn broadcast(&self, input: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
        let broadcast = BroadcastExec::new(input, 1);
        Ok(Arc::new(NetworkBroadcastExec::try_new(Arc::new(broadcast), self.layout.nodes())?))
    }

    /// The plan on the leader: gathered from the nodes, or computed there from one copy.
    fn on_leader(&self, input: Placed) -> Result<Arc<dyn ExecutionPlan>> {
        match input.place {
            Place::Leader => Ok(input.plan),
            Place::Sliced(_) => Ok(Arc::new(NetworkCoalesceExec::try_new(input.plan, self.layout.nodes(), 1)?)),
            Place::Replicated => Ok(input
                .plan
                .transform_up(|node| match node.downcast_ref::<SliceScanExec>() {
                    Some(scan) if scan.dispatch() == SliceDispatch::NodeCopy => {
                        Ok(Transformed::yes(Arc::new(scan.for_slice(scan.slices()[0])) as Arc<dyn ExecutionPlan>))
                    }
                    _ => Ok(Transformed::no(node)),
                })?
                .data),
        }
    }

    fn place(&self, plan: &Arc<dyn ExecutionPlan>, config: &ConfigOptions) -> Result<Placed> {
        if let Some(scan) = plan.downcast_ref::<SliceScanExec>() {
            return Ok(self.place_scan(scan));
        }
        if let Some(unload) = plan.downcast_ref::<UnloadExec>() {
            // Sliced rows are written where they are, each slice's by itself; rows computed on
            // the leader, or in full on every node, are written once, from the leader.
            let input = self.place(unload.input(), config)?;
            return match input.place {
                Place::Sliced(_) => Ok(Placed {
                    plan: rebuild(plan, vec![input.plan])?,
                    place: Place::Sliced(None),
                }),
                _ => Ok(Placed::leader(rebuild(plan, vec![self.on_leader(input)?])?)),
            };
        }
        // An external table's files are dealt to the slices; any node can read any of them.
        if let Some(scan) = plan.downcast_ref::<ExternalScanExec>() {
            return Ok(Placed {
                plan: Arc::new(scan.per_node(self.layout.partitions())),
                place: Place::Sliced(None),
            });
        }
        if let Some(join) = plan.downcast_ref::<HashJoinExec>() {
            return self.place_hash_join(plan, join, config);
        }
        if plan.is::<NestedLoopJoinExec>() || plan.is::<CrossJoinExec>() {
            return self.place_collecting_join(plan, config);
        }
        if let Some(repartition) = plan.downcast_ref::<RepartitionExec>() {
            let input = self.place(repartition.input(), config)?;
            return match (repartition.partitioning(), &input.place) {
                (Partitioning::Hash(exprs, _), Place::Sliced(key)) => {
                    // Already placed by this key: no movement needed.
                    if key.is_some() && column_indices(exprs).as_ref() == key.as_ref() {
                        Ok(input)
                    } else {
                        self.shuffle(input, exprs.clone(), config)
                    }
                }
                // Each node holds every row: nothing to repartition.
                (_, Place::Replicated) => Ok(input),
                (Partitioning::RoundRobinBatch(_), Place::Sliced(_)) => Ok(input),
                _ => Ok(Placed::leader(rebuild(plan, vec![self.on_leader(input)?])?)),
            };
        }
        let children = plan.children();
        if children.len() == 1 {
            let input = self.place(children[0], config)?;
            if let Some(sources) = self.runs_per_partition(plan)
                && input.place != Place::Leader
            {
                let place = match &input.place {
                    Place::Sliced(key) => Place::Sliced(map_key(key, &sources)),
                    other => other.clone(),
                };
                return Ok(Placed {
                    plan: rebuild(plan, vec![input.plan])?,
                    place,
                });
            }
            return Ok(Placed::leader(rebuild(plan, vec![self.on_leader(input)?])?));
        }
        if children.is_empty() {
            return Ok(Placed::leader(Arc::clone(plan)));
        }
        let children = children
            .into_iter()
            .map(|c| self.place(c, config).and_then(|p| self.on_leader(p)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Placed::leader(rebuild(plan, children)?))
    }

    fn place_scan(&self, scan: &SliceScanExec) -> Placed {
        let spec = scan.spec();
        // DELETE and UPDATE read every copy of an ALL table, to change each copy's rows.
        if spec.replicated && spec.with_rowid {
            return Placed {
                plan: Arc::new(scan.per_node(self.layout.copy_slices.clone(), SliceDispatch::PerNode { partitions: 1 })),
                place: Place::Sliced(None),
            };
        }
        if spec.replicated {
            return Placed {
                plan: Arc::new(scan.per_node(self.layout.copy_slices.clone(), SliceDispatch::NodeCopy)),
                place: Place::Replicated,
            };
        }
        // The distkey's position among the scan's output columns, if it is read.
        let key = spec
            .dist_key
            .and_then(|k| spec.projection.iter().position(|&p| p == k))
            .map(|k| vec![k]);
        let dispatch = SliceDispatch::PerNode {
            partitions: self.layout.partitions(),
        };
        Placed {
            plan: Arc::new(scan.per_node(self.layout.slices(), dispatch)),
            place: Place::Sliced(key),
        }
    }

    /// For an operator that can run on each partition of its input where it is: where each of its
    /// output columns comes from. `None` if it must see all rows together.
    fn runs_per_partition(&self, plan: &Arc<dyn ExecutionPlan>) -> Option<Vec<Option<usize>>> {
        let identity = || (0..plan.schema().fields().len()).map(Some).collect::<Vec<_>>();
        if let Some(filter) = plan.downcast_ref::<FilterExec>() {
            return Some(match filter.projection() {
                Some(p) => p.iter().map(|&i| Some(i)).collect(),
                None => identity(),
            });
        }
        if let Some(projection) = plan.downcast_ref::<ProjectionExec>() {
            return Some(sources_of_exprs(projection.expr().iter().map(|e| &e.expr)));
        }
        if let Some(aggregate) = plan.downcast_ref::<AggregateExec>() {
            let per_partition = matches!(
                aggregate.mode(),
                AggregateMode::Partial | AggregateMode::FinalPartitioned | AggregateMode::SinglePartitioned
            );
            if !per_partition || !aggregate.group_expr().groups().iter().all(|g| g.iter().all(|null| !null)) {
                return None;
            }
            let groups = sources_of_exprs(aggregate.group_expr().expr().iter().map(|(e, _)| e));
            let width = plan.schema().fields().len();
            return Some(groups.into_iter().chain(std::iter::repeat(None)).take(width).collect());
        }
        if let Some(sort) = plan.downcast_ref::<SortExec>() {
            return sort.preserve_partitioning().then(identity);
        }
        if plan.is::<LocalLimitExec>() || plan.is::<CooperativeExec>() {
            return Some(identity());
        }
        None
    }

    fn place_hash_join(&self, plan: &Arc<dyn ExecutionPlan>, join: &HashJoinExec, config: &ConfigOptions) -> Result<Placed> {
        // Look through the repartitions and coalesce DataFusion put under the join: this rule
        // decides the movement itself.
        let strip = |child: &Arc<dyn ExecutionPlan>| -> Arc<dyn ExecutionPlan> {
            if let Some(r) = child.downcast_ref::<RepartitionExec>()
                && matches!(r.partitioning(), Partitioning::Hash(..))
            {
                return Arc::clone(r.input());
            }
            if let Some(c) = child.downcast_ref::<CoalescePartitionsExec>() {
                return Arc::clone(c.input());
            }
            Arc::clone(child)
        };
        let left = self.place(&strip(join.left()), config)?;
        let right = self.place(&strip(join.right()), config)?;
        let join_type = join.join_type();
        let (left_width, right_width) = (left.plan.schema().fields().len(), right.plan.schema().fields().len());
        let sources = join_sources(join_type, left_width, right_width, join.projection.as_deref());
        let on = join.on();
        let left_keys: Vec<Arc<dyn PhysicalExpr>> = on.iter().map(|(l, _)| Arc::clone(l)).collect();
        let right_keys: Vec<Arc<dyn PhysicalExpr>> = on.iter().map(|(_, r)| Arc::clone(r)).collect();
        let build = |left: Arc<dyn ExecutionPlan>, right: Arc<dyn ExecutionPlan>, mode: PartitionMode| -> Result<Arc<dyn ExecutionPlan>> {
            Ok(Arc::new(join.builder().with_new_children(vec![left, right])?.with_partition_mode(mode).build()?))
        };
        let collect = |plan: Arc<dyn ExecutionPlan>| -> Arc<dyn ExecutionPlan> { Arc::new(CoalescePartitionsExec::new(plan)) };
        // Rows of the output come from the sliced side's rows, so it keeps that side's key.
        let sliced_key = |side_key: &Option<Vec<usize>>, offset: usize| -> Place {
            let shifted = side_key.as_ref().map(|k| k.iter().map(|i| i + offset).collect());
            Place::Sliced(map_key(&shifted, &sources))
        };
        match (&left.place, &right.place) {
            (Place::Replicated, Place::Replicated) => Ok(Placed {
                plan: build(collect(left.plan), right.plan, PartitionMode::CollectLeft)?,
                place: Place::Replicated,
            }),
            // DS_DIST_ALL_NONE: the replicated side is read from each node's copy.
            (Place::Replicated, Place::Sliced(key)) if left_may_repeat(join_type) => Ok(Placed {
                place: sliced_key(key, left_width),
                plan: build(collect(left.plan), right.plan, PartitionMode::CollectLeft)?,
            }),
            (Place::Sliced(key), Place::Replicated) if right_may_repeat(join_type) => Ok(Placed {
                place: sliced_key(key, 0),
                plan: build(collect(left.plan), right.plan, PartitionMode::CollectLeft)?,
            }),
            (Place::Sliced(lk), Place::Sliced(rk)) => {
                let left_cols = column_indices(&left_keys);
                let right_cols = column_indices(&right_keys);
                let colocated = |key: &Option<Vec<usize>>, cols: &Option<Vec<usize>>| match (key, cols) {
                    (Some(key), Some(cols)) => !key.is_empty() && key.iter().all(|k| cols.contains(k)),
                    _ => false,
                };
                // The join pairs whose left (or right) column is in a side's key: the other
                // side's matching columns place its rows on the same slices.
                let partner_keys = |key: &[usize], mine: &[usize], theirs: &[Arc<dyn PhysicalExpr>]| -> Vec<Arc<dyn PhysicalExpr>> {
                    key.iter()
                        .filter_map(|k| mine.iter().position(|c| c == k))
                        .map(|i| Arc::clone(&theirs[i]))
                        .collect()
                };
                let left_placed = colocated(lk, &left_cols);
                let right_placed = colocated(rk, &right_cols);
                let pairs_align = || match (lk, rk, &left_cols, &right_cols) {
                    (Some(lk), Some(rk), Some(lc), Some(rc)) => {
                        lk.len() == rk.len()
                            && lk.iter().zip(rk).all(|(l, r)| lc.iter().zip(rc).any(|(a, b)| a == l && b == r))
                    }
                    _ => false,
                };
                let colocated_join = left_placed && right_placed && pairs_align();
                // Broadcasting sends the build side to every node; redistributing sends each
                // row of the sides not yet placed by the join key once. DataFusion's choice to
                // collect the build side says it fits in memory; the row counts say which moves
                // less. (Unknown sizes leave DataFusion's choice.)
                let broadcast_is_cheaper = match (estimated_rows(&left.plan), estimated_rows(&right.plan)) {
                    (Some(l), Some(r)) => {
                        let redistributed = if left_placed { 0 } else { l } + if right_placed { 0 } else { r };
                        l.saturating_mul(self.layout.nodes() as u64) < redistributed
                    }
                    _ => true,
                };
                if *join.partition_mode() == PartitionMode::CollectLeft
                    && left_may_repeat(join_type)
                    && !colocated_join
                    && broadcast_is_cheaper
                {
                    // DS_BCAST_INNER.
                    return Ok(Placed {
                        place: sliced_key(rk, left_width),
                        plan: build(collect(self.broadcast(left.plan)?), right.plan, PartitionMode::CollectLeft)?,
                    });
                }
                let (left, right) = if colocated_join {
                    // DS_DIST_NONE: both sides already meet on their slices.
                    (left, right)
                } else if left_placed {
                    // DS_DIST_OUTER: move the probe side to where the build side's keys live.
                    let keys = partner_keys(lk.as_deref().unwrap_or_default(), left_cols.as_deref().unwrap_or_default(), &right_keys);
                    (left, self.shuffle(right, keys, config)?)
                } else if right_placed {
                    // DS_DIST_INNER: move the build side to where the probe side's keys live.
                    let keys = partner_keys(rk.as_deref().unwrap_or_default(), right_cols.as_deref().unwrap_or_default(), &left_keys);
                    (self.shuffle(left, keys, config)?, right)
                } else {
                    // DS_DIST_BOTH.
                    (self.shuffle(left, left_keys.clone(), config)?, self.shuffle(right, right_keys.clone(), config)?)
                };
                // The join runs once per node over the build rows of all the node's slices:
                // matching rows meet because they live on the same slice, hence on the same
                // node. Rows made from probe rows stay on their slice; build rows a join emits
                // on their own (outer, semi and anti joins on the build side) come out wherever
                // the node's last probe partition ends, so after those only the node is known.
                let emits_build_rows = matches!(
                    join_type,
                    JoinType::Left | JoinType::Full | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark
                );
                let key = match (&left.place, &right.place) {
                    _ if emits_build_rows => Place::Sliced(None),
                    (Place::Sliced(Some(k)), _) => Place::Sliced(map_key(&Some(k.clone()), &sources)),
                    (_, Place::Sliced(Some(k))) => sliced_key(&Some(k.clone()), left_width),
                    _ => Place::Sliced(None),
                };
                Ok(Placed {
                    place: key,
                    plan: build(collect(left.plan), right.plan, PartitionMode::CollectLeft)?,
                })
            }
            _ => {
                let left = self.on_leader(left)?;
                let right = self.on_leader(right)?;
                Ok(Placed::leader(self.leader_join(plan, join, left, right)?))
            }
        }
    }

    /// A hash join run on the leader, in the mode DataFusion chose, over gathered inputs.
    fn leader_join(&self, plan: &Arc<dyn ExecutionPlan>, join: &HashJoinExec, left: Arc<dyn ExecutionPlan>, right: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = left.output_partitioning().partition_count().max(1);
        let (left, right) = match join.partition_mode() {
            PartitionMode::Partitioned => {
                let hash = |input, keys: Vec<Arc<dyn PhysicalExpr>>| -> Result<Arc<dyn ExecutionPlan>> {
                    Ok(Arc::new(RepartitionExec::try_new(input, Partitioning::Hash(keys, partitions))?))
                };
                (
                    hash(left, join.on().iter().map(|(l, _)| Arc::clone(l)).collect())?,
                    hash(right, join.on().iter().map(|(_, r)| Arc::clone(r)).collect())?,
                )
            }
            _ => (Arc::new(CoalescePartitionsExec::new(left)) as Arc<dyn ExecutionPlan>, right),
        };
        rebuild(plan, vec![left, right])
    }

    /// Nested-loop and cross joins collect their left side: like a collected hash join, it can
    /// be broadcast or read from a replicated copy.
    fn place_collecting_join(&self, plan: &Arc<dyn ExecutionPlan>, config: &ConfigOptions) -> Result<Placed> {
        let children = plan.children();
        let strip = |child: &Arc<dyn ExecutionPlan>| match child.downcast_ref::<CoalescePartitionsExec>() {
            Some(c) => Arc::clone(c.input()),
            None => Arc::clone(child),
        };
        let left = self.place(&strip(children[0]), config)?;
        let right = self.place(children[1], config)?;
        let join_type = plan
            .downcast_ref::<NestedLoopJoinExec>()
            .map_or(JoinType::Inner, |j| *j.join_type());
        let collect = |plan: Arc<dyn ExecutionPlan>| -> Arc<dyn ExecutionPlan> { Arc::new(CoalescePartitionsExec::new(plan)) };
        let placed = |place: Place, left: Arc<dyn ExecutionPlan>, right: Arc<dyn ExecutionPlan>| -> Result<Placed> {
            Ok(Placed {
                plan: rebuild(plan, vec![collect(left), right])?,
                place,
            })
        };
        match (&left.place, &right.place) {
            (Place::Replicated, Place::Replicated) => placed(Place::Replicated, left.plan, right.plan),
            (Place::Replicated, Place::Sliced(_)) if left_may_repeat(&join_type) => {
                placed(Place::Sliced(None), left.plan, right.plan)
            }
            (Place::Sliced(_), Place::Replicated) if right_may_repeat(&join_type) => {
                placed(Place::Sliced(None), left.plan, right.plan)
            }
            (Place::Sliced(_), Place::Sliced(_)) if left_may_repeat(&join_type) => {
                placed(Place::Sliced(None), self.broadcast(left.plan)?, right.plan)
            }
            _ => {
                let left = self.on_leader(left)?;
                let right = self.on_leader(right)?;
                Ok(Placed::leader(rebuild(plan, vec![collect(left), right])?))
            }
        }
    }
}

/// Makes joins yield to the scheduler as they produce batches. A join can emit many batches per
/// input batch without touching anything that yields (a cross product, say), and the aggregate
/// above it consumes them in a loop: without this, a cancelled or timed-out query would keep its
/// thread busy until it finished.
fn cooperative_joins(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    Ok(plan
        .transform_up(|node| {
            let is_join_output = node.name().ends_with("JoinExec");
            if is_join_output {
                Ok(Transformed::yes(Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>))
            } else {
                Ok(Transformed::no(node))
            }
        })?
        .data)
}

impl PhysicalOptimizerRule for DistributeScans {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        let has_scan = plan.exists(|node| Ok(node.is::<SliceScanExec>() || node.is::<ExternalScanExec>()))?;
        let plan = if has_scan {
            let placed = self.place(&plan, config)?;
            self.on_leader(placed)?
        } else {
            plan
        };
        let plan = cooperative_joins(plan)?;
        // The distributed plan's root runs as a single stream on the leader.
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

/// Sends each task of a stage that scans slices to the node holding them: task `t` to node `t`.
pub fn route_tasks_to_nodes(layout: Layout) -> impl Fn(RouteTasksEvent) -> Option<Result<RouteTasksEventResponse>> {
    move |event: RouteTasksEvent| {
        if event.task_count != layout.nodes() {
            return None;
        }
        let urls = layout
            .node_urls
            .iter()
            .map(|address| {
                Url::parse(address).map_err(|e| DataFusionError::Execution(format!("bad node address {address}: {e}")))
            })
            .collect::<Result<Vec<_>>>();
        Some(urls.map(RouteTasksEventResponse::new))
    }
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
