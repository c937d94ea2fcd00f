//! DROP TABLE, DROP VIEW and DROP SCHEMA.

use sqlparser::ast::{ObjectType, Statement};

use crate::error::{Error, Result, SqlState};
use crate::session::{Notice, Outcome, StatementContext, StatementResult, split_name};
use crate::sql::parse_statement;

pub async fn drop(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let Statement::Drop {
        object_type,
        if_exists,
        names,
        cascade,
        ..
    } = parse_statement(&ctx.statement.text)?
    else {
        return Err(Error::unsupported(format!(
            "{} is not supported",
            ctx.statement.keywords.join(" ")
        )));
    };
    let mut notices = Vec::new();
    let tag = match object_type {
        ObjectType::Table => "DROP TABLE",
        ObjectType::View => "DROP VIEW",
        ObjectType::Schema => "DROP SCHEMA",
        other => return Err(Error::unsupported(format!("DROP {other} is not supported"))),
    };
    for name in &names {
        if object_type == ObjectType::Schema {
            let (_, schema) = split_name(name)?;
            let catalog = ctx.catalog_mut().await?;
            if !catalog.schemas.contains_key(&schema) && if_exists {
                notices.push(Notice::notice(format!("schema \"{schema}\" does not exist, skipping")));
                continue;
            }
            let dropped = catalog.drop_schema(&schema, if_exists, cascade)?;
            ctx.txn.dropped_tables.extend(dropped);
            continue;
        }
        let (schema, relation) = match ctx.resolve(name) {
            Ok(found) => found,
            Err(e) if if_exists && e.state == SqlState::UndefinedTable => {
                let (_, relation) = split_name(name)?;
                let kind = if object_type == ObjectType::Table { "table" } else { "view" };
                notices.push(Notice::notice(format!("{kind} \"{relation}\" does not exist, skipping")));
                continue;
            }
            Err(e) => return Err(e),
        };
        let catalog = ctx.catalog_mut().await?;
        match object_type {
            ObjectType::Table => {
                if catalog.view(&schema, &relation).is_some() {
                    return Err(not_a(&relation, "table", "DROP VIEW"));
                }
                let table = catalog.remove_table(&schema, &relation)?;
                ctx.txn.dropped_tables.push(table.oid);
            }
            _ => {
                if catalog.table(&schema, &relation).is_some() {
                    return Err(not_a(&relation, "view", "DROP TABLE"));
                }
                catalog.remove_view(&schema, &relation)?;
            }
        }
    }
    Ok(StatementResult {
        notices,
        outcome: Outcome::command(tag),
    })
}

fn not_a(name: &str, kind: &str, hint: &str) -> Error {
    Error::new(SqlState::WrongObjectType, format!("\"{name}\" is not a {kind}"))
        .with_hint(format!("Use {hint} to remove it."))
}
