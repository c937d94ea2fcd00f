//! PG_AM: access methods. Redshift has no user indexes; the list names PostgreSQL 8.0's methods
//! so joins from `pg_class.relam` resolve.


use crate::system::rows::{OID, Rows, TEXT, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgAm;

impl CatalogTable for PgAm {
    const NAME: &'static str = "pg_am";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[("oid", OID), ("amname", TEXT)];

    fn fill(_ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (id, name) in [(403, "btree"), (405, "hash")] {
            rows.push(vec![oid(id), text(name)]);
        }
    }
}
