//! Strings as views while rows move through a write.
//!
//! A write copies its rows several times before they are encoded: split among slices, gathered
//! into one batch per segment, gathered again in sort-key order. For a string column each copy
//! moves every value's bytes; as a `Utf8View` column it moves 16-byte views that point into the
//! buffers the rows were parsed into, which are copied once, by the Parquet encoder. Turning a
//! `Utf8` column into views reuses its values buffer, so it costs a pass over the offsets.
//!
//! Views stay in memory: segment files, and the Flight streams between nodes, keep `Utf8` (a
//! view's buffers hold other rows' values too, and Flight would send them whole). The Parquet
//! writer takes view columns for a `Utf8` field, so a segment is the same file either way.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::Result;

/// `batch` with its `Utf8` columns as `Utf8View`, sharing their buffers.
pub fn with_string_views(batch: &RecordBatch) -> Result<RecordBatch> {
    convert(batch, DataType::Utf8, DataType::Utf8View)
}

/// `batch` with its `Utf8View` columns as `Utf8`: each holds only its own values, for sending.
pub fn without_string_views(batch: &RecordBatch) -> Result<RecordBatch> {
    convert(batch, DataType::Utf8View, DataType::Utf8)
}

/// `schema` with its `Utf8View` fields as `Utf8`: the schema rows of `schema` are stored and sent
/// with.
pub fn stored_schema(schema: &SchemaRef) -> SchemaRef {
    retyped(schema, &DataType::Utf8View, &DataType::Utf8)
}

fn convert(batch: &RecordBatch, from: DataType, to: DataType) -> Result<RecordBatch> {
    if !batch.schema().fields().iter().any(|f| *f.data_type() == from) {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .map(|column| Ok(if *column.data_type() == from { cast(column, &to)? } else { Arc::clone(column) }))
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(retyped(&batch.schema(), &from, &to), columns)?)
}

fn retyped(schema: &SchemaRef, from: &DataType, to: &DataType) -> SchemaRef {
    if !schema.fields().iter().any(|f| f.data_type() == from) {
        return Arc::clone(schema);
    }
    let fields = schema.fields().iter().map(|field| match field.data_type() == from {
        true => Arc::new(Field::new(field.name(), to.clone(), field.is_nullable()).with_metadata(field.metadata().clone())),
        false => Arc::clone(field),
    });
    Arc::new(Schema::new_with_metadata(fields.collect::<Vec<_>>(), schema.metadata().clone()))
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, Int32Array, StringArray};

    use super::*;

    /// Views share the strings' buffer, and turning them back gives the same values and schema.
    #[test]
    fn views_round_trip_without_copying_the_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("c1", DataType::Int32, false),
            Field::new("c2", DataType::Utf8, true),
        ]));
        let strings = StringArray::from(vec![Some("a value longer than twelve bytes"), None, Some("short")]);
        let values = strings.values().clone();
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int32Array::from(vec![1, 2, 3])), Arc::new(strings)]).unwrap();

        let viewed = with_string_views(&batch).unwrap();
        assert_eq!(viewed.schema().field(1).data_type(), &DataType::Utf8View);
        assert!(!viewed.schema().field(0).is_nullable());
        assert_eq!(viewed.column(1).as_string_view().data_buffers()[0].as_ptr(), values.as_ptr());
        assert_eq!(stored_schema(&viewed.schema()), schema);

        let back = without_string_views(&viewed).unwrap();
        assert_eq!(back, batch);
    }
}
