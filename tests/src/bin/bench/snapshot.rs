//! Snapshot and restore benchmark: loads TPC-H at a scale factor into a local cluster, takes a
//! snapshot into a real S3-compatible server (s3s-fs on 127.0.0.1), restores it into a new
//! cluster of another shape, and prints the snapshot's size and the times of snapshot, restore
//! and first query answered.

use std::time::Instant;

use blueshift_leader::snapshot::store::Kind;
use blueshift_tests::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, TestS3};
use blueshift_tests::tpch::{Table, create_and_load_signed, generate};
use blueshift_tests::{Cluster, connect};

#[derive(clap::Args)]
pub struct Args {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 0.1)]
    sf: f64,
    /// Compute nodes of the source cluster (the restored one gets one more).
    #[arg(long, default_value_t = 2)]
    nodes: u32,
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

    let started = Instant::now();
    let restored = Cluster::start_with_snapshots(args.nodes + 1, 2, Some(server.endpoint.clone()), config).await;
    let services = &restored.server.services;
    if let Err(e) = blueshift_leader::snapshot::restore::restore_cluster(services, "bench", "").await {
        eprintln!("restore failed: {e:?}");
        return std::process::ExitCode::FAILURE;
    }
    let restore = started.elapsed();
    let client = connect(restored.port).await.expect("connects");
    let count: i64 = client.query_one("SELECT count(*) FROM lineitem", &[]).await.expect("query").get(0);
    println!(
        "restore into {} nodes: {restore:.1?} until every row is in place; first query ({count} lineitem rows) answered after {:.1?}",
        args.nodes + 1,
        started.elapsed()
    );
    std::process::ExitCode::SUCCESS
}
