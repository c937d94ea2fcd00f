//! PG_ATTRIBUTE: columns of every relation, with Redshift's `attisdistkey`, `attsortkeyord`
//! and `attencodingtype`.

use super::relations::{Attribute, key_indexes, relations};
use super::types;
use crate::system::rows::{BOOL, INT2, INT4, OID, Rows, TEXT, NULL, boolean, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgAttribute;

impl CatalogTable for PgAttribute {
    const NAME: &'static str = "pg_attribute";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("attrelid", OID),
        ("attname", TEXT),
        ("atttypid", OID),
        ("attstattarget", INT4),
        ("attlen", INT2),
        ("attnum", INT2),
        ("attndims", INT4),
        ("attcacheoff", INT4),
        ("atttypmod", INT4),
        ("attbyval", BOOL),
        ("attstorage", TEXT),
        ("attalign", TEXT),
        ("attnotnull", BOOL),
        ("atthasdef", BOOL),
        ("attisdropped", BOOL),
        ("attislocal", BOOL),
        ("attinhcount", INT4),
        ("attisdistkey", BOOL),
        ("attispreloaded", BOOL),
        ("attsortkeyord", INT4),
        ("attencodingtype", INT2),
        ("attencrypttype", INT2),
        ("attacl", TEXT),
        ("attcollation", OID),
        ("attidentity", TEXT),
        ("attgenerated", TEXT),
    ];
    const VIEW_COLUMNS: bool = true;

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        let all = relations(ctx);
        for r in &all {
            let attributes = r.attributes(ctx);
            // A key's index has the key's columns, numbered in key order.
            for index in key_indexes(std::slice::from_ref(r)) {
                for (position, num) in index.columns.iter().enumerate() {
                    if let Some(a) = attributes.iter().find(|a| a.num == *num) {
                        push(rows, index.oid, position as i16 + 1, a);
                    }
                }
            }
            for a in &attributes {
                push(rows, r.oid, a.num, a);
            }
        }
    }
}

/// The row of column `a` as attribute `num` of relation `relation`.
fn push(rows: &mut Rows, relation: u32, num: i16, a: &Attribute) {
    let len = types::by_oid(a.type_oid).map_or(-1, |t| t.len);
    rows.push(vec![
        oid(relation),
        text(&a.name),
        oid(a.type_oid),
        int(-1),
        int(len.into()),
        int(num.into()),
        int(0),
        int(-1),
        int(a.typmod.into()),
        boolean(len > 0 && len <= 8),
        text(if len > 0 { "p" } else { "x" }),
        text(if len == 8 { "d" } else { "i" }),
        boolean(a.not_null),
        boolean(a.default.is_some()),
        boolean(false),
        boolean(true),
        int(0),
        boolean(a.distkey),
        boolean(false),
        int(a.sortkey.into()),
        int(a.encoding.into()),
        int(0),
        NULL,
        oid(0),
        text(""),
        text(""),
    ]);
}
