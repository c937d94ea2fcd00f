//! Running a load: the chunks are shared out among the compute nodes, about the same bytes to
//! each, and every node reads its share from S3, parses it and writes the rows into the table's
//! slices itself ([`blueshift_compute::load::task`]), under the COPY's transaction. Only the
//! rows of a table with an IDENTITY column come back to the leader, which allocates the identity
//! values and writes them. Rejected rows are collected per chunk; once more than MAXERROR are
//! rejected, or a node fails, the load stops on every node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use blueshift_compute::load::reader::{Chunk, ChunkError};
use blueshift_compute::load::task::{self, ColumnFill, LoadEvent, LoadOutput, LoadTask, QuotesRelay, widen};
use blueshift_compute::load::{LoadSpec, Replacement, RowError, parse_chunk};
use blueshift_compute::s3::{S3Config, S3Credentials};
use blueshift_compute::writer::Routing;
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::relay::QuoteRelay;

use crate::catalog::TableDef;
use crate::catalog::provider::{Services, WriteLog, default_row, write_batches};
use crate::cluster::ComputeNode;
use crate::cluster::writer::{write_error, write_target};
use crate::error::{Error, Result, SqlState};
use crate::system::stv_load_state::LoadProgress;

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
    /// The load's counters (STV_LOAD_STATE): its rows and rejected rows are counted only there.
    pub progress: Arc<LoadProgress>,
}

/// The file, or byte range of a file, that rows came from, as the STL tables name it.
#[derive(Debug, Clone)]
pub struct Origin {
    pub filename: String,
    /// Whether the rows came from a byte range of the file.
    pub is_partial: bool,
    /// Where that range starts (0 for a whole file).
    pub start_offset: u64,
}

impl Origin {
    fn of(chunk: &Chunk) -> Origin {
        Origin {
            filename: chunk.url.to_string(),
            is_partial: chunk.range.is_some(),
            start_offset: chunk.start_offset(),
        }
    }

    /// COPY FROM STDIN's data, loaded as one file.
    fn stdin() -> Origin {
        Origin {
            filename: "stdin".into(),
            is_partial: false,
            start_offset: 0,
        }
    }
}

/// A rejected row, located in its file.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub origin: Origin,
    pub error: RowError,
}

/// A row loaded with invalid UTF-8 replaced, located in its file.
#[derive(Debug, Clone)]
pub struct Replaced {
    pub origin: Origin,
    pub replacement: Replacement,
}

/// A file, or byte range of one, that the load read to its end.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub origin: Origin,
    /// Records read: the rows loaded and the rows rejected.
    pub records: u64,
    pub rejected: u64,
}

#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub rows: u64,
    /// How many rows were rejected.
    pub skipped: u64,
    /// Rejected rows in file and line order (each chunk's first ones, when it rejected many).
    pub rejected: Vec<Rejected>,
    /// Rows loaded with invalid UTF-8 replaced (the first of each chunk), in file and line order.
    pub replaced: Vec<Replaced>,
    /// The chunks read, in file order.
    pub scanned: Vec<Scanned>,
}

/// What a chunk reported, with its index among the load's chunks; line numbers are the chunk's.
struct ChunkReport {
    index: usize,
    rows: u64,
    lines: u64,
    rejected_rows: u64,
    rejected: Vec<RowError>,
    replaced: Vec<Replacement>,
}

/// A load in progress, shared by its node workers.
struct Load<'a> {
    job: &'a LoadJob<'a>,
    chunks: &'a [Chunk],
    output: LoadOutput,
    /// One row of the table's DEFAULT values, for the columns the load leaves out.
    defaults: RecordBatch,
    writes: &'a WriteLog,
    parsed: Mutex<Vec<ChunkReport>>,
    /// Bytes of segment files the nodes stored (for loads the nodes write).
    bytes: AtomicU64,
    /// Set once the load must stop: every node's task is cut short.
    stop: watch::Sender<bool>,
    relay: Option<QuoteRelay>,
}

pub async fn run<'a>(job: &'a LoadJob<'a>, chunks: Vec<Chunk>, writes: &'a WriteLog) -> Result<LoadOutcome> {
    let cluster = &job.services.cluster;
    let defaults = default_row(&job.table, &job.positions)?;
    let output = if job.no_load {
        LoadOutput::Discard
    } else if job.table.columns.iter().any(|c| c.identity.is_some()) {
        LoadOutput::Reply
    } else {
        // Any node may write any slice; recorded first, so that an abort reaches them all.
        writes.nodes.lock().unwrap().extend(cluster.nodes.iter().map(|n| n.index));
        LoadOutput::Write {
            target: write_target(cluster, &job.table, job.xid),
            fill: ColumnFill::new(job.positions.clone(), &defaults),
        }
    };
    let shares = shares(&chunks, cluster.nodes.len());
    let load = Load {
        relay: QuoteRelay::new(&chunks, &shares, &job.spec.format),
        job,
        chunks: &chunks,
        output,
        defaults,
        writes,
        parsed: Mutex::default(),
        bytes: AtomicU64::new(0),
        stop: watch::Sender::new(false),
    };
    let workers = shares
        .into_iter()
        .enumerate()
        .filter(|(_, share)| !share.is_empty())
        .map(|(node, share)| load.worker(node, share));
    let results = futures::future::join_all(workers).await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let rows = job.progress.rows();
    if matches!(load.output, LoadOutput::Write { .. }) {
        cluster.advance_even_cursor(job.table.oid, rows);
        writes.rows.fetch_add(rows, Ordering::SeqCst);
        writes.bytes.fetch_add(load.bytes.load(Ordering::SeqCst), Ordering::SeqCst);
    }
    let mut parsed = std::mem::take(&mut *load.parsed.lock().unwrap());
    parsed.sort_by_key(|report| report.index);
    let mut outcome = LoadOutcome {
        rows,
        skipped: job.progress.rejected(),
        ..LoadOutcome::default()
    };
    locate(&chunks, parsed, &mut outcome);
    Ok(outcome)
}

/// Each node's share of the chunks, in chunk order: the chunks, largest first, each to the node
/// with the fewest bytes so far. The byte ranges of a large file, all of one size, are dealt
/// round-robin, so each node's ranges are spread over the whole file.
fn shares(chunks: &[Chunk], nodes: usize) -> Vec<Vec<usize>> {
    fn file(chunk: &Chunk) -> (&str, &str) {
        (&chunk.url.bucket, &chunk.url.key)
    }
    let mut per_file: HashMap<(&str, &str), u64> = HashMap::new();
    for chunk in chunks {
        *per_file.entry(file(chunk)).or_default() += 1;
    }
    // A byte range weighs its length; a file's row groups share its size.
    let weight = |chunk: &Chunk| chunk.range.as_ref().map_or(chunk.size / per_file[&file(chunk)], |r| r.end - r.start);
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.sort_by_key(|index| (std::cmp::Reverse(weight(&chunks[*index])), *index));
    let mut shares: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); nodes.max(1)];
    for index in order {
        let lightest = shares.iter_mut().min_by_key(|(assigned, _)| *assigned).expect("at least one node");
        lightest.0 += weight(&chunks[index]);
        lightest.1.push(index);
    }
    shares
        .into_iter()
        .map(|(_, mut share)| {
            share.sort_unstable();
            share
        })
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
    let rejected = parsed.errors.into_iter().map(|error| Rejected { origin: Origin::stdin(), error }).collect();
    let replaced = parsed
        .replacements
        .into_iter()
        .map(|replacement| Replaced {
            origin: Origin::stdin(),
            replacement,
        })
        .collect();
    job.progress.stdin_done(parsed.rows, parsed.rejected);
    let scanned = Scanned {
        origin: Origin::stdin(),
        records: parsed.rows + parsed.rejected,
        rejected: parsed.rejected,
    };
    if parsed.rejected <= max_errors && !job.no_load {
        let defaults = default_row(&job.table, &job.positions)?;
        let batches: Vec<Result<RecordBatch>> =
            parsed.batches.iter().map(|batch| Ok(widen(batch, &job.positions, &defaults)?)).collect();
        let batches = futures::stream::iter(batches).boxed();
        write_batches(job.services, &job.table, job.xid, batches, writes, job.explicit_ids).await?;
    }
    Ok(LoadOutcome {
        rows: parsed.rows,
        skipped: parsed.rejected,
        rejected,
        replaced,
        scanned: vec![scanned],
    })
}

/// Adds the chunks' reports to `outcome`, in chunk order, turning chunk-relative line numbers
/// into file line numbers: a chunk's lines follow those of the file's earlier chunks.
fn locate(chunks: &[Chunk], parsed: Vec<ChunkReport>, outcome: &mut LoadOutcome) {
    let mut lines_before = 0;
    let mut previous: Option<&Chunk> = None;
    for report in parsed {
        let chunk = &chunks[report.index];
        if previous.is_none_or(|p| p.url != chunk.url) {
            lines_before = 0;
        }
        let origin = Origin::of(chunk);
        for mut error in report.rejected {
            error.line += lines_before;
            outcome.rejected.push(Rejected {
                origin: origin.clone(),
                error,
            });
        }
        for mut replacement in report.replaced {
            replacement.line += lines_before;
            outcome.replaced.push(Replaced {
                origin: origin.clone(),
                replacement,
            });
        }
        outcome.scanned.push(Scanned {
            origin,
            records: report.rows + report.rejected_rows,
            rejected: report.rejected_rows,
        });
        lines_before += report.lines;
        previous = Some(chunk);
    }
}

impl Load<'_> {
    /// Has the node at `position` in the cluster load `share`: the rows come back only for
    /// [`LoadOutput::Reply`], and then go through the leader's table writer.
    async fn worker(&self, position: usize, share: Vec<usize>) -> Result<()> {
        let job = self.job;
        let node = &job.services.cluster.nodes[position];
        let (sender, receiver) = mpsc::channel::<Result<RecordBatch>>(2);
        let consume = async {
            let mut batches = ReceiverStream::new(receiver);
            if matches!(self.output, LoadOutput::Reply) {
                write_batches(job.services, &job.table, job.xid, batches.boxed(), self.writes, job.explicit_ids)
                    .await
                    .map(|_| ())
            } else {
                // Only a failure comes this way.
                while let Some(batch) = batches.next().await {
                    batch?;
                }
                Ok(())
            }
        };
        let task = LoadTask {
            spec: (*job.spec).clone(),
            chunks: share.iter().map(|i| self.chunks[*i].clone()).collect(),
            s3: job.s3.clone(),
            credentials: job.credentials.clone(),
            max_errors: job.max_errors,
            parallelism: node.slice_count as usize,
            output: self.output.clone(),
            board: self.relay.as_ref().map(|relay| relay.board),
        };
        let ((), result) = tokio::join!(self.produce(position, &share, task, sender), consume);
        if result.is_err() {
            self.stop.send_replace(true);
        }
        result
    }

    /// Runs `task` on the node at `position`, collecting what each chunk rejected and, for a task
    /// whose rows come back, feeding them to the leader's writer; stops once the load must stop
    /// (dropping the reply stream cancels the rest of the node's task).
    async fn produce(&self, position: usize, share: &[usize], task: LoadTask, sender: mpsc::Sender<Result<RecordBatch>>) {
        let job = self.job;
        let node = &job.services.cluster.nodes[position];
        let mut events = match task::run_on(&node.address, &task).await {
            Ok(events) => events,
            Err(e) => return self.fail(&sender, chunk_error(job, e, node)).await,
        };
        let queued = self.relay.as_ref().map(|relay| relay.started(position)).unwrap_or_default();
        if let Err(e) = self.post_quotes(queued.into_iter().map(|relay| (position, relay))).await {
            return self.fail(&sender, e).await;
        }
        let copies = match &task.output {
            LoadOutput::Write { target, .. } if target.routing == Routing::All => target.slices.len() as u64,
            _ => 1,
        };
        let mut parsed_rows = 0;
        let mut stopped = self.stop.subscribe();
        loop {
            let event = tokio::select! {
                event = events.next() => event,
                _ = stopped.wait_for(|stop| *stop) => return,
            };
            let Some(event) = event else {
                break;
            };
            match event {
                Ok(LoadEvent::Rows(batch)) => {
                    let batch = widen(&batch, &job.positions, &self.defaults).map_err(Error::from);
                    if sender.send(batch).await.is_err() {
                        return;
                    }
                }
                Ok(LoadEvent::ChunkDone {
                    chunk,
                    rows,
                    lines,
                    rejected_rows,
                    rejected,
                    replaced,
                }) => {
                    let index = share[chunk];
                    parsed_rows += rows;
                    self.parsed.lock().unwrap().push(ChunkReport {
                        index,
                        rows,
                        lines,
                        rejected_rows,
                        rejected,
                        replaced,
                    });
                    job.progress.chunk_done(&self.chunks[index], rows, rejected_rows);
                    if job.progress.rejected() > job.max_errors {
                        self.stop.send_replace(true);
                        return;
                    }
                }
                Ok(LoadEvent::Quotes(counted)) => {
                    let forward = self.relay.as_ref().map(|relay| relay.forward(position, counted)).unwrap_or_default();
                    if let Err(e) = self.post_quotes(forward).await {
                        return self.fail(&sender, e).await;
                    }
                }
                Ok(LoadEvent::Written { slice_rows, bytes }) => {
                    let stored: u64 = slice_rows.values().sum();
                    if stored != parsed_rows * copies {
                        let e = node.error(format!("stored {stored} rows of the {} it loaded", parsed_rows * copies));
                        return self.fail(&sender, e).await;
                    }
                    self.bytes.fetch_add(bytes, Ordering::SeqCst);
                }
                Err(e) => return self.fail(&sender, chunk_error(job, e, node)).await,
            }
        }
    }

    /// Posts quote counts on the boards of the nodes they are for.
    async fn post_quotes(&self, posts: impl IntoIterator<Item = (usize, QuotesRelay)>) -> Result<()> {
        for (position, relay) in posts {
            let node = &self.job.services.cluster.nodes[position];
            task::relay_quotes(&node.address, &relay).await.map_err(|e| chunk_error(self.job, e, node))?;
        }
        Ok(())
    }

    /// Stops the load with `e`: the other nodes' tasks are cut short, and their workers end
    /// without an error of their own.
    async fn fail(&self, sender: &mpsc::Sender<Result<RecordBatch>>, e: Error) {
        self.stop.send_replace(true);
        let _ = sender.send(Err(e)).await;
    }
}

/// The error of a chunk that `node` could not load.
fn chunk_error(job: &LoadJob<'_>, e: ChunkError, node: &ComputeNode) -> Error {
    match e {
        ChunkError::Write(e) => write_error(&job.services.cluster, e),
        ChunkError::S3(e) => e.into(),
        ChunkError::Data(message) => Error::new(SqlState::DataException, message),
        ChunkError::Node(cause) => Error::new(
            SqlState::ConnectionFailure,
            format!("compute node {} ({}) failed during the load: {cause}", node.index, node.address),
        ),
    }
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
    fn nodes_get_about_the_same_bytes_in_chunk_order() {
        // A 100-byte file cut in two ranges, two whole files of 100 bytes, and a file of four
        // row groups sharing its 100 bytes.
        let mut chunks = vec![chunk("a", Some(0..50)), chunk("a", Some(50..100)), chunk("c", None), chunk("d", None)];
        for group in 0..4 {
            chunks.push(Chunk {
                row_groups: Some(vec![group]),
                ..chunk("p", None)
            });
        }
        // 100, 100, 50, 50 and 4 × 25 bytes, each to the lighter node: the file's two ranges
        // go to different nodes.
        assert_eq!(shares(&chunks, 2), vec![vec![0, 2, 4, 6], vec![1, 3, 5, 7]]);
        assert_eq!(shares(&chunks, 1), vec![(0..8).collect::<Vec<_>>()]);
    }
}
