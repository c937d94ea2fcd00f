//! Blueshift Spectrum: reaching S3, and querying files in S3 in place as external tables.
//!
//! [`s3`] is how every part of Blueshift reaches `s3://` objects (COPY, UNLOAD and external
//! tables alike). The rest serves external tables: the leader lists a table's files (only in the
//! partitions a query's predicates leave), splits them into per-slice groups, and the compute
//! nodes read their groups with DataFusion's Parquet (or CSV) reader, pushing projections and
//! filters into the files.

pub mod s3;
pub mod codec;
pub mod leaf;
pub mod scan;
pub mod table;

pub use scan::{Dispatch, ExternalScanExec, FileFormat, FileSplit, ScanSpec};
pub use table::{ExternalTable, PartitionLog, PartitionSpec, TableSpec};
