//! Building a system table's result row by row.
//!
//! Catalog tables have many columns of a few PostgreSQL types; writing each as a typed Arrow
//! builder would drown the few lines that say where a value comes from. A [`Rows`] takes rows of
//! [`ScalarValue`]s (untyped NULLs allowed) and turns them into one batch of the declared schema.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, new_empty_array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;

use crate::error::Result;

/// PostgreSQL's `oid`, `regproc` and `xid`.
pub const OID: DataType = DataType::UInt32;
/// `name`, `text`, `"char"`, `varchar`: all text.
pub const TEXT: DataType = DataType::Utf8;
pub const INT2: DataType = DataType::Int16;
pub const INT4: DataType = DataType::Int32;
pub const INT8: DataType = DataType::Int64;
pub const BOOL: DataType = DataType::Boolean;
pub const FLOAT4: DataType = DataType::Float32;
pub const FLOAT8: DataType = DataType::Float64;
/// Bytes in the megabyte of Redshift's `*_mb` and `*_mega_bytes` columns.
pub const MB: f64 = 1024.0 * 1024.0;
pub const TIMESTAMP: DataType = DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None);
/// `int2[]` (`pg_constraint.conkey`). A list type cannot be written in a constant, so this
/// marker stands for it in column lists and [`schema`] puts the list type in its place.
pub const INT2_ARRAY: DataType = DataType::FixedSizeBinary(-2);
/// `text[]` (`pg_class.reloptions`), a marker like [`INT2_ARRAY`].
pub const TEXT_ARRAY: DataType = DataType::FixedSizeBinary(-3);

/// A schema of nullable columns.
pub fn schema(columns: &[(&str, DataType)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, data_type)| {
                let data_type = match data_type {
                    d if *d == INT2_ARRAY => DataType::new_list(INT2, true),
                    d if *d == TEXT_ARRAY => DataType::new_list(TEXT, true),
                    d => d.clone(),
                };
                Field::new(*name, data_type, true)
            })
            .collect::<Vec<_>>(),
    ))
}

pub struct Rows {
    schema: SchemaRef,
    rows: Vec<Vec<ScalarValue>>,
}

impl Rows {
    pub fn new(schema: SchemaRef) -> Rows {
        Rows { schema, rows: Vec::new() }
    }

    /// Adds a row; values are cast to the column types (so `ScalarValue::Null` and nearby types
    /// such as `Int64` for an `int4` column are fine).
    pub fn push(&mut self, row: Vec<ScalarValue>) {
        debug_assert_eq!(row.len(), self.schema.fields().len(), "row width of {:?}", self.schema);
        self.rows.push(row);
    }

    pub fn finish(self) -> Result<RecordBatch> {
        let columns = self
            .schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| {
                if self.rows.is_empty() {
                    return Ok(new_empty_array(field.data_type()));
                }
                let values = self
                    .rows
                    .iter()
                    .map(|row| row[i].cast_to(field.data_type()))
                    .collect::<datafusion::common::Result<Vec<_>>>()?;
                Ok(ScalarValue::iter_to_array(values)?)
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok(RecordBatch::try_new(self.schema, columns)?)
    }
}

/// Short constructors for row values.
pub fn text(value: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(value.into()))
}

/// The value of a Redshift char(`n`) column: `value`'s first `n` characters. (Redshift pads such
/// columns; clients trim the padding, so values are stored unpadded.)
pub fn char_n(value: &str, n: usize) -> ScalarValue {
    text(value.chars().take(n).collect::<String>())
}

pub fn opt_text(value: Option<impl Into<String>>) -> ScalarValue {
    ScalarValue::Utf8(value.map(Into::into))
}

pub fn oid(value: u32) -> ScalarValue {
    ScalarValue::UInt32(Some(value))
}

pub fn int(value: i64) -> ScalarValue {
    ScalarValue::Int64(Some(value))
}

pub fn boolean(value: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(value))
}

pub fn float(value: f64) -> ScalarValue {
    ScalarValue::Float64(Some(value))
}

pub const NULL: ScalarValue = ScalarValue::Null;

/// A `text[]` value.
pub fn text_array(values: impl IntoIterator<Item = String>) -> ScalarValue {
    let values: Vec<ScalarValue> = values.into_iter().map(|v| ScalarValue::Utf8(Some(v))).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &TEXT))
}

/// An `int2[]` value.
pub fn int2_array(values: impl IntoIterator<Item = i16>) -> ScalarValue {
    let values: Vec<ScalarValue> = values.into_iter().map(|v| ScalarValue::Int16(Some(v))).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &INT2))
}
