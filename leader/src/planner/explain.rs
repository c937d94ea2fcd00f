//! EXPLAIN in Redshift's vocabulary.
//!
//! Redshift users read a plan as `XN` steps, each with a cost, a row estimate and a row width,
//! and judge a join by its distribution label. This renders Blueshift's distributed physical plan
//! the same way: operators that only reshape streams (coalescing, projections, repartitioning
//! inside a stage, the partial half of a two-phase aggregate) fold into the steps around them,
//! each network boundary becomes an `XN Network` step saying what it sends where, and each join is
//! labelled from what actually moves beneath it. The labels are read off the plan that runs, not
//! guessed beside it.
//!
//! After EXPLAIN ANALYZE has run the plan, every step also shows the rows (and, for network
//! steps, bytes) it produced, scans show how many segments zone maps skipped, and two closing
//! lines total the rows and bytes moved between compute nodes and sent to the leader.

use std::sync::Arc;

use blueshift_compute::{SliceDispatch, SliceScanExec, estimated_width};
use blueshift_spectrum::{ExternalScanExec, FileFormat};
use datafusion::common::JoinType;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::joins::{HashJoinExec, NestedLoopJoinExec};
use datafusion::physical_plan::metrics::{MetricValue, MetricsSet};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_expr::LexOrdering;
use datafusion_distributed::{NetworkBroadcastExec, NetworkCoalesceExec, NetworkShuffleExec};

/// The step bringing an external table's rows into the cluster.
const S3_QUERY_SCAN: &str = "XN S3 Query Scan";

/// Steps that run on the leader cost this much more, as in Redshift, so they stand out.
const LEADER_COST: f64 = 1e12;
/// The cost of handling one row in a step.
const ROW_COST: f64 = 0.01;
/// Moving a row between nodes costs as much as scanning a hundred.
const NETWORK_ROW_COST: f64 = 1.0;

/// Operators that only reshape their input's stream: they fold into the step below.
const PASS_THROUGH: &[&str] = &[
    "DistributedExec",
    "CoalescePartitionsExec",
    "CoalesceBatchesExec",
    "CooperativeExec",
    "RepartitionExec",
    "ProjectionExec",
    "BroadcastExec",
    "LocalLimitExec",
];

/// How a join input arrives where the join runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Arrival {
    /// Already on the join's slices.
    Local,
    /// Read from each node's own copy of a DISTSTYLE ALL table.
    Replicated,
    Broadcast,
    Redistributed,
    /// Gathered on the leader.
    Gathered,
}

/// One `XN` line with its detail lines and its inputs.
struct Step {
    label: String,
    details: Vec<String>,
    rows: f64,
    width: usize,
    startup: f64,
    total: f64,
    actual: Option<String>,
    children: Vec<Step>,
}

/// Renders `plan` as Redshift's `QUERY PLAN` lines. With `ran`, the same plan after it ran,
/// carrying its metrics: the lines then show what each step produced and moved. (Estimates come
/// from `plan`: the plan that ran reports metrics, not statistics.)
pub fn render(plan: &Arc<dyn ExecutionPlan>, ran: Option<&Arc<dyn ExecutionPlan>>) -> Vec<String> {
    let mut renderer = Renderer {
        analyzed: false,
        moved: (0, 0),
        sent: (0, 0),
    };
    let estimated = renderer.step(plan);
    let root = match ran {
        None => estimated,
        Some(ran) => {
            renderer.analyzed = true;
            with_estimates(renderer.step(ran), estimated)
        }
    };
    let mut lines = Vec::new();
    write(&root, None, &mut lines);
    if ran.is_some() {
        lines.push(format!("Moved between nodes: rows={} bytes={}", renderer.moved.0, renderer.moved.1));
        lines.push(format!("Sent to leader: rows={} bytes={}", renderer.sent.0, renderer.sent.1));
    }
    lines
}

/// A step of the plan that ran, with the estimates of the same step before it ran (both come
/// from the same plan by the same rules, so their shapes match).
fn with_estimates(ran: Step, estimated: Step) -> Step {
    Step {
        rows: estimated.rows,
        width: estimated.width,
        startup: estimated.startup,
        total: estimated.total,
        children: ran
            .children
            .into_iter()
            .zip(estimated.children)
            .map(|(r, e)| with_estimates(r, e))
            .collect(),
        ..ran
    }
}

/// Writes a step at `column` (the root at `None`) in PostgreSQL's layout: a child's line starts
/// with `->  `, details sit two columns right of their step's text.
fn write(step: &Step, column: Option<usize>, lines: &mut Vec<String>) {
    let (prefix, text_column) = match column {
        None => (String::new(), 0),
        Some(c) => (format!("{}->  ", " ".repeat(c)), c + 4),
    };
    let mut line = format!(
        "{prefix}{}  (cost={:.2}..{:.2} rows={} width={})",
        step.label,
        step.startup,
        step.total,
        step.rows.round() as u64,
        step.width
    );
    if let Some(actual) = &step.actual {
        line.push_str(&format!(" (actual {actual})"));
    }
    lines.push(line);
    for detail in &step.details {
        lines.push(format!("{}{detail}", " ".repeat(text_column + 2)));
    }
    for child in &step.children {
        write(child, Some(text_column + 2), lines);
    }
}

struct Renderer {
    analyzed: bool,
    /// Rows and bytes received through redistributions and broadcasts.
    moved: (u64, u64),
    /// Rows and bytes gathered on the leader.
    sent: (u64, u64),
}

impl Renderer {
    fn step(&mut self, plan: &Arc<dyn ExecutionPlan>) -> Step {
        let children = plan.children();
        if let Some(filter) = plan.downcast_ref::<FilterExec>() {
            // Redshift shows a filter on the step it filters.
            let mut step = self.step(filter.input());
            let filter_line = format!("Filter: {}", expression(filter.predicate()));
            // Redshift shows an external scan's filter on the S3 scan inside it.
            match step.children.first_mut() {
                Some(s3_scan) if step.label.starts_with(S3_QUERY_SCAN) => s3_scan.details.push(filter_line),
                _ => step.details.push(filter_line),
            }
            step.rows = estimated_rows(plan).unwrap_or(step.rows);
            step.actual = self.actual(plan, false).or(step.actual);
            return step;
        }
        if let Some(aggregate) = plan.downcast_ref::<AggregateExec>()
            && *aggregate.mode() == AggregateMode::Partial
        {
            return self.step(aggregate.input());
        }
        if children.len() == 1 && PASS_THROUGH.contains(&plan.name()) {
            return self.step(children[0]);
        }
        if let Some(scan) = plan.downcast_ref::<SliceScanExec>() {
            return self.scan(plan, scan);
        }
        if let Some(scan) = plan.downcast_ref::<ExternalScanExec>() {
            return self.external_scan(plan, scan);
        }
        if let Some(join) = plan.downcast_ref::<HashJoinExec>() {
            return self.hash_join(plan, join);
        }
        if plan.is::<NestedLoopJoinExec>() || plan.name() == "CrossJoinExec" {
            return self.nested_loop(plan);
        }
        if plan.is::<NetworkCoalesceExec>() || plan.is::<NetworkShuffleExec>() || plan.is::<NetworkBroadcastExec>() {
            return self.network(plan);
        }
        let inputs: Vec<Step> = children.iter().map(|c| self.step(c)).collect();
        let (label, details, blocking) = describe(plan);
        let rows = estimated_rows(plan).unwrap_or_else(|| inputs.iter().map(|s| s.rows).fold(0.0, f64::max).max(1.0));
        let below: f64 = inputs.iter().map(|s| s.total).sum();
        let startup = if blocking {
            below
        } else {
            inputs.iter().map(|s| s.startup).fold(0.0, f64::max)
        };
        Step {
            label,
            details,
            rows,
            width: width(plan),
            startup,
            total: below + rows * ROW_COST,
            actual: self.actual(plan, false),
            children: inputs,
        }
    }

    fn scan(&mut self, plan: &Arc<dyn ExecutionPlan>, scan: &SliceScanExec) -> Step {
        let rows = estimated_rows(plan).unwrap_or(1.0);
        let mut details = Vec::new();
        if self.analyzed
            && let Some(metrics) = plan.metrics()
        {
            let count = |name: &str| metrics.sum_by_name(name).map_or(0, |v| v.as_usize());
            details.push(format!(
                "Segments: total={} skipped_by_zone_maps={}",
                count("segments_total"),
                count("segments_pruned_by_zone_map")
            ));
        }
        Step {
            label: format!("XN Seq Scan on {}", scan.spec().table_name),
            details,
            rows,
            width: width(plan),
            startup: 0.0,
            total: rows * ROW_COST,
            actual: self.actual(plan, false),
            children: Vec::new(),
        }
    }

    /// Redshift's two steps for an external table: the Spectrum layer's `S3 Seq Scan` inside
    /// the `XN S3 Query Scan` that brings its rows into the cluster.
    fn external_scan(&mut self, plan: &Arc<dyn ExecutionPlan>, scan: &ExternalScanExec) -> Step {
        let rows = estimated_rows(plan).unwrap_or(1.0);
        let spec = scan.spec();
        let format = match spec.format {
            FileFormat::Parquet => "PARQUET",
            FileFormat::Text { .. } => "TEXT",
        };
        let mut details = Vec::new();
        if self.analyzed
            && let Some(metrics) = plan.metrics()
        {
            let count = |name: &str| metrics.sum_by_name(name).map_or(0, |v| v.as_usize());
            details.push(format!("Files: read={} bytes={}", count("files_read"), count("file_bytes")));
        }
        let s3_scan = Step {
            label: format!("S3 Seq Scan {} location:\"{}\" format:{format}", spec.table_name, spec.location),
            details,
            rows,
            width: width(plan),
            startup: 0.0,
            total: rows * ROW_COST,
            actual: self.actual(plan, false),
            children: Vec::new(),
        };
        Step {
            label: format!("{S3_QUERY_SCAN} {}", spec.table_name.rsplit('.').next().unwrap_or_default()),
            details: Vec::new(),
            rows,
            width: width(plan),
            startup: 0.0,
            total: rows * ROW_COST * 2.0,
            actual: self.actual(plan, false),
            children: vec![s3_scan],
        }
    }

    fn network(&mut self, plan: &Arc<dyn ExecutionPlan>) -> Step {
        let input = plan.children().first().map(|c| self.step(c));
        let rows = estimated_rows(plan).or(input.as_ref().map(|s| s.rows)).unwrap_or(1.0);
        let (detail, extra) = if plan.is::<NetworkCoalesceExec>() {
            ("Send to leader", LEADER_COST)
        } else if plan.is::<NetworkBroadcastExec>() {
            ("Broadcast to every node", rows * NETWORK_ROW_COST)
        } else {
            ("Distribute by hash to the key's slices", rows * NETWORK_ROW_COST)
        };
        let actual = self.actual(plan, true);
        if let Some(metrics) = plan.metrics() {
            let rows = metrics.output_rows().unwrap_or(0) as u64;
            let bytes = output_bytes(&metrics) as u64;
            let total = if plan.is::<NetworkCoalesceExec>() {
                &mut self.sent
            } else {
                &mut self.moved
            };
            total.0 += rows;
            total.1 += bytes;
        }
        let (startup, below) = input.as_ref().map_or((0.0, 0.0), |s| (s.startup, s.total));
        Step {
            label: "XN Network".to_string(),
            details: vec![detail.to_string()],
            rows,
            width: width(plan),
            startup: startup + if plan.is::<NetworkCoalesceExec>() { LEADER_COST } else { 0.0 },
            total: below + extra,
            actual,
            children: input.into_iter().collect(),
        }
    }

    fn hash_join(&mut self, plan: &Arc<dyn ExecutionPlan>, join: &HashJoinExec) -> Step {
        let condition = join
            .on()
            .iter()
            .map(|(inner, outer)| format!("(\"outer\".{} = \"inner\".{})", expression(outer), expression(inner)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut details = vec![format!("Hash Cond: {condition}")];
        if let Some(filter) = join.filter() {
            details.push(format!("Join Filter: {}", expression(filter.expression())));
        }
        let label = format!(
            "XN Hash {}Join {}",
            join_kind(join.join_type()),
            distribution_label(arrival(join.left()), arrival(join.right()))
        );
        let outer = self.step(join.right());
        let inner = self.step(join.left());
        let hash = Step {
            label: "XN Hash".to_string(),
            details: Vec::new(),
            rows: inner.rows,
            width: inner.width,
            startup: inner.total,
            total: inner.total,
            actual: None,
            children: vec![inner],
        };
        self.join_step(plan, label, details, outer, hash)
    }

    fn nested_loop(&mut self, plan: &Arc<dyn ExecutionPlan>) -> Step {
        let children = plan.children();
        let mut details = Vec::new();
        let mut kind = "";
        if let Some(join) = plan.downcast_ref::<NestedLoopJoinExec>() {
            kind = join_kind(join.join_type());
            if let Some(filter) = join.filter() {
                details.push(format!("Join Filter: {}", expression(filter.expression())));
            }
        }
        let label = format!(
            "XN Nested Loop {kind}{}",
            distribution_label(arrival(children[0]), arrival(children[1]))
        );
        let outer = self.step(children[1]);
        let inner = self.step(children[0]);
        self.join_step(plan, label, details, outer, inner)
    }

    fn join_step(&mut self, plan: &Arc<dyn ExecutionPlan>, label: String, details: Vec<String>, outer: Step, inner: Step) -> Step {
        let rows = estimated_rows(plan).unwrap_or_else(|| outer.rows.max(inner.rows));
        Step {
            label,
            details,
            rows,
            width: width(plan),
            startup: inner.total,
            total: inner.total + outer.total + rows * ROW_COST,
            actual: self.actual(plan, false),
            children: vec![outer, inner],
        }
    }

    /// What a step produced when the plan ran: rows, and bytes for network steps.
    fn actual(&self, plan: &Arc<dyn ExecutionPlan>, with_bytes: bool) -> Option<String> {
        if !self.analyzed {
            return None;
        }
        let metrics: MetricsSet = plan.metrics()?;
        let rows = metrics.output_rows()?;
        Some(match with_bytes {
            true => format!("rows={rows} bytes={}", output_bytes(&metrics)),
            false => format!("rows={rows}"),
        })
    }
}

/// The label and details of an operator without special handling, and whether it consumes
/// all its input before producing any output.
fn describe(plan: &Arc<dyn ExecutionPlan>) -> (String, Vec<String>, bool) {
    if let Some(aggregate) = plan.downcast_ref::<AggregateExec>() {
        let label = if aggregate.group_expr().expr().is_empty() {
            "XN Aggregate"
        } else {
            "XN HashAggregate"
        };
        return (label.to_string(), Vec::new(), true);
    }
    if let Some(sort) = plan.downcast_ref::<SortExec>() {
        return ("XN Sort".to_string(), vec![format!("Sort Key: {}", ordering(sort.expr()))], true);
    }
    if let Some(merge) = plan.downcast_ref::<SortPreservingMergeExec>() {
        return ("XN Merge".to_string(), vec![format!("Merge Key: {}", ordering(merge.expr()))], false);
    }
    let label = match plan.name() {
        "GlobalLimitExec" => "XN Limit",
        "UnionExec" | "InterleaveExec" => "XN Append",
        "WindowAggExec" | "BoundedWindowAggExec" => "XN Window",
        "DataSourceExec" | "PlaceholderRowExec" | "EmptyExec" | "LazyMemoryExec" => "XN Result",
        other => return (format!("XN {}", other.trim_end_matches("Exec")), Vec::new(), false),
    };
    (label.to_string(), Vec::new(), false)
}

/// How a join input gets to the join: the nearest movement along its single-input chain.
fn arrival(plan: &Arc<dyn ExecutionPlan>) -> Arrival {
    if plan.is::<NetworkBroadcastExec>() {
        return Arrival::Broadcast;
    }
    if plan.is::<NetworkShuffleExec>() {
        return Arrival::Redistributed;
    }
    if plan.is::<NetworkCoalesceExec>() {
        return Arrival::Gathered;
    }
    if let Some(scan) = plan.downcast_ref::<SliceScanExec>() {
        return match scan.dispatch() {
            SliceDispatch::NodeCopy => Arrival::Replicated,
            _ => Arrival::Local,
        };
    }
    let children = plan.children();
    match children.as_slice() {
        [only] => arrival(only),
        [] => Arrival::Local,
        many if many.iter().all(|c| arrival(c) == Arrival::Replicated) => Arrival::Replicated,
        _ => Arrival::Local,
    }
}

/// Redshift's label for a join whose inner (build) and outer (probe) inputs arrive so.
fn distribution_label(inner: Arrival, outer: Arrival) -> &'static str {
    use Arrival::*;
    match (inner, outer) {
        (Broadcast, _) | (_, Broadcast) => "DS_BCAST_INNER",
        (Gathered, _) | (_, Gathered) => "DS_DIST_ALL_INNER",
        (Replicated, _) | (_, Replicated) => "DS_DIST_ALL_NONE",
        (Redistributed, Redistributed) => "DS_DIST_BOTH",
        (Redistributed, _) => "DS_DIST_INNER",
        (_, Redistributed) => "DS_DIST_OUTER",
        (Local, Local) => "DS_DIST_NONE",
    }
}

/// The join's kind in PostgreSQL's words, where the outer side is the probe side and the inner
/// side the hashed one (DataFusion's left).
fn join_kind(join_type: &JoinType) -> &'static str {
    match join_type {
        JoinType::Inner => "",
        JoinType::Left => "Right ",
        JoinType::Right => "Left ",
        JoinType::Full => "Full ",
        JoinType::LeftSemi | JoinType::RightSemi | JoinType::LeftMark | JoinType::RightMark => "IN ",
        JoinType::LeftAnti | JoinType::RightAnti => "Anti ",
    }
}

fn output_bytes(metrics: &MetricsSet) -> usize {
    metrics
        .sum(|m| matches!(m.value(), MetricValue::OutputBytes(_)))
        .map_or(0, |v| v.as_usize())
}

fn estimated_rows(plan: &Arc<dyn ExecutionPlan>) -> Option<f64> {
    super::distribute::estimated_rows(plan).map(|n| n as f64)
}

fn width(plan: &Arc<dyn ExecutionPlan>) -> usize {
    plan.schema().fields().iter().map(|f| estimated_width(f.data_type())).sum()
}

/// An expression as a user wrote it: columns by name, without DataFusion's `@index`.
fn expression(expr: &Arc<dyn PhysicalExpr>) -> String {
    let text = match expr.downcast_ref::<Column>() {
        Some(column) => column.name().to_string(),
        None => strip_column_indices(&expr.to_string()),
    };
    // DataFusion spells count(*) as the count of a literal.
    text.replace("count(Int64(1))", "count(*)")
}

fn ordering(ordering: &LexOrdering) -> String {
    ordering
        .iter()
        .map(|sort| {
            let direction = if sort.options.descending { " DESC" } else { "" };
            format!("{}{direction}", expression(&sort.expr))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Removes the `@<n>` DataFusion appends to column names in expressions.
fn strip_column_indices(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '@' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_indices_are_removed() {
        assert_eq!(strip_column_indices("a@0 > 5 AND b@12 = c@3"), "a > 5 AND b = c");
    }

    #[test]
    fn labels_follow_what_moves() {
        use Arrival::*;
        assert_eq!(distribution_label(Local, Local), "DS_DIST_NONE");
        assert_eq!(distribution_label(Replicated, Local), "DS_DIST_ALL_NONE");
        assert_eq!(distribution_label(Broadcast, Local), "DS_BCAST_INNER");
        assert_eq!(distribution_label(Redistributed, Local), "DS_DIST_INNER");
        assert_eq!(distribution_label(Local, Redistributed), "DS_DIST_OUTER");
        assert_eq!(distribution_label(Redistributed, Redistributed), "DS_DIST_BOTH");
    }
}
