//! Writing external tables: `CREATE EXTERNAL TABLE .. AS query` and `INSERT INTO` an external
//! table.
//!
//! Both run their query into new files under the table's LOCATION with UNLOAD's writer, placed as
//! UNLOAD PARALLEL ON places it: each compute node writes its own slices' rows. Files are named
//! as Redshift names them, `<date>_<time>_<microseconds>_<query>_<slice>_part_<nn>.<format>`, so a
//! later INSERT never replaces an earlier one's files. A partitioned table's rows go into
//! `col=value/` folders without their partition columns, and every folder written becomes a
//! registered partition, as Redshift registers them in its external catalog. Files in S3 cannot
//! be rolled back, so neither statement may run inside a transaction block; one that fails
//! removes the files it wrote.

use std::sync::Arc;

use arrow::datatypes::DataType;
use blueshift_compute::s3::{self, S3Config, S3Url};
use blueshift_compute::unload::{FileFormat, PartitionSpec, UnloadSpec, UnloadedFile, hive_unescape};
use datafusion::common::Column;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, cast};
use sqlparser::ast::{Statement, TableObject};

use super::{external_name, refuse_in_block, table_def};
use crate::catalog::SqlType;
use crate::catalog::external::{ExternalColumn, ExternalTableDef, PartitionDef, StoredAs};
use crate::catalog::types::VARCHAR_MAX;
use crate::error::{Error, Result, SqlState};
use crate::handler::unload::{layout, options, write};
use crate::handler::{done, query};
use crate::session::{Outcome, StatementContext, StatementResult, split_name};
use crate::sql::external::CreateExternalTable;
use crate::sql::parse_statement;

/// What one statement wrote.
struct Written {
    rows: u64,
    /// Partitions written to that the table did not have yet.
    new_partitions: Vec<PartitionDef>,
    /// Removes the files, if the statement fails after writing them.
    cleanup: Cleanup,
}

pub async fn create_as(
    ctx: &mut StatementContext<'_>,
    create: CreateExternalTable,
    schema: String,
    name: String,
) -> Result<StatementResult> {
    if ctx.catalog().relation_exists(&schema, &name) {
        return Err(Error::new(SqlState::DuplicateTable, format!("relation \"{name}\" already exists")));
    }
    let query = create.query.clone().expect("CREATE EXTERNAL TABLE AS has a query");
    let (state, _) = ctx.state(None);
    let plan = query::plan(&state, Statement::Query(query), ctx.params.clone()).await?;
    let fields: Vec<(String, DataType)> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| (crate::sql::column_names::display_name(f.name()).to_lowercase(), f.data_type().clone()))
        .collect();
    let position = |name: &str| fields.iter().position(|(n, _)| n == name);
    // Partition columns are found by name and move to the end, in PARTITIONED BY order.
    let mut partition_sources = Vec::new();
    let mut partition_columns = Vec::new();
    for (column, declared) in &create.partition_columns {
        let source = position(column).ok_or_else(|| {
            Error::new(
                SqlState::UndefinedColumn,
                format!("partition column \"{column}\" is not a column of the query"),
            )
        })?;
        let sql_type = match declared {
            Some(declared) => SqlType::from_ast(declared)?,
            None => derived_type(&fields[source].1)?,
        };
        partition_sources.push(source);
        partition_columns.push(ExternalColumn { name: column.clone(), sql_type });
    }
    let mut sources = Vec::new();
    let mut columns = Vec::new();
    for (i, (column, data_type)) in fields.iter().enumerate() {
        if !partition_sources.contains(&i) {
            sources.push(i);
            columns.push(ExternalColumn { name: column.clone(), sql_type: derived_type(data_type)? });
        }
    }
    if columns.is_empty() {
        return Err(Error::new(
            SqlState::InvalidTableDefinition,
            "CREATE EXTERNAL TABLE AS needs a column of the query that is not a partition column",
        ));
    }
    sources.extend(partition_sources);
    let mut table = table_def(&create, name, columns, partition_columns)?;
    refuse_nonempty_location(&ctx.services().s3, &table.location).await?;
    let Written { new_partitions, cleanup, .. } = write_rows(ctx, state, plan, &sources, &table).await?;
    table.partitions = new_partitions;
    let registered = async {
        let catalog = ctx.catalog_mut().await?;
        table.oid = catalog.allocate_oid();
        catalog.add_external_table(&schema, table)
    }
    .await;
    cleanup.on_error(registered).await?;
    done(Outcome::command("CREATE EXTERNAL TABLE"))
}

/// INSERT INTO an external table, or `None` if the statement inserts into something else.
pub async fn insert(ctx: &mut StatementContext<'_>) -> Result<Option<StatementResult>> {
    let Statement::Insert(insert) = parse_statement(&ctx.statement.text)? else {
        return Ok(None);
    };
    let TableObject::TableName(name) = &insert.table else {
        return Ok(None);
    };
    let Ok((Some(schema), table)) = split_name(name) else {
        return Ok(None);
    };
    let Some(table) = ctx.catalog().external_table(&schema, &table).cloned() else {
        return Ok(None);
    };
    refuse_in_block(ctx, "INSERT into an external table")?;
    let (schema, _) = external_name(ctx, name)?;
    if !insert.columns.is_empty() {
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            "INSERT into an external table takes no column list: the query's columns are matched by position",
        ));
    }
    let source = insert.source.clone().ok_or_else(|| {
        Error::new(SqlState::FeatureNotSupported, "INSERT into an external table needs a query")
    })?;
    let (state, _) = ctx.state(None);
    let plan = query::plan(&state, Statement::Query(source), ctx.params.clone()).await?;
    let sources: Vec<usize> = (0..plan.schema().fields().len()).collect();
    let Written { rows, new_partitions, cleanup } = write_rows(ctx, state, plan, &sources, &table).await?;
    let registered = async {
        let catalog = ctx.catalog_mut().await?;
        let current = catalog.external_table_mut(&schema, &table.name)?;
        for partition in new_partitions {
            if current.partition_index(&partition.values).is_none() {
                current.partitions.push(partition);
            }
        }
        Ok(())
    }
    .await;
    cleanup.on_error(registered).await?;
    Ok(Some(StatementResult {
        notices: Vec::new(),
        outcome: Outcome::count("INSERT", rows),
    }))
}

/// The type a CREATE EXTERNAL TABLE AS column gets from the query.
fn derived_type(data_type: &DataType) -> Result<SqlType> {
    Ok(match SqlType::from_arrow(data_type)? {
        // The query's strings may come from any column: allow the longest.
        SqlType::Varchar { .. } => SqlType::Varchar { length: VARCHAR_MAX },
        other => other,
    })
}

/// CREATE EXTERNAL TABLE AS writes only into an empty location, as in Redshift.
async fn refuse_nonempty_location(config: &S3Config, location: &str) -> Result<()> {
    let url = S3Url::parse(location)?;
    let store = s3::bucket_store(config, &url.bucket, &config.credentials)?;
    let existing = layout::existing(&store, config, &url).await?;
    if let Some(object) = existing.first() {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!(
                "the LOCATION of CREATE EXTERNAL TABLE AS must be empty, but {location} holds s3://{}/{}",
                url.bucket, object.location
            ),
        ));
    }
    Ok(())
}

/// Writes the query's rows as new files of `table`; `sources[i]` is the query column that
/// becomes the table's `i`-th column (data columns, then partition columns).
async fn write_rows(
    ctx: &StatementContext<'_>,
    state: SessionState,
    plan: LogicalPlan,
    sources: &[usize],
    table: &ExternalTableDef,
) -> Result<Written> {
    let plan = shaped(plan, sources, table)?;
    let services = ctx.services();
    let config = services.s3.clone();
    let url = S3Url::parse(&table.location)?;
    let query = services.log.running_query(ctx.session.pid).unwrap_or_default();
    let stamp = chrono::Utc::now().format("%Y%m%d_%H%M%S_%6f");
    let spec = Arc::new(file_spec(table, &url, &config, format!("{stamp}_{query}_")));
    let cleanup = Cleanup {
        config,
        url,
        name_prefix: spec.name_prefix.clone(),
    };
    let files = cleanup.on_error(write::parallel(state, plan, Arc::clone(&spec)).await).await?;
    Ok(Written {
        rows: files.iter().map(|f| f.rows).sum(),
        new_partitions: partitions_written(table, &files),
        cleanup,
    })
}

/// The query's rows as the table's columns: in the table's order, cast to its types and named
/// as its columns (Parquet files are read by column name).
fn shaped(plan: LogicalPlan, sources: &[usize], table: &ExternalTableDef) -> Result<LogicalPlan> {
    let columns: Vec<&ExternalColumn> = table.all_columns().collect();
    if sources.len() != columns.len() {
        return Err(Error::new(
            SqlState::SyntaxError,
            format!(
                "the query returns {} columns but external table \"{}\" has {} ({} data columns, then {} partition columns)",
                sources.len(),
                table.name,
                columns.len(),
                table.columns.len(),
                table.partition_columns.len()
            ),
        ));
    }
    let schema = plan.schema().clone();
    let exprs = sources
        .iter()
        .zip(columns)
        .enumerate()
        .map(|(position, (&source, column))| {
            let (qualifier, field) = schema.qualified_field(source);
            let target = column.sql_type.arrow_type();
            if !assignable(field.data_type(), &target) {
                return Err(Error::new(
                    SqlState::DatatypeMismatch,
                    format!(
                        "column \"{}\" is of type {} but the query's column {} is of type {}",
                        column.name,
                        column.external_type(),
                        position + 1,
                        SqlType::from_arrow(field.data_type()).map_or_else(|_| field.data_type().to_string(), |t| t.to_string())
                    ),
                ));
            }
            let value = Expr::Column(Column::from((qualifier, field)));
            Ok(cast(value, target).alias(&column.name))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
}

/// Whether values of `from` may be written to a column of `to`: same kind of value (numbers,
/// strings, booleans, dates and timestamps, times), or NULL.
fn assignable(from: &DataType, to: &DataType) -> bool {
    #[derive(PartialEq)]
    enum Kind {
        Number,
        Text,
        Boolean,
        DateTime,
        Time,
        Other,
    }
    let kind = |t: &DataType| match t {
        t if t.is_numeric() => Kind::Number,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Text,
        DataType::Boolean => Kind::Boolean,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => Kind::DateTime,
        DataType::Time32(_) | DataType::Time64(_) => Kind::Time,
        _ => Kind::Other,
    };
    from == &DataType::Null || (kind(from) == kind(to) && kind(from) != Kind::Other)
}

/// How the table's files are written: its format, under its location, partitioned by its
/// partition columns (the last columns of the shaped query, left out of the files).
fn file_spec(table: &ExternalTableDef, url: &S3Url, config: &S3Config, name_prefix: String) -> UnloadSpec {
    let (format, extension) = match table.stored_as {
        StoredAs::Parquet => (
            FileFormat::Parquet {
                row_group_bytes: options::ROW_GROUP_SIZE,
            },
            None,
        ),
        // Hive text, as the table is read: no quoting or escapes, `\N` for NULL.
        StoredAs::Textfile => (
            FileFormat::Text {
                delimiter: table.delimiter().to_string(),
                add_quotes: false,
                escape: false,
                null_as: "\\N".into(),
                header: false,
            },
            Some("txt".to_string()),
        ),
    };
    let max_file_size = table
        .properties
        .get("write.maxfilesize.mb")
        .and_then(|mb| mb.trim().parse::<u64>().ok())
        .map_or(options::MAX_FILE_SIZE, |mb| mb * 1024 * 1024);
    let data_columns = table.columns.len();
    let partition = (!table.partition_columns.is_empty()).then(|| PartitionSpec {
        columns: (data_columns..data_columns + table.partition_columns.len()).collect(),
        include: false,
    });
    UnloadSpec {
        endpoint: config.endpoint.clone(),
        local_root: config.local_root.clone(),
        credentials: config.credentials.clone(),
        bucket: url.bucket.clone(),
        prefix: url.key.clone(),
        format,
        compression: None,
        extension,
        max_file_size,
        partition,
        name_prefix,
    }
}

/// The partitions `files` were written into that `table` has not registered: one per
/// `col=value/..` folder under the table's location.
fn partitions_written(table: &ExternalTableDef, files: &[UnloadedFile]) -> Vec<PartitionDef> {
    let depth = table.partition_columns.len();
    let mut partitions: Vec<PartitionDef> = Vec::new();
    if depth == 0 {
        return partitions;
    }
    for file in files {
        let Some(relative) = file.url.strip_prefix(&table.location) else {
            continue;
        };
        let folders: Vec<&str> = relative.split('/').take(depth).collect();
        let values: Vec<String> = folders
            .iter()
            .map(|folder| hive_unescape(folder.split_once('=').map_or(*folder, |(_, value)| value)))
            .collect();
        if table.partition_index(&values).is_some() || partitions.iter().any(|p| p.values == values) {
            continue;
        }
        partitions.push(PartitionDef {
            values,
            location: format!("{}{}/", table.location, folders.join("/")),
        });
    }
    partitions
}

/// The files one statement wrote, found by their unique name prefix.
struct Cleanup {
    config: S3Config,
    url: S3Url,
    name_prefix: String,
}

impl Cleanup {
    /// Passes `result` on; if it is an error, first deletes the files.
    async fn on_error<T>(&self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.remove().await;
        }
        result
    }

    async fn remove(&self) {
        let Ok(store) = s3::bucket_store(&self.config, &self.url.bucket, &self.config.credentials) else {
            return;
        };
        let Ok(existing) = layout::existing(&store, &self.config, &self.url).await else {
            return;
        };
        let ours = existing
            .into_iter()
            .filter(|o| o.location.filename().is_some_and(|name| name.starts_with(&self.name_prefix)))
            .collect();
        if let Err(e) = layout::delete(&store, &self.config, &self.url, ours).await {
            tracing::warn!("cannot remove the files of a failed write under {}: {e}", self.url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_the_folders_written() {
        let table = ExternalTableDef {
            oid: 1,
            name: "t".into(),
            owner: "awsuser".into(),
            columns: vec![ExternalColumn { name: "a".into(), sql_type: SqlType::Integer }],
            partition_columns: vec![
                ExternalColumn { name: "d".into(), sql_type: SqlType::Date },
                ExternalColumn { name: "k".into(), sql_type: SqlType::Varchar { length: 10 } },
            ],
            stored_as: StoredAs::Parquet,
            field_delimiter: None,
            location: "s3://b/t/".into(),
            properties: Default::default(),
            partitions: vec![PartitionDef {
                values: vec!["2024-01-01".into(), "x".into()],
                location: "s3://b/t/d=2024-01-01/k=x/".into(),
            }],
        };
        let file = |url: &str| UnloadedFile { url: url.into(), bytes: 1, rows: 1 };
        let files = [
            file("s3://b/t/d=2024-01-01/k=x/20240101_000000_000001_7_0000_part_00.parquet"),
            file("s3://b/t/d=2024-01-02/k=a%2Fb/20240101_000000_000001_7_0000_part_00.parquet"),
            file("s3://b/t/d=2024-01-02/k=a%2Fb/20240101_000000_000001_7_0001_part_00.parquet"),
        ];
        let partitions = partitions_written(&table, &files);
        assert_eq!(
            partitions,
            vec![PartitionDef {
                values: vec!["2024-01-02".into(), "a/b".into()],
                location: "s3://b/t/d=2024-01-02/k=a%2Fb/".into(),
            }]
        );
    }

    #[test]
    fn values_must_be_of_the_columns_kind() {
        assert!(assignable(&DataType::Int64, &DataType::Decimal128(15, 2)));
        assert!(assignable(&DataType::Date32, &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None)));
        assert!(assignable(&DataType::Null, &DataType::Boolean));
        assert!(!assignable(&DataType::Utf8, &DataType::Int32));
        assert!(!assignable(&DataType::Int32, &DataType::Utf8));
    }
}
