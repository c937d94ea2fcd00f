//! Fast restore: a cluster restored from a snapshot answers queries, correctly, while its
//! background download is demonstrably incomplete (held back by a bandwidth limit), fetches
//! only the segments its scans keep after zone-map pruning, and resumes the download after a
//! restart — here of a cluster restored by `blueshift restore` and then run as separate
//! processes — ending with identical data; EVEN and ALL tables restore this way into another
//! node count too.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use blueshift_tests::cluster::{BlueshiftProcess, Cluster, ProcessCluster, blueshift_binary, connect, free_port, wait_for_port};
use blueshift_tests::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, TestS3};
use blueshift_tests::sql::text_rows;

use super::snapshots::{config, create, files};

/// `events` (sorted by id, with deletes: one segment per slice per insert, each covering an
/// id range) and a DISTSTYLE ALL table.
async fn load(client: &tokio_postgres::Client) {
    client
        .batch_execute(
            "CREATE TABLE events (id INT, note VARCHAR(64)) DISTSTYLE EVEN SORTKEY(id);
             CREATE TABLE kinds (k INT, name VARCHAR(10)) DISTSTYLE ALL;
             INSERT INTO kinds VALUES (0, 'even'), (1, 'odd');
             CREATE TABLE spare (id INT) DISTSTYLE EVEN;
             INSERT INTO spare SELECT value FROM generate_series(1, 1000);",
        )
        .await
        .unwrap();
    for part in 0..8 {
        let (from, to) = (part * 5000 + 1, part * 5000 + 5000);
        client
            .batch_execute(&format!(
                "INSERT INTO events SELECT value, md5(value::varchar) || md5((value * 7)::varchar) FROM generate_series({from}, {to})"
            ))
            .await
            .unwrap();
    }
    client.batch_execute("DELETE FROM events WHERE id % 10 = 3").await.unwrap();
}

const QUERIES: [&str; 3] = [
    "SELECT count(*), sum(id), min(note), max(note) FROM events WHERE id BETWEEN 100 AND 900",
    "SELECT k.name, count(*), sum(e.id) FROM events e JOIN kinds k ON e.id % 2 = k.k GROUP BY k.name ORDER BY 1",
    "SELECT count(*), count(DISTINCT note) FROM events",
];

async fn answers(client: &tokio_postgres::Client) -> Vec<Vec<Vec<Option<String>>>> {
    let mut all = Vec::new();
    for sql in QUERIES {
        all.push(text_rows(client, sql).await);
    }
    all
}

/// Per node: (status, downloaded bytes, total bytes, downloaded objects, total objects,
/// objects fetched on demand).
async fn restore_status(client: &tokio_postgres::Client) -> Vec<(String, i64, i64, i64, i64, i64)> {
    client
        .query(
            "SELECT status, downloaded_bytes, total_bytes, downloaded_objects, total_objects, on_demand_objects
             FROM stv_restore_status ORDER BY node",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect()
}

async fn wait_completed(client: &tokio_postgres::Client, nodes: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = restore_status(client).await;
        if status.len() == nodes && status.iter().all(|s| s.0 == "completed") {
            assert!(status.iter().all(|s| s.1 == s.2 && s.3 == s.4), "{status:?}");
            return;
        }
        assert!(Instant::now() < deadline, "the restore did not complete: {status:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every `.parquet` file under `dir`.
fn segment_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                segment_files(&path)
            } else {
                usize::from(path.extension().is_some_and(|x| x == "parquet"))
            }
        })
        .sum()
}

/// Snapshot `id` of a 2-node cluster holding [`load`]'s tables; returns the [`QUERIES`]' answers.
async fn snapshot_of_a_loaded_cluster(server: &TestS3, id: &str) -> Vec<Vec<Vec<Option<String>>>> {
    let source = Cluster::start_with_snapshots(2, 2, Some(server.endpoint.clone()), config(server)).await;
    let client = source.connect().await;
    load(&client).await;
    let expected = answers(&client).await;
    create(&source, id).await;
    source.stop();
    expected
}

/// A new cluster of `nodes` x `slices` restored from snapshot `id` of [`load`]'s tables, its
/// background download held to 32 KB/s.
async fn restore_throttled(server: &TestS3, id: &str, nodes: u32, slices: u32) -> Cluster {
    let mut restoring = config(server);
    restoring.restore_rate = 32 << 10;
    let restored = Cluster::start_with_snapshots(nodes, slices, Some(server.endpoint.clone()), restoring).await;
    let rows = blueshift_leader::snapshot::restore::restore_cluster(&restored.server.services, id, "")
        .await
        .expect("cluster restored");
    assert_eq!(rows, 36_000 + 2 + 1000, "events' live rows, kinds' (one copy) and spare's");
    restored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restored_cluster_answers_before_its_data_is_local() {
    let server = TestS3::start().await;
    let expected = snapshot_of_a_loaded_cluster(&server, "fast").await;

    let restored = restore_throttled(&server, "fast", 2, 2).await;
    let client = restored.connect().await;

    // The first query: its scans keep one segment per slice after pruning, and fetch only those.
    let first = text_rows(&client, QUERIES[0]).await;
    assert_eq!(first, expected[0]);
    let status = restore_status(&client).await;
    assert_eq!(status.len(), 2, "{status:?}");
    assert!(status.iter().all(|s| s.0 == "restoring" && s.1 < s.2 && s.3 < s.4), "still downloading: {status:?}");
    let on_demand: i64 = status.iter().map(|s| s.5).sum();
    assert!(on_demand <= 4, "at most the one segment per slice the filter keeps: {status:?}");
    assert!(segment_files(&restored.dir) < status.iter().map(|s| s.4 as usize).sum(), "files are missing locally");

    // A table dropped mid-download leaves nothing to download.
    client.batch_execute("DROP TABLE spare").await.unwrap();
    // Every query is right while the download goes on, and after it completes.
    assert_eq!(answers(&client).await, expected);
    // A snapshot mid-download brings the rest first; the files are the snapshot's own, so the
    // store gets no new object.
    let objects_dir = server.root().join("snapshots/east/objects");
    let stored = files(&objects_dir);
    let again = create(&restored, "again").await;
    assert_eq!(files(&objects_dir), stored);
    assert!(again.incremental_bytes < again.total_bytes / 10, "{again:?}");
    wait_completed(&client, 2).await;
    assert_eq!(answers(&client).await, expected);
    // The restored cluster takes writes and new snapshots like any other.
    client.batch_execute("INSERT INTO events VALUES (1000000, 'new')").await.unwrap();
    assert_eq!(text_rows(&client, "SELECT count(*) FROM events").await, [[Some("36001".to_string())]]);
}

fn restore_args(server: &TestS3, dir: &Path, port: u16) -> Vec<String> {
    [
        "restore", "--snapshot", "proc", "--nodes", "2", "--slices-per-node", "2", "--region", "east",
        "--snapshot-retention", "0", "--restore-rate", "48KB",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        "--data-dir".into(),
        dir.display().to_string(),
        "--port".into(),
        port.to_string(),
        "--admin-port".into(),
        free_port().to_string(),
        "--s3-endpoint".into(),
        server.endpoint.clone(),
        "--snapshot-store".into(),
        "east=s3://snapshots/east".into(),
    ])
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_resumes_after_a_restart_as_separate_processes() {
    let server = TestS3::start().await;
    let expected = snapshot_of_a_loaded_cluster(&server, "proc").await;

    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("restored");
    let port = free_port();
    let log = std::fs::File::create(temp.path().join("restore.log")).unwrap();
    let child = Command::new(blueshift_binary())
        .args(restore_args(&server, &dir, port))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("blueshift restore starts");
    let mut restore = BlueshiftProcess { child, port };
    // The leader listens only once the restore has committed.
    assert!(wait_for_port(port, Duration::from_secs(60)), "blueshift restore serves");
    let client = connect(port).await.unwrap();
    assert_eq!(text_rows(&client, QUERIES[0]).await, expected[0]);
    let before = restore_status(&client).await;
    assert!(before.iter().all(|s| s.0 == "restoring" && s.1 < s.2), "{before:?}");

    // kill -9 mid-download, then run the restored cluster as separate processes.
    restore.kill();
    drop(client);
    let cluster = ProcessCluster::start(&dir, 2, 2);
    let client = connect(cluster.leader.port).await.unwrap();
    let resumed = restore_status(&client).await;
    assert_eq!(resumed.len(), 2, "{resumed:?}");
    assert!(resumed.iter().all(|s| s.0 == "restoring" && s.1 < s.2), "{resumed:?}");
    assert_eq!(answers(&client).await, expected);
    wait_completed(&client, 2).await;
    assert_eq!(answers(&client).await, expected);
    let files: usize = resumed.iter().map(|s| s.4 as usize).sum();
    assert_eq!(segment_files(&dir), files, "every segment file is local");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn even_and_all_tables_restore_lazily_into_another_shape() {
    let server = TestS3::start().await;
    let expected = snapshot_of_a_loaded_cluster(&server, "shape").await;
    let restored = restore_throttled(&server, "shape", 3, 1).await;
    let client = restored.connect().await;
    let status = restore_status(&client).await;
    assert_eq!(status.len(), 3, "{status:?}");
    assert!(status.iter().all(|s| s.0 == "restoring" && s.1 < s.2), "{status:?}");
    assert_eq!(answers(&client).await, expected);
    // The 4 slices' EVEN segments are dealt over the 3 new slices; every node has an ALL copy.
    let per_slice = text_rows(&client, "SELECT slice, rows FROM stv_tbl_perm WHERE name = 'events' ORDER BY slice").await;
    assert_eq!(per_slice.len(), 3, "{per_slice:?}");
    assert!(per_slice.iter().all(|r| r[1].as_deref() != Some("0")), "{per_slice:?}");
    let copies = text_rows(&client, "SELECT count(*) FROM stv_tbl_perm WHERE name = 'kinds' AND rows = 2").await;
    assert_eq!(copies, [[Some("3".to_string())]]);
    wait_completed(&client, 3).await;
    assert_eq!(answers(&client).await, expected);
    client.batch_execute("INSERT INTO events VALUES (1000000, 'new')").await.unwrap();
    assert_eq!(text_rows(&client, "SELECT count(*) FROM events").await, [[Some("36001".to_string())]]);
}
