//! STV_RESTORE_STATUS: how far each compute node of a cluster restored from a snapshot has got
//! with downloading its data, with the fields of Redshift's `DescribeClusters.RestoreStatus`
//! (status, snapshot size, progress, rate, elapsed and estimated remaining time) plus exact byte
//! and object counts. Nodes not restored from a snapshot have no row.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use blueshift_proto::RestoreStatusRequest;
use datafusion::common::ScalarValue;

use super::rows::{self, FLOAT8, INT4, INT8, MB, Rows, TEXT};
use super::{SystemContext, SystemTable};
use crate::error::Result;

pub struct StvRestoreStatus;

#[async_trait]
impl SystemTable for StvRestoreStatus {
    fn name(&self) -> &'static str {
        "stv_restore_status"
    }

    fn schema(&self) -> SchemaRef {
        rows::schema(&[
            ("node", INT4),
            ("snapshot_identifier", TEXT),
            ("status", TEXT),
            ("snapshot_size_in_mega_bytes", FLOAT8),
            ("progress_in_mega_bytes", FLOAT8),
            ("current_restore_rate_in_mega_bytes_per_second", FLOAT8),
            ("elapsed_time_in_seconds", INT8),
            ("estimated_time_to_completion_in_seconds", INT8),
            ("total_bytes", INT8),
            ("downloaded_bytes", INT8),
            ("total_objects", INT8),
            ("downloaded_objects", INT8),
            ("on_demand_objects", INT8),
        ])
    }

    async fn rows(&self, ctx: &SystemContext<'_>) -> Result<RecordBatch> {
        let mut rows = Rows::new(self.schema());
        for node in &ctx.cluster.nodes {
            let s = node
                .control()?
                .restore_status(RestoreStatusRequest {})
                .await
                .map_err(|e| node.error(e.message()))?
                .into_inner();
            if !s.restored {
                continue;
            }
            let until = s.completed_ms.unwrap_or_else(crate::snapshot::now_ms);
            let elapsed = (until - s.started_ms).max(0) as f64 / 1000.0;
            let rate = if elapsed > 0.0 { s.downloaded_bytes as f64 / elapsed } else { 0.0 };
            let remaining = s.total_bytes.saturating_sub(s.downloaded_bytes) as f64;
            let eta = match (s.completed_ms, rate > 0.0) {
                (Some(_), _) => Some(0),
                (None, true) => Some((remaining / rate).ceil() as i64),
                (None, false) => None,
            };
            rows.push(vec![
                ScalarValue::Int32(Some(node.index as i32)),
                ScalarValue::from(s.snapshot_id),
                ScalarValue::from(s.status),
                ScalarValue::from(s.total_bytes as f64 / MB),
                ScalarValue::from(s.downloaded_bytes as f64 / MB),
                ScalarValue::from(rate / MB),
                ScalarValue::Int64(Some(elapsed as i64)),
                ScalarValue::Int64(eta),
                ScalarValue::Int64(Some(s.total_bytes as i64)),
                ScalarValue::Int64(Some(s.downloaded_bytes as i64)),
                ScalarValue::Int64(Some(s.total_objects as i64)),
                ScalarValue::Int64(Some(s.downloaded_objects as i64)),
                ScalarValue::Int64(Some(s.on_demand_objects as i64)),
            ]);
        }
        rows.finish()
    }
}
