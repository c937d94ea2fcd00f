//! Spectrum against a real S3-compatible server: a Hive-partitioned Parquet dataset written by
//! the `parquet` crate, queried in place through external tables — answers, partition pruning
//! checked by the requests the server received, pseudo-columns, a join with a local table and
//! its EXPLAIN, text files, errors naming the file, and the catalog surviving a restart.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use blueshift_tests::Cluster;
use blueshift_tests::s3::{TestS3, put_file};
use blueshift_tests::sql::text_rows;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use tokio_postgres::Client;

const DATES: [&str; 3] = ["2024-01-01", "2024-01-02", "2024-01-03"];

/// A Parquet file of sales `ids`, priced `id * 1.5`, named `item<id>`.
fn sales_file(ids: std::ops::Range<i64>) -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("price", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(Float64Array::from_iter_values(ids.clone().map(|i| i as f64 * 1.5))),
            Arc::new(StringArray::from_iter_values(ids.map(|i| format!("item{i}")))),
        ],
    )
    .unwrap();
    let mut data = Vec::new();
    let properties = WriterProperties::builder().set_max_row_group_row_count(Some(100)).build();
    let mut writer = ArrowWriter::try_new(&mut data, schema, Some(properties)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    data
}

/// Writes `sales/saledate=<d>/part-{0,1}.parquet` (ids 1..=300 per date, 1000s apart), plus
/// files a scan must ignore, into the bucket folder `bucket`.
fn write_dataset(put: impl Fn(&str, Vec<u8>)) {
    for (d, date) in DATES.iter().enumerate() {
        let base = 1000 * d as i64;
        put(&format!("sales/saledate={date}/part-0.parquet"), sales_file(base + 1..base + 151));
        put(&format!("sales/saledate={date}/sub/part-1.parquet"), sales_file(base + 151..base + 301));
        put(&format!("sales/saledate={date}/_SUCCESS"), Vec::new());
        put(&format!("sales/saledate={date}/.part-0.parquet.crc"), b"not parquet".to_vec());
    }
}

async fn create_tables(client: &Client, bucket: &str) {
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL SCHEMA spectrum FROM DATA CATALOG DATABASE 'lake' IAM_ROLE default;
             CREATE EXTERNAL TABLE spectrum.sales (id BIGINT, price DOUBLE PRECISION, name VARCHAR(20))
               PARTITIONED BY (saledate DATE) STORED AS PARQUET LOCATION 's3://{bucket}/sales/';
             ALTER TABLE spectrum.sales ADD
               PARTITION (saledate='2024-01-01') LOCATION 's3://{bucket}/sales/saledate=2024-01-01/'
               PARTITION (saledate='2024-01-02') LOCATION 's3://{bucket}/sales/saledate=2024-01-02/'
               PARTITION (saledate='2024-01-03') LOCATION 's3://{bucket}/sales/saledate=2024-01-03/';"
        ))
        .await
        .unwrap();
}

fn one(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows[0].iter().map(|v| v.clone().unwrap_or_else(|| "NULL".into())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn partitioned_parquet_in_s3() {
    let s3 = TestS3::start().await;
    s3.create_bucket("lake");
    write_dataset(|key, data| {
        s3.put("lake", key, data);
    });
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    create_tables(&client, "lake").await;

    // Every file but the ignored ones: 3 dates x 300 rows.
    let all = one(text_rows(&client, "SELECT count(*), sum(id), min(saledate), max(saledate) FROM spectrum.sales").await);
    let expected_sum: i64 = (0..3).map(|d| (1..=300).map(|i| 1000 * d + i).sum::<i64>()).sum();
    assert_eq!(all, ["900", &expected_sum.to_string(), "2024-01-01", "2024-01-03"]);

    // A predicate on the partition column reads only that partition: the other folders are
    // neither listed nor fetched.
    s3.take_requests();
    let pruned = one(
        text_rows(&client, "SELECT count(*), sum(price) FROM spectrum.sales WHERE saledate = '2024-01-02' AND id > 1100").await,
    );
    let expected: f64 = (1101..=1300).map(|i| i as f64 * 1.5).sum();
    assert_eq!(pruned, ["200", &expected.to_string()]);
    let requests: Vec<String> = s3.take_requests().into_iter().map(|r| r.replace("%3D", "=").replace("%2F", "/")).collect();
    assert!(requests.iter().any(|r| r.starts_with("GET") && r.contains("saledate=2024-01-02/part-0.parquet")), "{requests:?}");
    for other in ["2024-01-01", "2024-01-03"] {
        assert!(!requests.iter().any(|r| r.contains(other)), "{other} was touched: {requests:?}");
    }
    assert!(!requests.iter().any(|r| r.contains("_SUCCESS") || r.contains(".crc")), "{requests:?}");
    let partitions = one(
        text_rows(&client, "SELECT total_partitions, qualified_partitions FROM svl_s3partition ORDER BY query DESC LIMIT 1").await,
    );
    assert_eq!(partitions, ["3", "1"]);

    // Row-group statistics skip what the filter excludes; the answer is exact either way.
    let row = one(text_rows(&client, "SELECT id, price, name, saledate FROM spectrum.sales WHERE id = 2007").await);
    assert_eq!(row, ["2007", "3010.5", "item2007", "2024-01-03"]);

    // Pseudo-columns exist when named, and SELECT * leaves them out.
    let star = text_rows(&client, "SELECT * FROM spectrum.sales WHERE id = 5").await;
    assert_eq!(star, vec![vec![Some("5".into()), Some("7.5".into()), Some("item5".into()), Some("2024-01-01".into())]]);
    let path = one(text_rows(&client, "SELECT \"$path\", \"$size\" > 0, id FROM spectrum.sales WHERE id = 155").await);
    assert_eq!(path, ["s3://lake/sales/saledate=2024-01-01/sub/part-1.parquet", "t", "155"]);
    let per_file = text_rows(&client, "SELECT count(DISTINCT \"$path\") FROM spectrum.sales").await;
    assert_eq!(per_file[0][0].as_deref(), Some("6"));

    // A join with a local table, planned like any other: the external side is spread over the
    // nodes.
    client
        .batch_execute(
            "CREATE TABLE labels (id BIGINT, label VARCHAR(10)) DISTKEY(id);
             INSERT INTO labels VALUES (1, 'first'), (150, 'mid'), (2300, 'last'), (99999, 'none');",
        )
        .await
        .unwrap();
    let joined = text_rows(
        &client,
        "SELECT l.label, s.saledate, s.price FROM spectrum.sales s JOIN labels l ON s.id = l.id ORDER BY l.id",
    )
    .await;
    let expect = |v: [&str; 3]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
    assert_eq!(
        joined,
        vec![expect(["first", "2024-01-01", "1.5"]), expect(["mid", "2024-01-01", "225"]), expect(["last", "2024-01-03", "3450"])]
    );
    let plan: Vec<String> = text_rows(&client, "EXPLAIN SELECT l.label, s.price FROM spectrum.sales s JOIN labels l ON s.id = l.id")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("XN S3 Query Scan sales"), "{plan}");
    assert!(plan.contains("S3 Seq Scan spectrum.sales location:\"s3://lake/sales/\" format:PARQUET"), "{plan}");
    assert!(plan.contains("Join DS_"), "{plan}");
    let filtered = text_rows(&client, "EXPLAIN SELECT id FROM spectrum.sales WHERE price > 10").await;
    assert!(filtered.iter().any(|r| r[0].as_deref().unwrap().trim() == "Filter: price > 10"), "{filtered:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn text_files_and_errors_naming_the_file() {
    let s3 = TestS3::start().await;
    s3.create_bucket("raw");
    s3.put("raw", "events/a.txt", "id|name\n1|one\n2|\\N\n");
    s3.put("raw", "events/b.txt", "id|name\n3|three\n");
    s3.put("raw", "titled/a.txt", "events export\nid|name\n7|seven\n8|eight\n");
    s3.put("raw", "broken/x.parquet", "this is not a parquet file");
    s3.put("raw", "typed/x.parquet", sales_file(1..4));
    let cluster = Cluster::start_with_s3(1, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE EXTERNAL SCHEMA ext FROM DATA CATALOG DATABASE 'raw' IAM_ROLE 'arn:aws:iam::1:role/r';
             CREATE EXTERNAL TABLE ext.events (id INT, name VARCHAR(10))
               ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' STORED AS TEXTFILE
               LOCATION 's3://raw/events/' TABLE PROPERTIES ('skip.header.line.count'='1');
             CREATE EXTERNAL TABLE ext.titled (id INT, name VARCHAR(10))
               ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' STORED AS TEXTFILE
               LOCATION 's3://raw/titled/' TABLE PROPERTIES ('skip.header.line.count'='2');
             CREATE EXTERNAL TABLE ext.broken (id INT) STORED AS PARQUET LOCATION 's3://raw/broken/';
             CREATE EXTERNAL TABLE ext.typed (id INT, name DATE) STORED AS PARQUET LOCATION 's3://raw/typed/';
             CREATE EXTERNAL TABLE ext.empty (id INT) STORED AS PARQUET LOCATION 's3://raw/nothing/';
             CREATE EXTERNAL TABLE ext.nobucket (id INT) STORED AS PARQUET LOCATION 's3://missing-bucket/x/';",
        )
        .await
        .unwrap();
    let rows = text_rows(&client, "SELECT id, name FROM ext.events ORDER BY id").await;
    let expect: Vec<Vec<Option<String>>> = vec![
        vec![Some("1".into()), Some("one".into())],
        vec![Some("2".into()), None],
        vec![Some("3".into()), Some("three".into())],
    ];
    assert_eq!(rows, expect);
    // More than one header line.
    let titled = text_rows(&client, "SELECT id, name FROM ext.titled ORDER BY id").await;
    assert_eq!(titled, vec![vec![Some("7".into()), Some("seven".into())], vec![Some("8".into()), Some("eight".into())]]);
    // An empty location is an empty table, as in Redshift.
    assert_eq!(text_rows(&client, "SELECT count(*) FROM ext.empty").await[0][0].as_deref(), Some("0"));
    let error = |sql: &'static str| {
        let client = &client;
        async move {
            let e = client.simple_query(sql).await.unwrap_err();
            e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string())
        }
    };
    let broken = error("SELECT * FROM ext.broken").await;
    assert!(broken.contains("s3://raw/broken/x.parquet"), "{broken}");
    let typed = error("SELECT * FROM ext.typed").await;
    assert!(typed.contains("s3://raw/typed/x.parquet"), "{typed}");
    let missing = error("SELECT * FROM ext.nobucket").await;
    assert!(missing.contains("S3 bucket 'missing-bucket' does not exist"), "{missing}");
    // The failed statements left the session usable.
    assert_eq!(text_rows(&client, "SELECT count(*) FROM ext.events").await[0][0].as_deref(), Some("3"));
}

#[tokio::test(flavor = "multi_thread")]
async fn external_tables_survive_a_restart_in_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cluster = Cluster::start_in(dir.path(), 1, 2).await;
        let bucket = cluster.embedded_bucket("local-lake");
        write_dataset(|key, data| {
            put_file(&bucket, key, data);
        });
        create_tables(&cluster.connect().await, "local-lake").await;
        cluster.stop();
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let cluster = Cluster::start_in(dir.path(), 1, 2).await;
    let client = cluster.connect().await;
    let partitions = text_rows(&client, "SELECT count(*) FROM svv_external_partitions WHERE tablename = 'sales'").await;
    assert_eq!(partitions[0][0].as_deref(), Some("3"));
    let counted = one(text_rows(&client, "SELECT count(*), max(id) FROM spectrum.sales WHERE saledate > '2024-01-01'").await);
    assert_eq!(counted, ["600", "2300"]);
}
