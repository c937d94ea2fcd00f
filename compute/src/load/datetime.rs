//! DATEFORMAT and TIMEFORMAT: Redshift's format strings ('YYYY-MM-DD', 'MM/DD/YYYY HH24:MI:SS',
//! 'auto', 'epochsecs', 'epochmillisecs') translated once into chrono formats, then applied to
//! every date, timestamp and time field of a load. Formats are parsed into chrono's items once,
//! not per field, and ISO dates, the common case, skip chrono altogether: date parsing runs for
//! millions of fields per load.

use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

const EPOCH_DAYS_CE: i32 = 719_163;

/// Formats 'auto' tries for dates, most common first.
const AUTO_DATES: &[&str] = &[
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y", "%m-%d-%Y", "%d-%b-%Y", "%b-%d-%y", "%b %d %Y", "%d %b %Y", "%Y.%m.%d",
    "%m.%d.%Y", "%B %d, %Y", "%b %d, %Y", "%Y.%j",
];
/// Formats 'auto' (and the default) tries for timestamps, once an era (` BC`) and a zone (`Z`,
/// `+02`, `-08:00`, ` PST`) are taken off: Redshift's list of what 'auto' recognizes.
const AUTO_TIMESTAMPS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %H:%M:%S%.f",
    "%m/%d/%Y %H:%M",
    "%m.%d.%Y %H:%M:%S%.f",
    "%Y%m%d %H:%M:%S%.f",
    "%Y%m%d %H%M%S",
    "%y%m%d %H%M%S",
    "%Y%m%d%H%M%S",
    "%d-%b-%Y %H:%M:%S%.f",
    "%d %b %H:%M:%S %Y",
    "%b %d %Y %H:%M:%S%.f",
    "%b %d %Y %H:%M",
];
/// Formats of a date written with its era (`Jan-08-95 BC`): the year is taken as written.
const ERA_DATES: &[&str] = &["%b-%d-%Y", "%Y-%m-%d", "%b %d %Y", "%d %b %Y", "%m/%d/%Y"];
/// Time zone abbreviations 'auto' accepts, with their offsets in hours east of UTC.
const ZONES: &[(&str, i32)] = &[
    ("UTC", 0),
    ("GMT", 0),
    ("UT", 0),
    ("Z", 0),
    ("EST", -5),
    ("EDT", -4),
    ("CST", -6),
    ("CDT", -5),
    ("MST", -7),
    ("MDT", -6),
    ("PST", -8),
    ("PDT", -7),
    ("AKST", -9),
    ("AKDT", -8),
    ("HST", -10),
    ("CET", 1),
    ("CEST", 2),
    ("EET", 2),
    ("EEST", 3),
    ("JST", 9),
];
/// The Julian day number of 0001-01-01 (proleptic Gregorian) less one: `J<n>` is day n - this of
/// the common era.
const JULIAN_DAY_OF_CE_ZERO: i64 = 1_721_425;

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
static ERA_DATE_ITEMS: LazyLock<Vec<Items>> = LazyLock::new(|| all_items(ERA_DATES));
static TIME_ITEMS: LazyLock<Vec<Items>> = LazyLock::new(|| all_items(&["%H:%M:%S%.f", "%H:%M"]));
static OFFSET_ITEMS: LazyLock<Items> = LazyLock::new(|| items("%#z"));

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

/// `YYYY-MM-DD` exactly, as days since 1970-01-01, without chrono: this is the form nearly every
/// date in a load file has, and chrono's validation and day count were a tenth of converting
/// TPC-H lineitem's CSV.
fn iso_days(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits
            .iter()
            .try_fold(0i32, |n, d| d.is_ascii_digit().then(|| n * 10 + i32::from(d - b'0')))
    };
    let (year, month, day) = (number(&b[..4])?, number(&b[5..7])?, number(&b[8..])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) {
        return None;
    }
    // The proleptic Gregorian day count from a year that starts in March, so that the leap day
    // ends its year (Howard Hinnant's `days_from_civil`); years here are 0 to 9999.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
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
            Pattern::Default => return iso_days(s).or_else(|| Some(auto_date(s)?.num_days_from_ce() - EPOCH_DAYS_CE)),
            Pattern::Auto => auto_date(s),
            Pattern::Chrono(f) => parse_date(s, f),
            Pattern::EpochSecs | Pattern::EpochMillis => None,
        }?;
        Some(date.num_days_from_ce() - EPOCH_DAYS_CE)
    }

    /// Microseconds since the epoch, in UTC. A zone in the text (`+02`, `Z`, `PST`; `OF` in a
    /// TIMEFORMAT) is honoured for any timestamp; without one the value is taken as UTC.
    pub fn timestamp(&self, s: &str) -> Option<i64> {
        let utc = match &self.time {
            Pattern::EpochSecs => return s.parse::<i64>().ok()?.checked_mul(1_000_000),
            Pattern::EpochMillis => return s.parse::<i64>().ok()?.checked_mul(1_000),
            Pattern::Chrono(f) => {
                let parsed = parse(s, f)?;
                match parsed.offset {
                    Some(_) => parsed.to_datetime().ok()?.naive_utc(),
                    None => parsed
                        .to_naive_datetime_with_offset(0)
                        .ok()
                        .or_else(|| parsed.to_naive_date().ok().map(|d| d.and_time(NaiveTime::MIN)))?,
                }
            }
            Pattern::Default | Pattern::Auto => auto_timestamp(s)?,
        };
        Some(utc.and_utc().timestamp_micros())
    }

    /// Microseconds since midnight.
    pub fn time(&self, s: &str) -> Option<i64> {
        let time = TIME_ITEMS.iter().find_map(|items| parse(s, items)?.to_naive_time().ok())?;
        Some(i64::from(time.num_seconds_from_midnight()) * 1_000_000 + i64::from(time.nanosecond() / 1_000))
    }
}

/// A date 'auto' recognizes. Of a timestamp, the date as written: the time and zone are dropped,
/// as Redshift truncates them when it loads a DATE column.
fn auto_date(s: &str) -> Option<NaiveDate> {
    AUTO_DATE_ITEMS
        .iter()
        .find_map(|items| parse_date(s, items))
        .or_else(|| auto_local_timestamp(s).map(|(local, _)| local.date()))
}

/// A timestamp 'auto' recognizes, in UTC.
fn auto_timestamp(s: &str) -> Option<NaiveDateTime> {
    let (local, offset_seconds) = auto_local_timestamp(s)?;
    local.checked_sub_signed(TimeDelta::seconds(i64::from(offset_seconds)))
}

/// A timestamp 'auto' recognizes, as written (its local date and time), with its zone's offset
/// in seconds east of UTC (0 without a zone).
fn auto_local_timestamp(s: &str) -> Option<(NaiveDateTime, i32)> {
    let s = s.trim();
    if let Some(julian) = julian(s) {
        return Some((julian, 0));
    }
    if let Some(date) = s.strip_suffix(" BC") {
        // Astronomical numbering: 1 BC is year 0.
        let date = ERA_DATE_ITEMS.iter().find_map(|items| parse_date(date, items))?;
        let date = date.with_year(1 - date.year())?;
        return Some((date.and_time(NaiveTime::MIN), 0));
    }
    let (local, offset_seconds) = split_zone(s);
    let timestamp = AUTO_TIMESTAMP_ITEMS.iter().find_map(|items| parse_timestamp(local, items)).or_else(|| {
        AUTO_DATE_ITEMS
            .iter()
            .find_map(|items| parse_date(local, items))
            .map(|d| d.and_time(NaiveTime::MIN))
    })?;
    Some((timestamp, offset_seconds))
}

/// `J<julian day number>`, with an optional time after a space (`J2451187 04:05:06.789`).
fn julian(s: &str) -> Option<NaiveDateTime> {
    let digits = s.strip_prefix('J')?;
    let (day, time) = digits.split_once(' ').unwrap_or((digits, ""));
    let day: i64 = day.parse().ok()?;
    let date = NaiveDate::from_num_days_from_ce_opt(i32::try_from(day - JULIAN_DAY_OF_CE_ZERO).ok()?)?;
    let time = match time {
        "" => NaiveTime::MIN,
        time => TIME_ITEMS.iter().find_map(|items| parse(time, items)?.to_naive_time().ok())?,
    };
    Some(date.and_time(time))
}

/// `s` without the zone that ends it, and the zone's offset in seconds east of UTC (0 without
/// one). A zone is a known abbreviation after a space or `Z` (`07:37:16 PST`,
/// `05:09:12.195Z`), or a numeric offset after the time (`07:37:16-08`, `+05:30`).
fn split_zone(s: &str) -> (&str, i32) {
    let letters = s.len() - s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len();
    if letters > 0 {
        let (local, name) = s.split_at(s.len() - letters);
        let zone = ZONES.iter().find(|(zone, _)| zone.eq_ignore_ascii_case(name));
        return match zone {
            Some((_, hours)) if local.ends_with(' ') || name.eq_ignore_ascii_case("Z") => (local.trim_end(), hours * 3600),
            _ => (s, 0),
        };
    }
    // A sign after the time's first ':' starts an offset; signs before it separate the date.
    let Some(time) = s.find(':') else {
        return (s, 0);
    };
    let Some(sign) = s[time..].rfind(['+', '-']).map(|i| time + i) else {
        return (s, 0);
    };
    let mut parsed = Parsed::new();
    match chrono::format::parse(&mut parsed, &s[sign..], OFFSET_ITEMS.iter()) {
        Ok(()) => (&s[..sign], parsed.offset.unwrap_or(0)),
        Err(_) => (s, 0),
    }
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

    /// The ISO fast path counts days as chrono does, and refuses what chrono refuses.
    #[test]
    fn iso_days_match_chrono() {
        for year in (0..=9999).step_by(7).chain([1900, 2000, 2024, 2100]) {
            for month in 0..=13 {
                for day in 0..=32 {
                    let text = format!("{year:04}-{month:02}-{day:02}");
                    let chrono = NaiveDate::from_ymd_opt(year, month, day).map(|d| d.num_days_from_ce() - EPOCH_DAYS_CE);
                    assert_eq!(iso_days(&text), chrono, "{text}");
                }
            }
        }
        assert_eq!(iso_days("1970-01-01"), Some(0));
        assert_eq!(iso_days("1970-1-01"), None);
        assert_eq!(iso_days("197a-01-01"), None);
    }

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

    /// The forms Redshift's documentation lists for 'auto', each with the value it stands for.
    #[test]
    fn auto_recognizes_redshifts_list() {
        let auto = Formats::new(Some("auto"), Some("auto")).unwrap();
        let utc = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap().and_utc().timestamp_micros();
        let pst_evening = utc("1997-12-17 15:37:16");
        for (text, expected) in [
            ("2019-02-11T05:09:12.195Z", utc("2019-02-11 05:09:12.195")),
            ("J2451187", utc("1999-01-08 00:00:00")),
            ("J2345678 04:05:06.789", utc("1710-02-23 04:05:06.789")),
            ("19960108 040809", utc("1996-01-08 04:08:09")),
            ("960108 040809", utc("1996-01-08 04:08:09")),
            ("1996.008", utc("1996-01-08 00:00:00")),
            ("1996-01-08 04:05:06.789", utc("1996-01-08 04:05:06.789")),
            ("17 Dec 07:37:16 1997 PST", pst_evening),
            ("12/17/1997 07:37:16.00 PST", pst_evening),
            ("1997-12-17 07:37:16-08", pst_evening),
            ("1997-12-17 10:07:16+02:30", utc("1997-12-17 07:37:16")),
            ("12.17.1997 07:37:16.00 PST", pst_evening),
            ("2024/01/03 04:05", utc("2024-01-03 04:05:00")),
            ("Jan 2 2009 00:01", utc("2009-01-02 00:01:00")),
        ] {
            assert_eq!(auto.timestamp(text), Some(expected), "{text}");
        }
        let bc = NaiveDate::from_ymd_opt(-94, 1, 8).unwrap();
        assert_eq!(auto.timestamp("Jan-08-95 BC"), Some(bc.and_time(NaiveTime::MIN).and_utc().timestamp_micros()));
        assert_eq!(auto.timestamp("2024-01-03 04:05 XYZ"), None, "an unknown zone is not ignored");

        // A DATE keeps the date as written and drops the time and zone.
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().num_days_from_ce() - EPOCH_DAYS_CE;
        for (text, expected) in [
            ("1997-12-17 07:37:16-08", day(1997, 12, 17)),
            ("2019-02-11T05:09:12.195Z", day(2019, 2, 11)),
            ("2024-01-03 04:05", day(2024, 1, 3)),
            ("19960108 040809", day(1996, 1, 8)),
            ("1996.008", day(1996, 1, 8)),
            ("J2451187", day(1999, 1, 8)),
            ("Jan 02, 2009", day(2009, 1, 2)),
        ] {
            assert_eq!(auto.date(text), Some(expected), "{text}");
        }
        // The default date format takes a timestamp's date too, as Redshift does.
        assert_eq!(Formats::new(None, None).unwrap().date("2024-01-03 04:05:06"), Some(day(2024, 1, 3)));

        // A TIMEFORMAT with OF honours the offset.
        let of = Formats::new(None, Some("YYYY-MM-DD HH24:MI:SSOF")).unwrap();
        assert_eq!(of.timestamp("1997-12-17 07:37:16-08"), Some(pst_evening));
    }
}
