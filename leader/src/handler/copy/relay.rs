//! Passing quote counts between the compute nodes that read byte ranges of one CSV file.
//!
//! A CSV range learns whether it starts inside quotes from the quote counts of the ranges before
//! it ([`blueshift_compute::load::quotes`]). When a file's ranges are spread over several nodes,
//! each node reports the count of a range as soon as it has it, and the leader posts the count on
//! the board of every other node that reads a later range of the file. A node's board opens when
//! its task starts, so counts for a node whose task has not started yet wait here until it has.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use blueshift_compute::load::Format;
use blueshift_compute::load::quotes::RangeQuotes;
use blueshift_compute::load::reader::Chunk;
use blueshift_compute::load::task::QuotesRelay;

/// Board ids, unique among the loads this leader runs.
static NEXT_BOARD: AtomicU64 = AtomicU64::new(1);

pub struct QuoteRelay {
    pub board: u64,
    /// For each file, the nodes reading ranges of it and where the last of their ranges starts.
    readers: HashMap<String, Vec<(usize, u64)>>,
    /// Per node, the counts waiting for its task to start (`None`: it has started).
    waiting: Mutex<Vec<Option<Vec<RangeQuotes>>>>,
}

impl QuoteRelay {
    /// The relay for a load whose nodes read `shares` of `chunks`, if any CSV file's ranges are
    /// read by more than one node.
    pub fn new(chunks: &[Chunk], shares: &[Vec<usize>], format: &Format) -> Option<QuoteRelay> {
        if !matches!(format, Format::Csv { .. }) {
            return None;
        }
        let mut readers: HashMap<String, Vec<(usize, u64)>> = HashMap::new();
        for (node, share) in shares.iter().enumerate() {
            let mut last_starts: HashMap<String, u64> = HashMap::new();
            for chunk in share.iter().map(|i| &chunks[*i]) {
                if let Some(range) = &chunk.range {
                    let last = last_starts.entry(chunk.url.to_string()).or_default();
                    *last = (*last).max(range.start);
                }
            }
            for (url, last) in last_starts {
                readers.entry(url).or_default().push((node, last));
            }
        }
        readers.retain(|_, nodes| nodes.len() > 1);
        if readers.is_empty() {
            return None;
        }
        Some(QuoteRelay {
            board: NEXT_BOARD.fetch_add(1, Ordering::Relaxed),
            readers,
            waiting: Mutex::new(vec![Some(Vec::new()); shares.len()]),
        })
    }

    /// The nodes to post `counted`, read by node `from`, on now: each other node reading a later
    /// range of the file. Nodes whose task has not started get it when it does.
    pub fn forward(&self, from: usize, counted: RangeQuotes) -> Vec<(usize, QuotesRelay)> {
        let Some(readers) = self.readers.get(&counted.url) else {
            return Vec::new();
        };
        let mut waiting = self.waiting.lock().unwrap();
        let mut now = Vec::new();
        for &(node, last_start) in readers {
            if node == from || last_start <= counted.range.start {
                continue;
            }
            match &mut waiting[node] {
                Some(queue) => queue.push(counted.clone()),
                None => now.push((node, self.relay(counted.clone()))),
            }
        }
        now
    }

    /// Node `node`'s task has started, its board open: the counts that waited for it.
    pub fn started(&self, node: usize) -> Vec<QuotesRelay> {
        let queued = self.waiting.lock().unwrap()[node].take().unwrap_or_default();
        queued.into_iter().map(|counted| self.relay(counted)).collect()
    }

    fn relay(&self, counted: RangeQuotes) -> QuotesRelay {
        QuotesRelay {
            board: self.board,
            counted,
        }
    }
}

#[cfg(test)]
mod tests {
    use blueshift_compute::s3::S3Url;

    use super::*;

    fn range(key: &str, range: std::ops::Range<u64>) -> Chunk {
        Chunk {
            url: S3Url::parse(&format!("s3://bucket/{key}")).unwrap(),
            size: 300,
            range: Some(range),
            compression: None,
            row_groups: None,
        }
    }

    fn counted(key: &str, start: u64) -> RangeQuotes {
        RangeQuotes {
            url: format!("s3://bucket/{key}"),
            range: start..start + 100,
            quotes: 1,
        }
    }

    #[test]
    fn counts_reach_the_nodes_reading_later_ranges_once_their_tasks_start() {
        // File a's three ranges on nodes 0, 1, 0; file b's two on node 2 alone.
        let chunks = [range("a", 0..100), range("a", 100..200), range("a", 200..300), range("b", 0..100), range("b", 100..200)];
        let shares = [vec![0, 2], vec![1], vec![3, 4]];
        let csv = Format::Csv { quote: b'"' };
        assert!(QuoteRelay::new(&chunks, &shares, &Format::Delimited).is_none());
        assert!(QuoteRelay::new(&chunks, &[vec![0, 1, 2], vec![3, 4]], &csv).is_none(), "no file is shared");
        let relay = QuoteRelay::new(&chunks, &shares, &csv).unwrap();

        let targets = |posts: Vec<(usize, QuotesRelay)>| posts.into_iter().map(|(node, _)| node).collect::<Vec<_>>();
        assert_eq!(relay.started(0).len(), 0);
        // Node 1 has not started: its count of a's first range waits.
        assert_eq!(targets(relay.forward(0, counted("a", 0))), Vec::<usize>::new());
        let queued = relay.started(1);
        assert_eq!(queued.len(), 1);
        assert_eq!((queued[0].board, queued[0].counted.range.start), (relay.board, 0));
        // The middle range goes to node 0, which reads the last; the last range to no one.
        assert_eq!(targets(relay.forward(1, counted("a", 100))), vec![0]);
        assert_eq!(targets(relay.forward(0, counted("a", 200))), Vec::<usize>::new());
        assert_eq!(targets(relay.forward(2, counted("b", 0))), Vec::<usize>::new());
    }
}
