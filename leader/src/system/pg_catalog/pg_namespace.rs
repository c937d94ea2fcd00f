//! PG_NAMESPACE: schemas, including the built-in `pg_catalog` and `information_schema`.

use super::relations::{namespaces, user_id};
use crate::system::rows::{INT4, OID, Rows, TEXT, NULL, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgNamespace;

impl CatalogTable for PgNamespace {
    const NAME: &'static str = "pg_namespace";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] =
        &[("oid", OID), ("nspname", TEXT), ("nspowner", INT4), ("nspacl", TEXT)];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for n in namespaces(ctx) {
            rows.push(vec![oid(n.oid), text(n.name), int(user_id(&n.owner).into()), NULL]);
        }
    }
}
