//! A real S3-compatible server for tests: `s3s-fs` serving a temporary folder on 127.0.0.1 with
//! SigV4 authentication, so COPY and friends are tested through object_store's S3 client exactly
//! as against AWS (signing, path-style requests, paginated listings).
//!
//! s3s-fs keeps bucket `b`'s object `k` as the file `<root>/b/k`, so tests create buckets and
//! objects directly on disk and read them back only through S3. The server logs every request
//! it receives, so a test can assert what was (and was not) fetched.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use blueshift_compute::s3::S3Credentials;
use blueshift_leader::snapshot::SnapshotConfig;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The key pair the test server accepts.
pub const ACCESS_KEY_ID: &str = "AKIABLUESHIFTTEST";
pub const SECRET_ACCESS_KEY: &str = "blueshift-test-secret-key";

/// A running test S3 server; stops when dropped.
pub struct TestS3 {
    pub endpoint: String,
    root: tempfile::TempDir,
    task: JoinHandle<()>,
    /// `METHOD /bucket/key?query` of every request received, in order.
    requests: Arc<Mutex<Vec<String>>>,
}

impl TestS3 {
    pub async fn start() -> TestS3 {
        let root = tempfile::tempdir().expect("temporary directory");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs over the folder");
        let service = {
            let mut builder = S3ServiceBuilder::new(fs);
            builder.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
            builder.build()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                let log = Arc::clone(&log);
                let logged = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    log.lock().unwrap().push(format!("{} {}", request.method(), request.uri()));
                    hyper::service::Service::call(&service, request)
                });
                let connection = http
                    .serve_connection(TokioIo::new(socket), logged)
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        TestS3 {
            endpoint,
            root,
            task,
            requests,
        }
    }

    /// The requests received so far (`GET /bucket/key`, ...), and forgets them.
    pub fn take_requests(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Snapshots of region `region` kept under `s3://bucket/region` on this server (the bucket is
    /// created), with this server's keys; automated snapshots off.
    pub fn snapshot_config(&self, bucket: &str, region: &str) -> SnapshotConfig {
        self.create_bucket(bucket);
        SnapshotConfig {
            region: region.into(),
            stores: std::collections::BTreeMap::from([(region.to_string(), format!("s3://{bucket}/{region}"))]),
            retention: std::time::Duration::ZERO,
            credentials: S3Credentials {
                access_key_id: Some(ACCESS_KEY_ID.into()),
                secret_access_key: Some(SECRET_ACCESS_KEY.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir_all(self.root.path().join(bucket)).expect("bucket folder");
    }

    /// Stores `data` as `s3://bucket/key` (the bucket must exist).
    pub fn put(&self, bucket: &str, key: &str, data: impl AsRef<[u8]>) -> PathBuf {
        put_file(&self.root.path().join(bucket), key, data)
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Writes `data` to `<bucket_dir>/<key>`, creating folders: for the test server's root and for a
/// cluster's embedded store (`<data-dir>/s3/<bucket>`) alike.
pub fn put_file(bucket_dir: &Path, key: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let path = bucket_dir.join(key);
    std::fs::create_dir_all(path.parent().expect("key has a folder")).expect("folders");
    std::fs::write(&path, data).expect("object written");
    path
}

/// Every file under `dir`, as paths relative to it with `/` separators, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}
