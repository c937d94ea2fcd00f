//! The bytes of UNLOAD's file formats: Redshift's pipe-delimited text (ADDQUOTES, ESCAPE,
//! NULL AS), CSV, JSON lines and Parquet. Each encoder turns record batches into the bytes of
//! one file as they come, so a file never has to be held in memory whole; values are written the
//! way Redshift writes them (booleans `t`/`f`, timestamps `YYYY-MM-DD HH:MI:SS[.ffffff]`), which is
//! also what COPY reads back.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression as ParquetCompression;
use parquet::file::properties::{WriterProperties, WriterVersion};
use serde::{Deserialize, Serialize};

/// A file format with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FileFormat {
    /// Delimited text, Redshift's default.
    Text {
        delimiter: String,
        add_quotes: bool,
        escape: bool,
        null_as: String,
        header: bool,
    },
    Csv {
        delimiter: String,
        null_as: String,
        header: bool,
    },
    /// One JSON object per line.
    Json,
    Parquet {
        /// Target row group size in bytes (Redshift: 32 MB by default).
        row_group_bytes: u64,
    },
}

impl FileFormat {
    /// The extension Redshift gives this format's files, before any compression's.
    pub fn extension(&self) -> Option<&'static str> {
        match self {
            FileFormat::Parquet { .. } => Some("parquet"),
            _ => None,
        }
    }
}

/// Turns batches into one file's bytes.
pub trait Encoder: Send {
    /// Encodes `batch`; bytes that are complete become available to [`Encoder::take`].
    fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError>;
    /// The bytes encoded since the last call.
    fn take(&mut self) -> Vec<u8>;
    /// Bytes encoded but still held back (a Parquet row group in progress).
    fn pending(&self) -> usize;
    /// Ends the file; returns its remaining bytes.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, ArrowError>;
}

/// An encoder for one file of `schema` in `format`.
pub fn encoder(format: &FileFormat, schema: &SchemaRef) -> Result<Box<dyn Encoder>, ArrowError> {
    Ok(match format {
        FileFormat::Parquet { row_group_bytes } => Box::new(ParquetEncoder::new(schema, *row_group_bytes)?),
        FileFormat::Json => Box::new(RowEncoder::new(schema, RowStyle::Json)),
        FileFormat::Csv { delimiter, null_as, header } => {
            let mut encoder = RowEncoder::new(schema, RowStyle::Csv { delimiter: delimiter.clone(), null_as: null_as.clone() });
            if *header {
                encoder.header();
            }
            Box::new(encoder)
        }
        FileFormat::Text { delimiter, add_quotes, escape, null_as, header } => {
            let mut encoder = RowEncoder::new(
                schema,
                RowStyle::Text {
                    delimiter: delimiter.clone(),
                    add_quotes: *add_quotes,
                    escape: *escape,
                    null_as: null_as.clone(),
                },
            );
            if *header {
                encoder.header();
            }
            Box::new(encoder)
        }
    })
}

enum RowStyle {
    Text {
        delimiter: String,
        add_quotes: bool,
        escape: bool,
        null_as: String,
    },
    Csv {
        delimiter: String,
        null_as: String,
    },
    Json,
}

/// Text formats, written row by row.
struct RowEncoder {
    schema: SchemaRef,
    style: RowStyle,
    out: Vec<u8>,
}

/// How values become text: Redshift's date and time layouts, no thousands separators.
fn format_options() -> FormatOptions<'static> {
    FormatOptions::new()
        .with_null("")
        .with_date_format(Some("%Y-%m-%d"))
        .with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:::z"))
        .with_time_format(Some("%H:%M:%S%.f"))
}

fn is_text(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_number(data_type: &DataType) -> bool {
    data_type.is_numeric()
}

impl RowEncoder {
    fn new(schema: &SchemaRef, style: RowStyle) -> RowEncoder {
        RowEncoder {
            schema: Arc::clone(schema),
            style,
            out: Vec::new(),
        }
    }

    /// The column names as the first line (HEADER).
    fn header(&mut self) {
        let names: Vec<String> = self.schema.fields().iter().map(|f| f.name().clone()).collect();
        let delimiter = match &self.style {
            RowStyle::Text { delimiter, .. } | RowStyle::Csv { delimiter, .. } => delimiter.clone(),
            RowStyle::Json => return,
        };
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                self.out.extend_from_slice(delimiter.as_bytes());
            }
            match &self.style {
                RowStyle::Csv { delimiter, .. } => csv_field(&mut self.out, name, delimiter),
                _ => self.out.extend_from_slice(name.as_bytes()),
            }
        }
        self.out.push(b'\n');
    }
}

/// A CSV field, quoted when it holds a delimiter, quote or line break, or is empty (so that an
/// empty string differs from NULL).
fn csv_field(out: &mut Vec<u8>, value: &str, delimiter: &str) {
    if value.is_empty() || value.contains(['"', '\n', '\r']) || value.contains(delimiter) {
        out.push(b'"');
        out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

/// A delimited text field: with ESCAPE, a backslash goes before line breaks, the delimiter, the
/// backslash itself and (with ADDQUOTES) quotes, as Redshift does for CHAR and VARCHAR values.
fn text_field(out: &mut Vec<u8>, value: &str, delimiter: &str, escape: bool, add_quotes: bool) {
    if add_quotes {
        out.push(b'"');
    }
    if escape {
        let delimiter = delimiter.chars().next();
        for c in value.chars() {
            if matches!(c, '\n' | '\r' | '\\') || Some(c) == delimiter || (add_quotes && matches!(c, '"' | '\'')) {
                out.push(b'\\');
            }
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    } else {
        out.extend_from_slice(value.as_bytes());
    }
    if add_quotes {
        out.push(b'"');
    }
}

/// Each column's values as text; booleans are `t`/`f` as in Redshift.
fn render(column: &ArrayRef, options: &FormatOptions) -> Result<Vec<Option<String>>, ArrowError> {
    if let DataType::Boolean = column.data_type() {
        let values = column.as_boolean();
        return Ok((0..values.len())
            .map(|i| values.is_valid(i).then(|| if values.value(i) { "t" } else { "f" }.to_string()))
            .collect());
    }
    let formatter = ArrayFormatter::try_new(column.as_ref(), options)?;
    Ok((0..column.len())
        .map(|i| column.is_valid(i).then(|| formatter.value(i).to_string()))
        .collect())
}

impl Encoder for RowEncoder {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let options = format_options();
        let columns = batch
            .columns()
            .iter()
            .map(|c| render(c, &options))
            .collect::<Result<Vec<_>, _>>()?;
        let types: Vec<&DataType> = batch.schema_ref().fields().iter().map(|f| f.data_type()).collect();
        let names: Vec<String> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| serde_json::to_string(f.name()).unwrap_or_default())
            .collect();
        for row in 0..batch.num_rows() {
            if let RowStyle::Json = self.style {
                self.out.push(b'{');
            }
            for (i, column) in columns.iter().enumerate() {
                let value = column[row].as_deref();
                match &self.style {
                    RowStyle::Text { delimiter, add_quotes, escape, null_as } => {
                        if i > 0 {
                            self.out.extend_from_slice(delimiter.as_bytes());
                        }
                        match value {
                            None => self.out.extend_from_slice(null_as.as_bytes()),
                            Some(v) => text_field(&mut self.out, v, delimiter, *escape && is_text(types[i]), *add_quotes),
                        }
                    }
                    RowStyle::Csv { delimiter, null_as } => {
                        if i > 0 {
                            self.out.extend_from_slice(delimiter.as_bytes());
                        }
                        match value {
                            None => self.out.extend_from_slice(null_as.as_bytes()),
                            Some(v) => csv_field(&mut self.out, v, delimiter),
                        }
                    }
                    RowStyle::Json => {
                        if i > 0 {
                            self.out.push(b',');
                        }
                        self.out.extend_from_slice(names[i].as_bytes());
                        self.out.push(b':');
                        match value {
                            None => self.out.extend_from_slice(b"null"),
                            Some(v) if is_number(types[i]) && v.parse::<f64>().is_ok_and(f64::is_finite) => {
                                self.out.extend_from_slice(v.as_bytes())
                            }
                            Some(v) => self
                                .out
                                .extend_from_slice(serde_json::to_string(v).unwrap_or_default().as_bytes()),
                        }
                    }
                }
            }
            if let RowStyle::Json = self.style {
                self.out.push(b'}');
            }
            self.out.push(b'\n');
        }
        Ok(())
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn pending(&self) -> usize {
        0
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<u8>, ArrowError> {
        Ok(self.take())
    }
}

/// Parquet 1.0 files with Snappy pages, cut into row groups of about `row_group_bytes`.
struct ParquetEncoder {
    writer: ArrowWriter<Vec<u8>>,
}

impl ParquetEncoder {
    fn new(schema: &SchemaRef, row_group_bytes: u64) -> Result<ParquetEncoder, ArrowError> {
        let properties = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(ParquetCompression::SNAPPY)
            .set_created_by("Blueshift UNLOAD".into())
            .set_max_row_group_row_count(None)
            .set_max_row_group_bytes(Some(row_group_bytes.max(1) as usize))
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), Arc::clone(schema), Some(properties))
            .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
        Ok(ParquetEncoder { writer })
    }
}

fn parquet_error(e: parquet::errors::ParquetError) -> ArrowError {
    ArrowError::ExternalError(Box::new(e))
}

impl Encoder for ParquetEncoder {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        self.writer.write(batch).map_err(parquet_error)
    }

    fn take(&mut self) -> Vec<u8> {
        // The writer counts the bytes it has written itself, so its sink can be drained.
        std::mem::take(self.writer.inner_mut())
    }

    fn pending(&self) -> usize {
        self.writer.in_progress_size()
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, ArrowError> {
        self.writer.into_inner().map_err(parquet_error)
    }
}
