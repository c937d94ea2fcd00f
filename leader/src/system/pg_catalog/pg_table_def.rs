//! PG_TABLE_DEF: Redshift's table description view: one row per column of each table in a
//! schema on the search path, with its type, encoding, distkey and sortkey.

use super::relations::{ENCODINGS, relations};
use super::types::format_type;
use crate::system::rows::{BOOL, INT4, Rows, TEXT, boolean, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgTableDef;

impl CatalogTable for PgTableDef {
    const NAME: &'static str = "pg_table_def";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("schemaname", TEXT),
        ("tablename", TEXT),
        ("column", TEXT),
        ("type", TEXT),
        ("encoding", TEXT),
        ("distkey", BOOL),
        ("sortkey", INT4),
        ("notnull", BOOL),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for r in relations(ctx) {
            if r.table().is_none() || !ctx.query.search_path.contains(&r.schema) {
                continue;
            }
            for a in r.attributes(ctx) {
                rows.push(vec![
                    text(&r.schema),
                    text(&r.name),
                    text(a.name),
                    text(format_type(a.type_oid, Some(a.typmod)).unwrap_or_default()),
                    text(ENCODINGS[a.encoding as usize]),
                    boolean(a.distkey),
                    int(a.sortkey.into()),
                    boolean(a.not_null),
                ]);
            }
        }
    }
}
