//! Where parsed records go: each record's fields are checked (UTF-8, field count), converted, and
//! appended as a row, or the record is rejected with its STL_LOAD_ERRORS details. Shared by the
//! text formats and JSON, which differ only in how they find a record's fields.

use std::borrow::Cow;

use super::columns::Batcher;
use super::convert::{Converter, FieldError};
use super::{BATCH_ROWS, ERRORS_DETAILED, ERRORS_REPORTED, Format, LoadSpec, ParsedChunk, ParsedField, REPLACEMENTS_LOGGED, Replacement, RowError};

/// A text record's fields, however its format holds them, so no format builds a vector of
/// field slices per record: parsing runs for millions of records per load.
pub trait Fields {
    fn count(&self) -> usize;
    fn field(&self, index: usize) -> &[u8];
}

impl<T: AsRef<[u8]>> Fields for [T] {
    fn count(&self) -> usize {
        self.len()
    }

    fn field(&self, index: usize) -> &[u8] {
        self[index].as_ref()
    }
}

/// Fields laid end to end in one buffer, cut at `ends` (csv-core's output).
pub struct EndsFields<'a> {
    pub buffer: &'a [u8],
    pub ends: &'a [usize],
}

impl Fields for EndsFields<'_> {
    fn count(&self) -> usize {
        self.ends.len()
    }

    fn field(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.buffer[start..self.ends[index]]
    }
}

/// Records a text block holds at most ([`RowSink::text_block`]): enough that a column's loop
/// runs long, few enough that the block's bytes stay in the core's cache for every column.
const BLOCK_ROWS: usize = 1024;

/// Why a record is rejected: the bad field's column, its byte position in the line and its value.
struct Fault {
    column: usize,
    position: usize,
    value: String,
    error: FieldError,
}

pub struct RowSink<'a> {
    spec: &'a LoadSpec,
    converter: Converter<'a>,
    batcher: Batcher,
    chunk: ParsedChunk,
    max_errors: u64,
    /// Every field is valid UTF-8: the chunk was checked whole ([`RowSink::scan_whole`]).
    utf8_checked: bool,
}

impl<'a> RowSink<'a> {
    pub fn new(spec: &'a LoadSpec, max_errors: u64) -> Result<RowSink<'a>, String> {
        Ok(RowSink {
            spec,
            converter: Converter::new(spec)?,
            batcher: Batcher::new(spec),
            chunk: ParsedChunk::default(),
            max_errors,
            utf8_checked: false,
        })
    }

    /// Reads a whole delimited, CSV or FIXEDWIDTH chunk once before its records are parsed:
    /// counts its newlines (for the line numbers of the chunks after it) and, for delimited and
    /// CSV, checks its UTF-8 at once, so that its fields need no check of their own: those
    /// formats cut and unquote fields only at the delimiter, quotes, backslashes and line ends,
    /// and pieces of valid UTF-8 cut at ASCII bytes are valid UTF-8 too. A chunk that is not
    /// valid UTF-8 keeps the per-field check, which names the bad field. Returns the newlines.
    pub fn scan_whole(&mut self, data: &[u8]) -> u64 {
        let ascii_cuts = self.spec.options.delimiter.is_ascii()
            && match self.spec.format {
                Format::Csv { quote } => quote.is_ascii(),
                Format::Delimited => true,
                // FIXEDWIDTH cuts by characters; JSON fields are text already.
                _ => false,
            };
        let (utf8, newlines) = scan(data, ascii_cuts);
        self.utf8_checked = utf8;
        newlines
    }

    pub fn columns(&self) -> usize {
        self.spec.columns.len()
    }

    /// Whether more rows were rejected than the load tolerates: parsing can stop.
    pub fn over_limit(&self) -> bool {
        self.chunk.rejected > self.max_errors
    }

    /// A text record: `fields` are raw bytes, converted with NULL AS and the blank rules.
    pub fn text_row<F: Fields + ?Sized>(&mut self, line: u64, raw: &[u8], fields: &F) {
        match self.convert_text(fields) {
            Ok(replaced) => {
                if let Some(column) = replaced
                    && self.chunk.replacements.len() < REPLACEMENTS_LOGGED
                {
                    self.chunk.replacements.push(Replacement {
                        line,
                        colname: self.spec.columns[column].name.clone(),
                        raw_line: raw_line(raw),
                    });
                }
                self.push();
            }
            Err(fault) => {
                // The fields up to and including the bad one (`None`: missing).
                let parsed = (0..=fault.column).map(|i| (i < fields.count()).then(|| String::from_utf8_lossy(fields.field(i))));
                let detail = self.detail(parsed, true);
                self.reject(line, raw, fault, detail);
            }
        }
    }

    /// Records to gather and convert together ([`RowSink::text_block`]): a block that ends where
    /// the batch is full, or none when fields need a UTF-8 check of their own (the chunk is not
    /// valid UTF-8 as a whole; see [`RowSink::scan_whole`]).
    pub fn block_rows(&self) -> usize {
        if self.utf8_checked { BLOCK_ROWS.min(BATCH_ROWS - self.batcher.len()) } else { 0 }
    }

    /// Text records of exactly the table's column count, each `(line, raw)` in `records` with
    /// its fields in `fields`, record after record: converted column by column (see
    /// [`Converter::convert_all`]), or, when a field does not convert, record by record, which
    /// rejects the bad ones as [`RowSink::text_row`] does.
    pub fn text_block(&mut self, fields: &[&[u8]], records: &[(u64, &[u8])]) {
        debug_assert!(self.utf8_checked && records.len() <= self.block_rows());
        let columns = self.spec.columns.len();
        let converted = (0..columns).all(|column| {
            // SAFETY: the chunk is valid UTF-8 as a whole and cut at ASCII bytes (see
            // `scan_whole`), which `block_rows` requires.
            let texts = fields[column..].iter().step_by(columns).map(|field| unsafe { std::str::from_utf8_unchecked(field) });
            self.converter.convert_all(column, texts, self.batcher.column(column))
        });
        if converted {
            return self.push_rows(records.len());
        }
        self.batcher.drop_partial();
        for (record, &(line, raw)) in fields.chunks(columns).zip(records) {
            if self.over_limit() {
                break;
            }
            self.text_row(line, raw, record);
        }
    }

    /// Converts a text record's fields into the batch: the first column whose value had bytes
    /// replaced (ACCEPTINVCHARS), or why the record is rejected.
    fn convert_text<F: Fields + ?Sized>(&mut self, fields: &F) -> Result<Option<usize>, Fault> {
        let columns = self.spec.columns.len();
        let width = |count: usize| -> usize { (0..count).map(|i| fields.field(i).len() + 1).sum() };
        let whole = |code: i32, reason: &str, column: usize, position: usize, value: &[u8]| Fault {
            column,
            position,
            value: String::from_utf8_lossy(value).into_owned(),
            error: FieldError { code, reason: reason.into() },
        };
        if fields.count() > columns {
            return Err(whole(1202, "Extra column(s) found", columns - 1, width(columns), fields.field(columns)));
        } else if fields.count() < columns && !self.spec.options.fill_record {
            return Err(whole(1214, "Delimiter not found", fields.count(), width(fields.count()).saturating_sub(1), b""));
        }
        let mut position = 0;
        let mut replaced = None;
        for column in 0..columns {
            let fault = |value: String, error: FieldError| Fault { column, position, value, error };
            if column >= fields.count() {
                // FILLRECORD: a missing field is NULL, which a NOT NULL column rejects.
                self.converter.convert(column, None, true, self.batcher.column(column)).map_err(|e| fault(String::new(), e))?;
                continue;
            }
            let bytes = fields.field(column);
            let text = self.decode(bytes).map_err(|e| fault(String::from_utf8_lossy(bytes).into_owned(), e))?;
            if matches!(text, Cow::Owned(_)) {
                replaced.get_or_insert(column);
            }
            if let Err(e) = self.converter.convert(column, Some(text.as_ref()), true, self.batcher.column(column)) {
                return Err(fault(text.into_owned(), e));
            }
            position += bytes.len() + 1;
        }
        Ok(replaced)
    }

    /// A record whose fields are already text (`None`: absent or null).
    pub fn value_row(&mut self, line: u64, raw: &str, fields: &[Option<String>]) {
        for (column, field) in fields.iter().enumerate() {
            if let Err(e) = self.converter.convert(column, field.as_deref(), false, self.batcher.column(column)) {
                let value = field.clone().unwrap_or_default();
                let detail = self.detail(fields[..=column].iter().map(|f| f.as_deref().map(Cow::Borrowed)), false);
                let fault = Fault {
                    column,
                    position: 0,
                    value,
                    error: e,
                };
                return self.reject(line, raw.as_bytes(), fault, detail);
            }
        }
        self.push();
    }

    /// A record that is wrong as a whole (bad JSON, a missing delimiter).
    pub fn bad_record(&mut self, line: u64, raw: &[u8], code: i32, reason: String) {
        let fault = Fault {
            column: 0,
            position: 0,
            value: String::new(),
            error: FieldError { code, reason },
        };
        self.reject(line, raw, fault, Vec::new());
    }

    /// `bytes` as text: borrowed when they are valid UTF-8, owned when ACCEPTINVCHARS replaced
    /// some of them.
    fn decode<'b>(&self, bytes: &'b [u8]) -> Result<Cow<'b, str>, FieldError> {
        if self.utf8_checked {
            // SAFETY: `bytes` is a field of a chunk that is valid UTF-8 as a whole, cut and
            // unquoted only at ASCII bytes (see `scan_whole`).
            return Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) }));
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            Err(e) => match self.spec.options.accept_inv_chars {
                Some(replacement) => Ok(Cow::Owned(replace_invalid(bytes, replacement))),
                None => Err(FieldError {
                    code: 1220,
                    reason: format!(
                        "String contains invalid or unsupported UTF8 codepoints. Bad UTF8 hex sequence: {:02x} at byte {} (use ACCEPTINVCHARS to replace it)",
                        bytes[e.valid_up_to()],
                        e.valid_up_to()
                    ),
                }),
            },
        }
    }

    fn push(&mut self) {
        self.push_rows(1);
    }

    fn push_rows(&mut self, rows: usize) {
        self.batcher.end_rows(rows);
        self.chunk.rows += rows as u64;
        if self.batcher.is_full() {
            self.chunk.batches.push(self.batcher.finish());
        }
    }

    /// The fields of a record being rejected, for STL_LOADERROR_DETAIL (`None`: a field the
    /// record lacks); nothing once the chunk has detailed [`ERRORS_DETAILED`] rows.
    fn detail<'f>(&self, fields: impl Iterator<Item = Option<Cow<'f, str>>>, text_nulls: bool) -> Vec<ParsedField> {
        if self.chunk.errors.len() >= ERRORS_DETAILED {
            return Vec::new();
        }
        fields
            .enumerate()
            .map(|(column, field)| ParsedField {
                is_null: self.converter.non_null(column, field.as_deref(), text_nulls).is_none(),
                value: field.map(Cow::into_owned).unwrap_or_default(),
            })
            .collect()
    }

    /// Rejects the record being converted: what it appended to the batch is dropped. Only the
    /// first [`ERRORS_REPORTED`] rejected rows are kept; the rest are counted.
    fn reject(&mut self, line: u64, raw: &[u8], fault: Fault, fields: Vec<ParsedField>) {
        self.batcher.drop_partial();
        self.chunk.rejected += 1;
        if self.chunk.errors.len() >= ERRORS_REPORTED {
            return;
        }
        let Fault {
            column,
            position,
            value,
            error,
        } = fault;
        let target = &self.spec.columns[column.min(self.spec.columns.len() - 1)];
        self.chunk.errors.push(RowError {
            line,
            colname: target.name.clone(),
            column_type: target.kind.type_name().to_string(),
            col_length: target.kind.length(),
            position: position as u32,
            raw_line: raw_line(raw),
            raw_field_value: value,
            err_code: error.code,
            err_reason: error.reason,
            fields,
        });
    }

    pub fn finish(mut self, lines: u64) -> ParsedChunk {
        if !self.batcher.is_empty() {
            self.chunk.batches.push(self.batcher.finish());
        }
        self.chunk.lines = lines;
        self.chunk
    }
}

/// A record as STL_LOAD_ERRORS and STL_REPLACEMENTS show it: without its line end.
fn raw_line(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).trim_end_matches(['\r', '\n']).to_string()
}

/// `bytes` with each byte that is not part of valid UTF-8 replaced by `replacement`, as Redshift's
/// ACCEPTINVCHARS does: an invalid three-byte sequence becomes three replacement characters, so a
/// value keeps its length in bytes.
fn replace_invalid(bytes: &[u8], replacement: char) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        text.extend(std::iter::repeat_n(replacement, chunk.invalid().len()));
    }
    text
}

/// Bytes checked and counted at a time: few enough to stay in the core's cache from the UTF-8
/// check to the newline count, so that a chunk is read from memory once, not twice. (Counting
/// a 32 MB chunk's newlines in a pass of its own, after the parse, was 8% of a CSV parse.)
const SCAN_BLOCK: usize = 64 * 1024;

/// Whether `data` is valid UTF-8 (`false` without looking when `check_utf8` is not set), and
/// how many newlines it holds.
fn scan(data: &[u8], check_utf8: bool) -> (bool, u64) {
    let (mut valid, mut newlines) = (check_utf8, 0);
    // Where the bytes not yet found valid start: a character cut at a block's end is checked
    // with the next block.
    let mut unchecked = 0;
    for start in (0..data.len()).step_by(SCAN_BLOCK) {
        let end = (start + SCAN_BLOCK).min(data.len());
        if valid {
            match std::str::from_utf8(&data[unchecked..end]) {
                Ok(_) => unchecked = end,
                Err(e) if e.error_len().is_none() && end < data.len() => unchecked += e.valid_up_to(),
                Err(_) => valid = false,
            }
        }
        newlines += memchr::memchr_iter(b'\n', &data[start..end]).count() as u64;
    }
    (valid, newlines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_counts_newlines_and_checks_utf8_across_blocks() {
        // A two-byte character straddles the first block's end.
        let mut data = vec![b'a'; SCAN_BLOCK - 1];
        data.extend_from_slice("é\nx\n".as_bytes());
        data.extend(std::iter::repeat_n(b'\n', SCAN_BLOCK + 5));
        assert_eq!(scan(&data, true), (true, SCAN_BLOCK as u64 + 7));
        assert_eq!(scan(&data, false), (false, SCAN_BLOCK as u64 + 7));
        // A character cut by the end of the data, or a bad byte, is invalid.
        assert_eq!(scan(&data[..SCAN_BLOCK], true), (false, 0));
        data[SCAN_BLOCK + 10] = 0xff;
        assert_eq!(scan(&data, true).0, false);
        assert_eq!(scan(b"", true), (true, 0));
    }

    #[test]
    fn invalid_bytes_are_replaced_one_for_one() {
        // A cut three-byte character, a stray continuation byte, and a real U+FFFD that stays.
        let bytes = [b"a".as_slice(), &[0xe6, 0x9d], b"b", &[0x80], "\u{fffd}".as_bytes()].concat();
        assert_eq!(replace_invalid(&bytes, '^'), "a^^b^\u{fffd}");
    }
}
