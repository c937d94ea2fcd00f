//! SVV_EXTERNAL_SCHEMAS: the external schemas, with the data catalog database each stands for.

use std::collections::BTreeMap;

use crate::system::rows::{INT4, OID, Rows, TEXT, int, oid, text};
use crate::system::{CatalogTable, SystemContext};

/// `eskind` of a schema backed by a data catalog (Glue).
const DATA_CATALOG: i64 = 1;

pub struct SvvExternalSchemas;

impl CatalogTable for SvvExternalSchemas {
    const NAME: &'static str = "svv_external_schemas";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("esoid", OID),
        ("eskind", INT4),
        ("schemaname", TEXT),
        ("esowner", INT4),
        ("databasename", TEXT),
        ("esoptions", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for schema in ctx.catalog.schemas.values() {
            let Some(external) = &schema.external else { continue };
            let mut options = BTreeMap::new();
            options.insert("IAM_ROLE", external.iam_role.clone());
            if let Some(region) = &external.region {
                options.insert("REGION", region.clone());
            }
            rows.push(vec![
                oid(schema.oid),
                int(DATA_CATALOG),
                text(&schema.name),
                int(crate::system::pg_catalog::relations::user_id(&schema.owner).into()),
                text(&external.database),
                text(serde_json::to_string(&options).expect("strings serialize")),
            ]);
        }
    }
}
