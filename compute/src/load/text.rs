//! Splitting text files into records and fields: delimited text (Redshift's default format, with
//! ESCAPE and REMOVEQUOTES), CSV through csv-core (quotes, doubled quotes, newlines inside
//! quotes) and FIXEDWIDTH. Line numbers count newlines from the start of the chunk, so an error
//! names the line a user finds in the file.

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
    let mut fields: Vec<Cow<'_, [u8]>> = Vec::new();
    while pos < data.len() && !sink.over_limit() {
        let start = pos;
        fields.clear();
        let newlines;
        if simple {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let record = strip_cr(&data[pos..end]);
            fields.extend(record.split(|b| *b == options.delimiter).map(Cow::Borrowed));
            pos = end + 1;
            newlines = 1;
        } else {
            let (end, count) = split_escaped(data, pos, options, &mut fields);
            pos = end;
            newlines = count.max(1);
        }
        let raw = &data[start..pos.min(data.len())];
        if is_blank(raw) {
            blank(sink, options, line + 1, raw);
        } else {
            sink.text_row(line + 1, raw, fields.as_slice());
        }
        line += newlines;
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

fn csv(sink: &mut RowSink<'_>, options: &Options, quote: u8, data: &[u8], mut line: u64) {
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
    use crate::load::{ColumnKind, TargetColumn};

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

    #[test]
    fn csv_fields_keep_their_positions() {
        assert_eq!(rejections("1,abcdefghijkl\n\"22\",\"x\"\"y\",z\n5\n"), vec![(1, 2, 1204), (2, 7, 1202), (3, 1, 1214)]);
    }
}
