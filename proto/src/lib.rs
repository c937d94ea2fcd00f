//! Messages and services spoken between the leader and the compute nodes.
//!
//! Query execution traffic (plan stages and Arrow streams) is carried by datafusion-distributed's
//! worker service and Arrow Flight; this crate defines everything else: the control calls that
//! attach a node to a cluster and drive the two-phase commit of multi-node writes, and the
//! descriptors that ride inside Flight `DoPut` / `DoGet` requests.

#![allow(clippy::all)]
tonic::include_proto!("blueshift");
