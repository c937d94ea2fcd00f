//! The compute node's control service: cluster membership, the commit protocol, and the node's
//! part of snapshots.

use std::sync::Arc;

use blueshift_proto::compute_control_server::ComputeControl;
use blueshift_proto::{
    AbortRequest, Ack, AttachRequest, AttachResponse, Block, BlocklistRequest, BlocklistResponse, CommitRequest,
    DeleteRowsRequest,
    DropTablesRequest, InstallImagesRequest, RestoreStatusRequest, RestoreStatusResponse, SliceStats, SnapshotSlicesRequest, SnapshotSlicesResponse, TableStatsRequest, TableStatsResponse, TruncateTableRequest,
    PurgeDroppedRequest, PurgeDroppedResponse, VacuumMode as ProtoVacuumMode, VacuumTableRequest, VacuumTableResponse,
};
use blueshift_storage::vacuum::{VacuumMode, VacuumSpec, sorted_region};
use blueshift_storage::{NodeStore, Snapshot, StorageError};
use roaring::RoaringBitmap;
use tonic::{Request, Response, Status};

use crate::restore::Restorer;

pub struct ComputeControlService {
    store: Arc<NodeStore>,
    object_names: Arc<crate::snapshot::ObjectNames>,
    restorer: Arc<Restorer>,
}

impl ComputeControlService {
    pub fn new(store: Arc<NodeStore>, restorer: Arc<Restorer>) -> Self {
        ComputeControlService {
            store,
            object_names: Arc::default(),
            restorer,
        }
    }

    /// Runs blocking storage work off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&NodeStore) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, Status> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(storage_status)
    }
}

fn storage_status(e: StorageError) -> Status {
    match e {
        StorageError::UnknownSlice(_) | StorageError::UnknownSegment { .. } => {
            Status::not_found(e.to_string())
        }
        StorageError::Corrupt { .. } if e.to_string().contains("belongs to cluster") => {
            Status::failed_precondition(e.to_string())
        }
        _ => Status::internal(e.to_string()),
    }
}

#[tonic::async_trait]
impl ComputeControl for ComputeControlService {
    async fn attach(&self, request: Request<AttachRequest>) -> Result<Response<AttachResponse>, Status> {
        let r = request.into_inner();
        let (identity, pending) = self
            .blocking(move |store| {
                let identity = store.attach(&r.cluster_id, r.node_index, r.first_slice)?;
                Ok((identity, store.pending_xids()))
            })
            .await?;
        Ok(Response::new(AttachResponse {
            slice_count: identity.slice_count,
            pending_xids: pending,
        }))
    }

    async fn commit(&self, request: Request<CommitRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        self.blocking(move |store| store.commit(r.xid, r.csn)).await?;
        Ok(Response::new(Ack {}))
    }

    async fn abort(&self, request: Request<AbortRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        self.blocking(move |store| store.abort(r.xid)).await?;
        Ok(Response::new(Ack {}))
    }

    async fn delete_rows(&self, request: Request<DeleteRowsRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        self.blocking(move |store| {
            for d in &r.deletes {
                let positions = RoaringBitmap::deserialize_from(&d.positions[..]).map_err(|e| {
                    StorageError::Corrupt {
                        path: Default::default(),
                        reason: format!("bad delete bitmap: {e}"),
                    }
                })?;
                store.delete_rows(r.xid, r.table_id, d.slice, d.segment_id, &positions)?;
            }
            Ok(())
        })
        .await?;
        Ok(Response::new(Ack {}))
    }

    async fn truncate_table(&self, request: Request<TruncateTableRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        self.blocking(move |store| store.truncate(r.xid, r.table_id)).await?;
        Ok(Response::new(Ack {}))
    }

    async fn drop_tables(&self, request: Request<DropTablesRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        self.blocking(move |store| store.drop_tables(&r.table_ids)).await?;
        Ok(Response::new(Ack {}))
    }

    async fn vacuum_table(&self, request: Request<VacuumTableRequest>) -> Result<Response<VacuumTableResponse>, Status> {
        let r = request.into_inner();
        let snapshot = r.snapshot.ok_or_else(|| Status::invalid_argument("a vacuum needs its snapshot"))?;
        let mode = match r.mode() {
            ProtoVacuumMode::VacuumFull => VacuumMode::Full,
            ProtoVacuumMode::VacuumSortOnly => VacuumMode::SortOnly,
            ProtoVacuumMode::VacuumDeleteOnly => VacuumMode::DeleteOnly,
        };
        let summary = self
            .blocking(move |store| {
                let encodings = r.encodings.into_iter().collect();
                store.vacuum(&VacuumSpec {
                    xid: r.xid,
                    snapshot: Snapshot { csn: snapshot.csn, xid: snapshot.xid },
                    table_id: r.table_id,
                    column_ids: &r.column_ids,
                    sort_column_ids: &r.sort_column_ids,
                    encodings: &encodings,
                    mode,
                    threshold_percent: r.threshold_percent,
                })
            })
            .await?;
        Ok(Response::new(VacuumTableResponse {
            rows_sorted: summary.rows_sorted,
            rows_reclaimed: summary.rows_reclaimed,
            segments_replaced: summary.segments_replaced,
            segments_written: summary.segments_written,
        }))
    }

    async fn purge_dropped(&self, request: Request<PurgeDroppedRequest>) -> Result<Response<PurgeDroppedResponse>, Status> {
        let csn = request.into_inner().csn;
        let bytes = self.blocking(move |store| store.purge_dropped(csn)).await?;
        Ok(Response::new(PurgeDroppedResponse { bytes }))
    }

    async fn blocklist(&self, request: Request<BlocklistRequest>) -> Result<Response<BlocklistResponse>, Status> {
        let r = request.into_inner();
        let snapshot = r
            .snapshot
            .map(|s| Snapshot { csn: s.csn, xid: s.xid })
            .unwrap_or_else(Snapshot::latest);
        let blocks = self
            .blocking(move |store| {
                let tables = if r.table_id == 0 { store.table_ids() } else { vec![r.table_id] };
                let mut blocks = Vec::new();
                for table_id in tables {
                    for slice in store.slices() {
                        let segments = store.visible_segments(table_id, slice, &snapshot)?;
                        // A table's key is the one its sorted segments have: it never changes.
                        let key = segments.iter().map(|s| &s.entry.sorted_by).find(|k| !k.is_empty()).cloned().unwrap_or_default();
                        let sorted = sorted_region(segments.iter().map(|s| &s.entry), &key);
                        for segment in segments {
                            let deleted = segment.deleted.as_ref().map_or(0, |d| d.len());
                            for zone in &segment.entry.zones {
                                blocks.push(Block {
                                    slice,
                                    table_id,
                                    column_id: zone.column_id,
                                    segment_id: segment.entry.id,
                                    num_values: segment.entry.rows,
                                    minvalue: zone.min.as_ref().map(|v| v.as_block_value()),
                                    maxvalue: zone.max.as_ref().map(|v| v.as_block_value()),
                                    sorted_by: if sorted.contains(&segment.entry.id) { key.clone() } else { Vec::new() },
                                    deleted,
                                });
                            }
                        }
                    }
                }
                Ok(blocks)
            })
            .await?;
        Ok(Response::new(BlocklistResponse { blocks }))
    }

    async fn snapshot_slices(
        &self,
        request: Request<SnapshotSlicesRequest>,
    ) -> Result<Response<SnapshotSlicesResponse>, Status> {
        // A snapshot hashes and uploads local files: a restore must have brought them all.
        self.restorer.ensure_all().await?;
        let response = crate::snapshot::snapshot_slices(
            Arc::clone(&self.store),
            Arc::clone(&self.object_names),
            request.into_inner(),
        )
        .await?;
        Ok(Response::new(response))
    }

    async fn install_images(&self, request: Request<InstallImagesRequest>) -> Result<Response<Ack>, Status> {
        self.restorer.install(request.into_inner()).await?;
        Ok(Response::new(Ack {}))
    }

    async fn restore_status(&self, _: Request<RestoreStatusRequest>) -> Result<Response<RestoreStatusResponse>, Status> {
        Ok(Response::new(self.restorer.status()))
    }

    async fn table_stats(
        &self,
        request: Request<TableStatsRequest>,
    ) -> Result<Response<TableStatsResponse>, Status> {
        let r = request.into_inner();
        let snapshot = r
            .snapshot
            .map(|s| Snapshot { csn: s.csn, xid: s.xid })
            .unwrap_or_else(Snapshot::latest);
        let stats = self.blocking(move |store| store.table_stats(r.table_id, &snapshot)).await?;
        Ok(Response::new(TableStatsResponse {
            slices: stats
                .into_iter()
                .map(|s| SliceStats {
                    slice: s.slice,
                    rows: s.rows,
                    segments: s.segments,
                    bytes: s.bytes,
                })
                .collect(),
        }))
    }
}
