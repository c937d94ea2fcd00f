//! Queries: SELECT, WITH, VALUES and EXPLAIN, planned and run by DataFusion with the scans on the
//! compute nodes. SELECT ... INTO becomes CREATE TABLE AS.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement as DfStatement;
use sqlparser::ast::{SetExpr, Statement};

use super::{Description, create_table, done};
use crate::error::{Error, Result};
use crate::session::{Outcome, StatementContext, StatementResult};
use crate::sql::{StatementText, parse_statement};

pub async fn query(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let statement = parse_statement(&ctx.statement.text)?;
    if let Statement::Query(query) = &statement
        && let SetExpr::Select(select) = query.body.as_ref()
        && select.into.is_some()
    {
        return create_table::select_into(ctx, query).await;
    }
    let (state, _) = ctx.state(None);
    let plan = plan(&state, statement, ctx.params.clone()).await?;
    let (schema, stream) = run(state, plan).await?;
    done(Outcome::Rows { schema, stream })
}

/// Plans a parsed statement, binding the extended protocol's parameters.
pub async fn plan(state: &SessionState, mut statement: Statement, params: Option<ParamValues>) -> Result<LogicalPlan> {
    crate::sql::column_names::name_columns(&mut statement);
    let plan = state
        .statement_to_plan(DfStatement::Statement(Box::new(statement)))
        .await?;
    Ok(match params {
        Some(params) => plan.with_param_values(params)?,
        None => plan,
    })
}

/// Optimizes, distributes and starts a logical plan.
pub async fn run(state: SessionState, plan: LogicalPlan) -> Result<(SchemaRef, datafusion::execution::SendableRecordBatchStream)> {
    let frame = DataFrame::new(state, plan);
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let stream = frame.execute_stream().await?;
    Ok((schema, stream))
}

/// Parameter types in `$1, $2, ...` order.
pub fn parameter_types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>> {
    let types = plan.get_parameter_types()?;
    let count = types
        .keys()
        .filter_map(|k| k.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()))
        .max()
        .unwrap_or(0);
    Ok((1..=count)
        .map(|i| types.get(&format!("${i}")).cloned().flatten())
        .collect())
}

pub async fn describe(state: SessionState, statement: &StatementText) -> Result<Description> {
    let parsed = parse_statement(&statement.text)?;
    if let Statement::Query(query) = &parsed
        && let SetExpr::Select(select) = query.body.as_ref()
        && select.into.is_some()
    {
        return Ok(Description::default());
    }
    let plan = plan(&state, parsed, None).await?;
    Ok(Description {
        params: parameter_types(&plan)?,
        schema: Some(Arc::new(plan.schema().as_arrow().clone())),
    })
}

/// Runs a plan to completion and returns its single count (DML plans produce one).
pub async fn run_count(state: SessionState, plan: LogicalPlan) -> Result<u64> {
    let frame = DataFrame::new(state, plan);
    let batches = frame.collect().await?;
    let count = batches
        .iter()
        .filter(|b| b.num_rows() > 0)
        .map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
                .map(|a| a.value(0))
                .ok_or_else(|| Error::internal("a write returned no count"))
        })
        .sum::<Result<u64>>()?;
    Ok(count)
}
