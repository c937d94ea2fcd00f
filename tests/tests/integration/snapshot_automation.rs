//! Automated snapshots fire on elapsed time and on bytes written, expire after their retention
//! taking along exactly the objects nothing else refers to, and a leader killed with SIGKILL in
//! the middle of a snapshot never leaves one listed that cannot be restored.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use blueshift_tests::cluster::{Cluster, ProcessCluster, blueshift_binary, free_port};
use blueshift_tests::connect;
use blueshift_tests::s3::TestS3;

use super::snapshots::{config, create, files, list};

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

async fn automated(cluster: &Cluster) -> Vec<String> {
    list(cluster).await.into_iter().filter(|s| s.kind == "automated").map(|s| s.id).collect()
}

/// Waits up to `timeout` for `check` to hold.
async fn eventually<F: std::future::Future<Output = bool>>(timeout: Duration, mut check: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn automated_snapshots_fire_on_time_and_on_bytes() {
    let server = TestS3::start().await;
    let mut by_time = config(&server);
    by_time.retention = Duration::from_secs(3600);
    by_time.interval = Duration::from_secs(2);
    by_time.change_bytes = 1 << 40;
    let cluster = Cluster::start_with_snapshots(2, 1, Some(server.endpoint.clone()), by_time).await;
    let client = cluster.connect().await;
    client.batch_execute("CREATE TABLE t (x INT); INSERT INTO t VALUES (1)").await.unwrap();
    assert!(eventually(Duration::from_secs(20), || async { !automated(&cluster).await.is_empty() }).await);
    // Once the last change is in a snapshot, no further one is taken however much time passes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let taken = automated(&cluster).await.len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(automated(&cluster).await.len(), taken);
    client.batch_execute("INSERT INTO t VALUES (2)").await.unwrap();
    assert!(eventually(Duration::from_secs(20), || async { automated(&cluster).await.len() == taken + 1 }).await);
    cluster.stop();

    let server = TestS3::start().await;
    let mut by_bytes = config(&server);
    by_bytes.retention = Duration::from_secs(3600);
    by_bytes.interval = Duration::from_secs(3600);
    by_bytes.change_bytes = 64 * 1024;
    let cluster = Cluster::start_with_snapshots(2, 1, Some(server.endpoint.clone()), by_bytes).await;
    let client = cluster.connect().await;
    client.batch_execute("CREATE TABLE t (x INT, s VARCHAR(64)); INSERT INTO t VALUES (1, 'small')").await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(automated(&cluster).await.is_empty(), "a small change stays under the threshold");
    client
        .batch_execute("INSERT INTO t SELECT value, md5(value::varchar) || md5((value * 7)::varchar) FROM generate_series(1, 20000)")
        .await
        .unwrap();
    assert!(eventually(Duration::from_secs(20), || async { automated(&cluster).await.len() == 1 }).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_snapshots_take_only_unreferenced_objects() {
    let server = TestS3::start().await;
    let mut short = config(&server);
    short.retention = Duration::from_secs(3);
    short.interval = Duration::from_secs(1);
    let cluster = Cluster::start_with_snapshots(2, 1, Some(server.endpoint.clone()), short).await;
    let client = cluster.connect().await;
    client
        .batch_execute("CREATE TABLE t (x INT) DISTKEY(x); INSERT INTO t SELECT value FROM generate_series(1, 1000)")
        .await
        .unwrap();
    create(&cluster, "keep").await;
    let east = server.root().join("snapshots/east");
    let objects = || files(&east.join("objects")).into_keys().collect::<BTreeSet<_>>();
    let kept: BTreeSet<String> = {
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(east.join("snapshots/keep/manifest.json")).unwrap()).unwrap();
        manifest["objects"].as_object().unwrap().keys().cloned().collect()
    };
    client.batch_execute("INSERT INTO t SELECT value FROM generate_series(1001, 2000)").await.unwrap();
    // An automated snapshot taken before the insert committed adds no objects; the one after it
    // does, and lives for the 3 s retention, far longer than a poll.
    assert!(
        eventually(Duration::from_secs(20), || async { objects().len() > kept.len() }).await,
        "an automated snapshot added the inserted rows' objects"
    );
    // Once every automated snapshot expired, only the manual snapshot's objects remain.
    assert!(
        eventually(Duration::from_secs(30), || async { automated(&cluster).await.is_empty() && objects() == kept }).await,
        "left: {:?}",
        automated(&cluster).await
    );
    let ids: Vec<String> = list(&cluster).await.into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["keep"]);
    let restored = blueshift_leader::snapshot::restore::restore_table(&cluster.server.services, "keep", "", "public.t", "public.t_keep")
        .await
        .unwrap();
    assert_eq!(restored, 1000);
    assert_eq!(count(&client, "SELECT count(*) FROM t_keep WHERE x BETWEEN 1 AND 1000").await, 1000);
}

fn blueshift(args: &[String]) -> std::process::Output {
    Command::new(blueshift_binary()).args(args).output().expect("blueshift runs")
}

fn snapshot_args(admin_port: u16) -> Vec<String> {
    ["--snapshot-store", "local=s3://snaps/c", "--snapshot-retention", "0", "--admin-port"]
        .iter()
        .map(|s| s.to_string())
        .chain([admin_port.to_string()])
        .collect()
}

/// Whether every object a snapshot's manifest names is in the store.
fn complete(store: &Path, id: &str) -> bool {
    let Ok(bytes) = std::fs::read(store.join(format!("snapshots/{id}/manifest.json"))) else {
        return false;
    };
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    manifest["objects"].as_object().unwrap().keys().all(|name| store.join("objects").join(name).exists())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_killed_mid_snapshot_lists_only_restorable_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let admin_port = free_port();
    let args = snapshot_args(admin_port);
    let mut cluster = ProcessCluster::start_with(dir.path(), 2, 2, &args);
    let client = connect(cluster.leader.port).await.unwrap();
    client
        .batch_execute("CREATE TABLE big (id INT, s VARCHAR(40)) DISTKEY(id); INSERT INTO big SELECT value, md5(value::varchar) FROM generate_series(1, 50000)")
        .await
        .unwrap();
    let admin = ["--admin".to_string(), format!("127.0.0.1:{admin_port}")];
    let create = |id: &str| [vec!["snapshot".to_string(), "create".into(), "--id".into(), id.into()], admin.to_vec()].concat();
    let out = blueshift(&create("base"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for round in 0..3 {
        client
            .batch_execute(&format!("INSERT INTO big SELECT id + {}, s FROM big", 50_000 << round))
            .await
            .unwrap();
    }
    let store = dir.path().join("leader/s3/snaps/c");
    let before = files(&store.join("objects")).len();
    let mut snapshotting = Command::new(blueshift_binary()).args(create("crashed")).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while files(&store.join("objects")).len() == before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    cluster.leader.kill();
    for node in &mut cluster.compute {
        node.kill();
    }
    let _ = snapshotting.wait();
    let crashed_listed = store.join("snapshots/crashed/snapshot.json").exists();
    assert!(!crashed_listed || complete(&store, "crashed"), "a listed snapshot has all its objects");

    let cluster = ProcessCluster::start_with(dir.path(), 2, 2, &args);
    let listed = String::from_utf8(blueshift(&[vec!["snapshot".to_string(), "list".into()], admin.to_vec()].concat()).stdout).unwrap();
    assert!(listed.contains("base"), "{listed}");
    assert_eq!(listed.contains("crashed"), crashed_listed, "{listed}");
    let client = connect(cluster.leader.port).await.unwrap();
    let restore = |id: &str, table: &str| {
        [
            vec!["restore-table".to_string(), "--snapshot".into(), id.into(), "--table".into(), "public.big".into()],
            vec!["--new-table".into(), format!("public.{table}"), "--admin".into(), format!("127.0.0.1:{admin_port}")],
        ]
        .concat()
    };
    let out = blueshift(&restore("base", "big_base"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&client, "SELECT count(*) FROM big_base").await, 50_000);
    if crashed_listed {
        assert!(blueshift(&restore("crashed", "big_crashed")).status.success());
        assert_eq!(count(&client, "SELECT count(*) FROM big_crashed").await, 400_000);
    }
    // Deleting the base snapshot collects the objects the interrupted one left behind.
    assert!(blueshift(&[vec!["snapshot".to_string(), "delete".into(), "--id".into(), "base".into()], admin.to_vec()].concat()).status.success());
    if !crashed_listed {
        assert!(files(&store.join("objects")).is_empty());
    }
}
