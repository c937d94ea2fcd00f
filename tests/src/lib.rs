//! Test support for Blueshift: clusters started in-process or as separate `blueshift` processes,
//! PostgreSQL clients for them, the sqllogictest engine that runs `.slt` files over the wire, and
//! TPC-H data, queries and expected answers.

pub mod cluster;
pub mod cpu;
pub mod plans;
pub mod s3;
pub mod sql;
pub mod slt;
pub mod tpch;

pub use cluster::{Cluster, ProcessCluster, blueshift_binary, connect};
pub use plans::{explain, plan_figure};
