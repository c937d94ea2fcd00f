//! Arrow values as PostgreSQL sees them: type OIDs, and the text and binary wire formats.
//!
//! Text output follows PostgreSQL's (ISO dates, `t`/`f`, `Infinity`, floats with
//! `extra_float_digits`), because psql users and drivers parse it.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::{can_cast_types, cast};
use arrow::datatypes::{
    DataType, Date32Type, Schema, Decimal128Type, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
    DurationSecondType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, IntervalMonthDayNano,
    IntervalMonthDayNanoType, IntervalUnit, Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::{BufMut, BytesMut};
use pgwire::api::Type;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::messages::data::DataRow;

use crate::error::{Error, Result};

/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (PostgreSQL's).
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The PostgreSQL type a column of `data_type` is reported as.
pub fn pg_type(data_type: &DataType) -> Type {
    match data_type {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 => Type::INT8,
        // Only catalog OIDs are unsigned 32-bit.
        DataType::UInt32 => Type::OID,
        DataType::UInt64 | DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => Type::NUMERIC,
        DataType::Float16 | DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Type::VARCHAR,
        DataType::Date32 | DataType::Date64 => Type::DATE,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        DataType::Time32(_) | DataType::Time64(_) => Type::TIME,
        DataType::Interval(_) | DataType::Duration(_) => Type::INTERVAL,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Type::BYTEA,
        DataType::List(element) | DataType::LargeList(element) => array_type(&pg_type(element.data_type())),
        DataType::Null => Type::TEXT,
        _ => Type::TEXT,
    }
}

/// The array type of `element`; text (an array's text form) for elements without one.
fn array_type(element: &Type) -> Type {
    match *element {
        Type::BOOL => Type::BOOL_ARRAY,
        Type::INT2 => Type::INT2_ARRAY,
        Type::INT4 => Type::INT4_ARRAY,
        Type::INT8 => Type::INT8_ARRAY,
        Type::OID => Type::OID_ARRAY,
        Type::NUMERIC => Type::NUMERIC_ARRAY,
        Type::FLOAT4 => Type::FLOAT4_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::VARCHAR => Type::TEXT_ARRAY,
        Type::DATE => Type::DATE_ARRAY,
        Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
        Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
        _ => Type::TEXT,
    }
}

/// RowDescription's type modifier: declared length or precision where the type has one.
fn type_modifier(data_type: &DataType) -> i32 {
    match data_type {
        DataType::Decimal128(p, s) => ((i32::from(*p) << 16) | (i32::from(*s) & 0xffff)) + 4,
        _ => -1,
    }
}

fn type_size(t: &Type) -> i16 {
    match *t {
        Type::BOOL => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::FLOAT4 | Type::DATE | Type::OID => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        _ => -1,
    }
}

/// Column descriptions for a result schema; `formats` gives each column's format code.
pub fn field_infos(schema: &Schema, format: impl Fn(usize) -> FieldFormat) -> Vec<FieldInfo> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let t = pg_type(field.data_type());
            let name = crate::sql::column_names::display_name(field.name()).to_string();
            // A computed column has no table: PostgreSQL sends 0 for both.
            let (table, column) = crate::planner::lineage::source(field).map_or((0, 0), |(oid, n)| (oid as i32, n));
            FieldInfo::new(name, Some(table), Some(column), t.clone(), format(i))
                .with_type_modifier(type_modifier(field.data_type()))
                .with_type_size(type_size(&t))
        })
        .collect()
}

/// An array value in PostgreSQL's text form: `{a,b,NULL}`, elements quoted when needed.
fn format_array(values: &ArrayRef, float_digits: i32) -> Result<String> {
    let encoder = ColumnEncoder::new(values, FieldFormat::Text, float_digits)?;
    let mut parts = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        if values.is_null(i) {
            parts.push("NULL".to_string());
            continue;
        }
        let mut out = BytesMut::new();
        encoder.text_value(i, &mut out)?;
        let text = String::from_utf8_lossy(&out).into_owned();
        let plain = !text.is_empty() && !text.contains(['{', '}', ',', '"', '\\', ' ']) && !text.eq_ignore_ascii_case("null");
        parts.push(if plain { text } else { format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")) });
    }
    Ok(format!("{{{}}}", parts.join(",")))
}

/// Encodes every row of `batch` as a DataRow of the columns `schema` describes to the client.
pub fn encode_batch(batch: &RecordBatch, schema: &Schema, fields: &[FieldInfo], float_digits: i32) -> Result<Vec<DataRow>> {
    let arrays = conform(batch, schema)?;
    let columns: Vec<ColumnEncoder> = arrays
        .iter()
        .zip(fields)
        .map(|(array, field)| ColumnEncoder::new(array, field.format(), float_digits))
        .collect::<Result<_>>()?;
    let mut rows = Vec::with_capacity(batch.num_rows());
    let mut buffer = BytesMut::with_capacity(64 * columns.len());
    for row in 0..batch.num_rows() {
        for column in &columns {
            column.encode(row, &mut buffer)?;
        }
        rows.push(DataRow::new(buffer.split(), columns.len() as i16));
    }
    Ok(rows)
}

/// The batch's columns with the types the client was told. A statement described before its
/// parameters were bound can produce other types than described; a binary client would decode
/// such a value as the described type, so a column whose PostgreSQL type differs is cast. An
/// untyped (NULL) description or an impossible cast leaves the column as it is.
fn conform(batch: &RecordBatch, schema: &Schema) -> Result<Vec<ArrayRef>> {
    batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| {
            let (from, to) = (array.data_type(), field.data_type());
            if pg_type(from) == pg_type(to) || to.is_null() || !can_cast_types(from, to) {
                Ok(Arc::clone(array))
            } else {
                Ok(cast(array, to)?)
            }
        })
        .collect()
}

struct ColumnEncoder<'a> {
    array: &'a ArrayRef,
    binary: bool,
    float_digits: i32,
    fallback: Option<ArrayFormatter<'a>>,
}

impl<'a> ColumnEncoder<'a> {
    fn new(array: &'a ArrayRef, format: FieldFormat, float_digits: i32) -> Result<Self> {
        let fallback = if has_native_encoding(array.data_type()) {
            None
        } else {
            Some(ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?)
        };
        Ok(ColumnEncoder {
            array,
            binary: format == FieldFormat::Binary,
            float_digits,
            fallback,
        })
    }

    fn encode(&self, row: usize, out: &mut BytesMut) -> Result<()> {
        if self.array.is_null(row) {
            out.put_i32(-1);
            return Ok(());
        }
        let start = out.len();
        out.put_i32(0);
        if self.binary {
            self.binary_value(row, out)?;
        } else {
            self.text_value(row, out)?;
        }
        let len = (out.len() - start - 4) as i32;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    fn text_value(&self, row: usize, out: &mut BytesMut) -> Result<()> {
        let a = self.array;
        let text = match a.data_type() {
            DataType::Boolean => (if a.as_boolean().value(row) { "t" } else { "f" }).to_string(),
            DataType::Int8 => a.as_primitive::<Int8Type>().value(row).to_string(),
            DataType::Int16 => a.as_primitive::<Int16Type>().value(row).to_string(),
            DataType::Int32 => a.as_primitive::<Int32Type>().value(row).to_string(),
            DataType::Int64 => a.as_primitive::<Int64Type>().value(row).to_string(),
            DataType::UInt8 => a.as_primitive::<UInt8Type>().value(row).to_string(),
            DataType::UInt16 => a.as_primitive::<UInt16Type>().value(row).to_string(),
            DataType::UInt32 => a.as_primitive::<UInt32Type>().value(row).to_string(),
            DataType::UInt64 => a.as_primitive::<UInt64Type>().value(row).to_string(),
            DataType::Float32 => format_float(f64::from(a.as_primitive::<Float32Type>().value(row)), 6, self.float_digits),
            DataType::Float64 => format_float(a.as_primitive::<Float64Type>().value(row), 15, self.float_digits),
            DataType::Decimal128(_, scale) => format_decimal(a.as_primitive::<Decimal128Type>().value(row), *scale),
            DataType::Utf8 => return put_str(out, a.as_string::<i32>().value(row)),
            DataType::LargeUtf8 => return put_str(out, a.as_string::<i64>().value(row)),
            DataType::Utf8View => return put_str(out, a.as_string_view().value(row)),
            DataType::Date32 => format_date(a.as_primitive::<Date32Type>().value(row)),
            DataType::Timestamp(unit, tz) => {
                let micros = timestamp_micros(a, *unit, row);
                let mut text = format_timestamp(micros);
                if tz.is_some() {
                    text.push_str("+00");
                }
                text
            }
            DataType::Time64(TimeUnit::Microsecond) => format_time(a.as_primitive::<Time64MicrosecondType>().value(row)),
            DataType::Time64(TimeUnit::Nanosecond) => format_time(a.as_primitive::<Time64NanosecondType>().value(row) / 1_000),
            DataType::Interval(IntervalUnit::MonthDayNano) | DataType::Duration(_) => format_interval(interval_value(a, row)),
            DataType::List(_) => format_array(&a.as_list::<i32>().value(row), self.float_digits)?,
            _ => self
                .fallback
                .as_ref()
                .expect("fallback formatter for other types")
                .value(row)
                .to_string(),
        };
        put_str(out, &text)
    }

    fn binary_value(&self, row: usize, out: &mut BytesMut) -> Result<()> {
        let a = self.array;
        match a.data_type() {
            DataType::Boolean => out.put_u8(u8::from(a.as_boolean().value(row))),
            DataType::Int8 => out.put_i16(i16::from(a.as_primitive::<Int8Type>().value(row))),
            DataType::Int16 => out.put_i16(a.as_primitive::<Int16Type>().value(row)),
            DataType::UInt8 => out.put_i16(i16::from(a.as_primitive::<UInt8Type>().value(row))),
            DataType::Int32 => out.put_i32(a.as_primitive::<Int32Type>().value(row)),
            DataType::UInt16 => out.put_i32(i32::from(a.as_primitive::<UInt16Type>().value(row))),
            DataType::Int64 => out.put_i64(a.as_primitive::<Int64Type>().value(row)),
            DataType::UInt32 => out.put_u32(a.as_primitive::<UInt32Type>().value(row)),
            DataType::UInt64 => put_numeric(out, i128::from(a.as_primitive::<UInt64Type>().value(row)), 0),
            DataType::Float32 => out.put_f32(a.as_primitive::<Float32Type>().value(row)),
            DataType::Float64 => out.put_f64(a.as_primitive::<Float64Type>().value(row)),
            DataType::Decimal128(_, scale) => put_numeric(out, a.as_primitive::<Decimal128Type>().value(row), *scale),
            DataType::Date32 => out.put_i32(a.as_primitive::<Date32Type>().value(row) - PG_EPOCH_DAYS),
            DataType::Timestamp(unit, _) => out.put_i64(timestamp_micros(a, *unit, row) - PG_EPOCH_MICROS),
            DataType::Time64(TimeUnit::Microsecond) => out.put_i64(a.as_primitive::<Time64MicrosecondType>().value(row)),
            DataType::Time64(TimeUnit::Nanosecond) => out.put_i64(a.as_primitive::<Time64NanosecondType>().value(row) / 1_000),
            DataType::Interval(IntervalUnit::MonthDayNano) | DataType::Duration(_) => {
                let interval = interval_value(a, row);
                out.put_i64(interval.nanoseconds / 1_000);
                out.put_i32(interval.days);
                out.put_i32(interval.months);
            }
            DataType::Binary => out.put_slice(a.as_binary::<i32>().value(row)),
            DataType::LargeBinary => out.put_slice(a.as_binary::<i64>().value(row)),
            DataType::List(_) if pg_type(a.data_type()) != Type::TEXT => {
                self.binary_array(&a.as_list::<i32>().value(row), out)?
            }
            // Text-like and everything else: the text form is also the binary form of text types.
            _ => self.text_value(row, out)?,
        }
        Ok(())
    }
}

impl ColumnEncoder<'_> {
    /// A one-dimensional array in PostgreSQL's binary form: dimensions, a has-nulls flag, the
    /// element type, the length and lower bound 1, then each element as a binary value.
    fn binary_array(&self, values: &ArrayRef, out: &mut BytesMut) -> Result<()> {
        let dimensions = i32::from(!values.is_empty());
        out.put_i32(dimensions);
        out.put_i32(i32::from(values.null_count() > 0));
        out.put_u32(pg_type(values.data_type()).oid());
        if values.is_empty() {
            return Ok(());
        }
        out.put_i32(values.len() as i32);
        out.put_i32(1);
        let elements = ColumnEncoder::new(values, FieldFormat::Binary, self.float_digits)?;
        for i in 0..values.len() {
            elements.encode(i, out)?;
        }
        Ok(())
    }
}

fn has_native_encoding(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Date32
            | DataType::Timestamp(_, _)
            | DataType::Time64(TimeUnit::Microsecond | TimeUnit::Nanosecond)
            | DataType::Interval(IntervalUnit::MonthDayNano)
            | DataType::Duration(_)
    )
}

fn put_str(out: &mut BytesMut, s: &str) -> Result<()> {
    out.put_slice(s.as_bytes());
    Ok(())
}

fn timestamp_micros(a: &ArrayRef, unit: TimeUnit, row: usize) -> i64 {
    match unit {
        TimeUnit::Second => a.as_primitive::<TimestampSecondType>().value(row) * 1_000_000,
        TimeUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().value(row) * 1_000,
        TimeUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().value(row),
        TimeUnit::Nanosecond => a.as_primitive::<TimestampNanosecondType>().value(row) / 1_000,
    }
}

/// A float as PostgreSQL prints it: `digits` significant digits (15 for float8, 6 for float4)
/// plus `extra_float_digits`, or the shortest exact form when that is positive.
pub fn format_float(v: f64, digits: i32, extra: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    if extra > 0 {
        // Shortest round-trip digits, laid out like %g with enough precision to hold them.
        let shortest = if digits == 6 { format!("{:e}", v as f32) } else { format!("{v:e}") };
        let (mantissa, exponent) = shortest.split_once('e').expect("{:e} has an exponent");
        let significant = mantissa.chars().filter(|c| c.is_ascii_digit()).count() as i32;
        return format_g(v, significant.max(1), exponent.parse().unwrap_or(0), digits + 2);
    }
    let precision = (digits + extra).max(1);
    let exponent = v.abs().log10().floor() as i32;
    format_g(v, precision, exponent, precision)
}

/// C's `%.{precision}g`: fixed notation unless the exponent is below -4 or at least
/// `sci_threshold`; trailing zeros dropped.
fn format_g(v: f64, precision: i32, exponent_hint: i32, sci_threshold: i32) -> String {
    let sci = format!("{:.*e}", (precision - 1).max(0) as usize, v);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exp.parse().unwrap_or(exponent_hint);
    if exponent < -4 || exponent >= sci_threshold {
        let mantissa = trim_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let decimals = (precision - 1 - exponent).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

pub fn format_decimal(unscaled: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = unscaled.to_string();
        s.extend(std::iter::repeat_n('0', (-scale) as usize));
        return s;
    }
    let scale = scale as usize;
    let negative = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if negative { "-" } else { "" })
}

fn civil(days_since_epoch: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
    let z = days_since_epoch + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn format_year(y: i64) -> String {
    if y <= 0 {
        format!("{:04}", 1 - y)
    } else {
        format!("{y:04}")
    }
}

pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil(i64::from(days));
    let bc = if y <= 0 { " BC" } else { "" };
    format!("{}-{m:02}-{d:02}{bc}", format_year(y))
}

fn format_time_of_day(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let mut s = format!("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
    if frac != 0 {
        let f = format!("{frac:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

pub fn format_time(micros: i64) -> String {
    format_time_of_day(micros)
}

pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(86_400_000_000);
    let time = micros.rem_euclid(86_400_000_000);
    let (y, m, d) = civil(days);
    let bc = if y <= 0 { " BC" } else { "" };
    format!("{}-{m:02}-{d:02} {}{bc}", format_year(y), format_time_of_day(time))
}

/// The interval at `row` of an interval or duration column. A duration (what subtracting two
/// timestamps gives) is whole days and the time left over, as PostgreSQL's timestamp difference.
fn interval_value(a: &ArrayRef, row: usize) -> IntervalMonthDayNano {
    let nanos = match a.data_type() {
        DataType::Duration(TimeUnit::Second) => a.as_primitive::<DurationSecondType>().value(row).saturating_mul(1_000_000_000),
        DataType::Duration(TimeUnit::Millisecond) => a.as_primitive::<DurationMillisecondType>().value(row).saturating_mul(1_000_000),
        DataType::Duration(TimeUnit::Microsecond) => a.as_primitive::<DurationMicrosecondType>().value(row).saturating_mul(1_000),
        DataType::Duration(TimeUnit::Nanosecond) => a.as_primitive::<DurationNanosecondType>().value(row),
        _ => return a.as_primitive::<IntervalMonthDayNanoType>().value(row),
    };
    const NANOS_PER_DAY: i64 = 86_400_000_000_000;
    IntervalMonthDayNano::new(0, (nanos / NANOS_PER_DAY) as i32, nanos % NANOS_PER_DAY)
}

/// An interval as PostgreSQL prints it (IntervalStyle `postgres`): years, months and days as
/// words, then the time as `[-]HH:MM:SS[.ffffff]` (also when nothing else is there), with a `+`
/// on a positive part that follows a negative one: `1 year 2 mons`, `-1 days +12:00:00`.
pub fn format_interval(interval: IntervalMonthDayNano) -> String {
    let mut text = String::new();
    let mut negative_before = false;
    let (years, months) = (interval.months / 12, interval.months % 12);
    for (value, unit) in [(years, "year"), (months, "mon"), (interval.days, "day")] {
        if value == 0 {
            continue;
        }
        let sign = if negative_before && value > 0 { "+" } else { "" };
        let plural = if value == 1 { "" } else { "s" };
        text.push_str(&format!("{}{sign}{value} {unit}{plural}", if text.is_empty() { "" } else { " " }));
        negative_before = value < 0;
    }
    let micros = interval.nanoseconds / 1_000;
    if micros != 0 || text.is_empty() {
        let sign = if micros < 0 { "-" } else if negative_before { "+" } else { "" };
        let separator = if text.is_empty() { "" } else { " " };
        // Hours past 24 stay hours, as the time of day prints them; nanoseconds / 1000 cannot be
        // i64::MIN, so `abs` cannot overflow.
        text.push_str(&format!("{separator}{sign}{}", format_time_of_day(micros.abs())));
    }
    text
}

/// NUMERIC in PostgreSQL's binary format: base-10000 digits with weight, sign and scale.
fn put_numeric(out: &mut BytesMut, unscaled: i128, scale: i8) {
    let scale = scale.max(0) as usize;
    let negative = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let digits = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - scale);
    // Integer part grouped from the right, fraction from the left, both in groups of 4.
    let int_pad = (4 - int.len() % 4) % 4;
    let int = format!("{}{int}", "0".repeat(int_pad));
    let frac_pad = (4 - frac.len() % 4) % 4;
    let frac = format!("{frac}{}", "0".repeat(frac_pad));
    let mut groups: Vec<i16> = int
        .as_bytes()
        .chunks(4)
        .chain(frac.as_bytes().chunks(4))
        .map(|c| std::str::from_utf8(c).unwrap().parse().unwrap())
        .collect();
    let mut weight = (int.len() / 4) as i16 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_i16(groups.len() as i16);
    out.put_i16(weight);
    out.put_u16(if negative && !groups.is_empty() { 0x4000 } else { 0 });
    out.put_u16(scale as u16);
    for g in groups {
        out.put_i16(g);
    }
}

/// Decodes a binary NUMERIC into an unscaled value at `scale`.
pub fn decode_numeric(bytes: &[u8], scale: i8) -> Result<i128> {
    let bad = || Error::new(crate::error::SqlState::InvalidTextRepresentation, "invalid binary NUMERIC");
    if bytes.len() < 8 {
        return Err(bad());
    }
    let read = |i: usize| i16::from_be_bytes([bytes[i], bytes[i + 1]]);
    let ndigits = read(0) as usize;
    let weight = i32::from(read(2));
    let sign = read(4) as u16;
    if bytes.len() < 8 + 2 * ndigits {
        return Err(bad());
    }
    if sign == 0xC000 {
        return Err(Error::new(crate::error::SqlState::InvalidTextRepresentation, "NaN is not a valid NUMERIC"));
    }
    // value = sum(digit_i * 10000^(weight - i)); scale it by 10^scale.
    let mut value: i128 = 0;
    let shift = i32::from(scale.max(0));
    for i in 0..ndigits {
        let digit = i128::from(read(8 + 2 * i));
        let power = 4 * (weight - i as i32) + shift;
        if power >= 0 {
            value = value
                .checked_add(digit.checked_mul(10i128.checked_pow(power as u32).ok_or_else(bad)?).ok_or_else(bad)?)
                .ok_or_else(bad)?;
        } else if -power < 40 {
            value += digit / 10i128.pow((-power) as u32);
        }
    }
    Ok(if sign == 0x4000 { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_formats_match_postgres() {
        assert_eq!(format_float(0.1, 15, 0), "0.1");
        assert_eq!(format_float(1.0 / 3.0, 15, 0), "0.333333333333333");
        assert_eq!(format_float(1e20, 15, 0), "1e+20");
        assert_eq!(format_float(123456.0, 6, 0), "123456");
        assert_eq!(format_float(1234567.0, 6, 0), "1.23457e+06");
        assert_eq!(format_float(1.0 / 3.0, 15, 1), "0.3333333333333333");
        assert_eq!(format_float(0.00001, 15, 0), "1e-05");
        assert_eq!(format_float(f64::INFINITY, 15, 0), "Infinity");
        assert_eq!(format_decimal(-1234, 2), "-12.34");
        assert_eq!(format_decimal(5, 3), "0.005");
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(19_723), "2024-01-01");
        assert_eq!(format_timestamp(1_704_067_200_500_000), "2024-01-01 00:00:00.5");
        assert_eq!(format_time(3_723_000_000), "01:02:03");
        let interval = |months, days, micros: i64| format_interval(IntervalMonthDayNano::new(months, days, micros * 1_000));
        assert_eq!(interval(0, 3, 0), "3 days");
        assert_eq!(interval(14, 1, 0), "1 year 2 mons 1 day");
        assert_eq!(interval(0, 0, 900_000_000), "00:15:00");
        assert_eq!(interval(0, 0, 0), "00:00:00");
        assert_eq!(interval(0, 15, 43_200_500_000), "15 days 12:00:00.5");
        assert_eq!(interval(0, -1, 43_200_000_000), "-1 days +12:00:00");
        assert_eq!(interval(-1, 0, -360_000_000_000), "-1 mons -100:00:00");
    }

    #[test]
    fn columns_are_sent_in_the_described_type() {
        use arrow::array::Int64Array;
        use arrow::datatypes::Field;
        let batch = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![5])) as ArrayRef)]).unwrap();
        let described = Schema::new(vec![Field::new("x", DataType::Int32, true)]);
        let fields = field_infos(&described, |_| FieldFormat::Binary);
        let rows = encode_batch(&batch, &described, &fields, 0).unwrap();
        let mut bytes = BytesMut::new();
        pgwire::messages::Message::encode(&rows[0], &mut bytes).unwrap();
        // DataRow: tag, length, column count, then the value's length and its 4 bytes.
        assert_eq!(&bytes[bytes.len() - 8..], &[0, 0, 0, 4, 0, 0, 0, 5]);
    }

    #[test]
    fn numeric_binary_round_trips() {
        for (value, scale) in [(123456789i128, 2i8), (-5, 3), (0, 2), (10000, 0), (1, 10)] {
            let mut buf = BytesMut::new();
            put_numeric(&mut buf, value, scale);
            assert_eq!(decode_numeric(&buf, scale).unwrap(), value, "{value} scale {scale}");
        }
    }
}
