//! VACUUM on a node's slices of one table: merges a slice's unsorted region into one sorted run,
//! rewrites segments that carry many deleted rows without them, and forgets segments that no
//! transaction can see any more, removing their files.
//!
//! Each load is sorted on its own, so loads whose sort-key ranges overlap leave a slice with several
//! runs, and its zone maps prune less; DELETE only marks rows; TRUNCATE, DELETE and vacuums leave
//! dropped segments on disk for the transactions that still see them. This is where all three are
//! undone, as Redshift's VACUUM does.
//!
//! A vacuum is an ordinary write of its transaction: it creates segments and drops the ones they
//! replace, both pending until the leader commits, so a reader sees either the old segments or the
//! new ones and a failed vacuum leaves nothing behind. The merge streams: sorted segments are read a
//! batch at a time, and a segment not in key order is sorted whole first (it holds at most
//! [`SEGMENT_ROWS`] rows), so a slice's vacuum holds a batch per input segment, the unsorted
//! inputs, and the output segment it is building.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs::File;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::{SortOptions, interleave_record_batch};
use arrow::row::{OwnedRow, RowConverter, Rows, SortField};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Result, StorageError};
use crate::manifest::SegmentEntry;
use crate::mvcc::Snapshot;
use crate::node::{NodeStore, SEGMENT_ROWS, VisibleSegment, WriteSpec};
use crate::segment::{SortedRows, selection_without, sort_key_fields};
use crate::zone_map::ZoneValue;

/// Rows per batch read from a segment and per merged batch; a divisor of [`SEGMENT_ROWS`], so
/// merged segments come out full.
const MERGE_BATCH_ROWS: usize = 8192;

/// What a VACUUM does besides forgetting dropped segments (Redshift's FULL, SORT ONLY and
/// DELETE ONLY; REINDEX and RECLUSTER are a FULL and a SORT ONLY here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VacuumMode {
    Full,
    SortOnly,
    DeleteOnly,
}

pub struct VacuumSpec<'a> {
    pub xid: u64,
    /// The vacuum transaction's snapshot: the rows it keeps are the ones visible here.
    pub snapshot: Snapshot,
    pub table_id: u64,
    /// The table's columns, in order; segments written before one of them existed are left as
    /// they are.
    pub column_ids: &'a [u32],
    pub sort_column_ids: &'a [u32],
    pub encodings: &'a HashMap<u32, String>,
    pub mode: VacuumMode,
    /// Redshift's `TO n PERCENT`: a slice is sorted unless at least this share of its rows is
    /// sorted already, and its deleted rows are reclaimed unless at least this share is live.
    pub threshold_percent: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VacuumSummary {
    /// Live rows merged into sorted runs.
    pub rows_sorted: u64,
    /// Deleted rows left out of the rewritten segments.
    pub rows_reclaimed: u64,
    pub segments_replaced: u64,
    pub segments_written: u64,
}

/// The ids of a slice's segments that form its sorted region: from the oldest, each sorted by the
/// key and starting at or after the end of the one before it (by the first key column's zone map).
/// The first segment that breaks the chain and all later ones are the unsorted region, as rows
/// appended out of order to a Redshift table are.
pub fn sorted_region<'a>(segments: impl IntoIterator<Item = &'a SegmentEntry>, sort_column_ids: &[u32]) -> HashSet<u64> {
    let mut region = HashSet::new();
    let Some(&first_key) = sort_column_ids.first() else {
        return region;
    };
    let mut segments: Vec<&SegmentEntry> = segments.into_iter().collect();
    segments.sort_by_key(|s| s.id);
    // The greatest key so far, and whether a segment ended in NULLs or in a maximum left unknown
    // (a long string): NULLs sort last, so no segment with values may follow either.
    let mut end: Option<&ZoneValue> = None;
    let mut closed = false;
    for segment in segments {
        let Some(zone) = segment.zone(first_key).filter(|_| segment.sorted_by == sort_column_ids) else {
            break;
        };
        if let Some(min) = &zone.min {
            let follows = !closed && end.is_none_or(|end| min.compare(end).is_some_and(|o| o.is_ge()));
            if !follows {
                break;
            }
        }
        region.insert(segment.id);
        closed |= zone.null_count > 0 || (zone.min.is_some() && zone.max.is_none());
        end = zone.max.as_ref().or(end);
    }
    region
}

/// Which segments of a slice a vacuum rewrites: `merge` into one sorted run, or each of `compact`
/// on its own, without its deleted rows.
struct SlicePlan {
    merge: Vec<VisibleSegment>,
    compact: Vec<VisibleSegment>,
}

fn plan(segments: Vec<VisibleSegment>, spec: &VacuumSpec<'_>) -> SlicePlan {
    let eligible: Vec<VisibleSegment> = segments
        .into_iter()
        .filter(|s| spec.column_ids.iter().all(|id| s.entry.columns.contains(id)))
        .collect();
    let live: u64 = eligible.iter().map(VisibleSegment::live_rows).sum();
    let deleted: u64 = eligible.iter().map(|s| s.entry.rows - s.live_rows()).sum();
    let sorted = sorted_region(eligible.iter().map(|s| &s.entry), spec.sort_column_ids);
    let unsorted: u64 = eligible.iter().filter(|s| !sorted.contains(&s.entry.id)).map(VisibleSegment::live_rows).sum();
    let threshold = u64::from(spec.threshold_percent);
    let sort_due = spec.mode != VacuumMode::DeleteOnly
        && !spec.sort_column_ids.is_empty()
        && unsorted > 0
        && (live - unsorted) * 100 < threshold * live;
    if sort_due {
        return SlicePlan {
            merge: eligible,
            compact: Vec::new(),
        };
    }
    let reclaim_due = spec.mode != VacuumMode::SortOnly && deleted > 0 && live * 100 < threshold * (live + deleted);
    SlicePlan {
        merge: Vec::new(),
        compact: if reclaim_due { eligible.into_iter().filter(|s| s.deleted.is_some()).collect() } else { Vec::new() },
    }
}

impl NodeStore {
    /// Forgets every segment whose drop committed at or before `csn` and removes its files;
    /// returns the bytes freed. The caller vouches that no running statement reads a snapshot
    /// older than `csn`, so none can see those segments.
    pub fn purge_dropped(&self, csn: u64) -> Result<u64> {
        let mut freed = 0;
        for table_id in self.table_ids() {
            for slice in self.slices() {
                freed += self.purge_dropped_in(table_id, slice, csn)?;
            }
        }
        Ok(freed)
    }

    /// Rewrites every slice of this node that holds the table (see the module comment).
    pub fn vacuum(&self, spec: &VacuumSpec<'_>) -> Result<VacuumSummary> {
        let mut summary = VacuumSummary::default();
        let write = WriteSpec {
            xid: spec.xid,
            table_id: spec.table_id,
            slice: 0,
            column_ids: spec.column_ids,
            sort_column_ids: spec.sort_column_ids,
            encodings: spec.encodings,
        };
        for slice in self.slices() {
            let write = WriteSpec { slice, ..write };
            let plan = plan(self.visible_segments(spec.table_id, slice, &spec.snapshot)?, spec);
            if !plan.merge.is_empty() {
                let key = sort_key_fields(spec.column_ids, spec.sort_column_ids);
                let runs = plan.merge.iter().map(|s| sorted_run(s, spec.column_ids, spec.sort_column_ids, &key)).collect::<Result<Vec<_>>>()?;
                let merged = Merge::new(runs.into_iter().flatten().collect(), &key)?;
                summary.segments_written += self.store_in_segments(&write, merged, spec.sort_column_ids)?;
                summary.rows_sorted += plan.merge.iter().map(VisibleSegment::live_rows).sum::<u64>();
            }
            for segment in &plan.compact {
                let rows = live_rows(segment, spec.column_ids)?;
                summary.segments_written += self.store_in_segments(&write, rows, &segment.entry.sorted_by)?;
            }
            let replaced: Vec<&VisibleSegment> = plan.merge.iter().chain(&plan.compact).collect();
            summary.rows_reclaimed += replaced.iter().map(|s| s.entry.rows - s.live_rows()).sum::<u64>();
            summary.segments_replaced += replaced.len() as u64;
            let ids: Vec<u64> = replaced.iter().map(|s| s.entry.id).collect();
            self.drop_segments(spec.xid, spec.table_id, slice, &ids)?;
        }
        Ok(summary)
    }

    /// Stores `batches`, already in their final order, as segments of up to [`SEGMENT_ROWS`] rows;
    /// returns how many.
    fn store_in_segments(
        &self,
        spec: &WriteSpec<'_>,
        batches: impl Iterator<Item = Result<RecordBatch>>,
        sorted_by: &[u32],
    ) -> Result<u64> {
        let mut segments = 0;
        let mut pending: Vec<RecordBatch> = Vec::new();
        let mut rows = 0;
        let mut batches = batches.peekable();
        while let Some(batch) = batches.next() {
            let batch = batch?;
            rows += batch.num_rows();
            pending.push(batch);
            if rows >= SEGMENT_ROWS || batches.peek().is_none() {
                let schema = pending[0].schema();
                let run = std::mem::take(&mut pending).into_iter().map(Ok);
                segments += self.append_segments(spec, &schema, std::iter::once(run), sorted_by)?.segments;
                rows = 0;
            }
        }
        Ok(segments)
    }
}

/// A segment's live rows, a batch at a time, as the columns `column_ids` in that order.
fn live_rows(segment: &VisibleSegment, column_ids: &[u32]) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
    let path = &segment.path;
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).map_err(StorageError::io(path))?)?;
    let file_columns = &segment.entry.columns;
    let mut wanted: Vec<usize> = column_ids
        .iter()
        .map(|id| file_columns.iter().position(|c| c == id).expect("vacuum plans only segments with every column"))
        .collect();
    // The reader returns the projected columns in file order; `order` puts them in table order.
    let order: Vec<usize> = {
        let mut in_file = wanted.clone();
        in_file.sort_unstable();
        wanted.iter().map(|w| in_file.binary_search(w).expect("present")).collect()
    };
    wanted.sort_unstable();
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let mut builder = builder.with_projection(mask).with_batch_size(MERGE_BATCH_ROWS);
    if let Some(deleted) = &segment.deleted {
        builder = builder.with_row_selection(selection_without(deleted, segment.entry.rows));
    }
    let reader = builder.build()?;
    Ok(reader.map(move |batch| Ok(batch?.project(&order)?)))
}

/// A segment's live rows in sort-key order, for the merge: read as they are when the segment is
/// sorted by the key, sorted in memory otherwise. `None` when no row of it is live.
fn sorted_run(segment: &VisibleSegment, column_ids: &[u32], sort_column_ids: &[u32], key: &[usize]) -> Result<Option<RunStart>> {
    let rows = live_rows(segment, column_ids)?;
    if segment.entry.sorted_by == sort_column_ids {
        return RunStart::of(Box::new(rows));
    }
    let batches: Vec<RecordBatch> = rows.filter(|b| !b.as_ref().is_ok_and(|b| b.num_rows() == 0)).collect::<Result<_>>()?;
    if batches.is_empty() {
        return Ok(None);
    }
    let sorted = SortedRows::new(batches, key)?;
    let pieces: Vec<Result<RecordBatch>> = sorted.pieces(0..sorted.num_rows()).collect();
    RunStart::of(Box::new(pieces.into_iter()))
}

type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// One sorted input of a merge: its current batch, that batch's sort keys in the row format, and
/// the position of its next row.
struct Run {
    rest: Batches,
    batch: RecordBatch,
    keys: Rows,
    at: usize,
    /// Where `batch` is among the merge's batches that picked rows point into.
    slot: usize,
}

/// A run's first batch with rows, and the rest of it.
struct RunStart {
    first: RecordBatch,
    rest: Batches,
}

impl RunStart {
    /// `None` if the batches hold no rows.
    fn of(mut rest: Batches) -> Result<Option<RunStart>> {
        for batch in rest.by_ref() {
            let batch = batch?;
            if batch.num_rows() > 0 {
                return Ok(Some(RunStart { first: batch, rest }));
            }
        }
        Ok(None)
    }
}

/// A k-way merge of sorted runs into batches of [`MERGE_BATCH_ROWS`] rows in key order (ascending,
/// NULLs last, as segments are sorted). Rows with equal keys keep the order of their runs. A heap
/// keeps the next row of every run, so a slice of many small loads merges in log(runs) per row.
struct Merge {
    /// `None` once a run is used up (the heap names runs by position).
    runs: Vec<Option<Run>>,
    heap: BinaryHeap<Reverse<(OwnedRow, usize)>>,
    converter: RowConverter,
    key: Vec<usize>,
    /// The batches the picked rows come from.
    batches: Vec<RecordBatch>,
    /// (index into `batches`, row) of each output row so far.
    picked: Vec<(usize, usize)>,
    failed: bool,
}

impl Merge {
    fn new(runs: Vec<RunStart>, key: &[usize]) -> Result<Merge> {
        let fields = match runs.first() {
            Some(run) => key
                .iter()
                .map(|&i| SortField::new_with_options(run.first.column(i).data_type().clone(), SortOptions { descending: false, nulls_first: false }))
                .collect(),
            None => Vec::new(),
        };
        let mut merge = Merge {
            runs: Vec::with_capacity(runs.len()),
            heap: BinaryHeap::with_capacity(runs.len()),
            converter: RowConverter::new(fields)?,
            key: key.to_vec(),
            batches: Vec::new(),
            picked: Vec::with_capacity(MERGE_BATCH_ROWS),
            failed: false,
        };
        for start in runs {
            let run = merge.run_at(start.first, start.rest)?;
            merge.heap.push(Reverse((run.keys.row(0).owned(), merge.runs.len())));
            merge.runs.push(Some(run));
        }
        Ok(merge)
    }

    /// A run at the first row of `batch`, which becomes one the picked rows can point into.
    fn run_at(&mut self, batch: RecordBatch, rest: Batches) -> Result<Run> {
        let columns: Vec<_> = self.key.iter().map(|&k| Arc::clone(batch.column(k))).collect();
        let keys = self.converter.convert_columns(&columns)?;
        let slot = self.batches.len();
        self.batches.push(batch.clone());
        Ok(Run { rest, batch, keys, at: 0, slot })
    }

    /// Moves run `i` past its current row, onto its next batch when this one is used up; puts
    /// its next row in the heap, or retires the run.
    fn advance(&mut self, i: usize) -> Result<()> {
        let mut run = self.runs[i].take().expect("a run in the heap is live");
        run.at += 1;
        if run.at == run.batch.num_rows() {
            let Some(next) = RunStart::of(run.rest)? else {
                return Ok(());
            };
            run = self.run_at(next.first, next.rest)?;
        }
        self.heap.push(Reverse((run.keys.row(run.at).owned(), i)));
        self.runs[i] = Some(run);
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        while self.picked.len() < MERGE_BATCH_ROWS {
            let Some(Reverse((_, i))) = self.heap.pop() else {
                break;
            };
            let run = self.runs[i].as_ref().expect("a run in the heap is live");
            self.picked.push((run.slot, run.at));
            self.advance(i)?;
        }
        if self.picked.is_empty() {
            return Ok(None);
        }
        let sources: Vec<&RecordBatch> = self.batches.iter().collect();
        let merged = interleave_record_batch(&sources, &self.picked)?;
        self.picked.clear();
        // Keep only the batches the runs are still reading.
        self.batches.clear();
        for run in self.runs.iter_mut().flatten() {
            run.slot = self.batches.len();
            self.batches.push(run.batch.clone());
        }
        Ok(Some(merged))
    }
}

impl Iterator for Merge {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        if self.failed {
            return None;
        }
        let next = self.next_batch().transpose();
        self.failed = next.as_ref().is_some_and(|n| n.is_err());
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use roaring::RoaringBitmap;

    const TABLE: u64 = 7;
    const COLUMNS: [u32; 2] = [1, 2];
    const KEY: [u32; 1] = [1];

    fn rows(keys: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("c1", DataType::Int64, true), Field::new("c2", DataType::Utf8, true)]));
        let names: StringArray = keys.iter().map(|k| Some(format!("row {k}"))).collect();
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(keys.to_vec())), Arc::new(names)]).unwrap()
    }

    fn load(store: &NodeStore, xid: u64, keys: &[i64]) {
        let no_encodings = HashMap::new();
        let spec = WriteSpec { xid, table_id: TABLE, slice: 0, column_ids: &COLUMNS, sort_column_ids: &KEY, encodings: &no_encodings };
        store.write(&spec, vec![rows(keys)]).unwrap();
        store.commit(xid, xid).unwrap();
    }

    fn vacuum(store: &NodeStore, xid: u64, mode: VacuumMode, threshold_percent: u32) -> VacuumSummary {
        let no_encodings = HashMap::new();
        let spec = VacuumSpec {
            xid,
            snapshot: Snapshot { csn: xid - 1, xid },
            table_id: TABLE,
            column_ids: &COLUMNS,
            sort_column_ids: &KEY,
            encodings: &no_encodings,
            mode,
            threshold_percent,
        };
        let summary = store.vacuum(&spec).unwrap();
        store.commit(xid, xid).unwrap();
        summary
    }

    /// Every visible segment's keys, in segment order, and whether each is in the sorted region.
    fn segments(store: &NodeStore, csn: u64) -> Vec<(Vec<i64>, bool)> {
        let visible = store.visible_segments(TABLE, 0, &Snapshot { csn, xid: 0 }).unwrap();
        let region = sorted_region(visible.iter().map(|s| &s.entry), &KEY);
        visible
            .iter()
            .map(|s| {
                let keys = live_rows(s, &COLUMNS)
                    .unwrap()
                    .flat_map(|b| {
                        let b = b.unwrap();
                        assert_eq!(b.column(1).as_any().downcast_ref::<StringArray>().unwrap().value(0), format!("row {}", b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0)));
                        b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec()
                    })
                    .collect();
                (keys, region.contains(&s.entry.id))
            })
            .collect()
    }

    #[test]
    fn overlapping_loads_merge_into_one_sorted_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1).unwrap();
        load(&store, 1, &[5, 1, 9]);
        load(&store, 2, &[10, 12]);
        load(&store, 3, &[7, 3, 20]);
        assert_eq!(segments(&store, 3), vec![(vec![1, 5, 9], true), (vec![10, 12], true), (vec![3, 7, 20], false)]);

        let summary = vacuum(&store, 4, VacuumMode::SortOnly, 95);
        assert_eq!((summary.rows_sorted, summary.segments_replaced, summary.segments_written), (8, 3, 1));
        assert_eq!(segments(&store, 4), vec![(vec![1, 3, 5, 7, 9, 10, 12, 20], true)]);
        // A reader of the older snapshot still sees the loads as they were.
        assert_eq!(segments(&store, 3).len(), 3);

        // Nothing left to sort; the replaced segments' files go once no snapshot needs them.
        let files = |store: &NodeStore| std::fs::read_dir(store.root().join("slice-0").join(format!("t{TABLE}"))).unwrap().count();
        assert_eq!(files(&store), 5);
        assert_eq!(vacuum(&store, 5, VacuumMode::Full, 95), VacuumSummary::default());
        assert_eq!(store.purge_dropped(3).unwrap(), 0, "a snapshot at 3 still reads the loads");
        assert!(store.purge_dropped(4).unwrap() > 0);
        assert_eq!(files(&store), 2, "the merged segment and the manifest");
        assert_eq!(segments(&store, 5), vec![(vec![1, 3, 5, 7, 9, 10, 12, 20], true)]);
    }

    #[test]
    fn runs_of_many_batches_and_unsorted_segments_merge_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1).unwrap();
        let mut state = 17u64;
        let mut keys = |n: usize| -> Vec<i64> {
            (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 40) as i64 % 50_000
                })
                .collect()
        };
        let (first, second, third) = (keys(30_000), keys(20_000), keys(25_000));
        load(&store, 1, &first);
        load(&store, 2, &second);
        // Written without a sort key: a segment in no order at all.
        let no_encodings = HashMap::new();
        let spec = WriteSpec { xid: 3, table_id: TABLE, slice: 0, column_ids: &COLUMNS, sort_column_ids: &[], encodings: &no_encodings };
        store.write(&spec, vec![rows(&third)]).unwrap();
        store.commit(3, 3).unwrap();

        let summary = vacuum(&store, 4, VacuumMode::Full, 95);
        assert_eq!((summary.rows_sorted, summary.segments_written), (75_000, 1));
        let mut expected: Vec<i64> = first.into_iter().chain(second).chain(third).collect();
        expected.sort_unstable();
        assert_eq!(segments(&store, 4), vec![(expected, true)]);
    }

    #[test]
    fn many_small_loads_merge_into_one_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1).unwrap();
        for n in 0..40u64 {
            let keys: Vec<i64> = (0..25).map(|i| i * 40 + n as i64).collect();
            load(&store, n + 1, &keys);
        }
        let summary = vacuum(&store, 41, VacuumMode::Full, 95);
        assert_eq!((summary.rows_sorted, summary.segments_replaced, summary.segments_written), (1000, 40, 1));
        assert_eq!(segments(&store, 41), vec![((0..1000).collect::<Vec<i64>>(), true)]);
    }

    #[test]
    fn deleted_rows_are_reclaimed_past_the_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1).unwrap();
        load(&store, 1, &(0..100).collect::<Vec<_>>());
        store.delete_rows(2, TABLE, 0, 1, &RoaringBitmap::from_iter([3u32, 4])).unwrap();
        store.commit(2, 2).unwrap();
        // 98% live: the default threshold of 95% leaves it.
        assert_eq!(vacuum(&store, 3, VacuumMode::Full, 95), VacuumSummary::default());
        let summary = vacuum(&store, 4, VacuumMode::DeleteOnly, 100);
        assert_eq!((summary.rows_reclaimed, summary.segments_replaced, summary.segments_written), (2, 1, 1));
        let after = segments(&store, 4);
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].0, (0..100).filter(|k| ![3, 4].contains(k)).collect::<Vec<_>>());
        assert!(after[0].1, "compacting keeps a sorted segment sorted");
    }

    #[test]
    fn a_mostly_sorted_slice_is_left_below_the_threshold_and_an_aborted_vacuum_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1).unwrap();
        load(&store, 1, &(0..99).collect::<Vec<_>>());
        load(&store, 2, &[50]);
        assert_eq!(vacuum(&store, 3, VacuumMode::Full, 95), VacuumSummary::default());

        let no_encodings = HashMap::new();
        let spec = VacuumSpec {
            xid: 4,
            snapshot: Snapshot { csn: 3, xid: 4 },
            table_id: TABLE,
            column_ids: &COLUMNS,
            sort_column_ids: &KEY,
            encodings: &no_encodings,
            mode: VacuumMode::SortOnly,
            threshold_percent: 100,
        };
        assert_eq!(store.vacuum(&spec).unwrap().segments_written, 1);
        store.abort(4).unwrap();
        assert_eq!(segments(&store, 10).len(), 2);
    }

    #[test]
    fn the_sorted_region_ends_at_the_first_segment_out_of_order() {
        use crate::zone_map::ColumnZone;
        let entry = |id: u64, min: Option<i64>, max: Option<i64>, nulls: u64| SegmentEntry {
            id,
            file: String::new(),
            rows: 1,
            bytes: 0,
            created: crate::mvcc::Stamp::pending(1),
            dropped: None,
            deletes: Vec::new(),
            sorted_by: KEY.to_vec(),
            row_groups: vec![1],
            columns: COLUMNS.to_vec(),
            zones: vec![ColumnZone { column_id: 1, min: min.map(ZoneValue::Int), max: max.map(ZoneValue::Int), null_count: nulls }],
        };
        let region = |entries: &[SegmentEntry]| {
            let mut ids: Vec<u64> = sorted_region(entries, &KEY).into_iter().collect();
            ids.sort_unstable();
            ids
        };
        // Touching ranges follow; an overlap ends the region even if later segments are in order.
        assert_eq!(region(&[entry(1, Some(1), Some(5), 0), entry(2, Some(5), Some(8), 0), entry(3, Some(7), Some(9), 0), entry(4, Some(10), Some(11), 0)]), vec![1, 2]);
        // After NULLs only an all-NULL segment may follow.
        assert_eq!(region(&[entry(1, Some(1), Some(5), 2), entry(2, None, None, 3), entry(3, Some(6), Some(7), 0)]), vec![1, 2]);
        let mut unsorted = entry(1, Some(1), Some(2), 0);
        unsorted.sorted_by.clear();
        assert!(region(&[unsorted]).is_empty());
        assert!(sorted_region(&[entry(1, Some(1), Some(2), 0)], &[]).is_empty());
    }
}
