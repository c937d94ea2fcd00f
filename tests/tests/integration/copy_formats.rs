//! COPY's formats, compressions and conversion options against a real S3-compatible server:
//! GZIP/BZIP2/ZSTD (by option and by extension), JSON 'auto'/'auto ignorecase'/JSONPaths,
//! PARQUET, FIXEDWIDTH, date and time formats, ESCAPE, REMOVEQUOTES, FILLRECORD, ACCEPTINVCHARS,
//! ROUNDEC, ACCEPTANYDATE, ENCODING, NOLOAD, EXPLICIT_IDS, column lists with defaults, and large text and CSV files split across nodes.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Float64Array, Int32Array, RecordBatch, StringViewArray};
use arrow::datatypes::{DataType, Field, Schema};
use blueshift_tests::Cluster;
use blueshift_tests::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, TestS3};
use blueshift_tests::sql::{command_count, text_rows as rows};
use tokio_postgres::Client;

fn keys() -> String {
    format!("ACCESS_KEY_ID '{ACCESS_KEY_ID}' SECRET_ACCESS_KEY '{SECRET_ACCESS_KEY}'")
}

async fn copy(client: &Client, sql: &str) -> u64 {
    let sql = format!("{sql} {}", keys());
    command_count(client, &sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

fn row(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| if *v == "NULL" { None } else { Some(v.to_string()) }).collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn compressions_json_parquet_and_fixed_width() {
    let s3 = TestS3::start().await;
    s3.create_bucket("fmt");
    s3.put("fmt", "gz/a.txt.gz", gzip(b"1|a\n2|b\n"));
    s3.put("fmt", "gz/b.txt.bz2", bzip2(b"3|c\n"));
    s3.put("fmt", "gz/c.txt.zst", zstd::encode_all(&b"4|d\n"[..], 1).unwrap());
    s3.put("fmt", "opt/a.bin", gzip(b"5|e\n"));
    s3.put("fmt", "j/a.json", "{\"id\": 1, \"name\": \"x\", \"extra\": true}\n{\"id\": 2}\n{\"ID\": 3, \"Name\": \"z\"}");
    s3.put("fmt", "jp/a.json", r#"{"a": {"id": 7, "tags": ["p", "q"]}}"#);
    s3.put("fmt", "paths.json", r#"{"jsonpaths": ["$.a.id", "$.a.tags[1]"]}"#);
    s3.put("fmt", "fw/a.txt", "0001abc  \n0002de   \n");
    // Strings as views, which arrow-rs writers record in the file's schema: a load reads them as
    // plain strings.
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Int32, true),
        Field::new("y", DataType::Utf8View, true),
        Field::new("z", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])),
            Arc::new(StringViewArray::from(vec!["one", "two", "three"])),
            Arc::new(Float64Array::from(vec![1.5, 2.5, 3.5])),
        ],
    )
    .unwrap();
    let mut parquet = Vec::new();
    let props = parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(2)).build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut parquet, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    s3.put("fmt", "pq/a.parquet", parquet);

    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE t (id INT, name VARCHAR(10));
             CREATE TABLE pq (a BIGINT, b VARCHAR(5), c DECIMAL(6,2));",
        )
        .await
        .unwrap();
    assert_eq!(copy(&client, "COPY t FROM 's3://fmt/gz/'").await, 4);
    assert_eq!(copy(&client, "COPY t FROM 's3://fmt/opt/' GZIP").await, 1);
    assert_eq!(
        rows(&client, "SELECT id, name FROM t ORDER BY id").await,
        vec![row(&["1", "a"]), row(&["2", "b"]), row(&["3", "c"]), row(&["4", "d"]), row(&["5", "e"])]
    );
    client.batch_execute("TRUNCATE t").await.unwrap();
    assert_eq!(copy(&client, "COPY t FROM 's3://fmt/j/' FORMAT AS JSON 'auto'").await, 3);
    assert_eq!(
        rows(&client, "SELECT id, name FROM t ORDER BY id NULLS LAST").await,
        vec![row(&["1", "x"]), row(&["2", "NULL"]), row(&["NULL", "NULL"])]
    );
    client.batch_execute("TRUNCATE t").await.unwrap();
    assert_eq!(copy(&client, "COPY t FROM 's3://fmt/j/' JSON 'auto ignorecase'").await, 3);
    assert_eq!(rows(&client, "SELECT name FROM t WHERE id = 3").await, vec![row(&["z"])]);
    client.batch_execute("TRUNCATE t").await.unwrap();
    assert_eq!(copy(&client, "COPY t FROM 's3://fmt/jp/' JSON 's3://fmt/paths.json'").await, 1);
    assert_eq!(rows(&client, "SELECT id, name FROM t").await, vec![row(&["7", "q"])]);
    client.batch_execute("TRUNCATE t").await.unwrap();
    assert_eq!(copy(&client, "COPY t FROM 's3://fmt/fw/' FIXEDWIDTH 'id:4,name:5' TRIMBLANKS").await, 2);
    assert_eq!(rows(&client, "SELECT id, name, length(name) FROM t ORDER BY id").await, vec![row(&["1", "abc", "3"]), row(&["2", "de", "2"])]);

    // Parquet: columns by position, cast to the table's types, read row group by row group.
    assert_eq!(copy(&client, "COPY pq FROM 's3://fmt/pq/' FORMAT AS PARQUET").await, 3);
    assert_eq!(
        rows(&client, "SELECT a, b, c FROM pq ORDER BY c").await,
        vec![row(&["1", "one", "1.50"]), row(&["NULL", "two", "2.50"]), row(&["3", "three", "3.50"])]
    );
    client.batch_execute("CREATE TABLE narrow (a INT, b VARCHAR(3), c FLOAT)").await.unwrap();
    let err = client
        .simple_query(&format!("COPY narrow FROM 's3://fmt/pq/' PARQUET {}", keys()))
        .await
        .unwrap_err();
    let message = err.as_db_error().unwrap().message().to_string();
    assert!(message.contains("s3://fmt/pq/a.parquet") && message.contains("string length exceeds DDL length"), "{message}");
    assert_eq!(rows(&client, "SELECT count(*) FROM narrow").await, vec![row(&["0"])]);
}

#[tokio::test(flavor = "multi_thread")]
async fn conversion_options() {
    let s3 = TestS3::start().await;
    s3.create_bucket("opts");
    s3.put("opts", "dates.txt", "03/04/2024|1700000000|x\n12/31/1999|0|y\n");
    s3.put(
        "opts",
        "auto.txt",
        "1997-12-17 07:37:16-08|12/17/1997 07:37:16.00 PST|a\nJ2451187|J2345678 04:05:06.789|b\n19960108 040809|17 Dec 07:37:16 1997 PST|c\n",
    );
    s3.put("opts", "esc.txt", "1|a\\|b|c\\\\d\n2|line\\\nbreak|\"q\"\n");
    s3.put("opts", "quotes.txt", "\"1\"|\"a|b\"|\"c\"\n");
    s3.put("opts", "short.txt", "1|a\n2\n");
    // A cut three-byte character and a byte no character starts with.
    s3.put("opts", "inv.txt", b"1|fine\n2|ok\xe6\x9d\xff\n");
    s3.put("opts", "nulls.txt", "1|nil|\n2|x|\n");
    let utf16 = |text: &str, mark: &[u8], unit: fn(u16) -> [u8; 2]| [mark.to_vec(), text.encode_utf16().flat_map(unit).collect()].concat();
    s3.put("opts", "utf16/le.csv", utf16("id,a,b\n1,Zürich,\"東京, 🦀\"\n", &[0xff, 0xfe], u16::to_le_bytes));
    s3.put("opts", "utf16/be.csv.gz", gzip(&utf16("id,a,b\n2,Genève,x\n", &[], u16::to_be_bytes)));
    s3.put("opts", "utf8-marked.csv", "\u{feff}3,Zoë,\"y\"\n");
    s3.put("opts", "scale.txt", "1|20.259|2024-01-02|2024-01-02 03:04:05\n2|-20.255|00/00/00|00/00/00 00:00:00\n3|9.994|2024-02-30|x\n4|99.995|2024-01-03|2024-01-03\n");
    let cluster = Cluster::start_with_s3(1, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE d (day DATE, at TIMESTAMP, tag CHAR(1));
             CREATE TABLE s (id INT, a VARCHAR(20), b VARCHAR(20));
             CREATE TABLE ids (id INT IDENTITY(1,1), v VARCHAR(5), n INT DEFAULT 42);",
        )
        .await
        .unwrap();
    assert_eq!(copy(&client, "COPY d FROM 's3://opts/dates.txt' DATEFORMAT 'MM/DD/YYYY' TIMEFORMAT 'epochsecs'").await, 2);
    assert_eq!(
        rows(&client, "SELECT day, at, tag FROM d ORDER BY day").await,
        vec![row(&["1999-12-31", "1970-01-01 00:00:00", "y"]), row(&["2024-03-04", "2023-11-14 22:13:20", "x"])]
    );
    // Forms Redshift's 'auto' recognizes: a DATE keeps a timestamp's date as written, a zone is
    // honoured in a TIMESTAMP.
    client.batch_execute("TRUNCATE d").await.unwrap();
    assert_eq!(copy(&client, "COPY d FROM 's3://opts/auto.txt' DATEFORMAT 'auto' TIMEFORMAT 'auto'").await, 3);
    assert_eq!(
        rows(&client, "SELECT day, at, tag FROM d ORDER BY tag").await,
        vec![
            row(&["1997-12-17", "1997-12-17 15:37:16", "a"]),
            row(&["1999-01-08", "1710-02-23 04:05:06.789", "b"]),
            row(&["1996-01-08", "1997-12-17 15:37:16", "c"]),
        ]
    );
    assert_eq!(copy(&client, "COPY s FROM 's3://opts/esc.txt' ESCAPE").await, 2);
    assert_eq!(
        rows(&client, "SELECT a, b FROM s ORDER BY id").await,
        vec![row(&["a|b", "c\\d"]), row(&["line\nbreak", "\"q\""])]
    );
    client.batch_execute("TRUNCATE s").await.unwrap();
    assert_eq!(copy(&client, "COPY s FROM 's3://opts/quotes.txt' REMOVEQUOTES").await, 1);
    assert_eq!(rows(&client, "SELECT id, a, b FROM s").await, vec![row(&["1", "a|b", "c"])]);
    client.batch_execute("TRUNCATE s").await.unwrap();
    assert_eq!(copy(&client, "COPY s FROM 's3://opts/short.txt' FILLRECORD").await, 2);
    assert_eq!(rows(&client, "SELECT count(*) FROM s WHERE a IS NULL AND b IS NULL").await, vec![row(&["1"])]);
    // A field FILLRECORD fills is NULL, which a NOT NULL column rejects as a missing value.
    client.batch_execute("CREATE TABLE filled (id INT, a VARCHAR(20) NOT NULL)").await.unwrap();
    assert_eq!(copy(&client, "COPY filled FROM 's3://opts/short.txt' FILLRECORD MAXERROR 1").await, 1);
    assert_eq!(
        rows(&client, "SELECT line_number, colname, err_code FROM stl_load_errors WHERE query = pg_last_copy_id()").await,
        vec![row(&["2", "a", "1213"])]
    );
    assert_eq!(rows(&client, "SELECT id, a FROM filled").await, vec![row(&["1", "a"])]);
    client.batch_execute("TRUNCATE s").await.unwrap();
    assert_eq!(copy(&client, "COPY s (id, a) FROM 's3://opts/inv.txt' ACCEPTINVCHARS AS '^'").await, 2);
    assert_eq!(rows(&client, "SELECT a FROM s ORDER BY id").await, vec![row(&["fine"]), row(&["ok^^^"])]);
    // STL_REPLACEMENTS names the rows whose characters were replaced.
    assert_eq!(
        rows(&client, "SELECT filename, line_number, colname, raw_line FROM stl_replacements WHERE query = pg_last_copy_id()").await,
        vec![row(&["s3://opts/inv.txt", "2", "a", "2|ok\u{fffd}\u{fffd}"])]
    );
    client.batch_execute("TRUNCATE s").await.unwrap();
    assert_eq!(copy(&client, "COPY s FROM 's3://opts/nulls.txt' NULL AS 'nil' NOLOAD").await, 0);
    assert_eq!(rows(&client, "SELECT count(*) FROM s").await, vec![row(&["0"])]);
    assert_eq!(copy(&client, "COPY s FROM 's3://opts/nulls.txt' NULL AS 'nil' EMPTYASNULL COMPUPDATE OFF STATUPDATE ON").await, 2);
    assert_eq!(rows(&client, "SELECT id, a, b FROM s ORDER BY id").await, vec![row(&["1", "NULL", "NULL"]), row(&["2", "x", "NULL"])]);

    // Fraction digits past a decimal's scale are cut off unless ROUNDEC rounds them (half away
    // from zero, which can overflow the column); a date or timestamp in no format is an error
    // unless ACCEPTANYDATE loads it as NULL.
    client
        .batch_execute("CREATE TABLE scaled (id INT, price DECIMAL(4,2), day DATE, at TIMESTAMP)")
        .await
        .unwrap();
    assert_eq!(copy(&client, "COPY scaled FROM 's3://opts/scale.txt' MAXERROR 3").await, 2);
    assert_eq!(
        rows(&client, "SELECT id, price, day, at FROM scaled ORDER BY id").await,
        vec![row(&["1", "20.25", "2024-01-02", "2024-01-02 03:04:05"]), row(&["4", "99.99", "2024-01-03", "2024-01-03 00:00:00"])]
    );
    assert_eq!(
        rows(&client, "SELECT line_number, colname, err_code FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY 1").await,
        vec![row(&["2", "day", "1205"]), row(&["3", "day", "1205"])]
    );
    client.batch_execute("TRUNCATE scaled").await.unwrap();
    assert_eq!(copy(&client, "COPY scaled FROM 's3://opts/scale.txt' ROUNDEC ACCEPTANYDATE COMPROWS 1000 MAXERROR 1").await, 3);
    assert_eq!(
        rows(&client, "SELECT id, price, day, at FROM scaled ORDER BY id").await,
        vec![
            row(&["1", "20.26", "2024-01-02", "2024-01-02 03:04:05"]),
            row(&["2", "-20.26", "NULL", "NULL"]),
            row(&["3", "9.99", "NULL", "NULL"]),
        ]
    );
    assert_eq!(
        rows(&client, "SELECT line_number, colname, err_code FROM stl_load_errors WHERE query = pg_last_copy_id()").await,
        vec![row(&["4", "price", "1204"])]
    );

    // UTF-16 files, their byte order from a byte order mark or big-endian without one (and
    // compressed, too), load as the same text in UTF-8.
    client.batch_execute("TRUNCATE s").await.unwrap();
    assert_eq!(copy(&client, "COPY s FROM 's3://opts/utf16/' CSV IGNOREHEADER 1 ENCODING AS UTF16").await, 2);
    assert_eq!(
        rows(&client, "SELECT id, a, b, octet_length(a) FROM s ORDER BY id").await,
        vec![row(&["1", "Zürich", "東京, 🦀", "7"]), row(&["2", "Genève", "x", "7"])]
    );
    // A UTF-8 file may start with a byte order mark too, as spreadsheet programs write it.
    assert_eq!(copy(&client, "COPY s FROM 's3://opts/utf8-marked.csv' CSV").await, 1);
    assert_eq!(rows(&client, "SELECT id, a, b FROM s WHERE id = 3").await, vec![row(&["3", "Zoë", "y"])]);

    // Column lists: left-out columns get their DEFAULT and IDENTITY values; EXPLICIT_IDS loads them.
    assert_eq!(copy(&client, "COPY ids (v) FROM 's3://opts/short.txt' FILLRECORD DELIMITER ','").await, 2);
    assert_eq!(rows(&client, "SELECT id, v, n FROM ids ORDER BY id").await, vec![row(&["1", "1|a", "42"]), row(&["2", "2", "42"])]);
    assert_eq!(copy(&client, "COPY ids FROM 's3://opts/short.txt' EXPLICIT_IDS FILLRECORD").await, 2);
    assert_eq!(rows(&client, "SELECT count(*) FROM ids WHERE v = 'a' AND id = 1").await, vec![row(&["1"])]);
}

#[tokio::test(flavor = "multi_thread")]
async fn large_files_are_split_across_nodes() {
    let s3 = TestS3::start().await;
    s3.create_bucket("big");
    let mut text = String::new();
    let mut i = 0u64;
    // Past the 32 MiB split size, so the file is read as two byte ranges by different workers.
    while text.len() < (40 << 20) {
        i += 1;
        text.push_str(&format!("{i}|{:0>60}\n", i));
    }
    s3.put("big", "lines.txt", &text);
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client.batch_execute("CREATE TABLE big (id BIGINT, pad VARCHAR(60)) DISTSTYLE EVEN").await.unwrap();
    assert_eq!(copy(&client, "COPY big FROM 's3://big/lines.txt'").await, i);
    assert_eq!(
        rows(&client, "SELECT count(*), count(DISTINCT id), sum(id) FROM big").await,
        vec![row(&[&i.to_string(), &i.to_string(), &(i * (i + 1) / 2).to_string()])]
    );
    let per_slice = rows(&client, "SELECT slice, sum(rows) FROM stv_tbl_perm WHERE name = 'big' GROUP BY slice ORDER BY slice").await;
    assert_eq!(per_slice.len(), 4, "{per_slice:?}");
    for slice in &per_slice {
        let n: u64 = slice[1].as_deref().unwrap().parse().unwrap();
        assert!(n > i / 8, "rows spread over slices: {per_slice:?}");
    }
    // STL_LOAD_COMMITS has a row per range, which together scanned every record.
    assert_eq!(
        rows(&client, "SELECT trim(filename), is_partial, start_offset, lines_scanned FROM stl_load_commits WHERE query = pg_last_copy_id() ORDER BY start_offset").await
            .iter()
            .map(|r| r[..3].to_vec())
            .collect::<Vec<_>>(),
        vec![row(&["s3://big/lines.txt", "1", "0"]), row(&["s3://big/lines.txt", "1", "33554432"])]
    );
    assert_eq!(
        rows(&client, "SELECT sum(lines_scanned) FROM stl_load_commits WHERE query = pg_last_copy_id()").await,
        vec![row(&[&i.to_string()])]
    );

    // A CSV file's two ranges go to the two nodes as well. Its quoted fields hold newlines and
    // quotes, and the second range starts inside one, before a newline and a line that looks like
    // a record: only the quotes counted by the other node tell that it is data.
    let split = 32 << 20;
    let (mut csv, mut ids) = (String::new(), Vec::new());
    let record = |id: u64| format!("{id},\"say \"\"hi\"\"\nto {id}\"\n");
    while csv.len() < split - 100 {
        ids.push(ids.len() as u64 + 1);
        csv.push_str(&record(ids.len() as u64));
    }
    ids.push(ids.len() as u64 + 1);
    let opening = format!("{},\"", ids.len());
    let pad = "p".repeat(split + 10 - csv.len() - opening.len());
    csv.push_str(&format!("{opening}{pad}\n424242,fake\n\"\n"));
    let mut bad_line = 0;
    while csv.len() < (40 << 20) {
        if bad_line == 0 && csv.len() > split + (4 << 20) {
            bad_line = csv.matches('\n').count() + 1;
            csv.push_str("oops,\"not a number\"\n");
        }
        ids.push(ids.len() as u64 + 1);
        csv.push_str(&record(ids.len() as u64));
    }
    s3.put("big", "quoted.csv", &csv);
    client.batch_execute("CREATE TABLE quoted (id BIGINT, note VARCHAR(200))").await.unwrap();
    let loaded = ids.len() as u64;
    assert_eq!(copy(&client, "COPY quoted FROM 's3://big/quoted.csv' CSV MAXERROR 1").await, loaded);
    assert_eq!(
        rows(&client, "SELECT count(*), sum(id), count(DISTINCT id) FROM quoted").await,
        vec![row(&[&loaded.to_string(), &ids.iter().sum::<u64>().to_string(), &loaded.to_string()])]
    );
    assert_eq!(rows(&client, "SELECT note FROM quoted WHERE id = 7").await, vec![row(&["say \"hi\"\nto 7"])]);
    let trap = format!("{pad}\n424242,fake\n");
    assert_eq!(rows(&client, &format!("SELECT id FROM quoted WHERE note = '{trap}'")).await, vec![row(&[&opening[..opening.len() - 2]])]);
    // The rejected line is numbered in the whole file, past the other node's range.
    assert_eq!(
        rows(&client, "SELECT line_number, colname, is_partial, start_offset FROM stl_load_errors WHERE query = pg_last_copy_id()").await,
        vec![row(&[&bad_line.to_string(), "id", "t", &split.to_string()])]
    );
}

/// The compute nodes write the rows they parse themselves: left-out columns get the same DEFAULT
/// values an INSERT gives them, KEY tables spread over every slice, and ALL tables get a full copy
/// on one slice of each node.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_write_defaults_and_every_distribution() {
    let s3 = TestS3::start().await;
    s3.create_bucket("rows");
    let text: String = (1..=1000).map(|i| format!("{i}|name {i}\n")).collect();
    s3.put("rows", "rows.txt", &text);
    let cluster = Cluster::start_with_s3(2, 2, &s3.endpoint).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE keyed (id INT, name VARCHAR(20), n INT DEFAULT 42, c CHAR(4) DEFAULT 'ab  ', d DATE DEFAULT '2024-01-02')
                 DISTKEY(id) SORTKEY(id);
             CREATE TABLE everywhere (id INT, name VARCHAR(20)) DISTSTYLE ALL;
             INSERT INTO keyed (id, name) VALUES (0, 'inserted');",
        )
        .await
        .unwrap();

    assert_eq!(copy(&client, "COPY keyed (id, name) FROM 's3://rows/rows.txt'").await, 1000);
    assert_eq!(
        rows(&client, "SELECT count(*), sum(id), count(DISTINCT name), count(n), min(n), max(n), count(c), count(DISTINCT c), count(d), min(d), max(d) FROM keyed").await,
        vec![row(&["1001", "500500", "1001", "1001", "42", "42", "1001", "1", "1001", "2024-01-02", "2024-01-02"])]
    );
    assert_eq!(rows(&client, "SELECT name FROM keyed WHERE id = 777").await, vec![row(&["name 777"])]);
    let keyed = rows(&client, "SELECT slice, rows FROM stv_tbl_perm WHERE name = 'keyed' AND rows > 0 ORDER BY slice").await;
    assert_eq!(keyed.len(), 4, "rows on every slice: {keyed:?}");
    // Rows a node wrote sit on the slice an INSERT of the same key would use: a join on the
    // distkey finds each of them without moving rows.
    client.batch_execute("CREATE TABLE keys (id INT) DISTKEY(id); INSERT INTO keys SELECT id FROM keyed").await.unwrap();
    assert_eq!(rows(&client, "SELECT count(*) FROM keyed JOIN keys USING (id)").await, vec![row(&["1001"])]);

    assert_eq!(copy(&client, "COPY everywhere FROM 's3://rows/rows.txt'").await, 1000);
    assert_eq!(rows(&client, "SELECT count(*), sum(id) FROM everywhere").await, vec![row(&["1000", "500500"])]);
    assert_eq!(
        rows(&client, "SELECT slice, rows FROM stv_tbl_perm WHERE name = 'everywhere' AND rows > 0 ORDER BY slice").await,
        vec![row(&["0", "1000"]), row(&["2", "1000"])]
    );
}
