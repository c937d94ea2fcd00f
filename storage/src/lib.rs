//! Blueshift's slice storage engine.
//!
//! Every compute node owns a few *slices*; every slice holds, per table, an append-only list of
//! immutable columnar **segments** (Parquet files, zstd, with page indexes whose ~1 MB data pages
//! are Blueshift's "blocks"). A per-table-per-slice **manifest** lists the segments with their row
//! counts and a **zone map** (min, max and null count of every column) so scans skip segments
//! without opening them. Deletes never touch a segment: they add a roaring bitmap of deleted row
//! positions. Every segment, drop and delete carries the transaction that made it and, once that
//! transaction commits, its commit sequence number (csn): a reader sees exactly the changes
//! committed at or before its snapshot's csn, plus its own.
//!
//! Durability: data files are fsynced before the manifest that names them is atomically replaced
//! (write, fsync, rename, fsync directory), and nothing becomes visible to other transactions until
//! the leader's durable commit record exists and the node has stamped the csn.

pub mod distribution;
pub mod error;
pub mod fsio;
pub mod manifest;
pub mod mvcc;
pub mod node;
pub mod segment;
pub mod snapshot;
pub mod vacuum;
pub mod zone_map;

pub use error::{Result, StorageError};
pub use manifest::{SegmentEntry, TableManifest};
pub use mvcc::{Snapshot, Stamp};
pub use node::{NodeStore, TableSliceStats, VisibleSegment};

/// Name of the Parquet column that stores the table column with this id. Columns are stored under
/// their stable id rather than their name so that RENAME COLUMN never rewrites data and a dropped
/// column's name can be reused.
pub fn column_field_name(column_id: u32) -> String {
    format!("c{column_id}")
}

/// Name of the hidden column through which DELETE and UPDATE learn which rows they change.
pub const ROWID_COLUMN: &str = "__rowid";

/// Packs a row's address into the `__rowid` value: slice (16 bits), segment (24 bits), position
/// within the segment (24 bits; segments hold at most [`node::SEGMENT_ROWS`] rows).
pub fn encode_rowid(slice: u32, segment: u64, position: u32) -> u64 {
    debug_assert!(slice < 1 << 16 && segment < 1 << 24 && position < 1 << 24);
    (u64::from(slice) << 48) | (segment << 24) | u64::from(position)
}

/// The (slice, segment, position) packed by [`encode_rowid`].
pub fn decode_rowid(rowid: u64) -> (u32, u64, u32) {
    (
        (rowid >> 48) as u32,
        (rowid >> 24) & 0xff_ffff,
        (rowid & 0xff_ffff) as u32,
    )
}
