//! Crash-safe file helpers: every file that a committed state depends on is fsynced, and files
//! that are rewritten are replaced atomically.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Result, StorageError};

/// Writes `bytes` to `path` so that after a crash the file holds either its old content or the
/// new one: write a temporary sibling, fsync it, rename it over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = File::create(&tmp).map_err(StorageError::io(&tmp))?;
        file.write_all(bytes).map_err(StorageError::io(&tmp))?;
        file.sync_all().map_err(StorageError::io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(StorageError::io(path))?;
    sync_dir(path.parent().expect("file paths have a parent"))
}

/// Writes a new file that must be durable before anything refers to it.
pub fn write_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(StorageError::io(path))?;
    file.write_all(bytes).map_err(StorageError::io(path))?;
    file.sync_all().map_err(StorageError::io(path))
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io(dir))
}

pub fn create_dir_durable(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(StorageError::io(dir))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}
