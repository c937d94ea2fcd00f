//! Redshift's type names in casts and typed literals, as DataFusion understands them.
//!
//! `x::CHARACTER VARYING(20)`, `CAST(x AS FLOAT)`, `'...'::TIMESTAMPTZ` and `TIMESTAMP '...'` are
//! rewritten to the types Blueshift stores: FLOAT means DOUBLE PRECISION (as in Redshift, where
//! DataFusion would read it as REAL), character types become VARCHAR, and timestamps carry
//! microseconds like stored ones.

use std::ops::ControlFlow;

use sqlparser::ast::{DataType, ExactNumberInfo, Expr, Statement, TimezoneInfo, visit_expressions_mut};

use crate::catalog::SqlType;

/// The DataFusion spelling of a Redshift type; `None` leaves the type as written (DataFusion
/// then reports it as unsupported, or knows it, like INTERVAL).
fn canonical(data_type: &DataType) -> Option<DataType> {
    Some(match SqlType::from_ast(data_type).ok()? {
        SqlType::SmallInt => DataType::SmallInt(None),
        SqlType::Integer => DataType::Int(None),
        SqlType::BigInt => DataType::BigInt(None),
        SqlType::Decimal { precision, scale } => {
            DataType::Decimal(ExactNumberInfo::PrecisionAndScale(u64::from(precision), i64::from(scale)))
        }
        SqlType::Real => DataType::Real,
        SqlType::Double => DataType::DoublePrecision,
        SqlType::Boolean => DataType::Boolean,
        SqlType::Char { .. } | SqlType::Varchar { .. } => DataType::Varchar(None),
        SqlType::Date => DataType::Date,
        SqlType::Timestamp => DataType::Timestamp(Some(6), TimezoneInfo::None),
        SqlType::Timestamptz => DataType::Timestamp(Some(6), TimezoneInfo::WithTimeZone),
        SqlType::Time => DataType::Time(None, TimezoneInfo::None),
    })
}

/// Rewrites every cast and typed literal in `statement`.
pub fn normalize_casts(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |expr| {
        let data_type = match expr {
            Expr::Cast { data_type, .. } => data_type,
            Expr::TypedString(typed) => &mut typed.data_type,
            _ => return ControlFlow::<()>::Continue(()),
        };
        if let Some(canonical) = canonical(data_type) {
            *data_type = canonical;
        }
        ControlFlow::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse_statement;

    #[test]
    fn redshift_type_names_become_datafusion_ones() {
        let mut statement = parse_statement(
            "SELECT x::CHARACTER VARYING(20), CAST(y AS FLOAT), z::TIMESTAMPTZ, TIMESTAMP '2024-01-01', w::INT4, v::NUMERIC",
        )
        .unwrap();
        normalize_casts(&mut statement);
        assert_eq!(
            statement.to_string(),
            "SELECT x::VARCHAR, CAST(y AS DOUBLE PRECISION), z::TIMESTAMP(6) WITH TIME ZONE, TIMESTAMP(6) '2024-01-01', w::INT, v::DECIMAL(18,0)"
        );
    }
}
