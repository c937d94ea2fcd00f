//! GROUP BY may not group by an aggregate or a window function.
//!
//! `SELECT count(*) FROM t GROUP BY 1` (or by a select-list alias of an aggregate) reached
//! DataFusion's physical planner, which failed with an internal error quoting its logical
//! expression; `SELECT a, sum(b) FROM t GROUP BY 1, 2` failed in its SQL planner with "column
//! "sum(t.b)" specified more than once". Both get PostgreSQL's grouping error instead: the
//! analyzer rule [`GroupByCheck`] checks the plans that DataFusion builds, and
//! [`grouping_error`] looks at the statement behind a plan that DataFusion could not build.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{AggregateUDF, Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;
use sqlparser::ast::{self, GroupByExpr, Query, SelectItem, SetExpr, Statement, Value, Visit, Visitor};

use crate::error::{Error, SqlState};

#[derive(Debug, Default)]
pub struct GroupByCheck;

impl AnalyzerRule for GroupByCheck {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.apply_with_subqueries(|node| {
            let LogicalPlan::Aggregate(aggregate) = node else {
                return Ok(TreeNodeRecursion::Continue);
            };
            for group in &aggregate.group_expr {
                let call = if group.exists(|e| Ok(matches!(e, Expr::WindowFunction(_))))? {
                    Grouped::Window
                } else if group.exists(|e| Ok(matches!(e, Expr::AggregateFunction(_))))? {
                    Grouped::Aggregate
                } else {
                    continue;
                };
                return Err(DataFusionError::External(Box::new(call.error())));
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(plan)
    }

    fn name(&self) -> &str {
        "redshift_group_by_check"
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Grouped {
    Aggregate,
    Window,
}

impl Grouped {
    fn error(self) -> Error {
        match self {
            Grouped::Aggregate => Error::new(SqlState::GroupingError, "aggregates not allowed in GROUP BY clause"),
            Grouped::Window => Error::new(SqlState::WindowingError, "window functions not allowed in GROUP BY clause"),
        }
    }
}

/// The grouping error of `statement`, which DataFusion could not plan, if one of its GROUP BY
/// items is an aggregate or window call, written there, by position or by select-list alias
/// (`aggregates` are the session's aggregate functions). An alias is only looked at here, after
/// planning failed: where a column of the same name exists, GROUP BY means the column.
pub fn grouping_error(statement: &Statement, aggregates: &HashMap<String, Arc<AggregateUDF>>) -> Option<Error> {
    let mut finder = GroupedCalls { aggregates, found: None };
    let _ = statement.visit(&mut finder);
    finder.found.map(Grouped::error)
}

struct GroupedCalls<'a> {
    aggregates: &'a HashMap<String, Arc<AggregateUDF>>,
    found: Option<Grouped>,
}

impl Visitor for GroupedCalls<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = query.body.as_ref() else {
            return ControlFlow::Continue(());
        };
        let GroupByExpr::Expressions(items, _) = &select.group_by else {
            return ControlFlow::Continue(());
        };
        let selected = |item: &SelectItem| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e.clone()),
            _ => None,
        };
        for item in items {
            let grouped = match item {
                ast::Expr::Value(value) => match &value.value {
                    Value::Number(n, _) => n.parse::<usize>().ok().and_then(|n| select.projection.get(n.checked_sub(1)?)).and_then(selected),
                    _ => None,
                },
                ast::Expr::Identifier(name) => select.projection.iter().find_map(|p| match p {
                    SelectItem::ExprWithAlias { expr, alias } if alias.value.eq_ignore_ascii_case(&name.value) => Some(expr.clone()),
                    _ => None,
                }),
                other => Some(other.clone()),
            };
            if let Some(call) = grouped.and_then(|e| self.call_in(&e)) {
                self.found = Some(call);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

impl GroupedCalls<'_> {
    /// The kind of call `expr` makes, outside of its subqueries: a window call wins.
    fn call_in(&self, expr: &ast::Expr) -> Option<Grouped> {
        let mut calls = Calls { aggregates: self.aggregates, depth: 0, found: None };
        let _ = expr.visit(&mut calls);
        calls.found
    }
}

struct Calls<'a> {
    aggregates: &'a HashMap<String, Arc<AggregateUDF>>,
    /// Subqueries entered: their calls are their own.
    depth: usize,
    found: Option<Grouped>,
}

impl Visitor for Calls<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &ast::Expr) -> ControlFlow<()> {
        let ast::Expr::Function(function) = expr else {
            return ControlFlow::Continue(());
        };
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        if function.over.is_some() {
            self.found = Some(Grouped::Window);
            return ControlFlow::Break(());
        }
        let name = function.name.0.last().and_then(|part| part.as_ident()).map(|i| i.value.to_lowercase());
        if name.is_some_and(|name| self.aggregates.contains_key(&name)) {
            self.found = Some(Grouped::Aggregate);
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse_statement;

    fn error_of(sql: &str) -> Option<&'static str> {
        let state = datafusion::execution::SessionStateBuilder::new().with_default_features().build();
        let statement = parse_statement(sql).unwrap();
        grouping_error(&statement, state.aggregate_functions()).map(|e| e.state.code())
    }

    #[test]
    fn group_by_items_that_call_aggregates_or_windows_are_found() {
        assert_eq!(error_of("SELECT a, sum(b) FROM t GROUP BY 1, 2"), Some("42803"));
        assert_eq!(error_of("SELECT sum(b) AS total FROM t GROUP BY total"), Some("42803"));
        assert_eq!(error_of("SELECT a FROM t GROUP BY a, max(b) + 1"), Some("42803"));
        assert_eq!(error_of("SELECT a, sum(b) OVER () FROM t GROUP BY 2"), Some("42P20"));
        assert_eq!(error_of("SELECT * FROM (SELECT count(*) FROM t GROUP BY 1) s"), Some("42803"));
    }

    #[test]
    fn other_group_by_items_are_not() {
        assert_eq!(error_of("SELECT a, sum(b) FROM t GROUP BY 1"), None);
        assert_eq!(error_of("SELECT a + 1 AS x, count(*) FROM t GROUP BY x"), None);
        assert_eq!(error_of("SELECT a FROM t GROUP BY (SELECT max(b) FROM u), a"), None);
        assert_eq!(error_of("SELECT upper(a) FROM t GROUP BY upper(a), 9"), None);
    }
}
