//! Real client drivers against one cluster: the Python programs (psycopg2, psycopg 3, asyncpg,
//! redshift_connector, SQLAlchemy with sqlalchemy-redshift and pandas), pgjdbc from Debian, and node-postgres, all under `tests/clients/`. Each program asserts the values and types it gets
//! back and exits non-zero otherwise; they work in schemas of their own, so they run side by side.
//!
//! `tests/clients/install.sh` (run by `.ci/run`) installs the runtimes and drivers under
//! `target/clients`. When one is missing, the test fails if `BLUESHIFT_REQUIRE_CLIENTS=1` (as
//! in CI) and otherwise skips that program with a message saying how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use blueshift_tests::Cluster;

/// One client program: how to run it, and what it needs in order to run.
struct Program {
    name: &'static str,
    command: Command,
    needs: Vec<PathBuf>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn programs(port: u16) -> Vec<Program> {
    let root = repo_root();
    let clients = root.join("tests/clients");
    let installed = root.join("target/clients");
    let python = installed.join("venv/bin/python");
    let mut list = Vec::new();
    for (name, script) in [
        ("psycopg2", "psycopg2_client.py"),
        ("psycopg3", "psycopg3_client.py"),
        ("asyncpg", "asyncpg_client.py"),
        ("redshift_connector", "redshift_connector_client.py"),
        ("sqlalchemy", "sqlalchemy_client.py"),
    ] {
        let mut command = Command::new(&python);
        command.arg(clients.join("python").join(script));
        list.push(Program { name, command, needs: vec![python.clone()] });
    }
    let jdbc = PathBuf::from("/usr/share/java/postgresql.jar");
    let mut command = Command::new("java");
    command.arg("-cp").arg(&jdbc).arg(clients.join("java/JdbcClient.java")).arg(port.to_string());
    list.push(Program { name: "jdbc", command, needs: vec![jdbc, PathBuf::from("java")] });
    let node_modules = installed.join("node/node_modules");
    let mut command = Command::new("node");
    command.arg(clients.join("node/pg_client.js")).env("NODE_PATH", &node_modules);
    list.push(Program { name: "node-postgres", command, needs: vec![node_modules.join("pg"), PathBuf::from("node")] });
    for program in &mut list {
        program.command.env("BLUESHIFT_PORT", port.to_string());
    }
    list
}

/// Whether `need` is there: a path that exists, or a bare program name found on PATH.
fn present(need: &Path) -> bool {
    if need.is_absolute() {
        return need.exists();
    }
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(need).is_file()))
}

#[tokio::test(flavor = "multi_thread")]
async fn drivers_read_back_what_they_wrote() {
    let required = std::env::var("BLUESHIFT_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
    let cluster = Cluster::start(2, 2).await;
    let mut runs = Vec::new();
    for mut program in programs(cluster.port) {
        if let Some(missing) = program.needs.iter().find(|n| !present(n)) {
            assert!(!required, "{}: {} is missing (run tests/clients/install.sh)", program.name, missing.display());
            eprintln!("SKIPPED {}: {} is missing; run tests/clients/install.sh to install the client drivers", program.name, missing.display());
            continue;
        }
        runs.push(tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let output = program.command.output().expect("client program starts");
            (program.name, output, started.elapsed())
        }));
    }
    let mut failures = Vec::new();
    for run in runs {
        let (name, output, took) = run.await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("{name}: {} in {:.1}s", if output.status.success() { "passed" } else { "FAILED" }, took.as_secs_f64());
        if !output.status.success() {
            failures.push(format!("--- {name} ({}) ---\n{stdout}{stderr}", output.status));
        }
    }
    assert!(failures.is_empty(), "client programs failed:\n{}", failures.join("\n"));
}
