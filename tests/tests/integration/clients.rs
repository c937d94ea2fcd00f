//! What client tools depend on: psql's meta-commands (run with the real psql binary) over the
//! catalog, and tokio-postgres with binary parameters and results for every column type and a
//! prepared statement reused many times (JDBC switches to server-side prepares after 5 runs).

use std::process::Command;

use blueshift_tests::Cluster;
use tokio_postgres::types::Type;

/// Runs psql with `args` against `port` and returns its output, failing on any error.
async fn psql(port: u16, args: &[&str]) -> String {
    let mut command = Command::new("psql");
    command.args(["-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "awsuser", "-d", "dev"]);
    command.args(args);
    let output = tokio::task::spawn_blocking(move || command.output().expect("psql is installed")).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "psql {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_meta_commands() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE SCHEMA sales;
             CREATE TABLE sales.orders (id INT PRIMARY KEY, customer VARCHAR(30) NOT NULL DEFAULT 'anon', total DECIMAL(12,2)) DISTKEY(id) SORTKEY(id);
             CREATE TABLE fruit (id INT, name VARCHAR(20)) DISTSTYLE EVEN;
             CREATE VIEW fruit_names AS SELECT name FROM fruit;
             INSERT INTO fruit VALUES (1, 'apple'), (2, 'pear');",
        )
        .await
        .unwrap();
    let port = cluster.port;

    let databases = psql(port, &["-c", "\\l"]).await;
    assert!(databases.contains(" dev  | awsuser | UTF8"), "{databases}");

    let schemas = psql(port, &["-c", "\\dn"]).await;
    assert!(schemas.contains(" public | awsuser") && schemas.contains(" sales  | awsuser"), "{schemas}");

    let tables = psql(port, &["-c", "\\dt"]).await;
    assert!(tables.contains(" public | fruit | table | awsuser"), "{tables}");
    assert!(!tables.contains("orders"), "sales is not on the search path: {tables}");

    let described = psql(port, &["-c", "\\d sales.orders"]).await;
    assert!(described.contains("Table \"sales.orders\""), "{described}");
    assert!(described.contains(" id       | integer               |           | not null | "), "{described}");
    assert!(described.contains(" customer | character varying(30) |           | not null | 'anon'"), "{described}");
    assert!(described.contains(" total    | numeric(12,2)         |           |          | "), "{described}");

    // \d+ shows the distribution style, distkey and sort key as the table's options.
    let verbose = psql(port, &["-c", "\\d+ sales.orders"]).await;
    assert!(verbose.contains("Options: diststyle=key, distkey=id, sortkey=id"), "{verbose}");
    let even = psql(port, &["-c", "\\d+ fruit"]).await;
    assert!(even.contains("Options: diststyle=even, sortkey=auto"), "{even}");

    let views = psql(port, &["-c", "\\dv"]).await;
    assert!(views.contains(" public | fruit_names | view | awsuser"), "{views}");
    let view = psql(port, &["-c", "\\d fruit_names"]).await;
    assert!(view.contains("View \"public.fruit_names\"") && view.contains(" name   | character varying |"), "{view}");

    let functions = psql(port, &["-c", "\\df"]).await;
    assert!(functions.contains("List of functions") && functions.contains("(0 rows)"), "{functions}");

    let roles = psql(port, &["-c", "\\du"]).await;
    assert!(roles.contains(" awsuser   | Superuser, Create role, Create DB"), "{roles}");

    // Expanded display and timing are client-side, over an ordinary query.
    let expanded = psql(port, &["-c", "\\x", "-c", "SELECT id, name FROM fruit ORDER BY id"]).await;
    assert!(expanded.contains("-[ RECORD 1 ]\nid   | 1\nname | apple"), "{expanded}");
    let timed = psql(port, &["-c", "\\timing on", "-c", "SELECT count(*) FROM fruit"]).await;
    assert!(timed.contains("Time: ") && timed.contains("     2\n"), "{timed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_values_of_every_type() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE typed (s SMALLINT, i INT, b BIGINT, d DECIMAL(12,3), r REAL, f DOUBLE PRECISION, t BOOLEAN,
                                 c CHAR(3), v VARCHAR(20), day DATE, ts TIMESTAMP, tz TIMESTAMPTZ, tm TIME)",
        )
        .await
        .unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let ts = day.and_hms_micro_opt(13, 14, 15, 123_456).unwrap();
    let tz = chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(ts, chrono::Utc);
    let tm = chrono::NaiveTime::from_hms_micro_opt(23, 59, 58, 1).unwrap();
    let decimal = rust_decimal::Decimal::new(-123_456, 3);
    // Every value goes in as a binary parameter and comes back as a binary result.
    client
        .execute(
            "INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[&-7i16, &42i32, &-9_000_000_000i64, &decimal, &1.5f32, &-2.25f64, &true, &"abc", &"héllo", &day, &ts, &tz, &tm],
        )
        .await
        .unwrap();
    let row = client.query_one("SELECT * FROM typed", &[]).await.unwrap();
    let types: Vec<Type> = row.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        [
            Type::INT2, Type::INT4, Type::INT8, Type::NUMERIC, Type::FLOAT4, Type::FLOAT8, Type::BOOL, Type::VARCHAR,
            Type::VARCHAR, Type::DATE, Type::TIMESTAMP, Type::TIMESTAMPTZ, Type::TIME
        ]
    );
    assert_eq!(row.get::<_, i16>(0), -7);
    assert_eq!(row.get::<_, i32>(1), 42);
    assert_eq!(row.get::<_, i64>(2), -9_000_000_000);
    assert_eq!(row.get::<_, rust_decimal::Decimal>(3), decimal);
    assert_eq!(row.get::<_, f32>(4), 1.5);
    assert_eq!(row.get::<_, f64>(5), -2.25);
    assert!(row.get::<_, bool>(6));
    assert_eq!(row.get::<_, String>(7), "abc");
    assert_eq!(row.get::<_, String>(8), "héllo");
    assert_eq!(row.get::<_, chrono::NaiveDate>(9), day);
    assert_eq!(row.get::<_, chrono::NaiveDateTime>(10), ts);
    assert_eq!(row.get::<_, chrono::DateTime<chrono::Utc>>(11), tz);
    assert_eq!(row.get::<_, chrono::NaiveTime>(12), tm);

    // Catalog OIDs come back as PostgreSQL's oid type.
    let row = client.query_one("SELECT oid, relname FROM pg_class WHERE relname = 'typed'", &[]).await.unwrap();
    assert_eq!(row.columns()[0].type_(), &Type::OID);
    assert!(row.get::<_, u32>(0) >= 100_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn prepared_statements_are_reused_many_times() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    client.batch_execute("CREATE TABLE counters (k INT, v BIGINT) DISTKEY(k)").await.unwrap();
    let insert = client.prepare("INSERT INTO counters VALUES ($1, $2)").await.unwrap();
    let select = client.prepare("SELECT v FROM counters WHERE k = $1").await.unwrap();
    for k in 0..50i32 {
        assert_eq!(client.execute(&insert, &[&k, &(i64::from(k) * 10)]).await.unwrap(), 1);
    }
    for k in 0..50i32 {
        let row = client.query_one(&select, &[&k]).await.unwrap();
        assert_eq!(row.get::<_, i64>(0), i64::from(k) * 10);
    }
    // An error between executions leaves the prepared statements usable (sync recovery).
    assert!(client.execute("SELECT * FROM missing_table", &[]).await.is_err());
    let row = client.query_one(&select, &[&7i32]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 70);
    let logged = client
        .query_one("SELECT count(*) FROM stl_query WHERE querytxt = 'SELECT v FROM counters WHERE k = $1'", &[])
        .await
        .unwrap();
    assert_eq!(logged.get::<_, i64>(0), 51);
}
