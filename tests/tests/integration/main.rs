//! Every cluster integration test, in one test binary: each module was once its own file under
//! `tests/tests`, but each such file links its own copy of the whole warehouse (about 600 MB in
//! a debug build), and linking a dozen of them dominated CI's time. Run one family with
//! `cargo test --workspace --test integration copy::`.

mod auto_distribution;
mod client_drivers;
mod concurrent_writes;
mod clients;
mod cluster;
mod copy;
mod copy_formats;
mod distribution;
mod fast_restore;
mod format_compatibility;
mod node_failure;
mod protocol;
mod result_metadata;
mod s3_store;
mod snapshot_automation;
mod snapshots;
mod spectrum;
mod spectrum_write;
mod tpch;
mod unload;
mod unload_roundtrip;
mod zone_maps;
