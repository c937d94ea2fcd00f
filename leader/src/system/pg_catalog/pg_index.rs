//! PG_INDEX: one row per primary or unique key. Redshift's keys are informational and Blueshift
//! builds no index for them, but PostgreSQL lists a key's index here and drivers look keys up
//! through it (see [`KeyIndex`]). `indkey` is an int2vector, an `int2[]` whose subscripts start
//! at 0 (see `pg_compat`'s rewrite of `indkey[n]`).

use super::relations::{KeyIndex, key_indexes, relations};
use crate::system::rows::{BOOL, INT2, INT2_ARRAY, NULL, OID, Rows, TEXT, boolean, int, int2_array, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgIndex;

impl CatalogTable for PgIndex {
    const NAME: &'static str = "pg_index";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("indexrelid", OID),
        ("indrelid", OID),
        ("indnatts", INT2),
        ("indkey", INT2_ARRAY),
        ("indclass", TEXT),
        ("indisunique", BOOL),
        ("indisprimary", BOOL),
        ("indisclustered", BOOL),
        ("indisvalid", BOOL),
        ("indexprs", TEXT),
        ("indpred", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for KeyIndex { oid: index, table_oid, columns, primary, .. } in key_indexes(&relations(ctx)) {
            rows.push(vec![
                oid(index),
                oid(table_oid),
                int(columns.len() as i64),
                int2_array(columns.iter().copied()),
                text(columns.iter().map(|_| "0").collect::<Vec<_>>().join(" ")),
                boolean(true),
                boolean(primary),
                boolean(false),
                boolean(true),
                NULL,
                NULL,
            ]);
        }
    }
}
