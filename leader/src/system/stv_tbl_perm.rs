//! STV_TBL_PERM: every permanent and temporary table's rows on each slice.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;

use super::{SliceUsage, SystemContext, SystemTable, slice_usage};
use crate::catalog::TableDef;
use crate::error::Result;

pub struct StvTblPerm;

#[async_trait]
impl SystemTable for StvTblPerm {
    fn name(&self) -> &'static str {
        "stv_tbl_perm"
    }

    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("slice", DataType::Int32, false),
            Field::new("id", DataType::Int32, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("rows", DataType::Int64, false),
            Field::new("sorted_rows", DataType::Int64, false),
            Field::new("temp", DataType::Int32, false),
            Field::new("db_id", DataType::Int32, false),
            Field::new("backup", DataType::Int32, false),
            Field::new("block_count", DataType::Int64, false),
        ]))
    }

    async fn rows(&self, ctx: &SystemContext<'_>) -> Result<RecordBatch> {
        let blocks = ctx.blocks().await?;
        let usage = slice_usage(&blocks, ctx.catalog);
        let slices = ctx.cluster.slices();
        let rows: Vec<(u32, &TableDef, Option<&SliceUsage>)> = ctx
            .tables()
            .flat_map(|(_, table)| slices.iter().map(move |s| (*s, table)))
            .map(|(slice, table)| (slice, table, usage.get(&(table.oid, slice))))
            .collect();
        let int32 = |f: &dyn Fn(&(u32, &TableDef, Option<&SliceUsage>)) -> i32| -> ArrayRef {
            Arc::new(Int32Array::from_iter_values(rows.iter().map(f)))
        };
        let int64 = |f: &dyn Fn(Option<&SliceUsage>) -> u64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| f(r.2) as i64)))
        };
        Ok(RecordBatch::try_new(
            self.schema(),
            vec![
                int32(&|r| r.0 as i32),
                int32(&|r| r.1.oid as i32),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1.name.as_str()))),
                int64(&|u| u.map_or(0, |u| u.rows)),
                int64(&|u| u.map_or(0, |u| u.sorted_rows)),
                int32(&|r| i32::from(r.1.temp_owner.is_some())),
                int32(&|_| 1),
                int32(&|r| i32::from(r.1.backup)),
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| (r.2.map_or(0, |u| u.segments) * r.1.columns.len() as u64) as i64),
                )),
            ],
        )?)
    }
}
