//! EXPLAIN [ANALYZE] [VERBOSE]: the distributed plan of a query, in Redshift's `QUERY PLAN` form
//! (see [`crate::planner::explain`]). ANALYZE runs the query first, so the plan carries the rows
//! and bytes each step produced and moved.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::physical_plan::collect;
use datafusion_distributed::{DistributedMetricsFormat, rewrite_distributed_plan_with_metrics};
use sqlparser::ast::Statement;

use super::query::{on_executor, plan};
use super::{Description, done};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::planner::explain::render;
use crate::session::{Outcome, StatementContext, StatementResult};
use crate::sql::parse_statement;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("QUERY PLAN", DataType::Utf8, false)]))
}

pub fn describe() -> Description {
    Description {
        params: Vec::new(),
        schema: Some(schema()),
    }
}

pub async fn explain(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let Statement::Explain {
        statement, analyze, ..
    } = parse_statement(&ctx.statement.text)?
    else {
        return Err(Error::internal("an EXPLAIN statement did not parse as one"));
    };
    if !matches!(*statement, Statement::Query(_)) {
        return Err(Error::unsupported("EXPLAIN is supported for queries (SELECT, WITH, VALUES)"));
    }
    let (state, _) = ctx.state(None);
    let logical = plan(&state, *statement, ctx.params.clone()).await?;
    let schema = schema();
    let output = Arc::clone(&schema);
    let cluster = state.config().get_extension::<Cluster>();
    let stream = on_executor(cluster, Arc::clone(&schema), async move {
        let physical = state.create_physical_plan(&logical).await?;
        let ran = if analyze {
            // Running leaves `physical` as planned; the rewritten copy carries the metrics.
            collect(Arc::clone(&physical), state.task_ctx()).await?;
            Some(rewrite_distributed_plan_with_metrics(Arc::clone(&physical), DistributedMetricsFormat::Aggregated).await?)
        } else {
            None
        };
        let lines = StringArray::from(render(&physical, ran.as_ref()));
        let batch = RecordBatch::try_new(output, vec![Arc::new(lines)])?;
        Ok(futures::stream::iter([Ok(batch)]))
    });
    done(Outcome::Rows { schema, stream })
}
