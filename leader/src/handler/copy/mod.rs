//! COPY: Redshift's bulk loader, from S3 (or the embedded store) and from STDIN.
//!
//! The statement is parsed by [`options`], its files found and cut into chunks by [`source`], and
//! the chunks loaded in parallel by [`load`] inside the statement's transaction, so a COPY is
//! atomic: if it fails, or rejects more rows than MAXERROR allows, nothing it wrote is
//! committed. Rejected rows go to STL_LOAD_ERRORS ([`report`] says what goes where), and the error
//! itself names the first bad file, line, column and reason, rather than only pointing at that
//! table. COPY FROM STDIN ([`stdin`]) loads the client's data the same way, as one file.

pub mod load;
pub mod options;
mod relay;
mod report;
pub mod source;
pub mod stdin;

use std::sync::Arc;

use blueshift_compute::load::{Format, JsonMode, LoadSpec, TargetColumn};
use blueshift_compute::s3::{self, S3Url, Stores};

use self::load::{LoadJob, LoadOutcome};
use self::options::{CopyStatement, FormatOption, JsonOption, Source};
use crate::catalog::provider::WriteLog;
use crate::catalog::TableDef;
use crate::error::{Error, Result, SqlState};
use crate::session::{Notice, Outcome, StatementContext, StatementResult};
use crate::system::stv_load_state::{LoadInfo, LoadProgress, Registration};

pub async fn copy(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let statement = options::parse(&ctx.statement.text)?;
    let (schema, relation) = ctx.resolve(&statement.table)?;
    let table = ctx
        .catalog()
        .table(&schema, &relation)
        .cloned()
        .ok_or_else(|| Error::undefined_table(&relation))?;
    ctx.lock_for_write(table.oid, &relation).await?;
    let table = Arc::new(table);
    let (columns, positions) = target_columns(&table, &statement)?;
    let services = Arc::clone(&ctx.session.server.services);
    let stores = Stores::new(services.s3.clone(), statement.credentials.clone());
    let spec = Arc::new(LoadSpec {
        columns,
        format: format(&stores, &statement.format).await?,
        options: statement.options.clone(),
    });
    blueshift_compute::load::convert::Converter::new(&spec).map_err(|e| Error::new(SqlState::InvalidParameterValue, e))?;
    let query = services.log.running_query(ctx.session.pid).unwrap_or_default();
    let info = LoadInfo {
        query,
        pid: ctx.session.pid,
        xid: ctx.txn.xid,
        table: relation.clone(),
        data_source: match &statement.source {
            Source::S3(location) => location.clone(),
            Source::Stdin => "stdin".into(),
        },
        file_format: report::history_format(&statement.format),
    };
    let (chunks, stdin) = match &statement.source {
        Source::S3(location) => match source::plan(&stores, &statement, location).await {
            Ok(chunks) => (chunks, None),
            Err(e) => {
                // Nothing was read, but the load was attempted: SYS_LOAD_HISTORY shows it aborted.
                drop(Registration::new(&services.log, Arc::new(LoadProgress::new(info, &[], None))));
                return Err(e);
            }
        },
        Source::Stdin => match stdin::take_data(ctx.session) {
            Some(data) => (Vec::new(), Some(data)),
            None => return stdin::start(ctx, spec.columns.len()),
        },
    };
    let progress = Arc::new(LoadProgress::new(info, &chunks, stdin.as_ref().map(|data| data.len() as u64)));
    let mut registration = Registration::new(&services.log, Arc::clone(&progress));
    let writes = WriteLog::default();
    let job = LoadJob {
        services: &services,
        table: Arc::clone(&table),
        xid: ctx.txn.xid,
        spec,
        s3: services.s3.clone(),
        credentials: statement.credentials.clone(),
        positions,
        max_errors: statement.max_errors,
        no_load: statement.no_load,
        explicit_ids: statement.explicit_ids,
        progress,
    };
    let outcome = match stdin {
        Some(data) => load::run_in_memory(&job, data, &writes).await,
        None => load::run(&job, chunks, &writes).await,
    };
    ctx.record_writes(&writes);
    let outcome = outcome?;
    let loaded = if statement.no_load { 0 } else { outcome.rows };
    let result = finish(ctx, &statement, &table, &job.spec.columns, query, outcome)?;
    registration.completed(loaded);
    Ok(result)
}

/// Reports a finished load: to the system tables ([`report`]), and either the statement's failure
/// (past MAXERROR) or its row count and INFO messages. `columns` are the columns the load filled,
/// in file order.
fn finish(
    ctx: &mut StatementContext<'_>,
    statement: &CopyStatement,
    table: &TableDef,
    columns: &[TargetColumn],
    query: i64,
    outcome: LoadOutcome,
) -> Result<StatementResult> {
    let skipped = outcome.skipped;
    let run = report::LoadRun {
        pid: ctx.session.pid,
        query,
        xid: ctx.txn.xid,
        table,
        columns,
    };
    let services = &ctx.session.server.services;
    report::record(services, &run, &statement.format, skipped <= statement.max_errors && !statement.no_load, &outcome);
    if skipped > statement.max_errors {
        let first = &outcome.rejected[0];
        let e = &first.error;
        return Err(Error::new(
            SqlState::InternalError,
            format!(
                "Load into table '{}' failed: {} at {} line {}, column {} ({}): {} [error {}]",
                table.name,
                if statement.max_errors == 0 {
                    "a row was rejected".to_string()
                } else {
                    format!("more than MAXERROR {} rows were rejected; the first", statement.max_errors)
                },
                first.origin.filename,
                e.line,
                e.colname,
                e.column_type,
                e.err_reason,
                e.err_code,
            ),
        )
        .with_detail(format!("raw line: {}", e.raw_line))
        .with_hint("See STL_LOAD_ERRORS for every rejected row."));
    }
    let rows = outcome.rows;
    let loaded = if statement.no_load { 0 } else { rows };
    if !statement.no_load {
        *ctx.txn.row_deltas.entry(table.oid).or_default() += rows as i64;
    }
    *ctx.session.last_copy.lock().unwrap() = Some((query, loaded as i64));
    let mut notices: Vec<Notice> = statement.notices.iter().map(|notice| Notice::info(notice.clone())).collect();
    notices.push(Notice::info(if statement.no_load {
        format!("Load into table '{}' checked, {rows} record(s) would load (NOLOAD).", table.name)
    } else {
        format!("Load into table '{}' completed, {rows} record(s) loaded successfully.", table.name)
    }));
    if skipped > 0 {
        notices.push(Notice::info(format!(
            "Load into table '{}' completed, {skipped} record(s) could not be loaded.  Check 'stl_load_errors' system table for details.",
            table.name
        )));
    }
    Ok(StatementResult {
        notices,
        outcome: Outcome::count("COPY", loaded),
    })
}

/// The columns a load fills, in file order, and for each table column the file column that fills
/// it. Without a column list: every column, less IDENTITY columns unless EXPLICIT_IDS.
fn target_columns(table: &TableDef, statement: &CopyStatement) -> Result<(Vec<TargetColumn>, Vec<Option<usize>>)> {
    let names: Vec<String> = if statement.columns.is_empty() {
        table
            .columns
            .iter()
            .filter(|c| c.identity.is_none() || statement.explicit_ids)
            .map(|c| c.name.clone())
            .collect()
    } else {
        statement.columns.clone()
    };
    let mut positions = vec![None; table.columns.len()];
    let mut columns = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let index = table.column_index(name).ok_or_else(|| {
            Error::new(
                SqlState::UndefinedColumn,
                format!("column \"{name}\" of relation \"{}\" does not exist", table.name),
            )
        })?;
        if positions[index].replace(i).is_some() {
            return Err(Error::new(SqlState::DuplicateColumn, format!("column \"{name}\" specified more than once")));
        }
        let column = &table.columns[index];
        if column.identity.is_some_and(|id| !id.by_default) && !statement.explicit_ids {
            return Err(Error::new(
                SqlState::FeatureNotSupported,
                format!("cannot load identity column \"{name}\" without EXPLICIT_IDS"),
            ));
        }
        columns.push(TargetColumn {
            name: column.name.clone(),
            kind: column.sql_type.column_kind(),
            not_null: column.not_null,
        });
    }
    for (column, position) in table.columns.iter().zip(&positions) {
        if position.is_none() && column.not_null && column.default.is_none() && column.identity.is_none() {
            return Err(Error::new(
                SqlState::NotNullViolation,
                format!("column \"{}\" is NOT NULL without a default, so the column list must include it", column.name),
            ));
        }
    }
    Ok((columns, positions))
}

/// The load format, reading a JSONPaths file and FIXEDWIDTH's 'label:width,...' specification.
async fn format(stores: &Stores, format: &FormatOption) -> Result<Format> {
    Ok(match format {
        FormatOption::Delimited => Format::Delimited,
        FormatOption::Csv { quote } => Format::Csv { quote: *quote },
        FormatOption::Parquet => Format::Parquet,
        FormatOption::Json(JsonOption::Mode(mode)) => Format::Json(mode.clone()),
        FormatOption::Json(JsonOption::PathsFile(location)) => {
            let url = S3Url::parse(location)?;
            let store = stores.get(&url.bucket)?;
            let text = s3::get(&store, &stores.config, &url).await?;
            let invalid = |why: String| Error::new(SqlState::InvalidParameterValue, format!("invalid JSONPaths file {url}: {why}"));
            let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
            let paths = value
                .get("jsonpaths")
                .and_then(|p| p.as_array())
                .ok_or_else(|| invalid("expected {\"jsonpaths\": [\"$.a\", ...]}".into()))?
                .iter()
                .map(|p| p.as_str().map(str::to_string).ok_or_else(|| invalid(format!("{p} is not a string"))))
                .collect::<Result<Vec<_>>>()?;
            Format::Json(JsonMode::Paths(paths))
        }
        FormatOption::FixedWidth(spec) => Format::FixedWidth(
            spec.split(',')
                .map(|part| {
                    part.rsplit_once(':')
                        .and_then(|(_, width)| width.trim().parse::<usize>().ok())
                        .filter(|w| *w > 0)
                        .ok_or_else(|| {
                            Error::new(
                                SqlState::InvalidParameterValue,
                                format!("invalid FIXEDWIDTH specification '{spec}': expected 'label:width,...'"),
                            )
                        })
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    })
}
