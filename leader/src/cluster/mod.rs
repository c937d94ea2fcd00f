//! The leader's view of its compute nodes: where they are, which slices each owns, and the
//! control calls of the commit protocol.
//!
//! The topology is fixed when the cluster is first started: node `i` (the `i`-th `--compute`
//! address) owns the slices numbered from `first_slice(i)`. Each node records its position, so a
//! node started against the wrong cluster, or in the wrong position, is refused.

pub mod writer;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blueshift_compute::channels;
use blueshift_proto::compute_control_client::ComputeControlClient;
use blueshift_proto::{
    AbortRequest, AttachRequest, Block, BlocklistRequest, CommitRequest, DeleteRowsRequest, DropTablesRequest, SegmentDeletes,
    SliceStats, Snapshot as SnapshotProto, TableStatsRequest, TruncateTableRequest, PurgeDroppedRequest, VacuumTableRequest, VacuumTableResponse,
};
use blueshift_storage::Snapshot;
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

use crate::error::{Error, Result, SqlState};
use crate::txn::{Outcome, TransactionManager};

/// How long a control call may take before the node is considered unreachable.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Topology {
    cluster_id: String,
    /// Slice count of each node, in node order.
    slices_per_node: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeHealth {
    Up,
    /// Missed a commit or abort: must be settled before it serves queries again.
    NeedsReconcile,
}

#[derive(Debug)]
pub struct ComputeNode {
    pub index: usize,
    /// `http://host:port`
    pub address: String,
    pub first_slice: u32,
    pub slice_count: u32,
    health: Mutex<NodeHealth>,
}

impl ComputeNode {
    pub fn slices(&self) -> std::ops::Range<u32> {
        self.first_slice..self.first_slice + self.slice_count
    }

    pub fn health(&self) -> NodeHealth {
        *self.health.lock().unwrap()
    }

    pub(crate) fn control(&self) -> Result<ComputeControlClient<Channel>> {
        let channel = channels::channel(&self.address)
            .map_err(|e| self.error(e))?;
        Ok(ComputeControlClient::new(channel))
    }

    /// An error about this node, naming it.
    pub fn error(&self, e: impl std::fmt::Display) -> Error {
        Error::new(
            SqlState::ConnectionFailure,
            format!("compute node {} ({}) failed: {e}", self.index, self.address),
        )
    }
}

pub struct Cluster {
    pub cluster_id: String,
    pub nodes: Vec<Arc<ComputeNode>>,
    /// Where each EVEN table's round-robin continues.
    even_cursors: Mutex<HashMap<u32, u64>>,
}

impl Cluster {
    /// Connects to the compute nodes at `addresses` (host:port), attaching new ones and settling
    /// transactions they still hold. Waits up to `wait` for nodes that are not up yet.
    pub async fn connect(
        dir: &Path,
        addresses: &[String],
        txns: &TransactionManager,
        wait: Duration,
    ) -> Result<Cluster> {
        let topology_path = dir.join("cluster.json");
        let saved: Option<Topology> = std::fs::read(&topology_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(saved) = &saved
            && saved.slices_per_node.len() != addresses.len()
        {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!(
                    "this cluster has {} compute nodes but {} were given; restore from a snapshot to change the node count",
                    saved.slices_per_node.len(),
                    addresses.len()
                ),
            ));
        }
        let cluster_id = saved
            .as_ref()
            .map(|t| t.cluster_id.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut nodes = Vec::new();
        let mut first_slice = 0;
        for (index, host_port) in addresses.iter().enumerate() {
            let address = format!("http://{host_port}");
            let node = ComputeNode {
                index,
                address,
                first_slice,
                slice_count: 0,
                health: Mutex::new(NodeHealth::NeedsReconcile),
            };
            let response = attach_with_retry(&node, &cluster_id, wait).await?;
            if let Some(saved) = &saved
                && saved.slices_per_node[index] != response.slice_count
            {
                return Err(node.error(format!(
                    "it has {} slices, the cluster expects {}",
                    response.slice_count, saved.slices_per_node[index]
                )));
            }
            let node = ComputeNode {
                slice_count: response.slice_count,
                ..node
            };
            first_slice += response.slice_count;
            nodes.push(Arc::new(node));
        }
        let topology = Topology {
            cluster_id: cluster_id.clone(),
            slices_per_node: nodes.iter().map(|n| n.slice_count).collect(),
        };
        if saved.is_none() {
            std::fs::write(&topology_path, serde_json::to_vec(&topology).unwrap()).map_err(|e| {
                Error::internal(format!("cannot write {}: {e}", topology_path.display()))
            })?;
        }
        let cluster = Cluster {
            cluster_id,
            nodes,
            even_cursors: Mutex::default(),
        };
        for node in &cluster.nodes {
            cluster.reconcile(node, txns).await?;
        }
        Ok(cluster)
    }

    pub fn slice_count(&self) -> u32 {
        self.nodes.iter().map(|n| n.slice_count).sum()
    }

    /// Every slice, in order.
    pub fn slices(&self) -> Vec<u32> {
        (0..self.slice_count()).collect()
    }

    pub fn node_of_slice(&self, slice: u32) -> &Arc<ComputeNode> {
        self.nodes
            .iter()
            .find(|n| n.slices().contains(&slice))
            .expect("slice numbers come from the topology")
    }

    /// The slice holding each node's copy of a DISTSTYLE ALL table.
    pub fn all_copy_slices(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.first_slice).collect()
    }

    /// Flight address of each slice's node.
    pub fn locations(&self) -> HashMap<u32, String> {
        self.nodes
            .iter()
            .flat_map(|n| n.slices().map(move |s| (s, n.address.clone())))
            .collect()
    }

    /// Reserves `rows` positions of a table's EVEN round-robin, returning the first. A table's
    /// first write starts at a random slice so small tables do not all pile onto slice 0.
    pub fn advance_even_cursor(&self, table: u32, rows: u64) -> u64 {
        let mut cursors = self.even_cursors.lock().unwrap();
        let cursor = cursors
            .entry(table)
            .or_insert_with(|| rand::random::<u64>() % u64::from(self.slice_count().max(1)));
        let start = *cursor;
        *cursor = cursor.wrapping_add(rows);
        start
    }

    /// The error to report for a query whose connection to a node broke, naming the node.
    ///
    /// A stream from a node that died ends with a transport error that does not say which node
    /// it came from; the node that no longer accepts connections is the one. `None` if the
    /// failure was not a lost connection, or every node answers again.
    pub async fn name_lost_node(&self, message: &str) -> Option<Error> {
        if !is_connection_failure(message) {
            return None;
        }
        // A node that is still exiting may accept connections for a moment after its streams
        // broke: look again for a short while before concluding every node is up.
        for _ in 0..10 {
            for node in &self.nodes {
                let address = node.address.trim_start_matches("http://");
                let connect = tokio::net::TcpStream::connect(address);
                if !matches!(tokio::time::timeout(Duration::from_secs(1), connect).await, Ok(Ok(_))) {
                    return Some(node.error(format!("the connection to it was lost ({message})")));
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None
    }

    /// Fails if a node has not been settled since it missed a commit.
    pub fn check_ready(&self) -> Result<()> {
        match self.nodes.iter().find(|n| n.health() != NodeHealth::Up) {
            None => Ok(()),
            Some(node) => Err(node.error("it is recovering; try again when it is back")),
        }
    }

    /// Settles a node: commits or aborts every transaction it holds uncommitted writes for.
    pub async fn reconcile(&self, node: &ComputeNode, txns: &TransactionManager) -> Result<()> {
        let response = attach_once(node, &self.cluster_id).await?;
        let mut client = node.control()?;
        for xid in response.pending_xids {
            let call = match txns.outcome(xid) {
                Outcome::Committed(csn) => client.commit(CommitRequest { xid, csn }).await.map(|_| ()),
                Outcome::Aborted => client.abort(AbortRequest { xid }).await.map(|_| ()),
                Outcome::InProgress => Ok(()),
            };
            call.map_err(|e| node.error(e.message()))?;
        }
        *node.health.lock().unwrap() = NodeHealth::Up;
        Ok(())
    }

    /// Settles every node that missed a commit, if it is reachable again.
    pub async fn reconcile_lagging(&self, txns: &TransactionManager) {
        for node in &self.nodes {
            if node.health() == NodeHealth::NeedsReconcile
                && let Err(e) = self.reconcile(node, txns).await
            {
                tracing::debug!(node = node.index, error = %e, "node not settled yet");
            }
        }
    }

    /// Tells the nodes a transaction committed. A node that cannot be told is marked for
    /// reconciliation: the commit is already durable in the log, so it will learn it later.
    pub async fn commit_on(&self, nodes: &BTreeSet<usize>, xid: u64, csn: u64) {
        self.settle_on(nodes, xid, Some(csn)).await;
    }

    /// Tells the nodes a transaction aborted (best effort: a node that misses it discards the
    /// writes when it is reconciled).
    pub async fn abort_on(&self, nodes: &BTreeSet<usize>, xid: u64) {
        self.settle_on(nodes, xid, None).await;
    }

    /// Commits (at `csn`) or aborts `xid` on each of `nodes`, marking those it cannot reach.
    async fn settle_on(&self, nodes: &BTreeSet<usize>, xid: u64, csn: Option<u64>) {
        let calls = nodes.iter().map(|&i| {
            let node = Arc::clone(&self.nodes[i]);
            async move {
                let result = async {
                    let mut client = node.control()?;
                    let call = async {
                        match csn {
                            Some(csn) => client.commit(CommitRequest { xid, csn }).await.map(|_| ()),
                            None => client.abort(AbortRequest { xid }).await.map(|_| ()),
                        }
                    };
                    tokio::time::timeout(CONTROL_TIMEOUT, call)
                        .await
                        .map_err(|_| node.error("the call timed out"))?
                        .map_err(|e| node.error(e.message()))
                }
                .await;
                if let Err(e) = result {
                    let what = if csn.is_some() { "commit" } else { "abort" };
                    tracing::warn!(node = node.index, xid, error = %e, "node missed an {what}");
                    *node.health.lock().unwrap() = NodeHealth::NeedsReconcile;
                }
            }
        });
        futures::future::join_all(calls).await;
    }

    /// Marks rows deleted by transaction `xid`: positions per (slice, segment).
    pub async fn delete_rows(
        &self,
        xid: u64,
        table: u32,
        rows: &HashMap<(u32, u64), roaring::RoaringBitmap>,
    ) -> Result<()> {
        let mut per_node: HashMap<usize, Vec<SegmentDeletes>> = HashMap::new();
        for ((slice, segment), positions) in rows {
            let mut bytes = Vec::with_capacity(positions.serialized_size());
            positions
                .serialize_into(&mut bytes)
                .map_err(|e| Error::internal(e.to_string()))?;
            per_node
                .entry(self.node_of_slice(*slice).index)
                .or_default()
                .push(SegmentDeletes {
                    slice: *slice,
                    segment_id: *segment,
                    positions: bytes,
                });
        }
        let calls = per_node.into_iter().map(|(index, deletes)| {
            let node = Arc::clone(&self.nodes[index]);
            async move {
                let mut client = node.control()?;
                client
                    .delete_rows(DeleteRowsRequest {
                        xid,
                        table_id: u64::from(table),
                        deletes,
                    })
                    .await
                    .map_err(|e| node.error(e.message()))?;
                Ok::<_, Error>(())
            }
        });
        futures::future::try_join_all(calls).await?;
        Ok(())
    }

    /// Drops, for transaction `xid`, every row of a table on every node.
    pub async fn truncate(&self, xid: u64, table: u32) -> Result<()> {
        let calls = self.nodes.iter().map(|node| async move {
            let mut client = node.control()?;
            client
                .truncate_table(TruncateTableRequest {
                    xid,
                    table_id: u64::from(table),
                })
                .await
                .map_err(|e| node.error(e.message()))?;
            Ok::<_, Error>(())
        });
        futures::future::try_join_all(calls).await?;
        Ok(())
    }

    /// Vacuums a table on every node (as `request.xid`); returns the nodes' summaries added up.
    pub async fn vacuum(&self, request: VacuumTableRequest) -> Result<VacuumTableResponse> {
        let calls = self.nodes.iter().map(|node| {
            let request = request.clone();
            async move {
                let mut client = node.control()?;
                let response = client.vacuum_table(request).await.map_err(|e| node.error(e.message()))?;
                Ok::<_, Error>(response.into_inner())
            }
        });
        let responses = futures::future::try_join_all(calls).await?;
        Ok(responses.into_iter().fold(VacuumTableResponse::default(), |total, r| VacuumTableResponse {
            rows_sorted: total.rows_sorted + r.rows_sorted,
            rows_reclaimed: total.rows_reclaimed + r.rows_reclaimed,
            segments_replaced: total.segments_replaced + r.segments_replaced,
            segments_written: total.segments_written + r.segments_written,
        }))
    }

    /// Has every node forget the segments whose drop committed at or before `csn`; returns the
    /// bytes of files removed.
    pub async fn purge_dropped(&self, csn: u64) -> Result<u64> {
        let calls = self.nodes.iter().map(|node| async move {
            let mut client = node.control()?;
            let response = client.purge_dropped(PurgeDroppedRequest { csn }).await.map_err(|e| node.error(e.message()))?;
            Ok::<_, Error>(response.into_inner().bytes)
        });
        Ok(futures::future::try_join_all(calls).await?.into_iter().sum())
    }

    pub async fn drop_tables(&self, tables: &[u32]) -> Result<()> {
        let table_ids: Vec<u64> = tables.iter().map(|&t| u64::from(t)).collect();
        for node in &self.nodes {
            let mut client = node.control()?;
            client
                .drop_tables(DropTablesRequest {
                    table_ids: table_ids.clone(),
                })
                .await
                .map_err(|e| node.error(e.message()))?;
        }
        Ok(())
    }

    /// Zone maps of every visible segment column, of one table or all, from every node.
    pub async fn blocklist(&self, table: Option<u32>, snapshot: Snapshot) -> Result<Vec<Block>> {
        let calls = self.nodes.iter().map(|node| async move {
            let mut client = node.control()?;
            let response = client
                .blocklist(BlocklistRequest {
                    table_id: table.map_or(0, u64::from),
                    snapshot: Some(SnapshotProto {
                        csn: snapshot.csn,
                        xid: snapshot.xid,
                    }),
                })
                .await
                .map_err(|e| node.error(e.message()))?;
            Ok::<_, Error>(response.into_inner().blocks)
        });
        let per_node = futures::future::try_join_all(calls).await?;
        Ok(per_node.into_iter().flatten().collect())
    }

    /// Rows, segments and bytes of a table on every slice, as of `snapshot`.
    pub async fn table_stats(&self, table: u32, snapshot: Snapshot) -> Result<Vec<SliceStats>> {
        let calls = self.nodes.iter().map(|node| async move {
            let mut client = node.control()?;
            let response = client
                .table_stats(TableStatsRequest {
                    table_id: u64::from(table),
                    snapshot: Some(SnapshotProto {
                        csn: snapshot.csn,
                        xid: snapshot.xid,
                    }),
                })
                .await
                .map_err(|e| node.error(e.message()))?;
            Ok::<_, Error>(response.into_inner().slices)
        });
        let per_node = futures::future::try_join_all(calls).await?;
        Ok(per_node.into_iter().flatten().collect())
    }
}

async fn attach_once(node: &ComputeNode, cluster_id: &str) -> Result<blueshift_proto::AttachResponse> {
    let mut client = node.control()?;
    let response = tokio::time::timeout(
        CONTROL_TIMEOUT,
        client.attach(AttachRequest {
            cluster_id: cluster_id.to_string(),
            node_index: node.index as u32,
            first_slice: node.first_slice,
        }),
    )
    .await
    .map_err(|_| node.error("attach timed out"))?
    .map_err(|e| node.error(e.message()))?;
    Ok(response.into_inner())
}

async fn attach_with_retry(
    node: &ComputeNode,
    cluster_id: &str,
    wait: Duration,
) -> Result<blueshift_proto::AttachResponse> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match attach_once(node, cluster_id).await {
            Ok(r) => return Ok(r),
            Err(e) if tokio::time::Instant::now() < deadline && !e.message.contains("belongs to cluster") => {
                tracing::info!(node = node.index, address = %node.address, "waiting for compute node");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether an error's text says a connection to a node failed (as opposed to the query failing
/// on the node).
fn is_connection_failure(message: &str) -> bool {
    let message = message.to_lowercase();
    [
        "transport error",
        "h2 protocol error",
        "broken pipe",
        "connection refused",
        "connection reset",
        "tcp connect error",
        "error trying to connect",
        "status: unavailable",
    ]
    .iter()
    .any(|pattern| message.contains(pattern))
}
