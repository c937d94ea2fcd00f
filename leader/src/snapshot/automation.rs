//! Automated snapshots, retention and cross-region copies, run by the leader once a second.
//!
//! An automated snapshot is due when data changed since the last one and either `interval` has
//! passed or `change_bytes` of segment files were committed since; the clock and the byte mark
//! restart from the newest automated snapshot of this cluster in the store. Snapshots past their
//! retention are deleted in every region, then the objects no remaining snapshot refers to.
//! With copying enabled (`snapshot enable-copy`, kept in the leader's data directory), every
//! automated snapshot taken from then on is also copied to the chosen region.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::store::Kind;
use super::{Snapshots, collect_garbage, now_ms};
use crate::catalog::provider::Services;
use crate::error::{Error, Result};

/// Copying every new automated snapshot to another region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyRule {
    pub to_region: String,
    /// Retention of the copies, in days (`None`: the source snapshot's).
    pub retention_days: Option<i64>,
    /// Snapshots created before this (ms since the epoch) are not copied.
    pub since_ms: i64,
}

#[derive(Default)]
struct Marks {
    /// When the last automated snapshot was taken (`None` until learned from the store).
    last_ms: Option<i64>,
    last_csn: u64,
    /// Committed bytes counted at the last automated snapshot.
    bytes: u64,
}

pub(crate) struct Automation {
    marks: Mutex<Marks>,
    copy_path: PathBuf,
    copy: Mutex<Option<CopyRule>>,
    copied: Mutex<BTreeSet<String>>,
}

impl Automation {
    pub(crate) fn open(data_dir: &Path) -> Automation {
        let copy_path = data_dir.join("snapshot-copy.json");
        let copy = std::fs::read(&copy_path).ok().and_then(|b| serde_json::from_slice(&b).ok());
        Automation {
            marks: Mutex::default(),
            copy_path,
            copy: Mutex::new(copy),
            copied: Mutex::default(),
        }
    }

    /// Records an automated snapshot of commit `csn`, taken when `bytes` had been committed.
    pub(crate) fn taken(&self, created_ms: i64, csn: u64, bytes: u64) {
        *self.marks.lock().unwrap() = Marks { last_ms: Some(created_ms), last_csn: csn, bytes };
    }
}

impl Snapshots {
    /// Copies every automated snapshot taken from now on to `to_region`.
    pub fn enable_copy(&self, to_region: &str, retention_days: Option<i64>) -> Result<()> {
        self.region(to_region)?;
        let rule = CopyRule { to_region: to_region.to_string(), retention_days, since_ms: now_ms() };
        let path = &self.automation.copy_path;
        std::fs::write(path, serde_json::to_vec(&rule).expect("rules serialize"))
            .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))?;
        *self.automation.copy.lock().unwrap() = Some(rule);
        Ok(())
    }

    /// One round of automation; failures are logged and retried on the next round.
    pub async fn tick(&self, services: &Services) {
        if self.region("").is_err() {
            return;
        }
        if let Err(e) = self.take_automated(services).await {
            tracing::warn!(error = %e, "automated snapshot failed");
        }
        if let Err(e) = self.copy_automated().await {
            tracing::warn!(error = %e, "copying automated snapshots failed");
        }
        if let Err(e) = self.expire().await {
            tracing::warn!(error = %e, "expiring snapshots failed");
        }
    }

    async fn take_automated(&self, services: &Services) -> Result<()> {
        let retention = self.config.retention;
        if retention.is_zero() {
            return Ok(());
        }
        if self.automation.marks.lock().unwrap().last_ms.is_none() {
            let newest = self
                .region("")?
                .list()
                .await?
                .into_iter()
                .filter(|s| s.kind == Kind::Automated && s.cluster_id == services.cluster.cluster_id)
                .next_back();
            let mut marks = self.automation.marks.lock().unwrap();
            marks.last_ms = Some(newest.as_ref().map_or_else(now_ms, |s| s.created_ms));
            marks.last_csn = newest.map_or(0, |s| s.csn);
        }
        let due = {
            let marks = self.automation.marks.lock().unwrap();
            let changed = services.txns.last_csn() > marks.last_csn;
            let elapsed = Duration::from_millis((now_ms() - marks.last_ms.unwrap_or_default()).max(0) as u64);
            let written = services.txns.committed_bytes().saturating_sub(marks.bytes);
            changed && (elapsed >= self.config.interval || written >= self.config.change_bytes)
        };
        if due {
            let id = chrono::Utc::now().format("automated-%Y-%m-%d-%H-%M-%S-%3f").to_string();
            self.create(services, &id, Kind::Automated, Some(retention)).await?;
        }
        Ok(())
    }

    async fn copy_automated(&self) -> Result<()> {
        let Some(rule) = self.automation.copy.lock().unwrap().clone() else {
            return Ok(());
        };
        let retention = rule.retention_days.map(|d| Duration::from_secs(d.max(0) as u64 * 86_400));
        for summary in self.region("")?.list().await? {
            if summary.kind != Kind::Automated
                || summary.created_ms < rule.since_ms
                || self.automation.copied.lock().unwrap().contains(&summary.id)
            {
                continue;
            }
            if !self.region(&rule.to_region)?.has_snapshot(&summary.id).await? {
                self.copy(&summary.id, &rule.to_region, retention).await?;
            }
            self.automation.copied.lock().unwrap().insert(summary.id);
        }
        Ok(())
    }

    /// Deletes snapshots past their retention, in every region, and what only they referred to.
    async fn expire(&self) -> Result<()> {
        let now = now_ms();
        for store in self.regions.values() {
            let expired: Vec<String> = store.list().await?.into_iter().filter(|s| s.expired(now)).map(|s| s.id).collect();
            if expired.is_empty() {
                continue;
            }
            let _op = self.ops.lock().await;
            for id in &expired {
                store.remove(id).await?;
                tracing::info!(id, region = %store.region, "snapshot expired");
            }
            collect_garbage(store).await?;
        }
        Ok(())
    }
}
