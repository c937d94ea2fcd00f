//! Running a load: workers (one per slice) take tasks from a shared queue and hand each to their
//! slice's compute node, which reads the task's chunks from S3 and parses them
//! ([`blueshift_compute::load::task`]); each worker streams the parsed rows through its own table
//! writer, which routes each row to its slice by the table's distribution, and the nodes sort and
//! store them under the COPY's transaction. Rejected rows are collected per chunk; once more than
//! MAXERROR are rejected the workers stop taking tasks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, RecordBatch, new_null_array};
use blueshift_compute::load::reader::{Chunk, ChunkError};
use blueshift_compute::load::task::{self, LoadEvent, LoadTask};
use blueshift_compute::load::{Format, LoadSpec, RowError, parse_chunk};
use blueshift_compute::s3::{S3Config, S3Credentials};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::system::stv_load_state::LoadProgress;
use crate::catalog::TableDef;
use crate::cluster::ComputeNode;
use crate::catalog::provider::{Services, WriteLog, arrow_schema, default_values, write_batches};
use crate::error::{Error, Result, SqlState};

/// What a load needs besides its chunks.
pub struct LoadJob<'a> {
    pub services: &'a Services,
    pub table: Arc<TableDef>,
    pub xid: u64,
    pub spec: Arc<LoadSpec>,
    pub s3: S3Config,
    pub credentials: S3Credentials,
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
    /// Tasks, as indexes into the load's chunks.
    queue: Mutex<VecDeque<Vec<usize>>>,
    parsed: Mutex<Vec<(usize, u64, Vec<RowError>)>>,
    rejected: AtomicU64,
    rows: AtomicU64,
    stop: AtomicBool,
}

pub async fn run(job: &LoadJob<'_>, chunks: Vec<Chunk>, writes: &WriteLog) -> Result<LoadOutcome> {
    let tasks = tasks(&chunks, &job.spec.format);
    let slices = worker_slices(job);
    let shared = Arc::new(Shared {
        queue: Mutex::new(tasks),
        parsed: Mutex::default(),
        rejected: AtomicU64::new(0),
        rows: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let workers = slices
        .iter()
        .take(shared.queue.lock().unwrap().len())
        .map(|slice| worker(job, Arc::clone(&shared), &chunks, *slice, writes));
    let results = futures::future::join_all(workers).await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let mut parsed = std::mem::take(&mut *shared.parsed.lock().unwrap());
    parsed.sort_by_key(|(index, _, _)| *index);
    Ok(LoadOutcome {
        rows: shared.rows.load(Ordering::SeqCst),
        rejected: locate(&chunks, parsed),
    })
}

/// The chunks grouped into node tasks: the byte ranges of a CSV file go together, since each
/// learns where its first record starts from the quotes counted in the ranges before it; every
/// other chunk is a task of its own.
fn tasks(chunks: &[Chunk], format: &Format) -> VecDeque<Vec<usize>> {
    let csv = matches!(format, Format::Csv { .. });
    let mut tasks: VecDeque<Vec<usize>> = VecDeque::new();
    for (index, chunk) in chunks.iter().enumerate() {
        match tasks.back_mut() {
            Some(task) if csv && chunk.range.is_some() && chunks[task[0]].url == chunk.url => task.push(index),
            _ => tasks.push_back(vec![index]),
        }
    }
    tasks
}

/// One worker per slice, ordered so that a load with fewer tasks than slices still spreads over
/// every node: each node's first slice, then each node's second, and so on.
fn worker_slices(job: &LoadJob<'_>) -> Vec<u32> {
    let nodes = &job.services.cluster.nodes;
    let deepest = nodes.iter().map(|n| n.slice_count).max().unwrap_or(0);
    (0..deepest)
        .flat_map(|depth| nodes.iter().filter(move |n| depth < n.slice_count).map(move |n| n.first_slice + depth))
        .collect()
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

async fn worker(job: &LoadJob<'_>, shared: Arc<Shared>, chunks: &[Chunk], slice: u32, writes: &WriteLog) -> Result<()> {
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
    let ((), result) = tokio::join!(produce(job, &shared, chunks, slice, sender), consume);
    if result.is_err() {
        shared.stop.store(true, Ordering::SeqCst);
    }
    result
}

/// Feeds the worker's writer with the rows its slice's node parses, task after task, until the
/// queue is empty, the load must stop, or the writer has gone.
async fn produce(job: &LoadJob<'_>, shared: &Shared, chunks: &[Chunk], slice: u32, sender: mpsc::Sender<Result<RecordBatch>>) {
    let node = job.services.cluster.node_of_slice(slice);
    while let Some(indexes) = next_task(job, shared) {
        let task = LoadTask {
            spec: (*job.spec).clone(),
            chunks: indexes.iter().map(|i| chunks[*i].clone()).collect(),
            s3: job.s3.clone(),
            credentials: job.credentials.clone(),
            max_errors: job.max_errors,
            parallelism: node.slice_count as usize,
        };
        let mut events = match task::run_on(&node.address, &task).await {
            Ok(events) => events,
            Err(e) => return fail(shared, &sender, chunk_error(e, node)).await,
        };
        while let Some(event) = events.next().await {
            match event {
                Ok(LoadEvent::Rows(batch)) => {
                    if sender.send(widen(job, batch)).await.is_err() {
                        return;
                    }
                }
                Ok(LoadEvent::ChunkDone { chunk, rows, lines, rejected }) => {
                    let index = indexes[chunk];
                    shared.rejected.fetch_add(rejected.len() as u64, Ordering::SeqCst);
                    shared.rows.fetch_add(rows, Ordering::SeqCst);
                    shared.parsed.lock().unwrap().push((index, lines, rejected));
                    job.progress.chunk_done(&chunks[index], rows);
                    if must_stop(job, shared) {
                        // Dropping the reply stream cancels the rest of the node's task.
                        break;
                    }
                }
                Err(e) => return fail(shared, &sender, chunk_error(e, node)).await,
            }
        }
    }
}

async fn fail(shared: &Shared, sender: &mpsc::Sender<Result<RecordBatch>>, e: Error) {
    shared.stop.store(true, Ordering::SeqCst);
    let _ = sender.send(Err(e)).await;
}

fn must_stop(job: &LoadJob<'_>, shared: &Shared) -> bool {
    shared.stop.load(Ordering::SeqCst) || shared.rejected.load(Ordering::SeqCst) > job.max_errors
}

/// The next task's chunks; `None` when the queue is empty or the load must stop.
fn next_task(job: &LoadJob<'_>, shared: &Shared) -> Option<Vec<usize>> {
    if must_stop(job, shared) {
        return None;
    }
    shared.queue.lock().unwrap().pop_front()
}

/// The error of a chunk that `node` could not load.
fn chunk_error(e: ChunkError, node: &ComputeNode) -> Error {
    match e {
        ChunkError::S3(e) => e.into(),
        ChunkError::Data(message) => Error::new(SqlState::DataException, message),
        ChunkError::Node(cause) => Error::new(
            SqlState::ConnectionFailure,
            format!("compute node {} ({}) failed during the load: {cause}", node.index, node.address),
        ),
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

#[cfg(test)]
mod tests {
    use blueshift_compute::s3::S3Url;

    use super::*;

    fn chunk(key: &str, range: Option<std::ops::Range<u64>>) -> Chunk {
        Chunk {
            url: S3Url::parse(&format!("s3://bucket/{key}")).unwrap(),
            size: 100,
            range,
            compression: None,
            row_groups: None,
        }
    }

    #[test]
    fn a_csv_files_ranges_form_one_task() {
        let chunks = [
            chunk("a", Some(0..50)),
            chunk("a", Some(50..100)),
            chunk("b", Some(0..50)),
            chunk("b", Some(50..100)),
            chunk("c", None),
            chunk("d", None),
        ];
        let grouped = |format| tasks(&chunks, &format).into_iter().collect::<Vec<_>>();
        assert_eq!(grouped(Format::Csv { quote: b'"' }), vec![vec![0, 1], vec![2, 3], vec![4], vec![5]]);
        assert_eq!(grouped(Format::Delimited), (0..6).map(|i| vec![i]).collect::<Vec<_>>());
    }
}
