//! The built-in types as `pg_type` lists them, with PostgreSQL's OIDs (drivers hard-code them),
//! and how each catalog column type maps onto one: `atttypid`, `atttypmod` and `format_type`.

use crate::catalog::SqlType;

/// One built-in type.
pub struct PgType {
    pub oid: u32,
    pub name: &'static str,
    /// `typlen`: bytes, or -1 for variable length.
    pub len: i16,
    /// `typtype`: b base, p pseudo.
    pub kind: char,
    /// `typelem` for the array types `_name`.
    pub elem: u32,
    /// What `format_type` prints without a modifier.
    pub display: &'static str,
}

const fn base(oid: u32, name: &'static str, len: i16, display: &'static str) -> PgType {
    PgType { oid, name, len, kind: 'b', elem: 0, display }
}

const fn array(oid: u32, name: &'static str, elem: u32, display: &'static str) -> PgType {
    PgType { oid, name, len: -1, kind: 'b', elem, display }
}

const fn pseudo(oid: u32, name: &'static str, len: i16) -> PgType {
    PgType { oid, name, len, kind: 'p', elem: 0, display: name }
}

pub const BOOL: u32 = 16;
pub const NAME: u32 = 19;
pub const INT8: u32 = 20;
pub const INT2: u32 = 21;
pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
pub const OID: u32 = 26;
pub const FLOAT4: u32 = 700;
pub const FLOAT8: u32 = 701;
pub const BPCHAR: u32 = 1042;
pub const VARCHAR: u32 = 1043;
pub const DATE: u32 = 1082;
pub const TIME: u32 = 1083;
pub const TIMESTAMP: u32 = 1114;
pub const TIMESTAMPTZ: u32 = 1184;
pub const NUMERIC: u32 = 1700;

/// Every type `pg_type` lists. Like Redshift there is no `typarray` column: array types are
/// found through `typelem`.
pub const TYPES: &[PgType] = &[
    base(BOOL, "bool", 1, "boolean"),
    base(17, "bytea", -1, "bytea"),
    base(18, "char", 1, "\"char\""),
    base(NAME, "name", 64, "name"),
    base(INT8, "int8", 8, "bigint"),
    base(INT2, "int2", 2, "smallint"),
    base(22, "int2vector", -1, "int2vector"),
    base(INT4, "int4", 4, "integer"),
    base(24, "regproc", 4, "regproc"),
    base(TEXT, "text", -1, "text"),
    base(OID, "oid", 4, "oid"),
    base(27, "tid", 6, "tid"),
    base(28, "xid", 4, "xid"),
    base(29, "cid", 4, "cid"),
    base(30, "oidvector", -1, "oidvector"),
    base(FLOAT4, "float4", 4, "real"),
    base(FLOAT8, "float8", 8, "double precision"),
    pseudo(705, "unknown", -2),
    array(1000, "_bool", BOOL, "boolean[]"),
    array(1005, "_int2", INT2, "smallint[]"),
    array(1007, "_int4", INT4, "integer[]"),
    array(1009, "_text", TEXT, "text[]"),
    array(1014, "_bpchar", BPCHAR, "character[]"),
    array(1015, "_varchar", VARCHAR, "character varying[]"),
    array(1016, "_int8", INT8, "bigint[]"),
    array(1021, "_float4", FLOAT4, "real[]"),
    array(1022, "_float8", FLOAT8, "double precision[]"),
    array(1028, "_oid", OID, "oid[]"),
    base(1033, "aclitem", 12, "aclitem"),
    array(1034, "_aclitem", 1033, "aclitem[]"),
    base(BPCHAR, "bpchar", -1, "character"),
    base(VARCHAR, "varchar", -1, "character varying"),
    base(DATE, "date", 4, "date"),
    base(TIME, "time", 8, "time without time zone"),
    array(1115, "_timestamp", TIMESTAMP, "timestamp without time zone[]"),
    base(TIMESTAMP, "timestamp", 8, "timestamp without time zone"),
    array(1182, "_date", DATE, "date[]"),
    array(1183, "_time", TIME, "time without time zone[]"),
    base(TIMESTAMPTZ, "timestamptz", 8, "timestamp with time zone"),
    array(1185, "_timestamptz", TIMESTAMPTZ, "timestamp with time zone[]"),
    base(1186, "interval", 16, "interval"),
    array(1231, "_numeric", NUMERIC, "numeric[]"),
    base(1266, "timetz", 12, "time with time zone"),
    base(NUMERIC, "numeric", -1, "numeric"),
    base(2205, "regclass", 4, "regclass"),
    base(2206, "regtype", 4, "regtype"),
    pseudo(2249, "record", -1),
    pseudo(2275, "cstring", -2),
    pseudo(2276, "any", 4),
    pseudo(2277, "anyarray", -1),
    pseudo(2278, "void", 4),
    pseudo(2283, "anyelement", 4),
];

pub fn by_oid(oid: u32) -> Option<&'static PgType> {
    TYPES.iter().find(|t| t.oid == oid)
}

pub fn by_name(name: &str) -> Option<&'static PgType> {
    TYPES.iter().find(|t| t.name == name)
}

/// `atttypid` of a column type.
pub fn type_oid(sql_type: &SqlType) -> u32 {
    match sql_type {
        SqlType::SmallInt => INT2,
        SqlType::Integer => INT4,
        SqlType::BigInt => INT8,
        SqlType::Decimal { .. } => NUMERIC,
        SqlType::Real => FLOAT4,
        SqlType::Double => FLOAT8,
        SqlType::Boolean => BOOL,
        SqlType::Char { .. } => BPCHAR,
        SqlType::Varchar { .. } => VARCHAR,
        SqlType::Date => DATE,
        SqlType::Timestamp => TIMESTAMP,
        SqlType::Timestamptz => TIMESTAMPTZ,
        SqlType::Time => TIME,
    }
}

/// `atttypmod` of a column type: PostgreSQL's encoding (length + 4, or precision and scale).
pub fn type_modifier(sql_type: &SqlType) -> i32 {
    match sql_type {
        SqlType::Char { length } | SqlType::Varchar { length } => *length as i32 + 4,
        SqlType::Decimal { precision, scale } => ((i32::from(*precision) << 16) | i32::from(*scale)) + 4,
        _ => -1,
    }
}

/// `format_type(oid, typmod)`: the SQL name of a type, with its modifier.
pub fn format_type(oid: u32, typmod: Option<i32>) -> Option<String> {
    let t = by_oid(oid)?;
    let typmod = typmod.filter(|m| *m >= 4);
    Some(match (oid, typmod) {
        (VARCHAR | BPCHAR, Some(m)) => format!("{}({})", t.display, m - 4),
        (NUMERIC, Some(m)) => format!("numeric({},{})", (m - 4) >> 16, (m - 4) & 0xffff),
        _ => t.display.to_string(),
    })
}
