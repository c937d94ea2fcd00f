//! SVV_TABLE_INFO: one row per non-empty table: distribution, sort key, size, skew.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;

use super::{SliceUsage, SystemContext, SystemTable, slice_usage};
use crate::catalog::{DATABASE, SchemaDef, SortKeyKind, TableDef};
use crate::error::Result;

pub struct SvvTableInfo;

#[async_trait]
impl SystemTable for SvvTableInfo {
    fn name(&self) -> &'static str {
        "svv_table_info"
    }

    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("database", DataType::Utf8, false),
            Field::new("schema", DataType::Utf8, false),
            Field::new("table_id", DataType::Int32, false),
            Field::new("table", DataType::Utf8, false),
            Field::new("encoded", DataType::Utf8, false),
            Field::new("diststyle", DataType::Utf8, false),
            Field::new("sortkey1", DataType::Utf8, true),
            Field::new("max_varchar", DataType::Int32, false),
            Field::new("sortkey1_enc", DataType::Utf8, true),
            Field::new("sortkey_num", DataType::Int32, false),
            Field::new("size", DataType::Int64, false),
            Field::new("unsorted", DataType::Float64, true),
            Field::new("tbl_rows", DataType::Int64, false),
            Field::new("skew_rows", DataType::Float64, true),
        ]))
    }

    async fn rows(&self, ctx: &SystemContext<'_>) -> Result<RecordBatch> {
        let blocks = ctx.blocks().await?;
        let usage = slice_usage(&blocks, ctx.catalog);
        let slices = ctx.cluster.slices();
        let rows: Vec<Info> = ctx
            .tables()
            .filter_map(|(schema, table)| Info::of(schema, table, &slices, &usage, ctx.cluster.nodes.len()))
            .collect();
        let strings = |f: &dyn Fn(&Info) -> Option<String>| -> ArrayRef { Arc::new(StringArray::from_iter(rows.iter().map(f))) };
        let int32 = |f: &dyn Fn(&Info) -> i32| -> ArrayRef { Arc::new(Int32Array::from_iter_values(rows.iter().map(f))) };
        let int64 = |f: &dyn Fn(&Info) -> i64| -> ArrayRef { Arc::new(Int64Array::from_iter_values(rows.iter().map(f))) };
        let float = |f: &dyn Fn(&Info) -> Option<f64>| -> ArrayRef { Arc::new(Float64Array::from_iter(rows.iter().map(f))) };
        Ok(RecordBatch::try_new(
            self.schema(),
            vec![
                strings(&|_| Some(DATABASE.to_string())),
                strings(&|i| Some(i.schema.clone())),
                int32(&|i| i.table.oid as i32),
                strings(&|i| Some(i.table.name.clone())),
                strings(&|i| Some(if i.table.columns.iter().any(|c| c.encoding != "RAW") { "Y" } else { "N" }.into())),
                strings(&|i| Some(i.table.dist_style_label())),
                strings(&|i| i.sortkey1()),
                int32(&|i| i.table.columns.iter().filter_map(|c| c.sql_type.max_length()).max().unwrap_or(0) as i32),
                strings(&|i| {
                    i.table.sort_key.first().and_then(|k| i.table.column(k)).map(|c| c.encoding.to_lowercase())
                }),
                int32(&|i| i.table.sort_key.len() as i32),
                // Size in 1 MB blocks: one per column per segment, as Redshift counts them.
                int64(&|i| (i.segments * i.table.columns.len() as u64) as i64),
                float(&|i| (!i.table.sort_key.is_empty()).then(|| 100.0 * (i.rows - i.sorted) as f64 / i.rows as f64)),
                int64(&|i| (i.rows / i.copies) as i64),
                float(&|i| i.skew),
            ],
        )?)
    }
}

/// One table's row of SVV_TABLE_INFO.
struct Info<'a> {
    schema: String,
    table: &'a TableDef,
    rows: u64,
    sorted: u64,
    segments: u64,
    /// Full copies of the table (one per node for DISTSTYLE ALL).
    copies: u64,
    /// Rows on the fullest slice over rows on the emptiest.
    skew: Option<f64>,
}

impl<'a> Info<'a> {
    fn of(schema: &SchemaDef, table: &'a TableDef, slices: &[u32], usage: &HashMap<(u32, u32), SliceUsage>, nodes: usize) -> Option<Info<'a>> {
        let per_slice: Vec<Option<&SliceUsage>> = slices.iter().map(|s| usage.get(&(table.oid, *s))).collect();
        let rows: u64 = per_slice.iter().flatten().map(|u| u.rows).sum();
        if rows == 0 {
            // Like Redshift, empty tables are not listed.
            return None;
        }
        let slice_rows: Vec<u64> = per_slice.iter().map(|u| u.map_or(0, |u| u.rows)).collect();
        let skew = match (slice_rows.iter().max(), slice_rows.iter().min()) {
            (Some(max), Some(min)) if !table.dist_style.is_all() && *min > 0 => Some(*max as f64 / *min as f64),
            _ => None,
        };
        Some(Info {
            schema: schema.name.clone(),
            table,
            rows,
            sorted: per_slice.iter().flatten().map(|u| u.sorted_rows).sum(),
            segments: per_slice.iter().flatten().map(|u| u.segments).sum(),
            copies: if table.dist_style.is_all() { nodes as u64 } else { 1 },
            skew,
        })
    }

    fn sortkey1(&self) -> Option<String> {
        let first = self.table.sort_key.first()?;
        match self.table.sort_kind {
            SortKeyKind::Auto => None,
            SortKeyKind::Interleaved => Some(format!("INTERLEAVED({first})")),
            SortKeyKind::Compound => Some(first.clone()),
        }
    }
}
