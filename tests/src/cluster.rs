//! Clusters for tests: in-process (fast, for SQL tests) or as real `blueshift` processes (for
//! failure and restart tests).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use blueshift_leader::local::start_compute;
use blueshift_leader::server::{DEFAULT_AUTO_ALL_MAX_ROWS, LeaderConfig, start_leader};
use blueshift_leader::snapshot::SnapshotConfig;
use tokio::sync::watch;
use tokio_postgres::{Client, NoTls};

/// Connects to a Blueshift leader as the superuser.
pub async fn connect(port: u16) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=awsuser dbname=dev connect_timeout=10"),
        NoTls,
    )
    .await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A cluster in this process: compute nodes and leader on loopback ports, over the same gRPC
/// paths as separate processes.
pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
    /// The leader's admin service, if it serves one.
    pub admin: Option<std::net::SocketAddr>,
    pub server: std::sync::Arc<blueshift_leader::server::Server>,
    _temp: Option<tempfile::TempDir>,
    stop: watch::Sender<bool>,
}

/// How a test cluster's leader is configured beyond the cluster's size.
struct Options {
    s3_endpoint: Option<String>,
    auto_all_max_rows: u64,
    snapshots: Option<SnapshotConfig>,
    auto_vacuum_interval: Option<Duration>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            s3_endpoint: None,
            auto_all_max_rows: DEFAULT_AUTO_ALL_MAX_ROWS,
            snapshots: None,
            // Off: tests assert the segments their writes leave, which a background vacuum would
            // merge at any moment.
            auto_vacuum_interval: None,
        }
    }
}

impl Cluster {
    /// A new cluster in a fresh temporary directory.
    pub async fn start(nodes: u32, slices_per_node: u32) -> Cluster {
        let temp = tempfile::tempdir().expect("temporary directory");
        let dir = temp.path().to_path_buf();
        let mut cluster = Cluster::start_in(&dir, nodes, slices_per_node).await;
        cluster._temp = Some(temp);
        cluster
    }

    /// A new cluster whose `s3://` locations are served by the S3 server at `s3_endpoint`, with
    /// the test server's keys as the cluster's own (what IAM_ROLE stands for).
    pub async fn start_with_s3(nodes: u32, slices_per_node: u32, s3_endpoint: &str) -> Cluster {
        let temp = tempfile::tempdir().expect("temporary directory");
        let dir = temp.path().to_path_buf();
        let options = Options {
            s3_endpoint: Some(s3_endpoint.into()),
            ..Options::default()
        };
        let mut cluster = Cluster::start_configured(&dir, nodes, slices_per_node, options).await;
        cluster._temp = Some(temp);
        cluster
    }

    /// A new cluster whose AUTO tables switch from ALL to EVEN beyond `auto_all_max_rows`.
    pub async fn start_with_auto_threshold(nodes: u32, slices_per_node: u32, auto_all_max_rows: u64) -> Cluster {
        let temp = tempfile::tempdir().expect("temporary directory");
        let dir = temp.path().to_path_buf();
        let options = Options {
            auto_all_max_rows,
            ..Options::default()
        };
        let mut cluster = Cluster::start_configured(&dir, nodes, slices_per_node, options).await;
        cluster._temp = Some(temp);
        cluster
    }

    /// A cluster over the data in `dir` (new or existing).
    pub async fn start_in(dir: &Path, nodes: u32, slices_per_node: u32) -> Cluster {
        Cluster::start_configured(dir, nodes, slices_per_node, Options::default()).await
    }

    /// A new cluster whose automatic vacuum looks for work every `interval`.
    pub async fn start_with_auto_vacuum(nodes: u32, slices_per_node: u32, interval: Duration) -> Cluster {
        let temp = tempfile::tempdir().expect("temporary directory");
        let dir = temp.path().to_path_buf();
        let options = Options {
            auto_vacuum_interval: Some(interval),
            ..Options::default()
        };
        let mut cluster = Cluster::start_configured(&dir, nodes, slices_per_node, options).await;
        cluster._temp = Some(temp);
        cluster
    }

    /// A new cluster that keeps snapshots as `snapshots` says, serving the admin API, with
    /// `s3://` locations at `s3_endpoint` (else the embedded store).
    pub async fn start_with_snapshots(nodes: u32, slices_per_node: u32, s3_endpoint: Option<String>, snapshots: SnapshotConfig) -> Cluster {
        let temp = tempfile::tempdir().expect("temporary directory");
        let dir = temp.path().to_path_buf();
        let options = Options {
            s3_endpoint,
            snapshots: Some(snapshots),
            ..Options::default()
        };
        let mut cluster = Cluster::start_configured(&dir, nodes, slices_per_node, options).await;
        cluster._temp = Some(temp);
        cluster
    }

    /// The embedded object store's root (used when no S3 endpoint is configured).
    pub fn embedded_store(&self) -> PathBuf {
        self.dir.join("s3")
    }

    /// The embedded object store's folder for `bucket`.
    pub fn embedded_bucket(&self, bucket: &str) -> PathBuf {
        self.embedded_store().join(bucket)
    }

    async fn start_configured(dir: &Path, nodes: u32, slices_per_node: u32, options: Options) -> Cluster {
        let Options {
            s3_endpoint,
            auto_all_max_rows,
            snapshots,
            auto_vacuum_interval,
        } = options;
        let (stop, receiver) = watch::channel(false);
        let stopped = |mut r: watch::Receiver<bool>| async move {
            let _ = r.wait_for(|s| *s).await;
        };
        let mut compute = Vec::new();
        for node in 0..nodes {
            let (address, _) = start_compute(
                &dir.join(format!("compute-{node}")),
                "127.0.0.1:0",
                slices_per_node,
                stopped(receiver.clone()),
            )
            .await
            .expect("compute node starts");
            compute.push(address.to_string());
        }
        let mut s3 = blueshift_compute::s3::S3Config::new(s3_endpoint, dir.join("s3"));
        if s3.endpoint.is_some() {
            s3.credentials = blueshift_compute::s3::S3Credentials {
                access_key_id: Some(crate::s3::ACCESS_KEY_ID.into()),
                secret_access_key: Some(crate::s3::SECRET_ACCESS_KEY.into()),
                ..Default::default()
            };
        }
        let config = LeaderConfig {
            data_dir: dir.join("leader"),
            listen: "127.0.0.1:0".parse().unwrap(),
            compute,
            password: None,
            s3,
            auto_all_max_rows,
            auto_vacuum_interval,
            admin_listen: snapshots.as_ref().map(|_| "127.0.0.1:0".parse().unwrap()),
            snapshots: snapshots.unwrap_or_default(),
            restore_from: None,
        };
        let (leader, _) = start_leader(config, stopped(receiver)).await.expect("leader starts");
        Cluster {
            port: leader.address.port(),
            dir: dir.to_path_buf(),
            admin: leader.admin_address,
            server: leader.server,
            _temp: None,
            stop,
        }
    }

    pub async fn connect(&self) -> Client {
        connect(self.port).await.expect("connects to the leader")
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `blueshift` program, as this package's `blueshift-process` binary: the same `main`, built
/// by the same `cargo test` invocation that builds the tests (which run from `target/*/deps`).
pub fn blueshift_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
    dir.join(format!("blueshift-process{}", std::env::consts::EXE_SUFFIX))
}

/// A free loopback port.
///
/// The port comes from below the kernel's ephemeral range, where binding port 0 never lands. A
/// port from that range (what binding port 0 here would give) is free again once picked, and the
/// next node anywhere that binds port 0 can get it before the process it was picked for binds it:
/// an in-process test cluster, or a compute node of that very process, which binds before its
/// leader. Then the port accepted connections but no leader answered on it, and a test that
/// restarts a cluster on one port failed to connect. Ports are handed out in turn from a start
/// spread by process id, so test processes running side by side do not pick the same ones.
pub fn free_port() -> u16 {
    const LOWEST: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let span = ephemeral.saturating_sub(LOWEST);
    if span < 1_000 {
        // An unusual range leaves no room below it: take what the kernel gives.
        return std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
    }
    let start = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let port = LOWEST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let Ok(port) = u16::try_from(port) else { continue };
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range ({ephemeral})")
}

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A running `blueshift` process, killed (SIGKILL) when dropped.
pub struct BlueshiftProcess {
    pub child: Child,
    pub port: u16,
}

impl BlueshiftProcess {
    /// Starts `blueshift <args>` and waits until `port` accepts connections.
    /// A process that exits instead (its port taken, a bad data directory) fails the test at
    /// once, with its log.
    pub fn spawn(args: &[String], port: u16, log_path: &Path) -> BlueshiftProcess {
        let log = std::fs::File::create(log_path).expect("log file");
        let child = Command::new(blueshift_binary())
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("blueshift starts");
        let mut process = BlueshiftProcess { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !wait_for_port(port, Duration::from_millis(200)) {
            let exited = process.child.try_wait().expect("the child's status");
            if exited.is_some() || Instant::now() > deadline {
                let _ = process.child.kill();
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                panic!("blueshift {args:?} did not start listening on {port} ({exited:?}):\n{log}");
            }
        }
        process
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for BlueshiftProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cluster of separate processes: `nodes` compute processes and one leader process.
pub struct ProcessCluster {
    pub dir: PathBuf,
    pub leader: BlueshiftProcess,
    pub compute: Vec<BlueshiftProcess>,
    pub compute_ports: Vec<u16>,
}

impl ProcessCluster {
    pub fn start(dir: &Path, nodes: usize, slices: u32) -> ProcessCluster {
        ProcessCluster::start_with(dir, nodes, slices, &[])
    }

    /// A cluster whose leader gets `leader_args` on top of the usual ones.
    pub fn start_with(dir: &Path, nodes: usize, slices: u32, leader_args: &[String]) -> ProcessCluster {
        let compute_ports: Vec<u16> = (0..nodes).map(|_| free_port()).collect();
        let compute = compute_ports
            .iter()
            .enumerate()
            .map(|(i, port)| ProcessCluster::spawn_compute(dir, i, *port, slices))
            .collect();
        let leader = ProcessCluster::spawn_leader_with(dir, &compute_ports, leader_args);
        ProcessCluster {
            dir: dir.to_path_buf(),
            leader,
            compute,
            compute_ports,
        }
    }

    pub fn spawn_compute(dir: &Path, index: usize, port: u16, slices: u32) -> BlueshiftProcess {
        let args = vec![
            "compute".to_string(),
            "--data-dir".into(),
            dir.join(format!("compute-{index}")).display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--slices".into(),
            slices.to_string(),
        ];
        BlueshiftProcess::spawn(&args, port, &dir.join(format!("compute-{index}.log")))
    }

    pub fn spawn_leader(dir: &Path, compute_ports: &[u16]) -> BlueshiftProcess {
        ProcessCluster::spawn_leader_with(dir, compute_ports, &[])
    }

    pub fn spawn_leader_with(dir: &Path, compute_ports: &[u16], extra: &[String]) -> BlueshiftProcess {
        let port = free_port();
        let mut args = ProcessCluster::leader_command(dir, compute_ports, port);
        if !extra.iter().any(|a| a == "--admin-port") {
            // The admin port defaults to the SQL port + 1, which nothing reserved for this test:
            // another test's server may hold it.
            args.extend(["--admin-port".to_string(), free_port().to_string()]);
        }
        args.extend_from_slice(extra);
        BlueshiftProcess::spawn(&args, port, &dir.join("leader.log"))
    }

    /// Arguments of `blueshift leader` over the compute nodes on `compute_ports`.
    pub fn leader_command(dir: &Path, compute_ports: &[u16], port: u16) -> Vec<String> {
        let mut args = vec![
            "leader".to_string(),
            "--data-dir".into(),
            dir.join("leader").display().to_string(),
            "--port".into(),
            port.to_string(),
        ];
        for p in compute_ports {
            args.push("--compute".into());
            args.push(format!("127.0.0.1:{p}"));
        }
        args
    }
}
