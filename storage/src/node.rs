//! A compute node's store: all of its slices and every table's manifest on each of them.
//!
//! Directory layout under the node's data directory:
//!
//! ```text
//! node.json                       identity: cluster id, node index, first global slice, slice count
//! slice-<k>/t<table id>/manifest.json
//! slice-<k>/t<table id>/s<segment id>.parquet
//! slice-<k>/t<table id>/d<segment id>-x<xid>-<n>.bm   delete bitmaps
//! ```
//!
//! `k` is the slice's index on this node; its cluster-wide number is `first_slice + k`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StorageError};
use crate::fsio;
use crate::manifest::{DeleteEntry, SegmentEntry, TableManifest};
use crate::mvcc::{Snapshot, Stamp};
use crate::segment::{SortedRows, sort_key_fields, write_segment};
use crate::snapshot::SliceImage;

/// Rows per segment: a load larger than this becomes several segments, each sorted on its own.
pub const SEGMENT_ROWS: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeIdentity {
    /// Empty until the node is first attached to a leader.
    pub cluster_id: String,
    pub node_index: u32,
    pub first_slice: u32,
    pub slice_count: u32,
}

/// A segment as a reader at some snapshot sees it.
#[derive(Debug, Clone)]
pub struct VisibleSegment {
    pub entry: SegmentEntry,
    pub path: PathBuf,
    /// Rows deleted as of the snapshot, if any.
    pub deleted: Option<Arc<RoaringBitmap>>,
}

impl VisibleSegment {
    pub fn live_rows(&self) -> u64 {
        self.entry.rows - self.deleted.as_ref().map_or(0, |d| d.len())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableSliceStats {
    pub slice: u32,
    pub rows: u64,
    pub segments: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub rows: u64,
    pub segments: u64,
    pub bytes: u64,
}

/// What a write needs to know about the table besides its rows.
pub struct WriteSpec<'a> {
    pub xid: u64,
    pub table_id: u64,
    pub slice: u32,
    /// Column id of every field of the incoming batches, in order.
    pub column_ids: &'a [u32],
    pub sort_column_ids: &'a [u32],
    pub encodings: &'a HashMap<u32, String>,
}

struct TableSlice {
    dir: PathBuf,
    manifest: TableManifest,
}

impl TableSlice {
    fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    fn save(&self) -> Result<()> {
        self.manifest.save(&self.manifest_path())
    }
}

type TableKey = (u32, u64); // (local slice index, table id)

pub struct NodeStore {
    root: PathBuf,
    identity: RwLock<NodeIdentity>,
    tables: Mutex<HashMap<TableKey, Arc<Mutex<TableSlice>>>>,
    /// Transaction id -> the table slices it has pending changes in.
    pending: Mutex<HashMap<u64, HashSet<TableKey>>>,
    bitmaps: Mutex<HashMap<PathBuf, Arc<RoaringBitmap>>>,
}

impl NodeStore {
    /// Opens (or creates, with `slice_count` slices) the store under `root`. The store keeps
    /// `root` as an absolute path: scans hand segment paths to DataFusion's object store, which
    /// reads a relative one (`./blueshift-data/...`, the default data directory) as a URL path
    /// and finds no file.
    pub fn open(root: &Path, slice_count: u32) -> Result<NodeStore> {
        fsio::create_dir_durable(root)?;
        let root = &root.canonicalize().map_err(StorageError::io(root))?;
        let identity_path = root.join("node.json");
        let identity = if identity_path.exists() {
            let bytes = fs::read(&identity_path).map_err(StorageError::io(&identity_path))?;
            serde_json::from_slice(&bytes).map_err(|e| StorageError::Corrupt {
                path: identity_path.clone(),
                reason: e.to_string(),
            })?
        } else {
            let identity = NodeIdentity {
                cluster_id: String::new(),
                node_index: 0,
                first_slice: 0,
                slice_count,
            };
            fsio::write_atomic(&identity_path, &serde_json::to_vec(&identity).unwrap())?;
            identity
        };
        let store = NodeStore {
            root: root.to_path_buf(),
            identity: RwLock::new(identity),
            tables: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            bitmaps: Mutex::new(HashMap::new()),
        };
        store.load_manifests()?;
        Ok(store)
    }

    fn load_manifests(&self) -> Result<()> {
        let slice_count = self.identity().slice_count;
        let mut tables = self.tables.lock().unwrap();
        let mut pending = self.pending.lock().unwrap();
        for local in 0..slice_count {
            let slice_dir = self.slice_dir(local);
            fsio::create_dir_durable(&slice_dir)?;
            for entry in fs::read_dir(&slice_dir).map_err(StorageError::io(&slice_dir))? {
                let dir = entry.map_err(StorageError::io(&slice_dir))?.path();
                let Some(table_id) = dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix('t'))
                    .and_then(|n| n.parse::<u64>().ok())
                else {
                    continue;
                };
                let manifest_path = dir.join("manifest.json");
                if !manifest_path.exists() {
                    // A table directory whose first write never reached its manifest.
                    fs::remove_dir_all(&dir).map_err(StorageError::io(&dir))?;
                    continue;
                }
                let manifest = TableManifest::load(&manifest_path)?;
                remove_unreferenced_files(&dir, &manifest)?;
                for xid in manifest.pending_xids() {
                    pending.entry(xid).or_default().insert((local, table_id));
                }
                tables.insert(
                    (local, table_id),
                    Arc::new(Mutex::new(TableSlice { dir, manifest })),
                );
            }
        }
        Ok(())
    }

    pub fn identity(&self) -> NodeIdentity {
        self.identity.read().unwrap().clone()
    }

    /// Binds this node to a cluster position. A node already bound elsewhere refuses, so a
    /// misconfigured leader cannot mix two clusters' data.
    pub fn attach(&self, cluster_id: &str, node_index: u32, first_slice: u32) -> Result<NodeIdentity> {
        let mut identity = self.identity.write().unwrap();
        if !identity.cluster_id.is_empty()
            && (identity.cluster_id != cluster_id
                || identity.node_index != node_index
                || identity.first_slice != first_slice)
        {
            return Err(StorageError::Corrupt {
                path: self.root.join("node.json"),
                reason: format!(
                    "this node belongs to cluster {} as node {} (slices from {}), not cluster {} as node {} (slices from {})",
                    identity.cluster_id,
                    identity.node_index,
                    identity.first_slice,
                    cluster_id,
                    node_index,
                    first_slice
                ),
            });
        }
        if identity.cluster_id.is_empty() {
            let bound = NodeIdentity {
                cluster_id: cluster_id.to_string(),
                node_index,
                first_slice,
                slice_count: identity.slice_count,
            };
            fsio::write_atomic(&self.root.join("node.json"), &serde_json::to_vec(&bound).unwrap())?;
            *identity = bound;
        }
        Ok(identity.clone())
    }

    /// Cluster-wide numbers of the slices stored here.
    pub fn slices(&self) -> Vec<u32> {
        let identity = self.identity();
        (identity.first_slice..identity.first_slice + identity.slice_count).collect()
    }

    fn local_slice(&self, slice: u32) -> Result<u32> {
        let identity = self.identity();
        slice
            .checked_sub(identity.first_slice)
            .filter(|local| *local < identity.slice_count)
            .ok_or(StorageError::UnknownSlice(slice))
    }

    fn slice_dir(&self, local: u32) -> PathBuf {
        self.root.join(format!("slice-{local}"))
    }

    fn table_slice(&self, key: TableKey, create: bool) -> Result<Option<Arc<Mutex<TableSlice>>>> {
        let mut tables = self.tables.lock().unwrap();
        if let Some(t) = tables.get(&key) {
            return Ok(Some(Arc::clone(t)));
        }
        if !create {
            return Ok(None);
        }
        let dir = self.slice_dir(key.0).join(format!("t{}", key.1));
        fsio::create_dir_durable(&dir)?;
        let table = Arc::new(Mutex::new(TableSlice {
            dir,
            manifest: TableManifest::new(key.1, self.identity().first_slice + key.0),
        }));
        tables.insert(key, Arc::clone(&table));
        Ok(Some(table))
    }

    fn note_pending(&self, xid: u64, key: TableKey) {
        self.pending.lock().unwrap().entry(xid).or_default().insert(key);
    }

    /// Appends rows to a table slice as new segments owned by `spec.xid` (invisible to others
    /// until the transaction commits).
    pub fn write(&self, spec: &WriteSpec<'_>, batches: Vec<RecordBatch>) -> Result<WriteSummary> {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows == 0 {
            return Ok(WriteSummary::default());
        }
        let sort_key = sort_key_fields(spec.column_ids, spec.sort_column_ids);
        let sorted = SortedRows::new(batches, &sort_key)?;
        let runs = (0..rows).step_by(SEGMENT_ROWS).map(|start| sorted.pieces(start..rows.min(start + SEGMENT_ROWS)));
        self.append_segments(spec, &sorted.schema(), runs, spec.sort_column_ids)
    }

    /// Writes each run of pieces (batches of `schema`, in their final order) as one new segment
    /// owned by `spec.xid`, all recorded in the manifest together; `sorted_by` is the key their
    /// order follows, empty for none.
    pub(crate) fn append_segments<P: IntoIterator<Item = Result<RecordBatch>>>(
        &self,
        spec: &WriteSpec<'_>,
        schema: &SchemaRef,
        runs: impl IntoIterator<Item = P>,
        sorted_by: &[u32],
    ) -> Result<WriteSummary> {
        let mut summary = WriteSummary::default();
        let key = (self.local_slice(spec.slice)?, spec.table_id);
        let table = self.table_slice(key, true)?.expect("created");
        let mut table = table.lock().unwrap();
        let mut new_entries = Vec::new();
        for pieces in runs {
            let id = table.manifest.next_segment_id;
            table.manifest.next_segment_id += 1;
            let file = format!("s{id}.parquet");
            let written = write_segment(&table.dir.join(&file), schema, pieces, spec.column_ids, spec.encodings)?;
            summary.rows += written.rows;
            summary.bytes += written.bytes;
            summary.segments += 1;
            new_entries.push(SegmentEntry {
                id,
                file,
                rows: written.rows,
                bytes: written.bytes,
                created: Stamp::pending(spec.xid),
                dropped: None,
                deletes: Vec::new(),
                sorted_by: sorted_by.to_vec(),
                row_groups: written.row_groups,
                columns: spec.column_ids.to_vec(),
                zones: written.zones,
            });
        }
        fsio::sync_dir(&table.dir)?;
        table.manifest.segments.extend(new_entries);
        table.save()?;
        self.note_pending(spec.xid, key);
        Ok(summary)
    }

    /// Drops segments of a table slice as of `xid`: a vacuum replacing them with rewritten ones.
    pub(crate) fn drop_segments(&self, xid: u64, table_id: u64, slice: u32, ids: &[u64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let key = (self.local_slice(slice)?, table_id);
        let table = self.table_slice(key, false)?.ok_or(StorageError::UnknownSegment { table: table_id, slice, segment: ids[0] })?;
        let mut table = table.lock().unwrap();
        for segment in table.manifest.segments.iter_mut().filter(|s| ids.contains(&s.id)) {
            segment.dropped = Some(Stamp::pending(xid));
        }
        table.save()?;
        self.note_pending(xid, key);
        Ok(())
    }

    /// [`NodeStore::purge_dropped`] on one table slice.
    pub(crate) fn purge_dropped_in(&self, table_id: u64, slice: u32, csn: u64) -> Result<u64> {
        let key = (self.local_slice(slice)?, table_id);
        let Some(table) = self.table_slice(key, false)? else {
            return Ok(0);
        };
        let mut table = table.lock().unwrap();
        let (gone, kept): (Vec<SegmentEntry>, Vec<SegmentEntry>) =
            table.manifest.segments.iter().cloned().partition(|s| s.dropped.and_then(|d| d.csn).is_some_and(|at| at <= csn));
        if gone.is_empty() {
            return Ok(0);
        }
        let before = std::mem::replace(&mut table.manifest.segments, kept);
        if let Err(e) = table.save() {
            table.manifest.segments = before;
            return Err(e);
        }
        let mut freed = 0;
        for segment in &gone {
            freed += segment.bytes;
            for file in std::iter::once(&segment.file).chain(segment.deletes.iter().map(|d| &d.file)) {
                let path = table.dir.join(file);
                self.bitmaps.lock().unwrap().remove(&path);
                // A restored segment's file may never have been fetched.
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(StorageError::io(&path)(e)),
                    _ => {}
                }
            }
        }
        Ok(freed)
    }

    /// Marks rows of one segment deleted by `xid`.
    pub fn delete_rows(
        &self,
        xid: u64,
        table_id: u64,
        slice: u32,
        segment_id: u64,
        positions: &RoaringBitmap,
    ) -> Result<u64> {
        let key = (self.local_slice(slice)?, table_id);
        let not_found = StorageError::UnknownSegment {
            table: table_id,
            slice,
            segment: segment_id,
        };
        let Some(table) = self.table_slice(key, false)? else {
            return Err(not_found);
        };
        let mut table = table.lock().unwrap();
        let dir = table.dir.clone();
        let Some(segment) = table.manifest.segments.iter_mut().find(|s| s.id == segment_id) else {
            return Err(not_found);
        };
        let n = segment.deletes.len();
        let file = format!("d{segment_id}-x{xid}-{n}.bm");
        let mut bytes = Vec::with_capacity(positions.serialized_size());
        positions
            .serialize_into(&mut bytes)
            .map_err(StorageError::io(dir.join(&file)))?;
        fsio::write_durable(&dir.join(&file), &bytes)?;
        fsio::sync_dir(&dir)?;
        segment.deletes.push(DeleteEntry {
            stamp: Stamp::pending(xid),
            file,
            rows: positions.len(),
        });
        table.save()?;
        self.note_pending(xid, key);
        Ok(positions.len())
    }

    /// Drops, as of `xid`, every segment of the table that `xid` can see.
    pub fn truncate(&self, xid: u64, table_id: u64) -> Result<()> {
        let own = Snapshot {
            csn: u64::MAX,
            xid,
        };
        let keys: Vec<TableKey> = self
            .tables
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.1 == table_id)
            .copied()
            .collect();
        for key in keys {
            let table = self.table_slice(key, false)?.expect("listed");
            let mut table = table.lock().unwrap();
            let mut changed = false;
            for segment in table.manifest.segments.iter_mut() {
                if segment.is_visible(&own) {
                    segment.dropped = Some(Stamp::pending(xid));
                    changed = true;
                }
            }
            if changed {
                table.save()?;
                self.note_pending(xid, key);
            }
        }
        Ok(())
    }

    /// Makes `xid`'s changes on this node committed at `csn`. Idempotent.
    pub fn commit(&self, xid: u64, csn: u64) -> Result<()> {
        let keys = self.pending.lock().unwrap().get(&xid).cloned().unwrap_or_default();
        for key in keys {
            let Some(table) = self.table_slice(key, false)? else {
                continue;
            };
            let mut table = table.lock().unwrap();
            for segment in table.manifest.segments.iter_mut() {
                for stamp in segment.stamps_mut() {
                    if stamp.xid == xid && stamp.csn.is_none() {
                        stamp.csn = Some(csn);
                    }
                }
            }
            table.save()?;
        }
        self.pending.lock().unwrap().remove(&xid);
        Ok(())
    }

    /// Discards `xid`'s changes on this node. Idempotent.
    pub fn abort(&self, xid: u64) -> Result<()> {
        let keys = self.pending.lock().unwrap().get(&xid).cloned().unwrap_or_default();
        for key in keys {
            let Some(table) = self.table_slice(key, false)? else {
                continue;
            };
            let mut table = table.lock().unwrap();
            let mut garbage = Vec::new();
            table.manifest.segments.retain(|s| {
                let keep = !(s.created.xid == xid && s.created.csn.is_none());
                if !keep {
                    garbage.push(s.file.clone());
                    garbage.extend(s.deletes.iter().map(|d| d.file.clone()));
                }
                keep
            });
            for segment in table.manifest.segments.iter_mut() {
                if segment.dropped.is_some_and(|d| d.xid == xid && d.csn.is_none()) {
                    segment.dropped = None;
                }
                segment.deletes.retain(|d| {
                    let keep = !(d.stamp.xid == xid && d.stamp.csn.is_none());
                    if !keep {
                        garbage.push(d.file.clone());
                    }
                    keep
                });
            }
            table.save()?;
            for file in garbage {
                let path = table.dir.join(file);
                self.bitmaps.lock().unwrap().remove(&path);
                let _ = fs::remove_file(path);
            }
        }
        self.pending.lock().unwrap().remove(&xid);
        Ok(())
    }

    /// Transactions with changes here that are neither committed nor aborted.
    pub fn pending_xids(&self) -> Vec<u64> {
        let mut xids: Vec<u64> = self.pending.lock().unwrap().keys().copied().collect();
        xids.sort_unstable();
        xids
    }

    /// Deletes the files of tables whose DROP has committed.
    pub fn drop_tables(&self, table_ids: &[u64]) -> Result<()> {
        let mut tables = self.tables.lock().unwrap();
        let keys: Vec<TableKey> = tables
            .keys()
            .filter(|k| table_ids.contains(&k.1))
            .copied()
            .collect();
        for key in keys {
            if let Some(table) = tables.remove(&key) {
                let dir = table.lock().unwrap().dir.clone();
                fs::remove_dir_all(&dir).map_err(StorageError::io(&dir))?;
            }
        }
        Ok(())
    }

    /// The segments of a table on a slice that exist for `snapshot`, with their deleted rows.
    pub fn visible_segments(
        &self,
        table_id: u64,
        slice: u32,
        snapshot: &Snapshot,
    ) -> Result<Vec<VisibleSegment>> {
        let key = (self.local_slice(slice)?, table_id);
        let Some(table) = self.table_slice(key, false)? else {
            return Ok(Vec::new());
        };
        let (dir, segments) = {
            let table = table.lock().unwrap();
            let visible: Vec<SegmentEntry> = table
                .manifest
                .segments
                .iter()
                .filter(|s| s.is_visible(snapshot))
                .cloned()
                .collect();
            (table.dir.clone(), visible)
        };
        segments
            .into_iter()
            .map(|entry| {
                let deleted = self.deleted_rows(&dir, &entry, snapshot)?;
                Ok(VisibleSegment {
                    path: dir.join(&entry.file),
                    entry,
                    deleted,
                })
            })
            .collect()
    }

    fn deleted_rows(
        &self,
        dir: &Path,
        entry: &SegmentEntry,
        snapshot: &Snapshot,
    ) -> Result<Option<Arc<RoaringBitmap>>> {
        let mut bitmaps = entry
            .visible_deletes(snapshot)
            .map(|d| self.load_bitmap(&dir.join(&d.file)))
            .collect::<Result<Vec<_>>>()?;
        Ok(match bitmaps.len() {
            0 => None,
            1 => bitmaps.pop(),
            _ => Some(Arc::new(bitmaps.iter().fold(RoaringBitmap::new(), |acc, b| acc | b.as_ref()))),
        })
    }

    fn load_bitmap(&self, path: &Path) -> Result<Arc<RoaringBitmap>> {
        if let Some(b) = self.bitmaps.lock().unwrap().get(path) {
            return Ok(Arc::clone(b));
        }
        let bytes = fs::read(path).map_err(StorageError::io(path))?;
        let bitmap = RoaringBitmap::deserialize_from(&bytes[..]).map_err(|e| StorageError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let bitmap = Arc::new(bitmap);
        self.bitmaps
            .lock()
            .unwrap()
            .insert(path.to_path_buf(), Arc::clone(&bitmap));
        Ok(bitmap)
    }

    /// A table slice's committed state as of `csn`, for a snapshot: the directory its files are
    /// in, and the segments visible at `csn` with only the deletes committed by then.
    pub fn committed_image(&self, table_id: u64, slice: u32, csn: u64) -> Result<Option<(PathBuf, Vec<SegmentEntry>)>> {
        let key = (self.local_slice(slice)?, table_id);
        let Some(table) = self.table_slice(key, false)? else {
            return Ok(None);
        };
        let table = table.lock().unwrap();
        let at = Snapshot { csn, xid: 0 };
        let segments = table
            .manifest
            .segments
            .iter()
            .filter(|s| s.is_visible(&at))
            .map(|s| SegmentEntry {
                dropped: None,
                deletes: s.visible_deletes(&at).cloned().collect(),
                ..s.clone()
            })
            .collect();
        Ok(Some((table.dir.clone(), segments)))
    }

    /// Adds a snapshot's image of a table slice as segments pending in `xid`, under this slice's
    /// own file names. Returns the path of every segment and delete file with the object that
    /// holds it in the snapshot store: none of them is here yet, the caller brings them.
    pub fn install(&self, xid: u64, image: &SliceImage) -> Result<Vec<(PathBuf, String)>> {
        let key = (self.local_slice(image.slice)?, image.table_id);
        let table = self.table_slice(key, true)?.expect("created");
        let mut table = table.lock().unwrap();
        let mut files = Vec::new();
        for source in &image.segments {
            let id = table.manifest.next_segment_id;
            table.manifest.next_segment_id += 1;
            let mut entry = SegmentEntry {
                id,
                file: format!("s{id}.parquet"),
                created: Stamp::pending(xid),
                dropped: None,
                deletes: Vec::new(),
                ..source.clone()
            };
            files.push((table.dir.join(&entry.file), source.file.clone()));
            for (n, delete) in source.deletes.iter().enumerate() {
                let file = format!("d{id}-x{xid}-{n}.bm");
                files.push((table.dir.join(&file), delete.file.clone()));
                entry.deletes.push(DeleteEntry { stamp: Stamp::pending(xid), file, rows: delete.rows });
            }
            table.manifest.segments.push(entry);
        }
        table.save()?;
        drop(table);
        self.note_pending(xid, key);
        Ok(files)
    }

    /// Whether a table slice's manifest names the segment file at `path`.
    pub fn holds_segment(&self, path: &Path) -> bool {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
            return false;
        };
        let tables: Vec<_> = self.tables.lock().unwrap().values().cloned().collect();
        tables.iter().any(|table| {
            let table = table.lock().unwrap();
            table.dir == dir && table.manifest.segments.iter().any(|s| s.file == name)
        })
    }

    /// The node's data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Ids of the tables with data on this node.
    pub fn table_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.tables.lock().unwrap().keys().map(|k| k.1).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Per-slice row, segment and byte counts of a table for `snapshot`.
    pub fn table_stats(&self, table_id: u64, snapshot: &Snapshot) -> Result<Vec<TableSliceStats>> {
        let mut stats = BTreeMap::new();
        for slice in self.slices() {
            let mut s = TableSliceStats {
                slice,
                ..Default::default()
            };
            for segment in self.visible_segments(table_id, slice, snapshot)? {
                s.rows += segment.live_rows();
                s.segments += 1;
                s.bytes += segment.entry.bytes;
            }
            stats.insert(slice, s);
        }
        Ok(stats.into_values().collect())
    }
}

/// Removes files a crash left behind: written but never named by a saved manifest.
fn remove_unreferenced_files(dir: &Path, manifest: &TableManifest) -> Result<()> {
    let referenced: HashSet<&str> = manifest
        .segments
        .iter()
        .flat_map(|s| std::iter::once(s.file.as_str()).chain(s.deletes.iter().map(|d| d.file.as_str())))
        .chain(std::iter::once("manifest.json"))
        .collect();
    for entry in fs::read_dir(dir).map_err(StorageError::io(dir))? {
        let path = entry.map_err(StorageError::io(dir))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if !referenced.contains(name) {
            tracing::info!(file = %path.display(), "removing file left by an interrupted write");
            fs::remove_file(&path).map_err(StorageError::io(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(values: Vec<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("c1", DataType::Int64, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values))]).unwrap()
    }

    fn spec(xid: u64) -> WriteSpec<'static> {
        static NO_ENCODINGS: std::sync::LazyLock<HashMap<u32, String>> =
            std::sync::LazyLock::new(HashMap::new);
        WriteSpec {
            xid,
            table_id: 42,
            slice: 0,
            column_ids: &[1],
            sort_column_ids: &[1],
            encodings: &NO_ENCODINGS,
        }
    }

    /// A store opened at a relative path hands out absolute segment paths.
    #[test]
    fn segment_paths_are_absolute_for_a_relative_root() {
        let dir = tempfile::tempdir_in(".").unwrap();
        let relative = Path::new(".").join(dir.path().file_name().unwrap()).join("node");
        let store = NodeStore::open(&relative, 1).unwrap();
        store.attach("c", 0, 0).unwrap();
        store.write(&spec(5), vec![batch(vec![1])]).unwrap();
        let segments = store.visible_segments(42, 0, &Snapshot { csn: 0, xid: 5 }).unwrap();
        assert!(segments[0].path.is_absolute(), "{}", segments[0].path.display());
        assert!(segments[0].path.exists());
    }

    #[test]
    fn writes_become_visible_at_commit_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 2).unwrap();
        store.attach("c", 0, 0).unwrap();
        store.write(&spec(5), vec![batch(vec![3, 1, 2])]).unwrap();
        let other = Snapshot { csn: 100, xid: 9 };
        assert!(store.visible_segments(42, 0, &other).unwrap().is_empty());
        assert_eq!(store.visible_segments(42, 0, &Snapshot { csn: 0, xid: 5 }).unwrap().len(), 1);
        assert_eq!(store.pending_xids(), vec![5]);
        store.commit(5, 7).unwrap();
        assert_eq!(store.visible_segments(42, 0, &other).unwrap().len(), 1);
        assert!(store.visible_segments(42, 0, &Snapshot { csn: 6, xid: 9 }).unwrap().is_empty());

        // A delete and an aborted write, then reopen.
        store.delete_rows(6, 42, 0, 1, &RoaringBitmap::from_iter([0u32])).unwrap();
        store.write(&spec(8), vec![batch(vec![10])]).unwrap();
        store.commit(6, 8).unwrap();
        drop(store);
        let store = NodeStore::open(dir.path(), 2).unwrap();
        assert_eq!(store.pending_xids(), vec![8]);
        store.abort(8).unwrap();
        let visible = store.visible_segments(42, 0, &other).unwrap();
        assert_eq!(visible.len(), 1);
        assert_eq!(visible[0].live_rows(), 2);
        let stats = store.table_stats(42, &other).unwrap();
        assert_eq!(stats[0].rows, 2);
        assert_eq!(stats[1].rows, 0);
        assert!(store.attach("other", 0, 0).is_err());
    }

    #[test]
    fn truncate_hides_everything_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1).unwrap();
        store.write(&spec(1), vec![batch(vec![1, 2])]).unwrap();
        store.commit(1, 1).unwrap();
        store.truncate(2, 42).unwrap();
        let before = Snapshot { csn: 1, xid: 3 };
        assert_eq!(store.visible_segments(42, 0, &before).unwrap().len(), 1);
        store.commit(2, 2).unwrap();
        assert_eq!(store.visible_segments(42, 0, &before).unwrap().len(), 1);
        assert!(store.visible_segments(42, 0, &Snapshot { csn: 2, xid: 3 }).unwrap().is_empty());
    }
}
