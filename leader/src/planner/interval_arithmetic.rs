//! An interval times or divided by a number (`3 * INTERVAL '1 day'`, `INTERVAL '1 hour' / 4`),
//! which Redshift computes as PostgreSQL does and DataFusion does not plan at all. The SQL
//! rewrite ([`crate::sql::redshift_idioms`]) turns those operators into calls of
//! `interval_mul(interval, factor)` and `interval_div(interval, divisor)`, PostgreSQL's names for
//! the functions behind them.
//!
//! As in PostgreSQL, the whole months of the product stay months and its fraction of a month
//! becomes days at 30 days a month; the whole days stay days and the fraction of a day becomes
//! time at 24 hours a day. Time is kept to the microsecond, Redshift's precision.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, IntervalMonthDayNanoArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

pub const INTERVAL_MUL: &str = "interval_mul";
pub const INTERVAL_DIV: &str = "interval_div";

const INTERVAL: DataType = DataType::Interval(IntervalUnit::MonthDayNano);
const DAYS_PER_MONTH: f64 = 30.0;
const NANOS_PER_DAY: f64 = 86_400e9;
const NANOS_PER_MICRO: f64 = 1e3;

#[derive(Debug, PartialEq, Eq, Hash)]
struct IntervalScale {
    name: &'static str,
    divide: bool,
    signature: Signature,
}

impl ScalarUDFImpl for IntervalScale {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [DataType::Interval(_), factor] if factor.is_numeric() || factor.is_null() => Ok(INTERVAL),
            _ => plan_err!("{} takes an interval and a number, not {args:?}", self.name),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let [interval, factor] = ColumnarValue::values_to_arrays(&args.args)?.try_into().expect("two arguments");
        let interval = cast(&interval, &INTERVAL)?;
        let factor = cast(&factor, &DataType::Float64)?;
        let (interval, factor) = (interval.as_primitive::<IntervalMonthDayNanoType>(), factor.as_primitive::<Float64Type>());
        let mut scaled = Vec::with_capacity(rows);
        for row in 0..interval.len() {
            if interval.is_null(row) || factor.is_null(row) {
                scaled.push(None);
                continue;
            }
            let by = factor.value(row);
            if self.divide && by == 0.0 {
                return exec_err!("division by zero");
            }
            scaled.push(Some(scale(interval.value(row), if self.divide { 1.0 / by } else { by })?));
        }
        let array: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from(scaled));
        Ok(match scalar {
            true => ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?),
            false => ColumnarValue::Array(array),
        })
    }
}

/// `interval` times `factor`, spreading fractions of months into days and of days into time.
fn scale(interval: IntervalMonthDayNano, factor: f64) -> Result<IntervalMonthDayNano> {
    let months = f64::from(interval.months) * factor;
    let whole_months = months.trunc();
    let days = f64::from(interval.days) * factor + (months - whole_months) * DAYS_PER_MONTH;
    let whole_days = days.trunc();
    let nanos = (interval.nanoseconds as f64 * factor + (days - whole_days) * NANOS_PER_DAY) / NANOS_PER_MICRO;
    let nanos = nanos.round() * NANOS_PER_MICRO;
    let fits = |v: f64, max: f64| v.is_finite() && v.abs() <= max;
    if !fits(whole_months, f64::from(i32::MAX)) || !fits(whole_days, f64::from(i32::MAX)) || !fits(nanos, i64::MAX as f64) {
        return exec_err!("interval out of range");
    }
    // An integer factor of an interval with no fractions is exact, however large its time part.
    let exact_nanos = (factor.fract() == 0.0 && factor.abs() <= f64::from(i32::MAX))
        .then(|| interval.nanoseconds.checked_mul(factor as i64))
        .flatten();
    Ok(IntervalMonthDayNano::new(whole_months as i32, whole_days as i32, exact_nanos.unwrap_or(nanos as i64)))
}

fn interval_scale(name: &'static str, divide: bool) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(IntervalScale {
        name,
        divide,
        signature: Signature::any(2, Volatility::Immutable),
    }))
}

/// `interval_mul` and `interval_div`.
pub fn interval_functions() -> Vec<Arc<ScalarUDF>> {
    vec![interval_scale(INTERVAL_MUL, false), interval_scale(INTERVAL_DIV, true)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;

    #[test]
    fn fractions_spread_into_smaller_units() {
        let interval = |months, days, nanos| IntervalMonthDayNano::new(months, days, nanos);
        assert_eq!(scale(interval(0, 1, 0), 3.0).unwrap(), interval(0, 3, 0));
        assert_eq!(scale(interval(1, 1, HOUR), 2.0).unwrap(), interval(2, 2, 2 * HOUR));
        // Half a month is 15 days; half a day is 12 hours.
        assert_eq!(scale(interval(1, 1, 0), 0.5).unwrap(), interval(0, 15, 12 * HOUR));
        assert_eq!(scale(interval(0, 0, HOUR), 0.25).unwrap(), interval(0, 0, HOUR / 4));
        assert_eq!(scale(interval(0, 1, 0), -1.5).unwrap(), interval(0, -1, -12 * HOUR));
        // A time part too large for a double's precision stays exact under an integer factor.
        assert_eq!(scale(interval(0, 0, 100_003 * HOUR + 1_000), 3.0).unwrap(), interval(0, 0, 3 * (100_003 * HOUR + 1_000)));
        assert!(scale(interval(i32::MAX, 0, 0), 2.0).is_err());
    }
}
