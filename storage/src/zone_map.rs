//! Zone maps: per segment, per column minimum, maximum and null count.
//!
//! They are computed when a segment is written and kept in the manifest, so a scan can discard a
//! segment from the predicate alone, before opening its file. [`SegmentPruner`] feeds them to
//! DataFusion's `PruningPredicate`, which knows how to decide "no row here can match" for
//! comparisons, ranges, IN lists, IS NULL and their boolean combinations.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::{Column, ScalarValue};
use datafusion::functions_aggregate::min_max::{MaxAccumulator, MinAccumulator};
use datafusion::logical_expr::Accumulator;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::file::metadata::ParquetMetaData;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::manifest::SegmentEntry;

/// Strings longer than this keep a truncated minimum and no maximum (a truncated maximum would be
/// smaller than the real one and could wrongly prune).
const MAX_STRING_BOUND: usize = 64;

/// A bound stored in a zone map, independent of the column's exact Arrow type (which the reader
/// supplies when it turns the bound back into an array).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum ZoneValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A DECIMAL's unscaled value, as a string because JSON numbers cannot hold 128 bits.
    Decimal(String),
    Str(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnZone {
    pub column_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<ZoneValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<ZoneValue>,
    pub null_count: u64,
}

impl ZoneValue {
    fn from_scalar(value: &ScalarValue, is_max: bool) -> Option<ZoneValue> {
        use ScalarValue as S;
        Some(match value {
            S::Boolean(Some(v)) => ZoneValue::Bool(*v),
            S::Int8(Some(v)) => ZoneValue::Int((*v).into()),
            S::Int16(Some(v)) => ZoneValue::Int((*v).into()),
            S::Int32(Some(v)) => ZoneValue::Int((*v).into()),
            S::Int64(Some(v)) => ZoneValue::Int(*v),
            S::Date32(Some(v)) => ZoneValue::Int((*v).into()),
            S::Time64Microsecond(Some(v)) => ZoneValue::Int(*v),
            S::TimestampMicrosecond(Some(v), _) => ZoneValue::Int(*v),
            S::Float32(Some(v)) if !v.is_nan() => ZoneValue::Float((*v).into()),
            S::Float64(Some(v)) if !v.is_nan() => ZoneValue::Float(*v),
            S::Decimal128(Some(v), _, _) => ZoneValue::Decimal(v.to_string()),
            S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => {
                if s.len() <= MAX_STRING_BOUND {
                    ZoneValue::Str(s.clone())
                } else if is_max {
                    return None;
                } else {
                    let mut end = MAX_STRING_BOUND;
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    ZoneValue::Str(s[..end].to_string())
                }
            }
            _ => return None,
        })
    }

    /// This bound as a scalar of the column's Arrow type; `None` if the types do not fit (the
    /// column's type changed since the segment was written), which only disables pruning.
    pub fn to_scalar(&self, data_type: &DataType) -> Option<ScalarValue> {
        use ScalarValue as S;
        Some(match (self, data_type) {
            (ZoneValue::Bool(v), DataType::Boolean) => S::Boolean(Some(*v)),
            (ZoneValue::Int(v), DataType::Int16) => S::Int16(Some(i16::try_from(*v).ok()?)),
            (ZoneValue::Int(v), DataType::Int32) => S::Int32(Some(i32::try_from(*v).ok()?)),
            (ZoneValue::Int(v), DataType::Int64) => S::Int64(Some(*v)),
            (ZoneValue::Int(v), DataType::Date32) => S::Date32(Some(i32::try_from(*v).ok()?)),
            (ZoneValue::Int(v), DataType::Time64(TimeUnit::Microsecond)) => {
                S::Time64Microsecond(Some(*v))
            }
            (ZoneValue::Int(v), DataType::Timestamp(TimeUnit::Microsecond, tz)) => {
                S::TimestampMicrosecond(Some(*v), tz.clone())
            }
            (ZoneValue::Float(v), DataType::Float32) => S::Float32(Some(*v as f32)),
            (ZoneValue::Float(v), DataType::Float64) => S::Float64(Some(*v)),
            (ZoneValue::Decimal(v), DataType::Decimal128(p, s)) => {
                S::Decimal128(Some(v.parse().ok()?), *p, *s)
            }
            (ZoneValue::Str(v), DataType::Utf8) => S::Utf8(Some(v.clone())),
            (ZoneValue::Str(v), DataType::Utf8View) => S::Utf8View(Some(v.clone())),
            (ZoneValue::Str(v), DataType::LargeUtf8) => S::LargeUtf8(Some(v.clone())),
            _ => return None,
        })
    }

    /// How this bound compares with another of the same column; `None` for bounds of different
    /// kinds (a column whose type changed) or a NaN.
    pub fn compare(&self, other: &ZoneValue) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (ZoneValue::Bool(a), ZoneValue::Bool(b)) => Some(a.cmp(b)),
            (ZoneValue::Int(a), ZoneValue::Int(b)) => Some(a.cmp(b)),
            (ZoneValue::Float(a), ZoneValue::Float(b)) => a.partial_cmp(b),
            (ZoneValue::Decimal(a), ZoneValue::Decimal(b)) => Some(a.parse::<i128>().ok()?.cmp(&b.parse::<i128>().ok()?)),
            (ZoneValue::Str(a), ZoneValue::Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            _ => None,
        }
    }

    /// The bound as STV_BLOCKLIST reports it: a bigint; strings contribute their first 8 bytes.
    pub fn as_block_value(&self) -> i64 {
        match self {
            ZoneValue::Bool(v) => i64::from(*v),
            ZoneValue::Int(v) => *v,
            ZoneValue::Float(v) => *v as i64,
            ZoneValue::Decimal(v) => v.parse::<i128>().map(|d| d as i64).unwrap_or(0),
            ZoneValue::Str(s) => {
                let mut bytes = [0u8; 8];
                for (dst, src) in bytes.iter_mut().zip(s.as_bytes()) {
                    *dst = *src;
                }
                i64::from_be_bytes(bytes)
            }
        }
    }
}

/// Computes the zone map of every column of `batch` by scanning it; `column_ids[i]` names column
/// `i`. Segments take theirs from their Parquet statistics ([`zone_maps_of_written`]); this scan is
/// what the tests hold those to.
#[cfg(test)]
pub(crate) fn compute_zone_maps(batch: &RecordBatch, column_ids: &[u32]) -> Result<Vec<ColumnZone>> {
    batch
        .columns()
        .iter()
        .zip(column_ids)
        .map(|(array, &column_id)| column_zone(column_id, array, array, array.null_count() as u64))
        .collect()
}

/// What a segment's zone maps need from its rows besides the Parquet statistics, gathered piece
/// by piece as the rows are written: each column's null count, and the minimum and maximum of the
/// floating-point columns, whose statistics leave NaN out (see [`zone_maps_of_written`]).
pub struct WrittenRows {
    null_counts: Vec<u64>,
    /// A floating-point column's running minimum and maximum; `None` for other columns.
    floats: Vec<Option<(MinAccumulator, MaxAccumulator)>>,
}

impl WrittenRows {
    pub fn new(schema: &SchemaRef) -> Result<WrittenRows> {
        let floats = schema
            .fields()
            .iter()
            .map(|field| {
                let data_type = field.data_type();
                Ok(match data_type.is_floating() {
                    true => Some((MinAccumulator::try_new(data_type)?, MaxAccumulator::try_new(data_type)?)),
                    false => None,
                })
            })
            .collect::<Result<_>>()?;
        Ok(WrittenRows {
            null_counts: vec![0; schema.fields().len()],
            floats,
        })
    }

    /// Takes in rows about to be written.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        for ((array, nulls), float) in batch.columns().iter().zip(&mut self.null_counts).zip(&mut self.floats) {
            *nulls += array.null_count() as u64;
            if let Some((min, max)) = float {
                min.update_batch(std::slice::from_ref(array))?;
                max.update_batch(std::slice::from_ref(array))?;
            }
        }
        Ok(())
    }
}

/// The zone maps of a segment just written as a Parquet file described by `metadata`, with
/// `schema`: taken from the minimum and maximum the writer kept for each row group rather than
/// from another pass over the rows, which was a tenth of a Parquet load's CPU time. Floating-point
/// columns come from `rows` instead: Parquet's statistics leave NaN out, and NaN sorts above every
/// number here as in PostgreSQL, so its maximum would be too small to prune with. A maximum the
/// writer truncated is left unknown, as a scan leaves a long string's.
pub fn zone_maps_of_written(
    schema: &SchemaRef,
    rows: WrittenRows,
    column_ids: &[u32],
    metadata: &ParquetMetaData,
) -> Result<Vec<ColumnZone>> {
    let parquet_schema = metadata.file_metadata().schema_descr();
    let row_groups = metadata.row_groups();
    schema
        .fields()
        .iter()
        .zip(column_ids)
        .zip(rows.null_counts.into_iter().zip(rows.floats))
        .map(|((field, &column_id), (null_count, float))| {
            if let Some((mut min, mut max)) = float {
                return zone(column_id, &mut min, &mut max, null_count);
            }
            let statistics = StatisticsConverter::try_new(field.name(), schema, parquet_schema)?;
            let mins = statistics.row_group_mins(row_groups)?;
            let maxes = statistics.row_group_maxes(row_groups)?;
            let exact = statistics.row_group_is_max_value_exact(row_groups)?;
            let mut zone = column_zone(column_id, &mins, &maxes, null_count)?;
            if (0..maxes.len()).any(|group| maxes.is_valid(group) && !(exact.is_valid(group) && exact.value(group))) {
                zone.max = None;
            }
            Ok(zone)
        })
        .collect()
}

/// A column's zone: the least of `mins` and the greatest of `maxes`.
fn column_zone(column_id: u32, mins: &ArrayRef, maxes: &ArrayRef, null_count: u64) -> Result<ColumnZone> {
    let mut min = MinAccumulator::try_new(mins.data_type())?;
    let mut max = MaxAccumulator::try_new(maxes.data_type())?;
    min.update_batch(std::slice::from_ref(mins))?;
    max.update_batch(std::slice::from_ref(maxes))?;
    zone(column_id, &mut min, &mut max, null_count)
}

fn zone(column_id: u32, min: &mut MinAccumulator, max: &mut MaxAccumulator, null_count: u64) -> Result<ColumnZone> {
    Ok(ColumnZone {
        column_id,
        min: ZoneValue::from_scalar(&min.evaluate()?, false),
        max: ZoneValue::from_scalar(&max.evaluate()?, true),
        null_count,
    })
}

/// Zone maps of a list of segments, in the shape DataFusion's pruning wants. `schema` is the scan's
/// file schema: fields named `c<column id>` with the columns' current types.
pub struct SegmentPruner<'a> {
    pub segments: &'a [&'a SegmentEntry],
    pub schema: SchemaRef,
    /// Values that segments written before a column existed read for it (absent: NULL).
    pub missing_values: HashMap<u32, ScalarValue>,
}

impl SegmentPruner<'_> {
    fn column(&self, column: &Column) -> Option<(u32, DataType)> {
        let field = self.schema.field_with_name(&column.name).ok()?;
        let id = column.name.strip_prefix('c')?.parse().ok()?;
        Some((id, field.data_type().clone()))
    }

    fn bounds(&self, column: &Column, pick_max: bool) -> Option<ArrayRef> {
        let (id, data_type) = self.column(column)?;
        let null = ScalarValue::try_from(&data_type).ok()?;
        let values = self.segments.iter().map(|segment| {
            if segment.written_before_column(id)
                && let Some(value) = self.missing_values.get(&id)
            {
                return value.clone();
            }
            segment
                .zone(id)
                .and_then(|z| if pick_max { z.max.as_ref() } else { z.min.as_ref() })
                .and_then(|v| v.to_scalar(&data_type))
                .unwrap_or_else(|| null.clone())
        });
        ScalarValue::iter_to_array(values).ok()
    }
}

impl PruningStatistics for SegmentPruner<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, false)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.bounds(column, true)
    }

    fn num_containers(&self) -> usize {
        self.segments.len()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        let (id, _) = self.column(column)?;
        let counts: UInt64Array = self
            .segments
            .iter()
            .map(|segment| match segment.zone(id) {
                Some(zone) => Some(zone.null_count),
                // A segment written before the column was added reads its default, or NULLs.
                None if segment.written_before_column(id) => {
                    Some(if self.missing_values.contains_key(&id) { 0 } else { segment.rows })
                }
                None => None,
            })
            .collect();
        Some(Arc::new(counts))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        let counts: UInt64Array = self.segments.iter().map(|s| Some(s.rows)).collect();
        Some(Arc::new(counts))
    }

    fn contained(&self, _column: &Column, _values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    #[test]
    fn zone_maps_capture_bounds_and_nulls() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("c1", DataType::Int32, true),
            Field::new("c2", DataType::Utf8, true),
        ]));
        let long = "x".repeat(100);
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![Some(5), None, Some(-3)])),
                Arc::new(StringArray::from(vec!["b", "a", long.as_str()])),
            ],
        )
        .unwrap();
        let zones = compute_zone_maps(&batch, &[1, 2]).unwrap();
        assert_eq!(zones[0].min, Some(ZoneValue::Int(-3)));
        assert_eq!(zones[0].max, Some(ZoneValue::Int(5)));
        assert_eq!(zones[0].null_count, 1);
        assert_eq!(zones[1].min, Some(ZoneValue::Str("a".into())));
        // The maximum is the 100-byte string: too long to keep, so it is unknown.
        assert_eq!(zones[1].max, None);
        assert_eq!(ZoneValue::Str("ab".into()).as_block_value(), 0x6162_0000_0000_0000);
    }
}
