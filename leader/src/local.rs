//! Starting compute nodes, alone or as part of a local cluster.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use blueshift_compute::restore::Restorer;
use blueshift_storage::NodeStore;
use tokio::net::TcpListener;

use crate::error::{Error, Result};

/// Opens a compute node's store and serves it on `listen` until `shutdown` resolves. Returns the
/// bound address and the serving task.
pub async fn start_compute(
    data_dir: &Path,
    listen: &str,
    slices: u32,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    crate::allocator::configure();
    let store = {
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || NodeStore::open(&data_dir, slices))
            .await
            .map_err(|e| Error::internal(e.to_string()))??
    };
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Error::internal(format!("cannot listen on {listen}: {e}")))?;
    let address = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    let store = Arc::new(store);
    // The restore's background download stops with the node.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let restorer = Restorer::open(Arc::clone(&store), stop).map_err(Error::internal)?;
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let task = tokio::spawn(async move {
        if let Err(e) = blueshift_compute::server::serve(store, restorer, listener, shutdown).await {
            tracing::error!(error = %e, "compute node stopped");
        }
    });
    Ok((address, task))
}
