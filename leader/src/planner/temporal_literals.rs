//! Timestamp and date literals in the forms Redshift reads.
//!
//! Arrow's cast from a string reads ISO timestamps with seconds only, so `'2009-01-02 00:01'`,
//! `'01/02/2009 00:01'` or `'Jan 2 2009'` failed wherever a literal became a TIMESTAMP or DATE:
//! an explicit cast, a typed literal, or the cast type coercion puts on `ts > '...'`. This
//! analyzer rule runs after type coercion and turns each cast of a string literal that Arrow
//! cannot read, but COPY's `'auto'` format can ([`Formats`], Redshift's list), into the value it
//! names; PostgreSQL's `'epoch'` is read too. Casts of columns keep Arrow's rules; a literal
//! neither reads is left for Arrow's error.

use arrow::datatypes::{DataType, TimeUnit};
use blueshift_compute::load::datetime::Formats;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::Cast;
use datafusion::logical_expr::{Expr, LogicalPlan, lit};
use datafusion::optimizer::AnalyzerRule;

#[derive(Debug, Default)]
pub struct TemporalLiterals;

impl AnalyzerRule for TemporalLiterals {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let formats = Formats::new(Some("auto"), Some("auto")).expect("'auto' is a valid format");
        super::rewrite_expressions(plan, |_| Ok(Some(|expr| read_literal(expr, &formats))))
    }

    fn name(&self) -> &str {
        "redshift_temporal_literals"
    }
}

/// `expr` with a cast of a string literal to a timestamp or date that Arrow cannot read replaced
/// by the value `formats` reads.
fn read_literal(expr: Expr, formats: &Formats) -> Transformed<Expr> {
    let Expr::Cast(Cast { expr: operand, field }) = &expr else {
        return Transformed::no(expr);
    };
    let data_type = field.data_type();
    let Expr::Literal(ScalarValue::Utf8(Some(text)) | ScalarValue::Utf8View(Some(text)) | ScalarValue::LargeUtf8(Some(text)), _) = operand.as_ref() else {
        return Transformed::no(expr);
    };
    if !matches!(data_type, DataType::Timestamp(..) | DataType::Date32) || ScalarValue::Utf8(Some(text.clone())).cast_to(data_type).is_ok() {
        return Transformed::no(expr);
    }
    let text = text.trim();
    // PostgreSQL's special value, which Redshift's epoch arithmetic starts from
    // (`TIMESTAMP 'epoch' + seconds * INTERVAL '1 second'`).
    let epoch = text.eq_ignore_ascii_case("epoch");
    let value = match data_type {
        DataType::Date32 if epoch => Some(ScalarValue::Date32(Some(0))),
        DataType::Timestamp(_, zone) if epoch => Some(ScalarValue::TimestampMicrosecond(Some(0), zone.clone())),
        DataType::Date32 => formats.date(text).map(|days| ScalarValue::Date32(Some(days))),
        DataType::Timestamp(_, zone) => {
            formats.timestamp(text).map(|micros| ScalarValue::TimestampMicrosecond(Some(micros), zone.clone()))
        }
        _ => None,
    };
    match value {
        // Another unit than microseconds (not one Blueshift stores) is a cast between units.
        Some(value) if matches!(data_type, DataType::Timestamp(unit, _) if *unit != TimeUnit::Microsecond) => {
            Transformed::yes(Expr::Cast(Cast::new(Box::new(lit(value)), data_type.clone())))
        }
        Some(value) => Transformed::yes(lit(value)),
        None => Transformed::no(expr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, data_type: DataType) -> Expr {
        let formats = Formats::new(Some("auto"), Some("auto")).unwrap();
        read_literal(Expr::Cast(Cast::new(Box::new(lit(text)), data_type)), &formats).data
    }

    #[test]
    fn literals_arrow_cannot_read_are_read_as_redshift_does() {
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, None);
        // 2009-01-02 00:01 UTC.
        let micros = 1_230_854_460_000_000;
        assert_eq!(read("2009-01-02 00:01", timestamp.clone()), lit(ScalarValue::TimestampMicrosecond(Some(micros), None)));
        assert_eq!(read("01/02/2009 00:01", timestamp.clone()), lit(ScalarValue::TimestampMicrosecond(Some(micros), None)));
        let zoned = DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()));
        assert_eq!(read("2009-01-02 00:01", zoned), lit(ScalarValue::TimestampMicrosecond(Some(micros), Some("+00:00".into()))));
        assert_eq!(read("Jan 2 2009", DataType::Date32), lit(ScalarValue::Date32(Some(14246))));
        // What Arrow reads stays a cast for Arrow, and what neither reads is left for its error.
        let cast = |text: &str, data_type: DataType| Expr::Cast(Cast::new(Box::new(lit(text)), data_type));
        assert_eq!(read("2009-01-02 00:01:00", timestamp.clone()), cast("2009-01-02 00:01:00", timestamp.clone()));
        assert_eq!(read("not a time", timestamp.clone()), cast("not a time", timestamp));
        let nanos = DataType::Timestamp(TimeUnit::Nanosecond, None);
        assert_eq!(
            read("2009-01-02 00:01", nanos.clone()),
            Expr::Cast(Cast::new(Box::new(lit(ScalarValue::TimestampMicrosecond(Some(micros), None))), nanos))
        );
    }
}
