//! An external table as DataFusion sees it: its columns (data columns, partition columns and,
//! when the query names them, the `"$path"` and `"$size"` pseudo-columns), and a scan that
//! decides on the leader which files the query reads.
//!
//! Planning a scan prunes partitions by evaluating the query's predicates on partition columns
//! against each registered partition's values, lists only the qualifying partitions' folders
//! (so pruned partitions are never touched in S3), and deals the files into one group per
//! slice, splitting large Parquet files into byte ranges (whole row groups each).

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use futures::TryStreamExt;
use object_store::path::Path;

use crate::s3::{self, S3Config, S3Error, S3Url};
use crate::scan::{Dispatch, ExternalScanExec, FileFormat, FileSplit, ScanSpec};

/// Pseudo-column: the file a row comes from.
pub const PATH_COLUMN: &str = "$path";
/// Pseudo-column: that file's size in bytes.
pub const SIZE_COLUMN: &str = "$size";
/// Parquet files larger than this are read in byte ranges of about this size, in parallel.
pub const SPLIT_BYTES: u64 = 64 * 1024 * 1024;
/// The folder name of a NULL partition value, as Hive writes it (and UNLOAD and INSERT do).
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// A partition value, as text in the catalog or a folder name, as its column's type.
pub fn partition_value(text: &str, data_type: &DataType) -> Result<ScalarValue> {
    if text == HIVE_NULL {
        return ScalarValue::try_from(data_type);
    }
    ScalarValue::try_from_string(text.to_string(), data_type)
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionSpec {
    pub values: Vec<String>,
    pub location: String,
}

/// An external table's definition, in the terms a scan needs.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// `schema.table`.
    pub name: String,
    pub location: String,
    pub format: FileFormat,
    pub columns: Vec<Field>,
    pub partition_columns: Vec<Field>,
    /// Registered partitions (partitioned tables read only these).
    pub partitions: Vec<PartitionSpec>,
    /// Whether `"$path"` and `"$size"` are columns of this table for this query.
    pub pseudo_columns: bool,
    pub num_rows: Option<u64>,
}

/// Where a scan reports how many partitions it kept (SVL_S3PARTITION).
pub trait PartitionLog: Send + Sync {
    fn scanned(&self, table: &str, total: usize, qualified: usize);
}

pub struct ExternalTable {
    spec: TableSpec,
    s3: S3Config,
    /// Groups to deal the files into: one per slice.
    groups: usize,
    log: Arc<dyn PartitionLog>,
    schema: SchemaRef,
}

impl std::fmt::Debug for ExternalTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExternalTable({})", self.spec.name)
    }
}

fn pseudo_fields() -> [Field; 2] {
    [
        Field::new(PATH_COLUMN, DataType::Utf8, true),
        Field::new(SIZE_COLUMN, DataType::Int64, true),
    ]
}

fn s3_error(e: S3Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl ExternalTable {
    pub fn new(spec: TableSpec, s3: S3Config, groups: usize, log: Arc<dyn PartitionLog>) -> ExternalTable {
        let mut fields: Vec<Field> = spec.columns.iter().chain(&spec.partition_columns).cloned().collect();
        if spec.pseudo_columns {
            fields.extend(pseudo_fields());
        }
        ExternalTable {
            spec,
            s3,
            groups: groups.max(1),
            log,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The registered partitions the filters leave (all of them without partition columns).
    fn qualifying_partitions(&self, state: &dyn Session, filters: &[Expr]) -> Result<Vec<PartitionSpec>> {
        if self.spec.partition_columns.is_empty() {
            return Ok(vec![PartitionSpec {
                values: Vec::new(),
                location: self.spec.location.clone(),
            }]);
        }
        let partitions = &self.spec.partitions;
        let schema = Arc::new(Schema::new(self.spec.partition_columns.clone()));
        let columns = self
            .spec
            .partition_columns
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let values = partitions
                    .iter()
                    .map(|p| partition_value(&p.values[i], field.data_type()))
                    .collect::<Result<Vec<_>>>()?;
                if values.is_empty() {
                    return Ok(arrow::array::new_empty_array(field.data_type()));
                }
                ScalarValue::iter_to_array(values)
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let names: Vec<&str> = self.spec.partition_columns.iter().map(|f| f.name().as_str()).collect();
        let mut keep = vec![true; partitions.len()];
        for filter in filters {
            let on_partitions = filter.column_refs().iter().all(|c| names.contains(&c.name.as_str()));
            if !on_partitions || partitions.is_empty() {
                continue;
            }
            let Ok(predicate) = state.create_physical_expr(filter.clone(), &df_schema) else {
                continue;
            };
            let result = predicate.evaluate(&batch)?.into_array(batch.num_rows())?;
            let Some(mask) = result.as_any().downcast_ref::<BooleanArray>() else {
                continue;
            };
            for (i, k) in keep.iter_mut().enumerate() {
                *k &= mask.is_valid(i) && mask.value(i);
            }
        }
        let qualified: Vec<PartitionSpec> = partitions
            .iter()
            .zip(keep)
            .filter_map(|(p, k)| k.then(|| p.clone()))
            .collect();
        self.log.scanned(&self.spec.name, partitions.len(), qualified.len());
        Ok(qualified)
    }

    /// The files of a partition: everything under its folder, except names starting with `.`
    /// or `_` (at any level below the folder).
    async fn list(&self, partition: &PartitionSpec) -> Result<Vec<(String, u64)>> {
        let url = S3Url::parse(&partition.location).map_err(s3_error)?;
        let store = s3::bucket_store(&self.s3, &url.bucket, &Default::default()).map_err(s3_error)?;
        let prefix = url.key.trim_end_matches('/');
        let listing = if prefix.is_empty() {
            store.list(None)
        } else {
            store.list(Some(&Path::from(prefix)))
        };
        let objects = match listing.try_collect::<Vec<_>>().await {
            Ok(objects) => objects,
            // The embedded store reports a missing folder as not found; S3 lists nothing.
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(s3_error(s3::classify(e, &self.s3, &url))),
        };
        let mut files: Vec<(String, u64)> = objects
            .into_iter()
            .filter(|o| {
                let key = o.location.as_ref();
                let relative = key.strip_prefix(prefix).unwrap_or(key);
                !relative
                    .split('/')
                    .any(|part| part.starts_with('.') || part.starts_with('_'))
            })
            .map(|o| (url.object(o.location.as_ref()).to_string(), o.size))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Splits of every file, dealt into groups by size so each slice reads about as much.
    fn deal(&self, files: Vec<(String, u64, Vec<String>)>) -> Vec<Vec<FileSplit>> {
        let mut splits: Vec<FileSplit> = Vec::new();
        for (url, size, partition_values) in files {
            let ranges: Vec<Option<(u64, u64)>> = if self.spec.format == FileFormat::Parquet && size > SPLIT_BYTES {
                (0..size.div_ceil(SPLIT_BYTES))
                    .map(|i| Some((i * SPLIT_BYTES, ((i + 1) * SPLIT_BYTES).min(size))))
                    .collect()
            } else {
                vec![None]
            };
            for range in ranges {
                splits.push(FileSplit {
                    url: url.clone(),
                    size,
                    range,
                    partition_values: partition_values.clone(),
                });
            }
        }
        let bytes = |s: &FileSplit| s.range.map_or(s.size, |(a, b)| b - a);
        splits.sort_by_key(|s| std::cmp::Reverse(bytes(s)));
        let mut groups: Vec<(u64, Vec<FileSplit>)> = vec![(0, Vec::new()); self.groups];
        for split in splits {
            let smallest = groups.iter_mut().min_by_key(|(b, _)| *b).expect("at least one group");
            smallest.0 += bytes(&split);
            smallest.1.push(split);
        }
        groups.into_iter().map(|(_, g)| g).collect()
    }
}

#[async_trait]
impl TableProvider for ExternalTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = self.qualifying_partitions(state, filters)?;
        let mut files = Vec::new();
        for partition in &partitions {
            for (url, size) in self.list(partition).await? {
                let mut values = partition.values.clone();
                if self.spec.pseudo_columns {
                    values.push(url.clone());
                    values.push(size.to_string());
                }
                files.push((url, size, values));
            }
        }
        let mut partition_fields: Vec<FieldRef> = self.spec.partition_columns.iter().cloned().map(Arc::new).collect();
        if self.spec.pseudo_columns {
            partition_fields.extend(pseudo_fields().into_iter().map(Arc::new));
        }
        let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
        let pushed = filters
            .iter()
            .filter_map(|f| crate::leaf::pushdown_filter(state, f, &df_schema, |name| Some(name.to_string())))
            .collect();
        let spec = ScanSpec {
            table_name: self.spec.name.clone(),
            location: self.spec.location.clone(),
            format: self.spec.format.clone(),
            file_schema: Arc::new(Schema::new(self.spec.columns.clone())),
            partition_fields,
            projection: projection.cloned().unwrap_or_else(|| (0..self.schema.fields().len()).collect()),
            filters: pushed,
            s3: self.s3.clone(),
            estimated_rows: self.spec.num_rows,
        };
        let groups = self.deal(files);
        Ok(Arc::new(ExternalScanExec::new(Arc::new(spec), Arc::new(groups), Dispatch::PerPartition)))
    }
}
