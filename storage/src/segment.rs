//! Segment files: one immutable Parquet file per write per slice.
//!
//! Rows are sorted by the table's compound sort key before they are written, so the zone maps of a
//! sorted load are tight and range predicates on the key skip most segments and pages. Data pages
//! are capped at 1 MB (Redshift's block size) and carry page-level statistics and an offset index,
//! so DataFusion's Parquet reader can also skip blocks inside a segment. Each column's Redshift
//! ENCODE picks its Parquet encoding and compression.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::{SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use roaring::RoaringBitmap;

use crate::column_field_name;
use crate::error::{Result, StorageError};
use crate::zone_map::{ColumnZone, zone_maps_of_written};

/// Data page size: Redshift's 1 MB block.
const BLOCK_BYTES: usize = 1024 * 1024;
/// Dictionary size past which a column chunk falls back to plain values. A dictionary pays off
/// for columns with few distinct values (flags, dates, quantities), which stay far below this; a
/// mostly-unique column (keys, comments) falls back after a few thousand values instead of
/// interning all of a row group's values into a dictionary as large as the data. Interning was
/// the largest cost of writing a TPC-H lineitem load.
const DICTIONARY_BYTES: usize = 128 * 1024;
/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

pub struct WrittenSegment {
    pub rows: u64,
    pub bytes: u64,
    pub row_groups: Vec<u64>,
    pub zones: Vec<ColumnZone>,
}

/// The rows of `batches` as segments of at most `max_rows` rows, sorted by the columns at `key`
/// (ascending, NULLs last, as Redshift sorts). The sort runs over all the rows, so the segments of
/// one write hold disjoint key ranges.
///
/// Gathering the sorted rows is the cost here, not sorting the key: a permutation of a million
/// rows reads every column at random. Writers therefore send batches that are each sorted already
/// ([`sort_order`]), which makes the gather read a few sequential runs instead. (Gathering each
/// segment's rows straight from `batches` with `interleave` instead of concatenating them first
/// was measured 5 times slower than `take`.)
pub fn sorted_segments(batches: &[RecordBatch], key: &[usize], max_rows: usize) -> Result<Vec<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let all = concat_batches(&first.schema(), batches)?;
    let rows = all.num_rows();
    let Some(order) = sort_order(&all, key)? else {
        return Ok((0..rows).step_by(max_rows).map(|at| all.slice(at, max_rows.min(rows - at))).collect());
    };
    (0..rows)
        .step_by(max_rows)
        .map(|at| Ok(take_record_batch(&all, &order.slice(at, max_rows.min(rows - at)))?))
        .collect()
}

/// Where the sort key's columns are among a write's `column_ids` (in key order).
pub fn sort_key_fields(column_ids: &[u32], sort_column_ids: &[u32]) -> Vec<usize> {
    sort_column_ids.iter().filter_map(|id| column_ids.iter().position(|c| c == id)).collect()
}

/// The order of `batch`'s rows sorted by the columns at `key`, ascending with NULLs last; `None`
/// when there is nothing to sort (no key, or fewer than two rows).
pub fn sort_order(batch: &RecordBatch, key: &[usize]) -> Result<Option<UInt32Array>> {
    if key.is_empty() || batch.num_rows() < 2 {
        return Ok(None);
    }
    let columns: Vec<SortColumn> = key
        .iter()
        .map(|&i| SortColumn {
            values: Arc::clone(batch.column(i)),
            options: Some(SortOptions {
                descending: false,
                nulls_first: false,
            }),
        })
        .collect();
    Ok(Some(lexsort_to_indices(&columns, None)?))
}

fn writer_properties(column_ids: &[u32], encodings: &HashMap<u32, String>) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level")))
        .set_data_page_size_limit(BLOCK_BYTES)
        .set_dictionary_page_size_limit(DICTIONARY_BYTES)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("blueshift {}", env!("CARGO_PKG_VERSION")));
    for id in column_ids {
        let Some(encoding) = encodings.get(id) else {
            continue;
        };
        let path = ColumnPath::from(column_field_name(*id));
        props = match encoding.to_ascii_uppercase().as_str() {
            "RAW" => props
                .set_column_compression(path.clone(), Compression::UNCOMPRESSED)
                .set_column_dictionary_enabled(path, false),
            "BYTEDICT" | "TEXT255" | "TEXT32K" | "RUNLENGTH" => {
                props.set_column_dictionary_enabled(path, true)
            }
            "DELTA" | "DELTA32K" => props
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED),
            "LZO" => props.set_column_compression(path, Compression::SNAPPY),
            // AZ64, ZSTD and MOSTLYn: zstd, the default.
            _ => props,
        };
    }
    props.build()
}

/// Writes `batch` (fields named `c<column id>`, already sorted) to a new durable file at `path`.
pub fn write_segment(
    path: &Path,
    batch: &RecordBatch,
    column_ids: &[u32],
    encodings: &HashMap<u32, String>,
) -> Result<WrittenSegment> {
    let file = File::create(path).map_err(StorageError::io(path))?;
    let props = writer_properties(column_ids, encodings);
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    writer.write(batch)?;
    let metadata = writer.close()?;
    let zones = zone_maps_of_written(batch, column_ids, &metadata)?;
    let row_groups = metadata
        .row_groups()
        .iter()
        .map(|rg| rg.num_rows() as u64)
        .collect();
    let file = File::open(path).map_err(StorageError::io(path))?;
    file.sync_all().map_err(StorageError::io(path))?;
    let bytes = file.metadata().map_err(StorageError::io(path))?.len();
    Ok(WrittenSegment {
        rows: batch.num_rows() as u64,
        bytes,
        row_groups,
        zones,
    })
}

/// A Parquet row selection that skips the rows in `deleted` out of `rows`.
pub fn selection_without(deleted: &RoaringBitmap, rows: u64) -> RowSelection {
    let mut selectors = Vec::new();
    let mut next = 0u64;
    for range in deleted_ranges(deleted) {
        if range.0 > next {
            selectors.push(RowSelector::select((range.0 - next) as usize));
        }
        selectors.push(RowSelector::skip((range.1 - range.0) as usize));
        next = range.1;
    }
    if next < rows {
        selectors.push(RowSelector::select((rows - next) as usize));
    }
    RowSelection::from(selectors)
}

/// Runs of consecutive deleted positions as half-open ranges.
fn deleted_ranges(deleted: &RoaringBitmap) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for pos in deleted.iter().map(u64::from) {
        match ranges.last_mut() {
            Some(last) if last.1 == pos => last.1 = pos + 1,
            _ => ranges.push((pos, pos + 1)),
        }
    }
    ranges
}

/// Reads the columns `projection` (indices into the file schema) of every row not in `deleted`,
/// returning each batch with the segment positions of its rows. Used by DELETE and UPDATE, which
/// must name the rows they change.
pub fn read_with_positions(
    path: &Path,
    projection: &[usize],
    deleted: &RoaringBitmap,
    batch_size: usize,
) -> Result<Vec<(RecordBatch, Vec<u32>)>> {
    let file = File::open(path).map_err(StorageError::io(path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let rows = builder.metadata().file_metadata().num_rows() as u64;
    let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), projection.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_row_selection(selection_without(deleted, rows))
        .with_batch_size(batch_size)
        .build()?;
    let mut positions = (0..rows as u32).filter(|p| !deleted.contains(*p));
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let batch_positions: Vec<u32> = positions.by_ref().take(batch.num_rows()).collect();
        out.push((batch, batch_positions));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    /// The zone maps a segment keeps from its Parquet statistics are the ones a scan of its rows
    /// finds, over several row groups and for every kind of column: NULLs, a column of NULLs only,
    /// a string too long to keep as a maximum, decimals, dates, and floats with a NaN (which must
    /// stay the maximum, unknown, rather than the largest number).
    #[test]
    fn zone_maps_from_statistics_equal_a_scan() {
        use arrow::array::{BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array};
        use crate::zone_map::compute_zone_maps;
        let dir = tempfile::tempdir().unwrap();
        let rows = ROW_GROUP_ROWS * 2 + 10;
        let long = "z".repeat(100);
        let schema = Arc::new(Schema::new(vec![
            Field::new("c1", DataType::Int32, true),
            Field::new("c2", DataType::Utf8, true),
            Field::new("c3", DataType::Decimal128(15, 2), true),
            Field::new("c4", DataType::Date32, true),
            Field::new("c5", DataType::Float64, true),
            Field::new("c6", DataType::Boolean, true),
            Field::new("c7", DataType::Int64, true),
            Field::new("c8", DataType::Utf8, true),
        ]));
        let n = rows as i64;
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from_iter((0..n).map(|i| (i % 7 != 0).then_some((i * 31 % 1000 - 500) as i32)))),
                Arc::new(StringArray::from_iter((0..n).map(|i| Some(if i == n / 2 { long.clone() } else { format!("v{}", i % 97) })))),
                Arc::new(Decimal128Array::from_iter_values((0..n).map(|i| i128::from(i) * 3 - 7)).with_precision_and_scale(15, 2).unwrap()),
                Arc::new(Date32Array::from_iter_values((0..n).map(|i| (i % 2500) as i32 + 8000))),
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| if i == 5 { f64::NAN } else { i as f64 / 2.0 }))),
                Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 3 == 0)))),
                Arc::new(Int64Array::from_iter((0..n).map(|_| None::<i64>))),
                Arc::new(StringArray::from_iter((0..n).map(|i| Some(format!("w{}", i % 13))))),
            ],
        )
        .unwrap();
        let ids = [1, 2, 3, 4, 5, 6, 7, 8];
        let written = write_segment(&dir.path().join("s1.parquet"), &batch, &ids, &HashMap::new()).unwrap();
        assert_eq!(written.row_groups.len(), 3);
        assert_eq!(written.zones, compute_zone_maps(&batch, &ids).unwrap());
        assert_eq!(written.zones[1].max, None, "the 100-byte string is the maximum");
        assert_eq!(written.zones[4].max, None, "NaN is the maximum");
        assert_eq!(written.zones[6].min, None);
        assert_eq!(written.zones[6].null_count, n as u64);
    }

    /// A unique column's dictionary stops at the cap, well inside the row group, while a column
    /// of few values keeps one.
    #[test]
    fn dictionaries_stop_at_their_cap() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("c1", DataType::Int64, true),
            Field::new("c2", DataType::Int64, true),
        ]));
        let rows = ROW_GROUP_ROWS as i64;
        // Distinct values that do not compress, so the dictionary page's size is its values'.
        let unique = (0..rows).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(unique)),
                Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i % 50))),
            ],
        )
        .unwrap();
        let path = dir.path().join("s1.parquet");
        write_segment(&path, &batch, &[1, 2], &HashMap::new()).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let row_group = parquet::file::reader::FileReader::metadata(&reader).row_group(0).clone();
        let dictionary_bytes = |column: usize| {
            let chunk = row_group.column(column);
            chunk.dictionary_page_offset().map(|start| chunk.data_page_offset() - start)
        };
        // Without the cap, the unique column's dictionary would hold all its 1 MB of values.
        let unique_dictionary = dictionary_bytes(0).expect("a dictionary until the cap");
        assert!(unique_dictionary <= DICTIONARY_BYTES as i64 + 4096, "{unique_dictionary}");
        assert!(dictionary_bytes(1).is_some());
    }

    #[test]
    fn segments_of_a_write_are_sorted_across_its_batches() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("c1", DataType::Int64, true),
            Field::new("c2", DataType::Utf8, true),
        ]));
        let batch = |keys: Vec<Option<i64>>| {
            let texts: Vec<Option<String>> = keys.iter().map(|k| k.map(|k| format!("v{k}"))).collect();
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(Int64Array::from(keys)), Arc::new(StringArray::from(texts))],
            )
            .unwrap()
        };
        let batches = [batch(vec![Some(3), None, Some(1)]), batch(vec![Some(2), Some(5), Some(4)])];
        let segments = sorted_segments(&batches, &[0], 4).unwrap();
        let keys = |b: &RecordBatch| b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().iter().collect::<Vec<_>>();
        let texts = |b: &RecordBatch| b.column(1).as_any().downcast_ref::<StringArray>().unwrap().iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>();
        assert_eq!(segments.iter().map(keys).collect::<Vec<_>>(), vec![vec![Some(1), Some(2), Some(3), Some(4)], vec![Some(5), None]]);
        // Each row keeps its own values.
        assert_eq!(texts(&segments[1]), vec![Some("v5".to_string()), None]);
        assert_eq!(texts(&segments[0])[0].as_deref(), Some("v1"));
        // Without a sort key: the rows in their order, cut at the same size.
        let unsorted = sorted_segments(&batches, &[], 4).unwrap();
        assert_eq!(unsorted.iter().map(keys).collect::<Vec<_>>(), vec![vec![Some(3), None, Some(1), Some(2)], vec![Some(5), Some(4)]]);
    }

    #[test]
    fn sorted_segment_round_trips_with_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("c1", DataType::Int64, true),
            Field::new("c2", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![3, 1, 2, 5, 4])),
                Arc::new(StringArray::from(vec!["c", "a", "b", "e", "d"])),
            ],
        )
        .unwrap();
        let sorted = sorted_segments(&[batch], &[0], 5).unwrap().remove(0);
        let path = dir.path().join("s1.parquet");
        let encodings = HashMap::from([(2, "RAW".to_string())]);
        let written = write_segment(&path, &sorted, &[1, 2], &encodings).unwrap();
        assert_eq!(written.rows, 5);
        assert_eq!(written.row_groups, vec![5]);

        let deleted = RoaringBitmap::from_iter([0u32, 3]);
        let batches = read_with_positions(&path, &[0, 1], &deleted, 2).unwrap();
        let positions: Vec<u32> = batches.iter().flat_map(|(_, p)| p.clone()).collect();
        assert_eq!(positions, vec![1, 2, 4]);
        let values: Vec<i64> = batches
            .iter()
            .flat_map(|(b, _)| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(values, vec![2, 3, 5]);
    }
}
