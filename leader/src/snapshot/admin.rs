//! The leader's admin gRPC service: snapshots and table restores for the `blueshift snapshot`
//! and `blueshift restore-table` subcommands (and any other client of `SnapshotAdmin`).

use std::sync::Arc;
use std::time::Duration;

use blueshift_proto::snapshot_admin_server::SnapshotAdmin;
use blueshift_proto::{
    Ack, CopySnapshotRequest, CreateSnapshotRequest, DeleteSnapshotRequest, EnableCopyRequest, ListSnapshotsRequest,
    ListSnapshotsResponse, RestoreTableRequest, RestoreTableResponse, SnapshotInfo,
};
use tonic::{Code, Request, Response, Status};

use super::store::Kind;
use crate::catalog::provider::Services;
use crate::error::{Error, SqlState};

pub struct AdminService {
    services: Arc<Services>,
}

impl AdminService {
    pub fn new(services: Arc<Services>) -> AdminService {
        AdminService { services }
    }
}

/// A leader error as a gRPC status whose code says what kind of failure it was.
fn status(e: Error) -> Status {
    let code = match e.state {
        SqlState::UndefinedObject | SqlState::UndefinedTable | SqlState::UndefinedSchema => Code::NotFound,
        SqlState::DuplicateObject | SqlState::DuplicateTable => Code::AlreadyExists,
        SqlState::InvalidParameterValue | SqlState::SyntaxError => Code::InvalidArgument,
        SqlState::ConnectionFailure | SqlState::IoError => Code::Unavailable,
        _ => Code::Internal,
    };
    Status::new(code, format!("{} (SQLSTATE {})", e.message, e.state.code()))
}

fn days(retention_days: Option<i64>) -> Option<Duration> {
    retention_days.filter(|d| *d >= 0).map(|d| Duration::from_secs(d as u64 * 86_400))
}

fn info(s: &super::store::Summary, region: &str) -> SnapshotInfo {
    super::info(s, region, "available")
}

#[tonic::async_trait]
impl SnapshotAdmin for AdminService {
    async fn create_snapshot(&self, request: Request<CreateSnapshotRequest>) -> Result<Response<SnapshotInfo>, Status> {
        let r = request.into_inner();
        let snapshots = &self.services.snapshots;
        let summary = snapshots
            .create(&self.services, &r.id, Kind::Manual, days(r.retention_days))
            .await
            .map_err(status)?;
        Ok(Response::new(info(&summary, &snapshots.config.region)))
    }

    async fn list_snapshots(&self, request: Request<ListSnapshotsRequest>) -> Result<Response<ListSnapshotsResponse>, Status> {
        let snapshots = self.services.snapshots.list(&request.into_inner().region).await.map_err(status)?;
        Ok(Response::new(ListSnapshotsResponse { snapshots }))
    }

    async fn delete_snapshot(&self, request: Request<DeleteSnapshotRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        self.services.snapshots.delete(&r.id, &r.region).await.map_err(status)?;
        Ok(Response::new(Ack {}))
    }

    async fn copy_snapshot(&self, request: Request<CopySnapshotRequest>) -> Result<Response<SnapshotInfo>, Status> {
        let r = request.into_inner();
        let summary = self.services.snapshots.copy(&r.id, &r.to_region, None).await.map_err(status)?;
        Ok(Response::new(info(&summary, &r.to_region)))
    }

    async fn enable_copy(&self, request: Request<EnableCopyRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        self.services.snapshots.enable_copy(&r.to_region, r.retention_days).map_err(status)?;
        Ok(Response::new(Ack {}))
    }

    async fn restore_table(&self, request: Request<RestoreTableRequest>) -> Result<Response<RestoreTableResponse>, Status> {
        let r = request.into_inner();
        let rows = super::restore::restore_table(&self.services, &r.snapshot_id, &r.region, &r.table, &r.new_table)
            .await
            .map_err(status)?;
        Ok(Response::new(RestoreTableResponse { rows }))
    }
}
