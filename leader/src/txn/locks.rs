//! Table write locks and the catalog lock, held until the owning transaction ends.
//!
//! Like Redshift, writers of one table queue behind each other while readers never wait (they read
//! their snapshot). A wait that would close a cycle fails at once with a deadlock error instead of
//! hanging until a timeout.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::error::{Error, Result, SqlState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockKey {
    /// Exclusive right to change a table's rows.
    Table(u32),
    /// Exclusive right to change the catalog (DDL).
    Catalog,
}

#[derive(Default)]
struct LockTable {
    holders: HashMap<LockKey, u64>,
    /// What each blocked transaction waits for.
    waiting: HashMap<u64, LockKey>,
}

#[derive(Default)]
pub struct LockManager {
    table: Mutex<LockTable>,
    released: Notify,
}

impl LockManager {
    /// Takes `key` for `xid`, waiting while another transaction holds it. Returns whether the lock
    /// was newly taken (false if `xid` already held it).
    pub async fn acquire(&self, key: LockKey, xid: u64) -> Result<bool> {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut table = self.table.lock().unwrap();
                match table.holders.get(&key) {
                    None => {
                        table.holders.insert(key, xid);
                        table.waiting.remove(&xid);
                        return Ok(true);
                    }
                    Some(&holder) if holder == xid => return Ok(false),
                    Some(&holder) => {
                        if Self::would_deadlock(&table, holder, xid) {
                            table.waiting.remove(&xid);
                            return Err(Error::new(SqlState::DeadlockDetected, "deadlock detected")
                                .with_detail(format!(
                                    "Transaction {xid} waits for {key:?}, held by transaction {holder}, which waits for transaction {xid}."
                                )));
                        }
                        table.waiting.insert(xid, key);
                    }
                }
            }
            // Stop waiting if the statement is cancelled: the guard removes the wait entry.
            let guard = WaitGuard { locks: self, xid };
            released.await;
            drop(guard);
        }
    }

    /// Whether `holder` (transitively) waits for a lock `xid` holds.
    fn would_deadlock(table: &LockTable, mut holder: u64, xid: u64) -> bool {
        for _ in 0..table.waiting.len() + 1 {
            let Some(key) = table.waiting.get(&holder) else {
                return false;
            };
            match table.holders.get(key) {
                Some(&next) if next == xid => return true,
                Some(&next) => holder = next,
                None => return false,
            }
        }
        false
    }

    pub fn holds(&self, key: LockKey, xid: u64) -> bool {
        self.table.lock().unwrap().holders.get(&key) == Some(&xid)
    }

    /// Releases everything `xid` holds.
    pub fn release_all(&self, xid: u64) {
        let mut table = self.table.lock().unwrap();
        table.holders.retain(|_, holder| *holder != xid);
        table.waiting.remove(&xid);
        drop(table);
        self.released.notify_waiters();
    }
}

struct WaitGuard<'a> {
    locks: &'a LockManager,
    xid: u64,
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.locks.table.lock().unwrap().waiting.remove(&self.xid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn writers_queue_and_cycles_fail_fast() {
        let locks = Arc::new(LockManager::default());
        assert!(locks.acquire(LockKey::Table(1), 10).await.unwrap());
        assert!(!locks.acquire(LockKey::Table(1), 10).await.unwrap());
        assert!(locks.acquire(LockKey::Table(2), 20).await.unwrap());

        // 20 waits for table 1 (held by 10)...
        let waiter = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move { locks.acquire(LockKey::Table(1), 20).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        // ...so 10 waiting for table 2 (held by 20) would deadlock.
        let err = locks.acquire(LockKey::Table(2), 10).await.unwrap_err();
        assert_eq!(err.message, "deadlock detected");

        locks.release_all(10);
        assert!(waiter.await.unwrap().unwrap());
        assert!(locks.holds(LockKey::Table(1), 20));
    }
}
