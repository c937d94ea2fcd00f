//! UNLOAD's writing side: a query's rows become files under an `s3://` prefix, in Redshift's
//! formats ([`format`]), names and folders ([`files`]).
//!
//! The same writer serves both layouts. With PARALLEL ON, [`exec::UnloadExec`] sits on top of the
//! query's plan on every compute node, so each slice's rows go from the node straight to S3 as
//! `<prefix><slice>_part_<nn>`; with PARALLEL OFF the leader feeds its single ordered stream to one
//! writer, named `<prefix>000`, `<prefix>001`, ... Files are multipart uploads that only become
//! objects when complete, and are aborted on failure, so an interrupted UNLOAD leaves nothing a
//! reader could take for output.

pub mod exec;
pub mod files;
pub mod format;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::load::compression::Compression;
use crate::s3::{S3Config, S3Credentials};

pub use exec::UnloadExec;
pub use files::{Naming, UnloadedFile, hive_unescape, write_stream};
pub use format::FileFormat;

/// Everything a writer needs to know, shipped to the compute nodes inside the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnloadSpec {
    /// The S3-compatible endpoint, or `None` for the embedded store under `local_root`.
    pub endpoint: Option<String>,
    pub local_root: PathBuf,
    pub credentials: S3Credentials,
    pub bucket: String,
    /// The key prefix every file name is appended to.
    pub prefix: String,
    pub format: FileFormat,
    pub compression: Option<Compression>,
    /// EXTENSION: replaces the format's and compression's extensions.
    pub extension: Option<String>,
    /// A file is closed and the next one started once it reaches this many bytes.
    pub max_file_size: u64,
    pub partition: Option<PartitionSpec>,
    /// Put before every file's name: what makes the files of one external-table write unique
    /// (`<date>_<time>_<microseconds>_<query>_`); UNLOAD leaves it empty.
    #[serde(default)]
    pub name_prefix: String,
}

/// PARTITION BY: the partition columns' positions in the query's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionSpec {
    pub columns: Vec<usize>,
    /// INCLUDE: the partition columns stay in the files too.
    pub include: bool,
}

impl UnloadSpec {
    pub fn s3_config(&self) -> S3Config {
        S3Config {
            endpoint: self.endpoint.clone(),
            local_root: self.local_root.clone(),
            credentials: self.credentials.clone(),
        }
    }

    /// The suffix after each file's name: EXTENSION, else the format's and compression's.
    pub fn suffix(&self) -> String {
        if let Some(extension) = &self.extension {
            return format!(".{}", extension.trim_start_matches('.'));
        }
        let mut suffix = String::new();
        if let Some(extension) = self.format.extension() {
            suffix.push('.');
            suffix.push_str(extension);
        }
        if let Some(compression) = self.compression {
            suffix.push_str(compression.extension());
        }
        suffix
    }
}
