//! Fast restore: a new cluster with the snapshot's shape (the same slices on every node) takes
//! the snapshot's slice images as they are, so it answers queries before its data is local.
//!
//! Every node installs its slices' images as pending segments of the restore's transaction,
//! which then commits like any write. The manifests (with their zone maps) are local at once;
//! segment files are fetched from the snapshot store when a scan keeps them after pruning, and
//! by each node's background download (see `blueshift_compute::restore`). A cluster of another
//! shape cannot take the images, since every row's slice depends on the slice count: it is
//! restored by rewriting the rows instead (see [`super::restore`]), which needs all the data.

use std::collections::BTreeMap;

use blueshift_proto::InstallImagesRequest;
use blueshift_storage::snapshot::SliceImage;

use super::store::{Manifest, RegionStore};
use crate::catalog::{Catalog, TableDef};
use crate::catalog::provider::Services;
use crate::error::{Error, Result};
use crate::txn::Transaction;

/// Whether this cluster has the shape of the cluster the snapshot was taken of.
pub fn same_shape(services: &Services, manifest: &Manifest) -> bool {
    let slices: Vec<u32> = services.cluster.nodes.iter().map(|n| n.slice_count).collect();
    slices == manifest.slices_per_node
}

/// Installs the snapshot's images of `catalog`'s tables on every node within `txn`; returns the
/// rows restored.
pub async fn install(
    services: &Services,
    txn: &mut Transaction,
    store: &RegionStore,
    manifest: &Manifest,
    catalog: &Catalog,
) -> Result<u64> {
    let tables: BTreeMap<u64, &TableDef> = catalog
        .schemas
        .values()
        .flat_map(|s| s.tables.values())
        .filter(|t| t.backup)
        .map(|t| (u64::from(t.oid), t))
        .collect();
    for table in tables.values() {
        services.txns.lock_for_write(txn, table.oid, &table.name).await?;
    }
    let images: Vec<&SliceImage> = manifest.images.iter().filter(|i| tables.contains_key(&i.table_id)).collect();
    // An ALL table's copies each hold every row: count the first node's.
    let first_slice = services.cluster.nodes.first().map_or(0, |n| n.first_slice);
    let mut total = 0;
    for (id, table) in &tables {
        let rows: u64 = images
            .iter()
            .filter(|i| i.table_id == *id && (!table.dist_style.is_all() || i.slice == first_slice))
            .map(|i| live_rows(i))
            .sum();
        txn.row_deltas.insert(table.oid, rows as i64);
        total += rows;
    }
    txn.written_nodes.extend(services.cluster.nodes.iter().map(|n| n.index));
    let calls = services.cluster.nodes.iter().map(|node| {
        let mine: Vec<&SliceImage> = images.iter().copied().filter(|i| node.slices().contains(&i.slice)).collect();
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

fn live_rows(image: &SliceImage) -> u64 {
    image
        .segments
        .iter()
        .map(|s| s.rows - s.deletes.iter().map(|d| d.rows).sum::<u64>())
        .sum()
}
