//! External (Spectrum) schemas and tables in the leader's catalog.
//!
//! Redshift keeps external tables in an AWS Glue data catalog; Blueshift keeps them in its own
//! catalog, persisted and versioned with everything else, so they survive restarts and their DDL
//! is transactional like any other. An external schema is a [`super::SchemaDef`] marked with
//! [`ExternalSchema`]; its tables say where their files are and how to read them, and a
//! partitioned table lists its partitions as `ALTER TABLE .. ADD PARTITION` registered them.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::Field;
use blueshift_spectrum::{ExternalTable, FileFormat, PartitionSpec, TableSpec};
use serde::{Deserialize, Serialize};

use super::provider::{QueryContext, Services};

use super::SqlType;
use crate::error::{Error, Result, SqlState};

/// Most partitions one ALTER TABLE may add (Redshift's limit).
pub const MAX_PARTITIONS_PER_ALTER: usize = 100;

/// What `CREATE EXTERNAL SCHEMA .. FROM DATA CATALOG` recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalSchema {
    /// The data catalog database the schema stands for.
    pub database: String,
    pub region: Option<String>,
    pub iam_role: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredAs {
    Parquet,
    Textfile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalColumn {
    pub name: String,
    pub sql_type: SqlType,
}

impl ExternalColumn {
    /// The column's type as the data catalog spells it (`int`, `varchar(20)`, `decimal(8,2)`).
    pub fn external_type(&self) -> String {
        match self.sql_type {
            SqlType::SmallInt => "smallint".into(),
            SqlType::Integer => "int".into(),
            SqlType::BigInt => "bigint".into(),
            SqlType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            SqlType::Real => "float".into(),
            SqlType::Double => "double".into(),
            SqlType::Boolean => "boolean".into(),
            SqlType::Char { length } => format!("char({length})"),
            SqlType::Varchar { length } => format!("varchar({length})"),
            SqlType::Date => "date".into(),
            SqlType::Timestamp | SqlType::Timestamptz => "timestamp".into(),
            SqlType::Time => "string".into(),
        }
    }
}

/// A registered partition: one value per partition column, and the folder holding its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionDef {
    pub values: Vec<String>,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalTableDef {
    pub oid: u32,
    pub name: String,
    pub owner: String,
    pub columns: Vec<ExternalColumn>,
    pub partition_columns: Vec<ExternalColumn>,
    pub stored_as: StoredAs,
    /// ROW FORMAT DELIMITED FIELDS TERMINATED BY, for text files (Hive's `\001` by default).
    pub field_delimiter: Option<String>,
    pub location: String,
    /// TABLE PROPERTIES, e.g. `numRows`, `skip.header.line.count`.
    pub properties: BTreeMap<String, String>,
    pub partitions: Vec<PartitionDef>,
}

impl ExternalTableDef {
    /// Partition columns follow the data columns, as in `SELECT *`.
    pub fn all_columns(&self) -> impl Iterator<Item = &ExternalColumn> {
        self.columns.iter().chain(&self.partition_columns)
    }

    pub fn delimiter(&self) -> &str {
        self.field_delimiter.as_deref().unwrap_or("\u{1}")
    }

    /// Lines skipped at the start of each text file.
    pub fn skip_header_lines(&self) -> usize {
        self.properties
            .get("skip.header.line.count")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The `numRows` table property: the planner's row count for a table it cannot analyze.
    pub fn num_rows(&self) -> Option<u64> {
        self.properties.get("numRows").and_then(|v| v.trim().parse().ok())
    }

    /// Index of the partition with exactly these values.
    pub fn partition_index(&self, values: &[String]) -> Option<usize> {
        self.partitions.iter().position(|p| p.values == values)
    }

    /// `(k='v', ..)` values, in partition-column order; every partition column must be given once.
    pub fn partition_values(&self, given: &[(String, String)]) -> Result<Vec<String>> {
        if given.len() != self.partition_columns.len() {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!(
                    "partition of \"{}\" needs a value for each of its {} partition columns",
                    self.name,
                    self.partition_columns.len()
                ),
            ));
        }
        self.partition_columns
            .iter()
            .map(|column| {
                given
                    .iter()
                    .find(|(k, _)| *k == column.name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| {
                        Error::new(
                            SqlState::UndefinedColumn,
                            format!("partition column \"{}\" has no value", column.name),
                        )
                    })
            })
            .collect()
    }

    /// Hive's input format class, as SVV_EXTERNAL_TABLES reports it.
    pub fn input_format(&self) -> &'static str {
        match self.stored_as {
            StoredAs::Parquet => "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            StoredAs::Textfile => "org.apache.hadoop.mapred.TextInputFormat",
        }
    }

    pub fn output_format(&self) -> &'static str {
        match self.stored_as {
            StoredAs::Parquet => "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            StoredAs::Textfile => "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        }
    }

    pub fn serialization_lib(&self) -> &'static str {
        match self.stored_as {
            StoredAs::Parquet => "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            StoredAs::Textfile => "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        }
    }

    pub fn serde_parameters(&self) -> String {
        let mut parameters = BTreeMap::new();
        match self.stored_as {
            StoredAs::Parquet => {
                parameters.insert("serialization.format", "1".to_string());
            }
            StoredAs::Textfile => {
                parameters.insert("field.delim", self.delimiter().to_string());
                parameters.insert("serialization.format", self.delimiter().to_string());
            }
        }
        serde_json::to_string(&parameters).expect("strings serialize")
    }

    /// Table parameters as JSON, with the `EXTERNAL` flag Glue adds.
    pub fn parameters(&self) -> String {
        let mut parameters: BTreeMap<&str, &str> = self.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        parameters.insert("EXTERNAL", "TRUE");
        serde_json::to_string(&parameters).expect("strings serialize")
    }
}

/// The error Redshift gives for statements external tables do not support.
pub fn unsupported_on_external(operation: &str) -> Error {
    Error::new(
        SqlState::FeatureNotSupported,
        format!("{operation} is not supported on external tables"),
    )
}

/// The table DataFusion scans for an external table, as `context`'s statement sees it.
pub fn provider(schema: &str, table: &ExternalTableDef, context: &QueryContext, services: &Arc<Services>) -> ExternalTable {
    let fields = |columns: &[ExternalColumn]| -> Vec<Field> {
        columns
            .iter()
            .map(|c| Field::new(&c.name, c.sql_type.arrow_type(), true))
            .collect()
    };
    let spec = TableSpec {
        name: format!("{schema}.{}", table.name),
        location: table.location.clone(),
        format: match table.stored_as {
            StoredAs::Parquet => FileFormat::Parquet,
            StoredAs::Textfile => FileFormat::Text {
                delimiter: table.delimiter().as_bytes()[0],
                skip_header_lines: table.skip_header_lines(),
            },
        },
        columns: fields(&table.columns),
        partition_columns: fields(&table.partition_columns),
        partitions: table
            .partitions
            .iter()
            .map(|p| PartitionSpec {
                values: p.values.clone(),
                location: p.location.clone(),
            })
            .collect(),
        pseudo_columns: context.pseudo_columns,
        num_rows: table.num_rows(),
    };
    let log = crate::system::svl_s3partition::Recorder {
        log: Arc::clone(&services.log),
        pid: context.session.pid,
    };
    ExternalTable::new(spec, services.s3.clone(), services.cluster.slice_count() as usize, Arc::new(log))
}
