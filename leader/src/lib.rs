//! The Blueshift leader: the `blueshift` binary's library.
//!
//! The leader speaks the PostgreSQL wire protocol to clients (as Redshift does), keeps the catalog
//! and the transaction log, plans queries with DataFusion, and runs their heavy parts on the
//! compute nodes — which, in local mode, it starts in the same process, reached over the same
//! gRPC paths as separate machines.

pub mod allocator;
pub mod auto_vacuum;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod error;
pub mod handler;
pub mod local;
pub mod planner;
pub mod protocol;
pub mod redistribute;
pub mod server;
pub mod session;
pub mod snapshot;
pub mod sql;
pub mod system;
pub mod txn;

