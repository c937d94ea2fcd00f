//! Redshift's DATEADD, DATEDIFF, LAST_DAY and ADD_MONTHS, which DataFusion lacks, rewritten into
//! expressions it plans:
//!
//! - `DATEADD(part, n, x)` is `x` as a timestamp plus `n` parts as an interval (month arithmetic
//!   clamps to the month's end, so January 31 plus a month is February's last day, as in
//!   Redshift);
//! - `DATEDIFF(part, a, b)` counts the `part` boundaries crossed from `a` to `b`, as Redshift does:
//!   from December 31 to January 1 is one year, and weeks start on Monday;
//! - `LAST_DAY(x)` is the DATE of the last day of `x`'s month;
//! - `ADD_MONTHS(x, n)` is DATEADD by months, except that from the last day of a month it goes to
//!   the last day of the month reached (February 29 plus a month is March 31), as in Redshift.
//!
//! The part is a name (`day`) or a string (`'day'`), with Redshift's abbreviations; DATE_PART's
//! part, written either way too, becomes the string DataFusion's `date_part` reads. Rewriting in
//! SQL keeps the functions plannable everywhere a plan runs, compute nodes included.

use sqlparser::ast::{Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Value};
use sqlparser::parser::Parser;

use super::BlueshiftDialect;
use crate::error::{Error, Result};
use crate::planner::interval_arithmetic::INTERVAL_MUL;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
}

impl Part {
    fn parse(name: &str) -> Option<Part> {
        Some(match name.to_ascii_lowercase().as_str() {
            "year" | "years" | "y" | "yr" | "yrs" => Part::Year,
            "quarter" | "quarters" | "qtr" | "qtrs" => Part::Quarter,
            "month" | "months" | "mon" | "mons" => Part::Month,
            "week" | "weeks" | "w" => Part::Week,
            "day" | "days" | "d" => Part::Day,
            "hour" | "hours" | "h" | "hr" | "hrs" => Part::Hour,
            "minute" | "minutes" | "m" | "min" | "mins" => Part::Minute,
            "second" | "seconds" | "s" | "sec" | "secs" => Part::Second,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" | "millisec" | "millisecs" | "millisecon" => Part::Millisecond,
            "microsecond" | "microseconds" | "microsec" | "microsecs" | "us" | "usec" | "usecs" | "usecond" | "useconds" => Part::Microsecond,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Part::Year => "year",
            Part::Quarter => "quarter",
            Part::Month => "month",
            Part::Week => "week",
            Part::Day => "day",
            Part::Hour => "hour",
            Part::Minute => "minute",
            Part::Second => "second",
            Part::Millisecond => "millisecond",
            Part::Microsecond => "microsecond",
        }
    }

    /// The interval unit DATEADD adds, and how many of it one part is.
    fn interval(self) -> (&'static str, u32) {
        match self {
            Part::Year => ("month", 12),
            Part::Quarter => ("month", 3),
            Part::Month => ("month", 1),
            Part::Week => ("day", 7),
            Part::Day => ("day", 1),
            Part::Hour => ("hour", 1),
            Part::Minute => ("minute", 1),
            Part::Second => ("second", 1),
            Part::Millisecond => ("millisecond", 1),
            Part::Microsecond => ("microsecond", 1),
        }
    }

    /// An expression that numbers the `part`s of timestamp `t` consecutively, so that the
    /// difference of two is the count of boundaries between them.
    fn ordinal(self, t: &str) -> String {
        let epoch = |unit: &str, seconds: u64| format!("CAST(date_part('epoch', date_trunc('{unit}', {t})) AS BIGINT) / {seconds}");
        match self {
            Part::Year => format!("CAST(date_part('year', {t}) AS BIGINT)"),
            Part::Quarter => format!("CAST(date_part('year', {t}) AS BIGINT) * 4 + CAST(date_part('quarter', {t}) AS BIGINT)"),
            Part::Month => format!("CAST(date_part('year', {t}) AS BIGINT) * 12 + CAST(date_part('month', {t}) AS BIGINT)"),
            // 1970-01-05 was a Monday: shifting by four days makes week numbers change on Mondays.
            Part::Week => format!("CAST(floor(CAST(CAST(date_part('epoch', date_trunc('day', {t})) AS BIGINT) / 86400 - 4 AS DOUBLE) / 7) AS BIGINT)"),
            Part::Day => epoch("day", 86_400),
            Part::Hour => epoch("hour", 3_600),
            Part::Minute => epoch("minute", 60),
            Part::Second => epoch("second", 1),
            // Epoch seconds are a float: rounding undoes its error in the last digit.
            Part::Millisecond => format!("CAST(round(date_part('epoch', date_trunc('millisecond', {t})) * 1000) AS BIGINT)"),
            Part::Microsecond => format!("CAST(round(date_part('epoch', {t}) * 1000000) AS BIGINT)"),
        }
    }
}

/// DATE_PART's part as DataFusion names it: Redshift also takes it unquoted
/// (`DATE_PART(dow, d)`) and abbreviated (`w`, `qtr`, `dw`). A part neither knows is left as
/// written, for DataFusion to report.
fn name_date_part(function: &mut Function) {
    let FunctionArguments::List(list) = &mut function.args else {
        return;
    };
    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(part))) = list.args.first_mut() else {
        return;
    };
    let written = match part {
        Expr::Identifier(ident) => ident.value.to_ascii_lowercase(),
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.to_ascii_lowercase(),
            _ => return,
        },
        _ => return,
    };
    let name = match written.as_str() {
        "dow" | "dw" | "dayofweek" | "weekday" => "dow",
        "doy" | "dy" | "dayofyear" | "yday" => "doy",
        "epoch" => "epoch",
        other => match Part::parse(other) {
            Some(part) => part.name(),
            None => return,
        },
    };
    *part = Expr::Value(Value::SingleQuotedString(name.to_string()).into());
}

/// Replaces `expr` if it is a call of DATEADD, DATEDIFF, LAST_DAY or ADD_MONTHS, or names
/// DATE_PART's part.
pub fn rewrite_call(expr: &mut Expr) -> Result<()> {
    let Expr::Function(function) = expr else {
        return Ok(());
    };
    let Some(name) = function.name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_ascii_lowercase()) else {
        return Ok(());
    };
    if name == "date_part" {
        name_date_part(function);
        return Ok(());
    }
    let FunctionArguments::List(list) = &function.args else {
        return Ok(());
    };
    let args: Vec<&Expr> = list
        .args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect();
    let timestamp = |e: &Expr| format!("CAST(({e}) AS TIMESTAMP)");
    let sql = match (name.as_str(), &args[..]) {
        ("dateadd", [part, n, x]) => date_add(date_part(&name, part)?, &n.to_string(), &timestamp(x)),
        ("datediff", [part, a, b]) => {
            let part = date_part(&name, part)?;
            format!("({}) - ({})", part.ordinal(&timestamp(b)), part.ordinal(&timestamp(a)))
        }
        ("dateadd" | "datediff", _) => return Err(Error::syntax(format!("{} takes a date part and two arguments", name.to_uppercase()))),
        ("last_day", [x]) => last_day(&timestamp(x)),
        ("add_months", [x, n]) => {
            // Redshift's rule: from the last day of a month to the last day of the month reached.
            let (from, added) = (timestamp(x), date_add(Part::Month, &n.to_string(), &timestamp(x)));
            let to_month_end = format!("CAST(date_part('day', {}) - date_part('day', {added}) AS BIGINT)", last_day(&added));
            format!(
                "CASE WHEN CAST({from} AS DATE) = {} THEN {added} + {INTERVAL_MUL}(INTERVAL '1 day', {to_month_end}) ELSE {added} END",
                last_day(&from)
            )
        }
        ("last_day", _) => return Err(Error::syntax("LAST_DAY takes one argument")),
        ("add_months", _) => return Err(Error::syntax("ADD_MONTHS takes a date or timestamp and a number of months")),
        _ => return Ok(()),
    };
    let dialect = BlueshiftDialect::default();
    *expr = Parser::new(&dialect)
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::internal(format!("rewriting {name}: {e}")))?;
    Ok(())
}

/// The date part argument of DATEADD or DATEDIFF (`function`).
fn date_part(function: &str, part: &Expr) -> Result<Part> {
    let written = match part {
        Expr::Identifier(ident) => ident.value.clone(),
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    Part::parse(&written).ok_or_else(|| Error::syntax(format!("{} does not support the date part \"{part}\"", function.to_uppercase())))
}

/// SQL for timestamp `t` plus `n` `part`s.
fn date_add(part: Part, n: &str, t: &str) -> String {
    let (unit, per_part) = part.interval();
    format!("{t} + {INTERVAL_MUL}(INTERVAL '1 {unit}', ({n}) * {per_part})")
}

/// SQL for the DATE of the last day of timestamp `t`'s month.
fn last_day(t: &str) -> String {
    format!("CAST(date_trunc('month', {t}) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE)")
}

#[cfg(test)]
mod tests {
    use crate::sql::{column_names, parse_statement, redshift_idioms};

    /// The columns keep Redshift's names for the functions after they become expressions.
    #[test]
    fn columns_are_named_date_add_and_date_diff() {
        let mut statement = parse_statement("SELECT DATEADD(day, 1, a), DATEDIFF('d', a, b), DATEDIFF(d, a, b) AS n FROM t").unwrap();
        column_names::name_columns(&mut statement);
        redshift_idioms::rewrite(&mut statement).unwrap();
        let sql = statement.to_string();
        assert!(sql.contains("AS \"date_add\", "), "{sql}");
        assert!(sql.contains("AS \"date_diff\", "), "{sql}");
        assert!(sql.ends_with("AS n FROM t"), "{sql}");
        assert!(!sql.to_lowercase().contains("dateadd") && !sql.to_lowercase().contains("datediff"), "{sql}");
    }
}
