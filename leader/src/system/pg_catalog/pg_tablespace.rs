//! PG_TABLESPACE: the default tablespaces (Redshift has no user tablespaces).

use super::relations::SYSTEM_USER_ID;
use crate::system::rows::{INT4, OID, Rows, TEXT, NULL, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgTablespace;

impl CatalogTable for PgTablespace {
    const NAME: &'static str = "pg_tablespace";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] =
        &[("oid", OID), ("spcname", TEXT), ("spcowner", INT4), ("spclocation", TEXT), ("spcacl", TEXT)];

    fn fill(_ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (id, name) in [(1663, "pg_default"), (1664, "pg_global")] {
            rows.push(vec![oid(id), text(name), int(SYSTEM_USER_ID.into()), text(""), NULL]);
        }
    }
}
