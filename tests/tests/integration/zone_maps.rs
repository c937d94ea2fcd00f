//! Zone maps at work: a range predicate on the sort key skips segments, and EXPLAIN ANALYZE says
//! how many were scanned and skipped.

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
}
