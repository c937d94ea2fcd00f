//! Data moves between nodes only where the distribution requires it, measured from the exchange
//! operators' own counters as EXPLAIN ANALYZE reports them, and named in EXPLAIN with Redshift's
//! join labels.

use blueshift_tests::{Cluster, explain, plan_figure};
use tokio_postgres::Client;

const ORDERS: u64 = 200_000;

async fn load(client: &Client) {
    client
        .batch_execute(
            "CREATE TABLE orders (o_id INT, o_cust INT, o_ref INT) DISTKEY(o_id);
             CREATE TABLE lines (l_order INT, l_qty INT) DISTKEY(l_order);
             CREATE TABLE payments (p_id INT, p_order INT) DISTKEY(p_id);
             CREATE TABLE nations (n_id INT, n_name VARCHAR(20)) DISTSTYLE ALL;
             CREATE TABLE regions (r_id INT, r_name VARCHAR(20)) DISTSTYLE EVEN;
             INSERT INTO orders SELECT value, value % 25, value FROM generate_series(1, 200000);
             INSERT INTO lines SELECT value % 200000 + 1, value % 50 FROM generate_series(1, 400000);
             INSERT INTO payments SELECT value + 7, value FROM generate_series(1, 200000);
             INSERT INTO nations SELECT value, 'nation ' || value FROM generate_series(0, 24);
             INSERT INTO regions SELECT value, 'region ' || value FROM generate_series(0, 4);",
        )
        .await
        .unwrap();
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// Checks a query's join label and answer, and returns the rows it moved between nodes.
async fn moved_rows(client: &Client, sql: &str, label: &str, expected: i64) -> u64 {
    let plan = explain(client, &format!("EXPLAIN {sql}")).await;
    assert!(plan.contains(label), "expected {label} in\n{plan}");
    assert_eq!(count(client, sql).await, expected, "{sql}");
    let analyzed = explain(client, &format!("EXPLAIN ANALYZE {sql}")).await;
    assert!(analyzed.contains(label), "expected {label} in\n{analyzed}");
    plan_figure(&analyzed, "Moved between nodes: rows")
}

#[tokio::test(flavor = "multi_thread")]
async fn joins_move_only_what_the_distribution_requires() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    load(&client).await;
    let nodes = 2;

    // Both tables are distributed on the join key: every pair meets on its slice.
    let colocated = "SELECT count(*) FROM orders JOIN lines ON o_id = l_order";
    assert_eq!(moved_rows(&client, colocated, "DS_DIST_NONE", 400_000).await, 0);

    // A DISTSTYLE ALL table has a copy on every node.
    let all = "SELECT count(*) FROM orders JOIN nations ON o_cust = n_id WHERE n_name <> 'nowhere'";
    assert_eq!(moved_rows(&client, all, "DS_DIST_ALL_NONE", ORDERS as i64).await, 0);

    // A small EVEN table is broadcast: its five rows go once to each node.
    let broadcast = "SELECT count(*) FROM orders JOIN regions ON o_cust = r_id";
    assert_eq!(moved_rows(&client, broadcast, "DS_BCAST_INNER", 40_000).await, 5 * nodes);

    // Joined on orders' distkey but not payments': only payments move, each row once.
    let one_side = "SELECT count(*) FROM orders JOIN payments ON o_id = p_order";
    let plan = explain(&client, &format!("EXPLAIN {one_side}")).await;
    assert!(plan.contains("DS_DIST_INNER") || plan.contains("DS_DIST_OUTER"), "{plan}");
    let label = if plan.contains("DS_DIST_INNER") { "DS_DIST_INNER" } else { "DS_DIST_OUTER" };
    assert_eq!(moved_rows(&client, one_side, label, ORDERS as i64).await, ORDERS);

    // Joined on neither distkey: both sides move, each row once.
    let both = "SELECT count(*) FROM orders JOIN payments ON o_ref = p_order";
    assert_eq!(moved_rows(&client, both, "DS_DIST_BOTH", ORDERS as i64).await, 2 * ORDERS);
}

#[tokio::test(flavor = "multi_thread")]
async fn grouping_by_the_distkey_completes_on_the_compute_nodes() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    load(&client).await;

    let sql = "SELECT l_order, sum(l_qty) FROM lines GROUP BY l_order";
    let plan = explain(&client, &format!("EXPLAIN ANALYZE {sql}")).await;
    assert_eq!(plan_figure(&plan, "Moved between nodes: rows"), 0, "{plan}");
    // Each order's group is complete on its slice: the leader receives one row per order.
    assert_eq!(plan_figure(&plan, "Sent to leader: rows"), ORDERS, "{plan}");
    let network = plan.find("XN Network").expect("a gather to the leader");
    let aggregate = plan.find("XN HashAggregate").expect("an aggregate");
    assert!(aggregate > network, "the aggregate runs below the gather:\n{plan}");

    // Grouping by another column needs a redistribution of the partial groups.
    let plan = explain(&client, "EXPLAIN ANALYZE SELECT l_qty, count(*) FROM lines GROUP BY l_qty").await;
    assert!(plan_figure(&plan, "Moved between nodes: rows") > 0, "{plan}");
    assert_eq!(plan_figure(&plan, "Sent to leader: rows"), 50, "{plan}");
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_speaks_redshift() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    load(&client).await;

    let plan = explain(
        &client,
        "EXPLAIN SELECT o_cust, count(*) FROM orders JOIN lines ON o_id = l_order WHERE l_qty > 3 GROUP BY o_cust ORDER BY 2 DESC",
    )
    .await;
    let lines: Vec<&str> = plan.lines().collect();
    assert!(lines[0].starts_with("XN Merge  (cost=1000000"), "leader steps cost 10^12 more:\n{plan}");
    assert!(lines.iter().all(|l| !l.contains("Exec")), "{plan}");
    for expected in [
        "Merge Key: count DESC",
        "Sort Key: count(*) DESC",
        "->  XN Network  (cost=",
        "Send to leader",
        "XN Hash Join DS_DIST_NONE",
        "Hash Cond: (\"outer\".",
        "XN Seq Scan on public.orders",
        "XN Seq Scan on public.lines",
        "Filter: l_qty > 3",
    ] {
        assert!(plan.contains(expected), "expected {expected:?} in\n{plan}");
    }
    let scan = lines.iter().find(|l| l.contains("XN Seq Scan on public.orders")).unwrap();
    assert!(scan.contains("rows=200000 width=8)"), "{scan}");

    // The result is one text column named QUERY PLAN, in the extended protocol too.
    let statement = client.prepare("EXPLAIN SELECT * FROM regions").await.unwrap();
    assert_eq!(statement.columns().len(), 1);
    assert_eq!(statement.columns()[0].name(), "QUERY PLAN");
    let rows = client.query(&statement, &[]).await.unwrap();
    assert!(rows[0].get::<_, String>(0).starts_with("XN "));
}
