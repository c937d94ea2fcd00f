//! TRUNCATE: removes every row of a table (the session commits any open block first).

use sqlparser::ast::Statement;

use super::done;
use crate::error::{Error, Result, SqlState};
use crate::session::{Outcome, StatementContext, StatementResult};
use crate::sql::parse_statement;

pub async fn truncate(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let Statement::Truncate(truncate) = parse_statement(&ctx.statement.text)? else {
        return Err(Error::syntax("expected TRUNCATE"));
    };
    for target in &truncate.table_names {
        let (schema, relation) = ctx.resolve(&target.name)?;
        let table = ctx.catalog().table(&schema, &relation).cloned().ok_or_else(|| {
            Error::new(SqlState::WrongObjectType, format!("\"{relation}\" is not a table"))
        })?;
        ctx.lock_for_write(table.oid, &relation).await?;
        let cluster = std::sync::Arc::clone(&ctx.services().cluster);
        ctx.txn.written_nodes.extend(cluster.nodes.iter().map(|n| n.index));
        cluster.truncate(ctx.txn.xid, table.oid).await?;
        ctx.txn.truncated.insert(table.oid);
    }
    done(Outcome::command("TRUNCATE TABLE"))
}
