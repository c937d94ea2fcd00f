//! PG_DESCRIPTION: object comments. Blueshift does not store comments yet (COMMENT ON is not
//! supported), so the table is empty; `obj_description` and `col_description` return NULL.

use crate::system::rows::{INT4, OID, Rows, TEXT};
use crate::system::{CatalogTable, SystemContext};

pub struct PgDescription;

impl CatalogTable for PgDescription {
    const NAME: &'static str = "pg_description";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] =
        &[("objoid", OID), ("classoid", OID), ("objsubid", INT4), ("description", TEXT)];

    fn fill(_ctx: &SystemContext<'_>, _rows: &mut Rows) {}
}
