//! SVV_SNAPSHOTS: the snapshots in every configured region's store, with the fields of
//! Redshift's DescribeClusterSnapshots (identifier, type, create time, status, total and
//! incremental size in MB, source region, retention), plus the region holding the copy and the
//! commit the snapshot was cut at.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::common::ScalarValue;

use super::rows::{self, FLOAT8, INT4, INT8, MB, Rows, TEXT, TIMESTAMP};
use super::{SystemContext, SystemTable};
use crate::error::Result;

pub struct SvvSnapshots;

#[async_trait]
impl SystemTable for SvvSnapshots {
    fn name(&self) -> &'static str {
        "svv_snapshots"
    }

    fn schema(&self) -> SchemaRef {
        rows::schema(&[
            ("snapshot_identifier", TEXT),
            ("snapshot_type", TEXT),
            ("snapshot_create_time", TIMESTAMP),
            ("status", TEXT),
            ("total_backup_size_mb", FLOAT8),
            ("actual_incremental_backup_size_mb", FLOAT8),
            ("source_region", TEXT),
            ("region", TEXT),
            ("retention_period", INT4),
            ("commit_position", INT8),
        ])
    }

    async fn rows(&self, ctx: &SystemContext<'_>) -> Result<RecordBatch> {
        let mut rows = Rows::new(self.schema());
        for s in ctx.snapshots.list("").await? {
            rows.push(vec![
                ScalarValue::from(s.id),
                ScalarValue::from(s.kind),
                ScalarValue::TimestampMicrosecond(Some(s.created_ms * 1000), None),
                ScalarValue::from(s.status),
                ScalarValue::from(s.total_bytes as f64 / MB),
                ScalarValue::from(s.incremental_bytes as f64 / MB),
                ScalarValue::from(s.source_region),
                ScalarValue::from(s.region),
                // -1: kept until deleted, as Redshift reports manual snapshots.
                ScalarValue::Int32(Some(s.retention_days.map_or(-1, |d| d as i32))),
                ScalarValue::Int64(Some(s.csn as i64)),
            ]);
        }
        rows.finish()
    }
}
