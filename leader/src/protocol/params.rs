//! Bind parameters: from the wire (text or binary) to typed values.

use arrow::datatypes::{DataType, TimeUnit};
use bytes::Bytes;
use datafusion::common::ScalarValue;
use pgwire::api::Type;
use pgwire::api::results::FieldFormat;

use super::encode::{PG_EPOCH_DAYS, PG_EPOCH_MICROS, decode_numeric};
use crate::catalog::types::UTC;
use crate::error::{Error, Result, SqlState};

/// The Arrow type a parameter declared as `t` by the client carries.
pub fn arrow_type(t: &Type) -> Option<DataType> {
    Some(match *t {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 | Type::OID => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::NUMERIC => DataType::Decimal128(38, 10),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::CHAR => DataType::Utf8,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        Type::TIME => DataType::Time64(TimeUnit::Microsecond),
        Type::BYTEA => DataType::Binary,
        _ => return None,
    })
}

fn invalid(t: &Type) -> Error {
    Error::new(
        SqlState::InvalidTextRepresentation,
        format!("invalid binary value for a parameter of type {}", t.name()),
    )
}

fn fixed<const N: usize>(bytes: &[u8], t: &Type) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| invalid(t))
}

/// A binary-format parameter of client type `t`.
fn decode_binary(bytes: &[u8], t: &Type) -> Result<ScalarValue> {
    Ok(match *t {
        Type::BOOL => ScalarValue::Boolean(Some(fixed::<1>(bytes, t)?[0] != 0)),
        Type::INT2 => ScalarValue::Int16(Some(i16::from_be_bytes(fixed(bytes, t)?))),
        Type::INT4 | Type::OID => ScalarValue::Int32(Some(i32::from_be_bytes(fixed(bytes, t)?))),
        Type::INT8 => ScalarValue::Int64(Some(i64::from_be_bytes(fixed(bytes, t)?))),
        Type::FLOAT4 => ScalarValue::Float32(Some(f32::from_be_bytes(fixed(bytes, t)?))),
        Type::FLOAT8 => ScalarValue::Float64(Some(f64::from_be_bytes(fixed(bytes, t)?))),
        Type::NUMERIC => {
            let dscale = if bytes.len() >= 8 { u16::from_be_bytes([bytes[6], bytes[7]]) } else { 0 };
            let scale = dscale.min(37) as i8;
            ScalarValue::Decimal128(Some(decode_numeric(bytes, scale)?), 38, scale)
        }
        Type::DATE => ScalarValue::Date32(Some(i32::from_be_bytes(fixed(bytes, t)?) + PG_EPOCH_DAYS)),
        Type::TIMESTAMP => ScalarValue::TimestampMicrosecond(Some(i64::from_be_bytes(fixed(bytes, t)?) + PG_EPOCH_MICROS), None),
        Type::TIMESTAMPTZ => ScalarValue::TimestampMicrosecond(
            Some(i64::from_be_bytes(fixed(bytes, t)?) + PG_EPOCH_MICROS),
            Some(UTC.into()),
        ),
        Type::TIME => ScalarValue::Time64Microsecond(Some(i64::from_be_bytes(fixed(bytes, t)?))),
        Type::BYTEA => ScalarValue::Binary(Some(bytes.to_vec())),
        _ => ScalarValue::Utf8(Some(
            String::from_utf8(bytes.to_vec()).map_err(|_| invalid(t))?,
        )),
    })
}

/// Decodes bound parameters. Each value is converted to the type the plan inferred for it where
/// known, else to the type the client declared, else kept as text.
pub fn decode_params(
    values: &[Option<Bytes>],
    format: impl Fn(usize) -> FieldFormat,
    client_types: &[Option<Type>],
    inferred: &[Option<DataType>],
) -> Result<Vec<ScalarValue>> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let client = client_types.get(i).cloned().flatten().filter(|t| *t != Type::UNKNOWN);
            let target = inferred
                .get(i)
                .cloned()
                .flatten()
                .or_else(|| client.as_ref().and_then(arrow_type))
                .unwrap_or(DataType::Utf8);
            let Some(bytes) = value else {
                return Ok(ScalarValue::try_from(&target)?);
            };
            let raw = if format(i) == FieldFormat::Binary {
                // Binary values arrive in the type the client declared, or else in the type the
                // server described the parameter as.
                let wire = client.clone().unwrap_or_else(|| super::encode::pg_type(&target));
                decode_binary(bytes, &wire)?
            } else {
                ScalarValue::Utf8(Some(String::from_utf8(bytes.to_vec()).map_err(|_| {
                    Error::new(SqlState::InvalidTextRepresentation, "parameter is not valid UTF-8")
                })?))
            };
            if raw.data_type() == target {
                return Ok(raw);
            }
            raw.cast_to(&target).map_err(|e| {
                Error::new(
                    SqlState::InvalidTextRepresentation,
                    format!("invalid input for parameter ${}: {e}", i + 1),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_parameters() {
        let values = vec![
            Some(Bytes::from_static(b"42")),
            Some(Bytes::from(7i64.to_be_bytes().to_vec())),
            None,
            Some(Bytes::from_static(b"2024-01-02")),
        ];
        let formats = |i: usize| if i == 1 { FieldFormat::Binary } else { FieldFormat::Text };
        let decoded = decode_params(
            &values,
            formats,
            &[None, Some(Type::INT8), None, None],
            &[Some(DataType::Int32), Some(DataType::Int64), Some(DataType::Utf8), Some(DataType::Date32)],
        )
        .unwrap();
        assert_eq!(decoded[0], ScalarValue::Int32(Some(42)));
        assert_eq!(decoded[1], ScalarValue::Int64(Some(7)));
        assert_eq!(decoded[2], ScalarValue::Utf8(None));
        assert_eq!(decoded[3], ScalarValue::Date32(Some(19_724)));
    }
}
