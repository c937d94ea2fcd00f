//! COMMENT ON { TABLE | VIEW | COLUMN } name IS 'text' | NULL. The text is kept in the catalog
//! with the object (so it is dropped and renamed with it) and shows in `pg_description`,
//! `obj_description` and `col_description`, where JDBC's REMARKS and SQLAlchemy's
//! `get_table_comment` read it. Redshift also comments on constraints and databases; Blueshift
//! does not yet.

use sqlparser::ast::{CommentObject, ObjectName, Statement};

use super::done;
use crate::error::{Error, Result, SqlState};
use crate::session::{Outcome, StatementContext, StatementResult};
use crate::sql::parse_statement;

pub async fn comment(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let Statement::Comment { object_type, object_name, comment, if_exists } = parse_statement(&ctx.statement.text)? else {
        return Err(Error::syntax("expected COMMENT ON"));
    };
    let (relation, column) = match object_type {
        CommentObject::Table | CommentObject::View => (object_name, None),
        CommentObject::Column => {
            let mut parts = object_name.0.clone();
            let column = parts.pop().and_then(|p| p.as_ident().map(|i| i.value.clone()));
            match column {
                Some(column) if !parts.is_empty() => (ObjectName(parts), Some(column)),
                _ => return Err(Error::syntax("COMMENT ON COLUMN needs table.column")),
            }
        }
        other => return Err(Error::unsupported(format!("COMMENT ON {other} is not supported"))),
    };
    let (schema, name) = match ctx.resolve(&relation) {
        Ok(found) => found,
        Err(e) if if_exists && e.state == SqlState::UndefinedTable => return done(Outcome::command("COMMENT")),
        Err(e) => return Err(e),
    };
    let catalog = ctx.catalog_mut().await?;
    let definitions = catalog.schema_mut(&schema)?;
    let not_a = |kind: &str| Error::new(SqlState::WrongObjectType, format!("\"{name}\" is not a {kind}"));
    let target = match (object_type, definitions.tables.get_mut(&name), definitions.views.get_mut(&name)) {
        (CommentObject::View, _, Some(view)) => &mut view.comment,
        (CommentObject::View, _, None) => return Err(not_a("view")),
        (CommentObject::Table, Some(table), _) => &mut table.comment,
        (CommentObject::Table, None, _) => return Err(not_a("table")),
        (_, Some(table), _) => {
            let column = super::create_table::ident(&column.expect("a column comment"));
            let found = table.columns.iter_mut().find(|c| c.name == column);
            &mut found
                .ok_or_else(|| {
                    Error::new(SqlState::UndefinedColumn, format!("column \"{column}\" of relation \"{name}\" does not exist"))
                })?
                .comment
        }
        (_, None, _) => return Err(Error::unsupported("comments on view columns are not supported")),
    };
    *target = comment.filter(|c| !c.is_empty());
    done(Outcome::command("COMMENT"))
}
