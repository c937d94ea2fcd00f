//! PG_CLASS: tables, views and system tables, with Redshift's `reldiststyle` and the columns
//! psql's `\d` reads (`relhastriggers`, `relpersistence`, `reloftype`, `reloptions`).
//! `reloptions` carries the distribution style and sort key, which psql's `\d+` prints as
//! "Options". Each primary or unique key's index (see [`super::relations::KeyIndex`]) is a
//! relation of kind `i`, like the table it belongs to in everything else.

use super::relations::{Relation, constraints, key_indexes, relations, user_id};
use crate::catalog::{DistStyle, SortKeyKind, TableDef};
use datafusion::common::ScalarValue;

use crate::system::rows::{BOOL, FLOAT4, INT2, INT4, NULL, OID, Rows, TEXT, TEXT_ARRAY, boolean, float, int, oid, text, text_array};
use crate::system::{CatalogTable, SystemContext};

pub struct PgClass;

impl CatalogTable for PgClass {
    const NAME: &'static str = "pg_class";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("oid", OID),
        ("relname", TEXT),
        ("relnamespace", OID),
        ("reltype", OID),
        ("relowner", INT4),
        ("relam", OID),
        ("relfilenode", OID),
        ("reltablespace", OID),
        ("relpages", INT4),
        ("reltuples", FLOAT4),
        ("reltoastrelid", OID),
        ("reltoastidxid", OID),
        ("relhasindex", BOOL),
        ("relisshared", BOOL),
        ("relkind", TEXT),
        ("relnatts", INT2),
        ("relexternid", OID),
        ("relisreplicated", BOOL),
        ("relispinned", BOOL),
        ("reldiststyle", INT2),
        ("relprojbaseid", OID),
        ("relchecks", INT2),
        ("reltriggers", INT2),
        ("relukeys", INT2),
        ("relfkeys", INT2),
        ("relrefs", INT2),
        ("relhasoids", BOOL),
        ("relhaspkey", BOOL),
        ("relhasrules", BOOL),
        ("relhassubclass", BOOL),
        ("relacl", TEXT_ARRAY),
        ("relhastriggers", BOOL),
        ("relpersistence", TEXT),
        ("reloftype", OID),
        ("relreplident", TEXT),
        ("reloptions", TEXT_ARRAY),
    ];
    const VIEW_COLUMNS: bool = true;

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        let all = relations(ctx);
        let referenced = |oid: u32, schema: &str, name: &str| {
            all.iter().filter_map(Relation::table).any(|t| {
                t.foreign_keys.iter().any(|fk| {
                    fk.ref_table == name && fk.ref_schema.as_deref().is_none_or(|s| s == schema) && t.oid != oid
                })
            })
        };
        for r in &all {
            let table = r.table();
            let keys = table.map(constraints).unwrap_or_default();
            let count = |kind: &str| int(keys.iter().filter(|c| c.kind == kind).count() as i64);
            let has_fk = keys.iter().any(|c| c.kind == "f");
            let row = vec![
                oid(r.oid),
                text(&r.name),
                oid(r.namespace),
                oid(0),
                int(user_id(&r.owner).into()),
                oid(0),
                oid(r.oid),
                oid(0),
                int(0),
                float(0.0),
                oid(0),
                oid(0),
                boolean(false),
                boolean(false),
                text(r.relkind()),
                int(r.attributes(ctx).len() as i64),
                oid(0),
                boolean(false),
                boolean(false),
                table.map_or(int(0), |t| int(t.dist_style.code().into())),
                oid(0),
                int(0),
                int(0),
                count("u"),
                count("f"),
                int(0),
                boolean(false),
                boolean(table.is_some_and(|t| !t.primary_key.is_empty())),
                boolean(false),
                boolean(false),
                NULL,
                boolean(has_fk || (table.is_some() && referenced(r.oid, &r.schema, &r.name))),
                text(if table.is_some_and(|t| t.temp_owner.is_some()) { "t" } else { "p" }),
                oid(0),
                text("d"),
                table.map_or(NULL, options),
            ];
            let mut index_rows = Vec::new();
            for index in key_indexes(std::slice::from_ref(r)) {
                let mut row = row.clone();
                for (column, value) in [
                    ("oid", oid(index.oid)),
                    ("relname", text(&index.name)),
                    ("relam", oid(BTREE)),
                    ("relfilenode", oid(index.oid)),
                    ("relkind", text("i")),
                    ("relnatts", int(index.columns.len() as i64)),
                    ("reldiststyle", int(0)),
                    ("relukeys", int(0)),
                    ("relfkeys", int(0)),
                    ("relhaspkey", boolean(false)),
                    ("relhastriggers", boolean(false)),
                    ("reloptions", NULL),
                ] {
                    let position = Self::COLUMNS.iter().position(|(name, _)| *name == column).expect("a pg_class column");
                    row[position] = value;
                }
                index_rows.push(row);
            }
            rows.push(row);
            for index_row in index_rows {
                rows.push(index_row);
            }
        }
    }
}

/// `pg_am` OID of the btree access method, which a key's index reports.
const BTREE: u32 = 403;

/// `reloptions`: `{diststyle=key,distkey=id,sortkey=id}`.
fn options(table: &TableDef) -> ScalarValue {
    let style = match table.dist_style {
        DistStyle::Even => "even",
        DistStyle::Key => "key",
        DistStyle::All => "all",
        DistStyle::AutoAll => "auto(all)",
        DistStyle::AutoEven => "auto(even)",
    };
    let mut options = vec![format!("diststyle={style}")];
    if let Some(key) = &table.dist_key {
        options.push(format!("distkey={key}"));
    }
    match table.sort_kind {
        SortKeyKind::Auto => options.push("sortkey=auto".into()),
        SortKeyKind::Compound => options.push(format!("sortkey={}", table.sort_key.join(" "))),
        SortKeyKind::Interleaved => options.push(format!("interleaved sortkey={}", table.sort_key.join(" "))),
    }
    text_array(options)
}
