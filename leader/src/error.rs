//! The leader's error type: every failure a client can see, with its SQLSTATE.
//!
//! Errors from DataFusion, storage and the network are translated here into PostgreSQL's codes and
//! wording (`relation "t" does not exist`, `division by zero`, ...), because drivers and tools
//! branch on the SQLSTATE and users search for the message.

use std::fmt;

use datafusion::error::DataFusionError;
use pgwire::error::{ErrorInfo, PgWireError};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// SQLSTATE codes Blueshift reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlState {
    SuccessfulCompletion,
    Warning,
    FeatureNotSupported,
    InvalidParameterValue,
    CardinalityViolation,
    DataException,
    StringDataRightTruncation,
    NumericValueOutOfRange,
    InvalidDatetimeFormat,
    DatetimeFieldOverflow,
    DivisionByZero,
    InvalidTextRepresentation,
    NotNullViolation,
    ActiveSqlTransaction,
    NoActiveSqlTransaction,
    InFailedSqlTransaction,
    InvalidCursorName,
    InvalidSqlStatementName,
    DuplicateCursor,
    InvalidTransactionState,
    SerializationFailure,
    DeadlockDetected,
    SyntaxError,
    InsufficientPrivilege,
    UndefinedColumn,
    UndefinedFunction,
    UndefinedTable,
    UndefinedObject,
    UndefinedSchema,
    DuplicateColumn,
    DuplicateSchema,
    DuplicateTable,
    DuplicateObject,
    AmbiguousColumn,
    DatatypeMismatch,
    WrongObjectType,
    GroupingError,
    WindowingError,
    InvalidColumnDefinition,
    InvalidTableDefinition,
    DependentObjectsStillExist,
    ObjectInUse,
    QueryCanceled,
    ConnectionFailure,
    InvalidPassword,
    InvalidAuthorizationSpecification,
    InvalidCatalogName,
    UndefinedFile,
    IoError,
    InternalError,
    InvalidSchemaName,
    ProgramLimitExceeded,
    StatementTooComplex,
}

impl SqlState {
    pub fn code(&self) -> &'static str {
        use SqlState::*;
        match self {
            SuccessfulCompletion => "00000",
            Warning => "01000",
            FeatureNotSupported => "0A000",
            InvalidParameterValue => "22023",
            CardinalityViolation => "21000",
            DataException => "22000",
            StringDataRightTruncation => "22001",
            NumericValueOutOfRange => "22003",
            InvalidDatetimeFormat => "22007",
            DatetimeFieldOverflow => "22008",
            DivisionByZero => "22012",
            InvalidTextRepresentation => "22P02",
            NotNullViolation => "23502",
            ActiveSqlTransaction => "25001",
            NoActiveSqlTransaction => "25P01",
            InFailedSqlTransaction => "25P02",
            InvalidCursorName => "34000",
            InvalidSqlStatementName => "26000",
            DuplicateCursor => "42P03",
            InvalidTransactionState => "25000",
            SerializationFailure => "40001",
            DeadlockDetected => "40P01",
            SyntaxError => "42601",
            InsufficientPrivilege => "42501",
            UndefinedColumn => "42703",
            UndefinedFunction => "42883",
            UndefinedTable => "42P01",
            UndefinedObject => "42704",
            UndefinedSchema => "3F000",
            DuplicateColumn => "42701",
            DuplicateSchema => "42P06",
            DuplicateTable => "42P07",
            DuplicateObject => "42710",
            AmbiguousColumn => "42702",
            DatatypeMismatch => "42804",
            WrongObjectType => "42809",
            InvalidSchemaName => "3F000",
            ProgramLimitExceeded => "54000",
            StatementTooComplex => "54001",
            GroupingError => "42803",
            WindowingError => "42P20",
            InvalidColumnDefinition => "42611",
            InvalidTableDefinition => "42P16",
            DependentObjectsStillExist => "2BP01",
            ObjectInUse => "55006",
            QueryCanceled => "57014",
            ConnectionFailure => "08006",
            InvalidPassword => "28P01",
            InvalidAuthorizationSpecification => "28000",
            InvalidCatalogName => "3D000",
            UndefinedFile => "58P01",
            IoError => "58030",
            InternalError => "XX000",
        }
    }
}

/// An error reported to the client as an ErrorResponse.
#[derive(Debug, Clone)]
pub struct Error {
    pub state: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl Error {
    pub fn new(state: SqlState, message: impl Into<String>) -> Error {
        Error {
            state,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(SqlState::InternalError, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::new(SqlState::FeatureNotSupported, message)
    }

    pub fn syntax(message: impl Into<String>) -> Error {
        Error::new(SqlState::SyntaxError, message)
    }

    pub fn undefined_table(name: &str) -> Error {
        Error::new(
            SqlState::UndefinedTable,
            format!("relation \"{name}\" does not exist"),
        )
    }

    pub fn canceled() -> Error {
        Error::new(
            SqlState::QueryCanceled,
            "canceling statement due to user request",
        )
    }

    pub fn in_failed_transaction() -> Error {
        Error::new(
            SqlState::InFailedSqlTransaction,
            "current transaction is aborted, commands ignored until end of transaction block",
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Wire messages are C strings: a NUL inside a message (from echoed input) would end it early.
fn wire_text(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\\0") } else { text }
}

impl From<Error> for ErrorInfo {
    fn from(e: Error) -> ErrorInfo {
        let mut info = ErrorInfo::new("ERROR".to_string(), e.state.code().to_string(), wire_text(e.message));
        info.detail = e.detail.map(wire_text);
        info.hint = e.hint.map(wire_text);
        info
    }
}

impl From<Error> for PgWireError {
    fn from(e: Error) -> PgWireError {
        PgWireError::UserError(Box::new(e.into()))
    }
}

impl From<sqlparser::parser::ParserError> for Error {
    fn from(e: sqlparser::parser::ParserError) -> Error {
        let message = match e {
            sqlparser::parser::ParserError::ParserError(m)
            | sqlparser::parser::ParserError::TokenizerError(m) => m,
            sqlparser::parser::ParserError::RecursionLimitExceeded => {
                "statement is nested too deeply".to_string()
            }
        };
        Error::syntax(format!("syntax error: {message}"))
    }
}

impl From<blueshift_compute::s3::S3Error> for Error {
    fn from(e: blueshift_compute::s3::S3Error) -> Self {
        use blueshift_compute::s3::S3Error as E;
        let state = match &e {
            E::InvalidUrl(_) => SqlState::InvalidParameterValue,
            E::NoSuchBucket(_) | E::NoObjects(_) | E::NoSuchKey(_) => SqlState::UndefinedFile,
            E::AccessDenied { .. } => SqlState::InsufficientPrivilege,
            E::Unreachable { .. } | E::Other { .. } => SqlState::IoError,
        };
        Error::new(state, e.to_string())
    }
}

impl From<blueshift_storage::StorageError> for Error {
    fn from(e: blueshift_storage::StorageError) -> Error {
        Error::internal(e.to_string())
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Error {
        Error::new(SqlState::ConnectionFailure, status.message().to_string())
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Error {
        from_arrow_error(&e)
    }
}

fn from_arrow_error(e: &arrow::error::ArrowError) -> Error {
    use arrow::error::ArrowError as A;
    match e {
        A::DivideByZero => Error::new(SqlState::DivisionByZero, "division by zero"),
        A::CastError(m) | A::ParseError(m) => cast_error(m),
        A::ArithmeticOverflow(m) => Error::new(SqlState::NumericValueOutOfRange, m.clone()),
        A::ExternalError(inner) => match inner.downcast_ref::<Error>() {
            Some(e) => e.clone(),
            None => match inner.downcast_ref::<DataFusionError>() {
                Some(df) => from_datafusion(df),
                None => Error::internal(inner.to_string()),
            },
        },
        other => Error::internal(other.to_string()),
    }
}

/// Cast failures: text that is not a number or date of the target type.
fn cast_error(message: &str) -> Error {
    let lower = message.to_ascii_lowercase();
    let state = if lower.contains("date") || lower.contains("timestamp") || lower.contains("time") {
        SqlState::InvalidDatetimeFormat
    } else if lower.contains("overflow") || lower.contains("too large") || lower.contains("out of range")
    {
        SqlState::NumericValueOutOfRange
    } else {
        SqlState::InvalidTextRepresentation
    };
    Error::new(state, message.to_string())
}

impl From<DataFusionError> for Error {
    fn from(e: DataFusionError) -> Error {
        from_datafusion(&e)
    }
}

/// Maps a DataFusion error onto the PostgreSQL code and wording a client expects.
pub fn from_datafusion(e: &DataFusionError) -> Error {
    use DataFusionError as D;
    match e {
        D::Context(_, inner) | D::Diagnostic(_, inner) => from_datafusion(inner),
        D::Shared(inner) => from_datafusion(inner),
        D::Collection(errors) => errors
            .first()
            .map(from_datafusion)
            .unwrap_or_else(|| Error::internal("unknown error")),
        D::ArrowError(arrow, _) => from_arrow_error(arrow),
        D::SQL(parser, _) => Error::from(parser.as_ref().clone()),
        D::External(inner) => {
            if let Some(e) = inner.downcast_ref::<Error>() {
                e.clone()
            } else if let Some(df) = inner.downcast_ref::<DataFusionError>() {
                from_datafusion(df)
            } else if let Some(arrow) = inner.downcast_ref::<arrow::error::ArrowError>() {
                from_arrow_error(arrow)
            } else {
                classify_message(&inner.to_string())
            }
        }
        D::SchemaError(schema, _) => from_schema_error(schema),
        D::NotImplemented(m) => Error::unsupported(m.clone()),
        D::ResourcesExhausted(m) => Error::new(SqlState::InternalError, format!("out of memory: {m}")),
        D::Execution(m) | D::Plan(m) | D::Internal(m) | D::Configuration(m) => classify_message(m),
        other => classify_message(&other.to_string()),
    }
}

fn from_schema_error(e: &datafusion::common::SchemaError) -> Error {
    use datafusion::common::SchemaError as S;
    match e {
        S::FieldNotFound { field, .. } => Error::new(
            SqlState::UndefinedColumn,
            format!("column \"{}\" does not exist", field.name),
        ),
        S::AmbiguousReference { field } => Error::new(
            SqlState::AmbiguousColumn,
            format!("column reference \"{}\" is ambiguous", field.name),
        ),
        S::DuplicateQualifiedField { name, .. } | S::DuplicateUnqualifiedField { name } => {
            Error::new(
                SqlState::DuplicateColumn,
                format!("column \"{name}\" specified more than once"),
            )
        }
    }
}

/// DataFusion reports many user errors as free-form plan or execution messages; recognize the
/// common ones.
fn classify_message(message: &str) -> Error {
    if let Some(error) = no_matching_function(message) {
        return error;
    }
    let lower = message.to_ascii_lowercase();
    if let Some(name) = extract_quoted(message, "table '", "' not found") {
        // DataFusion reports the resolved name (dev.<schema>.t); the user wrote the last part.
        let short = name.rsplit('.').next().unwrap_or(&name);
        return Error::undefined_table(short);
    }
    if lower.contains("divide by zero") || lower.contains("division by zero") {
        return Error::new(SqlState::DivisionByZero, "division by zero");
    }
    if let Some(name) = extract_quoted(message, "Invalid function '", "'") {
        return Error::new(
            SqlState::UndefinedFunction,
            format!("function {name} does not exist"),
        );
    }
    if lower.contains("cast") && (lower.contains("cannot") || lower.contains("can't")) {
        return cast_error(message);
    }
    if lower.contains("overflow") {
        return Error::new(SqlState::NumericValueOutOfRange, message.to_string());
    }
    if lower.contains("must appear in the group by") || lower.contains("projection references non-aggregate") {
        return Error::new(SqlState::GroupingError, message.to_string());
    }
    if lower.contains("no field named") {
        return Error::new(SqlState::UndefinedColumn, message.to_string());
    }
    if lower.contains("compute node") && lower.contains("failed") {
        return Error::new(SqlState::ConnectionFailure, message.to_string());
    }
    if lower.contains("not supported") || lower.contains("unsupported") {
        return Error::unsupported(message.to_string());
    }
    Error::internal(message.to_string())
}

/// PostgreSQL's "function upper(bigint) does not exist" for DataFusion's report of a call no
/// signature accepts, which quotes the call with Arrow's type names (`'upper(Int64)'`) after a
/// list of every signature tried, and sometimes an "Internal error" claiming a DataFusion bug.
fn no_matching_function(message: &str) -> Option<Error> {
    let call = extract_quoted(message, "No function matches the given name and argument types '", "'")?;
    let (name, arguments) = call.split_once('(')?;
    let arguments = arguments.strip_suffix(')')?;
    let mut types = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, c) in arguments.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                types.push(pg_type_name(&arguments[start..at]));
                start = at + 1;
            }
            _ => {}
        }
    }
    if !arguments.trim().is_empty() {
        types.push(pg_type_name(&arguments[start..]));
    }
    let error = Error::new(SqlState::UndefinedFunction, format!("function {name}({}) does not exist", types.join(", ")));
    Some(error.with_hint("No function matches the given name and argument types. You might need to add explicit type casts."))
}

/// The PostgreSQL name of an Arrow type as DataFusion's messages print it (`Decimal128(15, 2)`,
/// `Timestamp(µs, "+00:00")`).
fn pg_type_name(arrow: &str) -> String {
    let arrow = arrow.trim();
    let base = arrow.split('(').next().unwrap_or(arrow);
    match base {
        "Int8" | "Int16" | "UInt8" => "smallint",
        "Int32" | "UInt16" => "integer",
        "Int64" | "UInt32" => "bigint",
        "UInt64" | "Decimal128" | "Decimal256" => "numeric",
        "Float16" | "Float32" => "real",
        "Float64" => "double precision",
        "Boolean" => "boolean",
        "Utf8" | "LargeUtf8" | "Utf8View" => "character varying",
        "Date32" | "Date64" => "date",
        "Timestamp" if arrow.contains(',') => "timestamp with time zone",
        "Timestamp" => "timestamp without time zone",
        "Time32" | "Time64" => "time without time zone",
        "Interval" => "interval",
        "Null" => "unknown",
        other => return other.to_ascii_lowercase(),
    }
    .to_string()
}

fn extract_quoted(message: &str, before: &str, after: &str) -> Option<String> {
    let start = message.find(before)? + before.len();
    let end = start + message[start..].find(after)?;
    Some(message[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datafusion_errors_get_postgres_codes() {
        let e = from_datafusion(&DataFusionError::Plan("table 'dev.public.nope' not found".into()));
        assert_eq!(e.state, SqlState::UndefinedTable);
        assert_eq!(e.message, "relation \"nope\" does not exist");
        let e = from_datafusion(&DataFusionError::ArrowError(
            Box::new(arrow::error::ArrowError::DivideByZero),
            None,
        ));
        assert_eq!(e.state.code(), "22012");
    }

    #[test]
    fn calls_no_signature_accepts_are_undefined_functions() {
        let e = classify_message(
            "Internal error: Function 'sum' failed to match any signature, errors: ... This issue was likely caused by a bug \
             in DataFusion's code. No function matches the given name and argument types 'sum(Utf8)'. You might need to add \
             explicit type casts.\n\tCandidate functions:\n\tsum(Decimal)",
        );
        assert_eq!(e.state, SqlState::UndefinedFunction);
        assert_eq!(e.message, "function sum(character varying) does not exist");
        let e = classify_message(
            "No function matches the given name and argument types 'round(Decimal128(15, 2), Timestamp(µs, \"+00:00\"), Int64)'.",
        );
        assert_eq!(e.message, "function round(numeric, timestamp with time zone, bigint) does not exist");
        assert_eq!(classify_message("No function matches the given name and argument types 'now()'.").message, "function now() does not exist");
    }
}
