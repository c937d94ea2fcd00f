//! UNLOAD throughput on TPC-H lineitem: generates the table at a scale factor as Parquet (the
//! COPY bench's generator and files, kept in DIR/s3/tpch/), loads it into a local cluster with
//! COPY, then unloads it as Parquet with PARALLEL ON (every slice writes its own files) and
//! PARALLEL OFF (one ordered stream from the leader), printing seconds, bytes written and MB/s.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::copy::{lineitem_cluster, write_parquet};

#[derive(clap::Args)]
pub struct Args {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Where the generated file and the cluster's data go.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("blueshift-unload-bench"))]
    dir: PathBuf,
    /// Compute nodes of the local cluster.
    #[arg(long, default_value_t = 2)]
    nodes: u32,
    /// Slices per compute node.
    #[arg(long, default_value_t = 2)]
    slices: u32,
}

/// Total size and count of the files under `dir`.
fn written(dir: &Path) -> (u64, usize) {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .fold((0, 0), |(bytes, files), m| (bytes + m.len(), files + 1))
        })
        .unwrap_or((0, 0))
}

pub async fn run(args: Args) -> ExitCode {
    let bucket = args.dir.join("s3").join("tpch");
    let folder = format!("sf{}", args.scale);
    std::fs::create_dir_all(bucket.join(&folder)).unwrap();
    let parquet = bucket.join(&folder).join("lineitem.parquet");
    if !parquet.exists() {
        write_parquet(&parquet, args.scale);
    }
    let (_cluster, client) = lineitem_cluster(&args.dir, args.nodes, args.slices).await;
    let start = Instant::now();
    client
        .batch_execute(&format!("COPY lineitem FROM 's3://tpch/{folder}/lineitem.parquet' FORMAT AS PARQUET"))
        .await
        .unwrap();
    let rows: i64 = client.query_one("SELECT count(*) FROM lineitem", &[]).await.unwrap().get(0);
    println!(
        "TPC-H lineitem SF{}: {rows} rows loaded in {:.1} s; {} nodes x {} slices",
        args.scale,
        start.elapsed().as_secs_f64(),
        args.nodes,
        args.slices
    );
    for parallel in ["ON", "OFF"] {
        let prefix = format!("unload-{}/", parallel.to_lowercase());
        let sql = format!(
            "UNLOAD ('SELECT * FROM lineitem') TO 's3://tpch/{prefix}' IAM_ROLE default FORMAT PARQUET PARALLEL {parallel} CLEANPATH"
        );
        let start = Instant::now();
        client.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        let seconds = start.elapsed().as_secs_f64();
        let (bytes, files) = written(&bucket.join(&prefix));
        println!(
            "PARALLEL {parallel:>3}: {seconds:6.2} s, {files} files, {:7.1} MB written, {:6.1} MB/s, {:9.0} rows/s",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / seconds,
            rows as f64 / seconds
        );
    }
    ExitCode::SUCCESS
}
