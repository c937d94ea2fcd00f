//! Catalog tables that exist so psql's and drivers' joins plan, and that are empty because
//! Blueshift (like Redshift) has none of their objects: inheritance, role membership, triggers,
//! rules, collations, shared comments and procedural languages beyond the built-in ones.

use std::sync::Arc;

use arrow::datatypes::DataType;

use crate::system::rows::{BOOL, INT4, OID, Rows, TEXT};
use crate::system::{CatalogTable, SystemContext, SystemTable, table};

macro_rules! empty_table {
    ($type:ident, $name:literal, [$(($column:literal, $data_type:expr)),* $(,)?]) => {
        struct $type;

        impl CatalogTable for $type {
            const NAME: &'static str = $name;
            const COLUMNS: &'static [(&'static str, DataType)] = &[$(($column, $data_type)),*];

            fn fill(_ctx: &SystemContext<'_>, _rows: &mut Rows) {}
        }
    };
}

empty_table!(PgInherits, "pg_inherits", [("inhrelid", OID), ("inhparent", OID), ("inhseqno", INT4)]);
empty_table!(PgAuthMembers, "pg_auth_members", [("roleid", OID), ("member", OID), ("grantor", OID), ("admin_option", BOOL)]);
empty_table!(PgTrigger, "pg_trigger", [("oid", OID), ("tgrelid", OID), ("tgname", TEXT), ("tgfoid", OID), ("tgenabled", TEXT), ("tgisinternal", BOOL), ("tgconstraint", OID)]);
empty_table!(PgRewrite, "pg_rewrite", [("oid", OID), ("rulename", TEXT), ("ev_class", OID), ("ev_type", TEXT), ("is_instead", BOOL)]);
empty_table!(PgCollation, "pg_collation", [("oid", OID), ("collname", TEXT), ("collnamespace", OID)]);
empty_table!(PgShdescription, "pg_shdescription", [("objoid", OID), ("classoid", OID), ("description", TEXT)]);

pub fn tables() -> Vec<Arc<dyn SystemTable>> {
    vec![
        table::<PgInherits>(),
        table::<PgAuthMembers>(),
        table::<PgTrigger>(),
        table::<PgRewrite>(),
        table::<PgCollation>(),
        table::<PgShdescription>(),
    ]
}
