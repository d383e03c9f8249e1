//! How poolsight's plans cross the wire: Ballista's codecs, plus
//!
//! - **in-memory tables** (`MemTable`: `configured_pools`, `geoip_status`,
//!   an empty `findings` of a new lake, the cached views): sent inline as
//!   Arrow IPC, since no executor can read the client's memory;
//! - **`is_judged`**: the function carries the spans the running detection
//!   judges; executors rebuild it from them (a function looked up by name
//!   would judge everything).
//!
//! Every other function travels by name and is found in the executors'
//! registry (`functions.rs`), built from the same code as the client's.

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::MemTable;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use poolsight_detect::judged;

/// Marks an inline in-memory table in a table-provider payload.
const MEM_TABLE: &[u8] = b"poolsight-memtable-v1\n";

/// The rows of an in-memory table as Arrow IPC (`None`: not a `MemTable`).
fn encode_mem_table(node: &Arc<dyn TableProvider>) -> Result<Option<Vec<u8>>> {
    let Some(table) = node.downcast_ref::<MemTable>() else {
        return Ok(None);
    };
    let mut batches: Vec<RecordBatch> = Vec::new();
    for partition in &table.batches {
        let rows = partition.try_read().map_err(|_| {
            DataFusionError::Internal("an in-memory table is being written while planned".into())
        })?;
        batches.extend(rows.iter().cloned());
    }
    let mut buf = MEM_TABLE.to_vec();
    let schema = table.schema();
    let mut writer = StreamWriter::try_new(&mut buf, &schema)?;
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    drop(writer);
    Ok(Some(buf))
}

fn decode_mem_table(buf: &[u8], schema: SchemaRef) -> Result<Option<Arc<dyn TableProvider>>> {
    let Some(ipc) = buf.strip_prefix(MEM_TABLE) else {
        return Ok(None);
    };
    let reader = StreamReader::try_new(ipc, None)?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Arc::new(MemTable::try_new(schema, vec![batches])?)))
}

/// Ballista's logical codec with inline in-memory tables and `is_judged`.
#[derive(Debug, Default)]
pub struct PoolsightLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for PoolsightLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match decode_mem_table(buf, schema.clone())? {
            Some(table) => Ok(table),
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match encode_mem_table(&node)? {
            Some(bytes) => {
                buf.extend_from_slice(&bytes);
                Ok(())
            }
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn datafusion::datasource::file_format::FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn datafusion::datasource::file_format::FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf, || self.inner.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udf(node, buf, |buf| self.inner.try_encode_udf(node, buf))
    }
}

/// `is_judged` from its spans, else what `ballista` decodes.
fn decode_udf(
    name: &str,
    buf: &[u8],
    ballista: impl FnOnce() -> Result<Arc<ScalarUDF>>,
) -> Result<Arc<ScalarUDF>> {
    match judged::decode(name, buf)? {
        Some(udf) => Ok(Arc::new(udf)),
        None => ballista(),
    }
}

/// `is_judged` with its spans, else what `ballista` encodes.
fn encode_udf(
    node: &ScalarUDF,
    buf: &mut Vec<u8>,
    ballista: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    match judged::encode(node)? {
        Some(bytes) => {
            buf.extend_from_slice(&bytes);
            Ok(())
        }
        None => ballista(buf),
    }
}

/// Ballista's physical codec with `is_judged`.
#[derive(Debug, Default)]
pub struct PoolsightPhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for PoolsightPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        self.inner.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf, || self.inner.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udf(node, buf, |buf| self.inner.try_encode_udf(node, buf))
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn in_memory_tables_travel_inline() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("pool", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("us-east-1:a"), None])),
                Arc::new(Int64Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let table: Arc<dyn TableProvider> =
            Arc::new(MemTable::try_new(schema.clone(), vec![vec![batch.clone()]]).unwrap());
        let codec = PoolsightLogicalCodec::default();
        let mut buf = Vec::new();
        codec
            .try_encode_table_provider(&TableReference::bare("t"), table, &mut buf)
            .unwrap();
        let decoded = decode_mem_table(&buf, schema).unwrap().expect("a MemTable");
        let decoded = decoded.downcast_ref::<MemTable>().unwrap();
        let rows = decoded.batches[0].try_read().unwrap().clone();
        assert_eq!(rows, vec![batch]);
        // Anything else is not ours.
        assert!(decode_mem_table(b"PAR1", Arc::new(Schema::empty()))
            .unwrap()
            .is_none());
    }
}
