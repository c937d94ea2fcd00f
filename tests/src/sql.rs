//! Small helpers for tests that compare results as text: rows of a simple query (the server's own
//! text rendering, NULL as `None`), the row count of a command, and the notices a client receives.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio_postgres::{AsyncMessage, Client, Error, NoTls, SimpleQueryMessage};

/// A client of the leader on `port` whose INFO and NOTICE messages are collected.
pub async fn connect_with_notices(port: u16) -> (Client, Arc<Mutex<Vec<String>>>) {
    let (client, mut connection) = tokio_postgres::connect(&format!("host=127.0.0.1 port={port} user=awsuser dbname=dev"), NoTls)
        .await
        .unwrap();
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&notices);
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notice(notice) = message {
                sink.lock().unwrap().push(notice.message().to_string());
            }
        }
    });
    (client, notices)
}

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
