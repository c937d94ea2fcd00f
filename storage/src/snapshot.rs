//! What a snapshot keeps of a table on a slice: its committed segments as of the snapshot's
//! commit, each naming the content-addressed objects that hold its file and its delete bitmaps.
//!
//! Segment and bitmap files never change once written, so an object's name can be the hash of
//! its bytes: a file already in the snapshot store from an earlier snapshot (or from another
//! slice holding the same bytes) is never uploaded again, which makes every snapshot incremental.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::manifest::SegmentEntry;

/// One table on one slice as of a snapshot. In `segments`, `file` and every delete's `file` are
/// object names in the snapshot store, only the deletes committed by the snapshot are listed,
/// and no segment is dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceImage {
    pub table_id: u64,
    pub slice: u32,
    pub segments: Vec<SegmentEntry>,
}

/// What a node reports to a snapshot: its slices' images, the size of every object they name,
/// and the objects it had to upload (the rest were in the store already).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeImage {
    pub images: Vec<SliceImage>,
    pub objects: BTreeMap<String, u64>,
    pub uploaded: BTreeSet<String>,
}

impl SliceImage {
    /// Every object the image refers to.
    pub fn objects(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().flat_map(|s| {
            std::iter::once(s.file.as_str()).chain(s.deletes.iter().map(|d| d.file.as_str()))
        })
    }
}

/// The object name of the file at `path`: the hash of its bytes, with the file's extension kept
/// so the kind of object stays readable.
pub fn object_name(path: &Path) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("bin");
    Ok(format!("{}.{ext}", hasher.finalize().to_hex()))
}
