//! PG_INDEX: empty, as in Redshift, where primary and unique keys are informational and not
//! backed by indexes (they are in PG_CONSTRAINT). Declared so catalog joins plan.

use crate::system::rows::{BOOL, INT2, OID, Rows, TEXT};
use crate::system::{CatalogTable, SystemContext};

pub struct PgIndex;

impl CatalogTable for PgIndex {
    const NAME: &'static str = "pg_index";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("indexrelid", OID),
        ("indrelid", OID),
        ("indnatts", INT2),
        ("indkey", TEXT),
        ("indclass", TEXT),
        ("indisunique", BOOL),
        ("indisprimary", BOOL),
        ("indisclustered", BOOL),
        ("indisvalid", BOOL),
        ("indexprs", TEXT),
        ("indpred", TEXT),
    ];

    fn fill(_ctx: &SystemContext<'_>, _rows: &mut Rows) {}
}
