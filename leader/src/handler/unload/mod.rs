//! UNLOAD: a query's result written to S3 (or the embedded store) in Redshift's formats and file
//! layout, for the tools that read Redshift's exports.
//!
//! The statement is read by [`options`]; its query is planned like any other, against the
//! statement's snapshot. [`layout`] checks what is already under the prefix (UNLOAD does not
//! overwrite unless told to), [`write`] runs the query into files, PARALLEL ON from the compute
//! nodes and PARALLEL OFF from the leader, and [`manifest`] lists the files written. If anything
//! fails, the files this UNLOAD wrote are removed, so a reader never sees partial output.

pub mod layout;
pub mod manifest;
pub mod options;
pub mod write;

use std::sync::Arc;

use arrow::datatypes::Schema;
use blueshift_compute::s3::{self, S3Url};
use blueshift_compute::unload::{FileFormat, PartitionSpec, UnloadSpec, UnloadedFile};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use sqlparser::ast::Statement;

use self::options::{Format, UnloadStatement};
use crate::error::{Error, Result, SqlState};
use crate::handler::query;
use crate::session::{Notice, Outcome, StatementContext, StatementResult};
use crate::sql::parse_statement;

pub async fn unload(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let statement = options::parse(&ctx.statement.text)?;
    let Statement::Query(parsed) = parse_statement(&statement.query)? else {
        return Err(Error::new(SqlState::SyntaxError, "UNLOAD takes a SELECT statement"));
    };
    layout::refuse_outer_limit(&parsed)?;
    let url = S3Url::parse(&statement.to)?;
    let services = Arc::clone(&ctx.session.server.services);
    let config = services.s3.clone();
    let (state, _) = ctx.state(None);
    // The files take the analysed types, which the rows have.
    let plan = query::analyse(&state, query::plan(&state, Statement::Query(parsed), None).await?)?;
    let store = s3::bucket_store(&config, &url.bucket, &statement.credentials)?;
    let schema = Arc::new(plan.schema().as_arrow().clone());
    let spec = Arc::new(spec(&statement, &url, &config, &schema)?);

    let before = layout::existing(&store, &config, &url).await?;
    if statement.clean_path {
        layout::delete(&store, &config, &url, before.clone()).await?;
    } else if !statement.allow_overwrite {
        layout::refuse_overwrite(&before, &url, &statement.partition_by, statement.manifest)?;
    }
    let before = if statement.clean_path { Vec::new() } else { before };
    let written = async {
        let files = if statement.parallel {
            write::parallel(state, plan, Arc::clone(&spec)).await?
        } else {
            write::serial(state, plan, Arc::clone(&spec)).await?
        };
        if statement.manifest {
            write_manifest(&statement, &url, &files, &schema, &store, &config).await?;
        }
        Ok::<_, Error>(files)
    }
    .await;
    let files = match written {
        Ok(files) => files,
        Err(e) => {
            layout::remove_written(&store, &config, &url, &before).await;
            return Err(e);
        }
    };
    let rows: u64 = files.iter().map(|f| f.rows).sum();
    let query = services.log.running_query(ctx.session.pid).unwrap_or_default();
    *ctx.session.last_unload.lock().unwrap() = Some((query, rows as i64));
    Ok(StatementResult {
        notices: vec![Notice::info(format!("UNLOAD completed, {rows} record(s) unloaded successfully."))],
        outcome: Outcome::count("UNLOAD", rows),
    })
}

/// The writers' instructions: format options with Redshift's defaults, and partition columns
/// found among the query's output columns.
fn spec(s: &UnloadStatement, url: &S3Url, config: &s3::S3Config, schema: &Schema) -> Result<UnloadSpec> {
    let format = match s.format {
        Format::Parquet => FileFormat::Parquet {
            row_group_bytes: s.row_group_size.unwrap_or(options::ROW_GROUP_SIZE),
        },
        Format::Json => FileFormat::Json,
        Format::Csv => FileFormat::Csv {
            delimiter: s.delimiter.clone().unwrap_or_else(|| ",".into()),
            null_as: s.null_as.clone().unwrap_or_default(),
            header: s.header,
        },
        Format::Text => FileFormat::Text {
            delimiter: s.delimiter.clone().unwrap_or_else(|| "|".into()),
            add_quotes: s.add_quotes,
            escape: s.escape,
            null_as: s.null_as.clone().unwrap_or_default(),
            header: s.header,
        },
    };
    let partition = if s.partition_by.is_empty() {
        None
    } else {
        let columns = s
            .partition_by
            .iter()
            .map(|name| {
                schema.index_of(name).map_err(|_| {
                    Error::new(
                        SqlState::UndefinedColumn,
                        format!("PARTITION BY column \"{name}\" is not a column of the UNLOAD query"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if !s.partition_include && columns.len() >= schema.fields().len() {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                "PARTITION BY needs at least one column of the query that is not a partition column, or INCLUDE",
            ));
        }
        Some(PartitionSpec {
            columns,
            include: s.partition_include,
        })
    };
    Ok(UnloadSpec {
        endpoint: config.endpoint.clone(),
        local_root: config.local_root.clone(),
        credentials: s.credentials.clone(),
        bucket: url.bucket.clone(),
        prefix: url.key.clone(),
        format,
        compression: s.compression,
        extension: s.extension.clone(),
        max_file_size: s.max_file_size,
        partition,
        name_prefix: String::new(),
    })
}

async fn write_manifest(
    s: &UnloadStatement,
    url: &S3Url,
    files: &[UnloadedFile],
    schema: &Schema,
    store: &Arc<dyn object_store::ObjectStore>,
    config: &s3::S3Config,
) -> Result<()> {
    let key = format!("{}manifest", url.key);
    let body = manifest::manifest(files, s.manifest_verbose, schema);
    store
        .put(&Path::from(key.as_str()), body.into())
        .await
        .map_err(|e| s3::classify(e, config, &url.object(&key)))?;
    Ok(())
}
