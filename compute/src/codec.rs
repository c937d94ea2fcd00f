//! Serialization of Blueshift's own plan nodes, so the leader can ship them to compute nodes
//! inside datafusion-distributed stages and Flight tickets.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::Schema;
use blueshift_proto::{SliceScanNode, Snapshot as SnapshotProto};
use blueshift_spectrum::ExternalScanExec;
use blueshift_storage::Snapshot;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{
    PhysicalExtensionCodec, PhysicalPlanDecodeContext, PhysicalProtoConverterExtension,
};
use datafusion_proto::protobuf;
use prost::Message;

use crate::scan::{ScanColumn, SliceDispatch, SliceScanExec, SliceScanSpec};
use crate::unload::{UnloadExec, UnloadSpec};

/// Marks an encoded [`UnloadExec`]; a zero byte never starts an encoded protobuf message.
const UNLOAD_TAG: &[u8] = b"\0unload\0";

/// Marks an encoded [`ExternalScanExec`], likewise.
const EXTERNAL_SCAN_TAG: &[u8] = b"\0external\0";

#[derive(Debug, Default, Clone)]
pub struct BlueshiftCodec;

fn decode_error(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Internal(format!("cannot decode a Blueshift plan node: {e}"))
}

impl BlueshiftCodec {
    pub fn encode_scan(
        &self,
        scan: &SliceScanExec,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<SliceScanNode> {
        let spec = scan.spec();
        let file_schema = protobuf::Schema::try_from(spec.file_schema().as_ref())?;
        let filters = spec
            .filters
            .iter()
            .map(|f| Ok(proto_converter.physical_expr_to_proto(f, self)?.encode_to_vec()))
            .collect::<Result<Vec<_>>>()?;
        Ok(SliceScanNode {
            table_id: spec.table_id,
            table_name: spec.table_name.clone(),
            column_ids: spec.columns.iter().map(|c| c.id).collect(),
            column_names: spec.columns.iter().map(|c| c.name.clone()).collect(),
            file_schema: file_schema.encode_to_vec(),
            projection: spec.projection.iter().map(|&i| i as u32).collect(),
            filters,
            snapshot: Some(SnapshotProto {
                csn: spec.snapshot.csn,
                xid: spec.snapshot.xid,
            }),
            with_rowid: spec.with_rowid,
            slices: scan.slices().to_vec(),
            dispatch: match scan.dispatch() {
                SliceDispatch::PerPartition => 0,
                SliceDispatch::PerNode { .. } => 1,
                SliceDispatch::NodeCopy => 2,
            },
            partitions_per_node: match scan.dispatch() {
                SliceDispatch::PerNode { partitions } => partitions as u32,
                _ => 0,
            },
            dist_key: spec.dist_key.map(|k| k as u32),
            replicated: spec.replicated,
            estimated_rows: spec.estimated_rows,
            locations: scan.locations().as_ref().clone(),
            missing_values: spec
                .columns
                .iter()
                .map(|c| match &c.missing {
                    Some(value) => Ok(protobuf::ScalarValue::try_from(value)?.encode_to_vec()),
                    None => Ok(Vec::new()),
                })
                .collect::<Result<Vec<_>>>()?,
        })
    }

    pub fn decode_scan(
        &self,
        node: SliceScanNode,
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<SliceScanExec> {
        let schema_proto = protobuf::Schema::decode(node.file_schema.as_slice()).map_err(decode_error)?;
        let file_schema = Schema::try_from(&schema_proto)?;
        if file_schema.fields().len() != node.column_ids.len()
            || node.column_names.len() != node.column_ids.len()
        {
            return Err(decode_error("column lists of different lengths"));
        }
        let columns = node
            .column_ids
            .iter()
            .zip(&node.column_names)
            .zip(file_schema.fields())
            .enumerate()
            .map(|(i, ((id, name), field))| {
                let missing = match node.missing_values.get(i) {
                    Some(bytes) if !bytes.is_empty() => {
                        let proto = protobuf::ScalarValue::decode(bytes.as_slice()).map_err(decode_error)?;
                        Some(ScalarValue::try_from(&proto).map_err(decode_error)?)
                    }
                    _ => None,
                };
                Ok(ScanColumn {
                    id: *id,
                    name: name.clone(),
                    data_type: field.data_type().clone(),
                    missing,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let decode_ctx = PhysicalPlanDecodeContext::new(ctx, self);
        let filters = node
            .filters
            .iter()
            .map(|bytes| {
                let expr = protobuf::PhysicalExprNode::decode(bytes.as_slice()).map_err(decode_error)?;
                proto_converter.proto_to_physical_expr(&expr, &file_schema, &decode_ctx)
            })
            .collect::<Result<Vec<_>>>()?;
        let snapshot = node.snapshot.ok_or_else(|| decode_error("missing snapshot"))?;
        let spec = SliceScanSpec {
            table_id: node.table_id,
            table_name: node.table_name,
            columns,
            projection: node.projection.iter().map(|&i| i as usize).collect(),
            filters,
            snapshot: Snapshot {
                csn: snapshot.csn,
                xid: snapshot.xid,
            },
            with_rowid: node.with_rowid,
            dist_key: node.dist_key.map(|k| k as usize),
            replicated: node.replicated,
            estimated_rows: node.estimated_rows,
        };
        let dispatch = match node.dispatch {
            0 => SliceDispatch::PerPartition,
            1 => SliceDispatch::PerNode {
                partitions: node.partitions_per_node as usize,
            },
            2 => SliceDispatch::NodeCopy,
            other => return Err(decode_error(format!("unknown slice dispatch {other}"))),
        };
        Ok(SliceScanExec::new(
            Arc::new(spec),
            node.slices,
            dispatch,
            Arc::new(node.locations.into_iter().collect::<HashMap<_, _>>()),
        ))
    }
}

impl PhysicalExtensionCodec for BlueshiftCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(spec) = buf.strip_prefix(UNLOAD_TAG) {
            let spec: UnloadSpec = serde_json::from_slice(spec).map_err(decode_error)?;
            let [input] = inputs else {
                return Err(decode_error("an unload has one input"));
            };
            return Ok(Arc::new(UnloadExec::new(Arc::clone(input), Arc::new(spec))));
        }
        if !inputs.is_empty() {
            return Err(decode_error("a scan has no inputs"));
        }
        if let Some(rest) = buf.strip_prefix(EXTERNAL_SCAN_TAG) {
            return Ok(Arc::new(blueshift_spectrum::codec::decode(rest, ctx, proto_converter, self)?));
        }
        let node = SliceScanNode::decode(buf).map_err(decode_error)?;
        Ok(Arc::new(self.decode_scan(node, ctx, proto_converter)?))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(unload) = node.downcast_ref::<UnloadExec>() {
            buf.extend_from_slice(UNLOAD_TAG);
            return serde_json::to_writer(buf, unload.spec().as_ref())
                .map_err(|e| DataFusionError::Internal(format!("cannot encode an unload: {e}")));
        }
        if let Some(scan) = node.downcast_ref::<ExternalScanExec>() {
            buf.extend_from_slice(EXTERNAL_SCAN_TAG);
            buf.extend(blueshift_spectrum::codec::encode(scan, proto_converter, self)?);
            return Ok(());
        }
        let Some(scan) = node.downcast_ref::<SliceScanExec>() else {
            return Err(DataFusionError::NotImplemented(format!(
                "Blueshift cannot serialize plan node {}",
                node.name()
            )));
        };
        self.encode_scan(scan, proto_converter)?.encode(buf).map_err(|e| {
            DataFusionError::Internal(format!("cannot encode a slice scan: {e}"))
        })
    }
}
