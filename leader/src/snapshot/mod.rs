//! Snapshots: consistent, incremental copies of the cluster's data in a per-region object store,
//! taken on demand or automatically, expired, copied across regions and restored from.
//!
//! A snapshot is a cut at one commit (csn). The leader opens a read-only transaction to fix the
//! csn and the catalog as of it, then every compute node uploads the segment and delete files
//! its slices hold at that csn, named by content so files already in the store are skipped, and
//! reports its slices' manifests. The leader writes the snapshot's manifest and, last, its
//! summary: only then does the snapshot exist (see [`store`]). Tables created with BACKUP NO
//! keep their definition but not their rows, as in Redshift.
//!
//! Creating, copying and deleting snapshots and collecting unreferenced objects run one at a
//! time, so collection never removes an object a snapshot in progress is relying on.

pub mod admin;
pub mod automation;
pub mod client;
pub mod fast_restore;
pub mod restore;
pub mod store;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blueshift_compute::s3::{S3Config, S3Credentials};
use blueshift_proto::{SnapshotInfo, SnapshotSlicesRequest};
use blueshift_storage::snapshot::NodeImage;

use crate::catalog::provider::Services;
use crate::error::{Error, Result, SqlState};
use store::{Kind, Manifest, RegionStore, Summary};

/// Where snapshots go and when automated ones are taken.
#[derive(Debug, Clone)]
pub struct SnapshotConfig {
    /// The cluster's own region.
    pub region: String,
    /// Snapshot store of each region: `s3://bucket/prefix`.
    pub stores: BTreeMap<String, String>,
    /// Automated snapshots: at most this long apart while data changes...
    pub interval: Duration,
    /// ...or as soon as this many bytes of data were written since the last one.
    pub change_bytes: u64,
    /// How long automated snapshots are kept; zero turns them off.
    pub retention: Duration,
    /// Keys for the stores (else the `AWS_*` environment of each process).
    pub credentials: S3Credentials,
    /// Bytes per second a restored node's background download may use; 0: unbounded.
    pub restore_rate: u64,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            region: "local".into(),
            stores: BTreeMap::new(),
            interval: Duration::from_secs(8 * 3600),
            change_bytes: 5 << 30,
            retention: Duration::from_secs(24 * 3600),
            credentials: S3Credentials::default(),
            restore_rate: 0,
        }
    }
}

pub struct Snapshots {
    pub config: SnapshotConfig,
    regions: BTreeMap<String, Arc<RegionStore>>,
    ops: tokio::sync::Mutex<()>,
    /// Snapshots being created: id -> (kind, start in ms).
    creating: Mutex<BTreeMap<String, (Kind, i64)>>,
    pub(crate) automation: automation::Automation,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Snapshots {
    /// Opens every configured region's store.
    pub fn open(config: SnapshotConfig, s3: &S3Config, data_dir: &std::path::Path) -> Result<Snapshots> {
        let regions = config
            .stores
            .iter()
            .map(|(region, url)| Ok((region.clone(), Arc::new(RegionStore::open(region, url, s3, &config.credentials)?))))
            .collect::<Result<_>>()?;
        Ok(Snapshots {
            regions,
            ops: tokio::sync::Mutex::new(()),
            creating: Mutex::default(),
            automation: automation::Automation::open(data_dir),
            config,
        })
    }

    /// The store of `region` (empty: the cluster's own).
    pub fn region(&self, region: &str) -> Result<Arc<RegionStore>> {
        let region = if region.is_empty() { &self.config.region } else { region };
        self.regions.get(region).cloned().ok_or_else(|| {
            Error::new(
                SqlState::InvalidParameterValue,
                format!("no snapshot store is configured for region {region}"),
            )
            .with_hint(format!("Start the cluster with --snapshot-store {region}=s3://bucket/prefix."))
        })
    }

    /// Takes a snapshot named `id` of every committed change so far.
    pub async fn create(&self, services: &Services, id: &str, kind: Kind, retention: Option<Duration>) -> Result<Summary> {
        check_id(id)?;
        let store = self.region("")?;
        let _op = self.ops.lock().await;
        if store.has_snapshot(id).await? {
            return Err(Error::new(SqlState::DuplicateObject, format!("snapshot \"{id}\" already exists")));
        }
        services.cluster.check_ready()?;
        let _hold = services.txns.hold_files();
        let txn = services.txns.begin().await?;
        let (csn, catalog) = (txn.snapshot.csn, txn.catalog());
        services.txns.abort(txn).await;
        let changed_bytes = services.txns.committed_bytes();
        let created_ms = now_ms();
        self.creating.lock().unwrap().insert(id.to_string(), (kind, created_ms));
        let result = self.upload(services, &store, id, csn, catalog.as_ref().clone()).await;
        self.creating.lock().unwrap().remove(id);
        let (manifest, uploaded) = result?;
        let manifest_bytes = RegionStore::manifest_size(&manifest);
        let summary = Summary {
            id: id.to_string(),
            kind,
            created_ms,
            csn,
            cluster_id: services.cluster.cluster_id.clone(),
            source_region: self.config.region.clone(),
            total_bytes: manifest.objects.values().sum::<u64>() + manifest_bytes,
            incremental_bytes: uploaded + manifest_bytes,
            retention_secs: retention.map(|r| r.as_secs()),
        };
        store.publish(&summary, &manifest).await?;
        if kind == Kind::Automated {
            self.automation.taken(created_ms, csn, changed_bytes);
        }
        tracing::info!(id, csn, total_bytes = summary.total_bytes, incremental_bytes = summary.incremental_bytes, "snapshot created");
        Ok(summary)
    }

    /// Has every node upload its files of commit `csn`; returns the manifest and the bytes
    /// uploaded.
    async fn upload(
        &self,
        services: &Services,
        store: &RegionStore,
        id: &str,
        csn: u64,
        catalog: crate::catalog::Catalog,
    ) -> Result<(Manifest, u64)> {
        let (catalog, _) = catalog.without_temp_tables();
        let table_ids: Vec<u64> = catalog
            .schemas
            .values()
            .flat_map(|s| s.tables.values())
            .filter(|t| t.backup)
            .map(|t| u64::from(t.oid))
            .collect();
        let calls = services.cluster.nodes.iter().map(|node| {
            let request = SnapshotSlicesRequest {
                store: Some(store.location()),
                csn,
                table_ids: table_ids.clone(),
            };
            async move {
                let response = node
                    .control()?
                    .snapshot_slices(request)
                    .await
                    .map_err(|e| node.error(e.message()))?
                    .into_inner();
                let image: NodeImage = serde_json::from_slice(&response.images)
                    .map_err(|e| node.error(format!("bad snapshot image: {e}")))?;
                Ok::<_, Error>(image)
            }
        });
        let mut manifest = Manifest {
            id: id.to_string(),
            csn,
            catalog,
            identities: services.txns.identity_marks(),
            slices_per_node: services.cluster.nodes.iter().map(|n| n.slice_count).collect(),
            images: Vec::new(),
            objects: BTreeMap::new(),
        };
        // Nodes holding identical files (copies of an ALL table) may both upload them: count once.
        let mut uploaded = std::collections::BTreeSet::new();
        for image in futures::future::try_join_all(calls).await? {
            manifest.images.extend(image.images);
            manifest.objects.extend(image.objects);
            uploaded.extend(image.uploaded);
        }
        let uploaded_bytes = uploaded.iter().filter_map(|name| manifest.objects.get(name)).sum();
        Ok((manifest, uploaded_bytes))
    }

    /// Deletes a snapshot and the objects no other snapshot in its region refers to.
    pub async fn delete(&self, id: &str, region: &str) -> Result<()> {
        let store = self.region(region)?;
        let _op = self.ops.lock().await;
        store.summary(id).await?;
        store.remove(id).await?;
        collect_garbage(&store).await
    }

    /// Copies a snapshot from the cluster's region to `to_region`, sending only the objects
    /// missing there; returns the copy's summary.
    pub async fn copy(&self, id: &str, to_region: &str, retention: Option<Duration>) -> Result<Summary> {
        let (from, to) = (self.region("")?, self.region(to_region)?);
        if from.region == to.region {
            return Err(Error::new(SqlState::InvalidParameterValue, format!("snapshot \"{id}\" is already in region {to_region}")));
        }
        let _op = self.ops.lock().await;
        let mut summary = from.summary(id).await?;
        if to.has_snapshot(id).await? {
            return Err(Error::new(SqlState::DuplicateObject, format!("snapshot \"{id}\" already exists in region {to_region}")));
        }
        let manifest = from.manifest(id).await?;
        let present = to.object_names().await?;
        let mut copied = 0;
        for (name, size) in manifest.objects.iter().filter(|(name, _)| !present.contains(*name)) {
            let bytes = from.get(&from.object(name)).await?;
            to.put(&to.object(name), bytes).await?;
            copied += size;
        }
        let manifest_bytes = RegionStore::manifest_size(&manifest);
        summary.incremental_bytes = copied + manifest_bytes;
        if retention.is_some() {
            summary.retention_secs = retention.map(|r| r.as_secs());
        }
        to.publish(&summary, &manifest).await?;
        tracing::info!(id, to_region, copied_bytes = copied, "snapshot copied");
        Ok(summary)
    }

    /// Every snapshot of `region` (empty: every region), with those being created in this
    /// cluster's region.
    pub async fn list(&self, region: &str) -> Result<Vec<SnapshotInfo>> {
        let stores: Vec<Arc<RegionStore>> = if region.is_empty() {
            self.regions.values().cloned().collect()
        } else {
            vec![self.region(region)?]
        };
        let mut infos = Vec::new();
        for store in stores {
            for s in store.list().await? {
                infos.push(info(&s, &store.region, "available"));
            }
            if store.region == self.config.region {
                for (id, (kind, created_ms)) in self.creating.lock().unwrap().iter() {
                    infos.push(SnapshotInfo {
                        id: id.clone(),
                        kind: kind.label().into(),
                        created_ms: *created_ms,
                        status: "creating".into(),
                        source_region: self.config.region.clone(),
                        region: store.region.clone(),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(infos)
    }
}

fn info(s: &Summary, region: &str, status: &str) -> SnapshotInfo {
    SnapshotInfo {
        id: s.id.clone(),
        kind: s.kind.label().into(),
        created_ms: s.created_ms,
        status: status.into(),
        total_bytes: s.total_bytes,
        incremental_bytes: s.incremental_bytes,
        source_region: s.source_region.clone(),
        region: region.to_string(),
        csn: s.csn,
        retention_days: s.retention_secs.map(|secs| secs.div_ceil(86_400) as i64),
    }
}

/// Deletes the objects of `store` that no snapshot in it refers to (also those a snapshot that
/// was interrupted uploaded).
async fn collect_garbage(store: &RegionStore) -> Result<()> {
    let mut referenced = std::collections::BTreeSet::new();
    for summary in store.list().await? {
        referenced.extend(store.manifest(&summary.id).await?.objects.into_keys());
    }
    let mut removed = 0;
    for name in store.object_names().await? {
        if !referenced.contains(&name) {
            store.delete_object(&name).await?;
            removed += 1;
        }
    }
    tracing::info!(region = %store.region, removed, kept = referenced.len(), "collected unreferenced snapshot objects");
    Ok(())
}

/// Redshift's rule for snapshot identifiers: letters, digits and hyphens, starting with a
/// letter, at most 255 characters, no double or trailing hyphen.
fn check_id(id: &str) -> Result<()> {
    let valid = id.len() <= 255
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.contains("--")
        && !id.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            SqlState::InvalidParameterValue,
            format!("invalid snapshot identifier \"{id}\": use letters, digits and single hyphens, starting with a letter"),
        ))
    }
}
