//! PG_ATTRDEF: column defaults. `adbin` holds the expression's SQL (what `pg_get_expr` returns)
//! and `adsrc` the same text, as Redshift's 8.0-era catalog has it.

use super::relations::relations;
use crate::system::rows::{INT2, OID, Rows, TEXT, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgAttrdef;

/// OID of a default: after the table's constraints (see `relations::constraint_oid`), from the
/// top of the table's 256-slot range down.
pub fn default_oid(table_oid: u32, attnum: i16) -> u32 {
    super::relations::constraint_oid(table_oid, 255 - (attnum as usize).min(127))
}

impl CatalogTable for PgAttrdef {
    const NAME: &'static str = "pg_attrdef";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] =
        &[("oid", OID), ("adrelid", OID), ("adnum", INT2), ("adbin", TEXT), ("adsrc", TEXT)];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx).iter().filter(|r| r.table().is_some()) {
            for a in r.attributes(ctx) {
                if let Some(default) = a.default {
                    rows.push(vec![
                        oid(default_oid(r.oid, a.num)),
                        oid(r.oid),
                        int(a.num.into()),
                        text(&default),
                        text(default),
                    ]);
                }
            }
        }
    }
}
