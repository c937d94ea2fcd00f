//! PostgreSQL's names for unnamed result columns.
//!
//! `SELECT count(*), max(x), 1` returns columns named `count`, `max` and `?column?` in Redshift;
//! DataFusion would name them after the whole expression. Clients show these names and CREATE
//! TABLE AS turns them into column names, so every select list is given PostgreSQL's names before
//! planning — except where two columns would share a name, which DataFusion cannot plan.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    CastKind, DataType, Expr, Ident, Query, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, UnaryOperator,
    Value, VisitMut, VisitorMut,
};

use crate::catalog::SqlType;

/// PostgreSQL's name for the column of an unnamed expression (`?column?` when it has none).
pub fn column_name(expr: &Expr) -> String {
    name_of(expr).unwrap_or_else(|| "?column?".to_string())
}

fn name_of(expr: &Expr) -> Option<String> {
    Some(match expr {
        Expr::Identifier(i) => i.value.to_lowercase(),
        Expr::CompoundIdentifier(parts) => parts.last()?.value.to_lowercase(),
        Expr::Function(f) => match f.name.0.last()?.as_ident()?.value.to_lowercase().as_str() {
            // Redshift's names for these two.
            "dateadd" => "date_add".to_string(),
            "datediff" => "date_diff".to_string(),
            name => name.to_string(),
        },
        Expr::Cast { expr, data_type, .. } => match name_of(expr) {
            Some(name) => name,
            None => type_name(data_type)?,
        },
        Expr::Nested(inner) => return name_of(inner),
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Subquery(query) => return first_column_name(query),
        Expr::Extract { .. } => "date_part".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::Trim { .. } => "btrim".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        Expr::Overlay { .. } => "overlay".into(),
        _ => return None,
    })
}

/// The `pg_type` name a cast to `data_type` produces (e.g. `int4` for INTEGER).
fn type_name(data_type: &sqlparser::ast::DataType) -> Option<String> {
    Some(
        match SqlType::from_ast(data_type).ok()? {
            SqlType::SmallInt => "int2",
            SqlType::Integer => "int4",
            SqlType::BigInt => "int8",
            SqlType::Decimal { .. } => "numeric",
            SqlType::Real => "float4",
            SqlType::Double => "float8",
            SqlType::Boolean => "bool",
            SqlType::Char { .. } => "bpchar",
            SqlType::Varchar { .. } => "varchar",
            SqlType::Date => "date",
            SqlType::Timestamp => "timestamp",
            SqlType::Timestamptz => "timestamptz",
            SqlType::Time => "time",
        }
        .to_string(),
    )
}

fn first_column_name(query: &Query) -> Option<String> {
    match query.body.as_ref() {
        SetExpr::Select(select) => match select.projection.first()? {
            SelectItem::UnnamedExpr(e) => name_of(e),
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_lowercase()),
            _ => None,
        },
        SetExpr::Query(q) => first_column_name(q),
        _ => None,
    }
}

struct Namer;

impl VisitorMut for Namer {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        name_select_lists(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

/// Names the columns of `body`'s select lists (every branch of a set operation, whose result
/// takes the left branch's names) and types their integer literals.
fn name_select_lists(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            let mut seen: HashSet<String> = HashSet::new();
            let starred = starred_qualifiers(&select.projection);
            for (index, item) in select.projection.iter_mut().enumerate() {
                // A column that a `*` also returns (DBeaver's `SELECT n.oid, n.* FROM
                // pg_namespace n`) is a repeated name too.
                if let SelectItem::UnnamedExpr(e) = item
                    && starred.covers(e)
                {
                    let name = column_name(e);
                    *item = SelectItem::ExprWithAlias {
                        expr: e.clone(),
                        alias: Ident::with_quote('"', format!("{name}{DUPLICATE_MARK}{index}")),
                    };
                    continue;
                }
                let (expr, name, key) = match item {
                    SelectItem::UnnamedExpr(e @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_))) => {
                        (e.clone(), column_name(e), e.to_string().to_lowercase())
                    }
                    SelectItem::UnnamedExpr(e) => (e.clone(), column_name(e), column_name(e)),
                    SelectItem::ExprWithAlias { expr, alias } => {
                        let name = alias.value.to_lowercase();
                        (expr.clone(), name.clone(), name)
                    }
                    _ => continue,
                };
                let alias = if seen.insert(key) {
                    match item {
                        // Plain column references already carry their name.
                        SelectItem::UnnamedExpr(Expr::Identifier(_) | Expr::CompoundIdentifier(_)) => continue,
                        SelectItem::ExprWithAlias { .. } => continue,
                        _ => name,
                    }
                } else {
                    // A repeated name, which PostgreSQL allows and DataFusion does not: give the
                    // column a unique internal name that clients see without its suffix.
                    format!("{name}{DUPLICATE_MARK}{index}")
                };
                *item = SelectItem::ExprWithAlias {
                    expr,
                    alias: Ident::with_quote('"', alias),
                };
            }
            for item in select.projection.iter_mut() {
                if let SelectItem::ExprWithAlias { expr, .. } = item {
                    type_integer_literal(expr);
                }
            }
        }
        SetExpr::Query(q) => name_select_lists(q.body.as_mut()),
        SetExpr::SetOperation { left, right, .. } => {
            name_select_lists(left);
            name_select_lists(right);
        }
        _ => {}
    }
}

/// PostgreSQL and Redshift type an integer literal that fits in 32 bits as `integer` (DataFusion
/// would make it a `bigint`), so that `SELECT 1` describes an int4 column. Applied to select-list
/// items once they are named, as the cast would otherwise give its type's name to the column.
fn type_integer_literal(expr: &mut Expr) {
    let int4 = |e: &Expr| matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.parse::<i32>().is_ok()));
    let fits = match &*expr {
        Expr::UnaryOp { op: UnaryOperator::Minus, expr: inner } => int4(inner),
        other => int4(other),
    };
    if fits {
        *expr = Expr::Cast {
            kind: CastKind::Cast,
            expr: Box::new(expr.clone()),
            data_type: DataType::Int(None),
            array: false,
            format: None,
        };
    }
}

/// The wildcards of a select list: whether there is a bare `*`, and the `q.*` qualifiers.
struct Starred {
    all: bool,
    qualifiers: Vec<String>,
}

impl Starred {
    /// Whether the column reference `expr` is among the columns a wildcard returns.
    fn covers(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Identifier(_) => self.all,
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let qualifier = parts[parts.len() - 2].value.to_lowercase();
                self.all || self.qualifiers.contains(&qualifier)
            }
            _ => false,
        }
    }
}

fn starred_qualifiers(projection: &[SelectItem]) -> Starred {
    let mut starred = Starred { all: false, qualifiers: Vec::new() };
    for item in projection {
        match item {
            SelectItem::Wildcard(_) => starred.all = true,
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                if let Some(last) = name.0.last().and_then(|p| p.as_ident()) {
                    starred.qualifiers.push(last.value.to_lowercase());
                }
            }
            _ => {}
        }
    }
    starred
}

/// Separates a repeated column name from the suffix that makes it unique inside the plan.
pub const DUPLICATE_MARK: char = '\u{1}';

/// The name a client sees for a result column.
pub fn display_name(field_name: &str) -> &str {
    field_name.split(DUPLICATE_MARK).next().unwrap_or(field_name)
}

/// Gives every select list in `statement` PostgreSQL's column names.
pub fn name_columns(statement: &mut Statement) {
    let _ = statement.visit(&mut Namer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse_statement;

    fn named(sql: &str) -> String {
        let mut statement = parse_statement(sql).unwrap();
        name_columns(&mut statement);
        statement.to_string()
    }

    #[test]
    fn postgres_column_names() {
        assert_eq!(
            named("select count(*), max(x), a, t.b, 1, x::int, '1'::int8, 3000000000 from t"),
            "SELECT count(*) AS \"count\", max(x) AS \"max\", a, t.b, CAST(1 AS INT) AS \"?column?\", x::INT AS \"x\", '1'::INT8 AS \"int8\", 3000000000 AS \"?column?\u{1}7\" FROM t"
        );
        // Repeated names are made unique inside the plan, and shown without the suffix.
        assert_eq!(
            named("select count(a), count(b), v, v from t"),
            "SELECT count(a) AS \"count\", count(b) AS \"count\u{1}1\", v, v AS \"v\u{1}3\" FROM t"
        );
        assert_eq!(display_name("count\u{1}1"), "count");
        // A column that a wildcard repeats.
        assert_eq!(
            named("select n.oid, n.* from pg_namespace n"),
            "SELECT n.oid AS \"oid\u{1}0\", n.* FROM pg_namespace n"
        );
        assert_eq!(
            named("select * from (select sum(x) from t) s"),
            "SELECT * FROM (SELECT sum(x) AS \"sum\" FROM t) s"
        );
    }
}
