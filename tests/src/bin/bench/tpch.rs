//! TPC-H benchmark: generates the data at any scale factor with `tpchgen`, loads it with COPY into
//! a local cluster (started in this process, or a running one given by `--port` and `--store`),
//! runs the 22 queries over pgwire, prints each query's time and the total, and checks every
//! answer against a single-node DataFusion plan over the same data.

use std::time::{Duration, Instant};

use blueshift_tests::tpch::answers::{blueshift, compare, reference, reference_session};
use blueshift_tests::tpch::{Table, create_and_load, generate, queries};
use blueshift_tests::{Cluster, connect};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    shape: super::TpchCluster,
    /// A running leader to use instead of starting a cluster (its database must be empty).
    #[arg(long, requires = "store")]
    port: Option<u16>,
    /// The running leader's embedded object store (its `<data-dir>/s3`), where the load files go.
    #[arg(long)]
    store: Option<std::path::PathBuf>,
    /// Times each query runs; the best time is reported.
    #[arg(long, default_value_t = 1)]
    runs: u32,
    /// Skips checking the answers (the reference plan is slow at large scale factors).
    #[arg(long)]
    no_check: bool,
}

pub async fn run(args: Args) -> std::process::ExitCode {
    let started = Instant::now();
    let tables = generate(args.shape.sf);
    let rows: usize = tables.iter().map(Table::rows).sum();
    println!("SF {}: generated {rows} rows in {:.1?}", args.shape.sf, started.elapsed());

    let cluster = match args.port {
        Some(_) => None,
        None => Some(Cluster::start(args.shape.nodes, args.shape.slices).await),
    };
    let (port, store) = match (&cluster, args.port, args.store) {
        (Some(cluster), _, _) => (cluster.port, cluster.embedded_store()),
        (None, Some(port), Some(store)) => (port, store),
        (None, _, _) => unreachable!("clap requires --store with --port"),
    };
    let client = connect(port).await.expect("connects to the leader");
    let load = create_and_load(port, &store, &tables).await;
    println!("loaded in {load:.1?} ({:.0} rows/s)", rows as f64 / load.as_secs_f64());

    let ctx = (!args.no_check).then(|| reference_session(&tables));
    let mut total = Duration::ZERO;
    let mut wrong = 0;
    for (name, sql) in queries() {
        let mut best = Duration::MAX;
        let mut answer = Ok(vec![]);
        for _ in 0..args.runs.max(1) {
            let run = Instant::now();
            answer = blueshift(&client, &sql).await;
            best = best.min(run.elapsed());
        }
        total += best;
        let verdict = match (&answer, &ctx) {
            (Err(e), _) => format!("ERROR {e}"),
            (Ok(rows), None) => format!("{} rows", rows.len()),
            (Ok(rows), Some(ctx)) => match reference(ctx, &sql).await {
                Err(e) => format!("{} rows, reference failed: {e}", rows.len()),
                Ok(expected) => match compare(rows, &expected) {
                    Ok(()) => format!("{} rows, correct", rows.len()),
                    Err(difference) => format!("WRONG: {difference}"),
                },
            },
        };
        if verdict.starts_with("ERROR") || verdict.starts_with("WRONG") {
            wrong += 1;
        }
        println!("{name}  {:>9.3} s  {verdict}", best.as_secs_f64());
    }
    println!("total {:.3} s over 22 queries, {wrong} failed", total.as_secs_f64());
    if wrong == 0 { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
