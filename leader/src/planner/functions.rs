//! SQL functions Redshift has and DataFusion lacks or defines differently.

use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// What `version()` returns: PostgreSQL 8.0.2 first (tools parse that prefix), then Redshift's
/// and Blueshift's versions.
pub fn version_string() -> String {
    format!(
        "PostgreSQL 8.0.2 on {}-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.0, Blueshift {}",
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    )
}

/// Which value a [`Constant`] function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Value {
    Version,
    Database,
    Now,
}

impl Value {
    fn get(self) -> ScalarValue {
        match self {
            Value::Version => ScalarValue::Utf8(Some(version_string())),
            Value::Database => ScalarValue::Utf8(Some(crate::catalog::DATABASE.to_string())),
            Value::Now => now_micros(),
        }
    }
}

/// A function of no arguments.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Constant {
    name: &'static str,
    signature: Signature,
    value: Value,
    data_type: DataType,
}

impl ScalarUDFImpl for Constant {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.data_type.clone())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value.get()))
    }
}

fn constant(name: &'static str, data_type: DataType, volatility: Volatility, value: Value) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(Constant {
        name,
        signature: Signature::nullary(volatility),
        value,
        data_type,
    }))
}

fn now_micros() -> ScalarValue {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    ScalarValue::TimestampMicrosecond(Some(micros), None)
}

/// Functions registered on every session, replacing DataFusion's of the same name.
pub fn redshift_functions() -> Vec<Arc<ScalarUDF>> {
    let timestamp = DataType::Timestamp(TimeUnit::Microsecond, None);
    vec![
        constant("version", DataType::Utf8, Volatility::Stable, Value::Version),
        constant("current_database", DataType::Utf8, Volatility::Stable, Value::Database),
        // GETDATE() and SYSDATE: the current time, without time zone, as in Redshift.
        constant("getdate", timestamp.clone(), Volatility::Volatile, Value::Now),
        constant("sysdate", timestamp, Volatility::Volatile, Value::Now),
    ]
}
