//! ALTER TABLE: ADD COLUMN, DROP COLUMN, RENAME COLUMN, RENAME TO, ALTER COLUMN TYPE for
//! widening a VARCHAR, and ALTER DISTSTYLE / ALTER DISTKEY.
//!
//! A new distribution rewrites the table's rows (see `redistribute`). The others change the
//! catalog only: columns are stored by id, so a rename never rewrites data,
//! a dropped column is simply no longer read, and a column added later reads as NULL — or, when
//! added with a DEFAULT, as that default — in rows written before it existed.

use std::sync::Arc;

use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, ObjectName, RenameTableNameKind, Statement};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::create_table::{Builder, default_encoding, ident};
use super::done;
use crate::catalog::{SqlType, TableDef};
use crate::error::{Error, Result, SqlState};
use crate::session::{Outcome, StatementContext, StatementResult, split_name};
use crate::redistribute::{Distribution, redistribute, resolve};
use crate::sql::{BlueshiftDialect, parse_statement};

pub async fn alter(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    if let Some((name, distribution)) = parse_distribution_change(&ctx.statement.text)? {
        return alter_distribution(ctx, &name, &distribution).await;
    }
    let Statement::AlterTable(alter) = parse_statement(&ctx.statement.text)? else {
        return Err(Error::syntax("expected ALTER TABLE"));
    };
    let (schema, name) = match ctx.resolve(&alter.name) {
        Ok(found) => found,
        Err(e) if alter.if_exists && e.state == SqlState::UndefinedTable => {
            return done(Outcome::command("ALTER TABLE"));
        }
        Err(e) => return Err(e),
    };
    if alter.operations.len() != 1 {
        return Err(Error::unsupported("ALTER TABLE takes one action per statement"));
    }
    let operation = &alter.operations[0];
    // A column default must be planned before the catalog is borrowed for the change.
    let missing_value = match operation {
        AlterTableOperation::AddColumn { column_def, .. } => added_column_value(ctx, column_def).await?,
        _ => None,
    };
    let catalog = ctx.catalog_mut().await?;
    if let AlterTableOperation::RenameTable { table_name } = operation {
        let (RenameTableNameKind::As(new_name) | RenameTableNameKind::To(new_name)) = table_name;
        let (new_schema, new_name) = split_name(new_name)?;
        if new_schema.is_some_and(|s| s != schema) {
            return Err(Error::unsupported("ALTER TABLE RENAME cannot move a table to another schema"));
        }
        catalog.rename_relation(&schema, &name, &ident(&new_name))?;
        return done(Outcome::command("ALTER TABLE"));
    }
    if catalog.view(&schema, &name).is_some() {
        return Err(Error::new(SqlState::WrongObjectType, format!("\"{name}\" is not a table")));
    }
    let table = catalog.table_mut(&schema, &name)?;
    match operation {
        AlterTableOperation::AddColumn {
            column_def,
            if_not_exists,
            ..
        } => {
            let column_name = ident(&column_def.name.value);
            if table.column(&column_name).is_some() {
                if *if_not_exists {
                    return done(Outcome::command("ALTER TABLE"));
                }
                return Err(Error::new(
                    SqlState::DuplicateColumn,
                    format!("column \"{column_name}\" of relation \"{name}\" already exists"),
                ));
            }
            add_column(table, column_def, missing_value)?;
        }
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            for column in column_names {
                drop_column(table, &ident(&column.value), *if_exists)?;
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => rename_column(table, &ident(&old_column_name.value), &ident(&new_column_name.value))?,
        AlterTableOperation::AlterColumn {
            column_name,
            op: AlterColumnOperation::SetDataType { data_type, .. },
        } => widen_varchar(table, &ident(&column_name.value), &SqlType::from_ast(data_type)?)?,
        other => {
            return Err(Error::unsupported(format!("ALTER TABLE {other} is not supported")));
        }
    }
    done(Outcome::command("ALTER TABLE"))
}

async fn alter_distribution(ctx: &mut StatementContext<'_>, name: &ObjectName, distribution: &Distribution) -> Result<StatementResult> {
    let (schema, relation) = ctx.resolve(name)?;
    let catalog = ctx.catalog();
    let table = catalog
        .table(&schema, &relation)
        .ok_or_else(|| Error::new(SqlState::WrongObjectType, format!("\"{relation}\" is not a table")))?;
    let target = resolve(ctx.services(), table, distribution).await?;
    let services = Arc::clone(&ctx.session.server.services);
    redistribute(&services, ctx.txn, &schema, &relation, target).await?;
    done(Outcome::command("ALTER TABLE"))
}

/// `ALTER TABLE t ALTER DISTSTYLE {EVEN | ALL | AUTO | KEY DISTKEY c}` or
/// `ALTER TABLE t ALTER DISTKEY c`, which sqlparser does not know; `None` for any other
/// ALTER TABLE.
fn parse_distribution_change(text: &str) -> Result<Option<(ObjectName, Distribution)>> {
    let dialect = BlueshiftDialect::default();
    let mut parser = Parser::new(&dialect).try_with_sql(text)?;
    if !parser.parse_keywords(&[Keyword::ALTER, Keyword::TABLE]) {
        return Ok(None);
    }
    let name = parser.parse_object_name(false)?;
    if !parser.parse_keyword(Keyword::ALTER) {
        return Ok(None);
    }
    let next_word = |parser: &mut Parser| match parser.next_token().token {
        Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        other => other.to_string(),
    };
    let distribution = match &parser.peek_token().token {
        Token::Word(w) if w.value.eq_ignore_ascii_case("DISTKEY") => {
            parser.next_token();
            Distribution::Key(ident(&parser.parse_identifier()?.value))
        }
        Token::Word(w) if w.value.eq_ignore_ascii_case("DISTSTYLE") => {
            parser.next_token();
            match next_word(&mut parser).as_str() {
                "EVEN" => Distribution::Even,
                "ALL" => Distribution::All,
                "AUTO" => Distribution::Auto,
                "KEY" => match next_word(&mut parser).as_str() {
                    "DISTKEY" => Distribution::Key(ident(&parser.parse_identifier()?.value)),
                    _ => return Err(Error::syntax("syntax error: ALTER DISTSTYLE KEY requires DISTKEY column")),
                },
                other => return Err(Error::syntax(format!("syntax error at or near \"{other}\""))),
            }
        }
        _ => return Ok(None),
    };
    let rest = parser.next_token();
    if rest.token != Token::EOF {
        return Err(Error::syntax(format!("syntax error at or near \"{rest}\"")));
    }
    Ok(Some((name, distribution)))
}

/// The value existing rows get for a column added with a DEFAULT: the default, evaluated once.
async fn added_column_value(ctx: &StatementContext<'_>, column: &sqlparser::ast::ColumnDef) -> Result<Option<String>> {
    let Some(default) = column.options.iter().find_map(|o| match &o.option {
        sqlparser::ast::ColumnOption::Default(expr) => Some(expr.clone()),
        _ => None,
    }) else {
        return Ok(None);
    };
    let (state, _) = ctx.state(None);
    let sql = format!("SELECT CAST({default} AS {})", column.data_type);
    let plan = super::query::plan(&state, parse_statement(&sql)?, None).await?;
    let (_, mut stream) = super::query::run(state, plan).await?;
    use futures::StreamExt;
    let batch = stream
        .next()
        .await
        .ok_or_else(|| Error::internal("a default produced no value"))??;
    let value = datafusion::common::ScalarValue::try_from_array(batch.column(0), 0)?;
    Ok(Some(crate::catalog::provider::scalar_literal(&value)))
}

fn add_column(table: &mut TableDef, column: &sqlparser::ast::ColumnDef, missing_value: Option<String>) -> Result<()> {
    let mut builder = Builder::from_table(table.clone());
    builder.column(column)?;
    if builder.has_keys() {
        return Err(Error::unsupported(
            "ALTER TABLE ADD COLUMN cannot declare a DISTKEY, SORTKEY or key constraint",
        ));
    }
    let mut updated = builder.into_table();
    let added = updated.columns.last_mut().expect("column added");
    if added.not_null && missing_value.is_none() && added.identity.is_none() {
        return Err(Error::new(
            SqlState::NotNullViolation,
            format!("column \"{}\" contains null values: give a NOT NULL column a DEFAULT", added.name),
        ));
    }
    if added.identity.is_some() {
        return Err(Error::unsupported("ALTER TABLE ADD COLUMN cannot add an IDENTITY column"));
    }
    if added.encoding.is_empty() {
        added.encoding = default_encoding(&added.sql_type, false, table.temp_owner.is_some());
    }
    added.missing_value = missing_value;
    *table = updated;
    Ok(())
}

fn drop_column(table: &mut TableDef, column: &str, if_exists: bool) -> Result<()> {
    let Some(index) = table.column_index(column) else {
        if if_exists {
            return Ok(());
        }
        return Err(Error::new(
            SqlState::UndefinedColumn,
            format!("column \"{column}\" of relation \"{}\" does not exist", table.name),
        ));
    };
    if table.dist_key.as_deref() == Some(column) {
        return Err(Error::unsupported(format!(
            "cannot drop column \"{column}\": it is the table's distribution key"
        )));
    }
    if table.sort_key.iter().any(|c| c == column) {
        return Err(Error::unsupported(format!(
            "cannot drop column \"{column}\": it is part of the table's sort key"
        )));
    }
    if table.columns.len() == 1 {
        return Err(Error::new(
            SqlState::InvalidTableDefinition,
            format!("cannot drop column \"{column}\": a table must keep at least one column"),
        ));
    }
    table.columns.remove(index);
    table.primary_key.retain(|c| c != column);
    table.unique_keys.retain(|k| !k.iter().any(|c| c == column));
    table.foreign_keys.retain(|k| !k.columns.iter().any(|c| c == column));
    Ok(())
}

fn rename_column(table: &mut TableDef, from: &str, to: &str) -> Result<()> {
    if table.column(to).is_some() {
        return Err(Error::new(
            SqlState::DuplicateColumn,
            format!("column \"{to}\" of relation \"{}\" already exists", table.name),
        ));
    }
    let table_name = table.name.clone();
    let column = table
        .columns
        .iter_mut()
        .find(|c| c.name == from)
        .ok_or_else(|| {
            Error::new(
                SqlState::UndefinedColumn,
                format!("column \"{from}\" of relation \"{table_name}\" does not exist"),
            )
        })?;
    column.name = to.to_string();
    let rename = |c: &mut String| {
        if c == from {
            *c = to.to_string();
        }
    };
    if let Some(key) = table.dist_key.as_mut() {
        rename(key);
    }
    table.sort_key.iter_mut().for_each(rename);
    table.primary_key.iter_mut().for_each(rename);
    table.unique_keys.iter_mut().flatten().for_each(rename);
    for fk in &mut table.foreign_keys {
        fk.columns.iter_mut().for_each(rename);
    }
    Ok(())
}

/// `ALTER COLUMN c TYPE varchar(n)`: Redshift only allows growing a VARCHAR.
fn widen_varchar(table: &mut TableDef, column: &str, new_type: &SqlType) -> Result<()> {
    let table_name = table.name.clone();
    let def = table
        .columns
        .iter_mut()
        .find(|c| c.name == column)
        .ok_or_else(|| {
            Error::new(
                SqlState::UndefinedColumn,
                format!("column \"{column}\" of relation \"{table_name}\" does not exist"),
            )
        })?;
    match (&def.sql_type, new_type) {
        (SqlType::Varchar { length: old }, SqlType::Varchar { length: new }) if new >= old => {
            def.sql_type = *new_type;
            Ok(())
        }
        (SqlType::Varchar { .. }, SqlType::Varchar { .. }) => Err(Error::unsupported(format!(
            "cannot shrink column \"{column}\" to {new_type}"
        ))),
        _ => Err(Error::unsupported(format!(
            "ALTER COLUMN TYPE only widens VARCHAR columns; \"{column}\" is {}",
            def.sql_type
        ))),
    }
}
