//! The `blueshift` program: its command line, and running a local cluster, a compute node or a
//! leader. `src/main.rs` is a one-line wrapper, so tests can run the very same program.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use blueshift_compute::s3::{S3Config, S3Credentials};
use clap::{Args, Parser, Subcommand};
use tokio::sync::watch;

#[derive(Debug, Parser)]
#[command(name = "blueshift", bin_name = "blueshift", version, about = "A Redshift-compatible columnar MPP data warehouse")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub local: LocalArgs,
}

/// Without a subcommand: a whole cluster (leader and compute nodes) in this process.
#[derive(Debug, Args)]
pub struct LocalArgs {
    /// Where the cluster keeps its data.
    #[arg(long, default_value = "./blueshift-data")]
    pub data_dir: PathBuf,
    /// Address the leader listens on for PostgreSQL clients.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port the leader listens on (Redshift's is 5439).
    #[arg(long, default_value_t = 5439)]
    pub port: u16,
    /// Number of compute nodes.
    #[arg(long, default_value_t = 2)]
    pub nodes: u32,
    /// Slices on each compute node.
    #[arg(long, default_value_t = 2)]
    pub slices_per_node: u32,
    /// The superuser's password (required when listening on a non-loopback address).
    #[arg(long, env = "BLUESHIFT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// An S3-compatible endpoint for `s3://` locations (else `AWS_ENDPOINT_URL`, else the
    /// embedded store: `s3://bucket/key` is the file `<data-dir>/s3/bucket/key`).
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    /// Rows beyond which a DISTSTYLE AUTO table switches from ALL to EVEN.
    #[arg(long, default_value_t = DEFAULT_AUTO_ALL_MAX_ROWS)]
    pub auto_all_max_rows: u64,
    /// How often automatic vacuum looks for tables to sort or reclaim while the cluster is idle
    /// (e.g. `1min`); 0 turns it off.
    #[arg(long, default_value = "1min", value_parser = humantime::parse_duration)]
    pub auto_vacuum_interval: Duration,
    #[command(flatten)]
    pub snapshots: SnapshotArgs,
}

/// Snapshot stores, automated snapshots and the admin API.
#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// The cluster's region (for restore: the region whose store holds the snapshot).
    #[arg(long, default_value = "local")]
    pub region: String,
    /// A region's snapshot store, `REGION=s3://bucket/prefix` (an S3-compatible endpoint's bucket,
    /// or the embedded store's); repeat for each region.
    #[arg(long = "snapshot-store", value_parser = parse_store)]
    pub snapshot_stores: Vec<(String, String)>,
    /// Longest time between automated snapshots while data changes (e.g. `8h`, `30s`).
    #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
    pub snapshot_interval: Duration,
    /// Data written that triggers an automated snapshot early (bytes, or with KB, MB, GB).
    #[arg(long, default_value = "5GB", value_parser = parse_bytes)]
    pub snapshot_change_bytes: u64,
    /// How long automated snapshots are kept (e.g. `1day`); 0 turns them off.
    #[arg(long, default_value = "1day", value_parser = humantime::parse_duration)]
    pub snapshot_retention: Duration,
    /// Bandwidth for a restored cluster's background download of its data (bytes per second,
    /// or with KB, MB, GB); 0: unbounded. Scans fetch what they need regardless.
    #[arg(long, default_value = "0", value_parser = parse_bytes)]
    pub restore_rate: u64,
    /// Port of the admin gRPC service (snapshots, restore-table), on the leader's host; by
    /// default the SQL port + 1 (5440 beside 5439), so clusters side by side don't collide.
    #[arg(long)]
    pub admin_port: Option<u16>,
}

impl SnapshotArgs {
    fn config(&self) -> SnapshotConfig {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        SnapshotConfig {
            region: self.region.clone(),
            stores: self.snapshot_stores.iter().cloned().collect(),
            interval: self.snapshot_interval,
            change_bytes: self.snapshot_change_bytes,
            retention: self.snapshot_retention,
            restore_rate: self.restore_rate,
            // Forwarded to compute nodes, which upload with them.
            credentials: S3Credentials {
                access_key_id: env("AWS_ACCESS_KEY_ID"),
                secret_access_key: env("AWS_SECRET_ACCESS_KEY"),
                session_token: env("AWS_SESSION_TOKEN"),
                region: env("AWS_REGION"),
            },
        }
    }
}

/// A background task's interval, where 0 means off.
fn enabled(interval: Duration) -> Option<Duration> {
    (!interval.is_zero()).then_some(interval)
}

fn parse_store(value: &str) -> std::result::Result<(String, String), String> {
    match value.split_once('=') {
        Some((region, url)) if !region.is_empty() && url.starts_with("s3://") => Ok((region.to_string(), url.to_string())),
        _ => Err(format!("expected REGION=s3://bucket/prefix, got '{value}'")),
    }
}

fn parse_bytes(value: &str) -> std::result::Result<u64, String> {
    let upper = value.trim().to_ascii_uppercase();
    let (number, unit) = upper
        .find(|c: char| !c.is_ascii_digit())
        .map_or((upper.as_str(), ""), |i| upper.split_at(i));
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "K" => 1 << 10,
        "MB" | "M" => 1 << 20,
        "GB" | "G" => 1 << 30,
        "TB" | "T" => 1 << 40,
        other => return Err(format!("unknown size unit '{other}' in '{value}'")),
    };
    number
        .parse::<u64>()
        .map(|n| n.saturating_mul(multiplier))
        .map_err(|_| format!("invalid size '{value}'"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a compute node.
    Compute {
        #[arg(long)]
        data_dir: PathBuf,
        /// Address to serve on, HOST:PORT.
        #[arg(long)]
        listen: String,
        /// Number of slices (used when the node's data directory is new).
        #[arg(long, default_value_t = 2)]
        slices: u32,
    },
    /// Run a leader over separately running compute nodes.
    Leader {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 5439)]
        port: u16,
        /// A compute node's HOST:PORT; repeat for each node, in node order.
        #[arg(long = "compute", required = true)]
        compute: Vec<String>,
        #[arg(long, env = "BLUESHIFT_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// An S3-compatible endpoint (else `AWS_ENDPOINT_URL`, else `<data-dir>/s3`).
        #[arg(long)]
        s3_endpoint: Option<String>,
        /// Rows beyond which a DISTSTYLE AUTO table switches from ALL to EVEN.
        #[arg(long, default_value_t = DEFAULT_AUTO_ALL_MAX_ROWS)]
        auto_all_max_rows: u64,
        /// How often automatic vacuum looks for tables to sort or reclaim while the cluster is
        /// idle (e.g. `1min`); 0 turns it off.
        #[arg(long, default_value = "1min", value_parser = humantime::parse_duration)]
        auto_vacuum_interval: Duration,
        #[command(flatten)]
        snapshots: SnapshotArgs,
    },
    /// Manage the snapshots of a running cluster (through its leader's admin service).
    Snapshot {
        #[command(subcommand)]
        action: SnapshotAction,
        /// The leader's admin service, HOST:PORT.
        #[arg(long, global = true, default_value = "127.0.0.1:5440")]
        admin: String,
    },
    /// Start a new local cluster in an empty `--data-dir` from a snapshot, then serve it.
    Restore {
        /// The snapshot to restore (from the store of `--region`).
        #[arg(long)]
        snapshot: String,
        #[command(flatten)]
        cluster: LocalArgs,
    },
    /// Restore one table of a snapshot into the running cluster, under a new name.
    RestoreTable {
        #[arg(long)]
        snapshot: String,
        /// `schema.table` in the snapshot.
        #[arg(long)]
        table: String,
        /// `schema.name` to create.
        #[arg(long)]
        new_table: String,
        /// The region whose store holds the snapshot (default: the cluster's).
        #[arg(long, default_value = "")]
        region: String,
        #[arg(long, default_value = "127.0.0.1:5440")]
        admin: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// Take a manual snapshot.
    Create {
        #[arg(long)]
        id: String,
        /// Days to keep it (default: until deleted).
        #[arg(long)]
        retention_days: Option<i64>,
    },
    /// List snapshots (of one region, or all).
    List {
        #[arg(long, default_value = "")]
        region: String,
    },
    /// Delete a snapshot and the objects only it refers to.
    Delete {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        region: String,
    },
    /// Copy a snapshot to another region's store (only objects missing there are sent).
    Copy {
        #[arg(long)]
        id: String,
        #[arg(long)]
        to_region: String,
    },
    /// Copy every new automated snapshot to another region.
    EnableCopy {
        #[arg(long)]
        to_region: String,
        /// Days to keep the copies (default: as the source snapshots).
        #[arg(long)]
        retention: Option<i64>,
    },
}

use crate::error::{Error, Result};
use crate::local::start_compute;
use crate::server::{DEFAULT_AUTO_ALL_MAX_ROWS, Leader, LeaderConfig, start_leader};
use crate::snapshot::SnapshotConfig;

/// The `blueshift` program: parses the command line and runs what it asks for.
pub fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(crate::planner::THREAD_STACK_BYTES)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blueshift: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
fn shutdown_signal() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        let _ = sender.send(true);
    });
    receiver
}

async fn stopped(mut receiver: watch::Receiver<bool>) {
    let _ = receiver.wait_for(|stop| *stop).await;
}

fn listen_address(host: &str, port: u16) -> Result<SocketAddr> {
    format!("{host}:{port}")
        .parse()
        .or_else(|_| {
            std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
                .map_err(|e| e.to_string())
                .and_then(|mut a| a.next().ok_or_else(|| "no address".to_string()))
        })
        .map_err(|e| Error::internal(format!("invalid listen address {host}:{port}: {e}")))
}

fn print_connect(address: SocketAddr) {
    println!(
        "Blueshift is ready. Connect with:\n  psql -h {} -p {} -U awsuser -d dev",
        address.ip(),
        address.port()
    );
}

async fn run(cli: Cli) -> Result<()> {
    let stop = shutdown_signal();
    match cli.command {
        None => run_local(cli.local, stop).await,
        Some(Command::Restore { snapshot, cluster }) => run_restore(&snapshot, cluster, stop).await,
        Some(Command::Snapshot { action, admin }) => crate::snapshot::client::run(&admin, action).await,
        Some(Command::RestoreTable { snapshot, table, new_table, region, admin }) => {
            crate::snapshot::client::restore_table(&admin, snapshot, region, table, new_table).await
        }
        Some(Command::Compute { data_dir, listen, slices }) => {
            let (address, task) = start_compute(&data_dir, &listen, slices, stopped(stop)).await?;
            println!("Blueshift compute node serving on {address}");
            let _ = task.await;
            Ok(())
        }
        Some(Command::Leader {
            data_dir,
            host,
            port,
            compute,
            password,
            s3_endpoint,
            auto_all_max_rows,
            auto_vacuum_interval,
            snapshots,
        }) => {
            let config = LeaderConfig {
                s3: S3Config::new(s3_endpoint, data_dir.join("s3")),
                data_dir,
                listen: listen_address(&host, port)?,
                compute,
                password,
                auto_all_max_rows,
                auto_vacuum_interval: enabled(auto_vacuum_interval),
                snapshots: snapshots.config(),
                admin_listen: Some(listen_address(&host, snapshots.admin_port.unwrap_or(port.wrapping_add(1)))?),
                restore_from: None,
            };
            let (leader, task) = start_leader(config, stopped(stop)).await?;
            print_connect(leader.address);
            let _ = task.await;
            Ok(())
        }
    }
}

/// The local cluster: compute nodes on loopback ports, and the leader, in this process.
async fn run_local(args: LocalArgs, stop: watch::Receiver<bool>) -> Result<()> {
    let (leader, task) = start_local(&args, None, stop).await?;
    print_connect(leader.address);
    let _ = task.await;
    Ok(())
}

/// A new local cluster in the empty `--data-dir`, holding the data of `snapshot`.
async fn run_restore(snapshot: &str, args: LocalArgs, stop: watch::Receiver<bool>) -> Result<()> {
    let occupied = std::fs::read_dir(&args.data_dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        return Err(Error::new(
            crate::error::SqlState::InvalidParameterValue,
            format!("{} is not empty: a restore creates a new cluster in a new directory", args.data_dir.display()),
        ));
    }
    let started = std::time::Instant::now();
    let (leader, task) = start_local(&args, Some(snapshot.to_string()), stop).await?;
    let rows = leader.restored_rows.unwrap_or_default();
    println!("Restored snapshot {snapshot} ({rows} rows) in {:.1}s", started.elapsed().as_secs_f64());
    print_connect(leader.address);
    let _ = task.await;
    Ok(())
}

async fn start_local(args: &LocalArgs, restore_from: Option<String>, stop: watch::Receiver<bool>) -> Result<(Leader, tokio::task::JoinHandle<()>)> {
    let mut compute = Vec::new();
    for node in 0..args.nodes {
        let dir = args.data_dir.join(format!("compute-{node}"));
        let (address, _task) = start_compute(&dir, "127.0.0.1:0", args.slices_per_node, stopped(stop.clone())).await?;
        compute.push(address.to_string());
    }
    let config = LeaderConfig {
        data_dir: args.data_dir.join("leader"),
        listen: listen_address(&args.host, args.port)?,
        compute,
        password: args.password.clone(),
        s3: S3Config::new(args.s3_endpoint.clone(), args.data_dir.join("s3")),
        auto_all_max_rows: args.auto_all_max_rows,
        auto_vacuum_interval: enabled(args.auto_vacuum_interval),
        snapshots: args.snapshots.config(),
        admin_listen: Some(listen_address(&args.host, args.snapshots.admin_port.unwrap_or(args.port.wrapping_add(1)))?),
        restore_from,
    };
    start_leader(config, stopped(stop)).await
}
