//! Spectrum DDL: CREATE EXTERNAL SCHEMA, CREATE EXTERNAL TABLE, ALTER TABLE on external tables
//! (partitions, location, properties) and DROP EXTERNAL TABLE.
//!
//! These change the catalog only: files in S3 are never touched, and a location is not read
//! until a query scans it (as in Redshift, where a wrong location shows up as an empty table).
//! The statements that do write files, CREATE EXTERNAL TABLE AS and INSERT, are in [`write`].

pub mod write;

use std::collections::BTreeMap;

use blueshift_compute::s3::S3Url;
use sqlparser::ast::ObjectName;

use super::done;
use crate::catalog::external::{
    ExternalColumn, ExternalSchema, ExternalTableDef, MAX_PARTITIONS_PER_ALTER, PartitionDef,
};
use crate::catalog::{SUPERUSER, SqlType};
use crate::error::{Error, Result, SqlState};
use crate::session::{Notice, Outcome, StatementContext, StatementResult, split_name};
use crate::sql::external::{self, AlterExternal};

/// Most columns an external table may have (with the two pseudo-columns, Redshift's 1,600).
const MAX_COLUMNS: usize = 1598;

pub async fn create_schema(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let create = external::parse_create_schema(&ctx.statement.text)?;
    let (_, name) = split_name(&create.name)?;
    let catalog = ctx.catalog_mut().await?;
    if !catalog.create_schema(&name, SUPERUSER, create.if_not_exists)? {
        return Ok(StatementResult {
            notices: vec![Notice::info(format!("Schema \"{name}\" already exists"))],
            outcome: Outcome::command("CREATE EXTERNAL SCHEMA"),
        });
    }
    catalog.schema_mut(&name)?.external = Some(ExternalSchema {
        database: create.database,
        region: create.region,
        iam_role: create.iam_role,
    });
    done(Outcome::command("CREATE EXTERNAL SCHEMA"))
}

/// The external schema and table a name refers to; the schema must be given, as the search
/// path does not apply to external schemas.
fn external_name(ctx: &StatementContext<'_>, name: &ObjectName) -> Result<(String, String)> {
    let (schema, table) = split_name(name)?;
    let schema = schema.ok_or_else(|| {
        Error::new(
            SqlState::InvalidSchemaName,
            format!("external table \"{table}\" must be qualified with its external schema"),
        )
    })?;
    if ctx.catalog().schema(&schema)?.external.is_none() {
        return Err(Error::new(
            SqlState::WrongObjectType,
            format!("schema \"{schema}\" is not an external schema"),
        ));
    }
    Ok((schema, table))
}

fn columns(list: &[(String, sqlparser::ast::DataType)]) -> Result<Vec<ExternalColumn>> {
    list.iter()
        .map(|(name, data_type)| {
            Ok(ExternalColumn {
                name: name.clone(),
                sql_type: SqlType::from_ast(data_type)?,
            })
        })
        .collect()
}

/// `s3://bucket/folder/`, checked and with the trailing slash that makes it a folder.
fn folder(location: &str) -> Result<String> {
    let url = S3Url::parse(location.trim())?;
    let mut folder = url.to_string();
    if !folder.ends_with('/') {
        folder.push('/');
    }
    Ok(folder)
}

/// A delimiter as written in DDL: one character, or an escape such as `\t` or `\001`.
fn delimiter(text: &str) -> Result<String> {
    let value = match text {
        "\\t" => "\t".to_string(),
        "\\n" => "\n".to_string(),
        escaped if escaped.len() == 4 && escaped.starts_with('\\') => {
            let code = u8::from_str_radix(&escaped[1..], 8)
                .map_err(|_| Error::new(SqlState::InvalidParameterValue, format!("invalid delimiter '{text}'")))?;
            char::from(code).to_string()
        }
        other => other.to_string(),
    };
    if value.len() != 1 {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!("field delimiter '{text}' must be a single character"),
        ));
    }
    Ok(value)
}

pub async fn create_table(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    refuse_in_block(ctx, "CREATE EXTERNAL TABLE")?;
    let create = external::parse_create_table(&ctx.statement.text)?;
    let (schema, name) = external_name(ctx, &create.name)?;
    if create.query.is_some() {
        return write::create_as(ctx, create, schema, name).await;
    }
    let columns = columns(&create.columns)?;
    let partition_columns = create
        .partition_columns
        .iter()
        .map(|(name, data_type)| {
            let data_type = data_type.as_ref().expect("the parser requires partition types without AS");
            Ok(ExternalColumn {
                name: name.clone(),
                sql_type: SqlType::from_ast(data_type)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut table = table_def(&create, name, columns, partition_columns)?;
    let catalog = ctx.catalog_mut().await?;
    table.oid = catalog.allocate_oid();
    catalog.add_external_table(&schema, table)?;
    done(Outcome::command("CREATE EXTERNAL TABLE"))
}

/// The definition CREATE EXTERNAL TABLE [AS] makes (its oid still to be allocated), with its
/// columns checked: no name twice, and no more than Redshift allows.
fn table_def(
    create: &external::CreateExternalTable,
    name: String,
    columns: Vec<ExternalColumn>,
    partition_columns: Vec<ExternalColumn>,
) -> Result<ExternalTableDef> {
    let mut seen = std::collections::HashSet::new();
    for column in columns.iter().chain(&partition_columns) {
        if !seen.insert(column.name.as_str()) {
            return Err(Error::new(
                SqlState::DuplicateColumn,
                format!("column \"{}\" specified more than once", column.name),
            ));
        }
    }
    if columns.len() + partition_columns.len() > MAX_COLUMNS {
        return Err(Error::new(
            SqlState::ProgramLimitExceeded,
            format!("external tables can have at most {MAX_COLUMNS} columns"),
        ));
    }
    Ok(ExternalTableDef {
        oid: 0,
        name,
        owner: SUPERUSER.to_string(),
        columns,
        partition_columns,
        stored_as: create.stored_as,
        field_delimiter: create.field_delimiter.as_deref().map(delimiter).transpose()?,
        location: folder(&create.location)?,
        properties: create.properties.iter().cloned().collect::<BTreeMap<_, _>>(),
        partitions: Vec::new(),
    })
}

/// Statements that write to S3 or the external catalog cannot be undone by a ROLLBACK, so
/// Redshift refuses them inside a transaction block.
fn refuse_in_block(ctx: &StatementContext<'_>, statement: &str) -> Result<()> {
    if ctx.in_block {
        return Err(Error::new(
            SqlState::ActiveSqlTransaction,
            format!("{statement} cannot run inside a transaction block"),
        ));
    }
    Ok(())
}

/// ALTER TABLE on an external table, or `None` if `statement` is another ALTER TABLE.
pub async fn alter(ctx: &mut StatementContext<'_>) -> Result<Option<StatementResult>> {
    let parsed = external::parse_alter(&ctx.statement.text);
    let target = match &parsed {
        Ok(Some((name, _))) => Some(name.clone()),
        _ => None,
    };
    let is_external = |ctx: &StatementContext<'_>, name: &ObjectName| {
        split_name(name)
            .ok()
            .and_then(|(schema, table)| ctx.catalog().external_table(schema.as_deref()?, &table).map(|_| ()))
            .is_some()
    };
    let Some(name) = target else {
        // Not a Spectrum action: still refuse it on an external table.
        if let Ok(statement) = crate::sql::parse_statement(&ctx.statement.text)
            && let sqlparser::ast::Statement::AlterTable(alter) = statement
            && is_external(ctx, &alter.name)
        {
            return Err(crate::catalog::external::unsupported_on_external("this ALTER TABLE action"));
        }
        return Ok(None);
    };
    let Some((_, action)) = parsed? else { unreachable!("target came from a parsed action") };
    let (schema, table_name) = external_name(ctx, &name)?;
    let mut notices = Vec::new();
    let catalog = ctx.catalog_mut().await?;
    let table = catalog.external_table_mut(&schema, &table_name)?;
    match action {
        AlterExternal::AddPartitions { if_not_exists, partitions } => {
            if table.partition_columns.is_empty() {
                return Err(Error::new(
                    SqlState::InvalidTableDefinition,
                    format!("table \"{table_name}\" is not partitioned"),
                ));
            }
            if partitions.len() > MAX_PARTITIONS_PER_ALTER {
                return Err(Error::new(
                    SqlState::ProgramLimitExceeded,
                    format!("at most {MAX_PARTITIONS_PER_ALTER} partitions can be added in one ALTER TABLE"),
                ));
            }
            for (spec, location) in partitions {
                let values = table.partition_values(&spec)?;
                for (column, value) in table.partition_columns.iter().zip(&values) {
                    check_value(column, value)?;
                }
                if table.partition_index(&values).is_some() {
                    if if_not_exists {
                        notices.push(Notice::info(format!("Partition {values:?} already exists, skipping")));
                        continue;
                    }
                    return Err(Error::new(
                        SqlState::DuplicateObject,
                        format!("partition {values:?} of \"{table_name}\" already exists"),
                    ));
                }
                table.partitions.push(PartitionDef {
                    values,
                    location: folder(&location)?,
                });
            }
        }
        AlterExternal::DropPartition(spec) => {
            let values = table.partition_values(&spec)?;
            let index = table.partition_index(&values).ok_or_else(|| {
                Error::new(
                    SqlState::UndefinedObject,
                    format!("partition {values:?} of \"{table_name}\" does not exist"),
                )
            })?;
            table.partitions.remove(index);
        }
        AlterExternal::SetLocation(location) => table.location = folder(&location)?,
        AlterExternal::SetProperties(properties) => table.properties.extend(properties),
    }
    Ok(Some(StatementResult {
        notices,
        outcome: Outcome::command("ALTER TABLE"),
    }))
}

/// A partition value must read as its column's type, or no query could compare it.
fn check_value(column: &ExternalColumn, value: &str) -> Result<()> {
    let data_type = column.sql_type.arrow_type();
    datafusion::common::ScalarValue::try_from_string(value.to_string(), &data_type)
        .map(|_| ())
        .map_err(|_| {
            Error::new(
                SqlState::InvalidTextRepresentation,
                format!("partition value '{value}' is not a valid {} for column \"{}\"", column.sql_type, column.name),
            )
        })
}

pub async fn drop_table(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let (if_exists, names) = external::parse_drop_table(&ctx.statement.text)?;
    let mut notices = Vec::new();
    for name in &names {
        let (schema, table) = external_name(ctx, name)?;
        let catalog = ctx.catalog_mut().await?;
        if catalog.external_table(&schema, &table).is_none() && if_exists {
            notices.push(Notice::info(format!("Table \"{table}\" does not exist and will be skipped")));
            continue;
        }
        catalog.remove_external_table(&schema, &table)?;
    }
    Ok(StatementResult {
        notices,
        outcome: Outcome::command("DROP EXTERNAL TABLE"),
    })
}

/// UPDATE, DELETE and TRUNCATE cannot change an external table's files, as in Redshift.
pub fn refuse_write(ctx: &StatementContext<'_>) -> Result<()> {
    let verb = ctx.statement.first().to_string();
    let target = crate::sql::with_parser(&ctx.statement.text, |p| {
        p.next_token();
        let _ = p.parse_keyword(sqlparser::keywords::Keyword::FROM) || p.parse_keyword(sqlparser::keywords::Keyword::TABLE);
        Ok(p.parse_object_name(false).ok())
    })?;
    let is_external = target
        .and_then(|name| split_name(&name).ok())
        .and_then(|(schema, table)| ctx.catalog().external_table(schema.as_deref()?, &table).map(|_| ()))
        .is_some();
    if is_external {
        return Err(crate::catalog::external::unsupported_on_external(&verb));
    }
    Ok(())
}
