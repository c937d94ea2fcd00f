//! Command-line interface of the `blueshift` binary.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "blueshift", version, about = "A Redshift-compatible columnar MPP data warehouse")]
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
    },
}
