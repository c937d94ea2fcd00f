//! PG_GROUP: user groups. Blueshift has none yet (CREATE GROUP is not supported).

use crate::system::rows::{INT4, Rows, TEXT};
use crate::system::{CatalogTable, SystemContext};

pub struct PgGroup;

impl CatalogTable for PgGroup {
    const NAME: &'static str = "pg_group";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] =
        &[("groname", TEXT), ("grosysid", INT4), ("grolist", TEXT)];

    fn fill(_ctx: &SystemContext<'_>, _rows: &mut Rows) {}
}
