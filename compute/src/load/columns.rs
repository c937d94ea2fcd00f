//! The columns of the batch a load is filling: each converted field is appended to its column
//! as soon as it is converted, and a row rejected partway is dropped from every column again.
//!
//! Arrow's builders cannot drop values once appended, so an earlier design converted a whole row
//! into an enum per field first and appended the row only when all of it had converted. Moving
//! each 32-byte value through memory twice stalled on store forwarding, about a tenth of parsing
//! a CSV file. These columns are plain vectors with a validity builder, which can be cut back.

use std::sync::Arc;

use arrow::array::builder::{BooleanBufferBuilder, NullBufferBuilder};
use arrow::array::{ArrayData, ArrayRef, BooleanArray, RecordBatch, StringArray, make_array};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{ArrowNativeType, DataType, SchemaRef};

use super::convert::ColumnKind;
use super::{BATCH_ROWS, LoadSpec};

/// Text bytes per value a batch's columns first make room for; later batches make room for what
/// the batch before them held.
const TEXT_BYTES_GUESS: usize = 16;

/// A batch ends early once a text column holds this much: Arrow's string offsets are `i32`, and
/// a row adds at most 64 KB to a column (VARCHAR's limit), so a column never reaches 2 GB.
const TEXT_BATCH_BYTES: usize = 1 << 30;

/// The rows converted so far, column by column.
pub struct Batcher {
    schema: SchemaRef,
    columns: Vec<Column>,
    /// Complete rows: a row being converted has appended to some columns only.
    rows: usize,
}

impl Batcher {
    pub fn new(spec: &LoadSpec) -> Batcher {
        let schema = spec.schema();
        let columns = spec
            .columns
            .iter()
            .map(|c| Column::new(c.kind, BATCH_ROWS * TEXT_BYTES_GUESS))
            .collect();
        Batcher { schema, columns, rows: 0 }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the batch should end here: it has [`BATCH_ROWS`] rows, or a text column is near
    /// what its offsets can address.
    pub fn is_full(&self) -> bool {
        self.rows >= BATCH_ROWS
            || self.columns.iter().any(|c| matches!(&c.values, Values::Text { bytes, .. } if bytes.len() >= TEXT_BATCH_BYTES))
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Where the field of column `index` of the row being converted goes.
    pub fn column(&mut self, index: usize) -> &mut Column {
        &mut self.columns[index]
    }

    /// The `rows` being converted are complete: every column holds their values.
    pub fn end_rows(&mut self, rows: usize) {
        self.rows += rows;
    }

    /// The rows being converted were rejected: the values they appended are dropped.
    pub fn drop_partial(&mut self) {
        let rows = self.rows;
        self.columns.iter_mut().for_each(|column| column.truncate(rows));
    }

    /// The complete rows as a batch. The columns start over with room for a full batch, so they
    /// never grow (and copy) value by value: a load fills millions of rows.
    pub fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), columns).expect("columns match the schema")
    }
}

/// One column's values, typed, so appending a value is a match rather than a chain of downcasts:
/// it runs for every field of a load.
pub struct Column {
    kind: ColumnKind,
    values: Values,
    validity: NullBufferBuilder,
}

enum Values {
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    /// BIGINT, and the microseconds of TIMESTAMP, TIMESTAMPTZ and TIME.
    Int64(Vec<i64>),
    Decimal(Vec<i128>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    Boolean(BooleanBufferBuilder),
    /// UTF-8 bytes end to end, and where each value ends (after a leading 0).
    Text { bytes: Vec<u8>, offsets: Vec<i32> },
    Date(Vec<i32>),
}

impl Column {
    /// A column with room for a batch of [`BATCH_ROWS`] values (and `text_bytes` of text).
    fn new(kind: ColumnKind, text_bytes: usize) -> Column {
        let rows = BATCH_ROWS;
        let values = match kind {
            ColumnKind::SmallInt => Values::Int16(Vec::with_capacity(rows)),
            ColumnKind::Integer => Values::Int32(Vec::with_capacity(rows)),
            ColumnKind::BigInt | ColumnKind::Timestamp | ColumnKind::Timestamptz | ColumnKind::Time => {
                Values::Int64(Vec::with_capacity(rows))
            }
            ColumnKind::Decimal { .. } => Values::Decimal(Vec::with_capacity(rows)),
            ColumnKind::Real => Values::Float32(Vec::with_capacity(rows)),
            ColumnKind::Double => Values::Float64(Vec::with_capacity(rows)),
            ColumnKind::Boolean => Values::Boolean(BooleanBufferBuilder::new(rows)),
            ColumnKind::Char(_) | ColumnKind::Varchar(_) => {
                let mut offsets = Vec::with_capacity(rows + 1);
                offsets.push(0);
                Values::Text {
                    bytes: Vec::with_capacity(text_bytes),
                    offsets,
                }
            }
            ColumnKind::Date => Values::Date(Vec::with_capacity(rows)),
        };
        Column {
            kind,
            values,
            validity: NullBufferBuilder::new(rows),
        }
    }

    pub fn push_null(&mut self) {
        self.validity.append_null();
        match &mut self.values {
            Values::Int16(v) => v.push(0),
            Values::Int32(v) | Values::Date(v) => v.push(0),
            Values::Int64(v) => v.push(0),
            Values::Decimal(v) => v.push(0),
            Values::Float32(v) => v.push(0.0),
            Values::Float64(v) => v.push(0.0),
            Values::Boolean(v) => v.append(false),
            Values::Text { bytes, offsets } => offsets.push(i32::try_from(bytes.len()).expect("batches end before their text outgrows i32 offsets")),
        }
    }

    /// An integer already checked to fit the column's type.
    pub fn push_int(&mut self, value: i64) {
        self.validity.append_non_null();
        match &mut self.values {
            Values::Int16(v) => v.push(value as i16),
            Values::Int32(v) => v.push(value as i32),
            Values::Int64(v) => v.push(value),
            _ => unreachable!("an integer for a column of {:?}", self.kind),
        }
    }

    pub fn push_decimal(&mut self, value: i128) {
        self.validity.append_non_null();
        let Values::Decimal(v) = &mut self.values else { unreachable!("a decimal for a column of {:?}", self.kind) };
        v.push(value);
    }

    pub fn push_float(&mut self, value: f64) {
        self.validity.append_non_null();
        match &mut self.values {
            Values::Float32(v) => v.push(value as f32),
            Values::Float64(v) => v.push(value),
            _ => unreachable!("a float for a column of {:?}", self.kind),
        }
    }

    pub fn push_bool(&mut self, value: bool) {
        self.validity.append_non_null();
        let Values::Boolean(v) = &mut self.values else { unreachable!("a boolean for a column of {:?}", self.kind) };
        v.append(value);
    }

    pub fn push_text(&mut self, value: &str) {
        self.validity.append_non_null();
        let Values::Text { bytes, offsets } = &mut self.values else { unreachable!("text for a column of {:?}", self.kind) };
        bytes.extend_from_slice(value.as_bytes());
        offsets.push(i32::try_from(bytes.len()).expect("batches end before their text outgrows i32 offsets"));
    }

    /// Days since 1970-01-01.
    pub fn push_date(&mut self, value: i32) {
        self.validity.append_non_null();
        let Values::Date(v) = &mut self.values else { unreachable!("a date for a column of {:?}", self.kind) };
        v.push(value);
    }

    /// Microseconds: since the epoch for timestamps, since midnight for times.
    pub fn push_micros(&mut self, value: i64) {
        self.validity.append_non_null();
        let Values::Int64(v) = &mut self.values else { unreachable!("microseconds for a column of {:?}", self.kind) };
        v.push(value);
    }

    fn truncate(&mut self, rows: usize) {
        self.validity.truncate(rows);
        match &mut self.values {
            Values::Int16(v) => v.truncate(rows),
            Values::Int32(v) | Values::Date(v) => v.truncate(rows),
            Values::Int64(v) => v.truncate(rows),
            Values::Decimal(v) => v.truncate(rows),
            Values::Float32(v) => v.truncate(rows),
            Values::Float64(v) => v.truncate(rows),
            Values::Boolean(v) => v.truncate(rows),
            Values::Text { bytes, offsets } => {
                offsets.truncate(rows + 1);
                bytes.truncate(offsets[rows] as usize);
            }
        }
    }

    /// The values as an array; the column starts over, empty.
    fn finish(&mut self) -> ArrayRef {
        let text_bytes = match &self.values {
            Values::Text { bytes, .. } => bytes.len() + bytes.len() / 8,
            _ => 0,
        };
        let data_type = self.kind.arrow_type();
        let Column { values, mut validity, .. } = std::mem::replace(self, Column::new(self.kind, text_bytes));
        let nulls = validity.finish();
        match values {
            Values::Int16(v) => primitive(data_type, v, nulls),
            Values::Int32(v) | Values::Date(v) => primitive(data_type, v, nulls),
            Values::Int64(v) => primitive(data_type, v, nulls),
            Values::Decimal(v) => primitive(data_type, v, nulls),
            Values::Float32(v) => primitive(data_type, v, nulls),
            Values::Float64(v) => primitive(data_type, v, nulls),
            Values::Boolean(mut v) => Arc::new(BooleanArray::new(v.finish(), nulls)),
            Values::Text { bytes, offsets } => {
                // SAFETY: the offsets start at 0 and only grow, each ending a value appended as a
                // whole `&str`, so the bytes between two offsets are valid UTF-8.
                let offsets = unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)) };
                Arc::new(unsafe { StringArray::new_unchecked(offsets, Buffer::from_vec(bytes), nulls) })
            }
        }
    }
}

fn primitive<T: ArrowNativeType>(data_type: DataType, values: Vec<T>, nulls: Option<NullBuffer>) -> ArrayRef {
    let data = ArrayData::builder(data_type)
        .len(values.len())
        .nulls(nulls)
        .add_buffer(Buffer::from_vec(values));
    make_array(data.build().expect("a primitive column's buffers match its type"))
}
