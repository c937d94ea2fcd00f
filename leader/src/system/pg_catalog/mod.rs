//! The `pg_catalog` tables, in the shape Redshift exposes (PostgreSQL 8.0's columns plus
//! Redshift's `reldiststyle`, `attisdistkey`, `attsortkeyord`, `attencodingtype`), generated from
//! the live catalog. Columns that newer psql and drivers read unconditionally (for example
//! `relhastriggers`, `relpersistence`) are there too, with the values PostgreSQL would give an
//! object without those features; like Redshift there is no `pg_type.typarray`.

pub mod relations;
pub mod types;

pub use late_binding_view_cols::LateBindingViewCols;
pub use pg_views::view_definition;

mod late_binding_view_cols;
mod pg_am;
mod pg_attrdef;
mod pg_attribute;
mod pg_class;
mod pg_constraint;
mod pg_database;
mod pg_description;
mod pg_group;
mod pg_index;
mod pg_namespace;
pub mod pg_proc;
mod pg_roles;
mod pg_settings;
mod pg_table_def;
mod pg_tables;
mod pg_tablespace;
mod pg_type;
mod pg_user;
pub mod pg_views;
mod psql_support;

use std::sync::Arc;

use super::{SystemTable, table};

pub fn tables() -> Vec<Arc<dyn SystemTable>> {
    let mut tables = vec![
        table::<pg_am::PgAm>(),
        table::<pg_attrdef::PgAttrdef>(),
        table::<pg_attribute::PgAttribute>(),
        table::<pg_class::PgClass>(),
        table::<pg_constraint::PgConstraint>(),
        table::<pg_database::PgDatabase>(),
        table::<pg_description::PgDescription>(),
        table::<pg_group::PgGroup>(),
        table::<pg_index::PgIndex>(),
        table::<pg_namespace::PgNamespace>(),
        table::<pg_proc::PgProc>(),
        table::<pg_roles::PgRoles>(),
        table::<pg_settings::PgSettings>(),
        table::<pg_table_def::PgTableDef>(),
        table::<pg_tables::PgTables>(),
        table::<pg_tablespace::PgTablespace>(),
        table::<pg_type::PgType>(),
        table::<pg_user::PgUser>(),
        table::<pg_views::PgViews>(),
    ];
    tables.extend(psql_support::tables());
    tables
}
