//! Reading one chunk of a load from its store: a whole file, a byte range of a large plain text
//! file, or some row groups of a Parquet file.
//!
//! A byte range `[start, end)` owns the records that begin inside it: it skips the partial record
//! at its start (one that began before `start`) and reads past `end` to finish its last record,
//! so ranges cut anywhere cover every record exactly once.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use object_store::ObjectStore;
use object_store::path::Path;

use super::{Compression, Format, LoadSpec, ParsedChunk, parquet, parse_chunk};
use crate::s3::{self, S3Config, S3Error, S3Url};

/// How far past a range's end its last record is looked for, at first.
const TAIL: u64 = 1 << 20;

/// A unit of load work.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub url: S3Url,
    /// The file's size in bytes.
    pub size: u64,
    /// A byte range of a plain text file (`None`: the whole file).
    pub range: Option<Range<u64>>,
    pub compression: Option<Compression>,
    /// Parquet row groups (`None`: all).
    pub row_groups: Option<Vec<usize>>,
}

impl Chunk {
    /// Whether the chunk starts its file (where IGNOREHEADER applies).
    pub fn first(&self) -> bool {
        self.range.as_ref().is_none_or(|r| r.start == 0)
            && self.row_groups.as_ref().is_none_or(|g| g.first() == Some(&0))
    }

    /// Where the chunk starts in its file, for STL_LOAD_ERRORS' start_offset.
    pub fn start_offset(&self) -> u64 {
        self.range.as_ref().map_or(0, |r| r.start)
    }
}

/// Why a chunk could not be read at all (as opposed to rows it rejected).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChunkError {
    #[error(transparent)]
    S3(#[from] S3Error),
    /// The file's content is unusable (not Parquet, corrupt compression, wrong column count).
    #[error("{0}")]
    Data(String),
}

/// Fetches, decompresses and parses `chunk`. Errors name the file.
pub async fn read_chunk(
    store: &Arc<dyn ObjectStore>,
    config: &S3Config,
    spec: &Arc<LoadSpec>,
    chunk: &Chunk,
    max_errors: u64,
) -> Result<ParsedChunk, ChunkError> {
    let in_file = |e: String| ChunkError::Data(format!("{}: {e}", chunk.url));
    if spec.format == Format::Parquet {
        let path = Path::from(chunk.url.key.as_str());
        return parquet::read(Arc::clone(store), &path, chunk.size, spec, chunk.row_groups.clone())
            .await
            .map_err(in_file);
    }
    let data = match &chunk.range {
        Some(range) => fetch_range(store, config, &chunk.url, chunk.size, range.clone()).await?,
        None => s3::get(store, config, &chunk.url).await?,
    };
    let spec = Arc::clone(spec);
    let compression = chunk.compression;
    let first = chunk.first();
    tokio::task::spawn_blocking(move || {
        let data = match compression {
            Some(codec) => Bytes::from(codec.decompress(&data)?),
            None => data,
        };
        parse_chunk(&spec, first, &data, max_errors)
    })
    .await
    .map_err(|e| ChunkError::Data(e.to_string()))?
    .map_err(in_file)
}

/// The records of byte range `range` of a file of `size` bytes.
async fn fetch_range(
    store: &Arc<dyn ObjectStore>,
    config: &S3Config,
    url: &S3Url,
    size: u64,
    range: Range<u64>,
) -> Result<Bytes, S3Error> {
    // Read from the byte before the range: if it is a newline, a record starts right at `start`.
    let from = range.start.saturating_sub(1);
    let mut to = (range.end + TAIL).min(size);
    let mut data = BytesMut::from(&s3::get_range(store, config, url, from..to).await?[..]);
    let skip = if range.start == 0 {
        0
    } else {
        match memchr::memchr(b'\n', &data) {
            Some(i) => i + 1,
            None => return Ok(Bytes::new()),
        }
    };
    // The last record is the one holding byte `end - 1`; it ends at the next newline.
    let last = (range.end - 1 - from) as usize;
    loop {
        if let Some(i) = data.get(last..).and_then(|tail| memchr::memchr(b'\n', tail)) {
            data.truncate(last + i + 1);
            break;
        }
        if to == size {
            break;
        }
        let next = (to + TAIL.max(to - from)).min(size);
        data.extend_from_slice(&s3::get_range(store, config, url, to..next).await?);
        to = next;
    }
    if skip >= data.len() || skip > last {
        return Ok(Bytes::new());
    }
    Ok(data.freeze().slice(skip..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ranges_cover_every_record_once() {
        let root = tempfile::tempdir().unwrap();
        let text: String = (0..500).map(|i| format!("{i}|{}\n", "x".repeat(i % 37))).collect();
        std::fs::create_dir_all(root.path().join("b")).unwrap();
        std::fs::write(root.path().join("b/f"), &text).unwrap();
        let config = S3Config::new(None, root.path().to_path_buf());
        let store = s3::bucket_store(&config, "b", &Default::default()).unwrap();
        let url = S3Url::parse("s3://b/f").unwrap();
        let size = text.len() as u64;
        for step in [1, 7, 100, 1000, size] {
            let mut joined = Vec::new();
            let mut start = 0;
            while start < size {
                let end = (start + step).min(size);
                joined.extend_from_slice(&fetch_range(&store, &config, &url, size, start..end).await.unwrap());
                start = end;
            }
            assert_eq!(String::from_utf8(joined).unwrap(), text, "step {step}");
        }
    }
}
