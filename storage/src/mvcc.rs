//! Multi-version visibility.
//!
//! The leader numbers transactions (xid) and, at commit, assigns each a commit sequence number
//! (csn) from a single durable counter. A [`Stamp`] records which transaction made a change and,
//! once known, its csn; a [`Snapshot`] is the csn a reader started at plus the reader's own xid.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub xid: u64,
    /// `None` while the transaction is in flight (or after a crash, until the leader settles it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csn: Option<u64>,
}

impl Stamp {
    pub fn pending(xid: u64) -> Self {
        Stamp { xid, csn: None }
    }

    pub fn is_visible(&self, snapshot: &Snapshot) -> bool {
        self.xid == snapshot.xid || self.csn.is_some_and(|csn| csn <= snapshot.csn)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Every commit with a csn at or below this one is visible.
    pub csn: u64,
    /// The reader's own transaction, whose uncommitted changes it sees (0 for none).
    pub xid: u64,
}

impl Snapshot {
    /// A snapshot that sees every committed change and no uncommitted one.
    pub fn latest() -> Self {
        Snapshot {
            csn: u64::MAX,
            xid: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_follows_csn_and_own_xid() {
        let snapshot = Snapshot { csn: 10, xid: 7 };
        assert!(Stamp { xid: 3, csn: Some(10) }.is_visible(&snapshot));
        assert!(!Stamp { xid: 4, csn: Some(11) }.is_visible(&snapshot));
        assert!(!Stamp::pending(5).is_visible(&snapshot));
        assert!(Stamp::pending(7).is_visible(&snapshot));
    }
}
