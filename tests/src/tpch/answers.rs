//! Expected and actual answers to the TPC-H queries, as text rows: the cluster's over the wire,
//! the expected ones from a single-node DataFusion session over the same Arrow batches, and a
//! comparison that allows for the last digits of computed decimals and floats.

use std::sync::Arc;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::Table;

/// A result: rows of text values, `None` for NULL.
pub type Rows = Vec<Vec<Option<String>>>;

/// Relative difference allowed between two numbers: aggregates of decimals may round their last
/// digit differently when computed in per-slice partials.
const TOLERANCE: f64 = 1e-9;

/// A single-node DataFusion session with every table registered in memory.
pub fn reference_session(tables: &[Table]) -> SessionContext {
    let ctx = SessionContext::new();
    for table in tables {
        let schema = table.batches[0].schema();
        let memory = MemTable::try_new(schema, vec![table.batches.clone()]).expect("batches match their schema");
        ctx.register_table(table.name, Arc::new(memory)).expect("a new table name");
    }
    ctx
}

/// The reference answer to `sql`.
pub async fn reference(ctx: &SessionContext, sql: &str) -> Result<Rows, DataFusionError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    for batch in &batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, c)| (!c.is_null(row)).then(|| f.value(row).to_string()))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// The cluster's answer to `sql`, in the simple query protocol's text format.
pub async fn blueshift(client: &Client, sql: &str) -> Result<Rows, tokio_postgres::Error> {
    Ok(client
        .simple_query(sql)
        .await?
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect()),
            _ => None,
        })
        .collect())
}

/// Checks that `actual` has the rows of `expected`, in the same order; describes the first
/// difference otherwise.
pub fn compare(actual: &Rows, expected: &Rows) -> Result<(), String> {
    compare_within(actual, expected, TOLERANCE)
}

/// [`compare`], numbers allowed to differ by `tolerance` relative to their size (absolute below
/// 1): for engines that give averages other scales.
pub fn compare_within(actual: &Rows, expected: &Rows, tolerance: f64) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "{} rows instead of {}; first rows {:?} instead of {:?}",
            actual.len(),
            expected.len(),
            actual.first(),
            expected.first()
        ));
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let same = a.len() == e.len() && a.iter().zip(e).all(|(a, e)| same_value(a.as_deref(), e.as_deref(), tolerance));
        if !same {
            return Err(format!("row {i} is {a:?} instead of {e:?}"));
        }
    }
    Ok(())
}

fn same_value(actual: Option<&str>, expected: Option<&str>, tolerance: f64) -> bool {
    match (actual, expected) {
        (Some(a), Some(e)) if a != e => match (a.parse::<f64>(), e.parse::<f64>()) {
            (Ok(a), Ok(e)) => (a - e).abs() <= tolerance * a.abs().max(e.abs()).max(1.0),
            _ => false,
        },
        (a, e) => a == e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_with_tolerance_and_text_exactly() {
        assert!(same_value(Some("1.50"), Some("1.5"), TOLERANCE));
        assert!(same_value(Some("1234567.1234567890"), Some("1234567.123456789"), TOLERANCE));
        assert!(!same_value(Some("1234567.12"), Some("1234567.13"), TOLERANCE));
        assert!(!same_value(Some("R"), Some("A"), TOLERANCE));
        assert!(!same_value(None, Some("0"), TOLERANCE));
        assert!(same_value(None, None, TOLERANCE));
        let rows = |v: &str| vec![vec![Some(v.to_string())]];
        assert!(compare(&rows("2"), &rows("2.0")).is_ok());
        assert!(compare(&rows("2"), &vec![]).unwrap_err().contains("1 rows instead of 0"));
    }
}
