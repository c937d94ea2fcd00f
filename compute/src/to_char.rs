//! `TO_CHAR(timestamp, format)` with Redshift's (PostgreSQL's) datetime format patterns:
//! `YYYY-MM-DD HH24:MI:SS.MS`, `Mon DD`, `Day`, `TZ`, `FM` and quoted text. It replaces
//! DataFusion's `to_char`, which takes chrono's `%Y-%m-%d` patterns and would echo a Redshift
//! pattern back unchanged (Metabase and many dashboards format times this way).
//!
//! Registered on the leader and on every compute node, since either may evaluate it.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

#[derive(Debug, PartialEq, Eq, Hash)]
struct ToChar {
    signature: Signature,
}

/// The `to_char` function.
pub fn to_char() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(ToChar { signature: Signature::user_defined(Volatility::Immutable) }))
}

impl ScalarUDFImpl for ToChar {
    fn name(&self) -> &str {
        "to_char"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Dates and timestamps (with or without time zone) as microsecond timestamps; the format
    /// as text.
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [value, _] = args else {
            return plan_err!("to_char takes a value and a format");
        };
        let value = match value {
            DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            DataType::Date32 | DataType::Date64 | DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
            other => return plan_err!("to_char does not support {other} values"),
        };
        Ok(vec![value, DataType::Utf8])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let with_zone = matches!(args.args[0].data_type(), DataType::Timestamp(_, Some(_)));
        let rows = args.number_rows;
        let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let values = args.args[0].to_array(rows)?;
        let formats = args.args[1].to_array(rows)?;
        let values = values.as_primitive::<TimestampMicrosecondType>();
        let formats = formats.as_string::<i32>();
        let mut out = StringBuilder::new();
        for i in 0..values.len() {
            if values.is_null(i) || formats.is_null(i) {
                out.append_null();
                continue;
            }
            let Some(time) = DateTime::from_timestamp_micros(values.value(i)).map(|t| t.naive_utc()) else {
                return exec_err!("timestamp out of range");
            };
            out.append_value(format(&time, formats.value(i), with_zone));
        }
        let array: ArrayRef = Arc::new(out.finish());
        Ok(if scalar { ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?) } else { ColumnarValue::Array(array) })
    }
}

/// Patterns, longest first so that `HH24` is not read as `HH` then `24`.
const PATTERNS: &[&str] = &[
    "HH24", "HH12", "IYYY", "MONTH", "YYYY", "A.M.", "P.M.", "DAY", "DDD", "YYY", "MON", "HH", "MI", "SS", "MS", "US",
    "AM", "PM", "YY", "MM", "DD", "DY", "IW", "WW", "CC", "TZ", "OF", "Q", "D", "J", "Y",
];

/// `time` formatted by the PostgreSQL pattern `pattern`; `with_zone` for TIMESTAMPTZ values
/// (shown in UTC, the session time zone).
pub fn format(time: &NaiveDateTime, pattern: &str, with_zone: bool) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    let mut fill = true;
    while let Some(c) = rest.chars().next() {
        if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case("FM") {
            fill = false;
            rest = &rest[2..];
            continue;
        }
        if c == '"' {
            let body = &rest[1..];
            let end = body.find('"').unwrap_or(body.len());
            out.push_str(&body[..end]);
            rest = body.get(end + 1..).unwrap_or("");
            continue;
        }
        if c == '\\' && rest.len() > 1 {
            let next = rest[1..].chars().next().expect("checked");
            out.push(next);
            rest = &rest[1 + next.len_utf8()..];
            continue;
        }
        let upper = rest.get(..rest.len().min(5)).unwrap_or(rest).to_ascii_uppercase();
        match PATTERNS.iter().find(|p| upper.starts_with(**p)) {
            Some(token) => {
                let source = &rest[..token.len()];
                out.push_str(&field(time, token, source, fill, with_zone));
                rest = &rest[token.len()..];
                fill = true;
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// One pattern's text; `source` is the pattern as written, whose case picks the case of names.
fn field(t: &NaiveDateTime, token: &str, source: &str, fill: bool, with_zone: bool) -> String {
    let number = |n: i64, width: usize| if fill { format!("{n:0width$}") } else { n.to_string() };
    let name = |full: String| {
        let cased = if source.chars().all(|c| !c.is_ascii_lowercase()) {
            full.to_uppercase()
        } else if source.starts_with(|c: char| c.is_ascii_uppercase()) {
            full
        } else {
            full.to_lowercase()
        };
        // Full month and day names are blank-padded to nine characters unless FM is given.
        if fill && matches!(token, "MONTH" | "DAY") { format!("{cased:<9}") } else { cased }
    };
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let meridiem = |dots: bool| {
        let text = match (t.hour() < 12, dots) {
            (true, false) => "AM",
            (false, false) => "PM",
            (true, true) => "A.M.",
            (false, true) => "P.M.",
        };
        if source.starts_with(|c: char| c.is_ascii_lowercase()) { text.to_lowercase() } else { text.to_string() }
    };
    let year = i64::from(t.year());
    match token {
        "YYYY" => number(year, 4),
        "YYY" => number(year % 1000, 3),
        "YY" => number(year % 100, 2),
        "Y" => (year % 10).to_string(),
        "IYYY" => number(i64::from(t.iso_week().year()), 4),
        "CC" => number((year + 99) / 100, 2),
        "Q" => ((t.month() - 1) / 3 + 1).to_string(),
        "MONTH" => name(t.format("%B").to_string()),
        "MON" => name(t.format("%b").to_string()),
        "MM" => number(i64::from(t.month()), 2),
        "DAY" => name(t.format("%A").to_string()),
        "DY" => name(t.format("%a").to_string()),
        "DDD" => number(i64::from(t.ordinal()), 3),
        "DD" => number(i64::from(t.day()), 2),
        "D" => (t.weekday().num_days_from_sunday() + 1).to_string(),
        "WW" => number(i64::from((t.ordinal() - 1) / 7 + 1), 2),
        "IW" => number(i64::from(t.iso_week().week()), 2),
        "J" => (i64::from(t.num_days_from_ce()) + 1_721_425).to_string(),
        "HH24" => number(i64::from(t.hour()), 2),
        "HH12" | "HH" => number(i64::from(hour12), 2),
        "MI" => number(i64::from(t.minute()), 2),
        "SS" => number(i64::from(t.second()), 2),
        "MS" => number(i64::from(t.nanosecond() / 1_000_000), 3),
        "US" => number(i64::from(t.nanosecond() / 1_000), 6),
        "AM" | "PM" => meridiem(false),
        "A.M." | "P.M." => meridiem(true),
        // A timestamp without time zone has none to show, as in PostgreSQL.
        "TZ" if with_zone => if source == "tz" { "utc" } else { "UTC" }.to_string(),
        "OF" if with_zone => "+00".to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_patterns() {
        let t = NaiveDateTime::parse_from_str("2024-03-05 14:07:09.123456", "%Y-%m-%d %H:%M:%S%.f").unwrap();
        assert_eq!(format(&t, "YYYY-MM-DD HH24:MI:SS.MS TZ", true), "2024-03-05 14:07:09.123 UTC");
        assert_eq!(format(&t, "YYYY-MM-DD HH24:MI:SS.US", false), "2024-03-05 14:07:09.123456");
        assert_eq!(format(&t, "HH12:MI AM, Day DD Month YYYY", false), "02:07 PM, Tuesday   05 March     2024");
        assert_eq!(format(&t, "FMDay, FMMonth FMDD", false), "Tuesday, March 5");
        assert_eq!(format(&t, "MON mon Mon DY dy", false), "MAR mar Mar TUE tue");
        assert_eq!(format(&t, "YY Q DDD D WW IW J", false), "24 1 065 3 10 10 2460375");
        assert_eq!(format(&t, "\"Quarter\" Q, TZ", false), "Quarter 1, ");
        assert_eq!(format(&t, "p.m. pm", false), "p.m. pm");
    }
}
