//! DISTSTYLE AUTO: a small table is copied to every node (AUTO(ALL)); once committed writes take
//! it past the threshold, the leader redistributes it EVEN in the background, in its own
//! transaction, losing and duplicating no row even while writers keep inserting, and the plans
//! that join it change from a replicated join to a distributed one.

use std::time::{Duration, Instant};

use blueshift_tests::{Cluster, explain};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

const THRESHOLD: u64 = 1_000;
const WRITERS: i64 = 4;
const INSERTS_PER_WRITER: i64 = 10;
const ROWS_PER_INSERT: i64 = 50;
const INITIAL_ROWS: i64 = 100;
const JOIN: &str = "SELECT count(*) FROM facts JOIN dims ON f_dim = d_id";

async fn style(client: &Client, table: &str) -> (String, i32) {
    let row = client
        .query_one(
            "SELECT i.diststyle, c.reldiststyle::int FROM svv_table_info i JOIN pg_class c ON c.relname = i.\"table\" WHERE i.\"table\" = $1",
            &[&table],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Rows of `table` on each slice that holds any, from the blocks of its first column.
async fn slice_rows(client: &Client, table: &str) -> Vec<(i32, i64)> {
    client
        .query(
            "SELECT b.slice, sum(b.num_values)::bigint FROM stv_blocklist b JOIN pg_class c ON c.oid = b.tbl \
             WHERE c.relname = $1 AND b.col = 0 GROUP BY b.slice ORDER BY b.slice",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// One writer's inserts of distinct ids, each retried until it commits: an insert whose
/// snapshot predates the redistribution fails with the serializable isolation error.
async fn write(port: u16, writer: i64) -> u32 {
    let client = blueshift_tests::connect(port).await.unwrap();
    let mut retries = 0;
    for insert in 0..INSERTS_PER_WRITER {
        let first = INITIAL_ROWS + (writer * INSERTS_PER_WRITER + insert) * ROWS_PER_INSERT;
        let sql = format!(
            "INSERT INTO dims SELECT value, 'dim ' || value FROM generate_series({first}, {})",
            first + ROWS_PER_INSERT - 1
        );
        loop {
            match client.batch_execute(&sql).await {
                Ok(()) => break,
                Err(e) if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE) => retries += 1,
                Err(e) => panic!("{sql}: {e:?}"),
            }
        }
    }
    retries
}

#[tokio::test(flavor = "multi_thread")]
async fn a_growing_auto_table_moves_from_all_to_even() {
    let cluster = Cluster::start_with_auto_threshold(2, 2, THRESHOLD).await;
    let client = cluster.connect().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE facts (f_id INT, f_dim INT) DISTKEY(f_id);
             CREATE TABLE dims (d_id INT, d_name VARCHAR(20));
             INSERT INTO facts SELECT value, value % 2000 FROM generate_series(1, 20000);
             INSERT INTO dims SELECT value, 'dim ' || value FROM generate_series(0, {});",
            INITIAL_ROWS - 1
        ))
        .await
        .unwrap();

    // Small: a full copy on one slice of each node, joined where the facts are.
    assert_eq!(style(&client, "dims").await, ("AUTO(ALL)".to_string(), 10));
    let copies = slice_rows(&client, "dims").await;
    assert_eq!(copies.len(), 2, "one copy per node: {copies:?}");
    assert!(copies.iter().all(|(_, rows)| *rows == INITIAL_ROWS), "{copies:?}");
    assert!(explain(&client, &format!("EXPLAIN {JOIN}")).await.contains("DS_DIST_ALL_NONE"));

    // Concurrent writers take it past the threshold; the leader switches it while they write.
    let writers: Vec<_> = (0..WRITERS).map(|w| tokio::spawn(write(cluster.port, w))).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while style(&client, "dims").await.0 != "AUTO(EVEN)" {
        assert!(Instant::now() < deadline, "dims never became AUTO(EVEN)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut retries = 0;
    for writer in writers {
        retries += writer.await.unwrap();
    }
    eprintln!("writers retried {retries} inserts that raced the redistribution");

    let total = INITIAL_ROWS + WRITERS * INSERTS_PER_WRITER * ROWS_PER_INSERT;
    let row = client.query_one("SELECT count(*), count(DISTINCT d_id), min(d_id), max(d_id) FROM dims", &[]).await.unwrap();
    let counts: (i64, i64, i32, i32) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(counts, (total, total, 0, total as i32 - 1), "no row lost or duplicated");

    // Spread over every slice, each row once.
    assert_eq!(style(&client, "dims").await, ("AUTO(EVEN)".to_string(), 11));
    let spread = slice_rows(&client, "dims").await;
    assert_eq!(spread.len(), 4, "rows on every slice: {spread:?}");
    assert_eq!(spread.iter().map(|(_, r)| r).sum::<i64>(), total, "{spread:?}");
    assert!(spread.iter().all(|(_, r)| *r > total / 8), "evenly spread: {spread:?}");

    let plan = explain(&client, &format!("EXPLAIN {JOIN}")).await;
    assert!(!plan.contains("DS_DIST_ALL_NONE"), "{plan}");
    assert!(["DS_BCAST_INNER", "DS_DIST_INNER", "DS_DIST_OUTER", "DS_DIST_BOTH"].iter().any(|l| plan.contains(l)), "{plan}");
    let joined: i64 = client.query_one(JOIN, &[]).await.unwrap().get(0);
    assert_eq!(joined, 20_000, "every fact finds its dimension row");
}
