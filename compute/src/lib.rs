//! A Blueshift compute node.
//!
//! A compute node owns a few slices of every table (see `blueshift-storage`) and does the heavy
//! part of every query near its data: plan stages arrive through datafusion-distributed's worker
//! service, their `SliceScanExec` leaves read the local slices, and results stream back or on to
//! other nodes as Arrow. Writes arrive as Flight `DoPut` streams and stay invisible until the
//! leader's commit reaches the node through the control service.

pub mod channels;
pub mod codec;
pub mod control;
pub mod flight;
pub mod load;
pub mod remote;
pub mod restore;
pub use blueshift_spectrum::s3;
pub mod scan;
pub mod segment_buffer;
pub mod server;
pub mod shuffle;
pub mod snapshot;
pub mod to_char;
pub mod unload;
pub mod writer;

pub use codec::BlueshiftCodec;
pub use scan::{ScanColumn, estimated_width, SliceDispatch, SliceScanExec, SliceScanSpec};
