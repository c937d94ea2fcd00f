//! Zone maps at work: a range predicate on the sort key skips segments, and EXPLAIN ANALYZE says
//! how many were scanned and skipped.

use blueshift_tests::Cluster;

/// The value of `name=<n>` in an EXPLAIN ANALYZE plan (summed over the scans that report it).
fn metric(plan: &str, name: &str) -> u64 {
    plan.match_indices(&format!("{name}="))
        .map(|(at, m)| {
            plan[at + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse::<u64>()
                .unwrap()
        })
        .sum()
}

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
    let explain = |sql: &str| {
        let client = &client;
        let sql = format!("EXPLAIN ANALYZE {sql}");
        async move {
            let rows = client.simple_query(&sql).await.unwrap();
            rows.iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => r.get(1).map(str::to_string),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    };

    // Three loads, each split over four slices: twelve segments, of which only the first
    // load's four can hold days 100 to 200.
    let plan = explain("SELECT count(*) FROM events WHERE day BETWEEN 100 AND 200").await;
    assert_eq!(metric(&plan, "segments_total"), 12, "{plan}");
    assert_eq!(metric(&plan, "segments_pruned_by_zone_map"), 8, "{plan}");
    let row = client
        .query_one("SELECT count(*) FROM events WHERE day BETWEEN 100 AND 200", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 101);

    // A predicate no zone map can decide scans everything.
    let plan = explain("SELECT count(*) FROM events WHERE v = 3").await;
    assert_eq!(metric(&plan, "segments_total"), 12, "{plan}");
    assert_eq!(metric(&plan, "segments_pruned_by_zone_map"), 0, "{plan}");

    // Nothing can match: every segment is skipped.
    let plan = explain("SELECT count(*) FROM events WHERE day > 50000").await;
    assert_eq!(metric(&plan, "segments_pruned_by_zone_map"), 12, "{plan}");
}
