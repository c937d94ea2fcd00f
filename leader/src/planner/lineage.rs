//! Where result columns come from: the table OID and attribute number that RowDescription
//! reports for a column read straight from a table, as PostgreSQL and Redshift do (0 for
//! anything computed). Drivers read them: pgjdbc's ResultSetMetaData (getBaseTableName,
//! getBaseColumnName), psycopg's `cursor.description`.
//!
//! They are traced on the logical plan and put on the described schema's fields as metadata,
//! rather than carried from the table providers' schemas as Arrow field metadata: that would
//! have to survive the distributed scans, whose batches come from the compute nodes.

use std::collections::HashMap;

use arrow::datatypes::{Field, Schema};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Distinct, Expr, JoinType, LogicalPlan};

use crate::catalog::provider::BlueshiftTable;

/// Field metadata keys of the described schema.
pub const TABLE_OID: &str = "blueshift.table_oid";
pub const ATTNUM: &str = "blueshift.attnum";

/// A column's table OID and attribute number, for a column read straight from a table.
type Source = Option<(u32, i16)>;

/// `plan`'s output schema with each table column's source as field metadata.
pub fn described_schema(plan: &LogicalPlan) -> Schema {
    let schema = plan.schema().as_arrow();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(sources(plan))
        .map(|(field, source)| match source {
            Some((oid, attnum)) => {
                let mut metadata = field.metadata().clone();
                metadata.insert(TABLE_OID.into(), oid.to_string());
                metadata.insert(ATTNUM.into(), attnum.to_string());
                field.as_ref().clone().with_metadata(metadata)
            }
            None => field.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, HashMap::new())
}

/// A described field's source, if it has one.
pub fn source(field: &Field) -> Source {
    let metadata = field.metadata();
    Some((metadata.get(TABLE_OID)?.parse().ok()?, metadata.get(ATTNUM)?.parse().ok()?))
}

/// The source of each output column of `plan` (all `None` where the plan's shape is not known).
fn sources(plan: &LogicalPlan) -> Vec<Source> {
    let width = plan.schema().fields().len();
    let traced = match plan {
        LogicalPlan::TableScan(scan) => table_columns(scan),
        LogicalPlan::Projection(p) => p.expr.iter().map(|e| column_source(e, &p.input)).collect(),
        LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Repartition(_)
        | LogicalPlan::Distinct(Distinct::All(_)) => sources(plan.inputs()[0]),
        LogicalPlan::Join(join) => match join.join_type {
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                sources(&join.left).into_iter().chain(sources(&join.right)).collect()
            }
            JoinType::LeftSemi | JoinType::LeftAnti => sources(&join.left),
            JoinType::RightSemi | JoinType::RightAnti => sources(&join.right),
            _ => Vec::new(),
        },
        LogicalPlan::Aggregate(aggregate) => aggregate
            .group_expr
            .iter()
            .map(|e| column_source(e, &aggregate.input))
            .chain(aggregate.aggr_expr.iter().map(|_| None))
            .collect(),
        LogicalPlan::Window(window) => sources(&window.input)
            .into_iter()
            .chain(window.window_expr.iter().map(|_| None))
            .collect(),
        _ => Vec::new(),
    };
    if traced.len() == width { traced } else { vec![None; width] }
}

/// The source of `expr` when it is a plain (possibly renamed) column of `input`.
fn column_source(expr: &Expr, input: &LogicalPlan) -> Source {
    match expr {
        Expr::Alias(alias) => column_source(&alias.expr, input),
        Expr::Column(column) => {
            let index = input.schema().index_of_column(column).ok()?;
            sources(input).get(index).copied().flatten()
        }
        _ => None,
    }
}

/// The columns a scan of a Blueshift table returns; other relations (system tables, external
/// tables) have no attribute numbers to report.
fn table_columns(scan: &datafusion::logical_expr::TableScan) -> Vec<Source> {
    let table = source_as_provider(&scan.source)
        .ok()
        .and_then(|provider| provider.downcast_ref::<BlueshiftTable>().map(|t| std::sync::Arc::clone(t.def())));
    let Some(table) = table else {
        return Vec::new();
    };
    let all: Vec<usize> = (0..scan.source.schema().fields().len()).collect();
    scan.projection
        .as_ref()
        .unwrap_or(&all)
        .iter()
        .map(|&i| (i < table.columns.len()).then(|| (table.oid, i as i16 + 1)))
        .collect()
}
