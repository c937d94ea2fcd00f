//! INSERT, UPDATE and DELETE.
//!
//! INSERT is planned by DataFusion and written by the table's sink. DELETE and UPDATE find the rows
//! they change with an ordinary query over the table's hidden `__rowid` column — so WHERE clauses
//! may use joins (`USING`, `FROM`) and subqueries — then mark those rows deleted on their slices;
//! UPDATE writes the new versions of the rows as an insert, which also moves a row whose distkey
//! changed to its new slice.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::UInt64Type;
use datafusion::execution::SessionState;
use futures::StreamExt;
use roaring::RoaringBitmap;
use sqlparser::ast::{
    AssignmentTarget, FromTable, Statement, TableFactor, TableObject, TableWithJoins, UpdateTableFromKind,
};

use super::{Description, done, query};
use crate::catalog::TableDef;
use crate::catalog::provider::write_batches;
use crate::error::{Error, Result, SqlState};
use crate::session::{Outcome, StatementContext, StatementResult};
use crate::sql::{StatementText, parse_statement};
use blueshift_storage::{ROWID_COLUMN, decode_rowid};

/// The table a write targets, locked for the transaction.
async fn target_table(ctx: &mut StatementContext<'_>, name: &sqlparser::ast::ObjectName) -> Result<(String, TableDef)> {
    let (schema, relation) = ctx.resolve(name)?;
    let catalog = ctx.catalog();
    let def = catalog.table(&schema, &relation).cloned().ok_or_else(|| {
        Error::new(
            SqlState::WrongObjectType,
            format!("cannot change view \"{relation}\": views are read-only"),
        )
    })?;
    ctx.lock_for_write(def.oid, &relation).await?;
    Ok((schema, def))
}

pub async fn insert(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let statement = parse_statement(&ctx.statement.text)?;
    let Statement::Insert(insert) = &statement else {
        return Err(Error::syntax("expected INSERT"));
    };
    let TableObject::TableName(name) = &insert.table else {
        return Err(Error::unsupported("INSERT into a table function is not supported"));
    };
    let (_, table) = target_table(ctx, name).await?;
    let (state, writes) = ctx.state(None);
    let plan = query::plan(&state, statement.clone(), ctx.params.clone()).await?;
    let rows = query::run_count(state, plan).await;
    ctx.record_writes(&writes);
    let rows = rows?;
    *ctx.txn.row_deltas.entry(table.oid).or_default() += rows as i64;
    done(Outcome::count("INSERT", rows))
}

/// The name a query uses for the target table: its alias, or its own name.
fn qualifier(target: &TableWithJoins) -> Result<(sqlparser::ast::ObjectName, String)> {
    match &target.relation {
        TableFactor::Table { name, alias, .. } => {
            let qualifier = match alias {
                Some(alias) => alias.name.value.to_lowercase(),
                None => name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.to_lowercase())
                    .unwrap_or_default(),
            };
            Ok((name.clone(), qualifier))
        }
        _ => Err(Error::unsupported("the target of UPDATE or DELETE must be a table")),
    }
}

fn from_list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// Runs the row-finding query and returns its batches.
async fn find_rows(ctx: &StatementContext<'_>, schema: &str, table: &str, sql: &str) -> Result<Vec<RecordBatch>> {
    let (state, _) = ctx.state(Some((schema.to_string(), table.to_string())));
    let plan = query::plan(&state, parse_statement(sql)?, ctx.params.clone()).await?;
    let (_, mut stream) = query::run(state, plan).await?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch?);
    }
    Ok(batches)
}

/// Row positions to delete, per (slice, segment).
#[derive(Default)]
struct RowSet {
    rows: HashMap<(u32, u64), RoaringBitmap>,
}

impl RowSet {
    /// Adds a row; returns false if it was already there.
    fn insert(&mut self, rowid: u64) -> bool {
        let (slice, segment, position) = decode_rowid(rowid);
        self.rows.entry((slice, segment)).or_default().insert(position)
    }

    /// Rows on `slices` (for ALL tables, one copy's worth of rows).
    fn count_on(&self, slices: Option<u32>) -> u64 {
        self.rows
            .iter()
            .filter(|((slice, _), _)| slices.is_none_or(|s| s == *slice))
            .map(|(_, b)| b.len())
            .sum()
    }
}

/// Marks rows deleted on their nodes, recording the nodes in the transaction.
async fn delete_rows(ctx: &mut StatementContext<'_>, table: &TableDef, rows: &RowSet) -> Result<()> {
    let cluster = Arc::clone(&ctx.services().cluster);
    let nodes: BTreeSet<usize> = rows.rows.keys().map(|(slice, _)| cluster.node_of_slice(*slice).index).collect();
    ctx.txn.written_nodes.extend(nodes);
    cluster.delete_rows(ctx.txn.xid, table.oid, &rows.rows).await
}

/// For DISTSTYLE ALL tables, the slice of the copy whose rows count (every copy has every row).
fn counted_copy(ctx: &StatementContext<'_>, table: &TableDef) -> Option<u32> {
    table
        .dist_style
        .is_all()
        .then(|| ctx.services().cluster.all_copy_slices()[0])
}

pub async fn delete(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let statement = parse_statement(&ctx.statement.text)?;
    let Statement::Delete(delete) = &statement else {
        return Err(Error::syntax("expected DELETE"));
    };
    let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
    let target = from.first().ok_or_else(|| Error::syntax("DELETE without a table"))?;
    let (name, qualifier) = qualifier(target)?;
    let (schema, table) = target_table(ctx, &name).await?;
    let sources = from
        .iter()
        .chain(delete.using.iter().flatten())
        .map(|t| t.to_string());
    let mut sql = format!("SELECT {qualifier}.\"{ROWID_COLUMN}\" FROM {}", from_list(sources));
    if let Some(selection) = &delete.selection {
        sql.push_str(&format!(" WHERE {selection}"));
    }
    let batches = find_rows(ctx, &schema, &table.name, &sql).await?;
    let mut rows = RowSet::default();
    for batch in &batches {
        let ids = batch.column(0).as_primitive::<UInt64Type>();
        for rowid in ids.iter().flatten() {
            rows.insert(rowid);
        }
    }
    let count = rows.count_on(counted_copy(ctx, &table));
    delete_rows(ctx, &table, &rows).await?;
    *ctx.txn.row_deltas.entry(table.oid).or_default() -= count as i64;
    done(Outcome::count("DELETE", count))
}

pub async fn update(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let statement = parse_statement(&ctx.statement.text)?;
    let Statement::Update(update) = &statement else {
        return Err(Error::syntax("expected UPDATE"));
    };
    let (name, qualifier) = qualifier(&update.table)?;
    let (schema, table) = target_table(ctx, &name).await?;
    let mut assigned: HashMap<String, String> = HashMap::new();
    for assignment in &update.assignments {
        let AssignmentTarget::ColumnName(column) = &assignment.target else {
            return Err(Error::unsupported("UPDATE of a column tuple is not supported"));
        };
        let column = column
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.to_lowercase())
            .unwrap_or_default();
        let Some(def) = table.column(&column) else {
            return Err(Error::new(
                SqlState::UndefinedColumn,
                format!("column \"{column}\" of relation \"{}\" does not exist", table.name),
            ));
        };
        if def.identity.is_some_and(|i| !i.by_default) {
            return Err(Error::unsupported(format!(
                "cannot update an identity column: column \"{column}\""
            )));
        }
        assigned.insert(column, format!("({})", assignment.value));
    }
    let values = table.columns.iter().map(|c| {
        assigned
            .get(&c.name)
            .cloned()
            .unwrap_or_else(|| format!("{qualifier}.\"{}\"", c.name))
    });
    let select_list = std::iter::once(format!("{qualifier}.\"{ROWID_COLUMN}\""))
        .chain(values)
        .collect::<Vec<_>>()
        .join(", ");
    let extra = match &update.from {
        Some(UpdateTableFromKind::AfterSet(t) | UpdateTableFromKind::BeforeSet(t)) => t.clone(),
        None => vec![],
    };
    let sources = std::iter::once(update.table.to_string()).chain(extra.iter().map(|t| t.to_string()));
    let mut sql = format!("SELECT {select_list} FROM {}", from_list(sources));
    if let Some(selection) = &update.selection {
        sql.push_str(&format!(" WHERE {selection}"));
    }
    let batches = find_rows(ctx, &schema, &table.name, &sql).await?;
    // Each row is updated once, even if a join matched it several times; for ALL tables the new
    // rows are taken from one copy and every copy's old rows are deleted.
    let copy = counted_copy(ctx, &table);
    let mut rows = RowSet::default();
    let mut new_rows = Vec::new();
    for batch in &batches {
        let ids = batch.column(0).as_primitive::<UInt64Type>();
        let keep: Vec<u32> = (0..batch.num_rows())
            .filter(|&i| {
                let rowid = ids.value(i);
                rows.insert(rowid) && copy.is_none_or(|s| decode_rowid(rowid).0 == s)
            })
            .map(|i| i as u32)
            .collect();
        let values = batch.project(&(1..batch.num_columns()).collect::<Vec<_>>())?;
        new_rows.push(take_record_batch(&values, &UInt32Array::from(keep))?);
    }
    let count = rows.count_on(copy);
    delete_rows(ctx, &table, &rows).await?;
    let writes = crate::catalog::provider::WriteLog::default();
    let result = write_batches(
        ctx.services(),
        &Arc::new(table),
        ctx.txn.xid,
        futures::stream::iter(new_rows.into_iter().map(Ok)).boxed(),
        &writes,
        true,
    )
    .await;
    ctx.record_writes(&writes);
    result?;
    done(Outcome::count("UPDATE", count))
}

pub async fn describe(state: SessionState, statement: &StatementText) -> Result<Description> {
    // INSERT plans as it is. UPDATE and DELETE are typed through a SELECT over the same tables
    // with the same conditions, comparing each assigned column with its new value (clients such
    // as asyncpg need the parameter count and types before they bind).
    let parsed = parse_statement(&statement.text)?;
    let plan = match &parsed {
        Statement::Insert(insert) => match query::plan(&state, parsed.clone(), None).await {
            Ok(plan) => plan,
            // An INSERT into an external table writes files rather than planning as DataFusion's
            // insert: its query alone gives the parameter types. Other INSERTs fail as they will
            // when run.
            Err(e) => match &insert.source {
                Some(source) => query::plan(&state, Statement::Query(source.clone()), None).await.map_err(|_| e)?,
                None => return Err(e),
            },
        },
        other => {
            // A probe that does not plan leaves the types to the client, as before.
            let probe = parameter_probe(other).and_then(|p| parse_statement(&p).ok());
            match probe {
                Some(probe) => match query::plan(&state, probe, None).await {
                    Ok(plan) => plan,
                    Err(_) => return Ok(Description::default()),
                },
                None => return Ok(Description::default()),
            }
        }
    };
    Ok(Description {
        params: query::parameter_types(&plan)?,
        schema: None,
    })
}

/// A SELECT whose parameters are those of an UPDATE or DELETE, with the same types.
fn parameter_probe(statement: &Statement) -> Option<String> {
    let join = |tables: &[sqlparser::ast::TableWithJoins]| tables.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let condition = |selection: &Option<sqlparser::ast::Expr>| selection.as_ref().map(|e| format!(" WHERE {e}")).unwrap_or_default();
    match statement {
        Statement::Update(update) => {
            let comparisons: Vec<String> = update
                .assignments
                .iter()
                .filter_map(|a| match &a.target {
                    sqlparser::ast::AssignmentTarget::ColumnName(column) => Some(format!("{column} = ({})", a.value)),
                    sqlparser::ast::AssignmentTarget::Tuple(_) => None,
                })
                .collect();
            let mut tables = vec![update.table.clone()];
            if let Some(sqlparser::ast::UpdateTableFromKind::BeforeSet(from) | sqlparser::ast::UpdateTableFromKind::AfterSet(from)) = &update.from {
                tables.extend(from.iter().cloned());
            }
            Some(format!("SELECT {} FROM {}{}", comparisons.join(", "), join(&tables), condition(&update.selection)))
        }
        Statement::Delete(delete) => {
            let (sqlparser::ast::FromTable::WithFromKeyword(from) | sqlparser::ast::FromTable::WithoutKeyword(from)) = &delete.from;
            let mut tables = from.clone();
            tables.extend(delete.using.iter().flatten().cloned());
            Some(format!("SELECT 1 FROM {}{}", join(&tables), condition(&delete.selection)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_sets_deduplicate_and_count_per_copy() {
        let mut rows = RowSet::default();
        assert!(rows.insert(blueshift_storage::encode_rowid(0, 1, 5)));
        assert!(!rows.insert(blueshift_storage::encode_rowid(0, 1, 5)));
        assert!(rows.insert(blueshift_storage::encode_rowid(2, 1, 5)));
        assert_eq!(rows.count_on(None), 2);
        assert_eq!(rows.count_on(Some(2)), 1);
    }
}
