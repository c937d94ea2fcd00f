//! SVL_S3PARTITION: for each query's scan of a partitioned external table, how many partitions
//! the table has and how many its predicates left to read.

use std::sync::Arc;

use crate::system::query_log::QueryLog;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, int, text};
use crate::system::{CatalogTable, SystemContext};

/// Records a scan's pruning for the statement a session runs.
pub struct Recorder {
    pub log: Arc<QueryLog>,
    pub pid: i32,
}

impl blueshift_spectrum::PartitionLog for Recorder {
    fn scanned(&self, table: &str, total: usize, qualified: usize) {
        self.log.record_s3_partitions(self.pid, table, total, qualified);
    }
}

pub struct SvlS3Partition;

impl CatalogTable for SvlS3Partition {
    const NAME: &'static str = "svl_s3partition";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("query", INT4),
        ("segment", INT4),
        ("node", INT4),
        ("slice", INT4),
        ("starttime", TIMESTAMP),
        ("endtime", TIMESTAMP),
        ("duration", INT8),
        ("total_partitions", INT4),
        ("qualified_partitions", INT4),
        ("assignment", TEXT),
        ("assigned_partitions", INT4),
        // Not in Redshift: which table the row is about.
        ("tablename", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for scan in ctx.log.s3_partitions() {
            let time = datafusion::common::ScalarValue::TimestampMicrosecond(Some(scan.time), None);
            rows.push(vec![
                int(scan.query),
                int(0),
                int(0),
                int(0),
                time.clone(),
                time,
                int(0),
                int(scan.total as i64),
                int(scan.qualified as i64),
                // Pruning happens once, on the leader, before files are dealt to the slices.
                text("L"),
                int(scan.qualified as i64),
                text(&scan.table),
            ]);
        }
    }
}
