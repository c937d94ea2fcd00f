//! Loading on the compute nodes: the leader hands a node a [`LoadTask`] (chunks of files, their
//! format, where S3 is and with which credentials) as the Flight action [`LOAD_ACTION`]; the node
//! fetches and parses the chunks itself, several at a time, and streams back each chunk's parsed
//! rows and then its rejected rows, in task order. So the bytes of a load travel from S3 to the
//! nodes only, and parsing, the CPU-heavy half of COPY, runs on every node at once; the leader
//! routes the parsed rows to their slices.
//!
//! The byte ranges of one CSV file must share their quote counts ([`QuoteCounts`]), so the leader
//! puts all of them in one task.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::buffer::Buffer;
use arrow::ipc::reader::StreamDecoder;
use arrow::ipc::writer::StreamWriter;
use arrow_flight::{Action, FlightClient};
use blueshift_proto::LoadReply;
use blueshift_proto::load_reply::Reply;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use prost::Message;
use serde::{Deserialize, Serialize};

use super::reader::{Chunk, ChunkError, QuoteCounts, read_chunk};
use super::{LoadSpec, RowError};
use crate::channels;
use crate::s3::{S3Config, S3Credentials, Stores};

/// The Flight action type of a load task.
pub const LOAD_ACTION: &str = "load";

/// Chunks for one node to read and parse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadTask {
    pub spec: LoadSpec,
    pub chunks: Vec<Chunk>,
    pub s3: S3Config,
    pub credentials: S3Credentials,
    /// Rejected rows kept per chunk (past MAXERROR the load fails anyway).
    pub max_errors: u64,
    /// Chunks parsed at once.
    pub parallelism: usize,
}

/// What a node sends back while it works on a task.
#[derive(Debug)]
pub enum LoadEvent {
    Rows(RecordBatch),
    /// Chunk `chunk` of the task is done; its rows were sent before this.
    ChunkDone {
        chunk: usize,
        rows: u64,
        lines: u64,
        rejected: Vec<RowError>,
    },
}

/// The node's side: the replies to `task`, ending early at the first chunk that cannot be read.
pub fn serve(task: LoadTask) -> BoxStream<'static, LoadReply> {
    let LoadTask {
        spec,
        chunks,
        s3,
        credentials,
        max_errors,
        parallelism,
    } = task;
    let spec = Arc::new(spec);
    let stores = Arc::new(Stores::new(s3, credentials));
    let quotes = Arc::new(QuoteCounts::default());
    let parsed = futures::stream::iter(chunks.into_iter().enumerate())
        .map(move |(index, chunk)| {
            let (spec, stores, quotes) = (Arc::clone(&spec), Arc::clone(&stores), Arc::clone(&quotes));
            async move {
                let store = stores.get(&chunk.url.bucket)?;
                let parsed = read_chunk(&store, &stores.config, &spec, &chunk, max_errors, &quotes).await?;
                Ok::<_, ChunkError>((index, parsed))
            }
        })
        .buffered(parallelism.max(1));
    // Nothing after the first chunk that cannot be read: the load fails with it.
    let until_failure = parsed.scan(false, |failed, result| {
        let next = (!*failed).then_some(result);
        *failed = next.as_ref().is_some_and(Result::is_err);
        std::future::ready(next)
    });
    until_failure
        .flat_map(|result| {
            let replies = match result {
                Ok((index, parsed)) => {
                    let pieces = parsed.batches.iter().flat_map(pieces);
                    let mut replies: Vec<Reply> = pieces.map(|piece| Reply::Batch(encode(&piece).into())).collect();
                    replies.push(Reply::Done(blueshift_proto::LoadChunkDone {
                        chunk: index as u32,
                        rows: parsed.rows,
                        lines: parsed.lines,
                        rejected_json: serde_json::to_string(&parsed.errors).expect("row errors serialize"),
                    }));
                    replies
                }
                Err(e) => vec![Reply::Failed(serde_json::to_string(&e).expect("errors serialize"))],
            };
            futures::stream::iter(replies.into_iter().map(|reply| LoadReply { reply: Some(reply) }))
        })
        .boxed()
}

/// Bytes of parsed rows per reply, well under gRPC's default 4 MB message limit.
const REPLY_BYTES: usize = 1 << 20;

/// `batch` cut into pieces of about [`REPLY_BYTES`] each.
fn pieces(batch: &RecordBatch) -> Vec<RecordBatch> {
    let rows = batch.num_rows();
    let per_piece = (rows * REPLY_BYTES / batch.get_array_memory_size().max(1)).clamp(1, rows.max(1));
    (0..rows).step_by(per_piece).map(|at| batch.slice(at, per_piece.min(rows - at))).collect()
}

fn encode(batch: &RecordBatch) -> Vec<u8> {
    let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema()).expect("an IPC writer over memory");
    writer.write(batch).expect("writes to memory");
    writer.into_inner().expect("finishes in memory")
}

/// The leader's side: runs `task` on the node at `address` (`http://host:port`).
pub async fn run_on(address: &str, task: &LoadTask) -> Result<BoxStream<'static, Result<LoadEvent, ChunkError>>, ChunkError> {
    let node_error = |e: &dyn std::fmt::Display| ChunkError::Node(e.to_string());
    let channel = channels::channel(address).map_err(|e| node_error(&e))?;
    let body = serde_json::to_vec(task).expect("load tasks serialize");
    let replies = FlightClient::new(channel)
        .do_action(Action::new(LOAD_ACTION, Bytes::from(body)))
        .await
        .map_err(|e| node_error(&e))?;
    Ok(replies
        .map_err(|e| ChunkError::Node(e.to_string()))
        .and_then(|body| std::future::ready(decode(body)))
        .boxed())
}

/// A reply of the node; a batch's buffers stay in the reply's memory rather than being copied out.
fn decode(body: Bytes) -> Result<LoadEvent, ChunkError> {
    let malformed = |e: &dyn std::fmt::Display| ChunkError::Data(format!("malformed reply from a compute node: {e}"));
    let reply = LoadReply::decode(body).map_err(|e| malformed(&e))?;
    match reply.reply {
        Some(Reply::Batch(ipc)) => {
            let mut buffer = Buffer::from(ipc);
            let batch = StreamDecoder::new().decode(&mut buffer).map_err(|e| malformed(&e))?;
            Ok(LoadEvent::Rows(batch.ok_or_else(|| malformed(&"an empty batch"))?))
        }
        Some(Reply::Done(done)) => Ok(LoadEvent::ChunkDone {
            chunk: done.chunk as usize,
            rows: done.rows,
            lines: done.lines,
            rejected: serde_json::from_str(&done.rejected_json).map_err(|e| malformed(&e))?,
        }),
        Some(Reply::Failed(json)) => Err(serde_json::from_str(&json).map_err(|e| malformed(&e))?),
        None => Err(malformed(&"an empty reply")),
    }
}
