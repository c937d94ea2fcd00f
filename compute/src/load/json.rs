//! JSON load files: a sequence of objects (one per line or just concatenated). With 'auto' each
//! column takes the member of its name ('auto ignorecase': any case); with a JSONPaths file each
//! column takes the value its path (`$.a.b`, `$['a']`, `$.list[0]`) selects. Scalars load as their
//! text, nested objects and arrays as JSON text; a malformed object is rejected and parsing goes
//! on at the next line.

use serde_json::Value;

use super::sink::RowSink;
use super::{JsonMode, LoadSpec, ParsedChunk};

/// One step of a JSONPath.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Member(String),
    Index(usize),
}

/// Parses the JSONPath subset Redshift accepts: `$` followed by `.name`, `['name']`, `[n]`.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let invalid = || format!("invalid JSONPath expression '{path}'");
    let mut rest = path.trim().strip_prefix('$').ok_or_else(invalid)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(invalid());
            }
            steps.push(Step::Member(after[..end].to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(invalid)?;
            let inside = after[..end].trim();
            let quoted = inside
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inside.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
            steps.push(match quoted {
                Some(name) => Step::Member(name.to_string()),
                None => Step::Index(inside.parse().map_err(|_| invalid())?),
            });
            rest = &after[end + 1..];
        } else {
            return Err(invalid());
        }
    }
    Ok(steps)
}

fn select<'v>(value: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    steps.iter().try_fold(value, |v, step| match step {
        Step::Member(name) => v.get(name),
        Step::Index(i) => v.get(*i),
    })
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        nested => Some(nested.to_string()),
    }
}

pub fn parse(spec: &LoadSpec, mode: &JsonMode, data: &[u8], max_errors: u64) -> Result<ParsedChunk, String> {
    let paths = match mode {
        JsonMode::Paths(paths) => {
            if paths.len() != spec.columns.len() {
                return Err(format!(
                    "the JSONPaths file has {} expressions but the load has {} columns",
                    paths.len(),
                    spec.columns.len()
                ));
            }
            Some(paths.iter().map(|p| parse_path(p)).collect::<Result<Vec<_>, _>>()?)
        }
        _ => None,
    };
    let mut sink = RowSink::new(spec, max_errors)?;
    let mut offset = 0;
    let mut line = 0u64;
    let newlines = |bytes: &[u8]| memchr::memchr_iter(b'\n', bytes).count() as u64;
    'resync: while offset < data.len() && !sink.over_limit() {
        let mut stream = serde_json::Deserializer::from_slice(&data[offset..]).into_iter::<Value>();
        let mut consumed = 0;
        while !sink.over_limit() {
            let start = consumed;
            let Some(next) = stream.next() else {
                break 'resync;
            };
            let leading = data[offset + start..].iter().take_while(|b| b.is_ascii_whitespace()).count();
            line += newlines(&data[offset + start..offset + start + leading]);
            match next {
                Ok(value) => {
                    consumed = stream.byte_offset();
                    let raw = &data[offset + start + leading..offset + consumed];
                    let fields: Vec<Option<String>> = match (&paths, &value) {
                        (Some(paths), _) => paths.iter().map(|p| text(select(&value, p))).collect(),
                        (None, Value::Object(object)) => spec
                            .columns
                            .iter()
                            .map(|c| {
                                let member = match mode {
                                    JsonMode::AutoIgnoreCase => object
                                        .iter()
                                        .find(|(k, _)| k.eq_ignore_ascii_case(&c.name))
                                        .map(|(_, v)| v),
                                    _ => object.get(&c.name),
                                };
                                text(member)
                            })
                            .collect(),
                        (None, _) => {
                            sink.bad_record(line + 1, raw, 1216, "Invalid JSON: expected an object".into());
                            line += newlines(raw);
                            continue;
                        }
                    };
                    sink.value_row(line + 1, &String::from_utf8_lossy(raw), &fields);
                    line += newlines(raw);
                }
                Err(e) => {
                    // Skip to the next line and parse again from there.
                    let bad_start = offset + start + leading;
                    let end = memchr::memchr(b'\n', &data[bad_start..]).map_or(data.len(), |i| bad_start + i + 1);
                    sink.bad_record(line + 1, &data[bad_start..end], 1216, format!("Invalid JSON: {e}"));
                    line += newlines(&data[bad_start..end]);
                    offset = end;
                    continue 'resync;
                }
            }
        }
        break;
    }
    Ok(sink.finish(newlines(data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("$.a['b c'][2]").unwrap(),
            vec![Step::Member("a".into()), Step::Member("b c".into()), Step::Index(2)]
        );
        assert!(parse_path("a.b").is_err());
        let v: Value = serde_json::json!({"a": {"b c": [1, 2, {"x": true}]}});
        assert_eq!(text(select(&v, &parse_path("$.a['b c'][2]").unwrap())), Some(r#"{"x":true}"#.into()));
        assert_eq!(text(select(&v, &parse_path("$.a.missing").unwrap())), None);
    }
}
