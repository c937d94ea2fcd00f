//! PG_DESCRIPTION: the comments set with COMMENT ON, on tables, views and table columns
//! (`objsubid` is the column number, 0 for the relation itself). Clients join it on
//! `classoid = 'pg_class'::regclass`, so that is the class every row names.

use crate::system::pg_catalog::relations::relation_oid;
use crate::system::rows::{INT4, OID, Rows, TEXT, text};
use crate::system::{CatalogTable, SYSTEM_SCHEMA, SystemContext};
use datafusion::common::ScalarValue;

pub struct PgDescription;

impl CatalogTable for PgDescription {
    const NAME: &'static str = "pg_description";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] =
        &[("objoid", OID), ("classoid", OID), ("objsubid", INT4), ("description", TEXT)];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        let pg_class = relation_oid(ctx.catalog, &[SYSTEM_SCHEMA.to_string()], "pg_class");
        for (oid, column, comment) in ctx.catalog.comments() {
            rows.push(vec![
                ScalarValue::UInt32(Some(oid)),
                ScalarValue::UInt32(pg_class),
                ScalarValue::Int32(Some(column)),
                text(comment),
            ]);
        }
    }
}
