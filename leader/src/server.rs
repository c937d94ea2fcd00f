//! The leader process: opens the transaction log and catalog, attaches the compute nodes, and
//! serves PostgreSQL clients.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;

use crate::auto_vacuum::AutoVacuum;
use crate::catalog::provider::Services;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::protocol::{HandlerFactory, Handlers};
use crate::session::SessionRegistry;
use crate::snapshot::admin::AdminService;
use crate::snapshot::{SnapshotConfig, Snapshots};
use blueshift_proto::snapshot_admin_server::SnapshotAdminServer;
use crate::txn::TransactionManager;

/// How long the leader waits at startup for compute nodes that are not up yet.
const NODE_WAIT: Duration = Duration::from_secs(60);
/// How often lagging nodes are settled, dropped tables' files removed and grown AUTO tables
/// redistributed.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(1);
/// Rows beyond which an AUTO table switches from ALL to EVEN. Redshift does not publish its
/// threshold; a million rows keeps the copies on every node small (tens of MB) while the joins
/// they serve stay local.
pub const DEFAULT_AUTO_ALL_MAX_ROWS: u64 = 1_000_000;

#[derive(Debug, Clone)]
pub enum AuthMode {
    /// Loopback listeners: no password.
    Trust,
    /// Any other listener: the superuser's password, checked with MD5.
    Md5Password(String),
}

pub struct Server {
    pub services: Arc<Services>,
    pub sessions: SessionRegistry,
    pub auth: AuthMode,
    next_pid: AtomicI32,
}

impl Server {
    pub fn next_pid(&self) -> i32 {
        self.next_pid.fetch_add(1, Ordering::SeqCst)
    }
}

#[derive(Debug, Clone)]
pub struct LeaderConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Compute node addresses (host:port), in node order.
    pub compute: Vec<String>,
    pub password: Option<String>,
    /// Where `s3://` locations are read from and written to.
    pub s3: blueshift_compute::s3::S3Config,
    /// Rows beyond which a DISTSTYLE AUTO table switches from ALL to EVEN.
    pub auto_all_max_rows: u64,
    /// How often automatic vacuum looks for tables to sort or reclaim while the cluster is idle
    /// ([`crate::auto_vacuum`]); `None`: never.
    pub auto_vacuum_interval: Option<Duration>,
    /// Snapshot stores and automated snapshots.
    pub snapshots: SnapshotConfig,
    /// Where the admin gRPC service (snapshots, restore-table) listens; `None`: nowhere.
    pub admin_listen: Option<SocketAddr>,
    /// A snapshot (in the store of the cluster's region) to restore this new cluster from before
    /// it accepts clients, so none ever sees it empty.
    pub restore_from: Option<String>,
}

/// A started leader: where it listens, and the task serving it.
pub struct Leader {
    pub address: SocketAddr,
    pub admin_address: Option<SocketAddr>,
    pub server: Arc<Server>,
    /// Rows restored from `LeaderConfig::restore_from`.
    pub restored_rows: Option<u64>,
}

/// Starts the leader; the returned future serves clients until `shutdown` resolves.
pub async fn start_leader(
    config: LeaderConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(Leader, tokio::task::JoinHandle<()>)> {
    crate::allocator::configure();
    let auth = match (&config.password, config.listen.ip().is_loopback()) {
        (Some(password), _) => AuthMode::Md5Password(password.clone()),
        (None, true) => AuthMode::Trust,
        (None, false) => {
            return Err(Error::new(
                crate::error::SqlState::InvalidAuthorizationSpecification,
                format!(
                    "listening on {} requires a password: pass --password or set BLUESHIFT_PASSWORD",
                    config.listen
                ),
            ));
        }
    };
    let txns = Arc::new(TransactionManager::open(&config.data_dir)?);
    let cluster = Arc::new(Cluster::connect(&config.data_dir, &config.compute, &txns, NODE_WAIT).await?);
    txns.attach_cluster(Arc::clone(&cluster));
    txns.drop_table_files(&cluster).await;
    let snapshots = Snapshots::open(config.snapshots.clone(), &config.s3, &config.data_dir)?;
    let services = Arc::new(Services {
        cluster: Arc::clone(&cluster),
        txns: Arc::clone(&txns),
        log: Arc::default(),
        s3: config.s3.clone(),
        auto_all_max_rows: config.auto_all_max_rows,
        snapshots: Arc::new(snapshots),
        vacuum_running: tokio::sync::Mutex::default(),
    });
    let server = Arc::new(Server {
        services,
        sessions: SessionRegistry::default(),
        auth,
        next_pid: AtomicI32::new(std::process::id() as i32 % 10_000 * 100 + 1),
    });
    // The admin service is up before clients can connect, so tools that wait for the client
    // port find it too.
    let admin_address = match config.admin_listen {
        Some(listen) => Some(serve_admin(listen, Arc::clone(&server.services)).await?),
        None => None,
    };
    let restored_rows = match &config.restore_from {
        Some(snapshot) => Some(crate::snapshot::restore::restore_cluster(&server.services, snapshot, "").await?),
        None => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::internal(format!("cannot listen on {}: {e}", config.listen)))?;
    let address = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    tokio::spawn({
        let services = Arc::clone(&server.services);
        async move {
            loop {
                tokio::time::sleep(MAINTENANCE_INTERVAL).await;
                services.cluster.reconcile_lagging(&services.txns).await;
                services.txns.drop_table_files(&services.cluster).await;
                if let Err(e) = services.txns.purge_dropped_segments(&services.cluster).await {
                    tracing::warn!(error = %e, "could not remove dropped segments yet");
                }
                crate::redistribute::grow_auto_tables(&services).await;
            }
        }
    });
    // Apart from the maintenance above, which a long pass must not hold up (a lagging node's
    // reconciliation among it).
    if let Some(interval) = config.auto_vacuum_interval {
        let services = Arc::clone(&server.services);
        let mut auto_vacuum = AutoVacuum::new(interval);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(MAINTENANCE_INTERVAL).await;
                auto_vacuum.tick(&services).await;
            }
        });
    }
    tokio::spawn({
        let services = Arc::clone(&server.services);
        async move {
            loop {
                tokio::time::sleep(MAINTENANCE_INTERVAL).await;
                services.snapshots.tick(&services).await;
            }
        }
    });
    let handlers = Handlers::new(Arc::clone(&server));
    let task = tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => {
                        let _ = socket.set_nodelay(true);
                        let factory = Arc::new(HandlerFactory(Arc::clone(&handlers)));
                        tokio::spawn(async move {
                            if let Err(e) = pgwire::tokio::process_socket(socket, None, factory).await {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "accept failed"),
                },
            }
        }
    });
    Ok((Leader { address, admin_address, server, restored_rows }, task))
}

/// Serves the admin gRPC service on `listen`; returns the bound address.
async fn serve_admin(listen: SocketAddr, services: Arc<Services>) -> Result<SocketAddr> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Error::internal(format!("cannot listen on {listen}: {e}")))?;
    let address = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    let service = SnapshotAdminServer::new(AdminService::new(services));
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        if let Err(e) = tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming).await {
            tracing::error!(error = %e, "admin service stopped");
        }
    });
    Ok(address)
}
