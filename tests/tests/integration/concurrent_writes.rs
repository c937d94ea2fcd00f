//! Concurrent writers of one table, as in Redshift's "Concurrent write examples": a COPY, INSERT,
//! DELETE or UPDATE that finds the table locked by another transaction waits for it to end and
//! then goes on, seeing what it committed, instead of failing with a serialization error.

use std::time::Duration;

use blueshift_tests::Cluster;
use blueshift_tests::sql::text_rows as rows;
use futures::SinkExt;
use tokio_postgres::Client;

/// Runs `statement` on `client` in the background, and checks that it is still waiting for the
/// lock `holder`'s open transaction holds after a while; then commits `holder` and returns what the
/// statement returned.
async fn waits_for_commit<T: Send + 'static>(
    holder: &Client,
    statement: impl std::future::Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
) -> Result<T, tokio_postgres::Error> {
    let mut waiting = tokio::spawn(statement);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut waiting).await.is_err(),
        "the statement should wait for the lock"
    );
    holder.batch_execute("COMMIT").await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the statement goes on once the lock is free")
        .unwrap()
}

async fn copy_rows(client: &Client, data: &'static [u8]) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in("COPY t FROM STDIN DELIMITER ','").await?;
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(data)).await?;
    sink.finish().await
}

#[tokio::test(flavor = "multi_thread")]
async fn writers_of_one_table_wait_for_each_other_and_see_what_was_committed() {
    let cluster = Cluster::start(1, 2).await;
    let first = cluster.connect().await;
    first
        .batch_execute("CREATE TABLE t (id INT, v INT); INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)")
        .await
        .unwrap();

    // Two COPYs: the second waits, then loads on top of the first.
    first.batch_execute("BEGIN").await.unwrap();
    assert_eq!(copy_rows(&first, b"4,40\n").await.unwrap(), 1);
    let second = cluster.connect().await;
    let copied = waits_for_commit(&first, async move { copy_rows(&second, b"5,50\n6,60\n").await }).await;
    assert_eq!(copied.unwrap(), 2);

    // A DELETE waiting on an UPDATE deletes the row as updated: its snapshot is taken once it
    // holds the lock, not when the statement began.
    first.batch_execute("BEGIN; UPDATE t SET v = 31 WHERE id = 3").await.unwrap();
    let second = cluster.connect().await;
    let deleted = waits_for_commit(&first, async move { second.execute("DELETE FROM t WHERE v = 31", &[]).await }).await;
    assert_eq!(deleted.unwrap(), 1);

    // In a block too, when the write is the block's first statement: BEGIN does not fix the
    // snapshot. The waiting INSERT ... SELECT sees the row committed while it waited.
    first.batch_execute("BEGIN; INSERT INTO t VALUES (7, 70)").await.unwrap();
    let second = cluster.connect().await;
    let inserted = waits_for_commit(&first, async move {
        second.batch_execute("BEGIN").await?;
        let inserted = second.execute("INSERT INTO t SELECT id + 100, v FROM t WHERE id = 7", &[]).await?;
        second.batch_execute("COMMIT").await?;
        Ok(inserted)
    })
    .await;
    assert_eq!(inserted.unwrap(), 1);

    assert_eq!(
        rows(&first, "SELECT id, v FROM t ORDER BY id").await,
        [(1, 10), (2, 20), (4, 40), (5, 50), (6, 60), (7, 70), (107, 70)]
            .iter()
            .map(|(id, v)| vec![Some(id.to_string()), Some(v.to_string())])
            .collect::<Vec<_>>()
    );

    // A block that has read the table before another transaction changed it cannot write it:
    // that would be a serialization anomaly, and Redshift's error 1023 says so.
    let second = cluster.connect().await;
    second.batch_execute("BEGIN").await.unwrap();
    assert_eq!(rows(&second, "SELECT count(*) FROM t").await, vec![vec![Some("7".to_string())]]);
    first.batch_execute("DELETE FROM t WHERE id = 1").await.unwrap();
    let error = second.batch_execute("INSERT INTO t VALUES (8, 80)").await.unwrap_err();
    let error = error.as_db_error().expect("a server error");
    assert_eq!(error.code().code(), "40001");
    assert!(error.message().starts_with("1023: Serializable isolation violation on table"), "{}", error.message());
}
