//! Reading one chunk of a load from its store: a whole file, a byte range of a large plain text
//! file, or some row groups of a Parquet file.
//!
//! A byte range `[start, end)` owns the records that begin inside it: it skips the partial record
//! at its start (one that began before `start`) and reads past `end` to finish its last record,
//! so ranges cut anywhere cover every record exactly once. In CSV a newline inside quotes is data:
//! a range learns whether it starts inside quotes from the counts of the file's earlier ranges
//! ([`QuoteCounts`]).

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use object_store::ObjectStore;
use object_store::path::Path;

use super::quotes::QuoteCounts;
use super::{Compression, Format, LoadSpec, ParsedChunk, parquet, parse_chunk};
use crate::s3::{self, S3Config, S3Error, S3Url};
use crate::writer::WriteError;

/// How far past a range's end its last record is looked for, at first.
const TAIL: u64 = 1 << 20;

/// A unit of load work.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ChunkError {
    #[error(transparent)]
    S3(#[from] S3Error),
    /// The file's content is unusable (not Parquet, corrupt compression, wrong column count).
    #[error("{0}")]
    Data(String),
    /// The compute node running the chunk failed or could not be reached: the cause, which the
    /// leader reports with the node's name.
    #[error("{0}")]
    Node(String),
    /// The node could not write the chunk's rows: the leader names the node of the failed slice.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Fetches, decompresses and parses `chunk`. Errors name the file. The byte ranges of one load
/// share `quotes`.
pub async fn read_chunk(
    store: &Arc<dyn ObjectStore>,
    config: &S3Config,
    spec: &Arc<LoadSpec>,
    chunk: &Chunk,
    max_errors: u64,
    quotes: &QuoteCounts,
) -> Result<ParsedChunk, ChunkError> {
    let in_file = |e: String| ChunkError::Data(format!("{}: {e}", chunk.url));
    if spec.format == Format::Parquet {
        let path = Path::from(chunk.url.key.as_str());
        return parquet::read(Arc::clone(store), &path, chunk.size, spec, chunk.row_groups.clone())
            .await
            .map_err(in_file);
    }
    let quote = match spec.format {
        Format::Csv { quote } => Some(quote),
        _ => None,
    };
    let data = match &chunk.range {
        Some(range) => {
            let fetched = fetch_range(store, config, &chunk.url, chunk.size, range.clone(), quote, quotes).await;
            fetched.inspect_err(|_| quotes.fail())?
        }
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

/// The records of byte range `range` of a file of `size` bytes; `quote` is CSV's quote
/// character, outside of which a newline ends a record.
async fn fetch_range(
    store: &Arc<dyn ObjectStore>,
    config: &S3Config,
    url: &S3Url,
    size: u64,
    range: Range<u64>,
    quote: Option<u8>,
    quotes: &QuoteCounts,
) -> Result<Bytes, ChunkError> {
    // Read from the byte before the range: if it ends a record, a record starts right at `start`.
    let from = range.start.saturating_sub(1);
    let mut to = (range.end + TAIL).min(size);
    let mut data = s3::get_range(store, config, url, from..to).await?;
    let (start, last) = ((range.start - from) as usize, (range.end - 1 - from) as usize);
    let (odd_at_from, odd_at_last) = match quote {
        Some(quote) => {
            // One pass counts the range's quotes, for the ranges after it and for this one's
            // last record: the chunk is read once more by the parser only.
            let in_range = memchr::memchr_iter(quote, &data[start..=last]).count() as u64;
            quotes.post(url, &range, in_range);
            let odd_at_start = quotes.odd_before(url, range.start).await?;
            let quote_before = start > 0 && data[0] == quote;
            let odd_at_from = odd_at_start ^ quote_before;
            let before_last = u64::from(quote_before) + in_range - u64::from(data[last] == quote);
            (odd_at_from, odd_at_from ^ (before_last % 2 == 1))
        }
        None => (false, false),
    };
    let skip = if range.start == 0 {
        0
    } else {
        match record_end(&data, 0, odd_at_from, quote) {
            Some(i) => i,
            None => return Ok(Bytes::new()),
        }
    };
    // The last record is the one holding byte `end - 1`; it ends at the next newline outside quotes.
    loop {
        if let Some(end) = record_end(&data, last, odd_at_last, quote) {
            data.truncate(end);
            break;
        }
        if to == size {
            break;
        }
        // The last record runs past what was read: rare (a record longer than TAIL), so only
        // then is the chunk copied to grow it.
        let next = (to + TAIL.max(to - from)).min(size);
        let mut grown = BytesMut::from(&data[..]);
        grown.extend_from_slice(&s3::get_range(store, config, url, to..next).await?);
        data = grown.freeze();
        to = next;
    }
    if skip >= data.len() || skip > last {
        return Ok(Bytes::new());
    }
    Ok(data.slice(skip..))
}

/// Where the record holding byte `at` ends (just past its newline), given whether `at` is inside
/// quotes; `None` if `data` ends first.
fn record_end(data: &[u8], at: usize, mut quoted: bool, quote: Option<u8>) -> Option<usize> {
    let Some(quote) = quote else {
        return memchr::memchr(b'\n', &data[at..]).map(|i| at + i + 1);
    };
    for i in memchr::memchr2_iter(quote, b'\n', &data[at..]) {
        match data[at + i] {
            b'\n' if !quoted => return Some(at + i + 1),
            b'\n' => {}
            _ => quoted = !quoted,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    /// Reads `text` as consecutive ranges of every size in `steps` and joins what they return.
    async fn read_in_ranges(text: &str, quote: Option<u8>, steps: &[u64]) {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("b")).unwrap();
        std::fs::write(root.path().join("b/f"), text).unwrap();
        let config = S3Config::new(None, root.path().to_path_buf());
        let store = s3::bucket_store(&config, "b", &Default::default()).unwrap();
        let url = S3Url::parse("s3://b/f").unwrap();
        let size = text.len() as u64;
        for &step in steps {
            let quotes = QuoteCounts::default();
            let ranges = (0..size).step_by(step as usize).map(|s| s..(s + step).min(size));
            // In file order, several at a time, as a load's workers take them.
            let reads = ranges.map(|range| fetch_range(&store, &config, &url, size, range, quote, &quotes));
            let parts: Vec<_> = futures::stream::iter(reads).buffered(4).collect().await;
            let parts: Vec<Bytes> = parts.into_iter().map(Result::unwrap).collect();
            for part in &parts {
                // Whole records only: each ends its last line, outside quotes.
                assert!(part.is_empty() || part.ends_with(b"\n"), "step {step}: {part:?}");
                let quotes = quote.map_or(0, |q| memchr::memchr_iter(q, part).count());
                assert_eq!(quotes % 2, 0, "step {step}: {part:?}");
            }
            let joined: Vec<u8> = parts.concat();
            assert_eq!(String::from_utf8(joined).unwrap(), text, "step {step}");
        }
    }

    #[tokio::test]
    async fn ranges_cover_every_record_once() {
        let text: String = (0..500).map(|i| format!("{i}|{}\n", "x".repeat(i % 37))).collect();
        read_in_ranges(&text, None, &[1, 7, 100, 1000, text.len() as u64]).await;
    }

    #[tokio::test]
    async fn csv_ranges_keep_quoted_newlines_in_their_record() {
        let text: String = (0..100)
            .map(|i| format!("{i},\"a\nb\"\"\n{}\",\"\"\n", "\n".repeat(i % 5)))
            .collect();
        read_in_ranges(&text, Some(b'"'), &[1, 2, 3, 5, 64, 999, text.len() as u64]).await;
    }
}
