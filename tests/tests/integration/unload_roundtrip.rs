//! UNLOAD then COPY: every format's output loads back into an identical table with the same
//! values, for every column type, NULLs, empty strings and strings holding delimiters, quotes,
//! backslashes and newlines.

use blueshift_tests::Cluster;
use blueshift_tests::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, TestS3};
use blueshift_tests::sql::{command_count, text_rows as rows};

const COLUMNS: &str = "(id INT, small SMALLINT, big BIGINT, name VARCHAR(40), code CHAR(3), price DECIMAL(12,2), \
                        r REAL, f DOUBLE PRECISION, ok BOOLEAN, day DATE, at TIMESTAMP, atz TIMESTAMPTZ, t TIME)";

const ROWS: &str = "INSERT INTO src VALUES
 (1, 1, 10000000000, 'plain', 'abc', 10.50, 1.5, 2.25, true, '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05+00', '03:04:05'),
 (2, -2, -1, '', '', 0.01, -0.5, -1e10, false, '1999-12-31', '2000-01-01 00:00:00.25', '2000-01-01 00:00:00+00', '00:00:00.25'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 4, 4, 'a|b,c', 'x,y', 123456789.99, 0, 0, true, '2024-02-29', '2024-02-29 23:59:59', '2024-02-29 23:59:59+00', '23:59:59'),
 (5, 5, 5, 'say \"hi\" and ''bye''', 'q\"', -1.00, 3, 3, false, '2024-03-01', '2024-03-01 12:00:00', '2024-03-01 12:00:00+00', '12:00:00'),
 (6, 6, 6, E'two\\nlines\\r\\nhere', 'n', 7.00, 4, 4, true, '2024-03-02', '2024-03-02 00:00:01', '2024-03-02 00:00:01+00', '00:00:01'),
 (7, 7, 7, 'back\\\\slash \\\\N', 'b', 8.00, 5, 5, false, '0001-01-01', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '00:00:00');";

#[tokio::test(flavor = "multi_thread")]
async fn every_format_loads_back_with_copy() {
    let s3 = TestS3::start().await;
    s3.create_bucket("roundtrip");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute(&format!("CREATE TABLE src {COLUMNS} DISTKEY(id); {ROWS}")).await.unwrap();
    let expected = rows(&client, "SELECT * FROM src ORDER BY id").await;
    assert_eq!(expected.len(), 7);
    let keys = format!("ACCESS_KEY_ID '{ACCESS_KEY_ID}' SECRET_ACCESS_KEY '{SECRET_ACCESS_KEY}'");
    let cases = [
        ("parquet", "FORMAT PARQUET", "FORMAT PARQUET"),
        ("csv", "FORMAT CSV HEADER NULL AS '\\\\N'", "CSV IGNOREHEADER 1 NULL AS '\\\\N' TIMEFORMAT 'auto'"),
        ("text", "ESCAPE NULL AS '\\\\N'", "ESCAPE TIMEFORMAT 'auto'"),
        ("json", "FORMAT JSON", "JSON 'auto' TIMEFORMAT 'auto'"),
        ("gzip", "GZIP ESCAPE NULL AS '\\\\N' PARALLEL OFF", "GZIP ESCAPE TIMEFORMAT 'auto'"),
        // COPY reads exactly the files the manifest lists.
        ("manifest", "FORMAT PARQUET MANIFEST", "FORMAT PARQUET MANIFEST"),
    ];
    for (name, unload_options, copy_options) in cases {
        let unload = format!("UNLOAD ('SELECT * FROM src') TO 's3://roundtrip/{name}/' {keys} {unload_options}");
        assert_eq!(command_count(&client, &unload).await.unwrap(), 7, "{name}");
        client.batch_execute(&format!("DROP TABLE IF EXISTS dst; CREATE TABLE dst {COLUMNS}")).await.unwrap();
        let from = if name == "manifest" { "manifest/manifest".to_string() } else { format!("{name}/") };
        let copy = format!("COPY dst FROM 's3://roundtrip/{from}' {keys} {copy_options}");
        assert_eq!(command_count(&client, &copy).await.unwrap_or_else(|e| panic!("{name}: {e:?}")), 7, "{name}");
        assert_eq!(rows(&client, "SELECT * FROM dst ORDER BY id").await, expected, "{name}");
    }
}
