//! Small helpers for tests that compare results as text: rows of a simple query (the server's own
//! text rendering, NULL as `None`) and the row count of a command.

use tokio_postgres::{Client, Error, SimpleQueryMessage};

/// The rows `sql` returns, each value as the server printed it.
pub async fn text_rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect()),
            _ => None,
        })
        .collect()
}

/// The row count in the command tag of `sql` (a COPY's loaded rows, an INSERT's rows).
pub async fn command_count(client: &Client, sql: &str) -> Result<u64, Error> {
    let messages = client.simple_query(sql).await?;
    Ok(messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .expect("a command tag"))
}
