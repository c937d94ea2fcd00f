//! CREATE SCHEMA.

use sqlparser::ast::{SchemaName, Statement};

use super::done;
use crate::catalog::SUPERUSER;
use crate::error::{Error, Result};
use crate::session::{Notice, Outcome, StatementContext, StatementResult, split_name};
use crate::sql::parse_statement;

pub async fn create(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let Statement::CreateSchema {
        schema_name,
        if_not_exists,
        ..
    } = parse_statement(&ctx.statement.text)?
    else {
        return Err(Error::syntax("expected CREATE SCHEMA"));
    };
    let (name, owner) = match &schema_name {
        SchemaName::Simple(name) => (split_name(name)?.1, SUPERUSER.to_string()),
        SchemaName::NamedAuthorization(name, owner) => (split_name(name)?.1, owner.value.to_lowercase()),
        SchemaName::UnnamedAuthorization(owner) => (owner.value.to_lowercase(), owner.value.to_lowercase()),
    };
    let created = ctx.catalog_mut().await?.create_schema(&name, &owner, if_not_exists)?;
    let notices = if created {
        vec![]
    } else {
        vec![Notice::notice(format!("schema \"{name}\" already exists, skipping"))]
    };
    Ok(StatementResult {
        notices,
        outcome: Outcome::command("CREATE SCHEMA"),
    })
    .and_then(|r| done(r.outcome).map(|d| StatementResult { notices: r.notices, ..d }))
}
