//! Automatic vacuum: what Redshift's automatic table sort and automatic VACUUM DELETE do in the
//! background, so that tables loaded in many overlapping COPYs, or thinned by DELETEs, get their
//! scans' zone-map pruning and their space back without anyone running VACUUM.
//!
//! It runs only while the cluster is idle. Every interval, if no transaction is in progress and no
//! VACUUM statement runs, it gives each table the pass a `VACUUM FULL` with Redshift's default
//! threshold (95%) would: slices with more than 5% of their rows unsorted or deleted are
//! rewritten, others are left alone. Each table's pass commits only if the cluster is still
//! idle when it is done ([`CommitRule::IfAlone`]); otherwise it is rolled back and tried again on
//! a later interval. That way it delays a user by at most one table's pass (a writer of the table
//! waits for its lock), and does not make users' transactions fail: one that read a table before
//! the pass committed and then wrote it would fail with error 1023. (The one exception is a
//! transaction that begins in the milliseconds the pass's commit takes to reach the nodes.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use blueshift_proto::VacuumMode;

use crate::catalog::provider::Services;
use crate::handler::vacuum::{CommitRule, DEFAULT_THRESHOLD_PERCENT, rewrite};

pub struct AutoVacuum {
    interval: Duration,
    last: Instant,
}

impl AutoVacuum {
    pub fn new(interval: Duration) -> AutoVacuum {
        AutoVacuum {
            interval,
            last: Instant::now(),
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
        for table in tables {
            let vacuum_statement_running = services.vacuum_running.try_lock().is_err();
            if services.txns.in_progress() > 0 || vacuum_statement_running {
                return;
            }
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
    }
}
