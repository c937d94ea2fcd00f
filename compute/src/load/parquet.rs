//! Parquet load files: columns are matched to the target columns by position (as Redshift does)
//! and cast to their types. A value that does not fit (a string too long, a number out of range,
//! a null in a NOT NULL column) fails the file, since Parquet has no line to report.

// parquet 59 deprecates ParquetObjectReader in favour of hand-written readers; it is still the
// library's object_store reader, so it is used until a replacement ships.
#![allow(deprecated)]

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::ParquetObjectReader;

use super::convert::ColumnKind;
use super::{BATCH_ROWS, LoadSpec, ParsedChunk, TargetColumn};

/// How many row groups a Parquet file has (a load reads each as its own chunk).
pub async fn row_groups(store: Arc<dyn ObjectStore>, path: &Path, size: u64) -> Result<usize, String> {
    let reader = ParquetObjectReader::new(store, path.clone()).with_file_size(size);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    Ok(builder.metadata().num_row_groups())
}

/// Reads `row_groups` of a Parquet file (`None`: all of them), fetching only the byte ranges of
/// the columns and row groups it reads.
pub async fn read(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: u64,
    spec: &LoadSpec,
    row_groups: Option<Vec<usize>>,
) -> Result<ParsedChunk, String> {
    let mut reader = ParquetObjectReader::new(store, path.clone()).with_file_size(size);
    let unreadable = |e: parquet::errors::ParquetError| format!("not a readable Parquet file: {e}");
    let metadata = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new()).await.map_err(unreadable)?;
    // Strings are read as plain `Utf8`, the load's type for them, even where the file's writer
    // recorded views (as arrow-rs writers do): read as views, they were copied again by the cast.
    let plain = ArrowReaderOptions::new().with_schema(without_string_views(metadata.schema()));
    let metadata = ArrowReaderMetadata::try_new(Arc::clone(metadata.metadata()), plain).map_err(unreadable)?;
    let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata).with_batch_size(BATCH_ROWS);
    let fields = builder.schema().fields().len();
    if fields != spec.columns.len() {
        return Err(format!(
            "the Parquet file has {fields} columns but the load has {} (Parquet columns are matched by position)",
            spec.columns.len()
        ));
    }
    let builder = match row_groups {
        Some(groups) => builder.with_row_groups(groups),
        None => builder,
    };
    let mut stream = builder.build().map_err(|e| e.to_string())?;
    let schema = spec.schema();
    let mut chunk = ParsedChunk::default();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| format!("cannot read Parquet data: {e}"))?;
        let columns = batch
            .columns()
            .iter()
            .zip(&spec.columns)
            .map(|(array, column)| fit(array, column, spec.options.truncate_columns))
            .collect::<Result<Vec<_>, _>>()?;
        chunk.rows += batch.num_rows() as u64;
        chunk.batches.push(RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| e.to_string())?);
    }
    Ok(chunk)
}

/// `schema` with `Utf8` for its `Utf8View` fields.
fn without_string_views(schema: &SchemaRef) -> SchemaRef {
    let fields = schema.fields().iter().map(|field| match field.data_type() {
        DataType::Utf8View => Arc::new(field.as_ref().clone().with_data_type(DataType::Utf8)),
        _ => Arc::clone(field),
    });
    Arc::new(Schema::new_with_metadata(fields.collect::<Vec<_>>(), schema.metadata().clone()))
}

fn fit(array: &ArrayRef, column: &TargetColumn, truncate: bool) -> Result<ArrayRef, String> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let cast = cast_with_options(array, &column.kind.arrow_type(), &options)
        .map_err(|e| format!("column {} ({}): {e}", column.name, column.kind.type_name()))?;
    if column.not_null && cast.null_count() > 0 {
        return Err(format!("column {}: null value in a NOT NULL column", column.name));
    }
    let (ColumnKind::Char(max) | ColumnKind::Varchar(max)) = column.kind else {
        return Ok(cast);
    };
    let max = max as usize;
    let strings = cast.as_string::<i32>();
    if strings.iter().flatten().all(|s| s.len() <= max) {
        return Ok(cast);
    }
    if !truncate {
        let long = strings.iter().flatten().find(|s| s.len() > max).unwrap_or_default();
        return Err(format!(
            "column {}: string length exceeds DDL length ({} bytes > {max}), value '{long}'",
            column.name,
            long.len()
        ));
    }
    let cut: StringArray = strings
        .iter()
        .map(|v| {
            v.map(|s| {
                let mut end = s.len().min(max);
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                &s[..end]
            })
        })
        .collect();
    Ok(Arc::new(cut))
}
