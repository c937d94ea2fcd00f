//! CREATE [OR REPLACE] VIEW.

use sqlparser::ast::Statement;

use super::{done, query};
use crate::catalog::{SUPERUSER, ViewDef};
use crate::error::{Error, Result};
use crate::session::{Outcome, StatementContext, StatementResult};
use crate::sql::parse_statement;

pub async fn create(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let Statement::CreateView(view) = parse_statement(&ctx.statement.text)? else {
        return Err(Error::syntax("expected CREATE VIEW"));
    };
    if view.materialized {
        return Err(Error::unsupported("materialized views are not supported"));
    }
    let (schema, name) = ctx.target_schema(&view.name, false)?;
    let sql = view.query.to_string();
    let columns: Vec<String> = view.columns.iter().map(|c| c.name.value.to_lowercase()).collect();
    // A view must plan now (unless it is late-binding): its tables and columns must exist.
    if !view.with_no_schema_binding {
        let (state, _) = ctx.state(None);
        let plan = query::plan(&state, Statement::Query(view.query.clone()), None).await?;
        if !columns.is_empty() && columns.len() != plan.schema().fields().len() {
            return Err(Error::syntax(format!(
                "CREATE VIEW specifies {} column names but the query returns {} columns",
                columns.len(),
                plan.schema().fields().len()
            )));
        }
    }
    let catalog = ctx.catalog_mut().await?;
    let oid = catalog.allocate_oid();
    catalog.add_view(
        &schema,
        ViewDef {
            oid,
            name: name.to_lowercase(),
            owner: SUPERUSER.to_string(),
            sql,
            columns,
            no_schema_binding: view.with_no_schema_binding,
            comment: None,
        },
        view.or_replace,
    )?;
    done(Outcome::command("CREATE VIEW"))
}
