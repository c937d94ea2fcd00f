//! Reading a slice from the node that owns it, for scans that run elsewhere.

use std::sync::Arc;

use arrow_flight::{FlightClient, Ticket};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::DefaultPhysicalProtoConverter;
use futures::{StreamExt, TryStreamExt};
use prost::Message;

use crate::channels;
use crate::codec::BlueshiftCodec;
use crate::scan::SliceScanExec;

/// Streams `scan` (a single-slice scan) from the node at `location`.
pub async fn fetch_scan(
    location: String,
    scan: SliceScanExec,
    _context: Arc<TaskContext>,
) -> Result<SendableRecordBatchStream> {
    let schema = scan.schema();
    let node = BlueshiftCodec.encode_scan(&scan, &DefaultPhysicalProtoConverter {})?;
    let channel = channels::channel(&location).map_err(|e| node_error(&location, e))?;
    let mut client = FlightClient::new(channel);
    let stream = client
        .do_get(Ticket::new(node.encode_to_vec()))
        .await
        .map_err(|e| node_error(&location, e))?;
    let location_for_errors = location.clone();
    Ok(Box::pin(RecordBatchStreamAdapter::new(
        schema,
        stream.map_err(move |e| node_error(&location_for_errors, e)).boxed(),
    )))
}

/// An error from talking to a compute node, naming it.
pub fn node_error(location: &str, error: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("compute node {location} failed: {error}"))
}
