//! Converting text fields into column values with Redshift's COPY rules: NULL AS, EMPTYASNULL,
//! BLANKSASNULL, TRIMBLANKS, TRUNCATECOLUMNS, ROUNDEC, date and time formats (and ACCEPTANYDATE's
//! NULL for a value in none of them), and the STL_LOAD_ERRORS code
//! (1204 overflow, 1205 date, 1206 timestamp, 1207 digit, 1208 float, 1209 decimal, 1210 boolean,
//! 1213 NOT NULL) with a reason naming the value when a field does not fit its column.
//!
//! A converted value goes straight into its column of the batch being filled ([`Column`]); a row
//! rejected partway is dropped from the columns again by the caller.

use arrow::compute::kernels::cast_utils::parse_decimal;
use arrow::datatypes::{DataType, Decimal128Type, Decimal256Type, TimeUnit, i256};
use arrow::error::ArrowError;

use super::columns::Column;
use super::datetime::Formats;
use super::{LoadSpec, TargetColumn};

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

    /// Converts `field` for column `index` and appends it to `out`, that column of the batch
    /// being filled. `None` is a missing value (SQL NULL); text fields pass through NULL AS and
    /// the empty/blank rules first when `text_nulls` is set.
    pub fn convert(&self, index: usize, field: Option<&str>, text_nulls: bool, out: &mut Column) -> Result<(), FieldError> {
        let column = &self.spec.columns[index];
        let options = &self.spec.options;
        let Some(text) = self.non_null(index, field, text_nulls) else {
            return null(column, out);
        };
        match self.parse(column.kind, text, out) {
            Err(_) if options.accept_any_date && matches!(column.kind, ColumnKind::Date | ColumnKind::Timestamp | ColumnKind::Timestamptz) => {
                null(column, out)
            }
            converted => converted,
        }
    }

    /// `field` for column `index`, or `None` when it stands for NULL (see [`Converter::convert`]).
    pub fn non_null<'f>(&self, index: usize, field: Option<&'f str>, text_nulls: bool) -> Option<&'f str> {
        let options = &self.spec.options;
        match field {
            None => None,
            Some(f) if text_nulls && f == options.null_as => None,
            Some(f) if options.blanks_as_null && f.trim().is_empty() => None,
            Some("") if !self.spec.columns[index].kind.is_character() || options.empty_as_null => None,
            Some(f) => Some(f),
        }
    }

    /// Converts the fields of column `index` of many records, in order, appending each to `out`
    /// by the rules of [`Converter::convert`]. The column's type is decided once rather than per
    /// field, which is what makes converting records a block at a time column by column faster
    /// than one record at a time. `false` at the first field that does not convert, leaving
    /// what was appended for the caller to drop: the records then go through
    /// [`Converter::convert`] one at a time, which says what is wrong with which.
    pub fn convert_all<'f>(&self, index: usize, fields: impl Iterator<Item = &'f str>, out: &mut Column) -> bool {
        match self.spec.columns[index].kind {
            kind @ (ColumnKind::SmallInt | ColumnKind::Integer | ColumnKind::BigInt) => {
                self.each(index, fields, out, |text, out| parse_integer(kind, text, out))
            }
            ColumnKind::Decimal { precision, scale } => {
                self.each(index, fields, out, |text, out| self.parse_decimal(precision, scale, text, out))
            }
            kind @ (ColumnKind::Char(length) | ColumnKind::Varchar(length)) => {
                self.each(index, fields, out, |text, out| self.fit_text(kind, length, text).map(|v| out.push_text(v)))
            }
            ColumnKind::Date if !self.spec.options.accept_any_date => self.each(index, fields, out, |text, out| self.parse_date(text, out)),
            _ => fields.into_iter().all(|field| self.convert(index, Some(field), true, out).is_ok()),
        }
    }

    /// [`Converter::convert_all`] for a column whose non-NULL fields `convert` converts.
    fn each<'f>(
        &self,
        index: usize,
        mut fields: impl Iterator<Item = &'f str>,
        out: &mut Column,
        convert: impl Fn(&str, &mut Column) -> Result<(), FieldError>,
    ) -> bool {
        let column = &self.spec.columns[index];
        fields.all(|field| match self.non_null(index, Some(field), true) {
            Some(text) => convert(text, out).is_ok(),
            None => null(column, out).is_ok(),
        })
    }

    fn parse(&self, kind: ColumnKind, text: &str, out: &mut Column) -> Result<(), FieldError> {
        match kind {
            ColumnKind::SmallInt | ColumnKind::Integer | ColumnKind::BigInt => parse_integer(kind, text, out),
            ColumnKind::Decimal { precision, scale } => self.parse_decimal(precision, scale, text, out),
            ColumnKind::Real | ColumnKind::Double => trim(text)
                .parse::<f64>()
                .map(|v| out.push_float(v))
                .map_err(|_| invalid(1208, "float", text)),
            ColumnKind::Boolean => match trim(text).to_ascii_lowercase().as_str() {
                "t" | "true" | "1" | "y" | "yes" | "on" => Ok(true),
                "f" | "false" | "0" | "n" | "no" | "off" => Ok(false),
                _ => Err(invalid(1210, "boolean", text)),
            }
            .map(|v| out.push_bool(v)),
            // Text columns keep their blanks (fit_text applies TRIMBLANKS).
            ColumnKind::Char(length) | ColumnKind::Varchar(length) => self.fit_text(kind, length, text).map(|v| out.push_text(v)),
            ColumnKind::Date => self.parse_date(text, out),
            ColumnKind::Timestamp | ColumnKind::Timestamptz => self
                .formats
                .timestamp(trim(text))
                .map(|v| out.push_micros(v))
                .ok_or_else(|| invalid(1206, "timestamp format", text)),
            ColumnKind::Time => self
                .formats
                .time(trim(text))
                .map(|v| out.push_micros(v))
                .ok_or_else(|| invalid(1206, "time format", text)),
        }
    }

    fn parse_decimal(&self, precision: u8, scale: i8, text: &str, out: &mut Column) -> Result<(), FieldError> {
        let trimmed = trim(text);
        plain_decimal(trimmed.as_bytes(), precision, scale)
            .map_or_else(|| general_decimal(trimmed, precision, scale, self.spec.options.round_decimals), Ok)
            .map(|v| out.push_decimal(v))
            .map_err(|e| {
                let reason = e.to_string();
                if ["precision", "too large", "overflow"].iter().any(|word| reason.contains(word)) {
                    field_error(1204, format!("Numeric overflow for numeric({precision},{scale}), Value '{text}'"))
                } else {
                    invalid(1209, "numeric", text)
                }
            })
    }

    fn parse_date(&self, text: &str, out: &mut Column) -> Result<(), FieldError> {
        self.formats
            .date(trim(text))
            .map(|v| out.push_date(v))
            .ok_or_else(|| invalid(1205, "date format", text))
    }

    /// Applies TRIMBLANKS, CHAR's trailing blanks and the byte length (TRUNCATECOLUMNS cuts at
    /// the last whole character that fits).
    fn fit_text<'t>(&self, kind: ColumnKind, length: u32, text: &'t str) -> Result<&'t str, FieldError> {
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
        Ok(value)
    }
}

/// A missing value for `column`: NULL, unless the column is NOT NULL.
fn null(column: &TargetColumn, out: &mut Column) -> Result<(), FieldError> {
    if column.not_null {
        return Err(field_error(1213, format!("Missing data for not-null field {}", column.name)));
    }
    out.push_null();
    Ok(())
}

/// An integer of `kind` (SMALLINT, INTEGER or BIGINT), range-checked.
fn parse_integer(kind: ColumnKind, text: &str, out: &mut Column) -> Result<(), FieldError> {
    let (min, max) = match kind {
        ColumnKind::SmallInt => (i64::from(i16::MIN), i64::from(i16::MAX)),
        ColumnKind::Integer => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    let overflow = || field_error(1204, format!("Overflow for type {}, Value '{text}'", kind.type_name()));
    let trimmed = trim(text);
    match plain_integer(trimmed.as_bytes()).map_or_else(|| trimmed.parse::<i64>(), Ok) {
        Ok(v) if (min..=max).contains(&v) => {
            out.push_int(v);
            Ok(())
        }
        Ok(_) => Err(overflow()),
        Err(e) if matches!(e.kind(), std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow) => Err(overflow()),
        Err(_) => Err(invalid(1207, "digit", text)),
    }
}

/// A field that is not a valid `what`, named as written.
fn invalid(code: i32, what: &str, text: &str) -> FieldError {
    field_error(code, format!("Invalid {what}, Value '{text}'"))
}

/// Any decimal form arrow reads (exponents, a leading `+` or `.`), fraction digits past `scale`
/// cut off, or with `round` rounded half away from zero (ROUNDEC). Rounding reads one digit more
/// than the column keeps, the only one that decides it, into a type wide enough for it at any
/// precision.
fn general_decimal(text: &str, precision: u8, scale: i8, round: bool) -> Result<i128, ArrowError> {
    if !round {
        return parse_decimal::<Decimal128Type>(text, precision, scale);
    }
    let finer = parse_decimal::<Decimal256Type>(text, precision + 1, scale + 1)?;
    let ten = i256::from_i128(10);
    let rounded = finer.wrapping_add(finer.signum().wrapping_mul(i256::from_i128(5))).wrapping_div(ten);
    match rounded.to_i128() {
        Some(value) if rounded.wrapping_abs() < ten.wrapping_pow(u32::from(precision)) => Ok(value),
        _ => Err(ArrowError::ParseError(format!("{text} is too large to store in a Decimal128 of precision {precision}"))),
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
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    let dotted = whole.len() < digits.len();
    if whole.is_empty() || whole.len() + scale > usize::from(precision) || fraction.len() > scale || (dotted && fraction.is_empty()) {
        return None;
    }
    let padding = (scale - fraction.len()) as u32;
    // Below 10^18 the digits add up in 64 bits, which is most decimals and far cheaper than 128.
    let value = if whole.len() + scale <= 18 {
        i128::from(digits_value::<u64>(whole, fraction)? * 10u64.pow(padding))
    } else {
        digits_value::<i128>(whole, fraction)? * 10i128.pow(padding)
    };
    Some(if negative { -value } else { value })
}

/// The number `whole` and `fraction`'s digits spell, or `None` if one is not a digit.
fn digits_value<T: From<u8> + std::ops::Mul<Output = T> + std::ops::Add<Output = T>>(whole: &[u8], fraction: &[u8]) -> Option<T> {
    whole
        .iter()
        .chain(fraction)
        .try_fold(T::from(0), |value, &digit| digit.is_ascii_digit().then(|| value * T::from(10) + T::from(digit - b'0')))
}

/// `[-]digits` with at most 18 digits, which cannot overflow: the form nearly every integer
/// field has, read without the standard parser's general checks. Anything else is `None` and
/// takes that parser, which owns a leading `+`, overflow and the errors.
fn plain_integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let value = digits_value::<u64>(digits, &[])? as i64;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer fast path reads what the standard parser reads, and leaves it anything else.
    #[test]
    fn plain_integers_match_the_standard_parser() {
        for text in ["0", "-0", "42", "-17", "999999999999999999", "-999999999999999999"] {
            assert_eq!(plain_integer(text.as_bytes()), text.parse::<i64>().ok(), "{text}");
        }
        for text in ["", "-", "+5", "1a", "1.0", "9223372036854775807", "-9223372036854775808", "99999999999999999999"] {
            assert_eq!(plain_integer(text.as_bytes()), None, "{text}");
        }
    }

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
            // 18 digits with the scale add up in 64 bits, more in 128.
            ("9999999999999999.99", 18, 2, Some(999_999_999_999_999_999)),
            ("99999999999999999.9", 19, 2, Some(9_999_999_999_999_999_990)),
            ("-12345678901234567890123456789012345.678", 38, 3, Some(-12_345_678_901_234_567_890_123_456_789_012_345_678)),
        ];
        for (text, precision, scale, expected) in cases {
            assert_eq!(plain_decimal(text.as_bytes(), precision, scale), expected, "{text}");
            assert_eq!(parse_decimal::<Decimal128Type>(text, precision, scale).ok(), expected, "{text}");
        }
    }

    #[test]
    fn roundec_rounds_half_away_from_zero_and_otherwise_digits_are_cut_off() {
        let cases = [
            ("20.259", Some(2025), Some(2026)),
            ("-20.255", Some(-2025), Some(-2026)),
            ("20.254", Some(2025), Some(2025)),
            ("-0.005", Some(0), Some(-1)),
            ("1.2e-3", Some(0), Some(0)),
            ("1.25e0", Some(125), Some(125)),
            ("99.995", Some(9999), None),
            ("123.4", None, None),
        ];
        for (text, cut, rounded) in cases {
            assert_eq!(general_decimal(text, 4, 2, false).ok(), cut, "{text}");
            assert_eq!(general_decimal(text, 4, 2, true).ok(), rounded, "{text} rounded");
        }
        // The widest columns round too.
        assert_eq!(general_decimal("1.235", 38, 2, true).ok(), Some(124));
        assert_eq!(general_decimal("-0.125", 38, 37, true).ok(), Some(-125 * 10i128.pow(34)));
        assert_eq!(general_decimal(&format!("{}.5", "9".repeat(38)), 38, 0, true).ok(), None);
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
