//! Redshift's column types: parsing from SQL, their Arrow representation, and how PostgreSQL
//! clients see them.

use std::fmt;

use arrow::datatypes::DataType;
use blueshift_compute::load::ColumnKind;
use serde::{Deserialize, Serialize};
use sqlparser::ast::{self, CharacterLength, ExactNumberInfo, TimezoneInfo};

use crate::error::{Error, Result, SqlState};

/// Longest VARCHAR, in bytes (`VARCHAR(MAX)`).
pub const VARCHAR_MAX: u32 = 65_535;
/// Longest CHAR, in bytes (`CHAR(MAX)`).
pub const CHAR_MAX: u32 = 4_096;
/// Length of a VARCHAR declared without one, and of TEXT.
pub const VARCHAR_DEFAULT: u32 = 256;
/// Timestamps are stored in UTC; TIMESTAMPTZ values are marked with this zone.
pub const UTC: &str = blueshift_compute::load::convert::UTC;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SqlType {
    SmallInt,
    Integer,
    BigInt,
    Decimal { precision: u8, scale: i8 },
    Real,
    Double,
    Boolean,
    Char { length: u32 },
    Varchar { length: u32 },
    Date,
    Timestamp,
    Timestamptz,
    Time,
}

impl SqlType {
    /// The type a column declared as `data_type` gets, with Redshift's aliases and defaults.
    pub fn from_ast(data_type: &ast::DataType) -> Result<SqlType> {
        use ast::DataType as D;
        let unsupported = || {
            Error::new(
                SqlState::FeatureNotSupported,
                format!("Column type {data_type} is not supported"),
            )
        };
        Ok(match data_type {
            D::SmallInt(_) | D::Int2(_) => SqlType::SmallInt,
            D::Int(_) | D::Integer(_) | D::Int4(_) => SqlType::Integer,
            D::BigInt(_) | D::Int8(_) => SqlType::BigInt,
            D::Decimal(info) | D::Numeric(info) | D::Dec(info) => decimal(info)?,
            D::Real | D::Float4 => SqlType::Real,
            D::Double(_) | D::DoublePrecision | D::Float8 | D::Float64 => SqlType::Double,
            D::Float(ExactNumberInfo::Precision(p)) if *p <= 24 => SqlType::Real,
            D::Float(_) => SqlType::Double,
            D::Bool | D::Boolean => SqlType::Boolean,
            D::Char(len) | D::Character(len) => SqlType::Char {
                length: char_length(len.as_ref(), 1, CHAR_MAX)?,
            },
            D::Varchar(len) | D::CharacterVarying(len) | D::CharVarying(len) | D::Nvarchar(len) => {
                SqlType::Varchar {
                    length: char_length(len.as_ref(), VARCHAR_DEFAULT, VARCHAR_MAX)?,
                }
            }
            D::Text | D::String(None) => SqlType::Varchar {
                length: VARCHAR_DEFAULT,
            },
            D::Date => SqlType::Date,
            D::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => SqlType::Timestamptz,
            D::Timestamp(_, _) | D::Datetime(_) => SqlType::Timestamp,
            D::Time(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => SqlType::Time,
            D::Custom(name, modifiers) => {
                let name = name.to_string().to_ascii_lowercase();
                match (name.as_str(), modifiers.as_slice()) {
                    ("timestamptz", _) => SqlType::Timestamptz,
                    ("bpchar" | "nchar", []) => SqlType::Char { length: VARCHAR_DEFAULT },
                    ("bpchar" | "nchar", [n]) => SqlType::Char {
                        length: parse_length(n, CHAR_MAX)?,
                    },
                    ("float" | "float8", _) => SqlType::Double,
                    ("nvarchar", []) => SqlType::Varchar {
                        length: VARCHAR_DEFAULT,
                    },
                    ("nvarchar", [n]) => SqlType::Varchar {
                        length: parse_length(n, VARCHAR_MAX)?,
                    },
                    _ => return Err(unsupported()),
                }
            }
            _ => return Err(unsupported()),
        })
    }

    /// The Arrow type values of this SQL type are held in.
    pub fn arrow_type(&self) -> DataType {
        self.column_kind().arrow_type()
    }

    /// The type as the loader (which lives on the compute side) knows it.
    pub fn column_kind(&self) -> ColumnKind {
        match *self {
            SqlType::SmallInt => ColumnKind::SmallInt,
            SqlType::Integer => ColumnKind::Integer,
            SqlType::BigInt => ColumnKind::BigInt,
            SqlType::Decimal { precision, scale } => ColumnKind::Decimal { precision, scale },
            SqlType::Real => ColumnKind::Real,
            SqlType::Double => ColumnKind::Double,
            SqlType::Boolean => ColumnKind::Boolean,
            SqlType::Char { length } => ColumnKind::Char(length),
            SqlType::Varchar { length } => ColumnKind::Varchar(length),
            SqlType::Date => ColumnKind::Date,
            SqlType::Timestamp => ColumnKind::Timestamp,
            SqlType::Timestamptz => ColumnKind::Timestamptz,
            SqlType::Time => ColumnKind::Time,
        }
    }

    /// The SQL type a computed Arrow column is reported as (CREATE TABLE AS, result sets).
    pub fn from_arrow(data_type: &DataType) -> Result<SqlType> {
        Ok(match data_type {
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => SqlType::SmallInt,
            DataType::Int32 | DataType::UInt16 => SqlType::Integer,
            DataType::Int64 | DataType::UInt32 => SqlType::BigInt,
            DataType::UInt64 => SqlType::Decimal {
                precision: 20,
                scale: 0,
            },
            DataType::Decimal128(p, s) => SqlType::Decimal {
                precision: (*p).min(38),
                scale: *s,
            },
            DataType::Float16 | DataType::Float32 => SqlType::Real,
            DataType::Float64 => SqlType::Double,
            DataType::Boolean => SqlType::Boolean,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                SqlType::Varchar {
                    length: VARCHAR_DEFAULT,
                }
            }
            DataType::Date32 | DataType::Date64 => SqlType::Date,
            DataType::Timestamp(_, None) => SqlType::Timestamp,
            DataType::Timestamp(_, Some(_)) => SqlType::Timestamptz,
            DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
            other => {
                return Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("values of type {other} cannot be stored in a table"),
                ));
            }
        })
    }

    /// `pg_type` name, as `format_type` and information_schema report it.
    pub fn pg_name(&self) -> String {
        match self {
            SqlType::SmallInt => "smallint".into(),
            SqlType::Integer => "integer".into(),
            SqlType::BigInt => "bigint".into(),
            SqlType::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
            SqlType::Real => "real".into(),
            SqlType::Double => "double precision".into(),
            SqlType::Boolean => "boolean".into(),
            SqlType::Char { length } => format!("character({length})"),
            SqlType::Varchar { length } => format!("character varying({length})"),
            SqlType::Date => "date".into(),
            SqlType::Timestamp => "timestamp without time zone".into(),
            SqlType::Timestamptz => "timestamp with time zone".into(),
            SqlType::Time => "time without time zone".into(),
        }
    }

    /// Whether a DISTKEY or SORTKEY may be declared on a column of this type (all of Blueshift's
    /// types qualify, as in Redshift).
    pub fn can_be_key(&self) -> bool {
        true
    }

    pub fn is_character(&self) -> bool {
        matches!(self, SqlType::Char { .. } | SqlType::Varchar { .. })
    }

    /// The declared maximum length in bytes of a character type.
    pub fn max_length(&self) -> Option<u32> {
        match self {
            SqlType::Char { length } | SqlType::Varchar { length } => Some(*length),
            _ => None,
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pg_name())
    }
}

fn decimal(info: &ExactNumberInfo) -> Result<SqlType> {
    let (precision, scale) = match info {
        ExactNumberInfo::None => (18, 0),
        ExactNumberInfo::Precision(p) => (*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    if !(1..=38).contains(&precision) {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!("NUMERIC precision {precision} must be between 1 and 38"),
        ));
    }
    if scale < 0 || scale as u64 > precision.min(37) {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!("NUMERIC scale {scale} must be between 0 and precision {precision}"),
        ));
    }
    Ok(SqlType::Decimal {
        precision: precision as u8,
        scale: scale as i8,
    })
}

fn char_length(len: Option<&CharacterLength>, default: u32, max: u32) -> Result<u32> {
    match len {
        None => Ok(default),
        Some(CharacterLength::Max) => Ok(max),
        Some(CharacterLength::IntegerLength { length, .. }) => {
            if *length == 0 || *length > u64::from(max) {
                Err(Error::new(
                    SqlState::InvalidParameterValue,
                    format!("length for type character must be between 1 and {max}"),
                ))
            } else {
                Ok(*length as u32)
            }
        }
    }
}

fn parse_length(text: &str, max: u32) -> Result<u32> {
    if text.eq_ignore_ascii_case("max") {
        return Ok(max);
    }
    let length: u64 = text.parse().map_err(|_| {
        Error::new(SqlState::SyntaxError, format!("invalid type length \"{text}\""))
    })?;
    char_length(
        Some(&CharacterLength::IntegerLength { length, unit: None }),
        0,
        max,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::RedshiftSqlDialect;
    use sqlparser::parser::Parser;

    fn parse(sql_type: &str) -> SqlType {
        let sql = format!("CREATE TABLE t (c {sql_type})");
        let stmt = Parser::parse_sql(&RedshiftSqlDialect {}, &sql).unwrap().remove(0);
        let ast::Statement::CreateTable(create) = stmt else {
            panic!("not a CREATE TABLE")
        };
        SqlType::from_ast(&create.columns[0].data_type).unwrap()
    }

    #[test]
    fn redshift_aliases_and_defaults() {
        assert_eq!(parse("INT2"), SqlType::SmallInt);
        assert_eq!(parse("INT4"), SqlType::Integer);
        assert_eq!(parse("INT8"), SqlType::BigInt);
        assert_eq!(parse("NUMERIC"), SqlType::Decimal { precision: 18, scale: 0 });
        assert_eq!(parse("DECIMAL(12,2)"), SqlType::Decimal { precision: 12, scale: 2 });
        assert_eq!(parse("FLOAT4"), SqlType::Real);
        assert_eq!(parse("FLOAT"), SqlType::Double);
        assert_eq!(parse("FLOAT8"), SqlType::Double);
        assert_eq!(parse("DOUBLE PRECISION"), SqlType::Double);
        assert_eq!(parse("BOOL"), SqlType::Boolean);
        assert_eq!(parse("CHAR(3)"), SqlType::Char { length: 3 });
        assert_eq!(parse("VARCHAR"), SqlType::Varchar { length: 256 });
        assert_eq!(parse("VARCHAR(MAX)"), SqlType::Varchar { length: 65535 });
        assert_eq!(parse("TEXT"), SqlType::Varchar { length: 256 });
        assert_eq!(parse("TIMESTAMP"), SqlType::Timestamp);
        assert_eq!(parse("TIMESTAMPTZ"), SqlType::Timestamptz);
        assert_eq!(parse("TIMESTAMP WITH TIME ZONE"), SqlType::Timestamptz);
        assert_eq!(parse("TIME"), SqlType::Time);
        assert_eq!(parse("DATE"), SqlType::Date);
    }
}
