//! Writing rows into a table: each row is routed to its slice by the table's distribution, and
//! each slice's rows stream to the node that holds it (a Flight `DoPut`, into the slice's segment
//! buffer, [`crate::segment_buffer`]), or, for a slice of the writing node itself, straight into
//! that buffer.
//!
//! DISTSTYLE KEY places a row by the stable hash of its distkey, EVEN deals rows round-robin from
//! a starting slice the leader picks (so that successive writes spread), and ALL sends every row
//! to one slice of each node. The leader writes INSERT and CTAS rows through a [`SliceWriter`];
//! a compute node loading COPY files writes the rows it parses through one too, so that those rows
//! cross the network at most once and never pass through the leader.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::{FlightClient, FlightDescriptor};
use blueshift_proto::{WriteDescriptor, WriteResult};
use blueshift_storage::distribution::key_slices;
use blueshift_storage::node::WriteSummary;
use blueshift_storage::segment::{sort_key_fields, sort_order};
use blueshift_storage::column_field_name;
use futures::TryStreamExt;
use prost::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use crate::channels;
use crate::segment_buffer::LocalSlices;

/// Where and how one transaction's rows of one table are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteTarget {
    pub xid: u64,
    pub table_id: u64,
    /// The column id of each field of the written batches, in order.
    pub column_ids: Vec<u32>,
    pub sort_column_ids: Vec<u32>,
    /// The NOT NULL columns: their segments store no null flags (a Parquet REQUIRED column), and
    /// a batch holding a NULL in one is rejected rather than stored.
    pub not_null_column_ids: Vec<u32>,
    /// Column id → ENCODE name.
    pub encodings: Vec<(u32, String)>,
    pub routing: Routing,
    /// The slices rows go to, with their node's Flight address: for EVEN and KEY every slice of
    /// the cluster in slice order, for ALL one slice of each node.
    pub slices: Vec<(u32, String)>,
}

/// How a row finds its slice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Routing {
    /// Round-robin, the first row going to the slice at this position.
    Even { start: u64 },
    /// By the hash of the field at this index.
    Key { column: usize },
    /// Every row to every target slice.
    All,
}

/// A write that failed: which slice (if the failure was a slice's) and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{}{message}", slice.map(|s| format!("writing slice {s}: ")).unwrap_or_default())]
pub struct WriteError {
    pub slice: Option<u32>,
    pub message: String,
}

impl WriteError {
    pub(crate) fn of_slice(slice: u32, e: impl std::fmt::Display) -> WriteError {
        WriteError {
            slice: Some(slice),
            message: e.to_string(),
        }
    }

    /// A failure of the rows themselves (they cannot be routed), not of a slice.
    pub fn of_rows(e: impl std::fmt::Display) -> WriteError {
        WriteError {
            slice: None,
            message: e.to_string(),
        }
    }
}

/// What each slice stored.
pub type SlicesWritten = BTreeMap<u32, WriteSummary>;

struct SliceStream {
    sender: mpsc::Sender<Result<RecordBatch, FlightError>>,
    task: JoinHandle<Result<WriteSummary, WriteError>>,
    /// Rows sent, to check against what the slice reports having stored.
    rows: u64,
}

/// Routes one transaction's rows of one table to its slices.
pub struct SliceWriter {
    target: WriteTarget,
    /// This node's slices, for writing them without the network (`None` on the leader).
    local: Option<Arc<LocalSlices>>,
    file_schema: Option<SchemaRef>,
    /// The fields of the table's sort key, in key order.
    sort_key: Vec<usize>,
    streams: HashMap<u32, SliceStream>,
    /// Rows routed so far (each row once, even for DISTSTYLE ALL).
    rows: u64,
}

impl SliceWriter {
    pub fn new(target: WriteTarget, local: Option<Arc<LocalSlices>>) -> SliceWriter {
        let sort_key = sort_key_fields(&target.column_ids, &target.sort_column_ids);
        SliceWriter {
            target,
            local,
            file_schema: None,
            sort_key,
            streams: HashMap::new(),
            rows: 0,
        }
    }

    /// Rows routed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Sends `batch` (one field per target column, in order) to its slices.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<(), WriteError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let schema = match &self.file_schema {
            Some(schema) => Arc::clone(schema),
            None => {
                let incoming = batch.schema();
                let fields = self.target.column_ids.iter().zip(incoming.fields()).map(|(id, field)| {
                    let nullable = !self.target.not_null_column_ids.contains(id);
                    Field::new(column_field_name(*id), field.data_type().clone(), nullable)
                });
                let schema = Arc::new(Schema::new(fields.collect::<Vec<_>>()));
                self.file_schema = Some(Arc::clone(&schema));
                schema
            }
        };
        let batch = RecordBatch::try_new(schema, batch.columns().to_vec()).map_err(WriteError::of_rows)?;
        let parts = self.route(&batch)?;
        self.rows += batch.num_rows() as u64;
        for (slice, address, part) in parts {
            self.send(slice, &address, part).await?;
        }
        Ok(())
    }

    /// Splits `batch` into each slice's part. The parts go out sorted by the table's sort key:
    /// taking a part in that order costs no more than taking it at all, and it makes the slice's
    /// sort of a whole segment gather from a few sorted runs rather than from rows all over
    /// memory, which measured as a fifth of a load's CPU time (see `SortedRows`).
    fn route(&self, batch: &RecordBatch) -> Result<Vec<(u32, String, RecordBatch)>, WriteError> {
        let slices = &self.target.slices;
        let order = sort_order(batch, &self.sort_key).map_err(WriteError::of_rows)?;
        let positions: Vec<u32> = match self.target.routing {
            Routing::All => {
                let sorted = match &order {
                    Some(order) => take_record_batch(batch, order).map_err(WriteError::of_rows)?,
                    None => batch.clone(),
                };
                return Ok(slices.iter().map(|(s, a)| (*s, a.clone(), sorted.clone())).collect());
            }
            Routing::Key { column } => key_slices(batch.column(column), slices.len() as u32).map_err(WriteError::of_rows)?,
            Routing::Even { start } => {
                let n = slices.len() as u64;
                let first = start + self.rows;
                (0..batch.num_rows() as u64).map(|i| ((first + i) % n) as u32).collect()
            }
        };
        let mut per_slice: Vec<Vec<u32>> = vec![Vec::new(); slices.len()];
        match &order {
            Some(order) => order.values().iter().for_each(|&row| per_slice[positions[row as usize] as usize].push(row)),
            None => positions.iter().enumerate().for_each(|(row, &position)| per_slice[position as usize].push(row as u32)),
        }
        per_slice
            .into_iter()
            .zip(slices)
            .filter(|(rows, _)| !rows.is_empty())
            .map(|(rows, (slice, address))| {
                let part = if order.is_none() && rows.len() == batch.num_rows() {
                    batch.clone()
                } else {
                    take_record_batch(batch, &UInt32Array::from(rows)).map_err(WriteError::of_rows)?
                };
                Ok((*slice, address.clone(), part))
            })
            .collect()
    }

    async fn send(&mut self, slice: u32, address: &str, batch: RecordBatch) -> Result<(), WriteError> {
        if !self.streams.contains_key(&slice) {
            let stream = self.open(slice, address)?;
            self.streams.insert(slice, stream);
        }
        let stream = self.streams.get_mut(&slice).expect("inserted");
        stream.rows += batch.num_rows() as u64;
        if stream.sender.send(Ok(batch)).await.is_err() {
            // The stream ended early because its slice failed: surface why.
            let stream = self.streams.remove(&slice).expect("present");
            drop(stream.sender);
            return Err(joined(slice, stream.task.await)
                .err()
                .unwrap_or_else(|| WriteError::of_slice(slice, "the write stream closed unexpectedly")));
        }
        Ok(())
    }

    fn open(&self, slice: u32, address: &str) -> Result<SliceStream, WriteError> {
        let descriptor = WriteDescriptor {
            xid: self.target.xid,
            table_id: self.target.table_id,
            slice,
            sort_column_ids: self.target.sort_column_ids.clone(),
            encodings: self.target.encodings.iter().cloned().collect(),
        };
        let (sender, receiver) = mpsc::channel(4);
        let task = match &self.local {
            Some(slices) if slices.store().slices().contains(&slice) => {
                let mut stream = slices.join(descriptor, self.target.column_ids.clone());
                tokio::spawn(async move {
                    let mut batches = ReceiverStream::new(receiver);
                    while let Some(batch) = batches.try_next().await.map_err(|e| WriteError::of_slice(slice, e))? {
                        stream.push(batch).await?;
                    }
                    stream.finish().await
                })
            }
            _ => {
                let schema = Arc::clone(self.file_schema.as_ref().expect("set by the first batch"));
                let channel = channels::channel(address).map_err(|e| WriteError::of_slice(slice, e))?;
                tokio::spawn(async move {
                    let failed = |e: FlightError| WriteError::of_slice(slice, e);
                    let flight_data = FlightDataEncoderBuilder::new()
                        .with_schema(schema)
                        .with_flight_descriptor(Some(FlightDescriptor::new_cmd(descriptor.encode_to_vec())))
                        .build(ReceiverStream::new(receiver));
                    let results: Vec<_> =
                        FlightClient::new(channel).do_put(flight_data).await.map_err(failed)?.try_collect().await.map_err(failed)?;
                    let result = results
                        .last()
                        .ok_or_else(|| WriteError::of_slice(slice, "the write ended without a result"))?;
                    let written = WriteResult::decode(result.app_metadata.clone()).map_err(|e| WriteError::of_slice(slice, e))?;
                    Ok(WriteSummary {
                        rows: written.rows,
                        segments: written.segments,
                        bytes: written.bytes,
                    })
                })
            }
        };
        Ok(SliceStream { sender, task, rows: 0 })
    }

    /// Waits until every slice has taken its rows; the first failure, if any. A slice has taken
    /// them once it has stored them or, while other writers of the same write still feed it,
    /// buffered them for the last of those to store ([`crate::segment_buffer`]): the statement
    /// that waits for all its writers thus has every row stored. Every stream is ended before any
    /// is waited for, so the slices store their last segments at the same time: ending them one
    /// by one left a load's last half second on one core.
    pub async fn finish(mut self) -> Result<SlicesWritten, WriteError> {
        let mut written = SlicesWritten::new();
        let mut first_error = None;
        let ended: Vec<_> = std::mem::take(&mut self.streams)
            .into_iter()
            .map(|(slice, SliceStream { sender, task, rows })| {
                drop(sender);
                (slice, task, rows)
            })
            .collect();
        for (slice, task, rows) in ended {
            let result = joined(slice, task.await).and_then(|summary| {
                if summary.rows == rows {
                    written.insert(slice, summary);
                    Ok(())
                } else {
                    Err(WriteError::of_slice(slice, format!("took {} rows of the {} sent", summary.rows, rows)))
                }
            });
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(written),
        }
    }

    /// Slices that may hold rows of this writer. A transaction records their nodes before
    /// finishing the write, so that rows a failed write left behind are discarded when it aborts.
    pub fn touched_slices(&self) -> impl Iterator<Item = u32> + '_ {
        self.streams.keys().copied()
    }
}

impl Drop for SliceWriter {
    /// A write abandoned before `finish` (its statement failed or was cancelled) cuts its streams,
    /// so the slices see an error instead of a complete write and store nothing more of it.
    fn drop(&mut self) {
        for stream in self.streams.values() {
            stream.task.abort();
        }
    }
}

fn joined(slice: u32, joined: Result<Result<WriteSummary, WriteError>, tokio::task::JoinError>) -> Result<WriteSummary, WriteError> {
    joined.map_err(|e| WriteError::of_slice(slice, format!("the write task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use arrow::array::Int32Array;
    use blueshift_storage::NodeStore;

    use super::*;

    /// Each slice's part of a routed batch is sorted by the sort key and holds exactly the rows a
    /// KEY distribution gives that slice; under ALL every slice gets the whole batch, sorted.
    #[test]
    fn routed_parts_are_sorted_by_the_sort_key() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("c1", arrow::datatypes::DataType::Int64, true),
            Field::new("c2", arrow::datatypes::DataType::Int32, true),
        ]));
        let keys = arrow::array::Int64Array::from_iter_values(0..1000);
        let sort = Int32Array::from_iter_values((0..1000).map(|i| (i * 7919) % 1000));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(keys.clone()), Arc::new(sort)]).unwrap();
        let slices: Vec<(u32, String)> = (0..4).map(|s| (s, format!("node{}", s / 2))).collect();
        let target = |routing| WriteTarget {
            xid: 1,
            table_id: 1,
            column_ids: vec![1, 2],
            sort_column_ids: vec![2],
            not_null_column_ids: Vec::new(),
            encodings: Vec::new(),
            routing,
            slices: slices.clone(),
        };
        let sorted = |part: &RecordBatch| {
            let values = part.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
            values.values().windows(2).all(|w| w[0] <= w[1])
        };
        let expected = key_slices(&(Arc::new(keys) as arrow::array::ArrayRef), 4).unwrap();
        let parts = SliceWriter::new(target(Routing::Key { column: 0 }), None).route(&batch).unwrap();
        assert_eq!(parts.iter().map(|(_, _, part)| part.num_rows()).sum::<usize>(), 1000);
        for (slice, _, part) in &parts {
            assert!(sorted(part), "slice {slice}");
            let keys = part.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap();
            assert!(keys.values().iter().all(|&k| expected[k as usize] == *slice), "slice {slice}");
        }
        let parts = SliceWriter::new(target(Routing::All), None).route(&batch).unwrap();
        assert!(parts.iter().all(|(_, _, part)| part.num_rows() == 1000 && sorted(part)));
    }

    /// A NOT NULL column is stored without null flags (Parquet REQUIRED), the others with them,
    /// and a NULL in a NOT NULL column is refused rather than stored.
    #[tokio::test(flavor = "multi_thread")]
    async fn not_null_columns_are_stored_as_required() {
        use arrow::datatypes::DataType;
        use parquet::basic::Repetition;
        use parquet::file::reader::{FileReader, SerializedFileReader};

        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(NodeStore::open(dir.path(), 1).unwrap());
        let slices = Arc::new(LocalSlices::new(Arc::clone(&store)));
        let target = WriteTarget {
            xid: 3,
            table_id: 1,
            column_ids: vec![1, 2],
            sort_column_ids: Vec::new(),
            not_null_column_ids: vec![1],
            encodings: Vec::new(),
            routing: Routing::Even { start: 0 },
            slices: vec![(0, "local".into())],
        };
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, true), Field::new("b", DataType::Int32, true)]));
        let batch = |a: Vec<Option<i32>>| {
            let b = Int32Array::from(vec![None; a.len()]);
            RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int32Array::from(a)), Arc::new(b)]).unwrap()
        };
        let mut writer = SliceWriter::new(target.clone(), Some(Arc::clone(&slices)));
        writer.write(batch(vec![Some(1), Some(2)])).await.unwrap();
        assert_eq!(writer.finish().await.unwrap()[&0].rows, 2);
        let segment = walk(dir.path()).into_iter().find(|p| p.extension().is_some_and(|e| e == "parquet")).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(segment).unwrap()).unwrap();
        let parquet_schema = reader.metadata().file_metadata().schema_descr_ptr();
        let repetitions: Vec<Repetition> =
            parquet_schema.columns().iter().map(|c| c.self_type().get_basic_info().repetition()).collect();
        assert_eq!(repetitions, vec![Repetition::REQUIRED, Repetition::OPTIONAL]);

        let mut writer = SliceWriter::new(target, Some(slices));
        let refused = writer.write(batch(vec![Some(1), None])).await.unwrap_err();
        assert!(refused.message.contains("non-nullable"), "{refused}");
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .flat_map(|entry| {
                let path = entry.unwrap().path();
                if path.is_dir() { walk(&path) } else { vec![path] }
            })
            .collect()
    }
}
