//! Which files a COPY reads and how its work is cut: every key under the prefix (or the entries
//! of a manifest), then large plain text files split into byte ranges and Parquet files into row
//! groups, so the chunks spread over all the load's workers.

use std::sync::Arc;

use blueshift_compute::load::reader::Chunk;
use blueshift_compute::load::{Compression, TextEncoding, parquet};
use blueshift_compute::s3::{self, S3Error, S3Url, Stores};
use object_store::path::Path;
use serde::Deserialize;

use super::options::{CopyStatement, FormatOption};
use crate::error::{Error, Result, SqlState};

/// Plain text files larger than this are read as several byte ranges.
pub const SPLIT_BYTES: u64 = 32 << 20;

#[derive(Deserialize)]
struct Manifest {
    entries: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    url: String,
    #[serde(default)]
    mandatory: bool,
}

/// A file to load and its size.
struct File {
    url: S3Url,
    size: u64,
}

/// The chunks of a load, in file order (a file's chunks are consecutive, in byte order).
pub async fn plan(stores: &Stores, statement: &CopyStatement, location: &str) -> Result<Vec<Chunk>> {
    let url = S3Url::parse(location)?;
    let store = stores.get(&url.bucket)?;
    let files = if statement.manifest {
        manifest_files(stores, &url).await?
    } else {
        s3::list_prefix(&store, &stores.config, &url)
            .await?
            .into_iter()
            .filter(|o| !o.location.as_ref().ends_with('/'))
            .map(|o| File {
                url: url.object(o.location.as_ref()),
                size: o.size,
            })
            .collect()
    };
    // As in Redshift, ESCAPE and REMOVEQUOTES keep a file whole: a newline can be data there, and
    // only a read from the file's start can tell. So does UTF-16, where a byte range can start
    // inside a character.
    let splittable = statement.options.encoding == TextEncoding::Utf8
        && match statement.format {
            FormatOption::Delimited => !statement.options.escape && !statement.options.remove_quotes,
            FormatOption::Csv { .. } | FormatOption::FixedWidth(_) => true,
            _ => false,
        };
    let mut chunks = Vec::new();
    for file in files.into_iter().filter(|f| f.size > 0) {
        let compression = statement.compression.or_else(|| Compression::from_key(&file.url.key));
        let whole = Chunk {
            url: file.url.clone(),
            size: file.size,
            range: None,
            compression,
            row_groups: None,
        };
        if statement.format == FormatOption::Parquet {
            let store = stores.get(&file.url.bucket)?;
            let groups = parquet::row_groups(store, &Path::from(file.url.key.as_str()), file.size)
                .await
                .map_err(|e| Error::new(SqlState::DataException, format!("{}: {e}", file.url)))?;
            chunks.extend((0..groups).map(|g| Chunk {
                row_groups: Some(vec![g]),
                ..whole.clone()
            }));
        } else if splittable && compression.is_none() && file.size > SPLIT_BYTES {
            let mut start = 0;
            while start < file.size {
                let end = (start + SPLIT_BYTES).min(file.size);
                chunks.push(Chunk {
                    range: Some(start..end),
                    ..whole.clone()
                });
                start = end;
            }
        } else {
            chunks.push(whole);
        }
    }
    Ok(chunks)
}

/// The files a manifest lists. A missing mandatory entry fails the load; a missing optional
/// one is skipped, as in Redshift.
async fn manifest_files(stores: &Stores, manifest_url: &S3Url) -> Result<Vec<File>> {
    let store = stores.get(&manifest_url.bucket)?;
    let text = s3::get(&store, &stores.config, manifest_url).await.map_err(|e| match e {
        S3Error::NoSuchKey(url) => Error::new(SqlState::UndefinedFile, format!("manifest file {url} does not exist")),
        other => other.into(),
    })?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        Error::new(
            SqlState::InvalidParameterValue,
            format!("invalid manifest {manifest_url}: {e} (expected {{\"entries\": [{{\"url\": \"s3://...\", \"mandatory\": true}}]}})"),
        )
    })?;
    let mut files = Vec::new();
    for entry in manifest.entries {
        let url = S3Url::parse(&entry.url)?;
        let store: Arc<dyn object_store::ObjectStore> = stores.get(&url.bucket)?;
        match s3::head(&store, &stores.config, &url).await {
            Ok(meta) => files.push(File { url, size: meta.size }),
            Err(S3Error::NoSuchKey(_)) if !entry.mandatory => {}
            Err(S3Error::NoSuchKey(missing)) => {
                return Err(Error::new(
                    SqlState::UndefinedFile,
                    format!("mandatory manifest entry {missing} (listed in {manifest_url}) does not exist"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if files.is_empty() {
        return Err(Error::new(
            SqlState::UndefinedFile,
            format!("manifest {manifest_url} lists no existing files"),
        ));
    }
    Ok(files)
}
