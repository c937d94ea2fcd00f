//! A compute node's side of a fast restore: its slices get a snapshot's images at once, while
//! their segment files stay in the snapshot store until something needs them.
//!
//! Installing a restore writes the slices' manifests (zone maps included, so planning and
//! pruning need no segment body), fetches the small delete bitmaps, and records every segment
//! file still in the store in `restore.json` in the node's directory. From then on a scan fetches
//! the segments it kept after pruning that are not local yet, and a background task downloads the
//! rest, at a bounded rate if asked. A file becomes local by an atomic rename, so after a restart
//! the files present are exactly the ones done and the background download resumes with the
//! others; `restore.json` stays, marked completed, as the record of the restore.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use blueshift_proto::{InstallImagesRequest, ObjectLocation, RestoreStatusResponse};
use blueshift_storage::snapshot::SliceImage;
use blueshift_storage::{NodeStore, fsio};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};
use prost::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, watch};
use tonic::Status;

use crate::snapshot::{object_key, open_location};

const PLAN_FILE: &str = "restore.json";

/// Files fetched at once, by a scan or while installing.
const PARALLEL_FETCHES: usize = 4;

/// What `restore.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Plan {
    snapshot_id: String,
    /// The snapshot store, a protobuf-encoded `ObjectLocation`.
    location: Vec<u8>,
    /// Bytes per second for the background download; 0: unbounded.
    background_rate: u64,
    started_ms: i64,
    completed_ms: Option<i64>,
    /// Every segment file the restore brought, by path relative to the node's directory.
    files: BTreeMap<String, Remote>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Remote {
    object: String,
    bytes: u64,
}

struct Restore {
    plan: std::sync::Mutex<Plan>,
    objects: Arc<dyn ObjectStore>,
    prefix: String,
    /// Whether each file is local; held while the file is being fetched, so it is fetched once.
    local: HashMap<String, Mutex<bool>>,
    downloaded_bytes: AtomicU64,
    downloaded_objects: AtomicU64,
    on_demand_objects: AtomicU64,
}

/// The node's restore, if it was restored from a snapshot.
pub struct Restorer {
    store: Arc<NodeStore>,
    root: PathBuf,
    current: RwLock<Option<Arc<Restore>>>,
    stop: watch::Receiver<bool>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

impl Restorer {
    /// The restore recorded under `root`, its background download resumed; `stop` ends it.
    pub fn open(store: Arc<NodeStore>, stop: watch::Receiver<bool>) -> Result<Arc<Restorer>, String> {
        let root = store.root().to_path_buf();
        let restorer = Arc::new(Restorer { store, root: root.clone(), current: RwLock::new(None), stop });
        let path = root.join(PLAN_FILE);
        if path.exists() {
            let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| format!("corrupt {}: {e}", path.display()))?;
            restorer.begin(plan).map_err(|e| e.message().to_string())?;
        }
        Ok(restorer)
    }

    /// Makes `plan` the node's restore and starts downloading what is not local yet.
    fn begin(self: &Arc<Self>, plan: Plan) -> Result<(), Status> {
        let location = ObjectLocation::decode(&plan.location[..]).map_err(internal)?;
        let (objects, prefix) = open_location(&location).map_err(|e| Status::failed_precondition(e.to_string()))?;
        let restore = Restore {
            local: plan.files.keys().map(|rel| (rel.clone(), Mutex::new(self.root.join(rel).exists()))).collect(),
            downloaded_bytes: AtomicU64::new(0),
            downloaded_objects: AtomicU64::new(0),
            on_demand_objects: AtomicU64::new(0),
            objects,
            prefix,
            plan: std::sync::Mutex::new(plan),
        };
        {
            let plan = restore.plan.lock().unwrap();
            for (rel, remote) in &plan.files {
                if self.root.join(rel).exists() {
                    restore.downloaded_bytes.fetch_add(remote.bytes, Ordering::SeqCst);
                    restore.downloaded_objects.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        let restore = Arc::new(restore);
        let completed = restore.plan.lock().unwrap().completed_ms.is_some();
        *self.current.write().unwrap() = Some(Arc::clone(&restore));
        if !completed {
            tokio::spawn(Arc::clone(self).download_all(restore));
        }
        Ok(())
    }

    fn current(&self) -> Option<Arc<Restore>> {
        self.current.read().unwrap().clone()
    }

    /// Installs a snapshot's slice images for this node as pending changes of the request's
    /// transaction (see the module comment).
    pub async fn install(self: &Arc<Self>, request: InstallImagesRequest) -> Result<(), Status> {
        if self.current().is_some() || self.root.join(PLAN_FILE).exists() {
            return Err(Status::failed_precondition("this node was already restored from a snapshot"));
        }
        let location = request.store.ok_or_else(|| Status::invalid_argument("no snapshot store"))?;
        let (objects, prefix) = open_location(&location).map_err(|e| Status::failed_precondition(e.to_string()))?;
        let images: Vec<SliceImage> = serde_json::from_slice(&request.images).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let sizes: HashMap<String, u64> = images
            .iter()
            .flat_map(|i| i.segments.iter())
            .map(|s| (s.file.clone(), s.bytes))
            .collect();
        let (xid, store) = (request.xid, Arc::clone(&self.store));
        let files = tokio::task::spawn_blocking(move || {
            let mut files = Vec::new();
            for image in &images {
                files.extend(store.install(xid, image)?);
            }
            Ok::<_, blueshift_storage::StorageError>(files)
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        let (segments, bitmaps): (Vec<_>, Vec<_>) = files.into_iter().partition(|(_, object)| sizes.contains_key(object));
        futures::stream::iter(bitmaps)
            .map(|(path, object)| fetch_file(&objects, &prefix, object, path))
            .buffer_unordered(PARALLEL_FETCHES)
            .try_collect::<Vec<u64>>()
            .await?;
        let plan = Plan {
            snapshot_id: request.snapshot_id,
            location: location.encode_to_vec(),
            background_rate: request.background_rate,
            started_ms: now_ms(),
            completed_ms: None,
            files: segments
                .into_iter()
                .map(|(path, object)| {
                    let rel = path.strip_prefix(&self.root).unwrap_or(&path).to_string_lossy().into_owned();
                    let bytes = sizes[&object];
                    (rel, Remote { object, bytes })
                })
                .collect(),
        };
        self.save(&plan).await?;
        self.begin(plan)
    }

    async fn save(&self, plan: &Plan) -> Result<(), Status> {
        let bytes = serde_json::to_vec(plan).expect("restore plans serialize");
        let path = self.root.join(PLAN_FILE);
        tokio::task::spawn_blocking(move || fsio::write_atomic(&path, &bytes))
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    /// Makes the files at `paths` local, fetching those a restore left in the snapshot store.
    pub async fn ensure<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) -> Result<(), Status> {
        let Some(restore) = self.current() else {
            return Ok(());
        };
        let wanted: Vec<String> = paths
            .into_iter()
            .filter_map(|p| p.strip_prefix(&self.root).ok())
            .map(|rel| rel.to_string_lossy().into_owned())
            .filter(|rel| restore.local.contains_key(rel))
            .collect();
        futures::stream::iter(wanted)
            .map(|rel| self.fetch(&restore, rel, true))
            .buffer_unordered(PARALLEL_FETCHES)
            .try_collect::<Vec<u64>>()
            .await
            .map(|_| ())
    }

    /// Makes every file of the restore local.
    pub async fn ensure_all(&self) -> Result<(), Status> {
        let Some(restore) = self.current() else {
            return Ok(());
        };
        let paths: Vec<PathBuf> = restore.local.keys().map(|rel| self.root.join(rel)).collect();
        self.ensure(paths.iter().map(PathBuf::as_path)).await
    }

    /// Fetches file `rel` unless it is local; returns the bytes fetched.
    async fn fetch(&self, restore: &Restore, rel: String, on_demand: bool) -> Result<u64, Status> {
        let mut local = restore.local[&rel].lock().await;
        if *local {
            return Ok(0);
        }
        let (object, size) = {
            let plan = restore.plan.lock().unwrap();
            (plan.files[&rel].object.clone(), plan.files[&rel].bytes)
        };
        let path = self.root.join(&rel);
        if !self.store.holds_segment(&path) {
            // Its table was dropped since, or the restore's transaction aborted: nothing is left
            // to bring.
            *local = true;
            restore.downloaded_bytes.fetch_add(size, Ordering::SeqCst);
            restore.downloaded_objects.fetch_add(1, Ordering::SeqCst);
            return Ok(0);
        }
        let bytes = fetch_file(&restore.objects, &restore.prefix, object, path).await?;
        *local = true;
        restore.downloaded_bytes.fetch_add(bytes, Ordering::SeqCst);
        restore.downloaded_objects.fetch_add(1, Ordering::SeqCst);
        if on_demand {
            restore.on_demand_objects.fetch_add(1, Ordering::SeqCst);
        }
        Ok(bytes)
    }

    /// The background download: every file not local yet, in order, pausing after each to keep
    /// to the rate; failures are retried. Marks the restore completed at the end.
    async fn download_all(self: Arc<Self>, restore: Arc<Restore>) {
        let (files, rate) = {
            let plan = restore.plan.lock().unwrap();
            (plan.files.keys().cloned().collect::<Vec<_>>(), plan.background_rate)
        };
        let mut stop = self.stop.clone();
        for rel in files {
            let mut done = false;
            while !done {
                if *stop.borrow() {
                    return;
                }
                let pause = match self.fetch(&restore, rel.clone(), false).await {
                    Ok(bytes) => {
                        done = true;
                        if rate == 0 { Duration::ZERO } else { Duration::from_secs_f64(bytes as f64 / rate as f64) }
                    }
                    Err(e) => {
                        tracing::warn!(file = %rel, error = %e.message(), "restore download failed; retrying");
                        Duration::from_secs(1)
                    }
                };
                if !pause.is_zero() {
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            }
        }
        let plan = {
            let mut plan = restore.plan.lock().unwrap();
            plan.completed_ms = Some(now_ms());
            plan.clone()
        };
        match self.save(&plan).await {
            Ok(()) => tracing::info!(snapshot = %plan.snapshot_id, files = plan.files.len(), "restore download completed"),
            Err(e) => tracing::error!(error = %e.message(), "cannot record the completed restore"),
        }
    }

    /// Progress of the node's restore.
    pub fn status(&self) -> RestoreStatusResponse {
        let Some(restore) = self.current() else {
            return RestoreStatusResponse::default();
        };
        let plan = restore.plan.lock().unwrap();
        RestoreStatusResponse {
            restored: true,
            snapshot_id: plan.snapshot_id.clone(),
            status: if plan.completed_ms.is_some() { "completed" } else { "restoring" }.into(),
            total_bytes: plan.files.values().map(|r| r.bytes).sum(),
            downloaded_bytes: restore.downloaded_bytes.load(Ordering::SeqCst),
            total_objects: plan.files.len() as u64,
            downloaded_objects: restore.downloaded_objects.load(Ordering::SeqCst),
            on_demand_objects: restore.on_demand_objects.load(Ordering::SeqCst),
            started_ms: plan.started_ms,
            completed_ms: plan.completed_ms,
        }
    }
}

/// Downloads `object` to `path` (atomically: a crash leaves no partial file under that name);
/// returns its size.
async fn fetch_file(objects: &Arc<dyn ObjectStore>, prefix: &str, object: String, path: PathBuf) -> Result<u64, Status> {
    let key = object_key(prefix, &object);
    let unavailable = |e: object_store::Error| Status::unavailable(format!("cannot fetch {key} from the snapshot store: {e}"));
    let bytes = objects.get(&key).await.map_err(unavailable)?.bytes().await.map_err(unavailable)?;
    let size = bytes.len() as u64;
    tokio::task::spawn_blocking(move || fsio::write_atomic(&path, &bytes))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    Ok(size)
}
