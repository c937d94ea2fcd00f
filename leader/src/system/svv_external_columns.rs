//! SVV_EXTERNAL_COLUMNS: columns of external tables, partition columns last with their
//! position in the partition key.

use crate::system::rows::{INT4, Rows, TEXT, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct SvvExternalColumns;

impl CatalogTable for SvvExternalColumns {
    const NAME: &'static str = "svv_external_columns";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("redshift_database_name", TEXT),
        ("schemaname", TEXT),
        ("tablename", TEXT),
        ("columnname", TEXT),
        ("external_type", TEXT),
        ("columnnum", INT4),
        ("part_key", INT4),
        ("is_nullable", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (schema, table) in ctx.external_tables() {
            let part_keys = (0..table.columns.len()).map(|_| 0).chain(1..=table.partition_columns.len());
            for (i, (column, part_key)) in table.all_columns().zip(part_keys).enumerate() {
                rows.push(vec![
                    text(crate::catalog::DATABASE),
                    text(&schema.name),
                    text(&table.name),
                    text(&column.name),
                    text(column.external_type()),
                    int(i as i64 + 1),
                    int(part_key as i64),
                    text("true"),
                ]);
            }
        }
    }
}
