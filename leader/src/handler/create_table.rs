//! CREATE [TEMP] TABLE, CREATE TABLE ... LIKE, CREATE TABLE AS and SELECT INTO.
//!
//! Column types, NOT NULL, DEFAULT, IDENTITY and the informational keys come from sqlparser's AST;
//! distribution, sort key, encodings and BACKUP from Redshift's attribute syntax. The result is a
//! [`TableDef`] whose distribution and sort key the write path honours.

use std::sync::Arc;

use datafusion::catalog::default_table_source::provider_as_source;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::logical_expr::dml::InsertOp;
use sqlparser::ast::{
    ColumnOption, CreateTable, CreateTableLikeKind, Expr as SqlExpr, ObjectName, Query, SelectInto, SetExpr,
    Statement, TableConstraint,
};
use sqlparser::tokenizer::Token;

use super::{done, query};
use crate::catalog::provider::BlueshiftTable;
use crate::catalog::{
    ColumnDef, DistStyle, ForeignKey, Identity, SUPERUSER, SortKeyKind, SqlType, TableDef,
};
use crate::error::{Error, Result, SqlState};
use crate::session::{Notice, Outcome, StatementContext, StatementResult};
use crate::sql::table_attributes::{TableAttributes, extract};
use crate::sql::{ENCODE, IDENTITY, IDENTITY_BY_DEFAULT, parse_statement};

/// Most columns a table may have.
const MAX_COLUMNS: usize = 1600;
/// Most columns of an interleaved sort key.
const MAX_INTERLEAVED: usize = 8;
/// Most columns of a compound sort key.
const MAX_COMPOUND: usize = 400;
/// Longest identifier, in bytes; longer ones are truncated, as in Redshift.
const MAX_NAME_BYTES: usize = 127;

const ENCODINGS: &[&str] = &[
    "RAW", "AZ64", "BYTEDICT", "DELTA", "DELTA32K", "LZO", "MOSTLY8", "MOSTLY16", "MOSTLY32", "RUNLENGTH",
    "TEXT255", "TEXT32K", "ZSTD",
];

pub(crate) fn ident(name: &str) -> String {
    let mut name = name.to_lowercase();
    if name.len() > MAX_NAME_BYTES {
        let mut end = MAX_NAME_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// A table definition being assembled from column definitions and attributes.
pub(crate) struct Builder {
    table: TableDef,
    column_dist_key: Option<String>,
    column_sort_key: Vec<String>,
    explicit_encoding: bool,
}

impl Builder {
    fn new(oid: u32, name: String, temp_owner: Option<i32>) -> Builder {
        Builder {
            table: TableDef {
                oid,
                name,
                owner: SUPERUSER.to_string(),
                columns: Vec::new(),
                next_column_id: 1,
                dist_style: DistStyle::AutoAll,
                dist_key: None,
                sort_kind: SortKeyKind::Auto,
                sort_key: Vec::new(),
                encode_auto: true,
                backup: true,
                temp_owner,
                primary_key: Vec::new(),
                unique_keys: Vec::new(),
                foreign_keys: Vec::new(),
                comment: None,
            },
            column_dist_key: None,
            column_sort_key: Vec::new(),
            explicit_encoding: false,
        }
    }

    /// A builder that adds to an existing table (ALTER TABLE ADD COLUMN).
    pub(crate) fn from_table(table: TableDef) -> Builder {
        Builder {
            table,
            column_dist_key: None,
            column_sort_key: Vec::new(),
            explicit_encoding: false,
        }
    }

    /// Whether the columns added declared a distribution, sort or primary key.
    pub(crate) fn has_keys(&self) -> bool {
        self.column_dist_key.is_some() || !self.column_sort_key.is_empty()
    }

    pub(crate) fn into_table(self) -> TableDef {
        self.table
    }

    pub(crate) fn add_column(&mut self, name: String, sql_type: SqlType) -> Result<&mut ColumnDef> {
        if self.table.column(&name).is_some() {
            return Err(Error::new(
                SqlState::DuplicateColumn,
                format!("column \"{name}\" specified more than once"),
            ));
        }
        if self.table.columns.len() >= MAX_COLUMNS {
            return Err(Error::new(
                SqlState::InvalidTableDefinition,
                format!("tables can have at most {MAX_COLUMNS} columns"),
            ));
        }
        let id = self.table.next_column_id;
        self.table.next_column_id += 1;
        self.table.columns.push(ColumnDef {
            id,
            name,
            sql_type,
            not_null: false,
            default: None,
            identity: None,
            encoding: String::new(),
            missing_value: None,
            comment: None,
        });
        Ok(self.table.columns.last_mut().expect("just pushed"))
    }

    /// Adds a column from its AST definition, with its options.
    pub(crate) fn column(&mut self, def: &sqlparser::ast::ColumnDef) -> Result<()> {
        let name = ident(&def.name.value);
        let sql_type = SqlType::from_ast(&def.data_type)?;
        let mut dist_key = false;
        let mut sort_key = false;
        let mut primary_key = false;
        let mut unique = false;
        let mut foreign_key = None;
        let mut explicit_encoding = false;
        let column = self.add_column(name.clone(), sql_type)?;
        for option in &def.options {
            match &option.option {
                ColumnOption::NotNull => column.not_null = true,
                ColumnOption::Null => column.not_null = false,
                ColumnOption::Default(expr) => column.default = Some(expr.to_string()),
                ColumnOption::PrimaryKey(_) => {
                    primary_key = true;
                    column.not_null = true;
                }
                ColumnOption::Unique(_) => unique = true,
                ColumnOption::ForeignKey(fk) => foreign_key = Some(fk.clone()),
                ColumnOption::DialectSpecific(tokens) => {
                    let keyword = tokens.first().map(|t| t.to_string()).unwrap_or_default();
                    match keyword.as_str() {
                        "DISTKEY" => dist_key = true,
                        "SORTKEY" => sort_key = true,
                        k if k == ENCODE => {
                            let encoding = tokens.get(1).map(|t| t.to_string()).unwrap_or_default();
                            column.encoding = validate_encoding(&name, &encoding, &column.sql_type)?;
                            explicit_encoding = true;
                        }
                        k if k == IDENTITY || k == IDENTITY_BY_DEFAULT => {
                            if !matches!(column.sql_type, SqlType::Integer | SqlType::BigInt) {
                                return Err(Error::new(
                                    SqlState::InvalidColumnDefinition,
                                    format!("identity column \"{name}\" must be INT or BIGINT"),
                                ));
                            }
                            let number = |i: usize| -> Result<i64> {
                                match tokens.get(i) {
                                    Some(Token::Number(n, _)) => n
                                        .parse()
                                        .map_err(|_| Error::syntax(format!("invalid IDENTITY argument {n}"))),
                                    _ => Err(Error::syntax("IDENTITY needs (seed, step)")),
                                }
                            };
                            let step = number(2)?;
                            if step == 0 {
                                return Err(Error::new(
                                    SqlState::InvalidParameterValue,
                                    "IDENTITY step cannot be 0",
                                ));
                            }
                            column.identity = Some(Identity {
                                seed: number(1)?,
                                step,
                                by_default: k == IDENTITY_BY_DEFAULT,
                            });
                            column.not_null = true;
                        }
                        other => return Err(Error::syntax(format!("unexpected column attribute {other}"))),
                    }
                }
                ColumnOption::Comment(_) | ColumnOption::Collation(_) => {}
                other => {
                    return Err(Error::unsupported(format!(
                        "column option {other} is not supported"
                    )));
                }
            }
        }
        self.explicit_encoding |= explicit_encoding;
        if dist_key {
            if self.column_dist_key.is_some() {
                return Err(Error::new(
                    SqlState::InvalidTableDefinition,
                    "a table can have only one DISTKEY column",
                ));
            }
            self.column_dist_key = Some(name.clone());
        }
        if sort_key {
            self.column_sort_key.push(name.clone());
        }
        if primary_key {
            self.table.primary_key = vec![name.clone()];
        }
        if unique {
            self.table.unique_keys.push(vec![name.clone()]);
        }
        if let Some(fk) = foreign_key {
            self.table.foreign_keys.push(ForeignKey {
                columns: vec![name],
                ref_schema: None,
                ref_table: ident(&fk.foreign_table.to_string()),
                ref_columns: fk.referred_columns.iter().map(|c| ident(&c.value)).collect(),
            });
        }
        Ok(())
    }

    fn constraint(&mut self, constraint: &TableConstraint) -> Result<()> {
        let column_names = |columns: &[sqlparser::ast::IndexColumn]| -> Result<Vec<String>> {
            columns
                .iter()
                .map(|c| match &c.column.expr {
                    SqlExpr::Identifier(i) => Ok(ident(&i.value)),
                    other => Err(Error::syntax(format!("expected a column name, found {other}"))),
                })
                .collect()
        };
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                let columns = column_names(&pk.columns)?;
                for name in &columns {
                    self.column_mut(name)?.not_null = true;
                }
                self.table.primary_key = columns;
            }
            TableConstraint::Unique(u) => {
                let columns = column_names(&u.columns)?;
                for name in &columns {
                    self.column_mut(name)?;
                }
                self.table.unique_keys.push(columns);
            }
            TableConstraint::ForeignKey(fk) => {
                let columns: Vec<String> = fk.columns.iter().map(|c| ident(&c.value)).collect();
                for name in &columns {
                    self.column_mut(name)?;
                }
                let parts: Vec<String> = fk.foreign_table.0.iter().map(|p| ident(&p.to_string())).collect();
                let (ref_schema, ref_table) = match parts.as_slice() {
                    [t] => (None, t.clone()),
                    [s, t] => (Some(s.clone()), t.clone()),
                    _ => return Err(Error::syntax(format!("invalid table name {}", fk.foreign_table))),
                };
                self.table.foreign_keys.push(ForeignKey {
                    columns,
                    ref_schema,
                    ref_table,
                    ref_columns: fk.referred_columns.iter().map(|c| ident(&c.value)).collect(),
                });
            }
            TableConstraint::Check(_) => {
                return Err(Error::unsupported("CHECK constraints are not supported"));
            }
            other => return Err(Error::unsupported(format!("constraint {other} is not supported"))),
        }
        Ok(())
    }

    fn column_mut(&mut self, name: &str) -> Result<&mut ColumnDef> {
        let table = self.table.name.clone();
        self.table
            .columns
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                Error::new(
                    SqlState::UndefinedColumn,
                    format!("column \"{name}\" named in key does not exist in table \"{table}\""),
                )
            })
    }

    /// Applies the table attributes and derived defaults.
    fn finish(mut self, attributes: &TableAttributes) -> Result<TableDef> {
        if self.table.columns.is_empty() {
            return Err(Error::new(
                SqlState::InvalidTableDefinition,
                "tables must have at least one column",
            ));
        }
        let dist_key = match (&attributes.dist_key, &self.column_dist_key) {
            (Some(_), Some(_)) => {
                return Err(Error::new(
                    SqlState::InvalidTableDefinition,
                    "DISTKEY is specified both for a column and for the table",
                ));
            }
            (Some(k), None) | (None, Some(k)) => Some(k.clone()),
            (None, None) => None,
        };
        self.table.dist_style = match (attributes.dist_style.as_deref(), &dist_key) {
            (Some("KEY") | None, Some(key)) => {
                self.column_mut(key)?;
                self.table.dist_key = Some(key.clone());
                DistStyle::Key
            }
            (Some("KEY"), None) => {
                return Err(Error::new(
                    SqlState::InvalidTableDefinition,
                    "DISTSTYLE KEY requires a DISTKEY column",
                ));
            }
            (Some(style), Some(_)) => {
                return Err(Error::new(
                    SqlState::InvalidTableDefinition,
                    format!("DISTKEY cannot be used with DISTSTYLE {style}"),
                ));
            }
            (Some("EVEN"), None) => DistStyle::Even,
            (Some("ALL"), None) => DistStyle::All,
            (Some(_) | None, None) => DistStyle::AutoAll,
        };
        if !attributes.sort_key.is_empty() && !self.column_sort_key.is_empty() {
            return Err(Error::new(
                SqlState::InvalidTableDefinition,
                "SORTKEY is specified both for columns and for the table",
            ));
        }
        let sort_key = if attributes.sort_key.is_empty() {
            std::mem::take(&mut self.column_sort_key)
        } else {
            attributes.sort_key.clone()
        };
        for name in &sort_key {
            self.column_mut(name)?;
        }
        let interleaved = attributes.sort_kind.as_deref() == Some("INTERLEAVED");
        let limit = if interleaved { MAX_INTERLEAVED } else { MAX_COMPOUND };
        if sort_key.len() > limit {
            return Err(Error::new(
                SqlState::InvalidTableDefinition,
                format!("a sort key can have at most {limit} columns"),
            ));
        }
        self.table.sort_kind = match (sort_key.is_empty(), interleaved) {
            (true, _) => SortKeyKind::Auto,
            (false, true) => SortKeyKind::Interleaved,
            (false, false) => SortKeyKind::Compound,
        };
        self.table.sort_key = sort_key;
        if let Some(backup) = attributes.backup {
            self.table.backup = backup;
        }
        self.table.encode_auto = attributes.encode_auto || !self.explicit_encoding;
        if attributes.encode_auto && self.explicit_encoding {
            return Err(Error::new(
                SqlState::InvalidTableDefinition,
                "ENCODE AUTO cannot be combined with column encodings",
            ));
        }
        let temporary = self.table.temp_owner.is_some();
        let sort_key = self.table.sort_key.clone();
        for column in &mut self.table.columns {
            if column.encoding.is_empty() {
                column.encoding = default_encoding(&column.sql_type, sort_key.contains(&column.name), temporary);
            }
        }
        Ok(self.table)
    }
}

/// The encoding Redshift gives a column that names none.
pub(crate) fn default_encoding(sql_type: &SqlType, in_sort_key: bool, temporary: bool) -> String {
    if temporary || in_sort_key {
        return "RAW".into();
    }
    match sql_type {
        SqlType::Boolean | SqlType::Real | SqlType::Double => "RAW",
        SqlType::Char { .. } | SqlType::Varchar { .. } => "LZO",
        _ => "AZ64",
    }
    .into()
}

fn validate_encoding(column: &str, encoding: &str, sql_type: &SqlType) -> Result<String> {
    let upper = encoding.to_ascii_uppercase();
    let invalid = || {
        Error::new(
            SqlState::InvalidColumnDefinition,
            format!("invalid encoding type \"{}\" specified for column \"{column}\" of type {sql_type}", encoding.to_lowercase()),
        )
    };
    if !ENCODINGS.contains(&upper.as_str()) {
        return Err(invalid());
    }
    let integer = matches!(sql_type, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt);
    let decimal = matches!(sql_type, SqlType::Decimal { .. });
    let fits = match upper.as_str() {
        "AZ64" => integer || decimal || matches!(sql_type, SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz | SqlType::Time),
        "TEXT255" | "TEXT32K" => matches!(sql_type, SqlType::Varchar { .. }),
        "DELTA" | "DELTA32K" => integer || decimal || matches!(sql_type, SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz),
        "MOSTLY8" => matches!(sql_type, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt) || decimal,
        "MOSTLY16" => matches!(sql_type, SqlType::Integer | SqlType::BigInt) || decimal,
        "MOSTLY32" => matches!(sql_type, SqlType::BigInt) || decimal,
        "BYTEDICT" => !matches!(sql_type, SqlType::Boolean),
        _ => true,
    };
    if fits { Ok(upper) } else { Err(invalid()) }
}

/// Makes sure the session's temporary schema exists in the transaction's catalog.
fn ensure_temp_schema(catalog: &mut crate::catalog::Catalog, schema: &str) -> Result<()> {
    if !catalog.schemas.contains_key(schema) {
        catalog.create_schema(schema, SUPERUSER, true)?;
    }
    Ok(())
}

pub async fn create(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let (text, attributes) = extract(&ctx.statement.text)?;
    let Statement::CreateTable(create) = parse_statement(&text)? else {
        return Err(Error::syntax("expected CREATE TABLE"));
    };
    if create.query.is_some() {
        let query = create.query.clone().expect("checked");
        return create_as(ctx, &create.name, create.temporary, create.if_not_exists, &attributes, *query).await;
    }
    let (schema, name) = ctx.target_schema(&create.name, create.temporary)?;
    let name = ident(&name);
    if ctx.catalog().relation_exists(&schema, &name) && create.if_not_exists {
        return Ok(StatementResult {
            notices: vec![Notice::notice(format!("relation \"{name}\" already exists, skipping"))],
            outcome: Outcome::command("CREATE TABLE"),
        });
    }
    let temp_owner = (schema == ctx.session.temp_schema()).then_some(ctx.session.pid);
    let like_source = like_source(&create);
    let source = match &like_source {
        Some((source, _)) => {
            let (s, t) = ctx.resolve(source)?;
            Some(ctx.catalog().table(&s, &t).cloned().ok_or_else(|| {
                Error::new(SqlState::WrongObjectType, format!("\"{t}\" is not a table"))
            })?)
        }
        None => None,
    };
    let catalog = ctx.catalog_mut().await?;
    if temp_owner.is_some() {
        ensure_temp_schema(catalog, &schema)?;
    }
    let mut builder = Builder::new(catalog.allocate_oid(), name, temp_owner);
    if let Some(source) = &source {
        let including_defaults = like_source.is_some_and(|(_, d)| d);
        copy_like(&mut builder, source, including_defaults, &attributes)?;
    }
    for column in &create.columns {
        builder.column(column)?;
    }
    for constraint in &create.constraints {
        builder.constraint(constraint)?;
    }
    let table = if source.is_some() && !has_attributes(&attributes) {
        builder.table
    } else {
        builder.finish(&attributes)?
    };
    catalog.add_table(&schema, table)?;
    done(Outcome::command("CREATE TABLE"))
}

fn has_attributes(a: &TableAttributes) -> bool {
    a != &TableAttributes::default()
}

/// `LIKE parent [INCLUDING | EXCLUDING DEFAULTS]`: the source table and whether defaults come too.
fn like_source(create: &CreateTable) -> Option<(ObjectName, bool)> {
    let like = match create.like.as_ref()? {
        CreateTableLikeKind::Parenthesized(like) | CreateTableLikeKind::Plain(like) => like,
    };
    let including = like
        .defaults
        .as_ref()
        .is_some_and(|d| d.to_string().to_ascii_uppercase().contains("INCLUDING"));
    Some((like.name.clone(), including))
}

/// CREATE TABLE ... (LIKE parent): the parent's columns, encodings, distribution and sort key.
fn copy_like(builder: &mut Builder, source: &TableDef, including_defaults: bool, attributes: &TableAttributes) -> Result<()> {
    for column in &source.columns {
        let copy = builder.add_column(column.name.clone(), column.sql_type)?;
        copy.not_null = column.not_null;
        copy.encoding = column.encoding.clone();
        if including_defaults {
            copy.default = column.default.clone();
            copy.identity = column.identity;
        }
    }
    if !has_attributes(attributes) {
        builder.table.dist_style = source.dist_style;
        builder.table.dist_key = source.dist_key.clone();
        builder.table.sort_kind = source.sort_kind;
        builder.table.sort_key = source.sort_key.clone();
        builder.table.encode_auto = source.encode_auto;
        builder.table.backup = source.backup;
    }
    Ok(())
}

/// CREATE TABLE ... AS query: a table shaped like the query's result, filled with it.
#[allow(clippy::too_many_arguments)]
async fn create_as(
    ctx: &mut StatementContext<'_>,
    table_name: &ObjectName,
    temporary: bool,
    if_not_exists: bool,
    attributes: &TableAttributes,
    query: Query,
) -> Result<StatementResult> {
    let (schema, name) = ctx.target_schema(table_name, temporary)?;
    let name = ident(&name);
    if ctx.catalog().relation_exists(&schema, &name) {
        if if_not_exists {
            return Ok(StatementResult {
                notices: vec![Notice::notice(format!("relation \"{name}\" already exists, skipping"))],
                outcome: Outcome::command("CREATE TABLE"),
            });
        }
        return Err(Error::new(SqlState::DuplicateTable, format!("relation \"{name}\" already exists")));
    }
    let (state, _) = ctx.state(None);
    // The columns take the analysed types (a date plus an interval is a timestamp by then).
    let plan = query::plan(&state, Statement::Query(Box::new(query)), ctx.params.clone()).await?;
    let plan = query::analyse(&state, plan)?;
    let schema_fields = plan.schema().fields().clone();
    let column_names = &attributes.column_names;
    if !column_names.is_empty() && column_names.len() != schema_fields.len() {
        return Err(Error::syntax(format!(
            "CREATE TABLE AS names {} columns but the query returns {}",
            column_names.len(),
            schema_fields.len()
        )));
    }
    let temp_owner = (schema == ctx.session.temp_schema()).then_some(ctx.session.pid);
    let catalog = ctx.catalog_mut().await?;
    if temp_owner.is_some() {
        ensure_temp_schema(catalog, &schema)?;
    }
    let mut builder = Builder::new(catalog.allocate_oid(), name.clone(), temp_owner);
    for (i, field) in schema_fields.iter().enumerate() {
        let field_name = crate::sql::column_names::display_name(field.name()).to_string();
        let column = ident(column_names.get(i).unwrap_or(&field_name));
        let sql_type = match SqlType::from_arrow(field.data_type())? {
            // The query's strings may come from any column: allow the longest.
            SqlType::Varchar { .. } => SqlType::Varchar {
                length: crate::catalog::types::VARCHAR_MAX,
            },
            other => other,
        };
        builder.add_column(column, sql_type)?;
    }
    let table = builder.finish(attributes)?;
    let oid = table.oid;
    catalog.add_table(&schema, table.clone())?;
    ctx.lock_for_write(oid, &name).await?;
    let (state, writes) = ctx.state(None);
    let provider = BlueshiftTable::new(&schema, Arc::new(table), Arc::clone(&ctx.session.server.services), false)?;
    let insert = LogicalPlanBuilder::insert_into(
        plan,
        format!("{schema}.{name}"),
        provider_as_source(Arc::new(provider)),
        InsertOp::Append,
    )?
    .build()?;
    let rows = query::run_count(state, insert).await;
    ctx.record_writes(&writes);
    let rows = rows?;
    *ctx.txn.row_deltas.entry(oid).or_default() += rows as i64;
    done(Outcome::count("SELECT", rows))
}

/// SELECT ... INTO [TEMP] table FROM ...: CREATE TABLE AS without the INTO.
pub async fn select_into(ctx: &mut StatementContext<'_>, query: &Query) -> Result<StatementResult> {
    let mut query = query.clone();
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Err(Error::syntax("SELECT INTO needs a SELECT"));
    };
    let Some(SelectInto { temporary, name, .. }) = select.into.take() else {
        return Err(Error::syntax("expected INTO"));
    };
    create_as(ctx, &name, temporary, false, &TableAttributes::default(), query).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_defaults_follow_redshift() {
        assert_eq!(default_encoding(&SqlType::Integer, false, false), "AZ64");
        assert_eq!(default_encoding(&SqlType::Varchar { length: 5 }, false, false), "LZO");
        assert_eq!(default_encoding(&SqlType::Double, false, false), "RAW");
        assert_eq!(default_encoding(&SqlType::Integer, true, false), "RAW");
        assert_eq!(default_encoding(&SqlType::Integer, false, true), "RAW");
        assert!(validate_encoding("c", "az64", &SqlType::Varchar { length: 5 }).is_err());
        assert_eq!(validate_encoding("c", "zstd", &SqlType::Boolean).unwrap(), "ZSTD");
        assert!(validate_encoding("c", "mostly16", &SqlType::SmallInt).is_err());
    }
}
