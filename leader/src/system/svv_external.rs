//! SVV_EXTERNAL_SCHEMAS, SVV_EXTERNAL_TABLES and SVV_EXTERNAL_COLUMNS: Redshift Spectrum's
//! external schemas, tables and columns. redshift_connector's metadata calls ask them whether a
//! schema is external before choosing its catalog query, and dbt reads them. Blueshift has no
//! external schemas yet (Spectrum is not built), so they have Redshift's columns and no rows.

use crate::system::rows::{INT2, INT4, OID, Rows, TEXT};
use crate::system::{CatalogTable, SystemContext};

pub struct SvvExternalSchemas;

impl CatalogTable for SvvExternalSchemas {
    const NAME: &'static str = "svv_external_schemas";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("esoid", OID),
        ("eskind", INT2),
        ("schemaname", TEXT),
        ("esowner", INT4),
        ("databasename", TEXT),
        ("esoptions", TEXT),
    ];

    fn fill(_ctx: &SystemContext<'_>, _rows: &mut Rows) {}
}

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

    fn fill(_ctx: &SystemContext<'_>, _rows: &mut Rows) {}
}

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

    fn fill(_ctx: &SystemContext<'_>, _rows: &mut Rows) {}
}
