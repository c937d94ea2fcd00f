//! STV_SLICES: which node holds which slice.

use std::sync::Arc;

use arrow::array::{Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;

use super::{SystemContext, SystemTable};
use crate::error::Result;

pub struct StvSlices;

#[async_trait]
impl SystemTable for StvSlices {
    fn name(&self) -> &'static str {
        "stv_slices"
    }

    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("node", DataType::Int32, false),
            Field::new("slice", DataType::Int32, false),
            Field::new("localslice", DataType::Int32, false),
            Field::new("type", DataType::Utf8, false),
        ]))
    }

    async fn rows(&self, ctx: &SystemContext<'_>) -> Result<RecordBatch> {
        let (mut node, mut slice, mut local) = (Vec::new(), Vec::new(), Vec::new());
        for n in &ctx.cluster.nodes {
            for (i, s) in n.slices().enumerate() {
                node.push(n.index as i32);
                slice.push(s as i32);
                local.push(i as i32);
            }
        }
        let kinds = vec!["D"; node.len()];
        Ok(RecordBatch::try_new(
            self.schema(),
            vec![
                Arc::new(Int32Array::from(node)),
                Arc::new(Int32Array::from(slice)),
                Arc::new(Int32Array::from(local)),
                Arc::new(StringArray::from(kinds)),
            ],
        )?)
    }
}
