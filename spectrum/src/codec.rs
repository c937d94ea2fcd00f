//! Serialization of [`ExternalScanExec`], so the leader can ship external scans to the compute
//! nodes inside plan stages. Schemas and filters travel as datafusion-proto messages, the rest
//! as JSON.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion_proto::physical_plan::{
    PhysicalExtensionCodec, PhysicalPlanDecodeContext, PhysicalProtoConverterExtension,
};
use datafusion_proto::protobuf;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::s3::S3Config;
use crate::scan::{Dispatch, ExternalScanExec, FileFormat, FileSplit, ScanSpec};

#[derive(Serialize, Deserialize)]
struct Wire {
    table_name: String,
    location: String,
    format: FileFormat,
    /// Protobuf `Schema` of the file columns followed by the partition fields.
    schema: Vec<u8>,
    file_columns: usize,
    projection: Vec<usize>,
    filters: Vec<Vec<u8>>,
    s3: S3Config,
    estimated_rows: Option<u64>,
    groups: Vec<Vec<FileSplit>>,
    dispatch: Dispatch,
}

fn error(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Internal(format!("cannot serialize an external scan: {e}"))
}

pub fn encode(
    scan: &ExternalScanExec,
    converter: &dyn PhysicalProtoConverterExtension,
    codec: &dyn PhysicalExtensionCodec,
) -> Result<Vec<u8>> {
    let spec = scan.spec();
    let mut fields: Vec<Field> = spec.file_schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(spec.partition_fields.iter().map(|f| f.as_ref().clone()));
    let schema = protobuf::Schema::try_from(&Schema::new(fields))?.encode_to_vec();
    let wire = Wire {
        table_name: spec.table_name.clone(),
        location: spec.location.clone(),
        format: spec.format.clone(),
        schema,
        file_columns: spec.file_schema.fields().len(),
        projection: spec.projection.clone(),
        filters: spec
            .filters
            .iter()
            .map(|f| Ok(converter.physical_expr_to_proto(f, codec)?.encode_to_vec()))
            .collect::<Result<_>>()?,
        s3: spec.s3.clone(),
        estimated_rows: spec.estimated_rows,
        groups: scan.groups().as_ref().clone(),
        dispatch: scan.dispatch(),
    };
    serde_json::to_vec(&wire).map_err(error)
}

pub fn decode(
    bytes: &[u8],
    ctx: &TaskContext,
    converter: &dyn PhysicalProtoConverterExtension,
    codec: &dyn PhysicalExtensionCodec,
) -> Result<ExternalScanExec> {
    let wire: Wire = serde_json::from_slice(bytes).map_err(error)?;
    let schema = Schema::try_from(&protobuf::Schema::decode(wire.schema.as_slice()).map_err(error)?)?;
    let decode_ctx = PhysicalPlanDecodeContext::new(ctx, codec);
    let filters = wire
        .filters
        .iter()
        .map(|bytes| {
            let expr = protobuf::PhysicalExprNode::decode(bytes.as_slice()).map_err(error)?;
            converter.proto_to_physical_expr(&expr, &schema, &decode_ctx)
        })
        .collect::<Result<Vec<_>>>()?;
    let (file_fields, partition_fields) = schema.fields().split_at(wire.file_columns.min(schema.fields().len()));
    let spec = ScanSpec {
        table_name: wire.table_name,
        location: wire.location,
        format: wire.format,
        file_schema: Arc::new(Schema::new(file_fields.to_vec())),
        partition_fields: partition_fields.to_vec(),
        projection: wire.projection,
        filters,
        s3: wire.s3,
        estimated_rows: wire.estimated_rows,
    };
    Ok(ExternalScanExec::new(Arc::new(spec), Arc::new(wire.groups), wire.dispatch))
}
