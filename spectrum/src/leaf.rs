//! What the two leaf scans of a Blueshift plan share: `SliceScanExec` over a local table's
//! slices (in the compute crate) and [`crate::ExternalScanExec`] over an external table's files.
//! Both take the query's filters pushed down to prune what they read ([`pushdown_filter`]), and
//! both are childless plan nodes whose only expressions are those filters.

use std::fmt;
use std::sync::Arc;

use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, Result, internal_err};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;

/// A WHERE conjunct planned against the files' schema, for row-group, page and row pruning; each
/// column is renamed by `rename` (its name in the files). `None` when it cannot be pushed down:
/// it names a column `rename` does not know, or a subquery, or no column at all. Pruning is
/// never exact, so the plan keeps its own filter either way.
pub fn pushdown_filter(
    state: &dyn Session,
    filter: &Expr,
    file_schema: &DFSchema,
    rename: impl Fn(&str) -> Option<String>,
) -> Option<Arc<dyn PhysicalExpr>> {
    if filter.column_refs().is_empty() {
        return None;
    }
    let mut pushable = true;
    let rewritten = filter
        .clone()
        .transform(|e| match e {
            Expr::Column(c) => match rename(&c.name) {
                Some(name) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(name)))),
                None => {
                    pushable = false;
                    Ok(Transformed::no(Expr::Column(c)))
                }
            },
            // Scalar subqueries and the like are evaluated above the scan.
            Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_) | Expr::OuterReferenceColumn(..) => {
                pushable = false;
                Ok(Transformed::no(e))
            }
            other => Ok(Transformed::no(other)),
        })
        .ok()?
        .data;
    if !pushable {
        return None;
    }
    state.create_physical_expr(rewritten, file_schema).ok()
}

/// `ExecutionPlan::apply_expressions` of a leaf scan: its pushed filters.
pub fn visit_filters(
    filters: &[Arc<dyn PhysicalExpr>],
    f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
) -> Result<TreeNodeRecursion> {
    for filter in filters {
        if f(filter)? == TreeNodeRecursion::Stop {
            return Ok(TreeNodeRecursion::Stop);
        }
    }
    Ok(TreeNodeRecursion::Continue)
}

/// The `, filters=[..]` a leaf scan's EXPLAIN line ends with, if it has any.
pub fn fmt_filters(f: &mut fmt::Formatter, filters: &[Arc<dyn PhysicalExpr>]) -> fmt::Result {
    if filters.is_empty() {
        return Ok(());
    }
    let filters: Vec<String> = filters.iter().map(|e| e.to_string()).collect();
    write!(f, ", filters=[{}]", filters.join(", "))
}

/// `ExecutionPlan::replace_children` of a leaf: the plan itself, given no children.
pub fn without_children(plan: Arc<dyn ExecutionPlan>, children: &[Arc<dyn ExecutionPlan>]) -> Result<Arc<dyn ExecutionPlan>> {
    if !children.is_empty() {
        return internal_err!("{} has no children", plan.name());
    }
    Ok(plan)
}
