//! Automatic vacuum: what Redshift's automatic table sort and automatic VACUUM DELETE do in the
//! background, so that tables loaded in many overlapping COPYs, or thinned by DELETEs, get their
//! scans' zone-map pruning and their space back without anyone running VACUUM.
//!
//! It runs only while nothing writes. Every interval, if no transaction that may write is in
//! progress (a query running on its own cannot write, so a dashboard polling the cluster does not
//! hold vacuum up) and no VACUUM statement runs, it gives each table the pass a `VACUUM FULL` with
//! Redshift's default threshold (95%) would: slices with more than 5% of their rows unsorted or
//! deleted are rewritten, others are left alone. Each table's pass commits only if no transaction
//! that may write is in progress when it is done ([`CommitRule::IfAlone`]); otherwise it is rolled
//! back and tried again on a later interval. That way it delays a user by at most one table's pass
//! (a writer of the table waits for its lock), and does not make users' transactions fail: one that
//! read a table before the pass committed and then wrote it would fail with error 1023. (The one
//! exception is a transaction that begins in the milliseconds the pass's commit takes to reach the
//! nodes.)
//!
//! A pass cut short by a user's transaction is taken up where it stopped, at the table whose
//! pass may have been rolled back, so that under intermittent load every table is reached in
//! turn rather than only those a short idle spell gets to first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use blueshift_proto::VacuumMode;

use crate::catalog::provider::Services;
use crate::handler::vacuum::{CommitRule, DEFAULT_THRESHOLD_PERCENT, rewrite};

pub struct AutoVacuum {
    interval: Duration,
    last: Instant,
    /// The table (by oid) the last pass stopped at, where the next one begins; 0 after a
    /// complete pass.
    resume_at: u32,
}

impl AutoVacuum {
    pub fn new(interval: Duration) -> AutoVacuum {
        AutoVacuum {
            interval,
            last: Instant::now(),
            resume_at: 0,
        }
    }

    /// Runs a pass over every table if an interval has gone by since the last one.
    pub async fn tick(&mut self, services: &Arc<Services>) {
        if self.last.elapsed() < self.interval {
            return;
        }
        self.last = Instant::now();
        let catalog = services.txns.catalog();
        let tables = catalog.schemas.values().flat_map(|s| s.tables.values()).filter(|t| t.temp_owner.is_none());
        for table in pass_order(tables, |t| t.oid, self.resume_at) {
            let vacuum_statement_running = services.vacuum_running.try_lock().is_err();
            if services.txns.writers_in_progress() > 0 || vacuum_statement_running {
                return;
            }
            self.resume_at = table.oid;
            match rewrite(services, table, VacuumMode::VacuumFull, DEFAULT_THRESHOLD_PERCENT, CommitRule::IfAlone).await {
                Ok(done) if done.segments_replaced > 0 => tracing::info!(
                    table = %table.name,
                    rows_sorted = done.rows_sorted,
                    rows_reclaimed = done.rows_reclaimed,
                    segments_replaced = done.segments_replaced,
                    segments_written = done.segments_written,
                    "automatic vacuum"
                ),
                Ok(_) => {}
                Err(e) => {
                    // Likely the same for every table (a compute node is down): try again next time.
                    tracing::warn!(table = %table.name, error = %e, "automatic vacuum failed");
                    return;
                }
            }
        }
        self.resume_at = 0;
    }
}

/// `tables` in the order a pass visits them: by oid, from `resume_at` on, then the ones before it.
fn pass_order<T>(tables: impl Iterator<Item = T>, oid: impl Fn(&T) -> u32, resume_at: u32) -> Vec<T> {
    let mut tables: Vec<T> = tables.collect();
    tables.sort_by_key(&oid);
    let start = tables.partition_point(|t| oid(t) < resume_at);
    tables.rotate_left(start);
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pass begins at the table the last one stopped at, or at the next one if that table is
    /// gone, and still visits every table once.
    #[test]
    fn a_pass_resumes_where_the_last_one_stopped() {
        let order = |resume_at| pass_order([30, 10, 40, 20].into_iter(), |oid| *oid, resume_at);
        assert_eq!(order(0), vec![10, 20, 30, 40]);
        assert_eq!(order(30), vec![30, 40, 10, 20]);
        assert_eq!(order(25), vec![30, 40, 10, 20]);
        assert_eq!(order(50), vec![10, 20, 30, 40]);
    }
}
