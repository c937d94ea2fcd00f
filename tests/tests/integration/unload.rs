//! UNLOAD against a real S3-compatible server (s3s-fs, SigV4) and the embedded store: Redshift's
//! file names for PARALLEL ON and OFF, Parquet read back with the `parquet` crate itself, the text
//! formats' bytes, compression, PARTITION BY folders, MANIFEST VERBOSE, overwrite protection, and
//! a failing UNLOAD leaving nothing behind.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Decimal128Type, Int32Type, TimeUnit, TimestampMicrosecondType};
use blueshift_tests::Cluster;
use blueshift_tests::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, TestS3, files, put_file};
use blueshift_tests::sql::{command_count, text_rows as rows};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;

fn keys() -> String {
    format!("ACCESS_KEY_ID '{ACCESS_KEY_ID}' SECRET_ACCESS_KEY '{SECRET_ACCESS_KEY}'")
}

fn error_of(e: tokio_postgres::Error) -> (String, String) {
    let db = e.as_db_error().expect("a database error");
    (db.code().code().to_string(), db.message().to_string())
}

const SALES: &str = "CREATE TABLE sales (id INT, name VARCHAR(40), price DECIMAL(10,2), day DATE, at TIMESTAMP, ok BOOLEAN, f DOUBLE PRECISION) DISTKEY(id);
INSERT INTO sales VALUES
 (1, 'plain', 10.50, '2024-01-02', '2024-01-02 03:04:05', true, 1.5),
 (2, '', 0.01, '1999-12-31', '2000-01-01 00:00:00.25', false, -2),
 (3, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 'a|b,c', 123456.78, '2024-02-29', '2024-02-29 23:59:59', true, 0),
 (5, 'say \"hi\"', -1.00, '2024-03-01', '2024-03-01 12:00:00', false, 1e10),
 (6, E'two\\nlines', 7.00, '2024-03-02', '2024-03-02 00:00:01', true, 0.125),
 (7, 'back\\\\slash', 8.00, '2024-03-03', '2024-03-03 00:00:02', false, 3);";

#[tokio::test(flavor = "multi_thread")]
async fn parallel_parquet_is_read_by_the_parquet_crate() {
    let s3 = TestS3::start().await;
    s3.create_bucket("out");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute(SALES).await.unwrap();
    let sql = format!("UNLOAD ('SELECT id, name, price, day, at, ok FROM sales') TO 's3://out/sales/' {} FORMAT PARQUET", keys());
    assert_eq!(command_count(&client, &sql).await.unwrap(), 7);
    assert_eq!(rows(&client, "SELECT pg_last_unload_count()").await, vec![vec![Some("7".into())]]);

    let id: i64 = rows(&client, "SELECT pg_last_unload_id()").await[0][0].as_deref().unwrap().parse().unwrap();
    assert!(id > 0);

    // One file per slice that holds rows, named <slice>_part_00.parquet, holding exactly that
    // slice's rows (its id block's count, minimum and maximum in STV_BLOCKLIST): each slice wrote
    // its own rows.
    let blocks = rows(
        &client,
        "SELECT b.slice, b.num_values, b.minvalue, b.maxvalue FROM stv_blocklist b JOIN stv_tbl_perm p \
         ON b.tbl = p.id AND b.slice = p.slice WHERE p.name = 'sales' AND b.col = 0 ORDER BY 1",
    )
    .await;
    let names = files(&s3.root().join("out/sales"));
    let expected: Vec<String> = blocks
        .iter()
        .map(|b| format!("{:04}_part_00.parquet", b[0].as_deref().unwrap().parse::<u32>().unwrap()))
        .collect();
    assert!(blocks.len() > 1, "{blocks:?}");
    assert_eq!(names, expected);
    let mut ids = Vec::new();
    for (name, block) in names.iter().zip(&blocks) {
        let bytes = bytes::Bytes::from(std::fs::read(s3.root().join("out/sales").join(name)).unwrap());
        let file_ids: Vec<i32> = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
            .unwrap()
            .build()
            .unwrap()
            .flat_map(|b| b.unwrap().column(0).as_primitive::<Int32Type>().values().to_vec())
            .collect();
        let field = |i: usize| block[i].as_deref().unwrap().parse::<i64>().unwrap();
        assert_eq!(file_ids.len() as i64, field(1), "{name}");
        assert_eq!(*file_ids.iter().min().unwrap() as i64, field(2), "{name}");
        assert_eq!(*file_ids.iter().max().unwrap() as i64, field(3), "{name}");
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        let metadata = builder.metadata().clone();
        assert_eq!(metadata.row_group(0).column(0).compression(), Compression::SNAPPY);
        let schema = builder.schema().clone();
        assert_eq!(schema.field(2).data_type(), &DataType::Decimal128(10, 2));
        assert_eq!(schema.field(3).data_type(), &DataType::Date32);
        for batch in builder.build().unwrap() {
            let batch = batch.unwrap();
            for row in 0..batch.num_rows() {
                let id = batch.column(0).as_primitive::<Int32Type>().value(row);
                ids.push(id);
                let name = batch.column(1).as_string::<i32>();
                let price = batch.column(2).as_primitive::<Decimal128Type>();
                match id {
                    1 => assert_eq!((name.value(row), price.value(row)), ("plain", 1050)),
                    2 => assert_eq!((name.value(row), price.value(row)), ("", 1)),
                    3 => assert!(name.is_null(row) && price.is_null(row) && batch.column(3).is_null(row)),
                    6 => assert_eq!(name.value(row), "two\nlines"),
                    _ => {}
                }
            }
        }
    }
    ids.sort();
    assert_eq!(ids, (1..=7).collect::<Vec<_>>());

    // A computed column is written as its analysed type: a date plus an interval is a timestamp.
    let computed = format!(
        "UNLOAD ('SELECT day + INTERVAL ''90 minutes'' AS due FROM sales WHERE id = 1') TO 's3://out/computed/' {} FORMAT PARQUET PARALLEL OFF",
        keys()
    );
    assert_eq!(command_count(&client, &computed).await.unwrap(), 1);
    let [name] = files(&s3.root().join("out/computed")).try_into().expect("one file");
    let bytes = bytes::Bytes::from(std::fs::read(s3.root().join("out/computed").join(name)).unwrap());
    let batch = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap().build().unwrap().next().unwrap().unwrap();
    assert_eq!(batch.schema().field(0).data_type(), &DataType::Timestamp(TimeUnit::Microsecond, None));
    // 2024-01-02 01:30:00 in microseconds since the epoch.
    assert_eq!(batch.column(0).as_primitive::<TimestampMicrosecondType>().value(0), 1_704_159_000_000_000);

    // A second UNLOAD to the same prefix is refused and names a file; ALLOWOVERWRITE replaces,
    // CLEANPATH also removes files the new output does not replace.
    let (code, message) = error_of(client.simple_query(&sql).await.unwrap_err());
    assert_eq!(code, "42710");
    assert!(message.contains("s3://out/sales/0") && message.contains("ALLOWOVERWRITE"), "{message}");
    command_count(&client, &format!("{sql} ALLOWOVERWRITE")).await.unwrap();
    s3.put("out", "sales/0099_part_00.parquet", "stale");
    let (_, message) = error_of(client.simple_query(&format!("{sql} ALLOWOVERWRITE CLEANPATH")).await.unwrap_err());
    assert!(message.contains("CLEANPATH cannot be used with ALLOWOVERWRITE"), "{message}");
    command_count(&client, &format!("{sql} CLEANPATH")).await.unwrap();
    assert_eq!(files(&s3.root().join("out/sales")), names);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_formats_compression_and_manifest() {
    let s3 = TestS3::start().await;
    s3.create_bucket("out");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute(SALES).await.unwrap();
    let unload = |what: &str, to: &str, options: &str| {
        format!("UNLOAD ('SELECT id, name, price, day, at, ok FROM sales {what} ORDER BY id') TO 's3://out/{to}' {} PARALLEL OFF {options}", keys())
    };
    let read = |key: &str| std::fs::read(s3.root().join("out").join(key)).unwrap();
    let text = |key: &str| String::from_utf8(read(key)).unwrap();

    // Delimited text: NULL as the empty string by default; ESCAPE protects delimiters and newlines.
    command_count(&client, &unload("", "pipes/", "ESCAPE")).await.unwrap();
    assert_eq!(
        text("pipes/000"),
        "1|plain|10.50|2024-01-02|2024-01-02 03:04:05|t\n\
         2||0.01|1999-12-31|2000-01-01 00:00:00.250|f\n\
         3|||||\n\
         4|a\\|b,c|123456.78|2024-02-29|2024-02-29 23:59:59|t\n\
         5|say \"hi\"|-1.00|2024-03-01|2024-03-01 12:00:00|f\n\
         6|two\\\nlines|7.00|2024-03-02|2024-03-02 00:00:01|t\n\
         7|back\\\\slash|8.00|2024-03-03|2024-03-03 00:00:02|f\n"
    );
    command_count(&client, &unload("WHERE id < 3", "quoted/", "ADDQUOTES NULL AS 'NULL' DELIMITER ',' HEADER")).await.unwrap();
    assert_eq!(
        text("quoted/000"),
        "id,name,price,day,at,ok\n\"1\",\"plain\",\"10.50\",\"2024-01-02\",\"2024-01-02 03:04:05\",\"t\"\n\
         \"2\",\"\",\"0.01\",\"1999-12-31\",\"2000-01-01 00:00:00.250\",\"f\"\n"
    );
    // CSV quotes only what needs it, and tells the empty string from NULL.
    command_count(&client, &unload("WHERE id IN (2, 3, 4, 5, 6)", "csv/", "FORMAT CSV HEADER")).await.unwrap();
    assert_eq!(
        text("csv/000"),
        "id,name,price,day,at,ok\n2,\"\",0.01,1999-12-31,2000-01-01 00:00:00.250,f\n3,,,,,\n\
         4,\"a|b,c\",123456.78,2024-02-29,2024-02-29 23:59:59,t\n5,\"say \"\"hi\"\"\",-1.00,2024-03-01,2024-03-01 12:00:00,f\n\
         6,\"two\nlines\",7.00,2024-03-02,2024-03-02 00:00:01,t\n"
    );
    // A computed column is written as its analysed type: a date plus an interval is a timestamp,
    // not a date that drops the hours.
    let computed = format!(
        "UNLOAD ('SELECT id, day + INTERVAL ''90 minutes'' AS due FROM sales WHERE id IN (1, 4) ORDER BY id') TO 's3://out/computed/' {} PARALLEL OFF FORMAT CSV",
        keys()
    );
    command_count(&client, &computed).await.unwrap();
    assert_eq!(text("computed/000"), "1,2024-01-02 01:30:00\n4,2024-02-29 01:30:00\n");
    // JSON: one object per line, NULL as null, booleans as t/f.
    command_count(&client, &unload("WHERE id IN (1, 3)", "json/", "FORMAT JSON")).await.unwrap();
    assert_eq!(
        text("json/000"),
        "{\"id\":1,\"name\":\"plain\",\"price\":10.50,\"day\":\"2024-01-02\",\"at\":\"2024-01-02 03:04:05\",\"ok\":\"t\"}\n\
         {\"id\":3,\"name\":null,\"price\":null,\"day\":null,\"at\":null,\"ok\":null}\n"
    );

    // Compression, with Redshift's extensions.
    use std::io::Read;
    command_count(&client, &unload("", "gz/", "ESCAPE GZIP")).await.unwrap();
    command_count(&client, &unload("", "bz/", "ESCAPE BZIP2")).await.unwrap();
    command_count(&client, &unload("", "zst/", "ESCAPE ZSTD EXTENSION 'txt.zst'")).await.unwrap();
    let mut gz = String::new();
    flate2::read::GzDecoder::new(&read("gz/000.gz")[..]).read_to_string(&mut gz).unwrap();
    let mut bz = String::new();
    bzip2::read::BzDecoder::new(&read("bz/000.bz2")[..]).read_to_string(&mut bz).unwrap();
    let zst = String::from_utf8(zstd::decode_all(&read("zst/000.txt.zst")[..]).unwrap()).unwrap();
    assert_eq!(gz, text("pipes/000"));
    assert_eq!(bz, gz);
    assert_eq!(zst, gz);

    // MANIFEST VERBOSE lists each file with its size and rows.
    command_count(&client, &format!("UNLOAD ('SELECT * FROM sales') TO 's3://out/m/sales_' {} MANIFEST VERBOSE", keys()))
        .await
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&read("m/sales_manifest")).unwrap();
    let entries = manifest["entries"].as_array().unwrap();
    let mut total = 0;
    for entry in entries {
        let url = entry["url"].as_str().unwrap();
        let key = url.strip_prefix("s3://out/").unwrap();
        assert!(key.starts_with("m/sales_0") && key.contains("_part_00"), "{url}");
        assert_eq!(entry["meta"]["content_length"].as_u64().unwrap(), read(key).len() as u64);
        total += entry["meta"]["record_count"].as_u64().unwrap();
    }
    assert_eq!(total, 7);
    assert_eq!(manifest["meta"]["record_count"], 7);
    assert_eq!(manifest["schema"]["elements"][2]["type"]["base"], "numeric");
    assert_eq!(manifest["author"]["name"], "Amazon Redshift");
}

#[tokio::test(flavor = "multi_thread")]
async fn partitions_limits_and_failures() {
    let s3 = TestS3::start().await;
    s3.create_bucket("out");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute(SALES).await.unwrap();

    // Hive folders (booleans as Hive writes them); NULL keys go to __HIVE_DEFAULT_PARTITION__;
    // partition columns are left out.
    let sql = format!("UNLOAD ('SELECT ok, id FROM sales') TO 's3://out/parts/' {} PARTITION BY (ok) PARALLEL OFF", keys());
    assert_eq!(command_count(&client, &sql).await.unwrap(), 7);
    assert_eq!(files(&s3.root().join("out/parts")), ["ok=__HIVE_DEFAULT_PARTITION__/000", "ok=false/000", "ok=true/000"]);
    let mut true_ids: Vec<String> = std::fs::read_to_string(s3.root().join("out/parts/ok=true/000")).unwrap().lines().map(String::from).collect();
    true_ids.sort();
    assert_eq!(true_ids, ["1", "4", "6"]);
    let sql = format!("UNLOAD ('SELECT day, id FROM sales WHERE id < 3') TO 's3://out/inc/' {} PARTITION BY (day) INCLUDE FORMAT JSON", keys());
    command_count(&client, &sql).await.unwrap();
    let names = files(&s3.root().join("out/inc"));
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("day=1999-12-31/0") && names[0].contains("_part_00"), "{names:?}");
    let written = std::fs::read_to_string(s3.root().join("out/inc").join(&names[0])).unwrap();
    assert_eq!(written, "{\"day\":\"1999-12-31\",\"id\":2}\n");
    let (code, _) = error_of(
        client
            .simple_query(&format!("UNLOAD ('SELECT ok FROM sales') TO 's3://out/x/' {} PARTITION BY (ok)", keys()))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "22023");

    // A LIMIT in the outer SELECT is refused; inside a subquery it is fine.
    let (code, message) = error_of(
        client
            .simple_query(&format!("UNLOAD ('SELECT * FROM sales LIMIT 2') TO 's3://out/l/' {}", keys()))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "0A000");
    assert!(message.contains("Limit clause is not supported"), "{message}");
    let sql = format!("UNLOAD ('SELECT * FROM (SELECT * FROM sales ORDER BY id LIMIT 2)') TO 's3://out/l/' {} PARALLEL OFF", keys());
    assert_eq!(command_count(&client, &sql).await.unwrap(), 2);

    // A query failing part-way leaves no file: completed slices' files are removed, open uploads
    // aborted.
    let sql = format!("UNLOAD ('SELECT id, 10 / (id - 5) FROM sales') TO 's3://out/fail/' {}", keys());
    let (code, _) = error_of(client.simple_query(&sql).await.unwrap_err());
    assert_eq!(code, "22012");
    assert_eq!(files(&s3.root().join("out/fail")), Vec::<String>::new());

    // S3 errors: a missing bucket, wrong keys.
    let (code, message) = error_of(
        client
            .simple_query(&format!("UNLOAD ('SELECT 1') TO 's3://nobucket/p' {}", keys()))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "58P01", "{message}");
    let (code, _) = error_of(
        client
            .simple_query("UNLOAD ('SELECT 1') TO 's3://out/p' ACCESS_KEY_ID 'AKIAWRONG' SECRET_ACCESS_KEY 'nope'")
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "42501");
}

#[tokio::test(flavor = "multi_thread")]
async fn large_serial_files_split_at_maxfilesize_through_multipart_uploads() {
    let s3 = TestS3::start().await;
    s3.create_bucket("out");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE big (id BIGINT, pad VARCHAR(100)) DISTSTYLE EVEN;
             INSERT INTO big SELECT value, repeat('x', 90) FROM generate_series(1, 150000);",
        )
        .await
        .unwrap();
    let sql = format!("UNLOAD ('SELECT id, pad FROM big ORDER BY id') TO 's3://out/big/' {} PARALLEL OFF MAXFILESIZE 5 MB", keys());
    assert_eq!(command_count(&client, &sql).await.unwrap(), 150_000);
    let names = files(&s3.root().join("out/big"));
    // ~14.5 MB of text: three files of at least 5 MB each, then the rest.
    assert_eq!(names, ["000", "001", "002"]);
    let mut next = 1;
    for name in &names {
        let text = std::fs::read_to_string(s3.root().join("out/big").join(name)).unwrap();
        assert!(name == "002" || text.len() >= 5 * 1024 * 1024, "{name}: {}", text.len());
        for line in text.lines() {
            assert_eq!(line.split('|').next().unwrap().parse::<i64>().unwrap(), next);
            next += 1;
        }
    }
    assert_eq!(next, 150_001);

    // Failures late in the stream leave nothing behind: neither the files completed before the
    // failure (000 and 001 at 5 MB) nor the file whose multipart upload had parts in flight
    // (10 MB of a single file), whose upload is aborted so s3s-fs drops its parts.
    let failing = "SELECT id, pad, 1 / (id - 150000) FROM (SELECT id, pad FROM big ORDER BY id LIMIT 150000)";
    for (to, size) in [("split", "MAXFILESIZE 5 MB"), ("single", "")] {
        let sql = format!("UNLOAD ('{failing}') TO 's3://out/{to}/' {} PARALLEL OFF {size}", keys());
        let (code, _) = error_of(client.simple_query(&sql).await.unwrap_err());
        assert_eq!(code, "22012", "{to}");
        assert_eq!(files(&s3.root().join("out").join(to)), Vec::<String>::new(), "{to}");
        let uploads: Vec<String> = std::fs::read_dir(s3.root())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".upload"))
            .collect();
        assert_eq!(uploads, Vec::<String>::new(), "{to}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_store() {
    let cluster = Cluster::start(2, 2).await;
    let bucket = cluster.embedded_bucket("local");
    std::fs::create_dir_all(&bucket).unwrap();
    put_file(&bucket, "keep/notes.txt", "not output");
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE big (id BIGINT, pad VARCHAR(100)) DISTSTYLE EVEN;
             INSERT INTO big SELECT value, repeat('y', 90) FROM generate_series(1, 100000);",
        )
        .await
        .unwrap();
    let sql = "UNLOAD ('SELECT * FROM big') TO 's3://local/keep/' IAM_ROLE default PARALLEL OFF";
    assert_eq!(command_count(&client, sql).await.unwrap(), 100_000);
    assert_eq!(files(&bucket.join("keep")), ["000", "notes.txt"]);
    assert!(std::fs::metadata(bucket.join("keep/000")).unwrap().len() > 9 * 1024 * 1024);
    let sql = "UNLOAD ('SELECT id FROM big WHERE id <= 3') TO 's3://local/keep/' IAM_ROLE default FORMAT PARQUET CLEANPATH";
    assert_eq!(command_count(&client, sql).await.unwrap(), 3);
    let names = files(&bucket.join("keep"));
    assert!(names.iter().all(|n| n.ends_with("_part_00.parquet")), "{names:?}");
    let mut ids = Vec::new();
    for name in names {
        let bytes = bytes::Bytes::from(std::fs::read(bucket.join("keep").join(name)).unwrap());
        for batch in ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap().build().unwrap() {
            let batch = batch.unwrap();
            ids.extend(batch.column(0).as_primitive::<arrow::datatypes::Int64Type>().values().iter().copied());
        }
    }
    ids.sort();
    assert_eq!(ids, [1, 2, 3]);
}
