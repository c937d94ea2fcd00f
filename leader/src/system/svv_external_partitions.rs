//! SVV_EXTERNAL_PARTITIONS: the partitions registered with ALTER TABLE .. ADD PARTITION.

use crate::system::rows::{INT4, Rows, TEXT, char_n, int, text};
use crate::system::{CatalogTable, SystemContext};

/// Redshift shows at most this much of a partition's location.
const LOCATION_CHARS: usize = 128;

pub struct SvvExternalPartitions;

impl CatalogTable for SvvExternalPartitions {
    const NAME: &'static str = "svv_external_partitions";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("redshift_database_name", TEXT),
        ("schemaname", TEXT),
        ("tablename", TEXT),
        ("values", TEXT),
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
            for partition in &table.partitions {
                rows.push(vec![
                    text(crate::catalog::DATABASE),
                    text(&schema.name),
                    text(&table.name),
                    text(serde_json::to_string(&partition.values).expect("strings serialize")),
                    char_n(&partition.location, LOCATION_CHARS),
                    text(table.input_format()),
                    text(table.output_format()),
                    text(table.serialization_lib()),
                    text(table.serde_parameters()),
                    int(0),
                    text("{}"),
                ]);
            }
        }
    }
}
