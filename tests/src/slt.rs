//! The sqllogictest engine: runs `.slt` records against a Blueshift leader over pgwire, in the
//! simple query protocol (text results) or the extended protocol (prepared statements, binary
//! results), with both rendering values the same way so one expected output serves both.

use std::fmt;

use async_trait::async_trait;
use arrow::datatypes::IntervalMonthDayNano;
use blueshift_leader::protocol::encode::{format_float, format_interval};
use rust_decimal::Decimal;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, SimpleQueryMessage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Simple,
    Extended,
}

pub struct Postgres {
    pub client: Client,
    pub protocol: Protocol,
}

/// A failed statement, with its SQLSTATE in the message so `.slt` files can match it.
#[derive(Debug)]
pub struct SqlError(pub String);

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SqlError {}

impl From<tokio_postgres::Error> for SqlError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => SqlError(format!("{} [SQLSTATE {}]", db.message(), db.code().code())),
            None => SqlError(e.to_string()),
        }
    }
}

/// How `.slt` files show a value.
fn render(value: Option<String>) -> String {
    match value {
        None => "NULL".into(),
        Some(s) if s.is_empty() => "(empty)".into(),
        Some(s) => s,
    }
}

fn binary_value(row: &tokio_postgres::Row, i: usize, t: &Type) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(match *t {
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(|b| if b { "t" } else { "f" }.to_string()),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| v.to_string()),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| v.to_string()),
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(|v| v.to_string()),
        Type::OID => row.try_get::<_, Option<u32>>(i)?.map(|v| v.to_string()),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map(|v| format_float(f64::from(v), 6, 0)),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(|v| format_float(v, 15, 0)),
        Type::NUMERIC => row.try_get::<_, Option<Decimal>>(i)?.map(|v| v.to_string()),
        Type::DATE => row
            .try_get::<_, Option<chrono::NaiveDate>>(i)?
            .map(|v| v.format("%Y-%m-%d").to_string()),
        Type::TIMESTAMP => row
            .try_get::<_, Option<chrono::NaiveDateTime>>(i)?
            .map(|v| v.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
        Type::TIMESTAMPTZ => row
            .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)?
            .map(|v| format!("{}+00", v.format("%Y-%m-%d %H:%M:%S%.f"))),
        Type::TIME => row
            .try_get::<_, Option<chrono::NaiveTime>>(i)?
            .map(|v| v.format("%H:%M:%S%.f").to_string()),
        // Arrays in their text form, `{1,2}`, as the simple protocol shows them.
        Type::INT2_ARRAY => array_text(row.try_get::<_, Option<Vec<Option<i16>>>>(i)?),
        Type::INT4_ARRAY => array_text(row.try_get::<_, Option<Vec<Option<i32>>>>(i)?),
        Type::INT8_ARRAY => array_text(row.try_get::<_, Option<Vec<Option<i64>>>>(i)?),
        Type::TEXT_ARRAY => array_text(row.try_get::<_, Option<Vec<Option<String>>>>(i)?),
        Type::INTERVAL => row.try_get::<_, Option<Interval>>(i)?.map(|v| format_interval(v.0)),
        _ => row.try_get::<_, Option<String>>(i)?,
    })
}

/// PostgreSQL's binary interval: microseconds, days, months.
struct Interval(IntervalMonthDayNano);

impl<'a> tokio_postgres::types::FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let bytes: [u8; 16] = raw.try_into()?;
        let micros = i64::from_be_bytes(bytes[..8].try_into()?);
        let days = i32::from_be_bytes(bytes[8..12].try_into()?);
        let months = i32::from_be_bytes(bytes[12..].try_into()?);
        Ok(Interval(IntervalMonthDayNano::new(months, days, micros * 1_000)))
    }

    fn accepts(t: &Type) -> bool {
        *t == Type::INTERVAL
    }
}

fn array_text<T: ToString>(values: Option<Vec<Option<T>>>) -> Option<String> {
    values.map(|values| {
        let quoted = |text: String| {
            let plain = !text.is_empty() && !text.contains(['{', '}', ',', '"', '\\', ' ']) && !text.eq_ignore_ascii_case("null");
            if plain { text } else { format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")) }
        };
        let elements: Vec<String> = values.iter().map(|v| v.as_ref().map_or("NULL".into(), |v| quoted(v.to_string()))).collect();
        format!("{{{}}}", elements.join(","))
    })
}

#[async_trait]
impl AsyncDB for Postgres {
    type Error = SqlError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        match self.protocol {
            Protocol::Simple => {
                let messages = self.client.simple_query(sql).await?;
                let mut rows = Vec::new();
                let mut columns = None;
                let mut count = 0;
                for message in messages {
                    match message {
                        SimpleQueryMessage::RowDescription(description) => {
                            columns = Some(description.len());
                            rows.clear();
                        }
                        SimpleQueryMessage::Row(row) => {
                            rows.push((0..row.len()).map(|i| render(row.get(i).map(str::to_string))).collect());
                        }
                        SimpleQueryMessage::CommandComplete(n) => count = n,
                        _ => {}
                    }
                }
                Ok(match columns {
                    Some(n) => DBOutput::Rows {
                        types: vec![DefaultColumnType::Any; n],
                        rows,
                    },
                    None => DBOutput::StatementComplete(count),
                })
            }
            Protocol::Extended => {
                let statement = self.client.prepare(sql).await?;
                if statement.columns().is_empty() {
                    return Ok(DBOutput::StatementComplete(self.client.execute(&statement, &[]).await?));
                }
                let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
                let result = self.client.query(&statement, &[]).await?;
                let rows = result
                    .iter()
                    .map(|row| {
                        types
                            .iter()
                            .enumerate()
                            .map(|(i, t)| binary_value(row, i, t).map(render))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(DBOutput::Rows {
                    types: vec![DefaultColumnType::Any; types.len()],
                    rows,
                })
            }
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        match self.protocol {
            Protocol::Simple => "blueshift-simple",
            Protocol::Extended => "blueshift-extended",
        }
    }

    async fn sleep(duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}
