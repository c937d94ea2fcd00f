//! Statement handlers, one module per statement family. [`execute`] routes a statement by its
//! leading keywords; anything that is neither a Redshift-specific statement nor DDL goes to
//! DataFusion through [`query`].

pub mod alter_table;
pub mod comment;
pub mod copy;
pub mod create_table;
pub mod cursor;
pub mod drop;
pub mod dml;
pub mod explain;
pub mod external;
pub mod query;
pub mod schema;
pub mod truncate;
pub mod unload;
pub mod vacuum;
pub mod view;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::execution::SessionState;
use futures::FutureExt;

use crate::error::{Error, Result};
use crate::session::{Outcome, Session, StatementContext, StatementResult};
use crate::sql::StatementText;

/// A statement's shape, for the extended protocol's Describe.
#[derive(Debug, Clone, Default)]
pub struct Description {
    /// Inferred type of each `$n` parameter (`None`: unknown).
    pub params: Vec<Option<DataType>>,
    /// Result columns, for statements that return rows.
    pub schema: Option<SchemaRef>,
}

pub(crate) fn done(outcome: Outcome) -> Result<StatementResult> {
    Ok(StatementResult {
        notices: Vec::new(),
        outcome,
    })
}

/// Runs a statement. A panic in a handler becomes an internal ERROR for this statement (and so
/// aborts its transaction) instead of tearing down the client's connection.
pub async fn execute(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    contain_panics(route(ctx)).await
}

async fn route(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let statement = ctx.statement;
    let k = |words: &[&str]| statement.starts_with(words);
    if k(&["CREATE", "EXTERNAL", "SCHEMA"]) {
        return external::create_schema(ctx).await;
    }
    if k(&["CREATE", "EXTERNAL", "TABLE"]) {
        return external::create_table(ctx).await;
    }
    if k(&["DROP", "EXTERNAL", "TABLE"]) {
        return external::drop_table(ctx).await;
    }
    if k(&["ALTER", "TABLE"]) && let Some(result) = external::alter(ctx).await? {
        return Ok(result);
    }
    if matches!(statement.first(), "UPDATE" | "DELETE" | "TRUNCATE") {
        external::refuse_write(ctx)?;
    }
    if k(&["CREATE", "SCHEMA"]) {
        return schema::create(ctx).await;
    }
    if k(&["CREATE", "VIEW"]) || k(&["CREATE", "OR", "REPLACE", "VIEW"]) {
        return view::create(ctx).await;
    }
    if statement.first() == "CREATE" && statement.keywords.iter().any(|w| w == "TABLE") {
        return create_table::create(ctx).await;
    }
    match statement.first() {
        "DROP" => drop::drop(ctx).await,
        "ALTER" if k(&["ALTER", "TABLE"]) => alter_table::alter(ctx).await,
        "TRUNCATE" => truncate::truncate(ctx).await,
        "INSERT" => match external::write::insert(ctx).await? {
            Some(result) => Ok(result),
            None => dml::insert(ctx).await,
        },
        "UPDATE" => dml::update(ctx).await,
        "DELETE" => dml::delete(ctx).await,
        "EXPLAIN" => explain::explain(ctx).await,
        "SELECT" | "WITH" | "VALUES" | "" => query::query(ctx).await,
        // Statistics are advisory: the planner reads row counts from the compute nodes.
        "ANALYZE" => done(Outcome::command("ANALYZE")),
        "DECLARE" => cursor::declare(ctx).await,
        "FETCH" => cursor::fetch(ctx).await,
        "CLOSE" => cursor::close(ctx).await,
        "COPY" => copy::copy(ctx).await,
        "UNLOAD" => unload::unload(ctx).await,
        "COMMENT" => comment::comment(ctx).await,
        "GRANT" | "REVOKE" => Err(Error::unsupported(
            format!("{} is not supported yet", statement.first()),
        )),
        _ => {
            // Let the parser report syntax errors precisely; anything that parses is unsupported.
            crate::sql::parse_statement(&statement.text)?;
            Err(Error::unsupported(format!(
                "statement {} is not supported",
                statement.keywords.join(" ")
            )))
        }
    }
}

/// Describes a statement without running it.
pub async fn describe(session: &Arc<Session>, state: SessionState, statement: &StatementText) -> Result<Description> {
    contain_panics(describe_statement(session, state, statement)).await
}

async fn describe_statement(session: &Arc<Session>, state: SessionState, statement: &StatementText) -> Result<Description> {
    match statement.first() {
        "EXPLAIN" => Ok(explain::describe()),
        "SELECT" | "WITH" | "VALUES" | "" => query::describe(state, statement).await,
        "INSERT" | "UPDATE" | "DELETE" => dml::describe(state, statement).await,
        "FETCH" => cursor::describe(session, statement),
        "SHOW" => {
            let name = statement.keywords.get(1).cloned().unwrap_or_default().to_lowercase();
            let outcome = Outcome::text_rows(&name, vec![]);
            let Outcome::Rows { schema, .. } = outcome else {
                unreachable!()
            };
            let _ = session;
            Ok(Description {
                params: vec![],
                schema: Some(schema),
            })
        }
        _ => Ok(Description::default()),
    }
}

async fn contain_panics<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let cause = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            tracing::error!(%cause, "statement handler panicked");
            Err(Error::internal(format!("internal error while running the statement: {cause}")))
        }
    }
}

/// Drops a closing session's temporary tables in a transaction of their own.
pub async fn drop_temp_tables(session: &Arc<Session>) -> Result<()> {
    let services = &session.server.services;
    let tables = services.txns.catalog().temp_tables_of(session.pid);
    let temp_schema = session.temp_schema();
    if tables.is_empty() && !services.txns.catalog().schemas.contains_key(&temp_schema) {
        return Ok(());
    }
    let mut txn = services.txns.begin().await?;
    let result = async {
        let catalog = services.txns.catalog_for_ddl(&mut txn).await?;
        let dropped = catalog.drop_schema(&temp_schema, true, true)?;
        txn.dropped_tables.extend(dropped);
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => services.txns.commit(txn).await,
        Err(e) => {
            services.txns.abort(txn).await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_becomes_an_internal_error() {
        let result: Result<()> = contain_panics(async { panic!("slice 3 vanished") }).await;
        let error = result.unwrap_err();
        assert_eq!(error.state.code(), "XX000");
        assert!(error.message.contains("slice 3 vanished"), "{}", error.message);
    }
}
