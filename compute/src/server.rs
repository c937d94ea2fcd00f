//! Assembles a compute node: one gRPC server carrying the datafusion-distributed worker (plan
//! stages), Arrow Flight (writes and single-slice reads) and the control service.

use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use blueshift_proto::compute_control_server::ComputeControlServer;
use blueshift_storage::NodeStore;
use datafusion::error::DataFusionError;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion_distributed::{DistributedExt, Worker, WorkerQueryContext};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::codec::BlueshiftCodec;
use crate::control::ComputeControlService;
use crate::flight::ComputeFlightService;
use crate::restore::Restorer;

/// Largest gRPC message accepted or sent: plan stages and Arrow batches can be large.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// The worker that runs plan stages with this node's storage (and the restore that may still be
/// bringing its files) in reach of `SliceScanExec`.
pub fn worker(store: Arc<NodeStore>, restorer: Arc<Restorer>) -> Worker {
    Worker::from_session_builder(move |ctx: WorkerQueryContext| {
        let store = Arc::clone(&store);
        let restorer = Arc::clone(&restorer);
        async move {
            let mut builder = ctx.builder.with_distributed_user_codec(BlueshiftCodec);
            let config = builder.config().get_or_insert_with(Default::default);
            config.set_extension(store);
            config.set_extension(restorer);
            let mut state = builder.build();
            state.register_udf(crate::shuffle::slice_route())?;
            state.register_udf(crate::to_char::to_char())?;
            Ok::<SessionState, DataFusionError>(state)
        }
    })
}

/// Serves a compute node on `listener` until `shutdown` resolves.
pub async fn serve(
    store: Arc<NodeStore>,
    restorer: Arc<Restorer>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let flight = FlightServiceServer::new(ComputeFlightService::new(Arc::clone(&store), Arc::clone(&restorer)))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let control = ComputeControlServer::new(ComputeControlService::new(Arc::clone(&store), Arc::clone(&restorer)));
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(worker(store, restorer).into_worker_server())
        .add_service(flight)
        .add_service(control)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
