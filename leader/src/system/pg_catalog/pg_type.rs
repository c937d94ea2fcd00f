//! PG_TYPE: the built-in types with PostgreSQL's OIDs. As in Redshift there is no `typarray`
//! (tools that need it fail the same way they do against Redshift).

use super::relations::{PG_CATALOG_OID, SYSTEM_USER_ID};
use super::types::TYPES;
use crate::system::rows::{BOOL, INT2, INT4, OID, Rows, TEXT, NULL, boolean, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgType;

impl CatalogTable for PgType {
    const NAME: &'static str = "pg_type";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("oid", OID),
        ("typname", TEXT),
        ("typnamespace", OID),
        ("typowner", INT4),
        ("typlen", INT2),
        ("typbyval", BOOL),
        ("typtype", TEXT),
        ("typisdefined", BOOL),
        ("typdelim", TEXT),
        ("typrelid", OID),
        ("typelem", OID),
        ("typinput", TEXT),
        ("typoutput", TEXT),
        ("typreceive", TEXT),
        ("typsend", TEXT),
        ("typanalyze", TEXT),
        ("typalign", TEXT),
        ("typstorage", TEXT),
        ("typnotnull", BOOL),
        ("typbasetype", OID),
        ("typtypmod", INT4),
        ("typndims", INT4),
        ("typdefaultbin", TEXT),
        ("typdefault", TEXT),
        ("typacl", TEXT),
        ("typcollation", OID),
    ];

    fn fill(_ctx: &SystemContext<'_>, rows: &mut Rows) {
        for t in TYPES {
            // Array types share PostgreSQL's array_* I/O functions.
            let io = |f: &str| {
                if t.elem != 0 { text(format!("array_{f}")) } else { text(format!("{}{f}", t.name)) }
            };
            rows.push(vec![
                oid(t.oid),
                text(t.name),
                oid(PG_CATALOG_OID),
                int(SYSTEM_USER_ID.into()),
                int(t.len.into()),
                boolean(t.len > 0 && t.len <= 8),
                text(t.kind.to_string()),
                boolean(true),
                text(","),
                oid(0),
                oid(t.elem),
                io("in"),
                io("out"),
                io("recv"),
                io("send"),
                text("-"),
                text(if t.len == 8 { "d" } else { "i" }),
                text(if t.len > 0 { "p" } else { "x" }),
                boolean(false),
                oid(0),
                int(-1),
                int(i64::from(t.elem != 0)),
                NULL,
                NULL,
                NULL,
                oid(0),
            ]);
        }
    }
}
