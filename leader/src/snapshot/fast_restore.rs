//! Fast restore: a new cluster takes the snapshot's slice images as they are, wherever rows may
//! stay on the slice they are in, so it answers queries before its data is local.
//!
//! Every node installs its slices' images as pending segments of the restore's transaction,
//! which then commits like any write. The manifests (with their zone maps) are local at once;
//! segment files are fetched from the snapshot store when a scan keeps them after pruning, and
//! by each node's background download (see `blueshift_compute::restore`). In a cluster of the
//! snapshot's shape (the same slices on every node) that holds for every table. In another shape
//! it holds for EVEN tables, whose segments are dealt out over the new slices, and ALL tables,
//! whose copy goes to every node; a KEY table's rows must move to the slice their key hashes to
//! among the new slices, which means reading every row, so those are rewritten instead (see
//! [`super::restore`]) and that part of the restore completes before the cluster serves.

use std::collections::BTreeMap;

use blueshift_proto::InstallImagesRequest;
use blueshift_storage::snapshot::SliceImage;

use super::store::{Manifest, RegionStore};
use crate::catalog::{DistStyle, TableDef};
use crate::catalog::provider::Services;
use crate::error::{Error, Result};
use crate::txn::Transaction;

/// Whether this cluster has the shape of the cluster the snapshot was taken of.
fn same_shape(services: &Services, manifest: &Manifest) -> bool {
    let slices: Vec<u32> = services.cluster.nodes.iter().map(|n| n.slice_count).collect();
    slices == manifest.slices_per_node
}

/// Whether `table`'s images can be installed in this cluster as they are (see the module
/// comment).
pub fn takes_images(services: &Services, manifest: &Manifest, table: &TableDef) -> bool {
    table.dist_style != DistStyle::Key || same_shape(services, manifest)
}

/// Installs the snapshot's images of `tables` on every node within `txn`; returns the rows
/// restored.
pub async fn install(
    services: &Services,
    txn: &mut Transaction,
    store: &RegionStore,
    manifest: &Manifest,
    tables: &[&TableDef],
) -> Result<u64> {
    for table in tables {
        services.txns.lock_for_write(txn, table.oid, &table.name).await?;
    }
    let images = placed_images(services, manifest, tables);
    // An ALL table's copies each hold every row: count the first node's.
    let first_slice = services.cluster.nodes.first().map_or(0, |n| n.first_slice);
    let mut total = 0;
    for table in tables {
        let rows: u64 = images
            .iter()
            .filter(|i| i.table_id == u64::from(table.oid) && (!table.dist_style.is_all() || i.slice == first_slice))
            .map(live_rows)
            .sum();
        txn.row_deltas.insert(table.oid, rows as i64);
        total += rows;
    }
    txn.written_nodes.extend(services.cluster.nodes.iter().map(|n| n.index));
    let calls = services.cluster.nodes.iter().map(|node| {
        let mine: Vec<&SliceImage> = images.iter().filter(|i| node.slices().contains(&i.slice)).collect();
        let request = InstallImagesRequest {
            xid: txn.xid,
            store: Some(store.location()),
            snapshot_id: manifest.id.clone(),
            images: serde_json::to_vec(&mine).expect("images serialize"),
            background_rate: services.snapshots.config.restore_rate,
        };
        async move {
            node.control()?
                .install_images(request)
                .await
                .map_err(|e| node.error(e.message()))?;
            Ok::<_, Error>(())
        }
    });
    futures::future::try_join_all(calls).await?;
    tracing::info!(snapshot = %manifest.id, rows = total, "installed the snapshot's slice images");
    Ok(total)
}

/// The images of `tables` as this cluster's slices hold them: unchanged in the snapshot's
/// shape; otherwise an ALL table's first copy on every node's first slice, and an EVEN table's
/// segments dealt out round-robin over every slice.
fn placed_images(services: &Services, manifest: &Manifest, tables: &[&TableDef]) -> Vec<SliceImage> {
    let wanted: BTreeMap<u64, &TableDef> = tables.iter().map(|t| (u64::from(t.oid), *t)).collect();
    let mut sources: Vec<&SliceImage> = manifest.images.iter().filter(|i| wanted.contains_key(&i.table_id)).collect();
    if same_shape(services, manifest) {
        return sources.into_iter().cloned().collect();
    }
    sources.sort_by_key(|i| (i.table_id, i.slice));
    let slices: Vec<u32> = services.cluster.nodes.iter().flat_map(|n| n.slices()).collect();
    let mut placed = Vec::new();
    for (id, table) in wanted {
        let mut images = sources.iter().filter(|i| i.table_id == id);
        if table.dist_style.is_all() {
            if let Some(copy) = images.next() {
                placed.extend(services.cluster.nodes.iter().map(|n| SliceImage { slice: n.first_slice, ..(*copy).clone() }));
            }
            continue;
        }
        let mut dealt: Vec<SliceImage> = slices.iter().map(|&slice| SliceImage { table_id: id, slice, segments: Vec::new() }).collect();
        for (n, segment) in images.flat_map(|i| i.segments.iter()).enumerate() {
            dealt[n % slices.len()].segments.push(segment.clone());
        }
        placed.extend(dealt.into_iter().filter(|i| !i.segments.is_empty()));
    }
    placed
}

fn live_rows(image: &SliceImage) -> u64 {
    image
        .segments
        .iter()
        .map(|s| s.rows - s.deletes.iter().map(|d| d.rows).sum::<u64>())
        .sum()
}
