//! Snapshot and restore benchmark: loads TPC-H at a scale factor into a local cluster, takes a
//! snapshot into a real S3-compatible server (s3s-fs on 127.0.0.1), restores it into a new
//! cluster of the same shape, and prints the snapshot's size, the snapshot's time and, from the
//! restore's start, when the first query was answered versus when every byte was downloaded;
//! `--reshape` also times a restore into one more node, which rewrites KEY tables first.

use std::time::{Duration, Instant};

use blueshift_leader::snapshot::SnapshotConfig;
use blueshift_leader::snapshot::store::Kind;
use blueshift_tests::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, TestS3};
use blueshift_tests::tpch::{Table, create_and_load_signed, generate};
use blueshift_tests::{Cluster, connect};

#[derive(clap::Args)]
pub struct Args {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 0.1)]
    sf: f64,
    /// Compute nodes of the source and the restored cluster.
    #[arg(long, default_value_t = 2)]
    nodes: u32,
    /// Also restore into a cluster of one more node (which rewrites KEY tables first).
    #[arg(long)]
    reshape: bool,
}

pub async fn run(args: Args) -> std::process::ExitCode {
    let server = TestS3::start().await;
    let config = server.snapshot_config("bench-snapshots", "east");
    let tables = generate(args.sf);
    let rows: usize = tables.iter().map(Table::rows).sum();
    let source = Cluster::start_with_snapshots(args.nodes, 2, Some(server.endpoint.clone()), config.clone()).await;
    let keys = format!("ACCESS_KEY_ID '{ACCESS_KEY_ID}' SECRET_ACCESS_KEY '{SECRET_ACCESS_KEY}'");
    let load = create_and_load_signed(source.port, server.root(), &tables, &keys).await;
    println!("SF {}: loaded {rows} rows in {load:.1?}", args.sf);

    let started = Instant::now();
    let services = &source.server.services;
    let summary = match services.snapshots.create(services, "bench", Kind::Manual, None).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("snapshot failed: {e:?}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "snapshot: {:.1?}, {:.1} MB total, {:.1} MB uploaded",
        started.elapsed(),
        summary.total_bytes as f64 / 1048576.0,
        summary.incremental_bytes as f64 / 1048576.0
    );
    source.stop();

    let outcome = fast_restore(&server, &config, args.nodes).await;
    if args.reshape {
        let started = Instant::now();
        let reshaped = Cluster::start_with_snapshots(args.nodes + 1, 2, Some(server.endpoint.clone()), config).await;
        if let Err(e) = blueshift_leader::snapshot::restore::restore_cluster(&reshaped.server.services, "bench", "").await {
            eprintln!("restore failed: {e:?}");
            return std::process::ExitCode::FAILURE;
        }
        println!(
            "restore into {} nodes (KEY tables rewritten to their new slices first): {:.1?}",
            args.nodes + 1,
            started.elapsed()
        );
    }
    outcome
}

/// Restores into a cluster of the source's shape, as `blueshift restore` does (start a new local
/// cluster, then restore into it), and prints when it answered its first queries and when its
/// background download completed.
async fn fast_restore(server: &TestS3, config: &SnapshotConfig, nodes: u32) -> std::process::ExitCode {
    let started = Instant::now();
    let restored = Cluster::start_with_snapshots(nodes, 2, Some(server.endpoint.clone()), config.clone()).await;
    if let Err(e) = blueshift_leader::snapshot::restore::restore_cluster(&restored.server.services, "bench", "").await {
        eprintln!("restore failed: {e:?}");
        return std::process::ExitCode::FAILURE;
    }
    let ready = started.elapsed();
    let client = connect(restored.port).await.expect("connects");
    let nations: i64 = client
        .query_one("SELECT count(*) FROM nation n JOIN region r ON n.n_regionkey = r.r_regionkey", &[])
        .await
        .expect("query")
        .get(0);
    let first = started.elapsed();
    let progress = downloaded(&client).await;
    let count: i64 = client.query_one("SELECT count(*) FROM lineitem", &[]).await.expect("query").get(0);
    let scanned = started.elapsed();
    loop {
        let (done, total, completed) = downloaded(&client).await;
        if completed {
            println!(
                "fast restore into {nodes} nodes: restore committed after {ready:.1?}; first query ({nations} nations) answered after {first:.1?} \
                 with {:.1} of {:.1} MB local; count(*) of lineitem ({count} rows) after {scanned:.1?}; \
                 every byte downloaded ({:.1} MB) after {:.1?}",
                progress.0 as f64 / MB,
                progress.1 as f64 / MB,
                total.max(done) as f64 / MB,
                started.elapsed()
            );
            return std::process::ExitCode::SUCCESS;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const MB: f64 = 1048576.0;

/// Bytes downloaded and to download over all nodes, and whether every node has completed.
async fn downloaded(client: &tokio_postgres::Client) -> (i64, i64, bool) {
    let row = client
        .query_one(
            "SELECT sum(downloaded_bytes)::bigint, sum(total_bytes)::bigint, bool_and(status = 'completed') FROM stv_restore_status",
            &[],
        )
        .await
        .expect("restore status");
    (row.get(0), row.get(1), row.get(2))
}
