//! The per-table, per-slice manifest: the list of segments, their zone maps, and the transactions
//! that created, deleted from or dropped them.
//!
//! On disk it is one JSON document (`manifest.json` in the table's slice directory), replaced
//! atomically on every change. `format_version` guards readers against files from a newer build;
//! every older version stays readable (see the compatibility test in `tests/`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StorageError};
use crate::fsio;
use crate::mvcc::{Snapshot, Stamp};
use crate::zone_map::ColumnZone;

/// Version 1: segments with zone maps, pending/committed stamps, delete bitmaps.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableManifest {
    pub format_version: u32,
    pub table_id: u64,
    pub slice: u32,
    pub next_segment_id: u64,
    pub segments: Vec<SegmentEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentEntry {
    pub id: u64,
    /// File name inside the table's slice directory.
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub created: Stamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deletes: Vec<DeleteEntry>,
    /// The compound sort key (column ids) the rows are sorted by; empty if unsorted.
    #[serde(default)]
    pub sorted_by: Vec<u32>,
    /// Row count of every Parquet row group, in order.
    pub row_groups: Vec<u64>,
    /// Column ids stored in the file; columns added later read as NULL.
    pub columns: Vec<u32>,
    pub zones: Vec<ColumnZone>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteEntry {
    pub stamp: Stamp,
    /// A serialized roaring bitmap of deleted row positions.
    pub file: String,
    pub rows: u64,
}

impl SegmentEntry {
    pub fn zone(&self, column_id: u32) -> Option<&ColumnZone> {
        self.zones.iter().find(|z| z.column_id == column_id)
    }

    pub fn written_before_column(&self, column_id: u32) -> bool {
        !self.columns.contains(&column_id)
    }

    /// Whether the segment's rows exist for a reader at `snapshot` (delete bitmaps aside).
    pub fn is_visible(&self, snapshot: &Snapshot) -> bool {
        self.created.is_visible(snapshot)
            && !self.dropped.is_some_and(|d| d.is_visible(snapshot))
    }

    pub fn visible_deletes<'a>(
        &'a self,
        snapshot: &'a Snapshot,
    ) -> impl Iterator<Item = &'a DeleteEntry> + 'a {
        self.deletes.iter().filter(|d| d.stamp.is_visible(snapshot))
    }

    /// Every stamp in this entry, for settling transactions.
    pub(crate) fn stamps_mut(&mut self) -> impl Iterator<Item = &mut Stamp> {
        std::iter::once(&mut self.created)
            .chain(self.dropped.iter_mut())
            .chain(self.deletes.iter_mut().map(|d| &mut d.stamp))
    }
}

impl TableManifest {
    pub fn new(table_id: u64, slice: u32) -> Self {
        TableManifest {
            format_version: MANIFEST_FORMAT_VERSION,
            table_id,
            slice,
            next_segment_id: 1,
            segments: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(StorageError::io(path))?;
        let manifest: TableManifest =
            serde_json::from_slice(&bytes).map_err(|e| StorageError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        if manifest.format_version > MANIFEST_FORMAT_VERSION {
            return Err(StorageError::UnsupportedFormat {
                path: path.to_path_buf(),
                found: manifest.format_version,
                supported: MANIFEST_FORMAT_VERSION,
            });
        }
        Ok(manifest)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec(self).expect("manifests serialize");
        fsio::write_atomic(path, &bytes)
    }

    /// Transaction ids with changes here that are neither committed nor aborted yet.
    pub fn pending_xids(&self) -> impl Iterator<Item = u64> + '_ {
        self.segments.iter().flat_map(|s| {
            std::iter::once(&s.created)
                .chain(s.dropped.iter())
                .chain(s.deletes.iter().map(|d| &d.stamp))
                .filter(|stamp| stamp.csn.is_none())
                .map(|stamp| stamp.xid)
        })
    }
}
