//! The `blueshift` program: its command line, and running a local cluster, a compute node or a
//! leader. `src/main.rs` is a one-line wrapper, so tests can run the very same program.

use std::net::SocketAddr;
use std::path::PathBuf;

use blueshift_compute::s3::S3Config;
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
    },
}

use crate::error::{Error, Result};
use crate::local::start_compute;
use crate::server::{DEFAULT_AUTO_ALL_MAX_ROWS, LeaderConfig, start_leader};

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
        }) => {
            let config = LeaderConfig {
                s3: S3Config::new(s3_endpoint, data_dir.join("s3")),
                data_dir,
                listen: listen_address(&host, port)?,
                compute,
                password,
                auto_all_max_rows,
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
        password: args.password,
        s3: S3Config::new(args.s3_endpoint, args.data_dir.join("s3")),
        auto_all_max_rows: args.auto_all_max_rows,
    };
    let (leader, task) = start_leader(config, stopped(stop)).await?;
    print_connect(leader.address);
    let _ = task.await;
    Ok(())
}
