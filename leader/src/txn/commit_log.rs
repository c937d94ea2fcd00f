//! The leader's durable commit log.
//!
//! One append-only file of checksummed records. A transaction is committed exactly when its
//! `Commit` record is on disk: the record is the single point that makes a multi-node write (and
//! any DDL, through the catalog file it names) atomic. `Reserve` records move the high-water marks
//! of transaction ids and IDENTITY values in batches, so a restarted leader never reuses an id that
//! may already be on a compute node's disk.
//!
//! Record framing: `u32 length (LE) | u32 crc32 (LE) | JSON payload`. A crash can leave a torn
//! last record; recovery stops at the first record that does not check out and truncates there.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LogRecord {
    /// Transaction ids below `limit` may have been handed out.
    ReserveXids { limit: u64 },
    /// IDENTITY ordinals of a table below `limit` may have been handed out.
    ReserveIdentities { table: u32, limit: i64 },
    Commit {
        xid: u64,
        csn: u64,
        /// Set when the transaction changed the catalog: its new version is `catalog-<csn>.json`.
        #[serde(default)]
        catalog: bool,
        /// Tables whose data the transaction changed.
        #[serde(default)]
        wrote: BTreeSet<u32>,
        /// Tables the transaction dropped, whose files can be deleted.
        #[serde(default)]
        dropped: Vec<u32>,
    },
}

/// What the log says about the state before the last crash or shutdown.
#[derive(Debug, Default)]
pub struct Recovered {
    pub xid_limit: u64,
    pub identity_limits: HashMap<u32, i64>,
    pub last_csn: u64,
    /// csn of the last commit that changed the catalog (0: the initial catalog).
    pub catalog_csn: u64,
    pub committed: HashMap<u64, u64>,
    pub table_last_write: HashMap<u32, u64>,
    /// Tables dropped by committed transactions (their files may still exist on nodes).
    pub dropped: Vec<u32>,
}

pub struct CommitLog {
    path: PathBuf,
    file: File,
}

impl CommitLog {
    /// Opens the log in `dir`, replaying it.
    pub fn open(dir: &Path) -> Result<(CommitLog, Recovered)> {
        let path = dir.join("commit.log");
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io_error(&path, e))?;
        let (records, valid_len) = decode_records(&bytes);
        if valid_len < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                dropped_bytes = bytes.len() - valid_len,
                "commit log ends with a torn record; truncating it"
            );
            file.set_len(valid_len as u64).map_err(|e| io_error(&path, e))?;
            file.sync_all().map_err(|e| io_error(&path, e))?;
            file.seek(SeekFrom::End(0)).map_err(|e| io_error(&path, e))?;
        }
        let mut recovered = Recovered::default();
        for record in records {
            match record {
                LogRecord::ReserveXids { limit } => {
                    recovered.xid_limit = recovered.xid_limit.max(limit);
                }
                LogRecord::ReserveIdentities { table, limit } => {
                    let known = recovered.identity_limits.entry(table).or_default();
                    *known = (*known).max(limit);
                }
                LogRecord::Commit {
                    xid,
                    csn,
                    catalog,
                    wrote,
                    dropped,
                } => {
                    recovered.committed.insert(xid, csn);
                    recovered.last_csn = recovered.last_csn.max(csn);
                    if catalog {
                        recovered.catalog_csn = csn;
                    }
                    for table in wrote {
                        recovered.table_last_write.insert(table, csn);
                    }
                    recovered.dropped.extend(dropped);
                }
            }
        }
        Ok((CommitLog { path, file }, recovered))
    }

    /// Appends a record and waits until it is durable.
    pub fn append(&mut self, record: &LogRecord) -> Result<()> {
        let payload = serde_json::to_vec(record).expect("log records serialize");
        let mut frame = Vec::with_capacity(payload.len() + 8);
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        frame.extend_from_slice(&payload);
        self.file
            .write_all(&frame)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| io_error(&self.path, e))
    }
}

fn decode_records(bytes: &[u8]) -> (Vec<LogRecord>, usize) {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().unwrap());
        let Some(payload) = bytes.get(offset + 8..offset + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(record) = serde_json::from_slice(payload) else {
            break;
        };
        records.push(record);
        offset += 8 + len;
    }
    (records, offset)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("commit log {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_and_truncates_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut log, recovered) = CommitLog::open(dir.path()).unwrap();
            assert_eq!(recovered.last_csn, 0);
            log.append(&LogRecord::ReserveXids { limit: 100 }).unwrap();
            log.append(&LogRecord::ReserveIdentities { table: 7, limit: 1000 }).unwrap();
            log.append(&LogRecord::Commit {
                xid: 3,
                csn: 1,
                catalog: true,
                wrote: BTreeSet::from([7]),
                dropped: vec![],
            })
            .unwrap();
        }
        // A torn record: a length prefix with half a payload.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("commit.log"))
            .unwrap();
        f.write_all(&[40, 0, 0, 0, 1, 2, 3, 4, b'{']).unwrap();
        drop(f);
        let (mut log, recovered) = CommitLog::open(dir.path()).unwrap();
        assert_eq!(recovered.xid_limit, 100);
        assert_eq!(recovered.identity_limits.get(&7), Some(&1000));
        assert_eq!(recovered.committed.get(&3), Some(&1));
        assert_eq!(recovered.catalog_csn, 1);
        assert_eq!(recovered.table_last_write.get(&7), Some(&1));
        log.append(&LogRecord::Commit {
            xid: 4,
            csn: 2,
            catalog: false,
            wrote: BTreeSet::new(),
            dropped: vec![9],
        })
        .unwrap();
        drop(log);
        let (_, recovered) = CommitLog::open(dir.path()).unwrap();
        assert_eq!(recovered.last_csn, 2);
        assert_eq!(recovered.dropped, vec![9]);
    }
}
