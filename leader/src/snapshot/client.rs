//! The `blueshift snapshot ...` and `blueshift restore-table` subcommands: thin clients of the
//! leader's admin service that print what it answers.

use blueshift_proto::snapshot_admin_client::SnapshotAdminClient;
use blueshift_proto::{
    CopySnapshotRequest, CreateSnapshotRequest, DeleteSnapshotRequest, EnableCopyRequest, ListSnapshotsRequest,
    RestoreTableRequest, SnapshotInfo,
};
use tonic::transport::Channel;

use crate::cli::SnapshotAction;
use crate::error::{Error, Result, SqlState};

async fn connect(admin: &str) -> Result<SnapshotAdminClient<Channel>> {
    SnapshotAdminClient::connect(format!("http://{admin}")).await.map_err(|e| {
        Error::new(SqlState::ConnectionFailure, format!("cannot reach the leader's admin service at {admin}: {e}"))
    })
}

fn failed(status: tonic::Status) -> Error {
    Error::new(SqlState::InternalError, status.message().to_string())
}

const MB: f64 = 1024.0 * 1024.0;

fn print_header() {
    println!(
        "{:<40} {:<10} {:<24} {:<10} {:>12} {:>14} {:<10} {:<10}",
        "identifier", "type", "created", "status", "total_mb", "incremental_mb", "source", "region"
    );
}

fn print_row(s: &SnapshotInfo) {
    let created = chrono::DateTime::from_timestamp_millis(s.created_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    println!(
        "{:<40} {:<10} {:<24} {:<10} {:>12.3} {:>14.3} {:<10} {:<10}",
        s.id,
        s.kind,
        created,
        s.status,
        s.total_bytes as f64 / MB,
        s.incremental_bytes as f64 / MB,
        s.source_region,
        s.region
    );
}

/// Runs one `blueshift snapshot` action against the leader at `admin`.
pub async fn run(admin: &str, action: SnapshotAction) -> Result<()> {
    let mut client = connect(admin).await?;
    match action {
        SnapshotAction::Create { id, retention_days } => {
            let info = client
                .create_snapshot(CreateSnapshotRequest { id, retention_days })
                .await
                .map_err(failed)?
                .into_inner();
            print_header();
            print_row(&info);
        }
        SnapshotAction::List { region } => {
            let list = client.list_snapshots(ListSnapshotsRequest { region }).await.map_err(failed)?.into_inner();
            print_header();
            list.snapshots.iter().for_each(print_row);
        }
        SnapshotAction::Delete { id, region } => {
            client.delete_snapshot(DeleteSnapshotRequest { id: id.clone(), region }).await.map_err(failed)?;
            println!("Deleted snapshot {id}");
        }
        SnapshotAction::Copy { id, to_region } => {
            let info = client
                .copy_snapshot(CopySnapshotRequest { id, to_region })
                .await
                .map_err(failed)?
                .into_inner();
            print_header();
            print_row(&info);
        }
        SnapshotAction::EnableCopy { to_region, retention } => {
            client
                .enable_copy(EnableCopyRequest { to_region: to_region.clone(), retention_days: retention })
                .await
                .map_err(failed)?;
            println!("New automated snapshots will be copied to region {to_region}");
        }
    }
    Ok(())
}

/// `blueshift restore-table`.
pub async fn restore_table(admin: &str, snapshot_id: String, region: String, table: String, new_table: String) -> Result<()> {
    let mut client = connect(admin).await?;
    let response = client
        .restore_table(RestoreTableRequest { snapshot_id, region, table: table.clone(), new_table: new_table.clone() })
        .await
        .map_err(failed)?
        .into_inner();
    println!("Restored {table} as {new_table} ({} rows)", response.rows);
    Ok(())
}
