//! COPY against a real S3-compatible server (s3s-fs, SigV4) and the embedded store: CSV and
//! delimited text, prefixes past 1,000 keys, manifests, MAXERROR with STL_LOAD_ERRORS, atomic
//! failure, S3 errors, pg_last_copy_count().

use blueshift_tests::Cluster;
use blueshift_tests::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, TestS3, put_file};
use blueshift_tests::sql::{command_count as copy, connect_with_notices, text_rows as rows};

fn keys() -> String {
    format!("ACCESS_KEY_ID '{ACCESS_KEY_ID}' SECRET_ACCESS_KEY '{SECRET_ACCESS_KEY}'")
}

fn error_of(e: tokio_postgres::Error) -> (String, String) {
    let db = e.as_db_error().expect("a database error");
    (db.code().code().to_string(), db.message().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_delimited_text_from_s3() {
    let s3 = TestS3::start().await;
    s3.create_bucket("data");
    s3.put("data", "sales/part-1.csv", "id,name,price,day\n1,\"Smith, J\",10.50,2024-01-02\n2,,3,2024-02-03\n");
    s3.put("data", "sales/part-2.csv", "id,name,price,day\n3,\"say \"\"hi\"\"\",0.01,2024-03-04\n");
    s3.put("data", "pipes/a.txt", "1|x|\\N|2024-01-01\n2||7.25|\n\n3|  |1|2024-01-03\n");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let (client, notices) = connect_with_notices(cluster.port).await;
    client
        .batch_execute("CREATE TABLE sales (id INT, name VARCHAR(20), price DECIMAL(8,2), day DATE) DISTKEY(id) SORTKEY(id)")
        .await
        .unwrap();
    let loaded = copy(&client, &format!("COPY sales FROM 's3://data/sales/part-' {} CSV IGNOREHEADER 1", keys()))
        .await
        .unwrap();
    assert_eq!(loaded, 3);
    assert_eq!(
        rows(&client, "SELECT id, name, price, day FROM sales ORDER BY id").await,
        vec![
            vec![Some("1".into()), Some("Smith, J".into()), Some("10.50".into()), Some("2024-01-02".into())],
            vec![Some("2".into()), Some("".into()), Some("3.00".into()), Some("2024-02-03".into())],
            vec![Some("3".into()), Some("say \"hi\"".into()), Some("0.01".into()), Some("2024-03-04".into())],
        ]
    );
    assert!(
        notices.lock().unwrap().iter().any(|n| n == "Load into table 'sales' completed, 3 record(s) loaded successfully."),
        "{:?}",
        notices.lock().unwrap()
    );
    assert_eq!(rows(&client, "SELECT pg_last_copy_count()").await, vec![vec![Some("3".into())]]);
    // STL_LOAD_COMMITS names each file loaded, with the records it held.
    let commits = rows(
        &client,
        "SELECT trim(name), trim(filename), lines_scanned, errors, status, trim(file_format), is_partial \
         FROM stl_load_commits WHERE query = pg_last_copy_id() ORDER BY filename",
    )
    .await;
    let commit = |fields: [&str; 7]| fields.map(|f| Some(f.to_string())).to_vec();
    assert_eq!(
        commits,
        vec![
            commit(["sales", "s3://data/sales/part-1.csv", "2", "0", "1", "Text", "0"]),
            commit(["sales", "s3://data/sales/part-2.csv", "1", "0", "1", "Text", "0"]),
        ]
    );

    // Delimited text: `\N` and empty non-text fields are NULL; EMPTYASNULL and BLANKSASNULL make
    // empty and blank text NULL; IGNOREBLANKLINES skips the blank line.
    client.batch_execute("CREATE TABLE t (id INT, s VARCHAR(5), f FLOAT, d DATE)").await.unwrap();
    let sql = format!("COPY t FROM 's3://data/pipes/' {} IGNOREBLANKLINES EMPTYASNULL BLANKSASNULL", keys());
    assert_eq!(copy(&client, &sql).await.unwrap(), 3);
    assert_eq!(
        rows(&client, "SELECT id, s, f, d FROM t ORDER BY id").await,
        vec![
            vec![Some("1".into()), Some("x".into()), None, Some("2024-01-01".into())],
            vec![Some("2".into()), None, Some("7.25".into()), None],
            vec![Some("3".into()), None, Some("1".into()), Some("2024-01-03".into())],
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn maxerror_stl_load_errors_and_atomic_failure() {
    let s3 = TestS3::start().await;
    s3.create_bucket("data");
    s3.put("data", "bad.txt", "1|ok\nx|bad digit\n3|fine\n4|this value is too long\n5|last\n");
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let (client, notices) = connect_with_notices(cluster.port).await;
    client.batch_execute("CREATE TABLE m (id INT, s VARCHAR(10)); INSERT INTO m VALUES (100, 'before')").await.unwrap();

    // Past MAXERROR (0 by default): XX000 naming file, line, column and reason; nothing loaded.
    let err = copy(&client, &format!("COPY m FROM 's3://data/bad.txt' {}", keys())).await.unwrap_err();
    let (code, message) = error_of(err);
    assert_eq!(code, "XX000");
    assert!(message.contains("s3://data/bad.txt line 2, column id (int4)"), "{message}");
    assert!(message.contains("Invalid digit, Value 'x'"), "{message}");
    assert_eq!(rows(&client, "SELECT count(*) FROM m").await, vec![vec![Some("1".into())]]);

    // Within MAXERROR: the good rows load and the bad ones are in STL_LOAD_ERRORS.
    let loaded = copy(&client, &format!("COPY m FROM 's3://data/bad.txt' {} MAXERROR 2", keys())).await.unwrap();
    assert_eq!(loaded, 3);
    assert!(notices.lock().unwrap().iter().any(|n| n.contains("2 record(s) could not be loaded")));
    assert_eq!(rows(&client, "SELECT count(*) FROM m").await, vec![vec![Some("4".into())]]);
    let errors = rows(
        &client,
        "SELECT filename, line_number, colname, type, raw_line, raw_field_value, err_code, trim(err_reason) \
         FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number",
    )
    .await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0][..7],
        [
            Some("s3://data/bad.txt".into()),
            Some("2".into()),
            Some("id".into()),
            Some("int4".into()),
            Some("x|bad digit".into()),
            Some("x".into()),
            Some("1207".into()),
        ]
    );
    assert_eq!(errors[1][1..4], [Some("4".into()), Some("s".into()), Some("varchar".into())]);
    assert_eq!(errors[1][6], Some("1204".into()));
    // STL_LOADERROR_DETAIL: each rejected row's fields up to the bad one, as parsed.
    let details = rows(
        &client,
        "SELECT line_number, field, trim(colname), trim(value), is_null, trim(type), trim(col_length) \
         FROM stl_loaderror_detail WHERE query = pg_last_copy_id() ORDER BY line_number, field",
    )
    .await;
    let detail = |fields: [&str; 7]| fields.map(|f| Some(f.to_string())).to_vec();
    assert_eq!(
        details,
        vec![
            detail(["2", "1", "id", "x", "0", "int4", "0"]),
            detail(["4", "1", "id", "4", "0", "int4", "0"]),
            detail(["4", "2", "s", "this value is too long", "0", "varchar", "10"]),
        ]
    );

    // SYS_LOAD_HISTORY has both loads, the first aborted; SYS_LOAD_ERROR_DETAIL the second's errors.
    let history = rows(
        &client,
        "SELECT status, loaded_rows, error_count, file_format, data_source, source_file_count, file_count_scanned, duration > 0 \
         FROM sys_load_history WHERE table_name = 'm' ORDER BY query_id",
    )
    .await;
    let load = |fields: [&str; 8]| fields.map(|f| Some(f.to_string())).to_vec();
    assert_eq!(
        history,
        vec![
            load(["aborted", "0", "1", "txt", "s3://data/bad.txt", "1", "1", "t"]),
            load(["completed", "3", "2", "txt", "s3://data/bad.txt", "1", "1", "t"]),
        ]
    );
    assert_eq!(
        rows(
            &client,
            "SELECT line_number, trim(column_name), error_code, transaction_id > 0, database_name FROM sys_load_error_detail \
             WHERE query_id = pg_last_copy_id() ORDER BY line_number",
        )
        .await,
        vec![
            vec![Some("2".into()), Some("id".into()), Some("1207".into()), Some("t".into()), Some("dev".into())],
            vec![Some("4".into()), Some("s".into()), Some("1204".into()), Some("t".into()), Some("dev".into())],
        ]
    );

    // IGNOREALLERRORS skips every bad row; a MAXERROR above Redshift's limit is capped, with an INFO.
    client.batch_execute("TRUNCATE m").await.unwrap();
    assert_eq!(copy(&client, &format!("COPY m FROM 's3://data/bad.txt' {} IGNOREALLERRORS", keys())).await.unwrap(), 3);
    assert_eq!(rows(&client, "SELECT count(*) FROM stl_load_errors WHERE query = pg_last_copy_id()").await, vec![vec![Some("2".into())]]);
    notices.lock().unwrap().clear();
    assert_eq!(copy(&client, &format!("COPY m FROM 's3://data/bad.txt' {} MAXERROR 1000000", keys())).await.unwrap(), 3);
    assert!(notices.lock().unwrap().iter().any(|n| n.contains("MAXERROR 1000000 is above the limit of 100000")), "{:?}", notices.lock().unwrap());

    // TRUNCATECOLUMNS cuts the long value instead.
    client.batch_execute("TRUNCATE m").await.unwrap();
    let sql = format!("COPY m FROM 's3://data/bad.txt' {} MAXERROR 1 TRUNCATECOLUMNS", keys());
    assert_eq!(copy(&client, &sql).await.unwrap(), 4);
    assert_eq!(rows(&client, "SELECT s FROM m WHERE id = 4").await, vec![vec![Some("this value".into())]]);

    // A failure in a transaction block leaves the block's earlier work to its rollback.
    client.batch_execute("BEGIN; INSERT INTO m VALUES (7, 'x')").await.unwrap();
    assert!(copy(&client, &format!("COPY m FROM 's3://data/bad.txt' {}", keys())).await.is_err());
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(rows(&client, "SELECT count(*) FROM m").await, vec![vec![Some("4".into())]]);
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_failures_are_distinct() {
    let s3 = TestS3::start().await;
    s3.create_bucket("data");
    s3.put("data", "a.txt", "1\n");
    s3.put("data", "m/manifest.json", r#"{"entries": [{"url": "s3://data/a.txt", "mandatory": true}, {"url": "s3://data/gone.txt", "mandatory": true}]}"#);
    let cluster = Cluster::start_with_s3(1, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute("CREATE TABLE t (id INT)").await.unwrap();
    let fail = |sql: String| {
        let client = &client;
        async move { error_of(copy(client, &sql).await.unwrap_err()) }
    };
    let (code, message) = fail(format!("COPY t FROM 's3://nobucket/a.txt' {}", keys())).await;
    assert_eq!((code.as_str(), message.as_str()), ("58P01", "S3 bucket 'nobucket' does not exist"));
    let (code, message) = fail("COPY t FROM 's3://data/a.txt' ACCESS_KEY_ID 'AKIA' SECRET_ACCESS_KEY 'wrong'".into()).await;
    assert_eq!(code, "42501");
    assert!(message.starts_with("access denied to S3 bucket 'data'"), "{message}");
    let (code, message) = fail(format!("COPY t FROM 's3://data/none/' {}", keys())).await;
    assert_eq!((code.as_str(), message.as_str()), ("58P01", "no S3 object found under 's3://data/none/'"));
    let (code, message) = fail(format!("COPY t FROM 's3://data/m/manifest.json' {} MANIFEST", keys())).await;
    assert_eq!(code, "58P01");
    assert!(message.contains("mandatory manifest entry s3://data/gone.txt"), "{message}");
    let (code, _) = fail(format!("COPY t FROM 's3://data/a.txt' {} BADOPTION", keys())).await;
    assert_eq!(code, "42601");
    assert_eq!(rows(&client, "SELECT count(*) FROM t").await, vec![vec![Some("0".into())]]);
    // Each load that failed on S3 before reading a row is in SYS_LOAD_HISTORY, aborted, with
    // nothing scanned; the statement refused as a syntax error never started one.
    let history = rows(
        &client,
        "SELECT status, data_source, source_file_count, loaded_rows FROM sys_load_history WHERE table_name = 't' ORDER BY query_id",
    )
    .await;
    let aborted = |source: &str| ["aborted", source, "0", "0"].map(|f| Some(f.to_string())).to_vec();
    assert_eq!(
        history,
        vec![aborted("s3://nobucket/a.txt"), aborted("s3://data/a.txt"), aborted("s3://data/none/"), aborted("s3://data/m/manifest.json")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prefixes_past_one_page_and_manifests() {
    let s3 = TestS3::start().await;
    s3.create_bucket("many");
    for i in 0..1050 {
        s3.put("many", &format!("parts/p{i:04}.txt"), format!("{i}|v{i}\n"));
    }
    s3.put(
        "many",
        "load.manifest",
        r#"{"entries": [{"url": "s3://many/parts/p0001.txt", "mandatory": true}, {"url": "s3://many/parts/p0002.txt"}, {"url": "s3://many/missing.txt", "mandatory": false}]}"#,
    );
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute("CREATE TABLE p (id INT, v VARCHAR(8)) DISTKEY(id)").await.unwrap();
    let loaded = copy(&client, &format!("COPY p FROM 's3://many/parts/p' {}", keys())).await.unwrap();
    assert_eq!(loaded, 1050);
    assert_eq!(
        rows(&client, "SELECT count(*), sum(id), count(DISTINCT v) FROM p").await,
        vec![vec![Some("1050".into()), Some((0..1050).sum::<i64>().to_string()), Some("1050".into())]]
    );
    // Both nodes parse files and send each slice rows; a slice stores them together, as one
    // segment (one block per column), not one per sending node.
    let blocks = "SELECT b.slice, count(*) FROM stv_blocklist b JOIN stv_tbl_perm t ON b.tbl = t.id AND b.slice = t.slice \
                  WHERE t.name = 'p' AND b.col = 0 GROUP BY b.slice ORDER BY b.slice";
    let one_each: Vec<Vec<Option<String>>> = (0..4).map(|slice| vec![Some(slice.to_string()), Some("1".into())]).collect();
    assert_eq!(rows(&client, blocks).await, one_each);
    client.batch_execute("TRUNCATE p").await.unwrap();
    let sql = format!("COPY p FROM 's3://many/load.manifest' CREDENTIALS 'aws_access_key_id={ACCESS_KEY_ID};aws_secret_access_key={SECRET_ACCESS_KEY}' MANIFEST");
    assert_eq!(copy(&client, &sql).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_store_without_an_endpoint() {
    let cluster = Cluster::start(2, 2).await;
    let mut csv = String::from("l_orderkey,l_quantity,l_comment\n");
    for i in 1..=2000 {
        csv.push_str(&format!("{i},{}.00,\"comment {i}\"\n", i % 50));
    }
    put_file(&cluster.embedded_bucket("tpch"), "sf1/lineitem.csv", &csv);
    let client = cluster.connect().await;
    client
        .batch_execute("CREATE TABLE lineitem (l_orderkey BIGINT, l_quantity DECIMAL(15,2), l_comment VARCHAR(44)) DISTKEY(l_orderkey)")
        .await
        .unwrap();
    let loaded = copy(&client, "COPY lineitem FROM 's3://tpch/sf1/lineitem.csv' IAM_ROLE default CSV IGNOREHEADER 1").await.unwrap();
    assert_eq!(loaded, 2000);
    assert_eq!(
        rows(&client, "SELECT count(*), sum(l_orderkey), max(l_comment) FROM lineitem").await,
        vec![vec![Some("2000".into()), Some("2001000".into()), Some("comment 999".into())]]
    );
    let (code, message) = error_of(copy(&client, "COPY lineitem FROM 's3://nobucket/x' CSV").await.unwrap_err());
    assert_eq!((code.as_str(), message.as_str()), ("58P01", "S3 bucket 'nobucket' does not exist"));
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_from_stdin_and_psql_copy() {
    let cluster = Cluster::start(1, 2).await;
    let client = cluster.connect().await;
    client.batch_execute("CREATE TABLE s (id INT, v VARCHAR(10))").await.unwrap();
    let sink = client.copy_in("COPY s FROM STDIN DELIMITER ','").await.unwrap();
    futures::pin_mut!(sink);
    use futures::SinkExt;
    sink.send(bytes::Bytes::from_static(b"1,a\n2,b\n")).await.unwrap();
    sink.send(bytes::Bytes::from_static(b"3,c\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);
    assert_eq!(rows(&client, "SELECT count(*), pg_last_copy_count() FROM s").await, vec![vec![Some("3".into()), Some("3".into())]]);

    // psql's \copy sends COPY ... FROM STDIN over the simple protocol.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.txt");
    std::fs::write(&file, "4|d\n5|e\nx|bad\n").unwrap();
    let port = cluster.port.to_string();
    let copy = format!("\\copy s from '{}' with maxerror 1", file.display());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "awsuser", "-d", "dev", "-X", "-v", "ON_ERROR_STOP=1", "-c", &copy])
            .output()
            .expect("psql is installed")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("COPY 2"), "{stdout}");
    assert!(stderr.contains("1 record(s) could not be loaded"), "{stderr}");
    assert_eq!(rows(&client, "SELECT count(*) FROM s").await, vec![vec![Some("5".into())]]);
    assert_eq!(
        rows(&client, "SELECT filename, line_number, err_code FROM stl_load_errors WHERE filename = 'stdin'").await,
        vec![vec![Some("stdin".into()), Some("3".into()), Some("1207".into())]]
    );
    assert_eq!(
        rows(&client, "SELECT trim(filename), lines_scanned, errors FROM stl_load_commits WHERE filename = 'stdin' ORDER BY curtime").await,
        vec![
            vec![Some("stdin".into()), Some("3".into()), Some("0".into())],
            vec![Some("stdin".into()), Some("3".into()), Some("1".into())],
        ]
    );
}
