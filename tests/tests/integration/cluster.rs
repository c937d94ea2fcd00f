//! Clusters of real `blueshift` processes: a leader and compute nodes as separate processes, the
//! real `psql` client, and crash recovery after `kill -9`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use blueshift_tests::cluster::{BlueshiftProcess, ProcessCluster, free_port};
use blueshift_tests::connect;
use tokio::sync::Mutex;

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn separate_leader_and_compute_processes_keep_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = ProcessCluster::start(dir.path(), 2, 2);
    let client = connect(cluster.leader.port).await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE k (id INT, v VARCHAR(10)) DISTKEY(id) SORTKEY(id);
             CREATE TABLE e (id INT) DISTSTYLE EVEN;
             CREATE TABLE a (id INT) DISTSTYLE ALL;
             INSERT INTO k SELECT value, 'v' || value FROM generate_series(1, 1000);
             INSERT INTO e SELECT value FROM generate_series(1, 500);
             INSERT INTO a VALUES (1), (2), (3);
             DELETE FROM k WHERE id % 10 = 0;
             UPDATE e SET id = id + 1000 WHERE id <= 100;",
        )
        .await
        .unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM k").await, 900);
    assert_eq!(count(&client, "SELECT count(*) FROM k JOIN a ON k.id = a.id").await, 3);
    assert_eq!(count(&client, "SELECT count(*) FROM e WHERE id > 1000").await, 100);
    drop(client);

    // Kill every process, then bring the compute nodes back on new ports.
    cluster.leader.kill();
    for node in &mut cluster.compute {
        node.kill();
    }
    let ports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    let _compute: Vec<BlueshiftProcess> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| ProcessCluster::spawn_compute(dir.path(), i, *port, 2))
        .collect();
    let leader = ProcessCluster::spawn_leader(dir.path(), &ports);
    let client = connect(leader.port).await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM k").await, 900);
    assert_eq!(count(&client, "SELECT sum(id) FROM e").await, (1..=500).sum::<i64>() + 100 * 1000);
    assert_eq!(count(&client, "SELECT count(*) FROM a").await, 3);
    let row = client.query_one("SELECT v FROM k WHERE id = 77", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "v77");

    // Compute nodes given in a different order are refused rather than mixing data up.
    drop(client);
    drop(leader);
    let swapped = ProcessCluster::leader_command(dir.path(), &[ports[1], ports[0]], free_port());
    let output = Command::new(blueshift_tests::blueshift_binary())
        .args(&swapped)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("belongs to cluster"), "{stderr}");
}

/// `psql` against a local cluster process.
#[tokio::test(flavor = "multi_thread")]
async fn psql_client() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _cluster = local_cluster(dir.path(), port);
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "\\echo server :SERVER_VERSION_NAME :SERVER_VERSION_NUM\n\
         CREATE TABLE fruit (id INT, name VARCHAR(20)) DISTKEY(id);\n\
         INSERT INTO fruit VALUES (1, 'apple'), (2, 'pear');\n\
         BEGIN;\n\
         INSERT INTO fruit VALUES (3, 'plum');\n\
         ROLLBACK;\n\
         SELECT id, name FROM fruit ORDER BY id;\n\
         SELECT count(*) AS n FROM fruit \\gset\n\
         \\echo rows :n\n",
    )
    .unwrap();
    let output = Command::new("psql")
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "awsuser", "-d", "dev", "-f"])
        .arg(&script)
        .output()
        .expect("psql is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("server 8.0.2 80002"), "{stdout}");
    assert!(stdout.contains(" id | name  \n----+-------\n  1 | apple\n  2 | pear\n(2 rows)"), "{stdout}");
    assert!(stdout.contains("rows 2"), "{stdout}");
}

fn local_cluster(dir: &Path, port: u16) -> BlueshiftProcess {
    let args = vec![
        "--data-dir".to_string(),
        dir.join("data").display().to_string(),
        "--port".into(),
        port.to_string(),
        "--admin-port".into(),
        free_port().to_string(),
    ];
    BlueshiftProcess::spawn(&args, port, &dir.join(format!("cluster-{port}.log")))
}

/// Writes until killed, recording what was acknowledged: single-statement batches of ten rows,
/// two-batch transactions, and new tables.
async fn write_until_stopped(port: u16, first_batch: i32, acked: Arc<Mutex<BTreeSet<i32>>>, tables: Arc<Mutex<Vec<String>>>, stop: Arc<AtomicBool>) {
    let Ok(client) = connect(port).await else {
        return;
    };
    let mut batch = first_batch;
    while !stop.load(Ordering::SeqCst) {
        let rows = |b: i32| (0..10).map(|i| format!("({b}, {i})")).collect::<Vec<_>>().join(", ");
        let result = if batch % 3 == 0 {
            client
                .batch_execute(&format!(
                    "BEGIN; INSERT INTO ledger VALUES {}; INSERT INTO ledger VALUES {}; COMMIT",
                    rows(batch),
                    rows(batch + 1)
                ))
                .await
                .map(|_| vec![batch, batch + 1])
        } else if batch % 7 == 0 {
            let name = format!("created_{batch}");
            let created = client
                .batch_execute(&format!("CREATE TABLE {name} (x INT); INSERT INTO {name} VALUES ({batch})"))
                .await;
            if created.is_ok() {
                tables.lock().await.push(name);
            }
            created.map(|_| vec![])
        } else {
            client
                .execute(&format!("INSERT INTO ledger VALUES {}", rows(batch)), &[])
                .await
                .map(|_| vec![batch])
        };
        match result {
            Ok(done) => acked.lock().await.extend(done),
            Err(_) => return,
        }
        batch += 2;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_dash_nine_loses_no_acknowledged_commit() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    {
        let _cluster = local_cluster(dir.path(), port);
        let client = connect(port).await.unwrap();
        client
            .batch_execute("CREATE TABLE ledger (batch INT, item INT) DISTKEY(batch) SORTKEY(batch)")
            .await
            .unwrap();
    }
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let tables = Arc::new(Mutex::new(Vec::new()));
    let mut first_batch = 0;
    for round in 0..5u64 {
        let mut cluster = local_cluster(dir.path(), port);
        verify_ledger(port, &acked, &tables).await;
        let stop = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn(write_until_stopped(port, first_batch, Arc::clone(&acked), Arc::clone(&tables), Arc::clone(&stop)));
        tokio::time::sleep(Duration::from_millis(300 + 250 * round)).await;
        cluster.kill();
        stop.store(true, Ordering::SeqCst);
        let _ = tokio::time::timeout(Duration::from_secs(20), writer).await;
        first_batch += 100_000;
    }
    let _cluster = local_cluster(dir.path(), port);
    verify_ledger(port, &acked, &tables).await;
    assert!(acked.lock().await.len() > 10, "the writer made progress before each kill");
}

/// Every acknowledged batch is present with all its rows; no batch is present in part.
async fn verify_ledger(port: u16, acked: &Mutex<BTreeSet<i32>>, tables: &Mutex<Vec<String>>) {
    let client = connect(port).await.unwrap();
    let rows = client
        .query("SELECT batch, count(*) FROM ledger GROUP BY batch", &[])
        .await
        .unwrap();
    let present: BTreeSet<i32> = rows.iter().map(|r| r.get(0)).collect();
    for row in &rows {
        let (batch, n): (i32, i64) = (row.get(0), row.get(1));
        assert_eq!(n, 10, "batch {batch} is partially present");
    }
    let lost: Vec<i32> = acked.lock().await.difference(&present).copied().collect();
    assert!(lost.is_empty(), "acknowledged batches lost: {lost:?}");
    for table in tables.lock().await.iter() {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap_or_else(|e| panic!("acknowledged table {table} lost: {e:?}"))
            .get(0);
        assert_eq!(n, 1, "table {table}");
    }
}
