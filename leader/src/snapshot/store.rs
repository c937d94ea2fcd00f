//! Snapshot stores: one object store location per region, and the layout of snapshots in it.
//!
//! ```text
//! <prefix>/objects/<hash>.parquet|.bm        segment and delete files, named by content
//! <prefix>/snapshots/<id>/manifest.json      catalog, commit position and every slice's image
//! <prefix>/snapshots/<id>/snapshot.json      the summary, written last
//! ```
//!
//! A snapshot exists exactly when its `snapshot.json` does: it is written after every object and
//! the manifest are in place, and removed first on delete, so a crash at any point leaves either
//! a complete, restorable snapshot or none (plus unreferenced objects that expiry collects).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use blueshift_compute::s3::{self, S3Config, S3Credentials, S3Url};
use blueshift_compute::snapshot::object_key;
use blueshift_proto::ObjectLocation;
use blueshift_storage::snapshot::SliceImage;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use serde::de::DeserializeOwned;

use crate::catalog::Catalog;
use crate::error::{Error, Result, SqlState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Manual,
    Automated,
}

impl Kind {
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Manual => "manual",
            Kind::Automated => "automated",
        }
    }
}

/// What listing a snapshot shows: small, read for every snapshot on every listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub id: String,
    pub kind: Kind,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    pub csn: u64,
    pub cluster_id: String,
    pub source_region: String,
    /// Bytes of every object the snapshot refers to (each once) and of its manifest.
    pub total_bytes: u64,
    /// Bytes this snapshot uploaded (objects no earlier snapshot had stored) and its manifest.
    pub incremental_bytes: u64,
    /// Seconds after creation at which the snapshot expires; `None` keeps it until deleted.
    pub retention_secs: Option<u64>,
}

impl Summary {
    pub fn expired(&self, now_ms: i64) -> bool {
        self.retention_secs
            .is_some_and(|secs| self.created_ms.saturating_add(secs as i64 * 1000) <= now_ms)
    }
}

/// Everything needed to rebuild the cluster's data as of the snapshot's commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub csn: u64,
    pub catalog: Catalog,
    /// Next IDENTITY ordinal of each table, so a restored cluster never hands one out twice.
    pub identities: BTreeMap<u32, i64>,
    /// Slices of the source cluster, per node.
    pub slices_per_node: Vec<u32>,
    pub images: Vec<SliceImage>,
    /// Size of every object the images name.
    pub objects: BTreeMap<String, u64>,
}

/// A region's snapshot store.
pub struct RegionStore {
    pub region: String,
    pub url: S3Url,
    config: S3Config,
    credentials: S3Credentials,
    pub objects: Arc<dyn ObjectStore>,
}

impl RegionStore {
    /// The store at `url` (`s3://bucket/prefix`), reached as `s3://` locations are: through the
    /// configured endpoint, or the embedded store (whose bucket folder is created here).
    pub fn open(region: &str, url: &str, config: &S3Config, credentials: &S3Credentials) -> Result<RegionStore> {
        let url = S3Url::parse(url)?;
        if config.endpoint.is_none() {
            let dir = config.local_root.join(&url.bucket);
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::internal(format!("cannot create the snapshot store {}: {e}", dir.display())))?;
        }
        let objects = s3::bucket_store(config, &url.bucket, credentials)?;
        Ok(RegionStore {
            region: region.to_string(),
            url: S3Url { bucket: url.bucket, key: url.key.trim_matches('/').to_string() },
            config: config.clone(),
            credentials: credentials.clone(),
            objects,
        })
    }

    /// The location as compute nodes are told it.
    pub fn location(&self) -> ObjectLocation {
        ObjectLocation {
            endpoint: self.config.endpoint.clone(),
            local_root: self.config.local_root.display().to_string(),
            bucket: self.url.bucket.clone(),
            prefix: self.url.key.clone(),
            access_key_id: self.credentials.access_key_id.clone(),
            secret_access_key: self.credentials.secret_access_key.clone(),
            region: self.credentials.region.clone(),
        }
    }

    fn key(&self, relative: &str) -> ObjectPath {
        if self.url.key.is_empty() {
            ObjectPath::from(relative)
        } else {
            ObjectPath::from(format!("{}/{relative}", self.url.key))
        }
    }

    pub fn object(&self, name: &str) -> ObjectPath {
        object_key(&self.url.key, name)
    }

    fn summary_key(&self, id: &str) -> ObjectPath {
        self.key(&format!("snapshots/{id}/snapshot.json"))
    }

    fn manifest_key(&self, id: &str) -> ObjectPath {
        self.key(&format!("snapshots/{id}/manifest.json"))
    }

    fn error(&self, e: object_store::Error, key: &ObjectPath) -> Error {
        s3::classify(e, &self.config, &self.url.object(key.as_ref())).into()
    }

    pub async fn get(&self, key: &ObjectPath) -> Result<Bytes> {
        let result = self.objects.get(key).await.map_err(|e| self.error(e, key))?;
        result.bytes().await.map_err(|e| self.error(e, key))
    }

    pub async fn put(&self, key: &ObjectPath, bytes: Bytes) -> Result<()> {
        self.objects
            .put(key, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.error(e, key))
    }

    /// Whether the object exists.
    pub async fn exists(&self, key: &ObjectPath) -> Result<bool> {
        match self.objects.head(key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(e, key)),
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &ObjectPath) -> Result<T> {
        let bytes = self.get(key).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::internal(format!("corrupt snapshot metadata {}: {e}", self.url.object(key.as_ref()))))
    }

    pub async fn summary(&self, id: &str) -> Result<Summary> {
        let key = self.summary_key(id);
        if !self.exists(&key).await? {
            return Err(not_found(id, &self.region));
        }
        self.get_json(&key).await
    }

    pub async fn has_snapshot(&self, id: &str) -> Result<bool> {
        self.exists(&self.summary_key(id)).await
    }

    pub async fn manifest(&self, id: &str) -> Result<Manifest> {
        self.get_json(&self.manifest_key(id)).await
    }

    /// Stores a snapshot's manifest and then, making it exist, its summary.
    pub async fn publish(&self, summary: &Summary, manifest: &Manifest) -> Result<()> {
        let manifest_bytes = serde_json::to_vec(manifest).expect("manifests serialize");
        self.put(&self.manifest_key(&summary.id), manifest_bytes.into()).await?;
        let summary_bytes = serde_json::to_vec(summary).expect("summaries serialize");
        self.put(&self.summary_key(&summary.id), summary_bytes.into()).await
    }

    /// Size of a manifest as [`publish`](Self::publish) stores it.
    pub fn manifest_size(manifest: &Manifest) -> u64 {
        serde_json::to_vec(manifest).map_or(0, |b| b.len() as u64)
    }

    /// Removes a snapshot: its summary first, so it stops existing before anything it needs goes.
    pub async fn remove(&self, id: &str) -> Result<()> {
        for key in [self.summary_key(id), self.manifest_key(id)] {
            match self.objects.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.error(e, &key)),
            }
        }
        Ok(())
    }

    /// Every snapshot in the store, oldest first.
    pub async fn list(&self) -> Result<Vec<Summary>> {
        let mut ids = BTreeSet::new();
        for path in self.list_under("snapshots").await? {
            let rest = path.as_ref().strip_prefix(self.key("snapshots/").as_ref()).unwrap_or(path.as_ref());
            if let Some(id) = rest.trim_start_matches('/').strip_suffix("/snapshot.json") {
                ids.insert(id.to_string());
            }
        }
        let mut summaries = Vec::new();
        for id in ids {
            match self.summary(&id).await {
                Ok(s) => summaries.push(s),
                // Deleted while listing.
                Err(e) if matches!(e.state, SqlState::UndefinedObject | SqlState::UndefinedFile) => {}
                Err(e) => return Err(e),
            }
        }
        summaries.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(summaries)
    }

    /// Names of the objects in the store.
    pub async fn object_names(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .list_under("objects")
            .await?
            .into_iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect())
    }

    async fn list_under(&self, folder: &str) -> Result<Vec<ObjectPath>> {
        let prefix = self.key(folder);
        match self.objects.list(Some(&prefix)).map_ok(|m| m.location).try_collect().await {
            Ok(paths) => Ok(paths),
            Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(self.error(e, &prefix)),
        }
    }

    pub async fn delete_object(&self, name: &str) -> Result<()> {
        let key = self.object(name);
        match self.objects.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(e, &key)),
        }
    }
}

pub fn not_found(id: &str, region: &str) -> Error {
    Error::new(
        SqlState::UndefinedObject,
        format!("snapshot \"{id}\" does not exist in region {region}"),
    )
}
