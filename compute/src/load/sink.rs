//! Where parsed records go: each record's fields are checked (UTF-8, field count), converted, and
//! appended as a row, or the record is rejected with its STL_LOAD_ERRORS details. Shared by the
//! text formats and JSON, which differ only in how they find a record's fields.

use std::borrow::Cow;

use super::columns::Batcher;
use super::convert::{Converter, FieldError};
use super::{Format, LoadSpec, ParsedChunk, REPLACEMENTS_LOGGED, Replacement, RowError};

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

    /// Whether more rows were rejected than the load tolerates: parsing can stop.
    pub fn over_limit(&self) -> bool {
        self.chunk.errors.len() as u64 > self.max_errors
    }

    /// A text record: `fields` are raw bytes, converted with NULL AS and the blank rules.
    pub fn text_row<F: Fields + ?Sized>(&mut self, line: u64, raw: &[u8], fields: &F) {
        let columns = self.spec.columns.len();
        let reject = |code: i32, reason: &str, column: usize, position: usize, value: &[u8]| (code, reason.to_string(), column, position, String::from_utf8_lossy(value).into_owned());
        let width = |count: usize| -> usize { (0..count).map(|i| fields.field(i).len() + 1).sum() };
        let rejected = if fields.count() > columns {
            Some(reject(1202, "Extra column(s) found", columns - 1, width(columns), fields.field(columns)))
        } else if fields.count() < columns && !self.spec.options.fill_record {
            Some(reject(1214, "Delimiter not found", fields.count(), width(fields.count()).saturating_sub(1), b""))
        } else {
            None
        };
        if let Some((code, reason, column, position, value)) = rejected {
            return self.reject(line, raw, column, position, value, FieldError { code, reason });
        }
        let mut position = 0;
        let mut replaced = None;
        for column in 0..columns {
            if column >= fields.count() {
                // FILLRECORD: a missing field is NULL, which a NOT NULL column rejects.
                if let Err(e) = self.converter.convert(column, None, true, self.batcher.column(column)) {
                    return self.reject(line, raw, column, position, String::new(), e);
                }
                continue;
            }
            let bytes = fields.field(column);
            let text = match self.decode(bytes) {
                Ok(text) => text,
                Err(e) => return self.reject(line, raw, column, position, String::from_utf8_lossy(bytes).into_owned(), e),
            };
            if matches!(text, Cow::Owned(_)) {
                replaced.get_or_insert(column);
            }
            if let Err(e) = self.converter.convert(column, Some(text.as_ref()), true, self.batcher.column(column)) {
                return self.reject(line, raw, column, position, text.into_owned(), e);
            }
            position += bytes.len() + 1;
        }
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

    /// A record whose fields are already text (`None`: absent or null).
    pub fn value_row(&mut self, line: u64, raw: &str, fields: &[Option<String>]) {
        for (column, field) in fields.iter().enumerate() {
            if let Err(e) = self.converter.convert(column, field.as_deref(), false, self.batcher.column(column)) {
                let value = field.clone().unwrap_or_default();
                return self.reject(line, raw.as_bytes(), column, 0, value, e);
            }
        }
        self.push();
    }

    /// A record that is wrong as a whole (bad JSON, a missing delimiter).
    pub fn bad_record(&mut self, line: u64, raw: &[u8], code: i32, reason: String) {
        self.reject(line, raw, 0, 0, String::new(), FieldError { code, reason });
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
        self.batcher.end_row();
        self.chunk.rows += 1;
        if self.batcher.is_full() {
            self.chunk.batches.push(self.batcher.finish());
        }
    }

    /// Rejects the record being converted: what it appended to the batch is dropped.
    fn reject(&mut self, line: u64, raw: &[u8], column: usize, position: usize, value: String, error: FieldError) {
        self.batcher.drop_row();
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
