//! UNLOAD's MANIFEST: the JSON list of the files written, at `<prefix>manifest`, in Redshift's
//! shape, which COPY ... MANIFEST reads back. VERBOSE adds each file's size and row count, the
//! columns and their types, and the totals.

use arrow::datatypes::Schema;
use blueshift_compute::unload::UnloadedFile;
use serde_json::{Value, json};

use crate::catalog::SqlType;

/// A column's type as the manifest's `schema.elements[].type`.
fn column_type(data_type: &arrow::datatypes::DataType) -> Value {
    match SqlType::from_arrow(data_type) {
        Ok(SqlType::Decimal { precision, scale }) => json!({"base": "numeric", "precision": precision, "scale": scale}),
        Ok(SqlType::Char { length }) => json!({"base": "character", "max_length": length}),
        Ok(SqlType::Varchar { .. }) => json!({"base": "character varying"}),
        Ok(other) => json!({"base": other.pg_name()}),
        Err(_) => json!({"base": data_type.to_string()}),
    }
}

pub fn manifest(files: &[UnloadedFile], verbose: bool, schema: &Schema) -> Vec<u8> {
    let entries: Vec<Value> = files
        .iter()
        .map(|f| {
            if verbose {
                json!({"url": f.url, "meta": {"content_length": f.bytes, "record_count": f.rows}})
            } else {
                json!({"url": f.url})
            }
        })
        .collect();
    let mut manifest = json!({ "entries": entries });
    if verbose {
        let elements: Vec<Value> = schema
            .fields()
            .iter()
            .map(|f| json!({"name": f.name(), "type": column_type(f.data_type())}))
            .collect();
        manifest["schema"] = json!({ "elements": elements });
        manifest["meta"] = json!({
            "content_length": files.iter().map(|f| f.bytes).sum::<u64>(),
            "record_count": files.iter().map(|f| f.rows).sum::<u64>(),
        });
        manifest["author"] = json!({"name": "Amazon Redshift", "version": "1.0.0"});
    }
    serde_json::to_vec_pretty(&manifest).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};

    #[test]
    fn plain_and_verbose() {
        let files = vec![
            UnloadedFile { url: "s3://b/p/0000_part_00".into(), bytes: 10, rows: 2 },
            UnloadedFile { url: "s3://b/p/0001_part_00".into(), bytes: 5, rows: 1 },
        ];
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("price", DataType::Decimal128(8, 2), true),
        ]);
        let plain: Value = serde_json::from_slice(&manifest(&files, false, &schema)).unwrap();
        assert_eq!(plain, json!({"entries": [{"url": "s3://b/p/0000_part_00"}, {"url": "s3://b/p/0001_part_00"}]}));
        let verbose: Value = serde_json::from_slice(&manifest(&files, true, &schema)).unwrap();
        assert_eq!(verbose["entries"][1]["meta"], json!({"content_length": 5, "record_count": 1}));
        assert_eq!(verbose["meta"], json!({"content_length": 15, "record_count": 3}));
        assert_eq!(verbose["schema"]["elements"][0], json!({"name": "id", "type": {"base": "integer"}}));
        assert_eq!(verbose["schema"]["elements"][1]["type"], json!({"base": "numeric", "precision": 8, "scale": 2}));
        assert_eq!(verbose["author"]["name"], "Amazon Redshift");
    }
}
