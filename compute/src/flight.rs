//! The compute node's Arrow Flight service: table writes (`DoPut`), single-slice reads for
//! scans running on another process (`DoGet`), and COPY's reading and parsing of load files
//! (the `load` action, [`crate::load::task`]).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use blueshift_proto::{SliceScanNode, WriteDescriptor, WriteResult};
use blueshift_storage::node::{SEGMENT_ROWS, WriteSpec, WriteSummary};
use blueshift_storage::NodeStore;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use datafusion_proto::physical_plan::DefaultPhysicalProtoConverter;
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::codec::BlueshiftCodec;
use crate::restore::Restorer;
use crate::load::task::{self, LOAD_ACTION, LoadTask};

type BoxedStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

pub struct ComputeFlightService {
    store: Arc<NodeStore>,
    restorer: Arc<Restorer>,
}

impl ComputeFlightService {
    pub fn new(store: Arc<NodeStore>, restorer: Arc<Restorer>) -> Self {
        ComputeFlightService { store, restorer }
    }

    fn task_context(&self) -> Arc<TaskContext> {
        let config = SessionConfig::new()
            .with_extension(Arc::clone(&self.store))
            .with_extension(Arc::clone(&self.restorer));
        Arc::new(TaskContext::default().with_session_config(config))
    }
}

fn status(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

/// Appends a write's batches to storage in chunks of at most one segment, so a large load never
/// holds more than a segment's worth of rows in memory.
struct SegmentBuffer {
    store: Arc<NodeStore>,
    descriptor: WriteDescriptor,
    column_ids: Option<Vec<u32>>,
    batches: Vec<RecordBatch>,
    rows: usize,
    summary: WriteSummary,
}

impl SegmentBuffer {
    async fn push(&mut self, batch: RecordBatch) -> Result<(), Status> {
        if self.column_ids.is_none() {
            let ids = batch
                .schema()
                .fields()
                .iter()
                .map(|f| {
                    f.name()
                        .strip_prefix('c')
                        .and_then(|id| id.parse().ok())
                        .ok_or_else(|| Status::invalid_argument(format!("bad column field {}", f.name())))
                })
                .collect::<Result<Vec<u32>, Status>>()?;
            self.column_ids = Some(ids);
        }
        self.rows += batch.num_rows();
        self.batches.push(batch);
        if self.rows >= SEGMENT_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Status> {
        if self.batches.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.batches);
        self.rows = 0;
        let store = Arc::clone(&self.store);
        let descriptor = self.descriptor.clone();
        let column_ids = self.column_ids.clone().unwrap_or_default();
        let written = tokio::task::spawn_blocking(move || {
            let encodings: HashMap<u32, String> = descriptor.encodings.clone().into_iter().collect();
            store.write(
                &WriteSpec {
                    xid: descriptor.xid,
                    table_id: descriptor.table_id,
                    slice: descriptor.slice,
                    column_ids: &column_ids,
                    sort_column_ids: &descriptor.sort_column_ids,
                    encodings: &encodings,
                },
                &batches,
            )
        })
        .await
        .map_err(status)?
        .map_err(status)?;
        self.summary.rows += written.rows;
        self.summary.segments += written.segments;
        self.summary.bytes += written.bytes;
        Ok(())
    }
}

#[tonic::async_trait]
impl FlightService for ComputeFlightService {
    type HandshakeStream = BoxedStream<HandshakeResponse>;
    type ListFlightsStream = BoxedStream<FlightInfo>;
    type DoGetStream = BoxedStream<FlightData>;
    type DoPutStream = BoxedStream<PutResult>;
    type DoActionStream = BoxedStream<arrow_flight::Result>;
    type ListActionsStream = BoxedStream<ActionType>;
    type DoExchangeStream = BoxedStream<FlightData>;

    async fn do_get(&self, request: Request<Ticket>) -> Result<Response<Self::DoGetStream>, Status> {
        let node = SliceScanNode::decode(request.into_inner().ticket)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let context = self.task_context();
        let scan = BlueshiftCodec
            .decode_scan(node, &context, &DefaultPhysicalProtoConverter {})
            .map_err(status)?;
        let schema = scan.schema();
        let batches = scan
            .execute(0, context)
            .map_err(status)?
            .map_err(|e| FlightError::ExternalError(Box::new(e)));
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(|e| Status::internal(e.to_string()));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        let mut input = request.into_inner().peekable();
        let first = Pin::new(&mut input)
            .peek()
            .await
            .ok_or_else(|| Status::invalid_argument("empty write stream"))?
            .as_ref()
            .map_err(|e| Status::internal(e.to_string()))?;
        let descriptor = first
            .flight_descriptor
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("write stream without a descriptor"))?;
        let descriptor = WriteDescriptor::decode(descriptor.cmd.clone())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let mut buffer = SegmentBuffer {
            store: Arc::clone(&self.store),
            descriptor,
            column_ids: None,
            batches: Vec::new(),
            rows: 0,
            summary: WriteSummary::default(),
        };
        let mut batches = FlightRecordBatchStream::new_from_flight_data(
            input.map_err(|e| FlightError::Tonic(Box::new(e))),
        );
        while let Some(batch) = batches.next().await {
            buffer.push(batch.map_err(status)?).await?;
        }
        buffer.flush().await?;
        let result = WriteResult {
            rows: buffer.summary.rows,
            segments: buffer.summary.segments,
            bytes: buffer.summary.bytes,
        };
        let put = PutResult {
            app_metadata: result.encode_to_vec().into(),
        };
        Ok(Response::new(Box::pin(futures::stream::once(async { Ok(put) }))))
    }

    async fn handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        Err(Status::unimplemented("handshake"))
    }

    async fn list_flights(
        &self,
        _request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        Err(Status::unimplemented("list_flights"))
    }

    async fn get_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Err(Status::unimplemented("get_flight_info"))
    }

    async fn poll_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        Err(Status::unimplemented("poll_flight_info"))
    }

    async fn get_schema(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        Err(Status::unimplemented("get_schema"))
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        let action = request.into_inner();
        if action.r#type != LOAD_ACTION {
            return Err(Status::unimplemented(format!("action {}", action.r#type)));
        }
        let task: LoadTask = serde_json::from_slice(&action.body).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let replies = task::serve(task).map(|reply| {
            Ok(arrow_flight::Result {
                body: reply.encode_to_vec().into(),
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn list_actions(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        Err(Status::unimplemented("list_actions"))
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(Status::unimplemented("do_exchange"))
    }
}
