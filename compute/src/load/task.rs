//! Loading on the compute nodes: the leader hands a node a [`LoadTask`] (chunks of files, their
//! format, where S3 is and with which credentials) as the Flight action [`LOAD_ACTION`]; the node
//! fetches and parses the chunks itself, several at a time, and streams back each chunk's
//! rejected rows, in task order. So the bytes of a load travel from S3 to the nodes only, and
//! parsing, the CPU-heavy half of COPY, runs on every node at once.
//!
//! The node writes the parsed rows itself ([`LoadOutput::Write`]): each row goes straight to its
//! slice, on this node without the network, so a row crosses the network at most once and the
//! leader never handles rows at all. Only a table with an IDENTITY column has its rows sent back
//! to the leader ([`LoadOutput::Reply`]), which allocates the identity values.
//!
//! The byte ranges of a CSV file learn where their records start from the quote counts of the
//! ranges before them ([`super::quotes`]); when other nodes read ranges of the same files, the
//! node sends its counts to the leader as [`LoadEvent::Quotes`] the moment it has them, and the
//! leader passes them on with the [`LOAD_QUOTES_ACTION`] action.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array, new_null_array};
use arrow::buffer::Buffer;
use arrow::compute::take;
use arrow::error::ArrowError;
use arrow::ipc::reader::StreamDecoder;
use arrow::ipc::writer::StreamWriter;
use arrow_flight::{Action, FlightClient};
use blueshift_proto::load_reply::Reply;
use blueshift_proto::{LoadReply, LoadWritten};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use prost::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::quotes::{OpenBoard, QuoteBoards, QuoteCounts, RangeQuotes};
use super::reader::{Chunk, ChunkError, read_chunk};
use super::{LoadSpec, ParsedChunk, Replacement, RowError};
use crate::channels;
use crate::segment_buffer::LocalSlices;
use crate::s3::{S3Config, S3Credentials, Stores};
use crate::writer::{SliceWriter, WriteError, WriteTarget};

/// The Flight action type of a load task.
pub const LOAD_ACTION: &str = "load";
/// The Flight action type that posts another node's quote count ([`QuotesRelay`]) on a running
/// load's board.
pub const LOAD_QUOTES_ACTION: &str = "load_quotes";

/// The body of a [`LOAD_QUOTES_ACTION`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuotesRelay {
    pub board: u64,
    pub counted: RangeQuotes,
}

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
    pub output: LoadOutput,
    /// The quote-count board this task shares with the tasks of other nodes that read ranges of
    /// the same CSV files (`None`: it shares none).
    pub board: Option<u64>,
}

/// What the node does with the rows it parses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum LoadOutput {
    /// Sends them to the leader, which writes them: only the leader allocates IDENTITY values.
    Reply,
    /// Checks and drops them (NOLOAD).
    Discard,
    /// Writes them into the table itself, each row straight to its slice.
    Write { target: WriteTarget, fill: ColumnFill },
}

/// How parsed rows become rows of the table: each table column is filled by a parsed column, or
/// else by its DEFAULT (or NULL).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnFill {
    /// For each table column, the parsed column holding it.
    pub positions: Vec<Option<usize>>,
    /// One row of the table's columns holding each column's DEFAULT, as an Arrow IPC stream.
    defaults: Vec<u8>,
}

impl ColumnFill {
    pub fn new(positions: Vec<Option<usize>>, defaults: &RecordBatch) -> ColumnFill {
        ColumnFill {
            positions,
            defaults: encode(defaults),
        }
    }

    /// The one row of defaults.
    pub fn defaults(&self) -> Result<RecordBatch, ArrowError> {
        let mut buffer = Buffer::from(self.defaults.clone());
        StreamDecoder::new()
            .decode(&mut buffer)?
            .ok_or_else(|| ArrowError::IpcError("no row of defaults".into()))
    }
}

/// `batch`, of the parsed columns, as a batch of the table's columns (those of `defaults`): each
/// column a parsed column or its default repeated.
pub fn widen(batch: &RecordBatch, positions: &[Option<usize>], defaults: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let rows = batch.num_rows();
    let columns = positions
        .iter()
        .zip(defaults.columns())
        .map(|(position, default)| match position {
            Some(i) => Ok(Arc::clone(batch.column(*i))),
            None if default.is_null(0) => Ok(new_null_array(default.data_type(), rows)),
            None => take(default, &UInt32Array::from(vec![0; rows]), None),
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new(defaults.schema(), columns)
}

/// What a node sends back while it works on a task.
#[derive(Debug)]
pub enum LoadEvent {
    Rows(RecordBatch),
    /// Chunk `chunk` of the task is done; its rows were sent (or written) before this.
    ChunkDone {
        chunk: usize,
        rows: u64,
        lines: u64,
        /// How many rows the chunk rejected, and the first of them.
        rejected_rows: u64,
        rejected: Vec<RowError>,
        replaced: Vec<Replacement>,
    },
    /// The node wrote the task's rows and they are stored: rows per slice, and segment bytes.
    Written { slice_rows: HashMap<u32, u64>, bytes: u64 },
    /// The quotes in one of the task's CSV ranges, for the nodes reading later ranges of its file.
    Quotes(RangeQuotes),
}

type ParsedResult = Result<(usize, ParsedChunk), ChunkError>;

/// The node's side: the replies to `task`, ending early at the first chunk that cannot be read
/// or rows that cannot be written. `slices` are the node's own, which it writes without the network;
/// a task sharing its quote counts opens its board in `boards` before this returns, so the
/// leader's first relayed count finds it.
pub fn serve(task: LoadTask, slices: Arc<LocalSlices>, boards: &Arc<QuoteBoards>) -> BoxStream<'static, LoadReply> {
    let parallelism = task.parallelism.max(1);
    let (board, counts, outbox) = match task.board {
        Some(id) => {
            let (board, outbox) = boards.open(id);
            let counts = Arc::clone(&board.counts);
            (Some(board), counts, Some(outbox))
        }
        None => (None, Arc::default(), None),
    };
    let stores = Stores::new(task.s3, task.credentials);
    let parsed = parse_in_background(task.spec, task.chunks, stores, counts, task.max_errors, parallelism);
    let mut serving = Serving {
        parsed,
        output: Output::Reply,
        pending: VecDeque::new(),
        finished: false,
        _board: board,
    };
    serving.output = match task.output {
        LoadOutput::Reply => Output::Reply,
        LoadOutput::Discard => Output::Discard,
        LoadOutput::Write { target, fill } => match fill.defaults() {
            Ok(defaults) => Output::Write {
                writer: SliceWriter::new(target, Some(slices)),
                positions: fill.positions,
                defaults,
            },
            Err(e) => {
                serving.fail(ChunkError::Node(format!("malformed load task: {e}")));
                Output::Discard
            }
        },
    };
    let replies = futures::stream::unfold(serving, |mut serving| async move {
        loop {
            if let Some(reply) = serving.pending.pop_front() {
                return Some((LoadReply { reply: Some(reply) }, serving));
            }
            if serving.finished {
                return None;
            }
            serving.step().await;
        }
    });
    let Some(outbox) = outbox else {
        return replies.boxed();
    };
    // Counts go out first: a range posts its count before its chunk can be done, so by the
    // task's last reply every count has gone out, and the stream ends there rather than when the
    // outbox closes, which is only when the board, held by the replies, closes.
    let counts = tokio_stream::wrappers::UnboundedReceiverStream::new(outbox).map(|counted| {
        Some(LoadReply {
            reply: Some(Reply::Quotes(blueshift_proto::LoadQuotes {
                url: counted.url,
                start: counted.range.start,
                end: counted.range.end,
                quotes: counted.quotes,
            })),
        })
    });
    let replies = replies.map(Some).chain(futures::stream::iter([None]));
    futures::stream::select_with_strategy(counts, replies, |_: &mut ()| futures::stream::PollNext::Left)
        .take_while(|reply| std::future::ready(reply.is_some()))
        .filter_map(std::future::ready)
        .boxed()
}

/// Reads and parses `chunks`, `parallelism` at a time, each on its own task; their results in
/// chunk order, ending after the first chunk that cannot be read.
fn parse_in_background(
    spec: LoadSpec,
    chunks: Vec<Chunk>,
    stores: Stores,
    quotes: Arc<QuoteCounts>,
    max_errors: u64,
    parallelism: usize,
) -> mpsc::Receiver<ParsedResult> {
    let (sender, receiver) = mpsc::channel(1);
    let (spec, stores) = (Arc::new(spec), Arc::new(stores));
    tokio::spawn(async move {
        let reads = futures::stream::iter(chunks.into_iter().enumerate()).map(move |(index, chunk)| {
            let (spec, stores, quotes) = (Arc::clone(&spec), Arc::clone(&stores), Arc::clone(&quotes));
            tokio::spawn(async move {
                let store = stores.get(&chunk.url.bucket)?;
                let parsed = read_chunk(&store, &stores.config, &spec, &chunk, max_errors, &quotes).await?;
                Ok::<_, ChunkError>((index, parsed))
            })
        });
        let mut reads = reads.buffered(parallelism);
        while let Some(joined) = reads.next().await {
            let result = joined.unwrap_or_else(|e| Err(ChunkError::Node(format!("parsing failed: {e}"))));
            let failed = result.is_err();
            if sender.send(result).await.is_err() || failed {
                break;
            }
        }
    });
    receiver
}

enum Output {
    Reply,
    Discard,
    Write {
        writer: SliceWriter,
        positions: Vec<Option<usize>>,
        defaults: RecordBatch,
    },
}

/// A task being served: parsed chunks come in, replies go out.
struct Serving {
    parsed: mpsc::Receiver<ParsedResult>,
    output: Output,
    pending: VecDeque<Reply>,
    finished: bool,
    /// The task's shared quote-count board, open while the task runs.
    _board: Option<OpenBoard>,
}

impl Serving {
    async fn step(&mut self) {
        let (index, parsed) = match self.parsed.recv().await {
            Some(Ok(parsed)) => parsed,
            Some(Err(e)) => return self.fail(e),
            None => return self.finish().await,
        };
        match &mut self.output {
            Output::Reply => {
                let pieces = parsed.batches.iter().flat_map(pieces);
                self.pending.extend(pieces.map(|piece| Reply::Batch(encode(&piece).into())));
            }
            Output::Discard => {}
            Output::Write {
                writer,
                positions,
                defaults,
            } => {
                for batch in &parsed.batches {
                    let written = match widen(batch, positions, defaults) {
                        Ok(batch) => writer.write(batch).await,
                        Err(e) => Err(WriteError::of_rows(e)),
                    };
                    if let Err(e) = written {
                        return self.fail(e.into());
                    }
                }
            }
        }
        self.pending.push_back(Reply::Done(blueshift_proto::LoadChunkDone {
            chunk: index as u32,
            rows: parsed.rows,
            lines: parsed.lines,
            rejected_json: serde_json::to_string(&parsed.errors).expect("row errors serialize"),
            replaced_json: serde_json::to_string(&parsed.replacements).expect("replacements serialize"),
            rejected_rows: parsed.rejected,
        }));
    }

    /// Every chunk is done: a writing task waits until its rows are stored.
    async fn finish(&mut self) {
        self.finished = true;
        if let Output::Write { writer, .. } = std::mem::replace(&mut self.output, Output::Discard) {
            match writer.finish().await {
                Ok(written) => self.pending.push_back(Reply::Written(LoadWritten {
                    slice_rows: written.iter().map(|(slice, summary)| (*slice, summary.rows)).collect(),
                    bytes: written.values().map(|summary| summary.bytes).sum(),
                })),
                Err(e) => self.fail(e.into()),
            }
        }
    }

    /// Ends the task with `e`; dropping a writer cuts its streams, so nothing more is stored.
    fn fail(&mut self, e: ChunkError) {
        self.output = Output::Discard;
        self.finished = true;
        self.pending.push_back(Reply::Failed(serde_json::to_string(&e).expect("errors serialize")));
    }
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
    let replies = action(address, LOAD_ACTION, task).await?;
    Ok(replies.and_then(|body| std::future::ready(decode(body))).boxed())
}

/// The leader's side: posts another node's count on the board of the load task running on the
/// node at `address`.
pub async fn relay_quotes(address: &str, relay: &QuotesRelay) -> Result<(), ChunkError> {
    action(address, LOAD_QUOTES_ACTION, relay).await?.try_collect::<Vec<_>>().await?;
    Ok(())
}

/// The reply bodies of the Flight action `kind`, whose body is the JSON of `body`, on the node
/// at `address`.
async fn action(address: &str, kind: &str, body: &impl Serialize) -> Result<BoxStream<'static, Result<Bytes, ChunkError>>, ChunkError> {
    let node_error = |e: &dyn std::fmt::Display| ChunkError::Node(e.to_string());
    let channel = channels::channel(address).map_err(|e| node_error(&e))?;
    let body = serde_json::to_vec(body).expect("load actions serialize");
    let replies = FlightClient::new(channel)
        .do_action(Action::new(kind, Bytes::from(body)))
        .await
        .map_err(|e| node_error(&e))?;
    Ok(replies.map_err(|e| ChunkError::Node(e.to_string())).boxed())
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
            rejected_rows: done.rejected_rows,
            rejected: serde_json::from_str(&done.rejected_json).map_err(|e| malformed(&e))?,
            replaced: serde_json::from_str(&done.replaced_json).map_err(|e| malformed(&e))?,
        }),
        Some(Reply::Written(written)) => Ok(LoadEvent::Written {
            slice_rows: written.slice_rows,
            bytes: written.bytes,
        }),
        Some(Reply::Quotes(quotes)) => Ok(LoadEvent::Quotes(RangeQuotes {
            url: quotes.url,
            range: quotes.start..quotes.end,
            quotes: quotes.quotes,
        })),
        Some(Reply::Failed(json)) => Err(serde_json::from_str(&json).map_err(|e| malformed(&e))?),
        None => Err(malformed(&"an empty reply")),
    }
}
