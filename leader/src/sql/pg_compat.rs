//! PostgreSQL catalog-query idioms that psql, JDBC and other clients send, rewritten to what
//! DataFusion plans:
//!
//! - `pg_catalog.f(...)` calls lose the schema (the functions are registered by bare name);
//! - `current_user` and `session_user` (SQL's niladic functions) are calls;
//! - `COLLATE ...` is dropped (comparisons are byte-wise either way);
//! - casts to catalog types: `'t'::regclass` looks the relation up, `oid::regclass` prints its
//!   name, `'int4'::regtype` looks the type up, `::regtype` of an OID formats it, and
//!   `'pg_catalog.f'::regproc` names the function as `pg_type`'s I/O columns do (`f`), and
//!   `name`, `text`, `"char"`, `oid` and the vector types become VARCHAR or an unsigned int;
//! - `ARRAY(SELECT x ...)` becomes `(SELECT array_agg(x) ...)`; `a[i]` is `array_element(a, i)`
//!   and `array_upper(a, 1)` the length (arrays start at 1);
//! - `(record).field` becomes `get_field(record, 'field')`, and pgjdbc's set-returning
//!   `information_schema._pg_expandarray(a)` (in the select list) becomes
//!   `unnest(__pg_expandarray(a))`, which yields the same `(x, n)` records;
//! - a scalar subquery over catalog tables that is not aggregated, such as psql's
//!   `(SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = a.attrelid ...)`,
//!   aggregates its one value with `max` (DataFusion plans correlated scalar subqueries only
//!   when they are aggregated; the catalog keys make them return at most one row);
//!   A condition of that subquery on outer columns only (psql's `... AND a.atthasdef`) moves
//!   out, into `CASE WHEN cond THEN (subquery) END`, and a subquery that joins a catalog table
//!   Blueshift never has rows in (collations, inheritance, triggers, rules, role membership)
//!   is NULL, which is what it returns;
//! - psql's `\d+` appends the options of the table's TOAST table to its `reloptions`; Blueshift
//!   has no TOAST tables, so that part (`|| array(select 'toast.' || x ...)`) is dropped.
//!
//! (`a OPERATOR(pg_catalog.~) b` is handled by the parser, see [`super::BlueshiftDialect`].)

use std::ops::ControlFlow;

use sqlparser::ast::{
    AccessExpr, BinaryOperator, Ident, JsonPathElem, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, ObjectNamePart, Query,
    SelectItem, SetExpr, Statement, Value, visit_expressions_mut, visit_relations_mut,
};
use sqlparser::parser::Parser;

use crate::planner::catalog_functions::{PG_EXPANDARRAY, REGCLASS_NAME, REGCLASS_OID, REGTYPE_OID};

/// Rewrites every idiom above in `statement`.
pub fn rewrite(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |expr| {
        rewrite_expr(expr);
        ControlFlow::<()>::Continue(())
    });
}

/// The single projected expression of a plain `SELECT x FROM ... [WHERE ...]`.
fn single_projection(query: &mut Query) -> Option<&mut Expr> {
    if query.order_by.is_some() || query.limit_clause.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_mut() else { return None };
    let plain = select.distinct.is_none() && select.having.is_none() && matches!(&select.group_by, sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    if !plain || select.projection.len() != 1 {
        return None;
    }
    match &mut select.projection[0] {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    }
}

/// Catalog tables that are empty because Blueshift has none of their objects.
const EMPTY_CATALOGS: &[&str] = &["pg_collation", "pg_inherits", "pg_trigger", "pg_rewrite", "pg_auth_members"];

/// Whether a plain SELECT inner-joins one of the [`EMPTY_CATALOGS`] (so it returns no row).
fn joins_empty_catalog(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else { return false };
    let empty = |factor: &sqlparser::ast::TableFactor| {
        matches!(factor, sqlparser::ast::TableFactor::Table { name, .. }
            if name.0.last().is_some_and(|p| EMPTY_CATALOGS.iter().any(|e| part_is(p, e))))
    };
    select.from.iter().any(|t| {
        empty(&t.relation)
            || t.joins.iter().any(|j| matches!(j.join_operator, sqlparser::ast::JoinOperator::Inner(_) | sqlparser::ast::JoinOperator::Join(_)) && empty(&j.relation))
    })
}

/// Names a plain SELECT's FROM clause defines (aliases, or table names).
fn defined_names(select: &sqlparser::ast::Select) -> Vec<String> {
    let name = |factor: &sqlparser::ast::TableFactor| match factor {
        sqlparser::ast::TableFactor::Table { name, alias, .. } => alias
            .as_ref()
            .map(|a| a.name.value.to_lowercase())
            .or_else(|| name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase())),
        sqlparser::ast::TableFactor::Derived { alias, .. } => alias.as_ref().map(|a| a.name.value.to_lowercase()),
        _ => None,
    };
    select
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
        .filter_map(name)
        .collect()
}

/// Removes the WHERE conjuncts that name only outer columns (`alias.column` with an alias the
/// subquery does not define) and returns them joined with AND.
fn take_outer_conditions(query: &mut Query) -> Option<Expr> {
    let SetExpr::Select(select) = query.body.as_mut() else { return None };
    let inner = defined_names(select);
    let where_clause = select.selection.take()?;
    let mut conjuncts = Vec::new();
    split_and(where_clause, &mut conjuncts);
    let (outer, kept): (Vec<Expr>, Vec<Expr>) = conjuncts.into_iter().partition(|c| {
        let qualifiers = qualifiers(c);
        // An unqualified column belongs to the subquery's own tables, as PostgreSQL resolves it.
        !qualifiers.is_empty() && qualifiers.iter().all(|q| !q.is_empty() && !inner.contains(q))
    });
    select.selection = join_and(kept);
    join_and(outer)
}

fn split_and(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            split_and(*left, out);
            split_and(*right, out);
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: BinaryOperator::And, .. }) => split_and(*inner, out),
        other => out.push(other),
    }
}

fn join_and(exprs: Vec<Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(|left, right| Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    })
}

/// The table qualifiers of the column references in an expression (`a` of `a.attname`); a
/// bare column counts as the empty qualifier.
fn qualifiers(expr: &Expr) -> Vec<String> {
    let mut found = Vec::new();
    let mut expr = expr.clone();
    let _ = visit_expressions_mut(&mut expr, |e| {
        match e {
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => found.push(parts[parts.len() - 2].value.to_lowercase()),
            Expr::Identifier(_) => found.push(String::new()),
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => found.push(String::new()),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Whether every table a query reads is a catalog table.
fn reads_only_catalog(query: &Query) -> bool {
    let mut query = query.clone();
    let mut only_catalog = true;
    let _ = visit_relations_mut(&mut query, |name| {
        let catalog = match name.0.as_slice() {
            [schema, _] => part_is(schema, "pg_catalog") || part_is(schema, "information_schema"),
            [table] => table.as_ident().is_some_and(|i| i.value.to_ascii_lowercase().starts_with("pg_")),
            _ => false,
        };
        only_catalog &= catalog;
        ControlFlow::<()>::Continue(())
    });
    only_catalog
}

/// `name(expr)`.
fn wrap(name: &str, expr: &Expr) -> Expr {
    call(name, expr.clone())
}

/// A reference to `pg_index.indkey`, whose subscripts start at 0.
fn is_int2vector(expr: &Expr) -> bool {
    let name = match expr {
        Expr::Identifier(ident) => ident,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(ident) => ident,
            None => return false,
        },
        _ => return false,
    };
    name.value.eq_ignore_ascii_case("indkey")
}

/// psql's `array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x)` (already
/// rewritten to a subquery, as expressions are rewritten inside out).
fn is_toast_options(expr: &Expr) -> bool {
    matches!(expr, Expr::Subquery(q) if q.to_string().contains("'toast.'"))
}

fn rewrite_expr(expr: &mut Expr) {
    match expr {
        Expr::Function(function) => {
            let parts = &mut function.name.0;
            if parts.len() == 2 && part_is(&parts[0], "pg_catalog") {
                parts.remove(0);
            }
            // A set-returning function in the select list: its rows come from unnesting the
            // array of (x, n) records the scalar function builds.
            if parts.last().is_some_and(|p| part_is(p, "_pg_expandarray")) {
                *parts = vec![ObjectNamePart::Identifier(Ident::new(PG_EXPANDARRAY))];
                *expr = wrap("unnest", expr);
                return;
            }
            // Arrays start at 1, so the upper bound is the length (a BIGINT, which generate_series takes).
            if parts.len() == 1
                && part_is(&parts[0], "array_upper")
                && let FunctionArguments::List(list) = &function.args
                && let [array, dimension] = list.args.as_slice()
            {
                *expr = parse_expr(&format!("CAST(array_length({array}, {dimension}) AS BIGINT)")).expect("a cast parses");
                return;
            }
            if parts.len() == 1
                && part_is(&parts[0], "array")
                && let FunctionArguments::Subquery(query) = &mut function.args
            {
                let mut query = query.clone();
                if let Some(item) = single_projection(&mut query) {
                    *item = wrap("array_agg", item);
                    *expr = Expr::Subquery(query);
                }
            }
        }
        Expr::Subquery(query) if reads_only_catalog(query) => {
            let empty = joins_empty_catalog(query);
            let Some(item) = single_projection(query) else { return };
            if contains_aggregate(item) {
                return;
            }
            if empty {
                *expr = Expr::Value(Value::Null.into());
                return;
            }
            *item = wrap("max", item);
            if let Some(condition) = take_outer_conditions(query) {
                let subquery = expr.clone();
                *expr = Expr::Case {
                    case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                    end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                    operand: None,
                    conditions: vec![sqlparser::ast::CaseWhen { condition, result: subquery }],
                    else_result: None,
                };
            }
        }
        Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right } if is_toast_options(right) => {
            *expr = (**left).clone();
        }
        Expr::Collate { expr: inner, .. } => *expr = (**inner).clone(),
        // The dialect reads `a[i]` as a PartiQL path; Blueshift has no SUPER values, so it is
        // PostgreSQL's (1-based) array subscript — 0-based for `pg_index.indkey`, an int2vector.
        Expr::JsonAccess { value, path } => {
            let base = if is_int2vector(value) { 1 } else { 0 };
            let keys: Option<Vec<Expr>> = path
                .path
                .iter()
                .map(|element| match element {
                    JsonPathElem::Bracket { key } => Some(key.clone()),
                    _ => None,
                })
                .collect();
            if let Some(keys) = keys {
                *expr = keys.into_iter().enumerate().fold((**value).clone(), |array, (i, key)| {
                    let key = if i == 0 && base == 1 { format!("({key}) + 1") } else { key.to_string() };
                    parse_expr(&format!("array_element({array}, {key})")).expect("a function call parses")
                });
            }
        }
        Expr::CompoundFieldAccess { root, access_chain } => {
            let fields: Option<Vec<String>> = access_chain
                .iter()
                .map(|a| match a {
                    AccessExpr::Dot(Expr::Identifier(field)) => Some(field.value.to_lowercase()),
                    _ => None,
                })
                .collect();
            if let Some(fields) = fields {
                *expr = fields.into_iter().fold((**root).clone(), |record, field| {
                    let mut get = call("get_field(NULL, NULL)", record);
                    if let Expr::Function(f) = &mut get
                        && let FunctionArguments::List(list) = &mut f.args
                    {
                        list.args[1] = FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(Value::SingleQuotedString(field).into())));
                    }
                    get
                });
            }
        }
        Expr::Identifier(ident)
            if ident.quote_style.is_none() && matches!(ident.value.to_ascii_lowercase().as_str(), "current_user" | "session_user") =>
        {
            if let Some(call) = parse_expr(&format!("{}()", ident.value.to_ascii_lowercase())) {
                *expr = call;
            }
        }
        Expr::Cast { expr: inner, data_type, .. } => {
            if let Some(replacement) = rewrite_cast(inner, data_type) {
                *expr = replacement;
            }
        }
        _ => {}
    }
}

/// Whether an expression calls an aggregate (then the subquery already returns one row).
fn contains_aggregate(expr: &Expr) -> bool {
    let mut found = false;
    let mut expr = expr.clone();
    let _ = visit_expressions_mut(&mut expr, |e| {
        if let Expr::Function(f) = e
            && f.name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| {
                matches!(i.value.to_ascii_lowercase().as_str(), "count" | "max" | "min" | "sum" | "avg" | "array_agg" | "bool_or" | "bool_and" | "string_agg" | "listagg")
            })
        {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

fn part_is(part: &ObjectNamePart, name: &str) -> bool {
    part.as_ident().is_some_and(|i| i.value.eq_ignore_ascii_case(name))
}

fn parse_expr(sql: &str) -> Option<Expr> {
    Parser::new(&super::BlueshiftDialect::default())
        .try_with_sql(sql)
        .ok()?
        .parse_expr()
        .ok()
}

/// The catalog type a cast names, without a `pg_catalog.` prefix, if it is one of them.
fn catalog_type(data_type: &DataType) -> Option<String> {
    let name = match data_type {
        DataType::Custom(ObjectName(parts), modifiers) if modifiers.is_empty() => {
            let last = parts.last()?.as_ident()?;
            if parts.len() == 2 && !part_is(&parts[0], "pg_catalog") {
                return None;
            }
            last.value.to_ascii_lowercase()
        }
        DataType::Text => "text".into(),
        DataType::Regclass => "regclass".into(),
        _ => return None,
    };
    Some(name)
}

/// `template` (a call whose first argument is NULL) with `arg` as its first argument; a bare
/// function name stands for `name(NULL)`.
fn call(template: &str, arg: Expr) -> Expr {
    let sql = if template.contains('(') { template.to_string() } else { format!("{template}(NULL)") };
    parse_expr(&sql)
        .map(|mut call| {
            if let Expr::Function(f) = &mut call
                && let FunctionArguments::List(list) = &mut f.args
            {
                list.args[0] = FunctionArg::Unnamed(FunctionArgExpr::Expr(arg));
            }
            call
        })
        .expect("a function call parses")
}

fn is_string_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_) | Value::EscapedStringLiteral(_)))
}

fn rewrite_cast(inner: &Expr, data_type: &mut DataType) -> Option<Expr> {
    let name = catalog_type(data_type)?;
    let literal = is_string_literal(inner);
    match name.as_str() {
        "regclass" if literal => Some(call(REGCLASS_OID, inner.clone())),
        "regclass" => Some(call(REGCLASS_NAME, inner.clone())),
        "regtype" if literal => Some(call(REGTYPE_OID, inner.clone())),
        "regtype" => Some(call("format_type(NULL, NULL)", inner.clone())),
        // A function's name compares with pg_type's I/O function columns, which are unqualified.
        "regproc" => {
            *data_type = DataType::Varchar(None);
            match inner {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(name) => name
                        .strip_prefix("pg_catalog.")
                        .map(|bare| Expr::Value(Value::SingleQuotedString(bare.to_string()).into())),
                    _ => None,
                },
                _ => None,
            }
        }
        "text" | "name" | "char" | "bpchar" | "varchar" | "int2vector" | "oidvector" | "aclitem" => {
            *data_type = DataType::Varchar(None);
            None
        }
        "oid" | "xid" => {
            *data_type = DataType::IntUnsigned(None);
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse_statement;

    fn rewritten(sql: &str) -> String {
        let mut statement = parse_statement(sql).unwrap();
        rewrite(&mut statement);
        statement.to_string()
    }

    #[test]
    fn psql_idioms_become_plain_sql() {
        assert_eq!(
            rewritten("SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM t a WHERE a.n OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default"),
            "SELECT format_type(a.atttypid, a.atttypmod) FROM t a WHERE a.n ~ '^(t)$'"
        );
        assert_eq!(
            rewritten("SELECT c.oid::pg_catalog.regclass, 't'::regclass, ''::pg_catalog.char, x::oid"),
            "SELECT __regclass_name(c.oid), __regclass_oid('t'), ''::VARCHAR, x::INT UNSIGNED"
        );
    }
}
