//! The Blueshift leader: the `blueshift` binary's library.
//!
//! The leader speaks the PostgreSQL wire protocol to clients (as Redshift does), keeps the catalog
//! and the transaction log, plans queries with DataFusion, and runs their heavy parts on the
//! compute nodes — which, in local mode, it starts in the same process, reached over the same
//! gRPC paths as separate machines.

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

/// Every program built on the leader (the `blueshift` binary, the benchmarks, the tests)
/// allocates with mimalloc. Loads and scans allocate and free many large Arrow buffers; glibc's
/// malloc hands those back to the kernel and takes fresh zeroed pages for the next one, which cost
/// a third of a COPY's CPU time in system time (TPC-H SF1 lineitem: 17.7 s system of 70 s).
///
/// mimalloc is built without transparent huge pages (`no_thp`): with them, each touch of memory
/// it had returned to the kernel faulted in and zeroed a whole 2 MB page, which was 55% of a CSV
/// load's samples (7.2 s of system time in a 9 s load; 2.2 s without).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
