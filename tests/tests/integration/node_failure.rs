//! A compute node dies: queries that need it fail promptly with an error naming it, everything
//! else keeps working, and once it is back the cluster serves all committed data again. Cancel
//! requests and statement timeouts stop the work on the compute nodes.

use std::time::{Duration, Instant};

use blueshift_tests::cluster::ProcessCluster;
use blueshift_tests::connect;
use blueshift_tests::cpu::cpu_time;
use tokio_postgres::Client;

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// A query that keeps every compute node busy for far longer than any test waits.
const LONG_QUERY: &str = "SELECT count(*) FROM big a, big b WHERE a.v + b.v > 50";

async fn load(client: &Client) {
    client
        .batch_execute(
            "CREATE TABLE big (id INT, v INT) DISTKEY(id);
             CREATE TABLE dims (id INT, name VARCHAR(10)) DISTSTYLE ALL;
             INSERT INTO big SELECT value, value % 100 FROM generate_series(1, 40000);
             INSERT INTO dims VALUES (1, 'one'), (2, 'two');",
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_compute_node_is_named_and_its_data_returns_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = ProcessCluster::start(dir.path(), 2, 2);
    let client = connect(cluster.leader.port).await.unwrap();
    load(&client).await;

    // Kill node 1 while a query runs on it.
    let running = {
        let port = cluster.leader.port;
        tokio::spawn(async move {
            let client = connect(port).await.unwrap();
            let started = Instant::now();
            let result = client.query_one(LONG_QUERY, &[]).await;
            (result, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = Instant::now();
    cluster.compute[1].kill();
    let (result, _) = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the query fails within 10 seconds of the node's death")
        .unwrap();
    let error = result.expect_err("the query needed the dead node");
    let db = error.as_db_error().expect("an ERROR from the server");
    let address = format!("127.0.0.1:{}", cluster.compute_ports[1]);
    assert!(
        db.message().contains("compute node 1") && db.message().contains(&address),
        "the error names the node: {}",
        db.message()
    );
    assert_eq!(db.code().code(), "08006", "{}", db.message());
    eprintln!("the query failed {:?} after the kill", killed_at.elapsed());

    // Other sessions keep working on what does not need the node, and a query that does need it
    // fails at once with the same clear error.
    let other = connect(cluster.leader.port).await.unwrap();
    assert_eq!(count(&other, "SELECT 40 + 2").await, 42);
    let started = Instant::now();
    let error = other.query_one("SELECT count(*) FROM big", &[]).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let message = error.as_db_error().unwrap().message().to_string();
    assert!(message.contains("compute node 1"), "{message}");

    // Back on its port with its data: every committed row is served again.
    cluster.compute[1] = ProcessCluster::spawn_compute(dir.path(), 1, cluster.compute_ports[1], 2);
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        match other.query_one("SELECT count(*), sum(v) FROM big", &[]).await {
            Ok(row) => break row,
            Err(e) if Instant::now() < deadline => {
                eprintln!("not back yet: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the cluster did not come back: {e:?}"),
        }
    };
    assert_eq!(rows.get::<_, i64>(0), 40_000);
    assert_eq!(rows.get::<_, i64>(1), (1..=40_000i64).map(|v| v % 100).sum::<i64>());
    assert_eq!(count(&other, "SELECT count(*) FROM big JOIN dims ON big.id = dims.id").await, 2);
    other.batch_execute("INSERT INTO big VALUES (40001, 1)").await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM big").await, 40_001);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_and_timeout_stop_the_work_on_the_compute_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = ProcessCluster::start(dir.path(), 2, 2);
    let client = connect(cluster.leader.port).await.unwrap();
    load(&client).await;

    let timed_out = {
        let started = Instant::now();
        client.batch_execute("SET statement_timeout = 1000").await.unwrap();
        let error = client.query_one(LONG_QUERY, &[]).await.unwrap_err();
        assert_eq!(error.as_db_error().unwrap().code().code(), "57014");
        client.batch_execute("RESET statement_timeout").await.unwrap();
        started.elapsed()
    };
    assert!(timed_out < Duration::from_secs(10), "{timed_out:?}");

    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    let error = client.query_one(LONG_QUERY, &[]).await.unwrap_err();
    assert_eq!(error.as_db_error().unwrap().code().code(), "57014");
    canceller.await.unwrap();

    // The compute nodes stop too: their CPU time stops growing. A node notices between two
    // output batches of an operator (DataFusion's nested loop join does not yield while a
    // batch finds no matches, so the query is one whose batches match).
    let cpu = || -> f64 { cluster.compute.iter().map(|p| cpu_time(p.child.id()).total()).sum() };
    let cancelled = Instant::now();
    loop {
        let before = cpu();
        tokio::time::sleep(Duration::from_millis(500)).await;
        // A busy core uses 0.5 s in half a second.
        if cpu() - before < 0.05 {
            break;
        }
        assert!(cancelled.elapsed() < Duration::from_secs(10), "compute nodes still busy {:?} after the cancel", cancelled.elapsed());
    }
    eprintln!("compute nodes idle {:?} after the cancel", cancelled.elapsed());
    assert_eq!(count(&client, "SELECT count(*) FROM big").await, 40_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compute_node_dying_mid_copy_fails_it_naming_the_node_and_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = ProcessCluster::start(dir.path(), 2, 2);
    let client = connect(cluster.leader.port).await.unwrap();
    client
        .batch_execute("CREATE TABLE t (id INT, s VARCHAR(40)) DISTKEY(id); INSERT INTO t VALUES (0, 'before')")
        .await
        .unwrap();
    // Big enough that the load runs for seconds in a debug build.
    let file = dir.path().join("leader/s3/loads/big.csv");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let rows: String = (1..=600_000).map(|i| format!("{i},row number {i} of the big file\n")).collect();
    std::fs::write(&file, rows).unwrap();

    let copying = {
        let port = cluster.leader.port;
        tokio::spawn(async move {
            let client = connect(port).await.unwrap();
            client.batch_execute("COPY t FROM 's3://loads/big.csv' CSV").await
        })
    };
    let watcher = connect(cluster.leader.port).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&watcher, "SELECT count(*) FROM stv_load_state WHERE rows_parsed > 0").await == 0 {
        assert!(Instant::now() < deadline, "the load never showed progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count(&watcher, "SELECT count(*) FROM sys_load_history WHERE status = 'running' AND table_name = 't'").await, 1);
    cluster.compute[1].kill();
    let error = tokio::time::timeout(Duration::from_secs(20), copying)
        .await
        .expect("the COPY fails soon after the node's death")
        .unwrap()
        .expect_err("the COPY needed the dead node");
    let db = error.as_db_error().expect("an ERROR from the server");
    let address = format!("127.0.0.1:{}", cluster.compute_ports[1]);
    assert!(db.message().contains("compute node 1") && db.message().contains(&address), "{}", db.message());
    assert_eq!(db.code().code(), "08006", "{}", db.message());

    // Back with its data: the COPY left nothing behind.
    cluster.compute[1] = ProcessCluster::spawn_compute(dir.path(), 1, cluster.compute_ports[1], 2);
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        match watcher.query_one("SELECT count(*) FROM t", &[]).await {
            Ok(row) => break row.get::<_, i64>(0),
            Err(e) if Instant::now() < deadline => {
                eprintln!("not back yet: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the cluster did not come back: {e:?}"),
        }
    };
    assert_eq!(rows, 1);
    assert_eq!(count(&watcher, "SELECT count(*) FROM stv_load_state").await, 0);
    assert_eq!(count(&watcher, "SELECT count(*) FROM sys_load_history WHERE status = 'aborted' AND loaded_rows = 0").await, 1);
}
