//! Routes rows to their slices and streams them to the compute nodes.
//!
//! DISTSTYLE KEY places a row by the stable hash of its distkey, EVEN deals rows round-robin
//! (continuing where the table's previous write stopped, so single-row inserts spread too), and
//! ALL sends every row to one slice of each node. Each target slice gets one Flight `DoPut`
//! stream; the node sorts and writes segments as the rows arrive.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow_flight::FlightClient;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::FlightDescriptor;
use blueshift_compute::channels;
use blueshift_proto::{WriteDescriptor, WriteResult};
use blueshift_storage::column_field_name;
use blueshift_storage::distribution::key_slices;
use futures::TryStreamExt;
use prost::Message;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use super::{Cluster, ComputeNode};
use crate::catalog::{DistStyle, TableDef};
use crate::error::{Error, Result};

struct SliceStream {
    sender: mpsc::Sender<Result<RecordBatch, FlightError>>,
    task: JoinHandle<Result<WriteResult>>,
    /// Rows sent, to check against what the node reports having stored.
    rows: u64,
}

/// Writes rows into one table on behalf of one transaction.
pub struct TableWriter {
    cluster: Arc<Cluster>,
    table: Arc<TableDef>,
    xid: u64,
    targets: Vec<u32>,
    key_column: Option<usize>,
    file_schema: SchemaRef,
    streams: HashMap<u32, SliceStream>,
    rows: u64,
}

/// What a finished write did.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    /// Rows written (each row once, even for DISTSTYLE ALL).
    pub rows: u64,
    pub nodes: BTreeSet<usize>,
    /// Bytes of segment files stored.
    pub bytes: u64,
}

impl TableWriter {
    pub fn new(cluster: Arc<Cluster>, table: Arc<TableDef>, xid: u64) -> TableWriter {
        let targets = if table.dist_style.is_all() {
            cluster.all_copy_slices()
        } else {
            cluster.slices()
        };
        let key_column = match table.dist_style {
            DistStyle::Key => table
                .dist_key
                .as_deref()
                .and_then(|k| table.column_index(k)),
            _ => None,
        };
        let file_schema = Arc::new(Schema::new(
            table
                .columns
                .iter()
                .map(|c| Field::new(column_field_name(c.id), c.sql_type.arrow_type(), true))
                .collect::<Vec<_>>(),
        ));
        TableWriter {
            cluster,
            table,
            xid,
            targets,
            key_column,
            file_schema,
            streams: HashMap::new(),
            rows: 0,
        }
    }

    /// Sends `batch` (the table's columns, in order) to its slices.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        let batch = RecordBatch::try_new(Arc::clone(&self.file_schema), batch.columns().to_vec())?;
        for (slice, part) in self.route(&batch)? {
            self.send(slice, part).await?;
        }
        Ok(())
    }

    fn route(&self, batch: &RecordBatch) -> Result<Vec<(u32, RecordBatch)>> {
        if self.table.dist_style.is_all() {
            return Ok(self.targets.iter().map(|&s| (s, batch.clone())).collect());
        }
        let n = self.targets.len() as u32;
        let positions: Vec<u32> = match self.key_column {
            Some(key) => key_slices(batch.column(key), n)?,
            None => {
                let start = self
                    .cluster
                    .advance_even_cursor(self.table.oid, batch.num_rows() as u64);
                (0..batch.num_rows() as u64)
                    .map(|i| ((start + i) % u64::from(n)) as u32)
                    .collect()
            }
        };
        let mut per_slice: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
        for (row, position) in positions.into_iter().enumerate() {
            per_slice[position as usize].push(row as u32);
        }
        per_slice
            .into_iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(position, rows)| {
                let part = if rows.len() == batch.num_rows() {
                    batch.clone()
                } else {
                    take_record_batch(batch, &UInt32Array::from(rows))?
                };
                Ok((self.targets[position], part))
            })
            .collect()
    }

    async fn send(&mut self, slice: u32, batch: RecordBatch) -> Result<()> {
        if !self.streams.contains_key(&slice) {
            let stream = self.open(slice)?;
            self.streams.insert(slice, stream);
        }
        let stream = self.streams.get_mut(&slice).expect("inserted");
        stream.rows += batch.num_rows() as u64;
        if stream.sender.send(Ok(batch)).await.is_err() {
            // The stream ended early: the node reported an error; surface it.
            let stream = self.streams.remove(&slice).expect("present");
            drop(stream.sender);
            return Err(join_error(stream.task.await).err().unwrap_or_else(|| {
                self.node(slice).error("the write stream closed unexpectedly")
            }));
        }
        Ok(())
    }

    fn node(&self, slice: u32) -> &Arc<ComputeNode> {
        self.cluster.node_of_slice(slice)
    }

    fn open(&self, slice: u32) -> Result<SliceStream> {
        let node = Arc::clone(self.node(slice));
        let descriptor = WriteDescriptor {
            xid: self.xid,
            table_id: u64::from(self.table.oid),
            slice,
            sort_column_ids: self.table.sort_column_ids(),
            encodings: self
                .table
                .columns
                .iter()
                .map(|c| (c.id, c.encoding.clone()))
                .collect(),
        };
        let (sender, receiver) = mpsc::channel(4);
        let schema = Arc::clone(&self.file_schema);
        let channel = channels::channel(&node.address).map_err(|e| node.error(e))?;
        let task = tokio::spawn(async move {
            let flight_data = FlightDataEncoderBuilder::new()
                .with_schema(schema)
                .with_flight_descriptor(Some(FlightDescriptor::new_cmd(descriptor.encode_to_vec())))
                .build(ReceiverStream::new(receiver));
            let mut client = FlightClient::new(channel);
            let results: Vec<_> = client
                .do_put(flight_data)
                .await
                .map_err(|e| node.error(e))?
                .try_collect()
                .await
                .map_err(|e| node.error(e))?;
            let result = results
                .last()
                .ok_or_else(|| node.error("the write ended without a result"))?;
            WriteResult::decode(result.app_metadata.clone()).map_err(|e| node.error(e))
        });
        Ok(SliceStream { sender, task, rows: 0 })
    }

    /// Waits until every slice has stored its rows.
    pub async fn finish(mut self) -> Result<WriteOutcome> {
        let mut outcome = WriteOutcome {
            rows: self.rows,
            nodes: BTreeSet::new(),
            bytes: 0,
        };
        let mut first_error = None;
        for (slice, stream) in std::mem::take(&mut self.streams) {
            let node = self.cluster.node_of_slice(slice);
            outcome.nodes.insert(node.index);
            drop(stream.sender);
            let result = join_error(stream.task.await).and_then(|written| {
                if written.rows == stream.rows {
                    outcome.bytes += written.bytes;
                    Ok(())
                } else {
                    Err(node.error(format!(
                        "slice {slice} stored {} rows of the {} sent",
                        written.rows, stream.rows
                    )))
                }
            });
            if let Err(e) = result
                && first_error.is_none()
            {
                first_error = Some(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(outcome),
        }
    }

    /// Nodes that may hold rows from this writer. A transaction records them before finishing
    /// the write, so that rows a failed write left behind are discarded when it aborts.
    pub fn touched_nodes(&self) -> BTreeSet<usize> {
        self.streams
            .keys()
            .map(|&s| self.cluster.node_of_slice(s).index)
            .collect()
    }
}

impl Drop for TableWriter {
    /// A write abandoned before `finish` (its statement failed or was cancelled) cuts its streams,
    /// so the nodes see an error instead of a complete write and store nothing more of it.
    fn drop(&mut self) {
        for stream in self.streams.values() {
            stream.task.abort();
        }
    }
}

fn join_error(joined: Result<Result<WriteResult>, tokio::task::JoinError>) -> Result<WriteResult> {
    joined.map_err(|e| Error::internal(format!("write task failed: {e}")))?
}
