//! Writing external tables against a real S3-compatible server: CREATE EXTERNAL TABLE AS and
//! INSERT write Parquet (or text) files under the table's location, named as Redshift names
//! them and written by every slice; partitioned tables get `col=value/` folders and registered
//! partitions. The files are read back with the `parquet` crate itself and through SELECT; a
//! failing write leaves no files behind; writes Redshift refuses are refused.

use std::collections::BTreeSet;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use blueshift_tests::Cluster;
use blueshift_tests::s3::{TestS3, files};
use blueshift_tests::sql::text_rows;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tokio_postgres::Client;

/// 64 sales over 4 dates and 2 regions, spread over the slices by id.
const SALES: &str = "
CREATE TABLE sales (id BIGINT, price DECIMAL(8,2), region VARCHAR(10), saledate DATE) DISTKEY(id);
INSERT INTO sales VALUES (1, 1.50, 'north', '2024-01-01'), (2, 3.00, 'south', '2024-01-02'),
  (3, 4.50, 'north', '2024-01-03'), (4, 6.00, NULL, '2024-01-04');
INSERT INTO sales SELECT id + 4, price, region, saledate FROM sales;
INSERT INTO sales SELECT id + 8, price, region, saledate FROM sales;
INSERT INTO sales SELECT id + 16, price, region, saledate FROM sales;
INSERT INTO sales SELECT id + 32, price, region, saledate FROM sales;
CREATE EXTERNAL SCHEMA ext FROM DATA CATALOG DATABASE 'lake' IAM_ROLE default;";

fn one(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows[0].iter().map(|v| v.clone().unwrap_or_else(|| "NULL".into())).collect()
}

async fn error(client: &Client, sql: &str) -> (String, String) {
    let e = client.simple_query(sql).await.expect_err(sql);
    let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
    (db.code().code().to_string(), db.message().to_string())
}

/// Whether `name` is `<date>_<time>_<microseconds>_<query>_<slice>_part_<nn>.<extension>`.
fn redshift_name(name: &str, extension: &str) -> bool {
    let Some(stem) = name.strip_suffix(&format!(".{extension}")) else { return false };
    let parts: Vec<&str> = stem.split('_').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 7
        && digits(parts[0], 8)
        && digits(parts[1], 6)
        && digits(parts[2], 6)
        && !parts[3].is_empty()
        && parts[3].bytes().all(|b| b.is_ascii_digit())
        && digits(parts[4], 4)
        && parts[5] == "part"
        && digits(parts[6], 2)
}

/// The rows of a Parquet file: its column names, and the sum of its `id` column.
fn read_parquet(path: &std::path::Path) -> (Vec<String>, usize, i64) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let names = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    let (mut rows, mut sum) = (0, 0);
    for batch in reader.build().unwrap() {
        let batch = batch.unwrap();
        rows += batch.num_rows();
        let ids = batch.column_by_name("id").unwrap().as_primitive::<Int64Type>();
        sum += ids.iter().flatten().sum::<i64>();
    }
    (names, rows, sum)
}

#[tokio::test(flavor = "multi_thread")]
async fn create_external_table_as_and_insert_write_parquet() {
    let s3 = TestS3::start().await;
    s3.create_bucket("lake");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute(SALES).await.unwrap();
    let sum: i64 = (1..=64).sum();

    // Unpartitioned: every slice writes its own rows, as Redshift names the files.
    client
        .batch_execute("CREATE EXTERNAL TABLE ext.flat STORED AS PARQUET LOCATION 's3://lake/flat/' AS SELECT id, price, region FROM sales")
        .await
        .unwrap();
    let written = files(&s3.root().join("lake/flat"));
    assert!(written.len() > 1, "one file per slice with rows: {written:?}");
    assert!(written.iter().all(|f| redshift_name(f, "parquet")), "{written:?}");
    let slices: BTreeSet<&str> = written.iter().map(|f| f.split('_').nth(4).unwrap()).collect();
    assert_eq!(slices.len(), written.len(), "each slice wrote one file: {written:?}");
    let (mut rows, mut total) = (0, 0);
    for file in &written {
        let (names, n, s) = read_parquet(&s3.root().join("lake/flat").join(file));
        assert_eq!(names, ["id", "price", "region"]);
        rows += n;
        total += s;
    }
    assert_eq!((rows, total), (64, sum));
    let read = one(text_rows(&client, "SELECT count(*), sum(id), sum(price), count(region) FROM ext.flat").await);
    assert_eq!(read, ["64", &sum.to_string(), "240.00", "48"]);
    let columns = text_rows(&client, "SELECT columnname, external_type FROM svv_external_columns WHERE tablename = 'flat' ORDER BY columnnum").await;
    assert_eq!(columns, [["id", "bigint"], ["price", "decimal(8,2)"], ["region", "varchar(65535)"]].map(|r| r.map(|v| Some(v.to_string())).to_vec()));

    // INSERT adds files next to the first ones, and never replaces them.
    let inserted = client.execute("INSERT INTO ext.flat SELECT id + 100, price * 2, 'east' FROM sales WHERE id <= 10", &[]).await.unwrap();
    assert_eq!(inserted, 10);
    let after = files(&s3.root().join("lake/flat"));
    assert!(written.iter().all(|f| after.contains(f)) && after.len() > written.len(), "{after:?}");
    let read = one(text_rows(&client, "SELECT count(*), sum(id), sum(CASE WHEN region = 'east' THEN 1 ELSE 0 END) FROM ext.flat").await);
    assert_eq!(read, ["74", &(sum + (101..=110).sum::<i64>()).to_string(), "10"]);

    // Partitioned: rows go into saledate=.../ folders without the partition column, and every
    // folder becomes a registered partition that prunes.
    client
        .batch_execute(
            "CREATE EXTERNAL TABLE ext.parted PARTITIONED BY (saledate) STORED AS PARQUET LOCATION 's3://lake/parted/' \
             AS SELECT saledate, id, price FROM sales",
        )
        .await
        .unwrap();
    let written = files(&s3.root().join("lake/parted"));
    let folders: BTreeSet<&str> = written.iter().map(|f| f.split('/').next().unwrap()).collect();
    assert_eq!(folders, BTreeSet::from(["saledate=2024-01-01", "saledate=2024-01-02", "saledate=2024-01-03", "saledate=2024-01-04"]));
    for file in &written {
        let (names, n, _) = read_parquet(&s3.root().join("lake/parted").join(file));
        assert_eq!(names, ["id", "price"], "{file}");
        assert!(n > 0);
        assert!(redshift_name(file.split('/').nth(1).unwrap(), "parquet"), "{file}");
    }
    let partitions = text_rows(&client, "SELECT values, location FROM svv_external_partitions WHERE tablename = 'parted' ORDER BY 1").await;
    assert_eq!(partitions.len(), 4);
    assert_eq!(partitions[0], [Some("[\"2024-01-01\"]".into()), Some("s3://lake/parted/saledate=2024-01-01/".into())]);
    let columns = text_rows(&client, "SELECT columnname, part_key FROM svv_external_columns WHERE tablename = 'parted' ORDER BY columnnum").await;
    assert_eq!(columns, [["id", "0"], ["price", "0"], ["saledate", "1"]].map(|r| r.map(|v| Some(v.to_string())).to_vec()));
    let pruned = one(text_rows(&client, "SELECT count(*), sum(id) FROM ext.parted WHERE saledate = '2024-01-02'").await);
    let expected: i64 = (1..=64).filter(|i| i % 4 == 2).sum();
    assert_eq!(pruned, ["16", &expected.to_string()]);
    let qualified = one(text_rows(&client, "SELECT total_partitions, qualified_partitions FROM svl_s3partition ORDER BY query DESC LIMIT 1").await);
    assert_eq!(qualified, ["4", "1"]);

    // INSERT into a partitioned table: partition columns last; a new value is a new partition.
    let inserted = client
        .execute("INSERT INTO ext.parted SELECT id + 1000, price, DATE '2024-02-01' FROM sales WHERE id <= 3", &[])
        .await
        .unwrap();
    assert_eq!(inserted, 3);
    let listed = one(text_rows(&client, "SELECT count(*) FROM svv_external_partitions WHERE tablename = 'parted'").await);
    assert_eq!(listed, ["5"]);
    let february = one(text_rows(&client, "SELECT count(*), sum(id) FROM ext.parted WHERE saledate > '2024-01-31'").await);
    assert_eq!(february, ["3", "3006"]);
    client.execute("INSERT INTO ext.parted SELECT id + 2000, price, saledate FROM sales WHERE id <= 4", &[]).await.unwrap();
    let again = one(text_rows(&client, "SELECT count(*), count(DISTINCT saledate) FROM ext.parted").await);
    assert_eq!(again, ["71", "5"]);
    let listed = one(text_rows(&client, "SELECT count(*) FROM svv_external_partitions WHERE tablename = 'parted'").await);
    assert_eq!(listed, ["5"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_and_failed_writes_leave_no_files() {
    let s3 = TestS3::start().await;
    s3.create_bucket("lake");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute(SALES).await.unwrap();
    client
        .batch_execute("CREATE EXTERNAL TABLE ext.t (id BIGINT, region VARCHAR(10)) PARTITIONED BY (saledate DATE) STORED AS PARQUET LOCATION 's3://lake/t/'")
        .await
        .unwrap();

    let (code, message) = error(&client, "INSERT INTO ext.t SELECT id, region FROM sales").await;
    assert_eq!(code, "42601");
    assert!(message.contains("returns 2 columns but external table \"t\" has 3"), "{message}");
    let (code, message) = error(&client, "INSERT INTO ext.t SELECT region, id, saledate FROM sales").await;
    assert_eq!(code, "42804");
    assert!(message.contains("column \"id\" is of type"), "{message}");
    let (code, _) = error(&client, "INSERT INTO ext.t (id, region, saledate) SELECT id, region, saledate FROM sales").await;
    assert_eq!(code, "0A000");
    // A query that fails while the slices write removes what the others had written.
    let (_, message) = error(&client, "INSERT INTO ext.t SELECT 10 / (id - 64), region, saledate FROM sales").await;
    assert!(message.contains("division by zero"), "{message}");
    assert_eq!(files(&s3.root().join("lake/t")), Vec::<String>::new());
    assert_eq!(one(text_rows(&client, "SELECT count(*) FROM svv_external_partitions WHERE tablename = 't'").await), ["0"]);

    // Redshift refuses these inside a transaction block: files in S3 cannot be rolled back.
    client.batch_execute("BEGIN").await.unwrap();
    let (code, message) = error(&client, "INSERT INTO ext.t SELECT id, region, saledate FROM sales").await;
    assert_eq!((code.as_str(), message.as_str()), ("25001", "INSERT into an external table cannot run inside a transaction block"));
    client.batch_execute("ROLLBACK").await.unwrap();

    // CREATE EXTERNAL TABLE AS writes only into an empty location.
    s3.put("lake", "used/old.parquet", b"x");
    let (_, message) = error(&client, "CREATE EXTERNAL TABLE ext.u STORED AS PARQUET LOCATION 's3://lake/used/' AS SELECT id FROM sales").await;
    assert!(message.contains("must be empty") && message.contains("s3://lake/used/old.parquet"), "{message}");
    let (code, _) = error(&client, "CREATE EXTERNAL TABLE ext.u PARTITIONED BY (nope) STORED AS PARQUET LOCATION 's3://lake/u/' AS SELECT id FROM sales").await;
    assert_eq!(code, "42703");
    assert_eq!(one(text_rows(&client, "SELECT count(*) FROM svv_external_tables WHERE tablename = 'u'").await), ["0"]);

    // External tables stay read-only otherwise.
    client.execute("INSERT INTO ext.t SELECT id, region, saledate FROM sales WHERE id = 1", &[]).await.unwrap();
    for sql in ["UPDATE ext.t SET id = 1", "DELETE FROM ext.t WHERE id = 1"] {
        let (code, message) = error(&client, sql).await;
        assert_eq!(code, "0A000");
        assert!(message.ends_with("is not supported on external tables"), "{message}");
    }
    assert_eq!(one(text_rows(&client, "SELECT count(*), max(region) FROM ext.t").await), ["1", "north"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_tables_are_written_as_hive_text() {
    let s3 = TestS3::start().await;
    s3.create_bucket("lake");
    let cluster = Cluster::start_with_s3(1, 1, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute(SALES).await.unwrap();
    client
        .batch_execute(
            "CREATE EXTERNAL TABLE ext.txt ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' STORED AS TEXTFILE \
             LOCATION 's3://lake/txt/' AS SELECT id, region, price FROM sales WHERE id <= 4 ORDER BY id",
        )
        .await
        .unwrap();
    let written = files(&s3.root().join("lake/txt"));
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(redshift_name(&written[0], "txt"), "{written:?}");
    let text = std::fs::read_to_string(s3.root().join("lake/txt").join(&written[0])).unwrap();
    assert_eq!(text, "1|north|1.50\n2|south|3.00\n3|north|4.50\n4|\\N|6.00\n");
    let rows = text_rows(&client, "SELECT id, region, price FROM ext.txt ORDER BY id").await;
    assert_eq!(rows[3], [Some("4".into()), None, Some("6.00".into())]);
}
