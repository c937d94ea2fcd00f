//! SVV_EXTERNAL_TABLES: external tables, with where their files are and how they are read.

use crate::system::rows::{INT4, Rows, TEXT, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct SvvExternalTables;

impl CatalogTable for SvvExternalTables {
    const NAME: &'static str = "svv_external_tables";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("redshift_database_name", TEXT),
        ("schemaname", TEXT),
        ("tablename", TEXT),
        ("tabletype", TEXT),
        ("location", TEXT),
        ("input_format", TEXT),
        ("output_format", TEXT),
        ("serialization_lib", TEXT),
        ("serde_parameters", TEXT),
        ("compressed", INT4),
        ("parameters", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (schema, table) in ctx.external_tables() {
            rows.push(vec![
                text(crate::catalog::DATABASE),
                text(&schema.name),
                text(&table.name),
                text("EXTERNAL_TABLE"),
                text(&table.location),
                text(table.input_format()),
                text(table.output_format()),
                text(table.serialization_lib()),
                text(table.serde_parameters()),
                int(0),
                text(table.parameters()),
            ]);
        }
    }
}
