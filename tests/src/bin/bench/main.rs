//! Blueshift's benchmark harnesses, one subcommand each, in one binary so that CI links one
//! program for all of them: `bench copy` (COPY throughput on TPC-H lineitem, next to DuckDB),
//! `bench parse` (COPY's CSV parsing alone, on one core),
//! `bench tpch` (the 22 TPC-H queries, timed and checked), `bench unload` (UNLOAD throughput
//! on TPC-H lineitem to Parquet, PARALLEL ON and OFF), `bench snapshot` (snapshot and restore
//! of TPC-H) and `bench spectrum` (TPC-H queries over external Parquet tables, local tables and
//! DuckDB).

mod copy;
mod parse;
mod snapshot;
mod spectrum;
mod tpch;
mod unload;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Blueshift benchmarks")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

/// The TPC-H scale factor and local cluster shape of the query benchmarks.
#[derive(clap::Args)]
pub struct TpchCluster {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 0.1)]
    sf: f64,
    /// Compute nodes of the local cluster.
    #[arg(long, default_value_t = 2)]
    nodes: u32,
    /// Slices per compute node.
    #[arg(long, default_value_t = 2)]
    slices: u32,
}

#[derive(Subcommand)]
enum Bench {
    /// COPY throughput on TPC-H lineitem as CSV and Parquet.
    Copy(copy::Args),
    /// COPY's CSV parsing alone, on one core, on TPC-H lineitem.
    Parse(parse::Args),
    /// The 22 TPC-H queries, timed and checked against single-node DataFusion.
    Tpch(tpch::Args),
    /// UNLOAD throughput on TPC-H lineitem to Parquet, PARALLEL ON and OFF.
    Unload(unload::Args),
    /// Snapshot TPC-H into S3 and restore it into a cluster of another shape, timed.
    Snapshot(snapshot::Args),
    /// TPC-H queries over lineitem and orders as external Parquet tables, as local tables and in DuckDB.
    Spectrum(spectrum::Args),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match Cli::parse().bench {
        Bench::Copy(args) => copy::run(args).await,
        Bench::Parse(args) => parse::run(args).await,
        Bench::Tpch(args) => tpch::run(args).await,
        Bench::Unload(args) => unload::run(args).await,
        Bench::Snapshot(args) => snapshot::run(args).await,
        Bench::Spectrum(args) => spectrum::run(args).await,
    }
}
