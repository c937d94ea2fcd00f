//! The functions psql, drivers and BI tools call on the catalog: `format_type`,
//! `pg_get_expr`, `pg_get_constraintdef`, `pg_table_is_visible`, `current_schema`,
//! `has_table_privilege`, `format_encoding`, ... and the helpers that `::regclass` and
//! `::regtype` casts are rewritten to (see [`crate::sql::pg_compat`]).
//!
//! They read the statement's catalog and session from the session's [`ContextCell`], so they
//! answer for the same snapshot and search path as the catalog tables in the same query.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, StructArray};
use arrow::datatypes::{DataType, Field};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use crate::catalog::provider::{ContextCell, QueryContext};
use crate::system::pg_catalog::relations::{self, ENCODINGS, constraint_definition, constraints, relation_name, relation_oid};
use crate::system::pg_catalog::{pg_proc, types, view_definition};

type Body = fn(&QueryContext, &[ScalarValue]) -> ScalarValue;

struct CatalogFunction {
    name: &'static str,
    signature: Signature,
    result: DataType,
    body: Body,
    cell: Arc<ContextCell>,
}

impl std::fmt::Debug for CatalogFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CatalogFunction({})", self.name)
    }
}

impl PartialEq for CatalogFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for CatalogFunction {}

impl std::hash::Hash for CatalogFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for CatalogFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.result.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let context = self.cell.get()?;
        let rows = args.number_rows;
        let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(if scalar { 1 } else { rows }))
            .collect::<Result<Vec<_>>>()?;
        let count = if scalar { 1 } else { rows };
        let values = (0..count)
            .map(|row| {
                let row_args = arrays
                    .iter()
                    .map(|a| ScalarValue::try_from_array(a, row))
                    .collect::<Result<Vec<_>>>()?;
                (self.body)(&context, &row_args).cast_to(&self.result)
            })
            .collect::<Result<Vec<_>>>()?;
        if scalar {
            return Ok(ColumnarValue::Scalar(values.into_iter().next().expect("one row")));
        }
        if values.is_empty() {
            return Ok(ColumnarValue::Array(arrow::array::new_empty_array(&self.result)));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(values)?))
    }
}

/// An argument as an OID (from any integer or numeric string).
fn as_oid(value: &ScalarValue) -> Option<u32> {
    if value.is_null() {
        return None;
    }
    match value.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(Some(v)) => u32::try_from(v).ok(),
        _ => None,
    }
}

fn as_text(value: &ScalarValue) -> Option<String> {
    if value.is_null() {
        return None;
    }
    match value.cast_to(&DataType::Utf8).ok()? {
        ScalarValue::Utf8(Some(s)) => Some(s),
        _ => None,
    }
}

fn as_int(value: &ScalarValue) -> Option<i64> {
    match value.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(v) => v,
        _ => None,
    }
}

fn text(value: Option<String>) -> ScalarValue {
    ScalarValue::Utf8(value)
}

fn boolean(value: Option<bool>) -> ScalarValue {
    ScalarValue::Boolean(value)
}

fn arg(args: &[ScalarValue], i: usize) -> &ScalarValue {
    args.get(i).unwrap_or(&ScalarValue::Null)
}

fn format_type(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let typmod = as_int(arg(args, 1)).map(|m| m as i32);
    text(as_oid(arg(args, 0)).and_then(|oid| types::format_type(oid, typmod).or(Some("???".into()))))
}

/// `pg_get_expr(adbin, relid)`: `adbin` already holds the expression's SQL.
fn get_expr(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_text(arg(args, 0)))
}

fn constraint_def(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let Some(oid) = as_oid(arg(args, 0)) else { return text(None) };
    let definition = context.catalog.table_by_oid(oid >> 8).and_then(|(_, table)| {
        constraints(table)
            .iter()
            .find(|c| c.oid == oid)
            .map(constraint_definition)
    });
    text(definition)
}

/// `pg_get_indexdef(index[, column, pretty])` of a key's index (see
/// [`relations::KeyIndex`]): `CREATE UNIQUE INDEX ...`, or the name of its `column`-th column.
fn index_def(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let Some(oid) = as_oid(arg(args, 0)) else { return text(None) };
    let column = as_int(arg(args, 1)).unwrap_or(0);
    let definition = context.catalog.schemas.values().find_map(|schema| {
        let (table, key) = schema.tables.values().find_map(|t| {
            constraints(t)
                .into_iter()
                .find(|c| c.kind != "f" && relations::index_oid(c.oid) == oid)
                .map(|c| (t, c))
        })?;
        if column > 0 {
            return key.columns.get(column as usize - 1).cloned();
        }
        Some(format!(
            "CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})",
            key.name,
            schema.name,
            table.name,
            key.columns.join(", ")
        ))
    });
    text(definition)
}

fn view_def(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let value = arg(args, 0);
    let oid = as_oid(value).or_else(|| as_text(value).and_then(|n| relation_oid(&context.catalog, &context.search_path, &n)));
    let definition = oid.and_then(|oid| {
        context
            .catalog
            .schemas
            .values()
            .flat_map(|s| s.views.values())
            .find(|v| v.oid == oid)
            .map(view_definition)
    });
    text(definition)
}

fn user_by_id(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_oid(arg(args, 0)).map(|id| relations::user_name(id).map_or_else(|| format!("unknown (UID={id})"), String::from)))
}

fn table_is_visible(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let visible = as_oid(arg(args, 0)).map(|oid| {
        relation_name(&context.catalog, oid).is_some_and(|(_, name)| {
            relation_oid(&context.catalog, &context.search_path, &format!("\"{name}\"")) == Some(oid)
        })
    });
    boolean(visible)
}

/// Types and functions all live in `pg_catalog`, which is always searched.
fn always_visible(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    boolean((!arg(args, 0).is_null()).then_some(true))
}

/// `obj_description(oid [, catalog])`: the COMMENT ON text of a relation. Only relations have
/// comments, and relation OIDs are unique, so the catalog name needs no checking.
fn obj_description(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_oid(arg(args, 0)).and_then(|oid| context.catalog.comment(oid, 0).map(String::from)))
}

/// `col_description(table oid, column number)`.
fn col_description(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let column = as_int(arg(args, 1)).and_then(|n| i32::try_from(n).ok()).filter(|n| *n > 0);
    let comment = as_oid(arg(args, 0)).zip(column).and_then(|(oid, n)| context.catalog.comment(oid, n));
    text(comment.map(String::from))
}

/// Comments on shared objects (databases, users) are not stored.
fn no_description(_: &QueryContext, _: &[ScalarValue]) -> ScalarValue {
    text(None)
}

/// The superuser holds every privilege, and it is the only user.
fn has_privilege(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    boolean((!args.iter().any(ScalarValue::is_null)).then_some(true))
}

fn current_schema(context: &QueryContext, _: &[ScalarValue]) -> ScalarValue {
    text(context.current_schema().map(String::from))
}

/// `current_schemas(include_implicit)`: the search path's schemas, as an array.
fn current_schemas(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let implicit = matches!(arg(args, 0), ScalarValue::Boolean(Some(true)));
    let schemas: Vec<&str> = context
        .search_path
        .iter()
        .filter(|s| implicit || (!crate::system::is_system_schema(s) && !s.starts_with("pg_temp_")))
        .map(String::as_str)
        .collect();
    let schemas: Vec<ScalarValue> = schemas.into_iter().map(|s| ScalarValue::Utf8(Some(s.to_string()))).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&schemas, &DataType::Utf8))
}

fn format_encoding(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_int(arg(args, 0)).and_then(|n| ENCODINGS.get(n as usize).map(|e| e.to_string())))
}

fn encoding_to_char(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_int(arg(args, 0)).map(|n| if n == 6 { "UTF8".into() } else { String::new() }))
}

fn backend_pid(context: &QueryContext, _: &[ScalarValue]) -> ScalarValue {
    ScalarValue::Int32(Some(context.session.pid))
}

/// Redshift's `pg_last_copy_id()`: the query id of the session's last COPY (-1 if none).
fn last_copy_id(context: &QueryContext, _: &[ScalarValue]) -> ScalarValue {
    ScalarValue::Int32(Some(context.session.last_copy.map_or(-1, |(query, _)| query as i32)))
}

/// Redshift's `pg_last_copy_count()`: rows the session's last COPY loaded (-1 if none).
fn last_copy_count(context: &QueryContext, _: &[ScalarValue]) -> ScalarValue {
    ScalarValue::Int64(Some(context.session.last_copy.map_or(-1, |(_, rows)| rows)))
}

/// Redshift's `pg_last_unload_id()`: the query id of the session's last UNLOAD (-1 if none).
fn last_unload_id(context: &QueryContext, _: &[ScalarValue]) -> ScalarValue {
    ScalarValue::Int32(Some(context.session.last_unload.map_or(-1, |(query, _)| query as i32)))
}

/// Redshift's `pg_last_unload_count()`: rows the session's last UNLOAD wrote (-1 if none).
fn last_unload_count(context: &QueryContext, _: &[ScalarValue]) -> ScalarValue {
    ScalarValue::Int64(Some(context.session.last_unload.map_or(-1, |(_, rows)| rows)))
}

fn current_setting(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let name = as_text(arg(args, 0)).map(|n| n.to_lowercase());
    text(name.and_then(|n| context.session.settings.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())))
}

fn function_result(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_oid(arg(args, 0)).and_then(pg_proc::by_oid).map(|f| pg_proc::type_list(&[f.result])))
}

fn function_arguments(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_oid(arg(args, 0)).and_then(pg_proc::by_oid).map(|f| pg_proc::type_list(f.args)))
}

/// The elements of a real array, or of a catalog array column's text: PostgreSQL's array text
/// (`{a,b}`) or the vector types' space-separated form (`1 2`).
fn array_elements(value: &ScalarValue) -> Option<Vec<Option<String>>> {
    if let ScalarValue::List(list) = value {
        if list.len() != 1 || list.is_null(0) {
            return None;
        }
        let values = list.value(0);
        return Some(
            (0..values.len())
                .map(|i| ScalarValue::try_from_array(&values, i).ok().and_then(|v| as_text(&v)))
                .collect(),
        );
    }
    let array = as_text(value)?;
    let inner = array.trim_start_matches('{').trim_end_matches('}');
    let separator = if array.starts_with('{') { ',' } else { ' ' };
    Some(
        inner
            .split(separator)
            .filter(|e| !e.is_empty())
            .map(|e| (e != "NULL").then(|| e.trim_matches('"').to_string()))
            .collect(),
    )
}

/// `array_to_string(array, separator[, null_string])`.
fn array_to_string(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let null_string = as_text(arg(args, 2));
    let Some(separator) = as_text(arg(args, 1)) else { return text(None) };
    let Some(elements) = array_elements(arg(args, 0)) else { return text(None) };
    let parts: Vec<String> = elements
        .into_iter()
        .filter_map(|e| e.or_else(|| null_string.clone()))
        .collect();
    text(Some(parts.join(&separator)))
}

/// The type of `__pg_expandarray`'s elements: PostgreSQL's `(x, n)` record.
fn expanded_record() -> DataType {
    DataType::Struct(
        vec![Field::new("x", DataType::Int32, true), Field::new("n", DataType::Int32, false)].into(),
    )
}

/// pgjdbc's `information_schema._pg_expandarray(a)` (rewritten to `unnest` of this): each
/// element of an integer array, such as `pg_index.indkey`, with its position from 1.
fn expand_array(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let elements = array_elements(arg(args, 0)).unwrap_or_default();
    let xs: Int32Array = elements.iter().map(|e| e.as_deref().and_then(|e| e.trim().parse().ok())).collect();
    let ns: Int32Array = (1..=elements.len() as i32).map(Some).collect();
    let DataType::Struct(fields) = expanded_record() else { unreachable!("a struct type") };
    let records = StructArray::new(fields, vec![Arc::new(xs) as ArrayRef, Arc::new(ns)], None);
    SingleRowListArrayBuilder::new(Arc::new(records)).build_list_scalar()
}

fn session_user(context: &QueryContext, _: &[ScalarValue]) -> ScalarValue {
    text(Some(context.session.user.clone()))
}

/// `quote_ident`: double-quotes an identifier unless it is a plain lower-case one.
fn quote_ident(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_text(arg(args, 0)).map(|name| {
        let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
        if plain { name } else { format!("\"{}\"", name.replace('"', "\"\"")) }
    }))
}

/// `quote_literal`: the string as a SQL literal, quotes doubled (Metabase quotes patterns with
/// it); a backslash makes it an `E'...'` string, as in PostgreSQL.
fn quote_literal(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    text(as_text(arg(args, 0)).map(|s| {
        let quoted = s.replace('\'', "''");
        if quoted.contains('\\') { format!("E'{}'", quoted.replace('\\', "\\\\")) } else { format!("'{quoted}'") }
    }))
}

/// `pg_typeof(value)`: the name of the type a result column of the value is described as.
fn type_of(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let value = arg(args, 0);
    if matches!(value, ScalarValue::Null) {
        return text(Some("unknown".to_string()));
    }
    text(types::by_oid(relations::arrow_type_oid(&value.data_type())).map(|t| t.display.to_string()))
}

/// `'name'::regclass`: the OID of a relation name.
fn regclass_oid(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    ScalarValue::UInt32(as_text(arg(args, 0)).and_then(|n| relation_oid(&context.catalog, &context.search_path, &n)))
}

/// `oid::regclass` shown as text: the relation's name, schema-qualified when not visible.
fn regclass_name(context: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let Some(oid) = as_oid(arg(args, 0)) else { return text(None) };
    let name = relation_name(&context.catalog, oid).map(|(schema, name)| {
        if relation_oid(&context.catalog, &context.search_path, &format!("\"{name}\"")) == Some(oid) {
            name
        } else {
            format!("{schema}.{name}")
        }
    });
    text(Some(name.unwrap_or_else(|| oid.to_string())))
}

/// `'typename'::regtype`: the OID of a type name.
fn regtype_oid(_: &QueryContext, args: &[ScalarValue]) -> ScalarValue {
    let name = as_text(arg(args, 0)).map(|n| n.trim_start_matches("pg_catalog.").to_lowercase());
    ScalarValue::UInt32(name.and_then(|n| types::by_name(&n).or_else(|| types::TYPES.iter().find(|t| t.display == n)).map(|t| t.oid)))
}

/// Functions registered on every session.
pub fn catalog_functions(cell: &Arc<ContextCell>) -> Vec<Arc<ScalarUDF>> {
    let arities = |counts: &[usize]| {
        let signatures = counts
            .iter()
            .map(|n| if *n == 0 { TypeSignature::Nullary } else { TypeSignature::Any(*n) })
            .collect();
        Signature::one_of(signatures, Volatility::Stable)
    };
    let text_type = DataType::Utf8;
    let bool_type = DataType::Boolean;
    let table: Vec<(&'static str, &[usize], DataType, Body)> = vec![
        ("format_type", &[2], text_type.clone(), format_type),
        ("pg_get_expr", &[2, 3], text_type.clone(), get_expr),
        ("pg_get_constraintdef", &[1, 2], text_type.clone(), constraint_def),
        ("pg_get_indexdef", &[1, 3], text_type.clone(), index_def),
        ("pg_get_viewdef", &[1, 2], text_type.clone(), view_def),
        ("pg_get_userbyid", &[1], text_type.clone(), user_by_id),
        ("pg_table_is_visible", &[1], bool_type.clone(), table_is_visible),
        ("pg_type_is_visible", &[1], bool_type.clone(), always_visible),
        ("pg_function_is_visible", &[1], bool_type.clone(), always_visible),
        ("obj_description", &[1, 2], text_type.clone(), obj_description),
        ("col_description", &[2], text_type.clone(), col_description),
        ("shobj_description", &[2], text_type.clone(), no_description),
        ("has_table_privilege", &[2, 3], bool_type.clone(), has_privilege),
        ("has_schema_privilege", &[2, 3], bool_type.clone(), has_privilege),
        ("has_database_privilege", &[2, 3], bool_type.clone(), has_privilege),
        ("current_schema", &[0], text_type.clone(), current_schema),
        ("current_schemas", &[1], DataType::new_list(DataType::Utf8, true), current_schemas),
        ("format_encoding", &[1], text_type.clone(), format_encoding),
        ("pg_encoding_to_char", &[1], text_type.clone(), encoding_to_char),
        ("pg_backend_pid", &[0], DataType::Int32, backend_pid),
        ("pg_last_copy_id", &[0], DataType::Int32, last_copy_id),
        ("pg_last_copy_count", &[0], DataType::Int64, last_copy_count),
        ("pg_last_unload_id", &[0], DataType::Int32, last_unload_id),
        ("pg_last_unload_count", &[0], DataType::Int64, last_unload_count),
        ("current_setting", &[1], text_type.clone(), current_setting),
        ("pg_get_function_result", &[1], text_type.clone(), function_result),
        ("pg_get_function_arguments", &[1], text_type.clone(), function_arguments),
        ("array_to_string", &[2, 3], text_type.clone(), array_to_string),
        ("current_user", &[0], text_type.clone(), session_user),
        ("session_user", &[0], text_type.clone(), session_user),
        ("quote_ident", &[1], text_type.clone(), quote_ident),
        ("quote_literal", &[1], text_type.clone(), quote_literal),
        ("pg_typeof", &[1], text_type.clone(), type_of),
        (PG_EXPANDARRAY, &[1], DataType::new_list(expanded_record(), true), expand_array),
        (REGCLASS_OID, &[1], DataType::UInt32, regclass_oid),
        (REGCLASS_NAME, &[1], text_type.clone(), regclass_name),
        (REGTYPE_OID, &[1], DataType::UInt32, regtype_oid),
    ];
    table
        .into_iter()
        .map(|(name, counts, result, body)| {
            Arc::new(ScalarUDF::new_from_impl(CatalogFunction {
                name,
                signature: arities(counts),
                result,
                body,
                cell: Arc::clone(cell),
            }))
        })
        .collect()
}

/// Names of the functions `::regclass` and `::regtype` casts become.
pub const REGCLASS_OID: &str = "__regclass_oid";
pub const REGCLASS_NAME: &str = "__regclass_name";
pub const REGTYPE_OID: &str = "__regtype_oid";
/// What `information_schema._pg_expandarray` becomes (inside an `unnest`).
pub const PG_EXPANDARRAY: &str = "__pg_expandarray";
