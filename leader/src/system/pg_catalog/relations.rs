//! Every relation and column as the catalog tables list them: user tables and views from the
//! Blueshift catalog, plus the system tables themselves, each with a stable OID.
//!
//! User objects carry the OIDs the catalog allocated (from 100,000 up). Built-in objects have
//! fixed OIDs below that: the system schemas, the built-in types, and the system tables, whose
//! OIDs follow their order in [`crate::system::system_tables`].

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};

use super::types;
use crate::catalog::{SUPERUSER, SchemaDef, TableDef, ViewDef};
use crate::system::{INFORMATION_SCHEMA, SYSTEM_SCHEMA, SystemContext, SystemTable, system_tables};

/// `pg_namespace` OIDs of the built-in schemas.
pub const PG_CATALOG_OID: u32 = 11;
pub const INFORMATION_SCHEMA_OID: u32 = 13;
/// OID of the first system table.
const SYSTEM_TABLE_OIDS: u32 = 10_000;
/// `usesysid` of the superuser (Redshift's first user is 100; `rdsdb`, 1, owns built-ins).
pub const SUPERUSER_ID: u32 = 100;
pub const SYSTEM_USER: &str = "rdsdb";
pub const SYSTEM_USER_ID: u32 = 1;
/// `pg_database` OID of `dev`.
pub const DATABASE_OID: u32 = 100_000 - 1;

pub fn user_id(name: &str) -> u32 {
    if name == SUPERUSER { SUPERUSER_ID } else { SYSTEM_USER_ID }
}

pub fn user_name(id: u32) -> Option<&'static str> {
    match id {
        SUPERUSER_ID => Some(SUPERUSER),
        SYSTEM_USER_ID => Some(SYSTEM_USER),
        _ => None,
    }
}

pub struct Namespace {
    pub oid: u32,
    pub name: String,
    pub owner: String,
}

pub fn namespaces(ctx: &SystemContext<'_>) -> Vec<Namespace> {
    let builtin = [(PG_CATALOG_OID, SYSTEM_SCHEMA), (INFORMATION_SCHEMA_OID, INFORMATION_SCHEMA)]
        .into_iter()
        .map(|(oid, name)| Namespace {
            oid,
            name: name.to_string(),
            owner: SYSTEM_USER.to_string(),
        });
    builtin
        .chain(ctx.catalog.schemas.values().map(|s| Namespace {
            oid: s.oid,
            name: s.name.clone(),
            owner: s.owner.clone(),
        }))
        .collect()
}

pub enum Kind<'a> {
    Table(&'a TableDef),
    View(&'a ViewDef),
    System(Arc<dyn SystemTable>),
}

pub struct Relation<'a> {
    pub oid: u32,
    pub namespace: u32,
    pub schema: String,
    pub name: String,
    pub owner: String,
    pub kind: Kind<'a>,
}

/// One column of a relation.
pub struct Attribute {
    /// `attnum`, from 1.
    pub num: i16,
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
    pub not_null: bool,
    /// The DEFAULT expression's SQL.
    pub default: Option<String>,
    pub distkey: bool,
    /// `attsortkeyord`: position in the sort key, negative for interleaved keys.
    pub sortkey: i32,
    /// `attencodingtype` (see [`encoding_code`]).
    pub encoding: i16,
}

/// A column type as the SQL-standard views describe it.
pub struct TypeFacts {
    /// `data_type`, e.g. `character varying`.
    pub data_type: &'static str,
    /// `udt_name`, the `pg_type` name.
    pub udt_name: &'static str,
    pub length: Option<i32>,
    pub precision: Option<i32>,
    pub radix: Option<i32>,
    pub scale: Option<i32>,
    pub datetime_precision: Option<i32>,
}

impl Attribute {
    pub fn facts(&self) -> TypeFacts {
        let pg = types::by_oid(self.type_oid);
        let name = pg.map_or("text", |t| t.name);
        let length = matches!(self.type_oid, types::VARCHAR | types::BPCHAR).then(|| self.typmod - 4).filter(|l| *l >= 0);
        let (precision, radix, scale) = match name {
            "numeric" if self.typmod >= 4 => (Some((self.typmod - 4) >> 16), Some(10), Some((self.typmod - 4) & 0xffff)),
            "int2" => (Some(16), Some(2), Some(0)),
            "int4" => (Some(32), Some(2), Some(0)),
            "int8" => (Some(64), Some(2), Some(0)),
            "float4" => (Some(24), Some(2), None),
            "float8" => (Some(53), Some(2), None),
            _ => (None, None, None),
        };
        let datetime_precision = match name {
            "date" => Some(0),
            "timestamp" | "timestamptz" | "time" => Some(6),
            _ => None,
        };
        TypeFacts {
            data_type: pg.map_or("text", |t| t.display),
            udt_name: name,
            length,
            precision,
            radix,
            scale,
            datetime_precision,
        }
    }
}

impl Relation<'_> {
    /// `relkind`: `r` for tables, `v` for views and system views.
    pub fn relkind(&self) -> &'static str {
        match self.kind {
            Kind::Table(_) => "r",
            Kind::View(_) | Kind::System(_) => "v",
        }
    }

    pub fn table(&self) -> Option<&TableDef> {
        match self.kind {
            Kind::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The relation's columns; a view that does not plan (for example a late-binding view over a
    /// dropped table) has none.
    pub fn attributes(&self, ctx: &SystemContext<'_>) -> Vec<Attribute> {
        match &self.kind {
            Kind::Table(table) => table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| Attribute {
                    num: i as i16 + 1,
                    name: c.name.clone(),
                    type_oid: types::type_oid(&c.sql_type),
                    typmod: types::type_modifier(&c.sql_type),
                    not_null: c.not_null || c.identity.is_some(),
                    default: c.default.clone().or_else(|| {
                        c.identity.map(|id| format!("\"identity\"({}, {}, '{},{}'::text)", table.oid, i, id.seed, id.step))
                    }),
                    distkey: table.dist_key.as_deref() == Some(c.name.as_str()),
                    sortkey: table.sort_key_ordinal(&c.name),
                    encoding: encoding_code(&c.encoding),
                })
                .collect(),
            Kind::View(view) => ctx
                .view_columns
                .get(&view.oid)
                .map(arrow_attributes)
                .unwrap_or_default(),
            Kind::System(table) => arrow_attributes(&table.schema()),
        }
    }
}

/// Columns of a computed relation, typed as clients see its results.
fn arrow_attributes(schema: &SchemaRef) -> Vec<Attribute> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| Attribute {
            num: i as i16 + 1,
            name: f.name().clone(),
            type_oid: arrow_type_oid(f.data_type()),
            typmod: match f.data_type() {
                DataType::Decimal128(p, s) => ((i32::from(*p) << 16) | i32::from(*s)) + 4,
                _ => -1,
            },
            not_null: !f.is_nullable(),
            default: None,
            distkey: false,
            sortkey: 0,
            encoding: 0,
        })
        .collect()
}

/// The `pg_type` OID of a result column's type (what RowDescription reports).
pub fn arrow_type_oid(data_type: &DataType) -> u32 {
    crate::protocol::encode::pg_type(data_type).oid()
}

/// Every relation: user tables and views, then the system tables.
pub fn relations<'a>(ctx: &SystemContext<'a>) -> Vec<Relation<'a>> {
    let mut relations = Vec::new();
    for schema in ctx.catalog.schemas.values() {
        relations.extend(user_relations(schema));
    }
    for (i, table) in system_tables().into_iter().enumerate().filter(|(_, t)| t.listed()) {
        let (namespace, schema) = if table.schema_name() == INFORMATION_SCHEMA {
            (INFORMATION_SCHEMA_OID, INFORMATION_SCHEMA)
        } else {
            (PG_CATALOG_OID, SYSTEM_SCHEMA)
        };
        relations.push(Relation {
            oid: SYSTEM_TABLE_OIDS + i as u32,
            namespace,
            schema: schema.to_string(),
            name: table.name().to_string(),
            owner: SYSTEM_USER.to_string(),
            kind: Kind::System(table),
        });
    }
    relations
}

fn user_relations(schema: &SchemaDef) -> impl Iterator<Item = Relation<'_>> {
    let tables = schema.tables.values().map(move |t| Relation {
        oid: t.oid,
        namespace: schema.oid,
        schema: schema.name.clone(),
        name: t.name.clone(),
        owner: t.owner.clone(),
        kind: Kind::Table(t),
    });
    let views = schema.views.values().map(move |v| Relation {
        oid: v.oid,
        namespace: schema.oid,
        schema: schema.name.clone(),
        name: v.name.clone(),
        owner: v.owner.clone(),
        kind: Kind::View(v),
    });
    tables.chain(views)
}

/// Compression encodings in `attencodingtype` order; `format_encoding(n)` names them.
pub const ENCODINGS: &[&str] = &[
    "none", "bytedict", "delta", "delta32k", "lzo", "mostly8", "mostly16", "mostly32", "runlength", "text255",
    "text32k", "zstd", "az64",
];

pub fn encoding_code(encoding: &str) -> i16 {
    let lower = encoding.to_ascii_lowercase();
    ENCODINGS
        .iter()
        .position(|e| *e == lower || (lower == "raw" && *e == "none"))
        .unwrap_or(0) as i16
}

/// Whether a relation is found by its bare name: its schema is on the search path and no
/// earlier schema there has a relation of the same name.
pub fn is_visible(ctx_search_path: &[String], relations: &[Relation<'_>], relation: &Relation<'_>) -> bool {
    ctx_search_path
        .iter()
        .find(|s| relations.iter().any(|r| &r.schema == *s && r.name == relation.name))
        .is_some_and(|s| *s == relation.schema)
}

/// Stable OIDs of the constraints of a table: `pg_constraint` rows are numbered from the table's
/// OID (shifted left by 8 bits, which leaves room for 256 constraints per table).
pub fn constraint_oid(table_oid: u32, index: usize) -> u32 {
    (table_oid << 8) | index as u32
}

/// One constraint of a table, in `pg_constraint` order: primary key, unique keys, foreign keys.
pub struct Constraint<'a> {
    pub oid: u32,
    pub name: String,
    /// `contype`: p, u or f.
    pub kind: &'static str,
    pub columns: &'a [String],
    pub foreign: Option<&'a crate::catalog::ForeignKey>,
}

pub fn constraints(table: &TableDef) -> Vec<Constraint<'_>> {
    let mut out = Vec::new();
    if !table.primary_key.is_empty() {
        out.push(Constraint {
            oid: 0,
            name: format!("{}_pkey", table.name),
            kind: "p",
            columns: &table.primary_key,
            foreign: None,
        });
    }
    for key in &table.unique_keys {
        out.push(Constraint {
            oid: 0,
            name: format!("{}_{}_key", table.name, key.join("_")),
            kind: "u",
            columns: key,
            foreign: None,
        });
    }
    for fk in &table.foreign_keys {
        out.push(Constraint {
            oid: 0,
            name: format!("{}_{}_fkey", table.name, fk.columns.join("_")),
            kind: "f",
            columns: &fk.columns,
            foreign: Some(fk),
        });
    }
    for (i, c) in out.iter_mut().enumerate() {
        c.oid = constraint_oid(table.oid, i);
    }
    out
}

/// The index PostgreSQL builds for a primary or unique key. Blueshift builds none (keys are
/// informational, as in Redshift), yet `pg_index`, `pg_class` and `pg_attribute` list one per key
/// as PostgreSQL does, because drivers find keys through them (pgjdbc's `getPrimaryKeys` and
/// `getIndexInfo`, SQLAlchemy's PostgreSQL reflection).
pub struct KeyIndex {
    pub oid: u32,
    /// The constraint's name, as PostgreSQL names a key's index.
    pub name: String,
    pub table_oid: u32,
    pub namespace: u32,
    /// The key's columns, as the table's `attnum`s.
    pub columns: Vec<i16>,
    pub primary: bool,
    /// The constraint the index backs (`pg_constraint.conindid` points back).
    pub constraint_oid: u32,
}

/// OID of a key's index: its constraint's OID with the top bit of the per-table byte set, so
/// index and constraint OIDs never meet for tables of fewer than 128 constraints.
pub fn index_oid(constraint_oid: u32) -> u32 {
    constraint_oid | 0x80
}

/// The key indexes of every table among `relations`.
pub fn key_indexes(relations: &[Relation<'_>]) -> Vec<KeyIndex> {
    let mut out = Vec::new();
    for r in relations {
        let Some(table) = r.table() else { continue };
        for c in constraints(table).into_iter().filter(|c| c.kind != "f") {
            out.push(KeyIndex {
                oid: index_oid(c.oid),
                name: c.name.clone(),
                table_oid: r.oid,
                namespace: r.namespace,
                columns: c.columns.iter().filter_map(|n| table.column_index(n).map(|i| i as i16 + 1)).collect(),
                primary: c.kind == "p",
                constraint_oid: c.oid,
            });
        }
    }
    out
}

/// `pg_get_constraintdef`: the constraint as SQL.
pub fn constraint_definition(constraint: &Constraint<'_>) -> String {
    let columns = constraint.columns.join(", ");
    match (constraint.kind, constraint.foreign) {
        ("p", _) => format!("PRIMARY KEY ({columns})"),
        ("f", Some(fk)) => {
            let table = match &fk.ref_schema {
                Some(s) => format!("{s}.{}", fk.ref_table),
                None => fk.ref_table.clone(),
            };
            let referenced = if fk.ref_columns.is_empty() { String::new() } else { format!("({})", fk.ref_columns.join(", ")) };
            format!("FOREIGN KEY ({columns}) REFERENCES {table}{referenced}")
        }
        _ => format!("UNIQUE ({columns})"),
    }
}

/// `(schema, name)` of the relation with `oid`, using only the catalog (for the catalog
/// functions, which run without a [`SystemContext`]).
pub fn relation_name(catalog: &crate::catalog::Catalog, oid: u32) -> Option<(String, String)> {
    if (SYSTEM_TABLE_OIDS..DATABASE_OID).contains(&oid) {
        return system_tables()
            .get((oid - SYSTEM_TABLE_OIDS) as usize)
            .map(|t| (t.schema_name().to_string(), t.name().to_string()));
    }
    catalog.schemas.values().find_map(|s| {
        s.tables
            .values()
            .find(|t| t.oid == oid)
            .map(|t| t.name.clone())
            .or_else(|| s.views.values().find(|v| v.oid == oid).map(|v| v.name.clone()))
            .map(|name| (s.name.clone(), name))
    })
}

/// OID of the relation `name` (`schema.name` or found along `search_path`).
pub fn relation_oid(catalog: &crate::catalog::Catalog, search_path: &[String], name: &str) -> Option<u32> {
    let unquote = |s: &str| s.trim_matches('"').to_string();
    let (schemas, relation): (Vec<String>, String) = match name.split_once('.') {
        Some((schema, relation)) => (vec![unquote(schema)], unquote(relation)),
        None => (search_path.to_vec(), unquote(&name.to_lowercase())),
    };
    schemas.iter().find_map(|schema| {
        if crate::system::is_system_schema(schema) {
            return system_tables()
                .iter()
                .position(|t| t.schema_name() == schema && t.name() == relation)
                .map(|i| SYSTEM_TABLE_OIDS + i as u32);
        }
        let s = catalog.schemas.get(schema)?;
        s.tables
            .get(&relation)
            .map(|t| t.oid)
            .or_else(|| s.views.get(&relation).map(|v| v.oid))
    })
}
