//! One writer's files: Redshift's names (`<slice>_part_<nn>` for a slice, `000`, `001`, ... for a
//! serial unload), Hive folders for PARTITION BY (`col=value/`, `__HIVE_DEFAULT_PARTITION__` for
//! NULL), a new file whenever one reaches MAXFILESIZE, and the upload of each file as an
//! object_store multipart upload. An upload becomes an object only when completed; a writer that
//! fails or is dropped aborts the uploads it has open.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use super::UnloadSpec;
use super::format::{Encoder, encoder};
use crate::load::compression::Compressor;
use crate::s3::{self, S3Url};

pub use blueshift_spectrum::table::HIVE_NULL;

/// Uploads in flight per file: bounds the memory a writer holds.
const UPLOAD_CONCURRENCY: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// PARALLEL ON: this slice's files.
    Slice(u32),
    /// PARALLEL OFF: one numbered series.
    Serial,
}

impl Naming {
    fn name(self, part: usize) -> String {
        match self {
            Naming::Slice(slice) => format!("{slice:04}_part_{part:02}"),
            Naming::Serial => format!("{part:03}"),
        }
    }
}

/// A written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnloadedFile {
    pub url: String,
    pub bytes: u64,
    pub rows: u64,
}

struct OpenFile {
    key: String,
    encoder: Box<dyn Encoder>,
    compressor: Compressor,
    upload: WriteMultipart,
    bytes: u64,
    rows: u64,
}

/// A folder's files: the one being written and the number of the next.
struct Folder {
    open: Option<OpenFile>,
    next_part: usize,
}

/// Where and how files are written: shared by all of a writer's files, and `Sync`, so that
/// uploads can be awaited while files are borrowed.
struct Target {
    spec: Arc<UnloadSpec>,
    store: Arc<dyn ObjectStore>,
    naming: Naming,
    /// The files' schema: the query's, less the partition columns unless INCLUDE.
    schema: SchemaRef,
}

pub struct FileSet {
    target: Target,
    /// Output columns kept in the files.
    kept: Vec<usize>,
    folders: BTreeMap<String, Folder>,
    done: Vec<UnloadedFile>,
}

fn failed(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("UNLOAD failed: {e}"))
}

/// Writes a whole stream of rows with one writer; on failure its open uploads are aborted.
pub async fn write_stream(
    spec: Arc<UnloadSpec>,
    naming: Naming,
    mut input: SendableRecordBatchStream,
) -> Result<Vec<UnloadedFile>> {
    let mut files = FileSet::new(spec, naming, &input.schema())?;
    while let Some(batch) = input.next().await {
        let written = match batch {
            Ok(batch) => files.write(&batch).await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            files.abort().await;
            return Err(e);
        }
    }
    files.finish().await
}

impl FileSet {
    pub fn new(spec: Arc<UnloadSpec>, naming: Naming, schema: &SchemaRef) -> Result<FileSet> {
        let store = s3::bucket_store(&spec.s3_config(), &spec.bucket, &spec.credentials).map_err(failed)?;
        let partition_columns = spec.partition.as_ref().filter(|p| !p.include).map(|p| p.columns.clone()).unwrap_or_default();
        let kept: Vec<usize> = (0..schema.fields().len()).filter(|i| !partition_columns.contains(i)).collect();
        let schema = Arc::new(Schema::new(kept.iter().map(|&i| schema.field(i).clone()).collect::<Vec<_>>()));
        Ok(FileSet {
            target: Target { spec, store, naming, schema },
            kept,
            folders: BTreeMap::new(),
            done: Vec::new(),
        })
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let groups = match &self.target.spec.partition {
            None => vec![(String::new(), batch.clone())],
            Some(partition) => partition_groups(batch, &partition.columns)?,
        };
        for (folder, rows) in groups {
            let rows = rows.project(&self.kept)?;
            self.write_to(folder, &rows).await?;
        }
        Ok(())
    }

    async fn write_to(&mut self, folder: String, batch: &RecordBatch) -> Result<()> {
        if self.folders.get(&folder).is_none_or(|f| f.open.is_none()) {
            let part = self.folders.get(&folder).map_or(0, |f| f.next_part);
            let file = self.target.open(&folder, part).await?;
            self.folders.insert(folder.clone(), Folder { open: Some(file), next_part: part + 1 });
        }
        let max_file_size = self.target.spec.max_file_size;
        let file = self.folders.get_mut(&folder).and_then(|f| f.open.as_mut()).expect("a file is open");
        file.encoder.write(batch)?;
        file.rows += batch.num_rows() as u64;
        let bytes = file.encoder.take();
        file.compressor.write(&bytes).map_err(failed)?;
        let out = file.compressor.take();
        file.bytes += out.len() as u64;
        file.upload.write(&out);
        file.upload.wait_for_capacity(UPLOAD_CONCURRENCY).await.map_err(failed)?;
        if file.bytes + file.encoder.pending() as u64 >= max_file_size {
            let file = self.folders.get_mut(&folder).and_then(|f| f.open.take()).expect("a file is open");
            let done = self.target.close(file).await?;
            self.done.push(done);
        }
        Ok(())
    }

    /// Completes every file. A serial unload without rows still writes its first file, so the
    /// output exists (with only a header, if asked for one).
    pub async fn finish(mut self) -> Result<Vec<UnloadedFile>> {
        let target = &self.target;
        if target.naming == Naming::Serial && target.spec.partition.is_none() && self.folders.is_empty() && self.done.is_empty() {
            let file = target.open("", 0).await?;
            self.folders.insert(String::new(), Folder { open: Some(file), next_part: 1 });
        }
        let open: Vec<OpenFile> = self.folders.values_mut().filter_map(|f| f.open.take()).collect();
        let mut result = Ok(());
        for file in open {
            if result.is_err() {
                let _ = file.upload.abort().await;
                continue;
            }
            match self.target.close(file).await {
                Ok(done) => self.done.push(done),
                Err(e) => result = Err(e),
            }
        }
        result?;
        let mut done = std::mem::take(&mut self.done);
        done.sort_by(|a, b| a.url.cmp(&b.url));
        Ok(done)
    }

    /// Aborts the uploads still open.
    pub async fn abort(mut self) {
        for file in self.folders.values_mut().filter_map(|f| f.open.take()) {
            let _ = file.upload.abort().await;
        }
    }
}

impl Target {
    async fn open(&self, folder: &str, part: usize) -> Result<OpenFile> {
        let mut key = self.spec.prefix.clone();
        if !folder.is_empty() && !key.is_empty() && !key.ends_with('/') {
            key.push('/');
        }
        key.push_str(folder);
        key.push_str(&self.spec.name_prefix);
        key.push_str(&self.naming.name(part));
        key.push_str(&self.spec.suffix());
        let url = S3Url { bucket: self.spec.bucket.clone(), key: key.clone() };
        let upload = self
            .store
            .put_multipart(&Path::from(key.as_str()))
            .await
            .map_err(|e| failed(s3::classify(e, &self.spec.s3_config(), &url)))?;
        Ok(OpenFile {
            key,
            encoder: encoder(&self.spec.format, &self.schema)?,
            compressor: Compressor::new(self.spec.compression).map_err(failed)?,
            upload: WriteMultipart::new(upload),
            bytes: 0,
            rows: 0,
        })
    }

    /// Completes a file's upload, or aborts it if its last bytes cannot be written.
    async fn close(&self, mut file: OpenFile) -> Result<UnloadedFile> {
        let tail = file.encoder.finish().map_err(failed);
        let tail = tail.and_then(|tail| {
            file.compressor.write(&tail).map_err(failed)?;
            file.compressor.finish().map_err(failed)
        });
        let tail = match tail {
            Ok(tail) => tail,
            Err(e) => {
                let _ = file.upload.abort().await;
                return Err(e);
            }
        };
        file.bytes += tail.len() as u64;
        file.upload.write(&tail);
        let url = S3Url { bucket: self.spec.bucket.clone(), key: file.key };
        file.upload
            .finish()
            .await
            .map_err(|e| failed(s3::classify(e, &self.spec.s3_config(), &url)))?;
        Ok(UnloadedFile {
            url: url.to_string(),
            bytes: file.bytes,
            rows: file.rows,
        })
    }
}

impl Drop for FileSet {
    /// A writer dropped mid-way (a cancelled query) aborts its open uploads in the background.
    fn drop(&mut self) {
        let open: Vec<OpenFile> = self.folders.values_mut().filter_map(|f| f.open.take()).collect();
        if open.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for file in open {
                    let _ = file.upload.abort().await;
                }
            });
        }
    }
}

/// Splits `batch` by the values of its partition `columns`: each group's Hive folder
/// (`col=value/...`) and rows, in order of first appearance.
fn partition_groups(batch: &RecordBatch, columns: &[usize]) -> Result<Vec<(String, RecordBatch)>> {
    let options = FormatOptions::new()
        .with_date_format(Some("%Y-%m-%d"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"));
    let formatters = columns
        .iter()
        .map(|&c| ArrayFormatter::try_new(batch.column(c).as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
    for row in 0..batch.num_rows() {
        let folder: String = columns
            .iter()
            .zip(&formatters)
            .map(|(&c, f)| {
                let value = if batch.column(c).is_null(row) {
                    HIVE_NULL.to_string()
                } else {
                    hive_escape(&f.value(row).to_string())
                };
                format!("{}={value}/", batch.schema().field(c).name())
            })
            .collect();
        match groups.iter_mut().find(|(f, _)| *f == folder) {
            Some((_, rows)) => rows.push(row as u32),
            None => groups.push((folder, vec![row as u32])),
        }
    }
    groups
        .into_iter()
        .map(|(folder, rows)| Ok((folder, take_record_batch(batch, &UInt32Array::from(rows))?)))
        .collect()
}

/// Escapes a partition value for a folder name the way Hive does: `%XX` for characters that
/// cannot appear in a path segment.
fn hive_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() || matches!(c, '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^') {
            for byte in c.to_string().bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value a folder name written by [`hive_escape`] stands for.
pub fn hive_unescape(folder: &str) -> String {
    let bytes = folder.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| folder.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok()))
            .flatten();
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_folders() {
        assert_eq!(Naming::Slice(3).name(0), "0003_part_00");
        assert_eq!(Naming::Slice(12).name(7), "0012_part_07");
        assert_eq!(Naming::Serial.name(0), "000");
        assert_eq!(Naming::Serial.name(12), "012");
        assert_eq!(hive_escape("2019-09-01"), "2019-09-01");
        assert_eq!(hive_escape("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(hive_escape("2019-09-01 10:00:00"), "2019-09-01 10%3A00%3A00");
        for value in ["a/b=c", "100%", "é:ü", "plain"] {
            assert_eq!(hive_unescape(&hive_escape(value)), value);
        }
    }
}
