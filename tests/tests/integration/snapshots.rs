//! Snapshots against a real S3-compatible server: incremental uploads (asserting the bytes), a
//! consistent cut while inserts commit, restore-table, restoring into a cluster with another node
//! and slice count, and cross-region copies that send only missing objects.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use blueshift_leader::snapshot::SnapshotConfig;
use blueshift_proto::snapshot_admin_client::SnapshotAdminClient;
use blueshift_proto::{
    CopySnapshotRequest, CreateSnapshotRequest, EnableCopyRequest, ListSnapshotsRequest, RestoreTableRequest, SnapshotInfo,
};
use blueshift_tests::cluster::Cluster;
use blueshift_tests::s3::TestS3;
use blueshift_tests::sql::text_rows;
use tonic::transport::Channel;

const BUCKET: &str = "snapshots";

/// Snapshots of region `east` in the test server's bucket, automated ones off unless asked.
pub fn config(server: &TestS3) -> SnapshotConfig {
    server.snapshot_config(BUCKET, "east")
}

pub async fn admin(cluster: &Cluster) -> SnapshotAdminClient<Channel> {
    let address = cluster.admin.expect("the admin service runs");
    SnapshotAdminClient::connect(format!("http://{address}")).await.expect("admin connects")
}

pub async fn create(cluster: &Cluster, id: &str) -> SnapshotInfo {
    admin(cluster)
        .await
        .create_snapshot(CreateSnapshotRequest { id: id.into(), retention_days: None })
        .await
        .expect("snapshot created")
        .into_inner()
}

pub async fn list(cluster: &Cluster) -> Vec<SnapshotInfo> {
    admin(cluster)
        .await
        .list_snapshots(ListSnapshotsRequest { region: String::new() })
        .await
        .expect("snapshots listed")
        .into_inner()
        .snapshots
}

async fn restore_table(cluster: &Cluster, id: &str, table: &str, new_table: &str) -> u64 {
    admin(cluster)
        .await
        .restore_table(RestoreTableRequest {
            snapshot_id: id.into(),
            region: String::new(),
            table: table.into(),
            new_table: new_table.into(),
        })
        .await
        .expect("table restored")
        .into_inner()
        .rows
}

/// Name and size of every file under `dir`.
pub fn files(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_file())
                // An upload cut short by kill -9 leaves the embedded store's staging file
                // (`name#N`). It is not an object: listings skip it, as S3 never shows an
                // incomplete multipart upload.
                .filter(|e| !e.file_name().to_string_lossy().contains('#'))
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().len()))
                .collect()
        })
        .unwrap_or_default()
}

async fn one_i64(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<String>> {
    text_rows(client, sql)
        .await
        .into_iter()
        .map(|row| row.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect())
        .collect()
}

/// A KEY table with deletes, an ALL table and a BACKUP NO table.
async fn load(client: &tokio_postgres::Client) {
    client
        .batch_execute(
            "CREATE TABLE sales (id INT, region VARCHAR(10), amount DECIMAL(10,2)) DISTKEY(id) SORTKEY(id);
             CREATE TABLE regions (name VARCHAR(10), manager VARCHAR(20)) DISTSTYLE ALL;
             CREATE TABLE scratch (x INT) BACKUP NO;
             INSERT INTO regions VALUES ('north', 'ann'), ('south', 'bob');
             INSERT INTO scratch VALUES (1), (2), (3);",
        )
        .await
        .unwrap();
    for chunk in 0..4 {
        let values: Vec<String> = (0..500)
            .map(|i| {
                let id = chunk * 500 + i;
                format!("({id}, '{}', {}.{:02})", if id % 3 == 0 { "north" } else { "south" }, id % 97, id % 100)
            })
            .collect();
        client.batch_execute(&format!("INSERT INTO sales VALUES {}", values.join(","))).await.unwrap();
    }
    client.batch_execute("DELETE FROM sales WHERE id % 10 = 7").await.unwrap();
}

const SALES_SUMMARY: &str =
    "SELECT region, count(*), sum(amount)::varchar, min(id), max(id) FROM sales GROUP BY region ORDER BY region";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incremental_snapshots_and_restore_table() {
    let server = TestS3::start().await;
    let cluster = Cluster::start_with_snapshots(2, 2, Some(server.endpoint.clone()), config(&server)).await;
    let client = cluster.connect().await;
    load(&client).await;
    let objects_dir = server.root().join(BUCKET).join("east/objects");

    let first = create(&cluster, "first").await;
    assert_eq!(first.kind, "manual");
    assert_eq!(first.status, "available");
    let stored = files(&objects_dir);
    let manifest = |id: &str| std::fs::metadata(server.root().join(BUCKET).join(format!("east/snapshots/{id}/manifest.json"))).unwrap().len();
    assert_eq!(first.total_bytes, stored.values().sum::<u64>() + manifest("first"));
    assert_eq!(first.incremental_bytes, first.total_bytes);

    // A small change: the second snapshot uploads only the new segment files.
    client.batch_execute("INSERT INTO sales VALUES (5000, 'north', 1.50)").await.unwrap();
    let second = create(&cluster, "second").await;
    let after = files(&objects_dir);
    let new: BTreeMap<_, _> = after.iter().filter(|(name, _)| !stored.contains_key(*name)).collect();
    assert_eq!(new.len(), 1, "one new segment file: {new:?}");
    assert!(new.keys().all(|name| name.ends_with(".parquet")));
    let new_bytes: u64 = new.values().copied().sum();
    assert_eq!(second.incremental_bytes, new_bytes + manifest("second"));
    assert_eq!(second.total_bytes, after.values().sum::<u64>() + manifest("second"));
    assert!(second.incremental_bytes < first.total_bytes / 2);

    let listed: Vec<(String, String)> = list(&cluster).await.into_iter().map(|s| (s.id, s.status)).collect();
    assert_eq!(listed, [("first".into(), "available".into()), ("second".into(), "available".into())]);
    assert_eq!(
        rows(&client, "SELECT snapshot_identifier, snapshot_type, status, source_region FROM svv_snapshots ORDER BY 1").await,
        [["first", "manual", "available", "east"], ["second", "manual", "available", "east"]]
    );

    // restore-table brings back the rows as of the snapshot, deletes applied.
    let expected = rows(&client, &SALES_SUMMARY.replace("FROM sales", "FROM sales WHERE id < 5000")).await;
    assert_eq!(restore_table(&cluster, "first", "public.sales", "public.sales_first").await, 1800);
    assert_eq!(rows(&client, &SALES_SUMMARY.replace("sales", "sales_first")).await, expected);
    assert_eq!(restore_table(&cluster, "second", "public.regions", "public.regions_copy").await, 2);
    assert_eq!(
        rows(&client, "SELECT name, manager FROM regions_copy ORDER BY 1").await,
        [["north", "ann"], ["south", "bob"]]
    );
    // BACKUP NO tables are restored empty.
    assert_eq!(restore_table(&cluster, "second", "public.scratch", "public.scratch_copy").await, 0);
    assert_eq!(one_i64(&client, "SELECT count(*) FROM scratch_copy").await, 0);
    let exists = admin(&cluster)
        .await
        .restore_table(RestoreTableRequest {
            snapshot_id: "first".into(),
            region: String::new(),
            table: "public.sales".into(),
            new_table: "public.sales_first".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(exists.code(), tonic::Code::AlreadyExists, "{exists:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_during_inserts_is_one_commit() {
    let server = TestS3::start().await;
    let cluster = Cluster::start_with_snapshots(2, 2, Some(server.endpoint.clone()), config(&server)).await;
    let client = cluster.connect().await;
    client.batch_execute("CREATE TABLE events (batch INT, n INT)").await.unwrap();
    let writer = {
        let writer = cluster.connect().await;
        tokio::spawn(async move {
            for batch in 1..=200 {
                let values: Vec<String> = (0..10).map(|n| format!("({batch}, {n})")).collect();
                writer.batch_execute(&format!("INSERT INTO events VALUES {}", values.join(","))).await.unwrap();
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    create(&cluster, "midway").await;
    writer.await.unwrap();
    restore_table(&cluster, "midway", "public.events", "public.events_midway").await;
    let batches = rows(&client, "SELECT batch, count(*) FROM events_midway GROUP BY batch ORDER BY batch").await;
    assert!(!batches.is_empty() && batches.len() < 200, "the snapshot cut through the inserts: {} batches", batches.len());
    for (i, row) in batches.iter().enumerate() {
        assert_eq!(row, &[(i + 1).to_string(), "10".to_string()], "every batch up to the cut, each whole");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_into_a_cluster_of_another_shape() {
    let server = TestS3::start().await;
    let source = Cluster::start_with_snapshots(2, 2, Some(server.endpoint.clone()), config(&server)).await;
    let client = source.connect().await;
    load(&client).await;
    let expected = rows(&client, SALES_SUMMARY).await;
    create(&source, "shape").await;
    source.stop();

    let restored = Cluster::start_with_snapshots(3, 1, Some(server.endpoint.clone()), config(&server)).await;
    let rows_restored = blueshift_leader::snapshot::restore::restore_cluster(&restored.server.services, "shape", "")
        .await
        .expect("cluster restored");
    assert_eq!(rows_restored, 1800 + 2);
    let client = restored.connect().await;
    assert_eq!(rows(&client, SALES_SUMMARY).await, expected);
    assert_eq!(one_i64(&client, "SELECT count(*) FROM scratch").await, 0);
    // KEY rows sit on the slice their key hashes to among the 3, and ALL has a copy per node.
    let per_slice = rows(&client, "SELECT slice, rows FROM stv_tbl_perm WHERE name = 'sales' ORDER BY slice").await;
    assert_eq!(per_slice.len(), 3);
    assert!(per_slice.iter().all(|r| r[1] != "0"), "{per_slice:?}");
    let copies = one_i64(&client, "SELECT count(*) FROM stv_tbl_perm WHERE name = 'regions' AND rows = 2").await;
    assert_eq!(copies, 3);
    let joined = one_i64(&client, "SELECT count(*) FROM sales s JOIN regions r ON s.region = r.name WHERE s.id = 42").await;
    assert_eq!(joined, 1);
    client.batch_execute("INSERT INTO sales VALUES (9999, 'north', 1)").await.unwrap();
    assert_eq!(one_i64(&client, "SELECT count(*) FROM sales").await, 1801);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cross_region_copy_sends_only_missing_objects() {
    let server = TestS3::start().await;
    server.create_bucket("snapshots-west");
    let mut two_regions = config(&server);
    two_regions.stores.insert("west".into(), "s3://snapshots-west/copies".into());
    // Automated snapshots soon after each change, for enable-copy.
    two_regions.retention = Duration::from_secs(3600);
    two_regions.interval = Duration::from_secs(1);
    let cluster = Cluster::start_with_snapshots(2, 2, Some(server.endpoint.clone()), two_regions).await;
    let client = cluster.connect().await;
    load(&client).await;
    let expected = rows(&client, SALES_SUMMARY).await;
    create(&cluster, "base").await;
    let copy = |id: &str| {
        let id = id.to_string();
        async {
            admin(&cluster)
                .await
                .copy_snapshot(CopySnapshotRequest { id, to_region: "west".into() })
                .await
                .expect("copied")
                .into_inner()
        }
    };
    let west = server.root().join("snapshots-west/copies");
    let east = server.root().join(BUCKET).join("east");
    let manifest = |root: &Path, id: &str| std::fs::metadata(root.join(format!("snapshots/{id}/manifest.json"))).unwrap().len();
    let first = copy("base").await;
    assert_eq!(first.region, "west");
    assert_eq!(first.source_region, "east");
    assert_eq!(first.incremental_bytes, files(&west.join("objects")).values().sum::<u64>() + manifest(&west, "base"));

    client.batch_execute("INSERT INTO sales VALUES (7000, 'south', 2.25)").await.unwrap();
    create(&cluster, "next").await;
    let before = files(&west.join("objects"));
    let second = copy("next").await;
    let added: u64 = files(&west.join("objects")).iter().filter(|(n, _)| !before.contains_key(*n)).map(|(_, s)| s).sum();
    assert!(added > 0);
    assert_eq!(second.incremental_bytes, added + manifest(&west, "next"));
    assert_eq!(files(&west.join("objects")), files(&east.join("objects")));

    // The copy restores the same data.
    let rows_restored = admin(&cluster)
        .await
        .restore_table(RestoreTableRequest {
            snapshot_id: "base".into(),
            region: "west".into(),
            table: "public.sales".into(),
            new_table: "public.sales_west".into(),
        })
        .await
        .expect("restored from the copy")
        .into_inner()
        .rows;
    assert_eq!(rows_restored, 1800);
    assert_eq!(rows(&client, &SALES_SUMMARY.replace("sales", "sales_west")).await, expected);

    // enable-copy: automated snapshots taken from now on appear in the other region too.
    admin(&cluster)
        .await
        .enable_copy(EnableCopyRequest { to_region: "west".into(), retention_days: Some(2) })
        .await
        .expect("copying enabled");
    client.batch_execute("INSERT INTO sales VALUES (7001, 'south', 2.50)").await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let west_automated: Vec<SnapshotInfo> =
            list(&cluster).await.into_iter().filter(|s| s.region == "west" && s.kind == "automated").collect();
        if let Some(copied) = west_automated.first() {
            assert_eq!(copied.retention_days, Some(2));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no automated snapshot was copied to west");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
