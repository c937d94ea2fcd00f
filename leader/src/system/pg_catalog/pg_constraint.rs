//! PG_CONSTRAINT: primary, unique and foreign keys (informational in Redshift, as here).
//! `conkey`/`confkey` are `int2[]`s of column numbers.

use arrow::datatypes::DataType;

use super::relations::{constraint_definition, constraints, index_oid, relations};
use crate::system::rows::{BOOL, INT2_ARRAY, NULL, OID, Rows, TEXT, boolean, int2_array, oid, text};
use crate::system::{CatalogTable, SystemContext};

pub struct PgConstraint;


impl CatalogTable for PgConstraint {
    const NAME: &'static str = "pg_constraint";
    const COLUMNS: &'static [(&'static str, DataType)] = &[
        ("oid", OID),
        ("conname", TEXT),
        ("connamespace", OID),
        ("contype", TEXT),
        ("condeferrable", BOOL),
        ("condeferred", BOOL),
        ("conrelid", OID),
        ("contypid", OID),
        ("confrelid", OID),
        ("confupdtype", TEXT),
        ("confdeltype", TEXT),
        ("confmatchtype", TEXT),
        ("conkey", INT2_ARRAY),
        ("confkey", INT2_ARRAY),
        ("conbin", TEXT),
        ("consrc", TEXT),
        ("conindid", OID),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        let all = relations(ctx);
        for r in &all {
            let Some(table) = r.table() else { continue };
            let numbers = |t: &crate::catalog::TableDef, columns: &[String]| {
                int2_array(columns.iter().filter_map(|c| t.column_index(c).map(|i| i as i16 + 1)))
            };
            for c in constraints(table) {
                let referenced = c.foreign.and_then(|fk| {
                    let schema = fk.ref_schema.as_deref().unwrap_or(&r.schema);
                    all.iter()
                        .filter_map(|other| other.table().filter(|_| other.schema == schema))
                        .find(|t| t.name == fk.ref_table)
                });
                let ref_columns = match (c.foreign, referenced) {
                    (Some(fk), Some(t)) if fk.ref_columns.is_empty() => numbers(t, &t.primary_key),
                    (Some(fk), Some(t)) => numbers(t, &fk.ref_columns),
                    _ => NULL,
                };
                let fk = c.kind == "f";
                rows.push(vec![
                    oid(c.oid),
                    text(&c.name),
                    oid(r.namespace),
                    text(c.kind),
                    boolean(false),
                    boolean(false),
                    oid(r.oid),
                    oid(0),
                    oid(referenced.map_or(0, |t| t.oid)),
                    text(if fk { "a" } else { " " }),
                    text(if fk { "a" } else { " " }),
                    text(if fk { "u" } else { " " }),
                    numbers(table, c.columns),
                    ref_columns,
                    NULL,
                    text(constraint_definition(&c)),
                    oid(if fk { 0 } else { index_oid(c.oid) }),
                ]);
            }
        }
    }
}
