//! Idioms that Redshift accepts and DataFusion does not plan as written:
//!
//! - `FROM pg_get_late_binding_view_cols() cols(view_schema name, ...)`: a table function with a
//!   column definition list becomes a read of the unlisted system relation of the same name,
//!   with the column names kept as aliases;
//! - an integer used as a condition (`WHERE 1 AND ...`) is true unless it is 0;
//! - `regexp_replace(s, pattern[, replacement])` replaces every match (Redshift's meaning;
//!   PostgreSQL's, which DataFusion follows, replaces the first unless given the `g` flag), and
//!   without a replacement removes them;
//! - an interval times or divided by a number (`3 * INTERVAL '1 day'`) becomes a call of
//!   `interval_mul` or `interval_div` ([`crate::planner::interval_arithmetic`]);
//! - SYSDATE, which Redshift writes without parentheses, is a call of `sysdate()`;
//! - DATEADD, DATEDIFF and DATE_PART's part ([`super::date_functions`]).

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, ObjectName, Query, SetExpr,
    Statement, TableFactor, Value, VisitMut, VisitorMut,
};

use crate::error::{Error, Result};
use crate::planner::interval_arithmetic::{INTERVAL_DIV, INTERVAL_MUL};
use crate::system::SYSTEM_SCHEMA;

/// Catalog functions that Redshift calls in FROM and Blueshift serves as relations.
const TABLE_FUNCTIONS: &[&str] = &["pg_get_late_binding_view_cols"];

pub fn rewrite(statement: &mut Statement) -> Result<()> {
    match statement.visit(&mut Idioms) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Idioms;

impl VisitorMut for Idioms {
    type Break = Error;

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        if let TableFactor::Table { name, args, alias, .. } = factor
            && args.as_ref().is_some_and(|a| a.args.is_empty())
            && let Some(function) = name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase())
            && TABLE_FUNCTIONS.contains(&function.as_str())
        {
            *args = None;
            *name = ObjectName::from(vec![Ident::new(SYSTEM_SCHEMA), Ident::new(function)]);
            for column in alias.iter_mut().flat_map(|a| a.columns.iter_mut()) {
                column.data_type = None;
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        if let Err(e) = super::date_functions::rewrite_call(expr) {
            return ControlFlow::Break(e);
        }
        scale_interval(expr);
        if let Expr::Identifier(ident) = expr
            && ident.quote_style.is_none()
            && ident.value.eq_ignore_ascii_case("sysdate")
        {
            *expr = call("sysdate", Vec::new());
        }
        if let Expr::Function(function) = expr
            && function.name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| i.value.eq_ignore_ascii_case("regexp_replace"))
            && let FunctionArguments::List(list) = &mut function.args
            && (2..=3).contains(&list.args.len())
        {
            let text = |s: &str| FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(Value::SingleQuotedString(s.to_string()).into())));
            if list.args.len() == 2 {
                list.args.push(text(""));
            }
            list.args.push(text("g"));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        conditions_of(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

/// `n * interval`, `interval * n` and `interval / n` as calls of `interval_mul` and
/// `interval_div`. An interval here is an INTERVAL literal, or such a product already rewritten.
fn scale_interval(expr: &mut Expr) {
    let Expr::BinaryOp { left, op: op @ (BinaryOperator::Multiply | BinaryOperator::Divide), right } = expr else {
        return;
    };
    let (interval, number, function) = match op {
        BinaryOperator::Multiply if is_interval(left) => (left, right, INTERVAL_MUL),
        BinaryOperator::Multiply if is_interval(right) => (right, left, INTERVAL_MUL),
        BinaryOperator::Divide if is_interval(left) => (left, right, INTERVAL_DIV),
        _ => return,
    };
    let arg = |e: &mut Box<Expr>| std::mem::replace(e.as_mut(), Expr::value(Value::Null));
    let args = vec![arg(interval), arg(number)];
    *expr = call(function, args);
}

/// A call of the function `name` with `args`.
fn call(name: &str, args: Vec<Expr>) -> Expr {
    let args = args.into_iter().map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e))).collect();
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args,
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

fn is_interval(expr: &Expr) -> bool {
    match expr {
        Expr::Interval(_) => true,
        Expr::Nested(inner) => is_interval(inner),
        Expr::Function(function) => {
            let name = function.name.0.last().and_then(|p| p.as_ident());
            name.is_some_and(|i| [INTERVAL_MUL, INTERVAL_DIV].iter().any(|f| i.value.eq_ignore_ascii_case(f)))
        }
        _ => false,
    }
}

/// The WHERE clauses of a query body, through the branches of set operations.
fn conditions_of(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            if let Some(condition) = select.selection.as_mut() {
                integers_as_conditions(condition);
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            conditions_of(left);
            conditions_of(right);
        }
        _ => {}
    }
}

/// Replaces integer literals that stand as conditions (alone or as an AND/OR operand).
fn integers_as_conditions(condition: &mut Expr) {
    match condition {
        Expr::Value(v) => {
            if let Value::Number(n, _) = &v.value {
                let truth = n.parse::<f64>().is_ok_and(|n| n != 0.0);
                *condition = Expr::Value(Value::Boolean(truth).into());
            }
        }
        Expr::BinaryOp { left, op: BinaryOperator::And | BinaryOperator::Or, right } => {
            integers_as_conditions(left);
            integers_as_conditions(right);
        }
        Expr::Nested(inner) => integers_as_conditions(inner),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse_statement;

    #[test]
    fn intervals_times_numbers_become_calls() {
        let mut statement = parse_statement(
            "SELECT 3 * INTERVAL '1 day', (INTERVAL '1 hour') * n, INTERVAL '1 hour' / 4, 2 * INTERVAL '1 day' * 3, 2 * 3, d + 2 * INTERVAL '1 day', INTERVAL_MUL(INTERVAL '1 day', 2) / 2 FROM t",
        )
        .unwrap();
        rewrite(&mut statement).unwrap();
        assert_eq!(
            statement.to_string(),
            "SELECT interval_mul(INTERVAL '1 day', 3), interval_mul((INTERVAL '1 hour'), n), interval_div(INTERVAL '1 hour', 4), \
             interval_mul(interval_mul(INTERVAL '1 day', 2), 3), 2 * 3, d + interval_mul(INTERVAL '1 day', 2), \
             interval_div(INTERVAL_MUL(INTERVAL '1 day', 2), 2) FROM t"
        );
    }

    #[test]
    fn late_binding_view_cols_integer_conditions_and_regexp_replace() {
        let mut statement = parse_statement(
            "SELECT regexp_replace(a, 'x') FROM t WHERE 1 UNION SELECT view_name FROM pg_get_late_binding_view_cols() cols(view_schema name, \
             view_name name, col_name name, col_type varchar, col_num int) WHERE 1 AND view_schema = 'public'",
        )
        .unwrap();
        rewrite(&mut statement).unwrap();
        let sql = statement.to_string();
        assert!(sql.contains("FROM pg_catalog.pg_get_late_binding_view_cols"), "{sql}");
        assert!(sql.contains("(view_schema, view_name, col_name, col_type, col_num)"), "{sql}");
        assert!(sql.starts_with("SELECT regexp_replace(a, 'x', '', 'g') FROM t WHERE true UNION"), "{sql}");
        assert!(sql.ends_with("WHERE true AND view_schema = 'public'"), "{sql}");
    }
}
