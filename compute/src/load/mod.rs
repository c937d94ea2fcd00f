//! Turning load files into table rows: the parsing half of COPY.
//!
//! A [`LoadSpec`] says what the files hold (format, compression, Redshift's conversion options)
//! and what the target columns are; [`parse_chunk`] turns one file, or one byte range of a large
//! text file, into Arrow batches of the table's columns plus the rows it had to reject, each with
//! Redshift's STL_LOAD_ERRORS error code and a reason naming the value. Parsing is pure CPU over
//! bytes already fetched, so callers run it on blocking threads, many chunks at a time.

pub mod compression;
pub mod columns;
pub mod convert;
pub mod datetime;
pub mod encoding;
pub mod json;
pub mod parquet;
pub mod quotes;
pub mod reader;
pub mod sink;
pub mod task;
pub mod text;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

pub use compression::Compression;
pub use convert::ColumnKind;
pub use encoding::TextEncoding;

/// Rows per batch handed to the writer.
pub const BATCH_ROWS: usize = 65_536;

/// How a file's records are laid out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// Text with a one-byte delimiter (`|` by default), optionally with ESCAPE and REMOVEQUOTES.
    Delimited,
    /// RFC 4180 CSV with the given quote character.
    Csv { quote: u8 },
    /// Fixed-width text: each column's width in characters.
    FixedWidth(Vec<usize>),
    Json(JsonMode),
    /// Parquet, columns matched to the table by position.
    Parquet,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum JsonMode {
    /// Object keys equal to column names.
    Auto,
    /// Object keys equal to column names, ignoring case.
    AutoIgnoreCase,
    /// One JSONPath expression per column (from a JSONPaths file).
    Paths(Vec<String>),
}

/// Redshift's data conversion options.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// ENCODING: how the files' text is encoded.
    pub encoding: TextEncoding,
    pub delimiter: u8,
    /// The text that stands for NULL (`\N` unless NULL AS says otherwise).
    pub null_as: String,
    pub empty_as_null: bool,
    pub blanks_as_null: bool,
    pub trim_blanks: bool,
    pub truncate_columns: bool,
    /// ACCEPTINVCHARS: the character replacing invalid UTF-8 (`None`: such rows are rejected).
    pub accept_inv_chars: Option<char>,
    pub date_format: Option<String>,
    pub time_format: Option<String>,
    /// ACCEPTANYDATE: a DATE or TIMESTAMP field in no format it is read in loads as NULL instead
    /// of rejecting the row.
    pub accept_any_date: bool,
    /// ROUNDEC: a decimal with more fraction digits than its column's scale is rounded (half away
    /// from zero) rather than cut off, which is Redshift's default.
    pub round_decimals: bool,
    /// FILLRECORD: missing trailing fields load as NULL instead of rejecting the row.
    pub fill_record: bool,
    /// Lines skipped at the start of each file.
    pub ignore_header: u64,
    pub ignore_blank_lines: bool,
    pub remove_quotes: bool,
    pub escape: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            encoding: TextEncoding::Utf8,
            delimiter: b'|',
            null_as: "\\N".into(),
            empty_as_null: false,
            blanks_as_null: false,
            trim_blanks: false,
            truncate_columns: false,
            accept_inv_chars: None,
            date_format: None,
            time_format: None,
            accept_any_date: false,
            round_decimals: false,
            fill_record: false,
            ignore_header: 0,
            ignore_blank_lines: false,
            remove_quotes: false,
            escape: false,
        }
    }
}

/// A column a load fills.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TargetColumn {
    pub name: String,
    pub kind: ColumnKind,
    pub not_null: bool,
}

/// Everything a node needs to parse a load's files.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadSpec {
    pub columns: Vec<TargetColumn>,
    pub format: Format,
    pub options: Options,
}

impl LoadSpec {
    /// The Arrow schema of parsed batches: the target columns, in order.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.kind.arrow_type(), true))
                .collect::<Vec<_>>(),
        ))
    }

    pub fn arrow_types(&self) -> Vec<DataType> {
        self.columns.iter().map(|c| c.kind.arrow_type()).collect()
    }
}

/// A row that could not be loaded, with STL_LOAD_ERRORS' details.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RowError {
    /// Line of the record within the chunk (1-based); callers add the lines of earlier chunks.
    pub line: u64,
    pub colname: String,
    pub column_type: String,
    pub col_length: String,
    /// Byte position of the bad field within the line.
    pub position: u32,
    pub raw_line: String,
    pub raw_field_value: String,
    pub err_code: i32,
    pub err_reason: String,
    /// The record's fields up to and including the bad one, as parsed, for
    /// STL_LOADERROR_DETAIL: only for the first [`ERRORS_DETAILED`] rows a chunk rejects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ParsedField>,
}

/// A field of a rejected record: its text, and whether it stood for NULL.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParsedField {
    pub value: String,
    pub is_null: bool,
}

/// The rejected rows a chunk reports the fields of, as Redshift details 20 per slice.
pub const ERRORS_DETAILED: usize = 20;

/// The rejected rows a chunk reports at all; the rest are only counted. STL_LOAD_ERRORS keeps the
/// latest 10,000 rows anyway, and this bounds a node's memory when IGNOREALLERRORS lets every
/// row of a file be rejected.
pub const ERRORS_REPORTED: usize = 10_000;

/// Redshift's limit on MAXERROR.
pub const MAXERROR_LIMIT: u64 = 100_000;

/// A row loaded with invalid UTF-8 replaced (ACCEPTINVCHARS), for STL_REPLACEMENTS.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Replacement {
    /// Line of the record within the chunk (1-based); callers add the lines of earlier chunks.
    pub line: u64,
    /// The first column whose value had bytes replaced.
    pub colname: String,
    pub raw_line: String,
}

/// The replaced rows a chunk reports at most, as Redshift logs the first 100 of each slice.
pub const REPLACEMENTS_LOGGED: usize = 100;

/// What parsing a chunk produced.
#[derive(Debug, Default)]
pub struct ParsedChunk {
    pub batches: Vec<RecordBatch>,
    pub rows: u64,
    /// How many rows the chunk rejected.
    pub rejected: u64,
    /// The first [`ERRORS_REPORTED`] of them.
    pub errors: Vec<RowError>,
    /// The first [`REPLACEMENTS_LOGGED`] rows loaded with invalid UTF-8 replaced.
    pub replacements: Vec<Replacement>,
    /// Newlines in the chunk: the line count later chunks of the same file start after.
    pub lines: u64,
}

/// Parses `data` (already decompressed; for byte ranges, exactly the range's records); `first`
/// says whether it starts its file (IGNOREHEADER applies only there).
/// Parsing stops once more than `max_errors` rows are rejected: the load fails anyway.
/// Parquet is read from its store by [`reader`], never from bytes in memory.
pub fn parse_chunk(spec: &LoadSpec, first: bool, data: &[u8], max_errors: u64) -> Result<ParsedChunk, String> {
    let data = &spec.options.encoding.to_utf8(data, first, spec.options.accept_inv_chars)?;
    match &spec.format {
        Format::Parquet => Err("PARQUET data can only be loaded from S3".into()),
        Format::Json(mode) => json::parse(spec, mode, data, max_errors),
        _ => text::parse(spec, first, data, max_errors),
    }
}
