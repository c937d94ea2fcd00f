//! Splitting text files into records and fields: delimited text (Redshift's default format, with
//! ESCAPE and REMOVEQUOTES), CSV (split directly where its fields are plain or quoted whole, and
//! through csv-core where quotes are doubled or hold line ends) and FIXEDWIDTH. Line numbers
//! count newlines from the start of the chunk, so an error names the line a user finds in the
//! file.

use std::borrow::Cow;

use csv_core::{ReadRecordResult, ReaderBuilder};

use super::sink::{EndsFields, RowSink};
use super::{Format, LoadSpec, Options, ParsedChunk};

pub fn parse(spec: &LoadSpec, first: bool, data: &[u8], max_errors: u64) -> Result<ParsedChunk, String> {
    let mut sink = RowSink::new(spec, max_errors)?;
    let options = &spec.options;
    let newlines = sink.scan_whole(data);
    let (mut pos, mut line) = (0, 0);
    if first {
        while line < options.ignore_header && pos < data.len() {
            pos = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
            line += 1;
        }
    }
    match &spec.format {
        Format::Csv { quote } => csv(&mut sink, options, *quote, &data[pos..], line),
        Format::FixedWidth(widths) => fixed_width(&mut sink, options, widths, &data[pos..], line),
        _ => delimited(&mut sink, options, &data[pos..], line),
    }
    Ok(sink.finish(newlines))
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
}

/// Whether a blank record is skipped (IGNOREBLANKLINES) or rejected.
fn blank(sink: &mut RowSink<'_>, options: &Options, line: u64, raw: &[u8]) {
    if !options.ignore_blank_lines {
        sink.bad_record(line, raw, 1211, "Line contains no data (use IGNOREBLANKLINES to skip it)".into());
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn delimited(sink: &mut RowSink<'_>, options: &Options, data: &[u8], mut line: u64) {
    let simple = !options.escape && !options.remove_quotes;
    let mut pos = 0;
    let mut block = Block::new(sink);
    let mut fields: Vec<Cow<'_, [u8]>> = Vec::new();
    while pos < data.len() && !sink.over_limit() {
        let start = pos;
        if simple {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let raw = &data[start..(end + 1).min(data.len())];
            pos = end + 1;
            line += 1;
            if is_blank(raw) {
                block.flush_then(sink, |sink| blank(sink, options, line, raw));
            } else {
                let mark = block.fields.len();
                block.fields.extend(strip_cr(&data[start..end]).split(|b| *b == options.delimiter));
                block.add(sink, line, raw, mark);
            }
            continue;
        }
        fields.clear();
        let (end, newlines) = split_escaped(data, pos, options, &mut fields);
        pos = end;
        let raw = &data[start..pos.min(data.len())];
        if is_blank(raw) {
            blank(sink, options, line + 1, raw);
        } else {
            sink.text_row(line + 1, raw, fields.as_slice());
        }
        line += newlines.max(1);
    }
    block.flush(sink);
}

/// Records gathered for [`RowSink::text_block`], which converts them together: those with
/// exactly the table's column count. Any other record, and anything else that goes to the sink,
/// goes once the records gathered before it are converted, so rows and rejections keep the
/// file's order.
struct Block<'d> {
    columns: usize,
    /// The fields of the records, record after record, and then those of the record being added.
    fields: Vec<&'d [u8]>,
    /// Each record's line number and bytes.
    records: Vec<(u64, &'d [u8])>,
}

impl<'d> Block<'d> {
    fn new(sink: &RowSink<'_>) -> Block<'d> {
        let columns = sink.columns();
        Block {
            columns,
            fields: Vec::with_capacity(sink.block_rows() * columns),
            records: Vec::with_capacity(sink.block_rows()),
        }
    }

    /// Takes the record `raw`, on `line`, whose fields are those after `mark`.
    fn add(&mut self, sink: &mut RowSink<'_>, line: u64, raw: &'d [u8], mark: usize) {
        if self.fields.len() - mark == self.columns && sink.block_rows() > 0 {
            self.records.push((line, raw));
            if self.records.len() >= sink.block_rows() {
                self.flush(sink);
            }
        } else {
            let fields = self.fields.split_off(mark);
            self.flush_then(sink, |sink| sink.text_row(line, raw, fields.as_slice()));
        }
    }

    /// Converts the records gathered, then hands the sink what comes after them, unless those
    /// records took the chunk past its error limit: parsing stops there.
    fn flush_then(&mut self, sink: &mut RowSink<'_>, next: impl FnOnce(&mut RowSink<'_>)) {
        self.flush(sink);
        if !sink.over_limit() {
            next(sink);
        }
    }

    fn flush(&mut self, sink: &mut RowSink<'_>) {
        if !self.records.is_empty() {
            sink.text_block(&self.fields, &self.records);
        }
        self.fields.clear();
        self.records.clear();
    }
}

/// Splits one record with ESCAPE (`\x` is a literal x, including newlines and delimiters) and
/// REMOVEQUOTES (quotes around a field are dropped; delimiters inside them are data). Returns
/// where the next record starts and how many lines this one spanned. A field that is the NULL AS
/// string as written (`\N`, which UNLOAD ... ESCAPE writes for NULL) is kept as written, so it
/// still reads as NULL rather than as its unescaped text.
fn split_escaped<'a>(data: &'a [u8], mut i: usize, options: &Options, fields: &mut Vec<Cow<'a, [u8]>>) -> (usize, u64) {
    let null_as = options.null_as.as_bytes();
    let finish = |field: Vec<u8>, raw: &'a [u8]| if raw == null_as { Cow::Borrowed(raw) } else { Cow::Owned(field) };
    let mut field = Vec::new();
    let mut start = i;
    let mut quoted = false;
    let mut lines = 1;
    while i < data.len() {
        let b = data[i];
        if options.escape && b == b'\\' && i + 1 < data.len() {
            if data[i + 1] == b'\n' {
                lines += 1;
            }
            field.push(data[i + 1]);
            i += 2;
            continue;
        }
        i += 1;
        match b {
            b'"' if options.remove_quotes => quoted = !quoted,
            b'\n' if !quoted => break,
            b'\n' => {
                lines += 1;
                field.push(b);
            }
            _ if b == options.delimiter && !quoted => {
                fields.push(finish(std::mem::take(&mut field), &data[start..i - 1]));
                start = i;
            }
            _ => field.push(b),
        }
    }
    let mut end = if i > start && data[i - 1] == b'\n' { i - 1 } else { i };
    if field.last() == Some(&b'\r') {
        field.pop();
        end -= 1;
    }
    fields.push(finish(field, &data[start..end.max(start)]));
    (i, lines)
}

/// CSV records: split directly while they are simple ([`split_simple`]), and through csv-core
/// from the first that is not. Splitting needs no state machine and copies no field; csv-core
/// was a fifth of parsing a CSV file.
fn csv(sink: &mut RowSink<'_>, options: &Options, quote: u8, data: &[u8], line: u64) {
    let line_bytes = [b'\r', b'\n'];
    let (pos, line) = if line_bytes.contains(&options.delimiter) || line_bytes.contains(&quote) {
        (0, line)
    } else {
        simple_csv(sink, options, quote, data, line)
    };
    if pos < data.len() && !sink.over_limit() {
        quoted_csv(sink, options, quote, &data[pos..], line);
    }
}

/// The records of `data` up to the first that is not simple; where that record starts and its
/// line count. A record ends at `\n` or `\r\n`; empty lines are passed over as csv-core passes
/// over them.
fn simple_csv(sink: &mut RowSink<'_>, options: &Options, quote: u8, data: &[u8], mut line: u64) -> (usize, u64) {
    let mut pos = 0;
    let mut block = Block::new(sink);
    while pos < data.len() && !sink.over_limit() {
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        let record = strip_cr(&data[pos..end]);
        if !record.is_empty() {
            let mark = block.fields.len();
            if !split_simple(record, options.delimiter, quote, &mut block.fields) {
                block.fields.truncate(mark);
                break;
            }
            block.add(sink, line + 1, &data[pos..(end + 1).min(data.len())], mark);
        }
        line += 1;
        pos = end + 1;
    }
    block.flush(sink);
    (pos.min(data.len()), line)
}

/// Appends the fields of `record` (without its line end) to `fields` if every field is either unquoted, holding
/// no quote and no carriage return, or quoted whole, holding no quote: what most CSV writers
/// write. Anything else (a doubled quote, a newline inside quotes, text after a closing quote, a
/// bare carriage return) is `false`, for csv-core to read.
fn split_simple<'a>(record: &'a [u8], delimiter: u8, quote: u8, fields: &mut Vec<&'a [u8]>) -> bool {
    let mut at = 0;
    loop {
        if record.get(at) == Some(&quote) {
            let Some(close) = memchr::memchr(quote, &record[at + 1..]).map(|i| at + 1 + i) else {
                return false;
            };
            fields.push(&record[at + 1..close]);
            match record.get(close + 1) {
                None => return true,
                Some(&b) if b == delimiter => at = close + 2,
                Some(_) => return false,
            }
        } else {
            let start = at;
            while let Some(&b) = record.get(at) {
                if b == delimiter {
                    break;
                }
                if b == quote || b == b'\r' {
                    return false;
                }
                at += 1;
            }
            fields.push(&record[start..at]);
            if at == record.len() {
                return true;
            }
            at += 1;
        }
    }
}

/// CSV records through csv-core: quoted fields, doubled quotes, newlines inside quotes and any
/// line terminator.
fn quoted_csv(sink: &mut RowSink<'_>, options: &Options, quote: u8, data: &[u8], mut line: u64) {
    let mut reader = ReaderBuilder::new().delimiter(options.delimiter).quote(quote).build();
    let mut output = vec![0u8; 4096];
    let mut ends = vec![0usize; 64];
    let (mut pos, mut out_len, mut ends_len, mut start) = (0, 0, 0, 0);
    while !sink.over_limit() {
        let (result, read, written, ended) = reader.read_record(&data[pos..], &mut output[out_len..], &mut ends[ends_len..]);
        pos += read;
        out_len += written;
        ends_len += ended;
        match result {
            ReadRecordResult::InputEmpty if pos < data.len() => {}
            ReadRecordResult::InputEmpty => {
                // Flush a last record without a trailing newline.
                if pos == data.len() && out_len == 0 && ends_len == 0 && start == pos {
                    break;
                }
                let (result, _, _, ended) = reader.read_record(&[], &mut output[out_len..], &mut ends[ends_len..]);
                ends_len += ended;
                if result != ReadRecordResult::Record {
                    break;
                }
                emit_csv(sink, options, data, start, pos, &output, &ends[..ends_len], line);
                break;
            }
            ReadRecordResult::OutputFull => output.resize(output.len() * 2, 0),
            ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            ReadRecordResult::Record => {
                let raw = &data[start..pos];
                emit_csv(sink, options, data, start, pos, &output, &ends[..ends_len], line);
                // Without quotes or skipped blank lines, a record is its fields, their
                // delimiters and one terminator: only longer records are scanned for newlines.
                // A `\r` terminator ends a line of its own only in a CR-only file; a CRLF's `\n`
                // comes with the next record's bytes.
                let unquoted = out_len + ends_len - 1;
                let newlines = if raw.len() <= unquoted + 1 {
                    usize::from(raw.last() == Some(&b'\n'))
                } else {
                    memchr::memchr_iter(b'\n', raw).count()
                };
                let bare_cr = raw.last() == Some(&b'\r') && data.get(pos) != Some(&b'\n');
                line += (newlines + usize::from(bare_cr)) as u64;
                start = pos;
                out_len = 0;
                ends_len = 0;
            }
            ReadRecordResult::End => break,
        }
    }
}

/// The record csv-core read from `data[start..end]`, which may begin with the blank lines it
/// passed over on the way (and the `\n` of the CRLF that ended the record before): they belong to
/// no record, so the record's line number and text come after them. `line` counts the newlines
/// before `start`.
fn emit_csv(sink: &mut RowSink<'_>, options: &Options, data: &[u8], start: usize, end: usize, output: &[u8], ends: &[usize], line: u64) {
    let blanks = data[start..end].iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
    let skipped = memchr::memchr_iter(b'\n', &data[start..start + blanks]).count();
    let (raw, line) = (&data[start + blanks..end], line + skipped as u64);
    // A record of one empty field on a line of its own is a blank line too.
    if ends.len() == 1 && ends[0] == 0 && is_blank(raw) {
        return blank(sink, options, line + 1, raw);
    }
    sink.text_row(line + 1, raw, &EndsFields { buffer: output, ends });
}

fn fixed_width(sink: &mut RowSink<'_>, options: &Options, widths: &[usize], data: &[u8], mut line: u64) {
    let mut fields: Vec<Cow<'_, [u8]>> = Vec::new();
    for raw in data.split_inclusive(|b| *b == b'\n') {
        if sink.over_limit() {
            break;
        }
        line += 1;
        let record = strip_cr(raw.strip_suffix(b"\n").unwrap_or(raw));
        if is_blank(record) {
            blank(sink, options, line, raw);
            continue;
        }
        fields.clear();
        // Widths count characters; a field never splits a UTF-8 sequence.
        let mut at = 0;
        for &width in widths {
            if at >= record.len() {
                break;
            }
            let mut end = at;
            let mut chars = 0;
            while end < record.len() && chars < width {
                end += 1;
                while end < record.len() && (record[end] & 0xC0) == 0x80 {
                    end += 1;
                }
                chars += 1;
            }
            fields.push(Cow::Borrowed(&record[at..end]));
            at = end;
        }
        sink.text_row(line, raw, fields.as_slice());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{ColumnKind, ERRORS_DETAILED, ERRORS_REPORTED, TargetColumn};

    fn csv_spec() -> LoadSpec {
        let column = |name: &str, kind| TargetColumn {
            name: name.into(),
            kind,
            not_null: false,
        };
        LoadSpec {
            columns: vec![column("n", ColumnKind::Integer), column("s", ColumnKind::Varchar(10))],
            format: Format::Csv { quote: b'"' },
            options: Options {
                delimiter: b',',
                ..Options::default()
            },
        }
    }

    /// (line, position, code) of each rejected record.
    fn rejections(data: &str) -> Vec<(u64, u32, i32)> {
        let parsed = parse(&csv_spec(), true, data.as_bytes(), 100).unwrap();
        parsed.errors.iter().map(|e| (e.line, e.position, e.err_code)).collect()
    }

    #[test]
    fn csv_lines_count_quoted_newlines_and_crlf() {
        // Plain records are one line each; a quoted newline and CRLF endings are counted.
        let data = "1,a\nx,b\n2,\"c\nd\"\ny,e\r\nz,\"f\"\r\n3,g,h\r\n4";
        assert_eq!(rejections(data), vec![(2, 0, 1207), (5, 0, 1207), (6, 0, 1207), (7, 4, 1202), (8, 1, 1214)]);
        let parsed = parse(&csv_spec(), true, data.as_bytes(), 100).unwrap();
        assert_eq!((parsed.rows, parsed.lines), (2, 7));
    }

    #[test]
    fn csv_records_after_blank_lines_keep_their_own_line() {
        let data = "1,a\n\n\nx,b\r\n\r\ny,c\n";
        assert_eq!(rejections(data), vec![(4, 0, 1207), (6, 0, 1207)]);
        let parsed = parse(&csv_spec(), true, data.as_bytes(), 100).unwrap();
        assert_eq!(parsed.errors[0].raw_line, "x,b");
        // Classic Mac files end lines with a bare CR.
        assert_eq!(rejections("1,a\rx,b\r2,c\ry,d"), vec![(2, 0, 1207), (4, 0, 1207)]);
    }

    /// Simple records are split directly: rows, rejections and line numbers are exactly
    /// csv-core's, whether a chunk is all simple records or turns to csv-core partway.
    #[test]
    fn simple_csv_parses_as_csv_core_does() {
        let spec = csv_spec();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet: &[&str] = &[
            "1", "22", "a", "é", ",", ",", "\n", "\n", "\n\n", " ", "x1", "\"q\"", "\"1\"", "\"a,b\"", "\"\"", "\"x\"\"y\"",
            "\r\n", "\r", "\"", "\"m\nn\"", "\"\r\"",
        ];
        for case in 0..2000 {
            let mut data = String::new();
            for _ in 0..(case % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                data.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            if case % 3 == 0 {
                // A quoted field partway: the rest goes through csv-core.
                data.push_str("\n3,\"q,\n\"\n4,r\n");
                data.push_str(&data.clone());
            }
            let parse_with = |split_first: bool| {
                let mut sink = RowSink::new(&spec, 1000).unwrap();
                sink.scan_whole(data.as_bytes());
                if split_first {
                    csv(&mut sink, &spec.options, b'"', data.as_bytes(), 0);
                } else {
                    quoted_csv(&mut sink, &spec.options, b'"', data.as_bytes(), 0);
                }
                sink.finish(0)
            };
            let (split, core) = (parse_with(true), parse_with(false));
            assert_eq!(split.rows, core.rows, "{data:?}");
            assert_eq!(split.errors, core.errors, "{data:?}");
            assert_eq!(split.batches, core.batches, "{data:?}");
        }
    }

    /// Records converted a block at a time, column by column, give the rows, batches and
    /// rejections converting them one at a time gives (which a chunk that is not valid UTF-8 as
    /// a whole does): across batch ends, with bad fields, short and long records and blank
    /// lines among them.
    #[test]
    fn blocks_convert_as_records_do() {
        let mut spec = csv_spec();
        spec.format = Format::Delimited;
        spec.options.delimiter = b'|';
        spec.options.ignore_blank_lines = true;
        let mut data = String::new();
        for i in 0..(crate::load::BATCH_ROWS * 2 + 3000) {
            match i % 997 {
                13 => data.push_str("x|bad digit\n"),
                101 => data.push_str("7|far too long a value\n"),
                202 => data.push_str("8\n"),
                303 => data.push_str("9|a|b\n"),
                404 => data.push_str("  \r\n"),
                _ => data.push_str(&format!("{i}|v{}\r\n", i % 100)),
            }
        }
        let parse_with = |blocks: bool, max_errors: u64| {
            let mut sink = RowSink::new(&spec, max_errors).unwrap();
            if blocks {
                sink.scan_whole(data.as_bytes());
            }
            delimited(&mut sink, &spec.options, data.as_bytes(), 0);
            sink.finish(0)
        };
        let (blocks, records) = (parse_with(true, u64::MAX), parse_with(false, u64::MAX));
        assert_eq!(blocks.rows, records.rows);
        assert!(blocks.rejected > 500);
        assert_eq!(blocks.errors, records.errors);
        assert_eq!(blocks.batches.len(), 3);
        assert_eq!(blocks.batches, records.batches);
        // Past MAXERROR, parsing stops at the same record, partway through a block.
        let (blocks, records) = (parse_with(true, 1), parse_with(false, 1));
        assert_eq!((blocks.rows, blocks.rejected), (records.rows, 2));
        assert_eq!(blocks.batches, records.batches);
    }

    /// A record rejected partway leaves nothing in the batch: the values its fields before the
    /// bad one appended are dropped again.
    #[test]
    fn rejected_records_leave_no_values_behind() {
        use arrow::array::AsArray;
        use arrow::datatypes::Int32Type;
        let parsed = parse(&csv_spec(), true, b"5,x\n1,abcdefghijkl\nz,q\n7,y\n", 100).unwrap();
        assert_eq!(parsed.errors.iter().map(|e| e.err_code).collect::<Vec<_>>(), vec![1204, 1207]);
        let batch = &parsed.batches[0];
        assert_eq!(batch.column(0).as_primitive::<Int32Type>().values().to_vec(), vec![5, 7]);
        assert_eq!(batch.column(1).as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("x"), Some("y")]);
    }

    /// The first rejected rows carry their fields up to the bad one, as parsed and with NULL
    /// marked; later rows do not; past the reported rows, rejections are only counted.
    #[test]
    fn rejected_rows_carry_their_fields_then_only_a_count() {
        let field = |value: &str, is_null: bool| crate::load::ParsedField {
            value: value.into(),
            is_null,
        };
        let parsed = parse(&csv_spec(), true, b"x,a
,abcdefghijkl
1
1,b,c
", 100).unwrap();
        let fields: Vec<_> = parsed.errors.iter().map(|e| e.fields.clone()).collect();
        assert_eq!(
            fields,
            vec![
                vec![field("x", false)],
                vec![field("", true), field("abcdefghijkl", false)],
                // One field short: the missing one is NULL.
                vec![field("1", false), field("", true)],
                // An extra field: the table's columns only.
                vec![field("1", false), field("b", false)],
            ]
        );

        let bad = "x,a\n".repeat(ERRORS_REPORTED + 5);
        let parsed = parse(&csv_spec(), true, bad.as_bytes(), u64::MAX).unwrap();
        assert_eq!((parsed.rejected, parsed.errors.len()), (ERRORS_REPORTED as u64 + 5, ERRORS_REPORTED));
        assert!(parsed.errors[ERRORS_DETAILED - 1].fields.len() == 1 && parsed.errors[ERRORS_DETAILED].fields.is_empty());
    }

    #[test]
    fn csv_fields_keep_their_positions() {
        assert_eq!(rejections("1,abcdefghijkl\n\"22\",\"x\"\"y\",z\n5\n"), vec![(1, 2, 1204), (2, 7, 1202), (3, 1, 1214)]);
    }
}
