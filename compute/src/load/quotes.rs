//! How the byte ranges of a CSV file learn whether they start inside quotes.
//!
//! In CSV a newline inside quotes is data, so whether a range starts inside a quoted field
//! depends on every quote character before it. Each range counts the quotes it holds, posts the
//! count on its load's [`QuoteCounts`] board and waits until the ranges before it have posted
//! theirs. The ranges of one file may be read by several nodes: such a load's board also sends
//! the counts of the node's own ranges out, to the leader, which passes them to the nodes reading
//! later ranges, whose boards take them in through [`QuoteBoards`].
//!
//! The waits always end: every node starts its ranges in file order and a range posts before it
//! waits, so the first range of a file not yet posted is one its node is reading or starts once
//! the ranges before it, all posted, are done. A board that closes (its load ended or was cut
//! short) fails its waits instead of leaving them hanging.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use super::reader::ChunkError;
use crate::s3::S3Url;

/// The quote characters counted in one byte range of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeQuotes {
    pub url: String,
    pub range: Range<u64>,
    pub quotes: u64,
}

/// The quote counts of a load's CSV ranges: file → range start → (range end, quotes in the range).
#[derive(Debug)]
pub struct QuoteCounts {
    board: watch::Sender<Board>,
    /// Where the counts of this node's own ranges go to reach other nodes (`None`: no other node
    /// reads ranges of the load's files).
    outbox: Option<mpsc::UnboundedSender<RangeQuotes>>,
}

#[derive(Debug, Default)]
struct Board {
    ranges: HashMap<String, BTreeMap<u64, (u64, u64)>>,
    /// A range could not be read, or the board closed: later ranges of its files can never learn
    /// their parity.
    failed: bool,
}

impl Default for QuoteCounts {
    fn default() -> Self {
        QuoteCounts {
            board: watch::Sender::new(Board::default()),
            outbox: None,
        }
    }
}

impl QuoteCounts {
    /// The count of a range this node read.
    pub(super) fn post(&self, url: &S3Url, range: &Range<u64>, quotes: u64) {
        let counted = RangeQuotes {
            url: url.to_string(),
            range: range.clone(),
            quotes,
        };
        if let Some(outbox) = &self.outbox {
            // The receiver is gone only once the task's replies have ended.
            let _ = outbox.send(counted.clone());
        }
        self.take(counted);
    }

    /// The count of a range another node read.
    fn take(&self, counted: RangeQuotes) {
        self.board.send_modify(|board| {
            board.ranges.entry(counted.url).or_default().insert(counted.range.start, (counted.range.end, counted.quotes));
        });
    }

    pub(super) fn fail(&self) {
        self.board.send_modify(|board| board.failed = true);
    }

    /// Whether an odd number of quote characters precede byte `start` of the file, once the
    /// ranges before it have posted their counts.
    pub(super) async fn odd_before(&self, url: &S3Url, start: u64) -> Result<bool, ChunkError> {
        let key = url.to_string();
        let mut receiver = self.board.subscribe();
        let mut parity = None;
        receiver
            .wait_for(|board| {
                parity = quotes_before(board.ranges.get(&key), start).map(|quotes| quotes % 2 == 1);
                parity.is_some() || board.failed
            })
            .await
            .map_err(|e| ChunkError::Data(e.to_string()))?;
        parity.ok_or_else(|| ChunkError::Data(format!("{url}: an earlier part of the file could not be read")))
    }
}

/// The quotes in `[0, start)` if posted ranges cover it without a gap.
fn quotes_before(ranges: Option<&BTreeMap<u64, (u64, u64)>>, start: u64) -> Option<u64> {
    let (mut at, mut quotes) = (0, 0);
    while at < start {
        let (end, count) = ranges?.get(&at)?;
        (at, quotes) = (*end, quotes + count);
    }
    Some(quotes)
}

/// The boards of the loads running on this node whose files other nodes read ranges of too, by
/// the id the leader gave the load.
#[derive(Debug, Default)]
pub struct QuoteBoards {
    open: Mutex<HashMap<u64, Arc<QuoteCounts>>>,
}

/// A board open for other nodes' counts while its load runs here.
pub struct OpenBoard {
    boards: Arc<QuoteBoards>,
    id: u64,
    pub counts: Arc<QuoteCounts>,
}

impl QuoteBoards {
    /// Opens board `id` for a load starting on this node: the counts its ranges post come out of
    /// the receiver. The board is open until the returned handle drops.
    pub fn open(self: &Arc<Self>, id: u64) -> (OpenBoard, mpsc::UnboundedReceiver<RangeQuotes>) {
        let (outbox, receiver) = mpsc::unbounded_channel();
        let counts = Arc::new(QuoteCounts {
            board: watch::Sender::new(Board::default()),
            outbox: Some(outbox),
        });
        self.open.lock().unwrap().insert(id, Arc::clone(&counts));
        let board = OpenBoard {
            boards: Arc::clone(self),
            id,
            counts,
        };
        (board, receiver)
    }

    /// Posts another node's count on board `id`. A board that is not open belongs to a load that
    /// has ended here, which needs no more counts.
    pub fn relay(&self, id: u64, counted: RangeQuotes) {
        if let Some(counts) = self.open.lock().unwrap().get(&id) {
            counts.take(counted);
        }
    }
}

impl Drop for OpenBoard {
    /// A load that ended early (another node failed, or the leader stopped it) leaves ranges that
    /// will never post: the waits for them fail rather than hang.
    fn drop(&mut self) {
        self.boards.open.lock().unwrap().remove(&self.id);
        self.counts.fail();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_from_other_nodes_end_the_wait_and_a_closed_board_fails_it() {
        let boards = Arc::new(QuoteBoards::default());
        let url = S3Url::parse("s3://b/f.csv").unwrap();
        let (board, mut outbox) = boards.open(7);
        board.counts.post(&url, &(10..20), 3);
        assert_eq!(outbox.recv().await.unwrap(), RangeQuotes { url: url.to_string(), range: 10..20, quotes: 3 });

        let waiting = tokio::spawn({
            let counts = Arc::clone(&board.counts);
            let url = url.clone();
            async move { counts.odd_before(&url, 20).await }
        });
        // The range before, read by another node, and a board no load here has.
        boards.relay(7, RangeQuotes { url: url.to_string(), range: 0..10, quotes: 4 });
        boards.relay(8, RangeQuotes { url: url.to_string(), range: 20..30, quotes: 1 });
        assert!(waiting.await.unwrap().unwrap(), "4 + 3 quotes before byte 20");
        assert!(outbox.try_recv().is_err(), "only the node's own counts go out");

        let never = tokio::spawn({
            let counts = Arc::clone(&board.counts);
            async move { counts.odd_before(&url, 40).await }
        });
        drop(board);
        assert!(never.await.unwrap().is_err());
        assert!(boards.open.lock().unwrap().is_empty());
    }
}
