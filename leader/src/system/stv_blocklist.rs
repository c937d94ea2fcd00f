//! STV_BLOCKLIST: the zone map of every column of every segment ("block"), per slice.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;

use blueshift_proto::Block;

use super::{SystemContext, SystemTable};
use crate::catalog::TableDef;
use crate::error::Result;

pub struct StvBlocklist;

#[async_trait]
impl SystemTable for StvBlocklist {
    fn name(&self) -> &'static str {
        "stv_blocklist"
    }

    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("slice", DataType::Int32, false),
            Field::new("col", DataType::Int32, false),
            Field::new("tbl", DataType::Int32, false),
            Field::new("blocknum", DataType::Int32, false),
            Field::new("num_values", DataType::Int32, false),
            Field::new("minvalue", DataType::Int64, true),
            Field::new("maxvalue", DataType::Int64, true),
            Field::new("unsorted", DataType::Int32, false),
            Field::new("tombstone", DataType::Int32, false),
        ]))
    }

    async fn rows(&self, ctx: &SystemContext<'_>) -> Result<RecordBatch> {
        let mut blocks = ctx.blocks().await?;
        blocks.sort_by_key(|b| (b.table_id, b.slice, b.column_id, b.segment_id));
        // Each block with its table and the column's position in it (dropped columns have none).
        let rows: Vec<(&Block, &TableDef, usize)> = blocks
            .iter()
            .filter_map(|block| {
                let (_, table) = ctx.catalog.table_by_oid(block.table_id as u32)?;
                let col = table.columns.iter().position(|c| c.id == block.column_id)?;
                Some((block, table, col))
            })
            .collect();
        let int32 = |f: &dyn Fn(&(&Block, &TableDef, usize)) -> i32| -> ArrayRef {
            Arc::new(Int32Array::from_iter_values(rows.iter().map(f)))
        };
        Ok(RecordBatch::try_new(
            self.schema(),
            vec![
                int32(&|r| r.0.slice as i32),
                int32(&|r| r.2 as i32),
                int32(&|r| r.1.oid as i32),
                int32(&|r| r.0.segment_id as i32),
                int32(&|r| r.0.num_values as i32),
                Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.0.minvalue))),
                Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.0.maxvalue))),
                int32(&|r| i32::from(r.1.sort_key.is_empty() || r.0.sorted_by != r.1.sort_column_ids())),
                int32(&|r| i32::from(r.0.deleted > 0)),
            ],
        )?)
    }
}
