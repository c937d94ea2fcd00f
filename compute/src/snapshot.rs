//! A compute node's part of a snapshot: uploading its slices' files to the snapshot store.
//!
//! The leader names a commit (csn) and the tables to keep; the node takes each table slice's
//! segments as of that commit, names every segment and delete bitmap file by the hash of its
//! bytes, and uploads only the objects the store does not have yet. Files are immutable, so a
//! file's object name is computed once per process and remembered. The node answers with the
//! slices' images (manifests naming objects) and how many bytes it uploaded; the leader writes
//! them into the snapshot's metadata, and only that makes the snapshot exist.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use blueshift_proto::{ObjectLocation, SnapshotSlicesRequest, SnapshotSlicesResponse};
use blueshift_storage::NodeStore;
use blueshift_storage::snapshot::{NodeImage, SliceImage, object_name};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tonic::Status;

use crate::s3::{self, S3Config, S3Credentials, S3Url};

/// Uploads running at once per node.
const PARALLEL_UPLOADS: usize = 4;

/// The snapshot store a request names, and the key prefix of its objects.
pub fn open_location(location: &ObjectLocation) -> Result<(Arc<dyn ObjectStore>, String), s3::S3Error> {
    let credentials = S3Credentials {
        access_key_id: location.access_key_id.clone(),
        secret_access_key: location.secret_access_key.clone(),
        session_token: None,
        region: location.region.clone(),
    };
    let config = S3Config {
        endpoint: location.endpoint.clone(),
        local_root: PathBuf::from(&location.local_root),
        credentials: credentials.clone(),
    };
    let store = s3::bucket_store(&config, &location.bucket, &credentials)?;
    Ok((store, location.prefix.trim_matches('/').to_string()))
}

/// Key of object `name` under `prefix`.
pub fn object_key(prefix: &str, name: &str) -> ObjectPath {
    if prefix.is_empty() {
        ObjectPath::from(format!("objects/{name}"))
    } else {
        ObjectPath::from(format!("{prefix}/objects/{name}"))
    }
}

/// Object names of files already hashed, by path.
#[derive(Default)]
pub struct ObjectNames {
    names: Mutex<HashMap<PathBuf, String>>,
}

impl ObjectNames {
    fn name_of(&self, path: &Path) -> std::io::Result<String> {
        if let Some(name) = self.names.lock().unwrap().get(path) {
            return Ok(name.clone());
        }
        let name = object_name(path)?;
        self.names.lock().unwrap().insert(path.to_path_buf(), name.clone());
        Ok(name)
    }
}

/// A file to keep, with its object name and size once known.
struct Upload {
    path: PathBuf,
    name: String,
    bytes: u64,
}

/// Runs the snapshot request against `store`'s slices.
pub async fn snapshot_slices(
    node: Arc<NodeStore>,
    names: Arc<ObjectNames>,
    request: SnapshotSlicesRequest,
) -> Result<SnapshotSlicesResponse, Status> {
    let location = request.store.ok_or_else(|| Status::invalid_argument("no snapshot store"))?;
    let (objects, prefix) = open_location(&location).map_err(|e| Status::failed_precondition(e.to_string()))?;
    let (mut images, files) = {
        let node = Arc::clone(&node);
        let names = Arc::clone(&names);
        tokio::task::spawn_blocking(move || collect_images(&node, &names, request.csn, &request.table_ids))
            .await
            .map_err(|e| Status::internal(e.to_string()))??
    };
    let sizes = files.values().map(|u| (u.name.clone(), u.bytes)).collect();
    let location_url = S3Url { bucket: location.bucket.clone(), key: prefix.clone() };
    let config = S3Config::new(location.endpoint.clone(), location.local_root.clone().into());
    let uploaded: Vec<Option<String>> = futures::stream::iter(files.into_values())
        .map(|upload| {
            let objects = Arc::clone(&objects);
            let key = object_key(&prefix, &upload.name);
            let (config, url) = (config.clone(), location_url.object(key.as_ref()));
            async move {
                match objects.head(&key).await {
                    Ok(_) => return Ok(None),
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(s3::classify(e, &config, &url)),
                }
                let bytes = tokio::fs::read(&upload.path).await.map_err(|e| s3::S3Error::Other {
                    url: url.to_string(),
                    detail: format!("cannot read {}: {e}", upload.path.display()),
                })?;
                objects
                    .put(&key, PutPayload::from(bytes))
                    .await
                    .map_err(|e| s3::classify(e, &config, &url))?;
                Ok(Some(upload.name))
            }
        })
        .buffer_unordered(PARALLEL_UPLOADS)
        .try_collect()
        .await
        .map_err(|e: s3::S3Error| Status::unavailable(e.to_string()))?;
    images.sort_by_key(|i| (i.table_id, i.slice));
    let image = NodeImage {
        images,
        objects: sizes,
        uploaded: uploaded.into_iter().flatten().collect(),
    };
    Ok(SnapshotSlicesResponse {
        images: serde_json::to_vec(&image).expect("images serialize"),
    })
}

/// The images of the tables' slices on this node, with their files renamed to object names, and
/// the distinct files to keep by object name.
fn collect_images(
    node: &NodeStore,
    names: &ObjectNames,
    csn: u64,
    table_ids: &[u64],
) -> Result<(Vec<SliceImage>, HashMap<String, Upload>), Status> {
    let mut images = Vec::new();
    let mut files = HashMap::new();
    let mut keep = |dir: &Path, file: &mut String| -> Result<(), Status> {
        let path = dir.join(&*file);
        let unreadable = |e: std::io::Error| Status::internal(format!("cannot read {}: {e}", path.display()));
        let name = names.name_of(&path).map_err(unreadable)?;
        let bytes = std::fs::metadata(&path).map_err(unreadable)?.len();
        files.entry(name.clone()).or_insert(Upload { path: path.clone(), name: name.clone(), bytes });
        *file = name;
        Ok(())
    };
    for &table_id in table_ids {
        for slice in node.slices() {
            let Some((dir, mut segments)) = node
                .committed_image(table_id, slice, csn)
                .map_err(|e| Status::internal(e.to_string()))?
            else {
                continue;
            };
            for segment in &mut segments {
                keep(&dir, &mut segment.file)?;
                for delete in &mut segment.deletes {
                    keep(&dir, &mut delete.file)?;
                }
            }
            images.push(SliceImage { table_id, slice, segments });
        }
    }
    Ok((images, files))
}
