//! Blueshift's benchmark harnesses, one subcommand each, in one binary so that CI links one
//! program for all of them: `bench copy` (COPY throughput on TPC-H lineitem, next to DuckDB) and
//! `bench tpch` (the 22 TPC-H queries, timed and checked).

mod copy;
mod tpch;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Blueshift benchmarks")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// COPY throughput on TPC-H lineitem as CSV and Parquet.
    Copy(copy::Args),
    /// The 22 TPC-H queries, timed and checked against single-node DataFusion.
    Tpch(tpch::Args),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match Cli::parse().bench {
        Bench::Copy(args) => copy::run(args).await,
        Bench::Tpch(args) => tpch::run(args).await,
    }
}
