//! Zone maps at work: a range predicate on the sort key skips segments, and EXPLAIN ANALYZE says
//! how many were scanned and skipped.

use blueshift_tests::sql::connect_with_notices;
use blueshift_tests::{Cluster, explain, plan_figure};

#[tokio::test(flavor = "multi_thread")]
async fn range_predicates_on_the_sort_key_skip_segments() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE events (day INT, v INT) DISTSTYLE EVEN SORTKEY(day);
             INSERT INTO events SELECT value, value % 7 FROM generate_series(1, 10000);
             INSERT INTO events SELECT value, value % 7 FROM generate_series(10001, 20000);
             INSERT INTO events SELECT value, value % 7 FROM generate_series(20001, 30000);",
        )
        .await
        .unwrap();

    // Three loads, each split over four slices: twelve segments, of which only the first
    // load's four can hold days 100 to 200.
    let plan = explain(&client, "EXPLAIN ANALYZE SELECT count(*) FROM events WHERE day BETWEEN 100 AND 200").await;
    assert_eq!(plan_figure(&plan, "Segments: total"), 12, "{plan}");
    assert_eq!(plan_figure(&plan, "skipped_by_zone_maps"), 8, "{plan}");
    let row = client
        .query_one("SELECT count(*) FROM events WHERE day BETWEEN 100 AND 200", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 101);

    // A predicate no zone map can decide scans everything.
    let plan = explain(&client, "EXPLAIN ANALYZE SELECT count(*) FROM events WHERE v = 3").await;
    assert_eq!(plan_figure(&plan, "Segments: total"), 12, "{plan}");
    assert_eq!(plan_figure(&plan, "skipped_by_zone_maps"), 0, "{plan}");

    // Nothing can match: every segment is skipped.
    let plan = explain(&client, "EXPLAIN ANALYZE SELECT count(*) FROM events WHERE day > 50000").await;
    assert_eq!(plan_figure(&plan, "skipped_by_zone_maps"), 12, "{plan}");

    // A date compared with a date ± interval, a timestamp, is compared as a timestamp: the
    // zone maps of the date column still decide it (TPC-H Q1's predicate has this form).
    client
        .batch_execute(
            "CREATE TABLE visits (day DATE, v INT) DISTSTYLE EVEN SORTKEY(day);
             INSERT INTO visits SELECT DATE '2020-01-01' + value::INT, 0 FROM generate_series(1, 1000);
             INSERT INTO visits SELECT DATE '2023-01-01' + value::INT, 0 FROM generate_series(1, 1000);
             INSERT INTO visits SELECT DATE '2026-01-01' + value::INT, 0 FROM generate_series(1, 1000);",
        )
        .await
        .unwrap();
    let early = "SELECT count(*) FROM visits WHERE day <= DATE '2021-01-01' - INTERVAL '30' DAY";
    let plan = explain(&client, &format!("EXPLAIN ANALYZE {early}")).await;
    assert!(plan.contains("CAST(day AS Timestamp"), "{plan}");
    assert_eq!(plan_figure(&plan, "skipped_by_zone_maps"), 8, "{plan}");
    // 2020-01-02 to 2020-12-02.
    assert_eq!(client.query_one(early, &[]).await.unwrap().get::<_, i64>(0), 336);
}

/// Segment files under the cluster's compute nodes.
fn segment_files(cluster: &Cluster) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| match e.path() {
                        p if p.is_dir() => count(&p),
                        p => usize::from(p.extension().is_some_and(|x| x == "parquet")),
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    (0..2).map(|node| count(&cluster.dir.join(format!("compute-{node}")))).sum()
}

/// Segment files under the cluster's compute nodes once the leader's maintenance has brought them
/// down to `expected`, or after thirty seconds.
async fn segment_files_until(cluster: &Cluster, expected: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while segment_files(cluster) > expected && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    segment_files(cluster)
}

/// Three loads of 10,000 rows whose sort keys interleave (days 3, 6, ...; 4, 7, ...; 5, 8, ...), so
/// each slice holds three overlapping runs: 12 segments on 2 nodes x 2 slices.
const INTERLEAVED_LOADS: &str = "CREATE TABLE events (day INT, v INT) DISTSTYLE EVEN SORTKEY(day);
    INSERT INTO events SELECT value * 3, 0 FROM generate_series(1, 10000);
    INSERT INTO events SELECT value * 3 + 1, 1 FROM generate_series(1, 10000);
    INSERT INTO events SELECT value * 3 + 2, 2 FROM generate_series(1, 10000);";

/// Loads whose sort-key ranges interleave leave every slice several runs, which a range predicate
/// cannot tell apart; VACUUM merges each slice's runs into one and removes the replaced files, but
/// only once no transaction still reads them.
#[tokio::test(flavor = "multi_thread")]
async fn vacuum_merges_interleaved_loads_and_removes_their_files_once_unread() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    client.batch_execute(INTERLEAVED_LOADS).await.unwrap();
    let range = "SELECT count(*), sum(v) FROM events WHERE day BETWEEN 3000 AND 3299";
    let plan = explain(&client, &format!("EXPLAIN ANALYZE {range}")).await;
    assert_eq!(plan_figure(&plan, "Segments: total"), 12, "{plan}");
    assert_eq!(plan_figure(&plan, "skipped_by_zone_maps"), 0, "{plan}");
    assert_eq!(segment_files(&cluster), 12);

    client.batch_execute("VACUUM events").await.unwrap();
    assert_eq!(segment_files(&cluster), 4, "the replaced segments' files are gone when VACUUM returns");
    let plan = explain(&client, &format!("EXPLAIN ANALYZE {range}")).await;
    assert_eq!(plan_figure(&plan, "Segments: total"), 4, "{plan}");
    let row = client.query_one(range, &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (300, 300));

    // A transaction that began before the next vacuum keeps its segments' files until it ends.
    let reader = cluster.connect().await;
    reader.batch_execute("BEGIN").await.unwrap();
    let before: i64 = reader.query_one("SELECT count(*) FROM events", &[]).await.unwrap().get(0);
    client
        .batch_execute("INSERT INTO events SELECT value * 3, 3 FROM generate_series(1, 10000); VACUUM events")
        .await
        .unwrap();
    let after: i64 = reader.query_one("SELECT count(*) FROM events", &[]).await.unwrap().get(0);
    assert_eq!((before, after), (30_000, 30_000));
    assert_eq!(segment_files(&cluster), 4 + 4 + 4, "the reader's segments, the load's, the merged run's");
    reader.batch_execute("COMMIT").await.unwrap();
    assert_eq!(segment_files_until(&cluster, 4).await, 4, "the leader's maintenance removes them once the reader is done");
    let row = client.query_one("SELECT count(*), sum(v) FROM events", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (40_000, 60_000));

    // VACUUM's summary counts a DISTSTYLE ALL table's rows once, not once per node's copy.
    let (client, notices) = connect_with_notices(cluster.port).await;
    client
        .batch_execute(
            "CREATE TABLE dims (id INT) DISTSTYLE ALL;
             INSERT INTO dims SELECT value FROM generate_series(1, 600);
             DELETE FROM dims WHERE id > 500;
             VACUUM DELETE ONLY dims TO 100 PERCENT",
        )
        .await
        .unwrap();
    let summary = notices.lock().unwrap().last().cloned().unwrap_or_default();
    assert!(summary.contains(", 100 deleted row(s) reclaimed, 2 segment(s) rewritten into 2,"), "{summary}");
}

/// Rows of `table` stored in its segments (deleted ones included), and how many segments hold them.
async fn stored(client: &tokio_postgres::Client, table: &str) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT count(*), sum(b.num_values)::BIGINT FROM stv_blocklist b JOIN stv_tbl_perm p ON b.tbl = p.id AND b.slice = p.slice
             WHERE p.name = $1 AND b.col = 0",
            &[&table],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Waits until `condition` holds of what `table`'s segments store, for at most thirty seconds
/// (automatic vacuum once took longer than ten, with every test running on 2 cores).
async fn stored_until(client: &tokio_postgres::Client, table: &str, condition: impl Fn((i64, i64)) -> bool) -> (i64, i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = stored(client, table).await;
        if condition(now) || std::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Automatic vacuum merges interleaved loads and reclaims deleted rows by itself, but only while no
/// transaction that may write is in progress: the queries polling for its result do not hold it up.
#[tokio::test(flavor = "multi_thread")]
async fn automatic_vacuum_sorts_and_reclaims_while_the_cluster_is_idle() {
    let cluster = Cluster::start_with_auto_vacuum(2, 2, std::time::Duration::from_millis(200)).await;
    let client = cluster.connect().await;
    let holder = cluster.connect().await;
    holder.batch_execute("BEGIN; SELECT 1").await.unwrap();
    client.batch_execute(INTERLEAVED_LOADS).await.unwrap();
    // A transaction is open: the loads stay three overlapping runs per slice.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(stored(&client, "events").await, (12, 30_000));

    holder.batch_execute("COMMIT").await.unwrap();
    assert_eq!(stored_until(&client, "events", |(segments, _)| segments == 4).await, (4, 30_000));
    assert_eq!(segment_files_until(&cluster, 4).await, 4, "the replaced segments' files are removed");
    let unsorted: f64 = client
        .query_one("SELECT unsorted::FLOAT8 FROM svv_table_info WHERE \"table\" = 'events'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(unsorted, 0.0);
    let row = client.query_one("SELECT count(*), sum(v), sum(day) FROM events", &[]).await.unwrap();
    let days: i64 = (1..=10_000i64).map(|i| 9 * i + 3).sum();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2)), (30_000, 30_000, days));

    // Deleted rows stay in their blocks until automatic vacuum reclaims them.
    client.batch_execute("DELETE FROM events WHERE v = 2").await.unwrap();
    assert_eq!(stored_until(&client, "events", |(_, rows)| rows == 20_000).await, (4, 20_000));
    let row = client.query_one("SELECT count(*), min(v), max(v) FROM events", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i32>(1), row.get::<_, i32>(2)), (20_000, 0, 1));
}
