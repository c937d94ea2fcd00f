//! PG_INDEX: one row per primary or unique key. Redshift's keys are informational and Blueshift
//! builds no index for them, but PostgreSQL lists a key's index here and drivers look keys up
//! through it (see [`KeyIndex`]). `indkey` is in int2vector's text form (`1 2`).

use super::relations::{KeyIndex, key_indexes, relations};
use crate::system::rows::{BOOL, INT2, NULL, OID, Rows, TEXT, boolean, int, oid, text};
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

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for KeyIndex { oid: index, table_oid, columns, primary, .. } in key_indexes(&relations(ctx)) {
            let vector = |values: Vec<String>| text(values.join(" "));
            rows.push(vec![
                oid(index),
                oid(table_oid),
                int(columns.len() as i64),
                vector(columns.iter().map(i16::to_string).collect()),
                vector(columns.iter().map(|_| "0".to_string()).collect()),
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
