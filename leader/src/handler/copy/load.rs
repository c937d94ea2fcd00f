//! Running a load: workers (one per slice) take chunks from a shared queue, read and parse them
//! on blocking threads, and stream the rows through their own table writer, which routes each
//! row to its slice by the table's distribution; the nodes sort and store them under the COPY's
//! transaction. Rejected rows are collected per chunk; once more than MAXERROR are rejected the
//! workers stop taking chunks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, RecordBatch, new_null_array};
use blueshift_compute::load::reader::{Chunk, ChunkError, QuoteCounts, read_chunk};
use blueshift_compute::load::{LoadSpec, ParsedChunk, RowError, parse_chunk};
use blueshift_compute::s3::Stores;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::system::stv_load_state::LoadProgress;
use crate::catalog::TableDef;
use crate::catalog::provider::{Services, WriteLog, arrow_schema, default_values, write_batches};
use crate::error::{Error, Result, SqlState};

/// What a load needs besides its chunks.
pub struct LoadJob<'a> {
    pub services: &'a Services,
    pub table: Arc<TableDef>,
    pub xid: u64,
    pub spec: Arc<LoadSpec>,
    pub stores: Arc<Stores>,
    /// For each table column, the parsed column that fills it (`None`: default or NULL).
    pub positions: Vec<Option<usize>>,
    pub max_errors: u64,
    pub no_load: bool,
    pub explicit_ids: bool,
    pub progress: Arc<LoadProgress>,
}

/// A rejected row, located in its file.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub filename: String,
    pub start_offset: u64,
    pub error: RowError,
}

#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub rows: u64,
    /// Rejected rows in file and line order.
    pub rejected: Vec<Rejected>,
}

struct Shared {
    queue: Mutex<VecDeque<(usize, Chunk)>>,
    quotes: QuoteCounts,
    parsed: Mutex<Vec<(usize, u64, Vec<RowError>)>>,
    rejected: AtomicU64,
    rows: AtomicU64,
    stop: AtomicBool,
}

pub async fn run(job: &LoadJob<'_>, chunks: Vec<Chunk>, writes: &WriteLog) -> Result<LoadOutcome> {
    let workers = chunks.len().min(job.services.cluster.slices().len().max(1));
    let shared = Arc::new(Shared {
        queue: Mutex::new(chunks.iter().cloned().enumerate().collect()),
        quotes: QuoteCounts::default(),
        parsed: Mutex::default(),
        rejected: AtomicU64::new(0),
        rows: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let mut workers_done = Vec::with_capacity(workers);
    for _ in 0..workers {
        workers_done.push(worker(job, Arc::clone(&shared), writes));
    }
    let results = futures::future::join_all(workers_done).await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let mut parsed = std::mem::take(&mut *shared.parsed.lock().unwrap());
    parsed.sort_by_key(|(index, _, _)| *index);
    Ok(LoadOutcome {
        rows: shared.rows.load(Ordering::SeqCst),
        rejected: locate(&chunks, parsed),
    })
}

/// Loads data sent by the client (COPY FROM STDIN) as one file named `stdin`.
pub async fn run_in_memory(job: &LoadJob<'_>, data: Vec<u8>, writes: &WriteLog) -> Result<LoadOutcome> {
    let spec = Arc::clone(&job.spec);
    let max_errors = job.max_errors;
    let parsed = tokio::task::spawn_blocking(move || parse_chunk(&spec, true, &data, max_errors))
        .await
        .map_err(|e| Error::internal(e.to_string()))?
        .map_err(|e| Error::new(SqlState::DataException, e))?;
    let rejected: Vec<Rejected> = parsed
        .errors
        .into_iter()
        .map(|error| Rejected {
            filename: "stdin".into(),
            start_offset: 0,
            error,
        })
        .collect();
    if rejected.len() as u64 <= max_errors && !job.no_load {
        let batches: Vec<Result<RecordBatch>> = parsed.batches.into_iter().map(|batch| widen(job, batch)).collect();
        let batches = futures::stream::iter(batches).boxed();
        write_batches(job.services, &job.table, job.xid, batches, writes, job.explicit_ids).await?;
    }
    Ok(LoadOutcome {
        rows: parsed.rows,
        rejected,
    })
}

/// Turns chunk-relative line numbers into file line numbers: a chunk's lines follow those of the
/// file's earlier chunks.
fn locate(chunks: &[Chunk], parsed: Vec<(usize, u64, Vec<RowError>)>) -> Vec<Rejected> {
    let mut rejected = Vec::new();
    let mut lines_before = 0;
    let mut previous: Option<&Chunk> = None;
    for (index, lines, errors) in parsed {
        let chunk = &chunks[index];
        if previous.is_none_or(|p| p.url != chunk.url) {
            lines_before = 0;
        }
        for mut error in errors {
            error.line += lines_before;
            rejected.push(Rejected {
                filename: chunk.url.to_string(),
                start_offset: chunk.start_offset(),
                error,
            });
        }
        lines_before += lines;
        previous = Some(chunk);
    }
    rejected
}

async fn worker(job: &LoadJob<'_>, shared: Arc<Shared>, writes: &WriteLog) -> Result<()> {
    let (sender, receiver) = mpsc::channel::<Result<RecordBatch>>(2);
    let consume = async {
        let mut batches = ReceiverStream::new(receiver);
        if job.no_load {
            while let Some(batch) = batches.next().await {
                batch?;
            }
            Ok(())
        } else {
            write_batches(job.services, &job.table, job.xid, batches.boxed(), writes, job.explicit_ids)
                .await
                .map(|_| ())
        }
    };
    let ((), result) = tokio::join!(produce(job, &shared, sender), consume);
    if result.is_err() {
        shared.stop.store(true, Ordering::SeqCst);
    }
    result
}

/// Feeds the worker's writer with the rows of the chunks it takes, until the queue is empty, the
/// load must stop, or the writer has gone.
async fn produce(job: &LoadJob<'_>, shared: &Shared, sender: mpsc::Sender<Result<RecordBatch>>) {
    while let Some(next) = next_chunk(job, shared).await {
        let batches = match next {
            Ok(batches) => batches.into_iter().map(|batch| widen(job, batch)).collect(),
            Err(e) => vec![Err(e)],
        };
        for batch in batches {
            if sender.send(batch).await.is_err() {
                return;
            }
        }
    }
}

/// Reads chunks until one yields rows; `None` when the queue is empty or the load must stop.
async fn next_chunk(job: &LoadJob<'_>, shared: &Shared) -> Option<Result<Vec<RecordBatch>>> {
    loop {
        if shared.stop.load(Ordering::SeqCst) || shared.rejected.load(Ordering::SeqCst) > job.max_errors {
            return None;
        }
        let (index, chunk) = shared.queue.lock().unwrap().pop_front()?;
        let parsed = match job.stores.get(&chunk.url.bucket) {
            Ok(store) => {
                read_chunk(&store, &job.stores.config, &job.spec, &chunk, job.max_errors, &shared.quotes).await
            },
            Err(e) => Err(ChunkError::S3(e)),
        };
        let ParsedChunk { batches, rows, errors, lines } = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                shared.stop.store(true, Ordering::SeqCst);
                return Some(Err(chunk_error(e)));
            }
        };
        shared.rejected.fetch_add(errors.len() as u64, Ordering::SeqCst);
        shared.rows.fetch_add(rows, Ordering::SeqCst);
        shared.parsed.lock().unwrap().push((index, lines, errors));
        job.progress.chunk_done(&chunk, rows);
        if !batches.is_empty() {
            return Some(Ok(batches));
        }
    }
}

fn chunk_error(e: ChunkError) -> Error {
    match e {
        ChunkError::S3(e) => e.into(),
        ChunkError::Data(message) => Error::new(SqlState::DataException, message),
    }
}

/// A batch of the load's columns as a batch of all the table's columns: the columns a column
/// list leaves out get their DEFAULT, or NULL (identity columns are filled by the writer).
fn widen(job: &LoadJob<'_>, batch: RecordBatch) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let columns = job
        .table
        .columns
        .iter()
        .zip(&job.positions)
        .map(|(column, position)| match position {
            Some(i) => Ok(Arc::clone(batch.column(*i))),
            None if column.default.is_some() && column.identity.is_none() => default_values(column, rows),
            None => Ok(new_null_array(&column.sql_type.arrow_type(), rows)),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(arrow_schema(&job.table), columns)?)
}
