//! Redshift's lateral column aliases: a select-list alias can be used in the same SELECT's WHERE
//! clause and in the select-list items after it (redshift_connector's `get_tables` filters on
//! `TABLE_SCHEM LIKE ?`, its `get_columns` selects `IS_AUTOINCREMENT AS IS_GENERATEDCOLUMN`).
//! A real column of the FROM relations wins over an alias, so the planner tries the statement
//! as written first, and only a column it cannot find that is such an alias is replaced by the
//! aliased expression (see [`substitute`]).

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, Query, SelectItem, SetExpr, Statement, VisitMut, VisitorMut, visit_expressions_mut};

/// Replaces the unqualified column `name` in the WHERE clause and the later select-list items
/// of every SELECT that has a select-list item aliased `name`; returns whether anything was
/// replaced.
pub fn substitute(statement: &mut Statement, name: &str) -> bool {
    let mut substituter = Substituter { name: name.to_lowercase(), replaced: false };
    let _ = statement.visit(&mut substituter);
    substituter.replaced
}

struct Substituter {
    name: String,
    replaced: bool,
}

impl VisitorMut for Substituter {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.substitute_in(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

impl Substituter {
    /// Each SELECT of a set operation has its own aliases (sqlalchemy-redshift's reflection
    /// query filters every branch of a UNION on its `"schema"` alias).
    fn substitute_in(&mut self, body: &mut SetExpr) {
        let select = match body {
            SetExpr::Select(select) => select,
            SetExpr::SetOperation { left, right, .. } => {
                self.substitute_in(left);
                self.substitute_in(right);
                return;
            }
            _ => return,
        };
        let Some((position, aliased)) = select.projection.iter().enumerate().find_map(|(i, item)| match item {
            SelectItem::ExprWithAlias { expr, alias } if alias.value.to_lowercase() == self.name => Some((i, expr.clone())),
            _ => None,
        }) else {
            return;
        };
        let later = select.projection.iter_mut().skip(position + 1).filter_map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        });
        for expr in later.chain(select.selection.as_mut()) {
            let _ = visit_expressions_mut(expr, |e| {
                if matches!(e, Expr::Identifier(Ident { value, .. }) if value.to_lowercase() == self.name) {
                    *e = Expr::Nested(Box::new(aliased.clone()));
                    self.replaced = true;
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse_statement;

    #[test]
    fn alias_in_where() {
        let mut statement =
            parse_statement("SELECT n.nspname AS TABLE_SCHEM FROM pg_namespace n WHERE TABLE_SCHEM LIKE 'p%'").unwrap();
        assert!(substitute(&mut statement, "table_schem"));
        assert_eq!(
            statement.to_string(),
            "SELECT n.nspname AS TABLE_SCHEM FROM pg_namespace n WHERE (n.nspname) LIKE 'p%'"
        );
        assert!(!substitute(&mut statement, "other"));
        let mut statement = parse_statement("SELECT 'NO' AS flag, flag AS copied FROM t").unwrap();
        assert!(substitute(&mut statement, "flag"));
        assert_eq!(statement.to_string(), "SELECT 'NO' AS flag, ('NO') AS copied FROM t");
    }
}
