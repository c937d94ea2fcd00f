//! Converting text fields into column values with Redshift's COPY rules: NULL AS, EMPTYASNULL,
//! BLANKSASNULL, TRIMBLANKS, TRUNCATECOLUMNS, date and time formats, and the STL_LOAD_ERRORS code
//! (1204 overflow, 1205 date, 1206 timestamp, 1207 digit, 1208 float, 1209 decimal, 1210 boolean,
//! 1213 NOT NULL) with a reason naming the value when a field does not fit its column.
//!
//! A row's fields are all converted before any is appended, so a rejected row leaves no partial
//! values behind in the column builders.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, AsArray, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder,
    Int16Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::compute::kernels::cast_utils::parse_decimal;
use arrow::datatypes::{DataType, Decimal128Type, SchemaRef, TimeUnit};

use super::datetime::Formats;
use super::{BATCH_ROWS, LoadSpec};

/// Timestamps with a time zone are stored in UTC, marked with this zone (as the catalog does).
pub const UTC: &str = "+00:00";

/// A column's type, as far as loading cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ColumnKind {
    SmallInt,
    Integer,
    BigInt,
    Decimal { precision: u8, scale: i8 },
    Real,
    Double,
    Boolean,
    Char(u32),
    Varchar(u32),
    Date,
    Timestamp,
    Timestamptz,
    Time,
}

impl ColumnKind {
    pub fn arrow_type(&self) -> DataType {
        match self {
            ColumnKind::SmallInt => DataType::Int16,
            ColumnKind::Integer => DataType::Int32,
            ColumnKind::BigInt => DataType::Int64,
            ColumnKind::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            ColumnKind::Real => DataType::Float32,
            ColumnKind::Double => DataType::Float64,
            ColumnKind::Boolean => DataType::Boolean,
            ColumnKind::Char(_) | ColumnKind::Varchar(_) => DataType::Utf8,
            ColumnKind::Date => DataType::Date32,
            ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnKind::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            ColumnKind::Time => DataType::Time64(TimeUnit::Microsecond),
        }
    }

    /// STL_LOAD_ERRORS' `type` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            ColumnKind::SmallInt => "int2",
            ColumnKind::Integer => "int4",
            ColumnKind::BigInt => "int8",
            ColumnKind::Decimal { .. } => "numeric",
            ColumnKind::Real => "float4",
            ColumnKind::Double => "float8",
            ColumnKind::Boolean => "bool",
            ColumnKind::Char(_) => "char",
            ColumnKind::Varchar(_) => "varchar",
            ColumnKind::Date => "date",
            ColumnKind::Timestamp => "timestamp",
            ColumnKind::Timestamptz => "timestamptz",
            ColumnKind::Time => "time",
        }
    }

    /// STL_LOAD_ERRORS' `col_length` value.
    pub fn length(&self) -> String {
        match self {
            ColumnKind::Char(n) | ColumnKind::Varchar(n) => n.to_string(),
            ColumnKind::Decimal { precision, scale } => format!("{precision},{scale}"),
            _ => "0".into(),
        }
    }

    fn is_character(&self) -> bool {
        matches!(self, ColumnKind::Char(_) | ColumnKind::Varchar(_))
    }
}

/// A converted field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Decimal(i128),
    Float(f64),
    Bool(bool),
    /// Where the value is in the row's text buffer: a row's text values share one buffer,
    /// reused row after row, rather than allocating a string each.
    Text(Range<usize>),
    Date(i32),
    Micros(i64),
}

/// Why a field could not be converted: an STL_LOAD_ERRORS code and reason.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub code: i32,
    pub reason: String,
}

fn field_error(code: i32, reason: impl Into<String>) -> FieldError {
    FieldError {
        code,
        reason: reason.into(),
    }
}

/// Converts fields for one load.
pub struct Converter<'a> {
    spec: &'a LoadSpec,
    formats: Formats,
}

impl<'a> Converter<'a> {
    pub fn new(spec: &'a LoadSpec) -> Result<Converter<'a>, String> {
        let options = &spec.options;
        Ok(Converter {
            spec,
            formats: Formats::new(options.date_format.as_deref(), options.time_format.as_deref())?,
        })
    }

    /// Converts `field` for column `index`. `None` is a missing value (SQL NULL); text fields pass
    /// through NULL AS and the empty/blank rules first when `text_nulls` is set. A text value is
    /// appended to `texts`, the row's text buffer.
    pub fn convert(&self, index: usize, field: Option<&str>, text_nulls: bool, texts: &mut String) -> Result<Value, FieldError> {
        let column = &self.spec.columns[index];
        let options = &self.spec.options;
        let value = match field {
            None => None,
            Some(f) if text_nulls && f == options.null_as => None,
            Some(f) if options.blanks_as_null && f.trim().is_empty() => None,
            Some("") if !column.kind.is_character() || options.empty_as_null => None,
            Some(f) => Some(f),
        };
        let Some(text) = value else {
            if column.not_null {
                return Err(field_error(1213, format!("Missing data for not-null field {}", column.name)));
            }
            return Ok(Value::Null);
        };
        self.parse(column.kind, text, texts)
    }

    fn parse(&self, kind: ColumnKind, text: &str, texts: &mut String) -> Result<Value, FieldError> {
        // Text columns keep their blanks (fit_text applies TRIMBLANKS): no trimming for them.
        let trimmed = if kind.is_character() { text } else { trim(text) };
        let invalid = |code: i32, what: &str| field_error(code, format!("Invalid {what}, Value '{text}'"));
        match kind {
            ColumnKind::SmallInt | ColumnKind::Integer | ColumnKind::BigInt => {
                let (min, max) = match kind {
                    ColumnKind::SmallInt => (i64::from(i16::MIN), i64::from(i16::MAX)),
                    ColumnKind::Integer => (i64::from(i32::MIN), i64::from(i32::MAX)),
                    _ => (i64::MIN, i64::MAX),
                };
                match trimmed.parse::<i64>() {
                    Ok(v) if (min..=max).contains(&v) => Ok(Value::Int(v)),
                    Ok(_) => Err(field_error(1204, format!("Overflow for type {}, Value '{text}'", kind.type_name()))),
                    Err(e) if matches!(e.kind(), std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow) => {
                        Err(field_error(1204, format!("Overflow for type {}, Value '{text}'", kind.type_name())))
                    }
                    Err(_) => Err(invalid(1207, "digit")),
                }
            }
            ColumnKind::Decimal { precision, scale } => plain_decimal(trimmed.as_bytes(), precision, scale)
                .map_or_else(|| parse_decimal::<Decimal128Type>(trimmed, precision, scale), Ok)
                .map(Value::Decimal)
                .map_err(|e| {
                    if e.to_string().contains("precision") || e.to_string().contains("too large") {
                        field_error(1204, format!("Numeric overflow for numeric({precision},{scale}), Value '{text}'"))
                    } else {
                        invalid(1209, "numeric")
                    }
                }),
            ColumnKind::Real | ColumnKind::Double => trimmed
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| invalid(1208, "float")),
            ColumnKind::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "t" | "true" | "1" | "y" | "yes" | "on" => Ok(Value::Bool(true)),
                "f" | "false" | "0" | "n" | "no" | "off" => Ok(Value::Bool(false)),
                _ => Err(invalid(1210, "boolean")),
            },
            ColumnKind::Char(length) | ColumnKind::Varchar(length) => self.fit_text(kind, length, text, texts),
            ColumnKind::Date => self
                .formats
                .date(trimmed)
                .map(Value::Date)
                .ok_or_else(|| invalid(1205, "date format")),
            ColumnKind::Timestamp | ColumnKind::Timestamptz => self
                .formats
                .timestamp(trimmed)
                .map(Value::Micros)
                .ok_or_else(|| invalid(1206, "timestamp format")),
            ColumnKind::Time => self
                .formats
                .time(trimmed)
                .map(Value::Micros)
                .ok_or_else(|| invalid(1206, "time format")),
        }
    }

    /// Applies TRIMBLANKS, CHAR's trailing blanks and the byte length (TRUNCATECOLUMNS cuts at
    /// the last whole character that fits).
    fn fit_text(&self, kind: ColumnKind, length: u32, text: &str, texts: &mut String) -> Result<Value, FieldError> {
        let options = &self.spec.options;
        let mut value = if options.trim_blanks || matches!(kind, ColumnKind::Char(_)) {
            text.trim_end_matches(' ')
        } else {
            text
        };
        let max = length as usize;
        if value.len() > max {
            if !options.truncate_columns {
                return Err(field_error(
                    1204,
                    format!("String length exceeds DDL length: {} bytes > {max}, Value '{text}'", value.len()),
                ));
            }
            let mut end = max;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value = &value[..end];
        }
        let start = texts.len();
        texts.push_str(value);
        Ok(Value::Text(start..texts.len()))
    }
}

/// `text` without leading and trailing whitespace. Nearly every field has none, and looking at
/// its two ends is far cheaper than `str::trim`, which measured 3% of parsing a CSV file.
fn trim(text: &str) -> &str {
    // Whitespace is a space, a control character or a multi-byte one: none is ASCII-graphic.
    let maybe_blank = |b: Option<&u8>| b.is_some_and(|b| !b.is_ascii_graphic());
    if maybe_blank(text.as_bytes().first()) || maybe_blank(text.as_bytes().last()) {
        text.trim()
    } else {
        text
    }
}

/// `[-]digits[.digits]` with at most `scale` fraction digits and no more integer digits than the
/// precision leaves room for: the form nearly every decimal field has, read without arrow's
/// general parser. Anything else is `None` and takes the general path, which owns rounding,
/// exponents and the errors.
fn plain_decimal(text: &[u8], precision: u8, scale: i8) -> Option<i128> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let scale = usize::try_from(scale).ok()?;
    let (whole, fraction) = match memchr::memchr(b'.', digits) {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    let dotted = whole.len() < digits.len();
    if whole.is_empty() || whole.len() + scale > usize::from(precision) || fraction.len() > scale || (dotted && fraction.is_empty()) {
        return None;
    }
    let mut value: i128 = 0;
    for &digit in whole.iter().chain(fraction) {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i128::from(digit - b'0');
    }
    value *= 10i128.pow((scale - fraction.len()) as u32);
    Some(if negative { -value } else { value })
}

/// Appends converted rows to Arrow builders of the target columns.
pub struct Batcher {
    schema: SchemaRef,
    kinds: Vec<ColumnKind>,
    builders: Vec<ColumnBuilder>,
    rows: usize,
}

/// Text bytes per value a batch's builders first make room for; later batches make room for
/// what the batch before them held.
const TEXT_BYTES_GUESS: usize = 16;

impl Batcher {
    pub fn new(spec: &LoadSpec) -> Batcher {
        let kinds: Vec<ColumnKind> = spec.columns.iter().map(|c| c.kind).collect();
        let builders = kinds.iter().map(|kind| ColumnBuilder::new(*kind, BATCH_ROWS * TEXT_BYTES_GUESS)).collect();
        Batcher {
            schema: spec.schema(),
            kinds,
            builders,
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends a row whose text values are ranges of `texts`.
    pub fn push(&mut self, values: &[Value], texts: &str) {
        for (builder, value) in self.builders.iter_mut().zip(values) {
            builder.append(value, texts);
        }
        self.rows += 1;
    }

    /// The rows pushed so far, as a batch. The builders start over with room for a full batch,
    /// so they never grow (and copy) value by value: a load fills millions of rows.
    pub fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .zip(&self.kinds)
            .map(|(builder, kind)| {
                let column = builder.as_builder().finish();
                let text_bytes = column.as_string_opt::<i32>().map_or(0, |texts| texts.value_data().len());
                *builder = ColumnBuilder::new(*kind, text_bytes + text_bytes / 8);
                column
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), columns).expect("builders match the schema")
    }
}

/// One column's builder, typed, so appending a value is a match rather than a chain of
/// downcasts: it runs for every field of a load.
enum ColumnBuilder {
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Decimal(Decimal128Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Text(StringBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Time(Time64MicrosecondBuilder),
}

impl ColumnBuilder {
    /// A builder with room for a batch of [`BATCH_ROWS`] values (and `text_bytes` of text).
    fn new(kind: ColumnKind, text_bytes: usize) -> ColumnBuilder {
        let rows = BATCH_ROWS;
        match kind {
            ColumnKind::SmallInt => ColumnBuilder::Int16(Int16Builder::with_capacity(rows)),
            ColumnKind::Integer => ColumnBuilder::Int32(Int32Builder::with_capacity(rows)),
            ColumnKind::BigInt => ColumnBuilder::Int64(Int64Builder::with_capacity(rows)),
            ColumnKind::Decimal { precision, scale } => ColumnBuilder::Decimal(
                Decimal128Builder::with_capacity(rows)
                    .with_precision_and_scale(precision, scale)
                    .expect("valid decimal type"),
            ),
            ColumnKind::Real => ColumnBuilder::Float32(Float32Builder::with_capacity(rows)),
            ColumnKind::Double => ColumnBuilder::Float64(Float64Builder::with_capacity(rows)),
            ColumnKind::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(rows)),
            ColumnKind::Char(_) | ColumnKind::Varchar(_) => ColumnBuilder::Text(StringBuilder::with_capacity(rows, text_bytes)),
            ColumnKind::Date => ColumnBuilder::Date(Date32Builder::with_capacity(rows)),
            ColumnKind::Timestamp => ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows)),
            ColumnKind::Timestamptz => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone(UTC))
            }
            ColumnKind::Time => ColumnBuilder::Time(Time64MicrosecondBuilder::with_capacity(rows)),
        }
    }

    /// Appends `value` (converted for this column, or NULL).
    fn append(&mut self, value: &Value, texts: &str) {
        match self {
            ColumnBuilder::Int16(b) => b.append_option(int(value).map(|v| v as i16)),
            ColumnBuilder::Int32(b) => b.append_option(int(value).map(|v| v as i32)),
            ColumnBuilder::Int64(b) => b.append_option(int(value)),
            ColumnBuilder::Decimal(b) => b.append_option(if let Value::Decimal(v) = value { Some(*v) } else { None }),
            ColumnBuilder::Float32(b) => b.append_option(if let Value::Float(v) = value { Some(*v as f32) } else { None }),
            ColumnBuilder::Float64(b) => b.append_option(if let Value::Float(v) = value { Some(*v) } else { None }),
            ColumnBuilder::Boolean(b) => b.append_option(if let Value::Bool(v) = value { Some(*v) } else { None }),
            ColumnBuilder::Text(b) => b.append_option(if let Value::Text(r) = value { Some(&texts[r.clone()]) } else { None }),
            ColumnBuilder::Date(b) => b.append_option(if let Value::Date(v) = value { Some(*v) } else { None }),
            ColumnBuilder::Timestamp(b) => b.append_option(micros(value)),
            ColumnBuilder::Time(b) => b.append_option(micros(value)),
        }
    }

    fn as_builder(&mut self) -> &mut dyn ArrayBuilder {
        match self {
            ColumnBuilder::Int16(b) => b,
            ColumnBuilder::Int32(b) => b,
            ColumnBuilder::Int64(b) => b,
            ColumnBuilder::Decimal(b) => b,
            ColumnBuilder::Float32(b) => b,
            ColumnBuilder::Float64(b) => b,
            ColumnBuilder::Boolean(b) => b,
            ColumnBuilder::Text(b) => b,
            ColumnBuilder::Date(b) => b,
            ColumnBuilder::Timestamp(b) => b,
            ColumnBuilder::Time(b) => b,
        }
    }
}

fn int(value: &Value) -> Option<i64> {
    if let Value::Int(v) = value { Some(*v) } else { None }
}

fn micros(value: &Value) -> Option<i64> {
    if let Value::Micros(v) = value { Some(*v) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_match_the_general_parser() {
        let cases = [
            ("0", 15, 2, Some(0)),
            ("12", 15, 2, Some(1200)),
            ("12.5", 15, 2, Some(1250)),
            ("-12.05", 15, 2, Some(-1205)),
            ("0.07", 15, 2, Some(7)),
            ("-0.00", 15, 2, Some(0)),
            ("1234567890123.45", 15, 2, Some(123_456_789_012_345)),
            ("7", 5, 0, Some(7)),
            ("-99999", 5, 0, Some(-99_999)),
        ];
        for (text, precision, scale, expected) in cases {
            assert_eq!(plain_decimal(text.as_bytes(), precision, scale), expected, "{text}");
            assert_eq!(parse_decimal::<Decimal128Type>(text, precision, scale).ok(), expected, "{text}");
        }
    }

    #[test]
    fn unusual_decimals_take_the_general_path() {
        // Rounding, exponents, signs, missing digits, too many digits and junk: the general
        // parser decides these (and names the error).
        for text in ["1.234", "1e3", "+5", ".5", "5.", "-", "", "1.2.3", "12a", "12345678901234", "1 2", "--1"] {
            assert_eq!(plain_decimal(text.as_bytes(), 15, 2), None, "{text}");
        }
        assert_eq!(plain_decimal(b"100000", 5, 0), None);
        assert_eq!(plain_decimal(b"0.5", 2, 2), None);
        assert_eq!(plain_decimal(b"5", 5, -1), None);
    }
}
