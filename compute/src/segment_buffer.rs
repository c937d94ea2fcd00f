//! Where a slice's incoming rows wait to be stored: [`SegmentBuffer`] cuts them into segments
//! and writes each while the next fills, and [`LocalSlices`] gives the streams of one write into
//! one slice that are open at the same time one buffer.
//!
//! One write reaches a slice through several streams at once: a COPY's rows for a slice come from
//! every node that parses part of the load. Fed into one buffer, they are sorted and stored
//! together, as Redshift sorts a load's rows on a slice; a buffer per stream left each slice one
//! set of segments per sending node, each sorted on its own, with overlapping zone maps, and held
//! that many buffers of rows in memory. A buffer lasts while streams feed it: a stream that opens
//! after the others have ended (a small load, whose nodes finish at different moments) starts a
//! buffer of its own, which costs a small segment, never a row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use blueshift_proto::WriteDescriptor;
use blueshift_storage::NodeStore;
use blueshift_storage::node::{SEGMENT_ROWS, WriteSpec, WriteSummary};
use tokio::task::JoinHandle;

use crate::writer::WriteError;

/// Stores a slice's incoming batches in segments of [`SEGMENT_ROWS`] rows (the last one fewer).
/// A full segment is sorted and written on a blocking thread while the next one fills, so the
/// rows keep arriving during the write; at most two segments' rows are held in memory.
pub struct SegmentBuffer {
    store: Arc<NodeStore>,
    descriptor: Arc<WriteDescriptor>,
    column_ids: Arc<Vec<u32>>,
    batches: Vec<RecordBatch>,
    rows: usize,
    /// The segment being written.
    writing: Option<JoinHandle<blueshift_storage::Result<WriteSummary>>>,
    summary: WriteSummary,
}

impl SegmentBuffer {
    pub fn new(store: Arc<NodeStore>, descriptor: WriteDescriptor, column_ids: Vec<u32>) -> SegmentBuffer {
        SegmentBuffer {
            store,
            descriptor: Arc::new(descriptor),
            column_ids: Arc::new(column_ids),
            batches: Vec::new(),
            rows: 0,
            writing: None,
            summary: WriteSummary::default(),
        }
    }

    pub async fn push(&mut self, mut batch: RecordBatch) -> Result<(), WriteError> {
        // Segments are cut at exactly SEGMENT_ROWS rows: a large write leaves no small segment
        // behind each full one.
        while self.rows + batch.num_rows() >= SEGMENT_ROWS {
            let room = SEGMENT_ROWS - self.rows;
            self.batches.push(batch.slice(0, room));
            self.flush().await?;
            batch = batch.slice(room, batch.num_rows() - room);
        }
        if batch.num_rows() > 0 {
            self.rows += batch.num_rows();
            self.batches.push(batch);
        }
        Ok(())
    }

    /// Stores what is left; what the whole write stored.
    pub async fn finish(mut self) -> Result<WriteSummary, WriteError> {
        self.flush().await?;
        self.wait().await?;
        Ok(self.summary)
    }

    /// Starts writing the buffered rows, once the previous segment is written.
    async fn flush(&mut self) -> Result<(), WriteError> {
        self.wait().await?;
        if self.batches.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.batches);
        self.rows = 0;
        let (store, descriptor, column_ids) = (Arc::clone(&self.store), Arc::clone(&self.descriptor), Arc::clone(&self.column_ids));
        self.writing = Some(tokio::task::spawn_blocking(move || {
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
                batches,
            )
        }));
        Ok(())
    }

    /// Waits for the segment being written.
    async fn wait(&mut self) -> Result<(), WriteError> {
        let Some(writing) = self.writing.take() else {
            return Ok(());
        };
        let slice = self.descriptor.slice;
        let written = writing
            .await
            .map_err(|e| WriteError::of_slice(slice, e))?
            .map_err(|e| WriteError::of_slice(slice, e))?;
        self.summary.rows += written.rows;
        self.summary.segments += written.segments;
        self.summary.bytes += written.bytes;
        Ok(())
    }
}

/// The write a buffer serves: transaction, table, slice, and the columns written.
type BufferKey = (u64, u64, u32, Vec<u32>);

/// This node's store, and the segment buffers open on its slices.
pub struct LocalSlices {
    store: Arc<NodeStore>,
    open: Mutex<HashMap<BufferKey, OpenBuffer>>,
}

/// A buffer open to new streams, and how many streams feed it.
struct OpenBuffer {
    shared: Arc<tokio::sync::Mutex<Shared>>,
    streams: usize,
}

/// A buffer that several streams feed.
struct Shared {
    /// Taken by the last stream, to store what is left.
    buffer: Option<SegmentBuffer>,
    /// Rows pushed by all streams, which the buffer must have stored in the end.
    pushed: u64,
}

impl LocalSlices {
    pub fn new(store: Arc<NodeStore>) -> LocalSlices {
        LocalSlices {
            store,
            open: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<NodeStore> {
        &self.store
    }

    /// A stream into the slice `descriptor` names: it feeds the buffer open for the same write, or
    /// a new one.
    pub fn join(self: &Arc<Self>, descriptor: WriteDescriptor, column_ids: Vec<u32>) -> SliceFeed {
        let key = (descriptor.xid, descriptor.table_id, descriptor.slice, column_ids.clone());
        let mut open = self.open.lock().unwrap();
        let buffer = open.entry(key.clone()).or_insert_with(|| {
            let buffer = SegmentBuffer::new(Arc::clone(&self.store), descriptor, column_ids);
            let shared = Arc::new(tokio::sync::Mutex::new(Shared { buffer: Some(buffer), pushed: 0 }));
            OpenBuffer { shared, streams: 0 }
        });
        buffer.streams += 1;
        SliceFeed {
            slices: Arc::clone(self),
            key: Some(key),
            shared: Arc::clone(&buffer.shared),
            rows: 0,
        }
    }

    /// A stream of `key` ends; whether it was the last one, which stores the rest. A write's
    /// buffer is closed to new streams once its last one ends.
    fn leave(&self, key: &BufferKey) -> bool {
        let mut open = self.open.lock().unwrap();
        let Some(buffer) = open.get_mut(key) else {
            return false;
        };
        buffer.streams -= 1;
        let last = buffer.streams == 0;
        if last {
            open.remove(key);
        }
        last
    }
}

/// One stream's rows into a slice's shared buffer.
pub struct SliceFeed {
    slices: Arc<LocalSlices>,
    /// `None` once the stream has ended.
    key: Option<BufferKey>,
    shared: Arc<tokio::sync::Mutex<Shared>>,
    rows: u64,
}

impl SliceFeed {
    pub async fn push(&mut self, batch: RecordBatch) -> Result<(), WriteError> {
        let rows = batch.num_rows() as u64;
        let mut shared = self.shared.lock().await;
        shared.pushed += rows;
        self.rows += rows;
        shared.buffer.as_mut().expect("open while streams feed it").push(batch).await
    }

    /// Ends the stream: its rows are in the buffer, and the last stream to end stores what is
    /// left and waits until all of it is stored. The summary counts this stream's rows, and the
    /// segments and bytes this stream stored (the last one's: all of them).
    pub async fn finish(mut self) -> Result<WriteSummary, WriteError> {
        let key = self.key.take().expect("a stream ends once");
        let rows = self.rows;
        if !self.slices.leave(&key) {
            return Ok(WriteSummary { rows, ..Default::default() });
        }
        let mut shared = self.shared.lock().await;
        let stored = shared.buffer.take().expect("taken by the last stream only").finish().await?;
        if stored.rows != shared.pushed {
            return Err(WriteError::of_slice(key.2, format!("stored {} rows of the {} received", stored.rows, shared.pushed)));
        }
        Ok(WriteSummary { rows, ..stored })
    }
}

impl Drop for SliceFeed {
    /// A stream cut short (its write failed) still leaves the buffer, so that the others can end;
    /// its statement fails, so whatever the buffer stores is discarded with its transaction.
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.slices.leave(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Int32Array;
    use arrow::datatypes::{Field, Schema};
    use blueshift_storage::column_field_name;

    use super::*;

    /// A large write is stored as full segments of SEGMENT_ROWS rows plus the rest: batches that
    /// straddle a segment's end are split, so no small segment follows each full one.
    #[tokio::test(flavor = "multi_thread")]
    async fn segments_are_cut_at_exactly_segment_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(NodeStore::open(dir.path(), 1).unwrap());
        let descriptor = WriteDescriptor {
            xid: 7,
            table_id: 1,
            slice: 0,
            sort_column_ids: vec![1],
            encodings: Default::default(),
        };
        let mut buffer = SegmentBuffer::new(Arc::clone(&store), descriptor, vec![1]);
        let schema = Arc::new(Schema::new(vec![Field::new(column_field_name(1), arrow::datatypes::DataType::Int32, true)]));
        let batch_rows = SEGMENT_ROWS * 3 / 10;
        for batch in 0..5 {
            let values = Int32Array::from_iter_values((0..batch_rows as i32).map(|i| i + batch * batch_rows as i32));
            buffer.push(RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)]).unwrap()).await.unwrap();
        }
        let written = buffer.finish().await.unwrap();
        assert_eq!(written.rows, 5 * batch_rows as u64);
        assert_eq!(written.segments, 2, "one full segment and the rest: {written:?}");
    }

    /// Two streams of one write into a slice feed one buffer: the slice stores their rows as one
    /// sorted run of segments, the first stream to end reports only its rows, and the last one
    /// stores everything. A stream of another write gets a buffer of its own.
    #[tokio::test(flavor = "multi_thread")]
    async fn streams_of_one_write_share_a_buffer() {
        use blueshift_storage::mvcc::Snapshot;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(NodeStore::open(dir.path(), 1).unwrap());
        let slices = Arc::new(LocalSlices::new(Arc::clone(&store)));
        let descriptor = |xid| WriteDescriptor {
            xid,
            table_id: 1,
            slice: 0,
            sort_column_ids: vec![1],
            encodings: Default::default(),
        };
        let schema = Arc::new(Schema::new(vec![Field::new(column_field_name(1), arrow::datatypes::DataType::Int32, true)]));
        let batch = |values: Vec<i32>| RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int32Array::from(values))]).unwrap();
        let mut first = slices.join(descriptor(7), vec![1]);
        let mut second = slices.join(descriptor(7), vec![1]);
        let mut other = slices.join(descriptor(8), vec![1]);
        first.push(batch(vec![5, 1, 9])).await.unwrap();
        second.push(batch(vec![4, 8])).await.unwrap();
        other.push(batch(vec![100])).await.unwrap();
        first.push(batch(vec![2])).await.unwrap();

        let ended = first.finish().await.unwrap();
        assert_eq!((ended.rows, ended.segments), (4, 0), "{ended:?}");
        assert!(store.visible_segments(1, 0, &Snapshot { csn: 0, xid: 7 }).unwrap().is_empty(), "nothing stored before the last stream ends");
        let last = second.finish().await.unwrap();
        assert_eq!((last.rows, last.segments), (2, 1), "{last:?}");
        assert_eq!(other.finish().await.unwrap().rows, 1);

        let segments = store.visible_segments(1, 0, &Snapshot { csn: 0, xid: 7 }).unwrap();
        assert_eq!(segments.len(), 1);
        let file = std::fs::File::open(&segments[0].path).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        let values: Vec<i32> = reader.flat_map(|b| b.unwrap().column(0).as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec()).collect();
        assert_eq!(values, vec![1, 2, 4, 5, 8, 9]);
        assert!(slices.open.lock().unwrap().is_empty(), "ended writes close their buffers");
    }

    /// A stream dropped before it ends (its write failed) leaves the buffer, so the stream still
    /// feeding it is the last and stores the rows.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_dropped_stream_leaves_its_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(NodeStore::open(dir.path(), 1).unwrap());
        let slices = Arc::new(LocalSlices::new(store));
        let descriptor = WriteDescriptor {
            xid: 3,
            table_id: 1,
            slice: 0,
            sort_column_ids: Vec::new(),
            encodings: Default::default(),
        };
        let schema = Arc::new(Schema::new(vec![Field::new(column_field_name(1), arrow::datatypes::DataType::Int32, true)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1, 2]))]).unwrap();
        let mut cut = slices.join(descriptor.clone(), vec![1]);
        let mut kept = slices.join(descriptor, vec![1]);
        cut.push(batch.clone()).await.unwrap();
        kept.push(batch).await.unwrap();
        drop(cut);
        let last = kept.finish().await.unwrap();
        assert_eq!((last.rows, last.segments), (2, 1));
        assert!(slices.open.lock().unwrap().is_empty());
    }
}
