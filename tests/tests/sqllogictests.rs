//! Runs every `tests/slt/**/*.slt` file against a fresh in-process cluster, once over the simple
//! query protocol and once over the extended protocol.
//!
//! ```text
//! cargo test --workspace --test sqllogictests               # all files
//! cargo test --workspace --test sqllogictests -- ddl          # files whose path contains "ddl"
//! cargo test --workspace --test sqllogictests -- --complete   # rewrite expected results
//! ```

use std::path::{Path, PathBuf};

use blueshift_tests::Cluster;
use blueshift_tests::slt::{Postgres, Protocol};
use sqllogictest::{Runner, default_column_validator, default_normalizer, default_validator};

/// Compute nodes and slices of the cluster each file runs on.
const NODES: u32 = 2;
const SLICES_PER_NODE: u32 = 2;

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("slt directory").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            slt_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slt") {
            out.push(path);
        }
    }
}

async fn runner(cluster: &Cluster, protocol: Protocol) -> Runner<Postgres, impl sqllogictest::MakeConnection<Conn = Postgres>> {
    let port = cluster.port;
    let mut runner = Runner::new(move || async move {
        let client = blueshift_tests::connect(port).await.map_err(blueshift_tests::slt::SqlError::from)?;
        Ok(Postgres { client, protocol })
    });
    runner.add_label(match protocol {
        Protocol::Simple => "simple",
        Protocol::Extended => "extended",
    });
    runner
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let complete = args.iter().any(|a| a == "--complete");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("slt");
    let mut files = Vec::new();
    slt_files(&root, &mut files);
    files.retain(|f| filters.is_empty() || filters.iter().any(|p| f.to_string_lossy().contains(p.as_str())));

    let mut failures = Vec::new();
    for file in &files {
        let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        if complete {
            let cluster = Cluster::start(NODES, SLICES_PER_NODE).await;
            let mut runner = runner(&cluster, Protocol::Simple).await;
            if let Err(e) = runner
                .update_test_file(file, " ", default_validator, default_normalizer, default_column_validator)
                .await
            {
                failures.push(format!("{name}: {e}"));
            }
            println!("completed {name}");
            continue;
        }
        for protocol in [Protocol::Simple, Protocol::Extended] {
            let cluster = Cluster::start(NODES, SLICES_PER_NODE).await;
            let mut runner = runner(&cluster, protocol).await;
            let started = std::time::Instant::now();
            match runner.run_file_async(file).await {
                Ok(()) => println!("ok   {name} ({protocol:?}, {:.1}s)", started.elapsed().as_secs_f64()),
                Err(e) => {
                    println!("FAIL {name} ({protocol:?})\n{}", e.display(true));
                    failures.push(format!("{name} ({protocol:?})"));
                }
            }
        }
    }
    if !failures.is_empty() {
        eprintln!("{} sqllogictest file(s) failed:\n  {}", failures.len(), failures.join("\n  "));
        std::process::exit(1);
    }
    println!("{} sqllogictest file(s) passed in both protocols", files.len());
}
