//! DATEFORMAT and TIMEFORMAT: Redshift's format strings ('YYYY-MM-DD', 'MM/DD/YYYY HH24:MI:SS',
//! 'auto', 'epochsecs', 'epochmillisecs') translated once into chrono formats, then applied to
//! every date, timestamp and time field of a load. Formats are parsed into chrono's items once,
//! not per field, and ISO dates, the common case, skip chrono altogether: date parsing runs for
//! millions of fields per load.

use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

const EPOCH_DAYS_CE: i32 = 719_163;

/// Formats 'auto' tries for dates, most common first.
const AUTO_DATES: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y", "%m-%d-%Y", "%d-%b-%Y", "%b %d %Y", "%d %b %Y", "%Y.%m.%d", "%B %d, %Y"];
/// Formats 'auto' (and the default) tries for timestamps.
const AUTO_TIMESTAMPS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%m/%d/%Y %H:%M:%S%.f",
    "%Y%m%d %H:%M:%S%.f",
    "%d-%b-%Y %H:%M:%S%.f",
    "%Y%m%d%H%M%S",
];

/// A chrono format, parsed.
type Items = Vec<Item<'static>>;

fn items(format: &str) -> Items {
    StrftimeItems::new(format).parse_to_owned().expect("a valid chrono format")
}

fn all_items(formats: &[&str]) -> Vec<Items> {
    formats.iter().map(|f| items(f)).collect()
}

static AUTO_DATE_ITEMS: LazyLock<Vec<Items>> = LazyLock::new(|| all_items(AUTO_DATES));
static AUTO_TIMESTAMP_ITEMS: LazyLock<Vec<Items>> = LazyLock::new(|| all_items(AUTO_TIMESTAMPS));
static TIME_ITEMS: LazyLock<Vec<Items>> = LazyLock::new(|| all_items(&["%H:%M:%S%.f", "%H:%M"]));
static OFFSET_TIMESTAMP_ITEMS: LazyLock<Vec<Items>> =
    LazyLock::new(|| all_items(&["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"]));

/// The fields of `s` read with `items`, if it matches them entirely.
fn parse(s: &str, items: &[Item<'static>]) -> Option<Parsed> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, s, items.iter()).ok()?;
    Some(parsed)
}

fn parse_date(s: &str, items: &[Item<'static>]) -> Option<NaiveDate> {
    parse(s, items)?.to_naive_date().ok()
}

fn parse_timestamp(s: &str, items: &[Item<'static>]) -> Option<NaiveDateTime> {
    parse(s, items)?.to_naive_datetime_with_offset(0).ok()
}

/// `YYYY-MM-DD` exactly, without chrono's general parser.
fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits
            .iter()
            .try_fold(0u32, |n, d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    NaiveDate::from_ymd_opt(number(&b[..4])? as i32, number(&b[5..7])?, number(&b[8..])?)
}

#[derive(Debug, Clone, PartialEq)]
enum Pattern {
    /// Redshift's default (ISO forms, with 'auto''s leniency for timestamps).
    Default,
    Auto,
    EpochSecs,
    EpochMillis,
    Chrono(Items),
}

/// The date and time formats of one load.
#[derive(Debug, Clone, PartialEq)]
pub struct Formats {
    date: Pattern,
    time: Pattern,
}

impl Formats {
    pub fn new(date_format: Option<&str>, time_format: Option<&str>) -> Result<Formats, String> {
        let pattern = |f: Option<&str>| -> Result<Pattern, String> {
            Ok(match f.map(|s| s.to_ascii_lowercase()) {
                None => Pattern::Default,
                Some(f) if f == "auto" => Pattern::Auto,
                Some(f) if f == "epochsecs" => Pattern::EpochSecs,
                Some(f) if f == "epochmillisecs" => Pattern::EpochMillis,
                Some(_) => {
                    let format = f.unwrap_or_default();
                    let chrono = to_chrono(format)?;
                    let parsed = StrftimeItems::new(&chrono)
                        .parse_to_owned()
                        .map_err(|e| format!("invalid datetime format '{format}': {e}"))?;
                    Pattern::Chrono(parsed)
                }
            })
        };
        let date = pattern(date_format)?;
        if matches!(date, Pattern::EpochSecs | Pattern::EpochMillis) {
            return Err("DATEFORMAT does not accept epochsecs or epochmillisecs".into());
        }
        Ok(Formats {
            date,
            time: pattern(time_format)?,
        })
    }

    /// Days since 1970-01-01.
    pub fn date(&self, s: &str) -> Option<i32> {
        let date = match &self.date {
            Pattern::Default => iso_date(s).or_else(|| auto_date(s)),
            Pattern::Auto => auto_date(s),
            Pattern::Chrono(f) => parse_date(s, f),
            Pattern::EpochSecs | Pattern::EpochMillis => None,
        }?;
        Some(date.num_days_from_ce() - EPOCH_DAYS_CE)
    }

    /// Microseconds since the epoch, in UTC. An offset in the text (`+02`, `Z`) is honoured for
    /// any timestamp; without one the value is taken as UTC.
    pub fn timestamp(&self, s: &str) -> Option<i64> {
        let naive = match &self.time {
            Pattern::EpochSecs => return s.parse::<i64>().ok()?.checked_mul(1_000_000),
            Pattern::EpochMillis => return s.parse::<i64>().ok()?.checked_mul(1_000),
            Pattern::Chrono(f) => parse(s, f).and_then(|p| {
                p.to_naive_datetime_with_offset(0)
                    .ok()
                    .or_else(|| p.to_naive_date().ok().map(|d| d.and_time(NaiveTime::MIN)))
            }),
            Pattern::Default | Pattern::Auto => auto_timestamp(s),
        };
        match naive {
            Some(t) => Some(t.and_utc().timestamp_micros()),
            None => with_offset(s).map(|t| t.timestamp_micros()),
        }
    }

    /// Microseconds since midnight.
    pub fn time(&self, s: &str) -> Option<i64> {
        let time = TIME_ITEMS.iter().find_map(|items| parse(s, items)?.to_naive_time().ok())?;
        Some(i64::from(time.num_seconds_from_midnight()) * 1_000_000 + i64::from(time.nanosecond() / 1_000))
    }
}

fn auto_date(s: &str) -> Option<NaiveDate> {
    AUTO_DATE_ITEMS.iter().find_map(|items| parse_date(s, items))
}

fn auto_timestamp(s: &str) -> Option<NaiveDateTime> {
    AUTO_TIMESTAMP_ITEMS
        .iter()
        .find_map(|items| parse_timestamp(s, items))
        .or_else(|| auto_date(s).map(|d| d.and_time(NaiveTime::MIN)))
}

fn with_offset(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    let normalized = s.strip_suffix('Z').map(|p| format!("{p}+00:00"));
    let s = normalized.as_deref().unwrap_or(s);
    OFFSET_TIMESTAMP_ITEMS.iter().find_map(|items| parse(s, items)?.to_datetime().ok())
}

/// Translates a Redshift datetime format string into chrono's syntax.
fn to_chrono(format: &str) -> Result<String, String> {
    // Longest tokens first, so 'HH24' is not read as 'HH' then '24'.
    const TOKENS: &[(&str, &str)] = &[
        ("YYYY", "%Y"),
        ("MONTH", "%B"),
        ("HH24", "%H"),
        ("HH12", "%I"),
        ("MON", "%b"),
        ("DDD", "%j"),
        ("YY", "%y"),
        ("MM", "%m"),
        ("DD", "%d"),
        ("HH", "%H"),
        ("MI", "%M"),
        ("SS", "%S"),
        ("AM", "%p"),
        ("PM", "%p"),
        ("OF", "%#z"),
    ];
    let upper = format.to_ascii_uppercase();
    let mut out = String::new();
    let mut rest = upper.as_str();
    let mut original = format;
    while !rest.is_empty() {
        // Fractional seconds: '.S..' or '.US' after seconds.
        if out.ends_with("%S") && (rest.starts_with(".S") || rest.starts_with(".US") || rest.starts_with(".MS")) {
            let n = 1 + rest[1..].chars().take_while(|c| *c == 'S' || *c == 'U' || *c == 'M').count();
            out.push_str("%.f");
            rest = &rest[n..];
            original = &original[n..];
            continue;
        }
        if let Some((token, chrono)) = TOKENS.iter().find(|(t, _)| rest.starts_with(t)) {
            out.push_str(chrono);
            rest = &rest[token.len()..];
            original = &original[token.len()..];
            continue;
        }
        let c = original.chars().next().expect("non-empty");
        if c.is_ascii_alphabetic() {
            return Err(format!("invalid datetime format '{format}': unknown field at '{original}'"));
        }
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
        original = &original[c.len_utf8()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redshift_formats() {
        let f = Formats::new(Some("MM/DD/YYYY"), Some("DD.MM.YYYY HH24:MI:SS")).unwrap();
        assert_eq!(f.date("01/02/1970"), Some(1));
        assert_eq!(f.timestamp("02.01.1970 00:00:01"), Some(86_401_000_000));
        assert_eq!(f.date("1970-01-02"), None);
        let f = Formats::new(Some("auto"), Some("epochmillisecs")).unwrap();
        assert_eq!(f.date("19700103"), Some(2));
        assert_eq!(f.timestamp("1500"), Some(1_500_000));
        let f = Formats::new(None, Some("YYYY-MM-DD HH:MI:SS.SSS")).unwrap();
        assert_eq!(f.timestamp("1970-01-01 00:00:01.250"), Some(1_250_000));
        let d = Formats::new(None, None).unwrap();
        assert_eq!(d.timestamp("1970-01-01T00:00:02"), Some(2_000_000));
        assert_eq!(d.timestamp("1970-01-01 01:00:00+01"), Some(0));
        assert_eq!(d.time("01:00:00.5"), Some(3_600_500_000));
        assert!(Formats::new(Some("YYYY-QQ"), None).is_err());
        assert_eq!(d.date("1970-01-11"), Some(10));
        assert_eq!(d.date("1970-1-11"), Some(10), "the general parser takes what the ISO path does not");
        assert_eq!(d.date("1970-02-30"), None);
        assert_eq!(d.date("1970-0a-01"), None);
    }
}
