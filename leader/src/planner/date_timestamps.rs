//! Where a DATE meets a TIMESTAMP or an INTERVAL, the date becomes a timestamp in microseconds.
//!
//! DataFusion's arithmetic keeps a DATE plus or minus an INTERVAL a DATE, dropping the
//! interval's time of day: `DATE '2020-01-01' - INTERVAL '1 hour'` was 2020-01-01 where Redshift
//! gives the TIMESTAMP 2019-12-31 23:00:00. And its coercion compares a date with a timestamp as
//! nanoseconds, which end in 2262: a date column holding the common "no end" sentinel
//! 9999-12-31 (or 0001-01-01) failed every such comparison with a cast overflow. This analyzer
//! rule runs before type coercion and casts the date operand of a date ± interval, and of a
//! comparison or BETWEEN with a timestamp, to a timestamp in microseconds (Redshift's precision,
//! covering years 1 to 9999; a nanosecond timestamp it meets comes down to microseconds too).
//! A comparison of a date column cast this way still prunes on the zone maps: DataFusion's
//! pruning reads an order-keeping cast through the column's bounds, as for TPC-H's
//! `l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY`.

use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::{Between, BinaryExpr, Cast};
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;

#[derive(Debug, Default)]
pub struct DateTimestamps;

impl AnalyzerRule for DateTimestamps {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        super::rewrite_expressions(plan, |plan| {
            // A VALUES list keeps the types it was planned with, which its rows are built to; an
            // INSERT's VALUES are cast to the table's types by then anyway.
            if matches!(plan, LogicalPlan::Values(_)) {
                return Ok(None);
            }
            let mut schema = merge_schema(&plan.inputs());
            if let LogicalPlan::TableScan(scan) = plan {
                schema.merge(&DFSchema::try_from_qualified_schema(scan.table_name.clone(), &scan.source.schema())?);
            }
            Ok(Some(move |expr| dates_as_timestamps(expr, &schema)))
        })
    }

    fn name(&self) -> &str {
        "redshift_date_timestamps"
    }
}

/// `expr` with the operands named in the module documentation cast to microsecond timestamps.
/// An operand whose type cannot be told yet is left for type coercion to report.
fn dates_as_timestamps(expr: Expr, schema: &DFSchema) -> Transformed<Expr> {
    let type_of = |e: &Expr| e.get_type(schema).ok();
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (left_type, right_type) = (type_of(&left), type_of(&right));
            let comparison = matches!(
                op,
                Operator::Eq
                    | Operator::NotEq
                    | Operator::Lt
                    | Operator::LtEq
                    | Operator::Gt
                    | Operator::GtEq
                    | Operator::IsDistinctFrom
                    | Operator::IsNotDistinctFrom
            );
            let (left, right) = match (&left_type, &right_type) {
                (Some(date), Some(DataType::Interval(_))) if is_date(date) && matches!(op, Operator::Plus | Operator::Minus) => {
                    (micros(left, None), right)
                }
                (Some(DataType::Interval(_)), Some(date)) if is_date(date) && op == Operator::Plus => (left, micros(right, None)),
                (Some(date), Some(DataType::Timestamp(unit, zone))) if is_date(date) && comparison => {
                    (micros(left, zone.clone()), in_micros(right, unit, zone))
                }
                (Some(DataType::Timestamp(unit, zone)), Some(date)) if is_date(date) && comparison => {
                    (in_micros(left, unit, zone), micros(right, zone.clone()))
                }
                _ => return Transformed::no(Expr::BinaryExpr(BinaryExpr { left, op, right })),
            };
            Transformed::yes(Expr::BinaryExpr(BinaryExpr { left, op, right }))
        }
        Expr::Between(between) => {
            let bound_zone = [&between.low, &between.high].into_iter().find_map(|bound| match type_of(bound) {
                Some(DataType::Timestamp(_, zone)) => Some(zone),
                _ => None,
            });
            match (type_of(&between.expr), bound_zone) {
                (Some(date), Some(zone)) if is_date(&date) => {
                    let bound = |bound: Box<Expr>| match type_of(&bound) {
                        Some(DataType::Timestamp(unit, zone)) => in_micros(bound, &unit, &zone),
                        Some(date) if is_date(&date) => micros(bound, zone.clone()),
                        _ => bound,
                    };
                    Transformed::yes(Expr::Between(Between {
                        expr: micros(between.expr, zone.clone()),
                        negated: between.negated,
                        low: bound(between.low),
                        high: bound(between.high),
                    }))
                }
                _ => Transformed::no(Expr::Between(between)),
            }
        }
        other => Transformed::no(other),
    }
}

fn is_date(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Date32 | DataType::Date64)
}

/// `expr` cast to a microsecond timestamp in `zone`.
fn micros(expr: Box<Expr>, zone: Option<Arc<str>>) -> Box<Expr> {
    Box::new(Expr::Cast(Cast::new(expr, DataType::Timestamp(TimeUnit::Microsecond, zone))))
}

/// `expr`, a timestamp in `unit`, in microseconds.
fn in_micros(expr: Box<Expr>, unit: &TimeUnit, zone: &Option<Arc<str>>) -> Box<Expr> {
    if *unit == TimeUnit::Microsecond { expr } else { micros(expr, zone.clone()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use datafusion::common::tree_node::TreeNode;
    use datafusion::logical_expr::{col, lit};
    use datafusion::scalar::ScalarValue;

    fn schema() -> DFSchema {
        let fields = vec![
            Field::new("d", DataType::Date32, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("ns", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        ];
        DFSchema::try_from(Schema::new(fields)).unwrap()
    }

    fn rewrite(expr: Expr) -> Expr {
        expr.transform_up(|e| Ok(dates_as_timestamps(e, &schema()))).unwrap().data
    }

    fn micros(expr: Expr) -> Expr {
        Expr::Cast(Cast::new(Box::new(expr), DataType::Timestamp(TimeUnit::Microsecond, None)))
    }

    #[test]
    fn dates_meeting_intervals_and_timestamps_become_microsecond_timestamps() {
        let day = lit(ScalarValue::new_interval_mdn(0, 1, 0));
        assert_eq!(rewrite(col("d") - day.clone()), micros(col("d")) - day.clone());
        assert_eq!(rewrite(day.clone() + col("d")), day.clone() + micros(col("d")));
        assert_eq!(rewrite(col("d").lt_eq(col("ts"))), micros(col("d")).lt_eq(col("ts")));
        assert_eq!(rewrite(col("ns").gt(col("d"))), micros(col("ns")).gt(micros(col("d"))));
        // The sum is a timestamp already when the comparison around it is rewritten.
        assert_eq!(rewrite(col("d").lt(col("d") + day.clone())), micros(col("d")).lt(micros(col("d")) + day.clone()));
        assert_eq!(
            rewrite(col("d").between(col("ts"), col("d"))),
            micros(col("d")).between(col("ts"), micros(col("d")))
        );
    }

    #[test]
    fn dates_among_themselves_and_with_numbers_stay_dates() {
        for expr in [col("d").lt(col("d")), col("d") + lit(1), col("d").between(col("d"), col("d")), col("ts").lt(col("ts"))] {
            assert_eq!(rewrite(expr.clone()), expr);
        }
    }
}
