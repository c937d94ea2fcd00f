//! `information_schema`: the SQL-standard catalog views, generated from the same relation list
//! as `pg_catalog` (see [`super::pg_catalog::relations`]).

mod columns;
mod key_column_usage;
mod schemata;
mod table_constraints;
mod tables;
mod views;

use std::sync::Arc;

use super::pg_catalog::relations::{Kind, Relation};
use super::{SystemTable, table};

pub fn tables() -> Vec<Arc<dyn SystemTable>> {
    vec![
        table::<columns::Columns>(),
        table::<key_column_usage::KeyColumnUsage>(),
        table::<schemata::Schemata>(),
        table::<table_constraints::TableConstraints>(),
        table::<tables::Tables>(),
        table::<views::Views>(),
    ]
}

/// `table_type`: BASE TABLE, VIEW, or LOCAL TEMPORARY.
pub fn table_type(relation: &Relation<'_>) -> &'static str {
    match &relation.kind {
        Kind::Table(t) if t.temp_owner.is_some() => "LOCAL TEMPORARY",
        Kind::Table(_) => "BASE TABLE",
        Kind::View(_) | Kind::System(_) => "VIEW",
    }
}
