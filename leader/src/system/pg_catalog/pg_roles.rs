//! PG_ROLES: the users as roles, for psql's `\du` (PostgreSQL 8.1's view, which Redshift also
//! has).

use super::pg_user::USERS;
use crate::system::rows::{BOOL, INT4, OID, Rows, TEXT, TIMESTAMP, NULL, boolean, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgRoles;

impl CatalogTable for PgRoles {
    const NAME: &'static str = "pg_roles";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("oid", OID),
        ("rolname", TEXT),
        ("rolsuper", BOOL),
        ("rolinherit", BOOL),
        ("rolcreaterole", BOOL),
        ("rolcreatedb", BOOL),
        ("rolcatupdate", BOOL),
        ("rolcanlogin", BOOL),
        ("rolreplication", BOOL),
        ("rolconnlimit", INT4),
        ("rolpassword", TEXT),
        ("rolvaliduntil", TIMESTAMP),
        ("rolconfig", TEXT),
    ];

    fn fill(_ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (name, id) in USERS {
            rows.push(vec![
                oid(*id),
                text(*name),
                boolean(true),
                boolean(true),
                boolean(true),
                boolean(true),
                boolean(true),
                boolean(true),
                boolean(false),
                int(-1),
                text("********"),
                NULL,
                NULL,
            ]);
        }
    }
}
