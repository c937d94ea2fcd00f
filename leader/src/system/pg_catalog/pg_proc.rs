//! PG_PROC: the SQL functions Blueshift defines for clients (catalog and Redshift functions), with
//! their argument and result types. DataFusion's own built-in functions are not listed.

use super::relations::{PG_CATALOG_OID, SYSTEM_USER_ID};
use super::types::{self, BOOL, INT4, NAME, OID as OID_TYPE, TEXT as TEXT_TYPE, TIMESTAMP};
use crate::system::rows::{BOOL as BOOL_COL, INT2, INT4 as INT4_COL, OID, Rows, TEXT, NULL, boolean, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgProc;

/// A function as `pg_proc` lists it.
pub struct Function {
    pub oid: u32,
    pub name: &'static str,
    pub args: &'static [u32],
    pub result: u32,
}

const fn f(oid: u32, name: &'static str, args: &'static [u32], result: u32) -> Function {
    Function { oid, name, args, result }
}

/// The listed functions, with PostgreSQL's OIDs where it has the same function.
pub const FUNCTIONS: &[Function] = &[
    f(89, "version", &[], TEXT_TYPE),
    f(861, "current_database", &[], NAME),
    f(1402, "current_schema", &[], NAME),
    f(1403, "current_schemas", &[BOOL], TEXT_TYPE),
    f(1081, "format_type", &[OID_TYPE, INT4], TEXT_TYPE),
    f(1716, "pg_get_expr", &[TEXT_TYPE, OID_TYPE], TEXT_TYPE),
    f(1387, "pg_get_constraintdef", &[OID_TYPE], TEXT_TYPE),
    f(1643, "pg_get_indexdef", &[OID_TYPE], TEXT_TYPE),
    f(1641, "pg_get_viewdef", &[OID_TYPE], TEXT_TYPE),
    f(1642, "pg_get_userbyid", &[OID_TYPE], NAME),
    f(2079, "pg_table_is_visible", &[OID_TYPE], BOOL),
    f(2080, "pg_type_is_visible", &[OID_TYPE], BOOL),
    f(2081, "pg_function_is_visible", &[OID_TYPE], BOOL),
    f(1215, "obj_description", &[OID_TYPE, NAME], TEXT_TYPE),
    f(1216, "col_description", &[OID_TYPE, INT4], TEXT_TYPE),
    f(1922, "has_table_privilege", &[TEXT_TYPE, TEXT_TYPE], BOOL),
    f(2268, "has_schema_privilege", &[TEXT_TYPE, TEXT_TYPE], BOOL),
    f(2250, "has_database_privilege", &[TEXT_TYPE, TEXT_TYPE], BOOL),
    f(1597, "pg_encoding_to_char", &[INT4], NAME),
    f(2026, "pg_backend_pid", &[], INT4),
    f(2077, "current_setting", &[TEXT_TYPE], TEXT_TYPE),
    f(2165, "pg_get_function_result", &[OID_TYPE], TEXT_TYPE),
    f(2162, "pg_get_function_arguments", &[OID_TYPE], TEXT_TYPE),
    f(90_001, "format_encoding", &[INT4], TEXT_TYPE),
    f(90_002, "pg_get_late_binding_view_cols", &[], 2249),
    f(90_003, "getdate", &[], TIMESTAMP),
];

pub fn by_oid(oid: u32) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.oid == oid)
}

/// `pg_get_function_arguments` / `pg_get_function_result` text.
pub fn type_list(types: &[u32]) -> String {
    types
        .iter()
        .map(|t| types::format_type(*t, None).unwrap_or_else(|| t.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CatalogTable for PgProc {
    const NAME: &'static str = "pg_proc";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("oid", OID),
        ("proname", TEXT),
        ("pronamespace", OID),
        ("proowner", INT4_COL),
        ("prolang", OID),
        ("proisagg", BOOL_COL),
        ("proiswindow", BOOL_COL),
        ("prosecdef", BOOL_COL),
        ("proisstrict", BOOL_COL),
        ("proretset", BOOL_COL),
        ("provolatile", TEXT),
        ("pronargs", INT2),
        ("prorettype", OID),
        ("proargtypes", TEXT),
        ("proargnames", TEXT),
        ("prosrc", TEXT),
        ("probin", TEXT),
        ("proacl", TEXT),
    ];

    fn fill(_ctx: &SystemContext<'_>, rows: &mut Rows) {
        for function in FUNCTIONS {
            let args: Vec<String> = function.args.iter().map(u32::to_string).collect();
            rows.push(vec![
                oid(function.oid),
                text(function.name),
                oid(PG_CATALOG_OID),
                int(SYSTEM_USER_ID.into()),
                oid(12),
                boolean(false),
                boolean(false),
                boolean(false),
                boolean(true),
                boolean(function.name == "pg_get_late_binding_view_cols"),
                text("s"),
                int(function.args.len() as i64),
                oid(function.result),
                text(args.join(" ")),
                NULL,
                text(function.name),
                NULL,
                NULL,
            ]);
        }
    }
}
