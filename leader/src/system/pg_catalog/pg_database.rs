//! PG_DATABASE: the cluster's one database, `dev`.

use super::relations::{DATABASE_OID, SUPERUSER_ID};
use crate::catalog::DATABASE;
use crate::system::rows::{BOOL, INT4, OID, Rows, TEXT, NULL, boolean, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgDatabase;

/// `pg_database.encoding` of UTF8.
pub const UTF8_ENCODING: i64 = 6;

impl CatalogTable for PgDatabase {
    const NAME: &'static str = "pg_database";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("oid", OID),
        ("datname", TEXT),
        ("datdba", INT4),
        ("encoding", INT4),
        ("datistemplate", BOOL),
        ("datallowconn", BOOL),
        ("datlastsysoid", OID),
        ("datvacuumxid", OID),
        ("datfrozenxid", OID),
        ("dattablespace", OID),
        ("datconfig", TEXT),
        ("datacl", TEXT),
        ("datcollate", TEXT),
        ("datctype", TEXT),
        ("datconnlimit", INT4),
    ];

    fn fill(_ctx: &SystemContext<'_>, rows: &mut Rows) {
        rows.push(vec![
            oid(DATABASE_OID),
            text(DATABASE),
            int(SUPERUSER_ID.into()),
            int(UTF8_ENCODING),
            boolean(false),
            boolean(true),
            oid(0),
            oid(0),
            oid(0),
            oid(0),
            NULL,
            NULL,
            text("C"),
            text("C"),
            int(-1),
        ]);
    }
}
