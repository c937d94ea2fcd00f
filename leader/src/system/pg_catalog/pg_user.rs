//! PG_USER: the cluster's users (the superuser; `rdsdb` owns the built-in objects).

use super::relations::{SUPERUSER_ID, SYSTEM_USER, SYSTEM_USER_ID};
use crate::catalog::SUPERUSER;
use crate::system::rows::{BOOL, INT4, Rows, TEXT, TIMESTAMP, NULL, boolean, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgUser;

/// The users, as (name, id).
pub const USERS: &[(&str, u32)] = &[(SYSTEM_USER, SYSTEM_USER_ID), (SUPERUSER, SUPERUSER_ID)];

impl CatalogTable for PgUser {
    const NAME: &'static str = "pg_user";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("usename", TEXT),
        ("usesysid", INT4),
        ("usecreatedb", BOOL),
        ("usesuper", BOOL),
        ("usecatupd", BOOL),
        ("passwd", TEXT),
        ("valuntil", TIMESTAMP),
        ("useconfig", TEXT),
    ];

    fn fill(_ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (name, id) in USERS {
            rows.push(vec![
                text(*name),
                int((*id).into()),
                boolean(true),
                boolean(true),
                boolean(*id == SYSTEM_USER_ID),
                text("********"),
                NULL,
                NULL,
            ]);
        }
    }
}
