//! The compute node's Arrow Flight service: table writes (`DoPut`), single-slice reads for
//! scans running on another process (`DoGet`), and COPY's reading and parsing of load files
//! (the `load` action, [`crate::load::task`]).

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
use blueshift_storage::node::WriteSummary;
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
use crate::load::quotes::QuoteBoards;
use crate::load::task::{self, LOAD_ACTION, LOAD_QUOTES_ACTION, LoadTask, QuotesRelay};
use crate::segment_buffer::{LocalSlices, SliceFeed};

type BoxedStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

pub struct ComputeFlightService {
    /// This node's store, and where writes into its slices go, from other nodes and from its
    /// own loads.
    slices: Arc<LocalSlices>,
    restorer: Arc<Restorer>,
    /// The quote-count boards of running loads whose CSV files other nodes read parts of.
    boards: Arc<QuoteBoards>,
}

impl ComputeFlightService {
    pub fn new(store: Arc<NodeStore>, restorer: Arc<Restorer>) -> Self {
        let slices = Arc::new(LocalSlices::new(store));
        ComputeFlightService {
            slices,
            restorer,
            boards: Arc::default(),
        }
    }

    fn task_context(&self) -> Arc<TaskContext> {
        let config = SessionConfig::new()
            .with_extension(Arc::clone(self.slices.store()))
            .with_extension(Arc::clone(&self.restorer));
        Arc::new(TaskContext::default().with_session_config(config))
    }
}

fn status(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

/// The column id of each field of a write's batches (fields are named `c<id>`).
fn column_ids(batch: &RecordBatch) -> Result<Vec<u32>, Status> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            f.name()
                .strip_prefix('c')
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| Status::invalid_argument(format!("bad column field {}", f.name())))
        })
        .collect()
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
        let mut batches = FlightRecordBatchStream::new_from_flight_data(
            input.map_err(|e| FlightError::Tonic(Box::new(e))),
        );
        let mut feed: Option<SliceFeed> = None;
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(status)?;
            let feed = match &mut feed {
                Some(feed) => feed,
                None => feed.insert(self.slices.join(descriptor.clone(), column_ids(&batch)?)),
            };
            feed.push(batch).await.map_err(status)?;
        }
        let summary = match feed {
            Some(feed) => feed.finish().await.map_err(status)?,
            None => WriteSummary::default(),
        };
        let result = WriteResult {
            rows: summary.rows,
            segments: summary.segments,
            bytes: summary.bytes,
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
        let malformed = |e: serde_json::Error| Status::invalid_argument(e.to_string());
        match action.r#type.as_str() {
            LOAD_ACTION => {}
            LOAD_QUOTES_ACTION => {
                let relay: QuotesRelay = serde_json::from_slice(&action.body).map_err(malformed)?;
                self.boards.relay(relay.board, relay.counted);
                return Ok(Response::new(Box::pin(futures::stream::empty())));
            }
            other => return Err(Status::unimplemented(format!("action {other}"))),
        }
        let task: LoadTask = serde_json::from_slice(&action.body).map_err(malformed)?;
        let replies = task::serve(task, Arc::clone(&self.slices), &self.boards).map(|reply| {
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
