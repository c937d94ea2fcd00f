//! Queries: SELECT, WITH and VALUES, planned and run by DataFusion with the scans on the
//! compute nodes. SELECT ... INTO becomes CREATE TABLE AS.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use tokio_stream::wrappers::ReceiverStream;
use futures::{Stream, StreamExt, TryStreamExt};
use arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::sql::parser::Statement as DfStatement;
use sqlparser::ast::{SetExpr, Statement};

use super::{Description, create_table, done};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::planner::{executor, group_by_check, lineage};
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
    if !ctx.in_block {
        // A query on its own writes nothing, however long its rows take to send.
        ctx.session.server.services.txns.reads_only(ctx.txn);
    }
    let (state, _) = ctx.state(None);
    let plan = plan(&state, statement, ctx.params.clone()).await?;
    let (schema, stream) = run(state, plan).await?;
    done(Outcome::Rows { schema, stream })
}

/// Plans a parsed statement, binding the extended protocol's parameters.
pub async fn plan(state: &SessionState, mut statement: Statement, params: Option<ParamValues>) -> Result<LogicalPlan> {
    crate::sql::pg_compat::rewrite(&mut statement);
    // Columns are named before DATEADD and DATEDIFF become expressions, after the functions.
    crate::sql::column_names::name_columns(&mut statement);
    crate::sql::redshift_idioms::rewrite(&mut statement)?;
    crate::sql::cast_types::normalize_casts(&mut statement);
    // Each retry replaces one lateral alias; an alias of itself would never plan, hence a bound.
    let mut retries = 0;
    let plan = loop {
        match state.statement_to_plan(DfStatement::Statement(Box::new(statement.clone()))).await {
            Err(e) if retries < 8 && missing_column(&e).is_some_and(|c| crate::sql::lateral_alias::substitute(&mut statement, &c)) => {
                retries += 1;
            }
            // A statement DataFusion cannot plan may group by an aggregate, which it words badly.
            Err(e) => return Err(group_by_check::grouping_error(&statement, state.aggregate_functions()).unwrap_or_else(|| e.into())),
            Ok(plan) => break plan,
        }
    };
    Ok(match params {
        Some(params) => plan.with_param_values(params)?,
        None => plan,
    })
}

/// The unqualified column that planning could not find, if that is why it failed.
fn missing_column(e: &DataFusionError) -> Option<String> {
    match e.find_root() {
        DataFusionError::SchemaError(error, _) => match error.as_ref() {
            datafusion::common::SchemaError::FieldNotFound { field, .. } if field.relation.is_none() => Some(field.name.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Optimizes, distributes and starts a logical plan; returns its rows and their description.
pub async fn run(state: SessionState, plan: LogicalPlan) -> Result<(SchemaRef, SendableRecordBatchStream)> {
    let cluster = state.config().get_extension::<Cluster>();
    let plan = analyse(&state, plan)?;
    let described = Arc::new(lineage::described_schema(&plan));
    let frame = DataFrame::new(state, plan);
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let stream = on_executor(cluster, schema, frame.execute_stream());
    Ok((described, stream))
}

/// The plan after DataFusion's analyzer. Its type coercion gives UNION branches, CASE and
/// COALESCE their common type, which the planned schema does not show yet (a UNION still has its
/// first branch's types): rows and their description must both come from the analysed schema.
pub fn analyse(state: &SessionState, plan: LogicalPlan) -> Result<LogicalPlan> {
    Ok(state.analyzer().execute_and_check(plan, state.config_options(), |_, _| {})?)
}

/// Runs `start` and the stream it returns on the query runtime (see [`executor`]), feeding the
/// returned stream through a channel: cancellation and timeouts act on the stream at once, and
/// dropping the stream stops the work. An error from a lost connection to a node of `cluster`
/// is reported as that node's failure.
pub fn on_executor<S>(
    cluster: Option<Arc<Cluster>>,
    schema: SchemaRef,
    start: impl Future<Output = std::result::Result<S, DataFusionError>> + Send + 'static,
) -> SendableRecordBatchStream
where
    S: Stream<Item = std::result::Result<RecordBatch, DataFusionError>> + Send + Unpin + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    let name_node = async move |e: DataFusionError| match &cluster {
        Some(cluster) => match cluster.name_lost_node(&e.to_string()).await {
            Some(named) => DataFusionError::External(Box::new(named)),
            None => e,
        },
        None => e,
    };
    let task = executor().spawn(async move {
        let mut stream = match start.await {
            Ok(stream) => stream,
            Err(e) => {
                let _ = sender.send(Err(name_node(e).await)).await;
                return;
            }
        };
        while let Some(batch) = stream.next().await {
            let batch = match batch {
                Ok(batch) => Ok(batch),
                Err(e) => Err(name_node(e).await),
            };
            let failed = batch.is_err();
            if sender.send(batch).await.is_err() || failed {
                break;
            }
        }
    });
    let guard = AbortOnDrop(task);
    let stream = ReceiverStream::new(receiver).map(move |batch| {
        let _running = &guard;
        batch
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

/// Stops a query task when its result stream is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Parameter types in `$1, $2, ...` order. A parameter DataFusion could not type but that is
/// cast (`$1::BIGINT`) takes the cast's type, as in PostgreSQL.
pub fn parameter_types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>> {
    let mut types = plan.get_parameter_types()?;
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if let Expr::Cast(cast) = e
                    && let Expr::Placeholder(placeholder) = cast.expr.as_ref()
                    && let Some(slot @ None) = types.get_mut(&placeholder.id)
                {
                    *slot = Some(cast.field.data_type().clone());
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
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
    let params = parameter_types(&plan)?;
    // Parameters without a type yet can keep the analyzer from typing the plan; execution, with
    // the values bound, casts the rows to the described types (see `encode::encode_batch`).
    let plan = analyse(&state, plan.clone()).unwrap_or(plan);
    Ok(Description {
        params,
        schema: Some(Arc::new(lineage::described_schema(&plan))),
    })
}

/// Runs a plan to completion and returns its single count (DML plans produce one).
pub async fn run_count(state: SessionState, plan: LogicalPlan) -> Result<u64> {
    let (_, stream) = run(state, plan).await?;
    let batches: Vec<_> = stream.try_collect().await?;
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
