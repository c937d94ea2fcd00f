//! Wire-protocol behaviour with a real client (tokio-postgres): startup parameters and
//! ParameterStatus, typed parameters, named statements and portals, cancel requests and
//! statement_timeout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use blueshift_tests::Cluster;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

/// Sends a StartupMessage with the extra parameters Redshift's drivers send, and returns the
/// ParameterStatus pairs the server answers with (up to ReadyForQuery).
fn raw_startup(port: u16) -> Vec<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for (k, v) in [
        ("user", "awsuser"),
        ("database", "dev"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO"),
        ("extra_float_digits", "2"),
        ("application_name", "redshift_connector"),
        ("client_protocol_version", "2"),
        ("driver_version", "2.1.0"),
        ("os_version", "Linux"),
        ("plugin_name", "none"),
    ] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut message = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    message.extend_from_slice(&body);
    stream.write_all(&message).unwrap();
    let mut parameters = Vec::new();
    loop {
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).unwrap();
        let len = i32::from_be_bytes(header[1..5].try_into().unwrap()) as usize - 4;
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).unwrap();
        match header[0] {
            b'R' => assert_eq!(&payload[..4], &0i32.to_be_bytes(), "AuthenticationOk"),
            b'S' => {
                let parts: Vec<String> = payload
                    .split(|b| *b == 0)
                    .take(2)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                parameters.push((parts[0].clone(), parts[1].clone()));
            }
            b'E' => panic!("startup failed: {}", String::from_utf8_lossy(&payload)),
            b'Z' => return parameters,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn startup_reports_redshift_parameters() {
    let cluster = Cluster::start(1, 2).await;
    let port = cluster.port;
    let parameters = tokio::task::spawn_blocking(move || raw_startup(port)).await.unwrap();
    let get = |k: &str| parameters.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("server_version"), Some("8.0.2"));
    assert_eq!(get("client_encoding"), Some("UTF8"));
    assert_eq!(get("DateStyle"), Some("ISO, MDY"));
    assert_eq!(get("TimeZone"), Some("UTC"));
    assert_eq!(get("integer_datetimes"), Some("on"));
    assert_eq!(get("application_name"), Some("redshift_connector"));
    assert_eq!(get("server_version_num"), None);

    let client = cluster.connect().await;
    let row = client.query_one("SELECT version()", &[]).await.unwrap();
    let version: String = row.get(0);
    assert!(version.starts_with("PostgreSQL 8.0.2 on "), "{version}");
    assert!(version.contains("Redshift") && version.contains("Blueshift"), "{version}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_users_and_databases_are_refused() {
    let cluster = Cluster::start(1, 1).await;
    let wrong_db = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={} user=awsuser dbname=prod", cluster.port),
        NoTls,
    )
    .await
    .err()
    .expect("unknown database refused");
    assert_eq!(wrong_db.code(), Some(&SqlState::INVALID_CATALOG_NAME));
    let wrong_user = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={} user=mallory dbname=dev", cluster.port),
        NoTls,
    )
    .await
    .err()
    .expect("unknown user refused");
    assert_eq!(wrong_user.code(), Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION));
}

#[tokio::test(flavor = "multi_thread")]
async fn parameters_are_typed_by_inference() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE p (id INT, name VARCHAR(10), price DECIMAL(8,2), day DATE) DISTKEY(id);
             INSERT INTO p VALUES (1, 'one', 1.25, '2024-01-01'), (2, 'two', 2.50, '2024-01-02'), (3, NULL, NULL, NULL)",
        )
        .await
        .unwrap();

    // The server infers $1 as INT from the column it is compared with.
    let statement = client.prepare("SELECT name, price FROM p WHERE id = $1").await.unwrap();
    assert_eq!(statement.params(), &[Type::INT4]);
    assert_eq!(statement.columns()[0].type_(), &Type::VARCHAR);
    assert_eq!(statement.columns()[1].type_(), &Type::NUMERIC);
    let row = client.query_one(&statement, &[&2i32]).await.unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("two"));
    assert_eq!(row.get::<_, Option<rust_decimal::Decimal>>(1).unwrap().to_string(), "2.50");

    // The same named statement, executed again with other values (and a NULL result).
    let row = client.query_one(&statement, &[&3i32]).await.unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);

    // Parameters of other types, in INSERT and in expressions.
    let inserted = client
        .execute(
            "INSERT INTO p VALUES ($1, $2, $3, $4)",
            &[
                &4i32,
                &"four",
                &rust_decimal::Decimal::new(405, 2),
                &chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(inserted, 1);
    let row = client
        .query_one("SELECT count(*), sum(price) FROM p WHERE day > $1 AND name <> $2", &[&chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(), &"x"])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
    assert_eq!(row.get::<_, rust_decimal::Decimal>(1).to_string(), "6.55");
    let row = client.query_one("SELECT $1::BIGINT * 2", &[&21i64]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn portals_return_rows_in_batches() {
    let cluster = Cluster::start(1, 2).await;
    let mut client = cluster.connect().await;
    client
        .batch_execute("CREATE TABLE n (v INT); INSERT INTO n SELECT value FROM generate_series(1, 10)")
        .await
        .unwrap();
    let transaction = client.transaction().await.unwrap();
    let statement = transaction.prepare("SELECT v FROM n ORDER BY v").await.unwrap();
    let portal = transaction.bind(&statement, &[]).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let rows = transaction.query_portal(&portal, 4).await.unwrap();
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 4);
        seen.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    transaction.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_request_stops_a_running_query() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute("CREATE TABLE c (v INT) DISTSTYLE EVEN; INSERT INTO c SELECT value FROM generate_series(1, 2000)")
        .await
        .unwrap();
    let token = client.cancel_token();
    let started = Instant::now();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel_query(NoTls).await.unwrap();
    });
    // A triple cross join of the compute nodes' rows: far longer than the test allows.
    let error = client
        .query_one("SELECT count(*) FROM c a, c b, c d WHERE a.v + b.v + d.v > 0", &[])
        .await
        .err()
        .expect("the query was cancelled");
    canceller.await.unwrap();
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The session survives.
    let row = client.query_one("SELECT count(*) FROM c", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 2000);
}

#[tokio::test(flavor = "multi_thread")]
async fn statement_timeout_cancels_long_statements() {
    let cluster = Cluster::start(1, 2).await;
    let client = cluster.connect().await;
    client.batch_execute("SET statement_timeout TO 300").await.unwrap();
    let started = Instant::now();
    let error = client
        .query_one("SELECT count(*) FROM generate_series(1, 100000000000)", &[])
        .await
        .err()
        .expect("the statement timed out");
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED));
    let message = error.as_db_error().unwrap().message().to_string();
    assert_eq!(message, "canceling statement due to statement timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
    client.batch_execute("RESET statement_timeout").await.unwrap();
    let row = client.query_one("SELECT 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_write_leaves_no_rows_and_no_lock() {
    let cluster = Cluster::start(2, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute("CREATE TABLE w (v BIGINT) DISTSTYLE EVEN; INSERT INTO w VALUES (1)")
        .await
        .unwrap();
    client.batch_execute("SET statement_timeout TO 400").await.unwrap();
    let error = client
        .execute("INSERT INTO w SELECT value FROM generate_series(1, 100000000000)", &[])
        .await
        .err()
        .expect("the insert timed out");
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED));
    client.batch_execute("RESET statement_timeout").await.unwrap();
    // Another session can write the table at once: the cancelled insert's lock is gone.
    let other = cluster.connect().await;
    let inserted = tokio::time::timeout(Duration::from_secs(10), other.execute("INSERT INTO w VALUES (2)", &[]))
        .await
        .expect("the table is not left locked")
        .unwrap();
    assert_eq!(inserted, 1);
    let row = client.query_one("SELECT count(*), sum(v) FROM w", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (2, 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_tables_end_with_their_session() {
    let cluster = Cluster::start(1, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute("CREATE TEMP TABLE mine (v INT); INSERT INTO mine VALUES (1)")
        .await
        .unwrap();
    let other = cluster.connect().await;
    let error = other.query_one("SELECT * FROM mine", &[]).await.err().expect("not visible elsewhere");
    assert_eq!(error.code(), Some(&SqlState::UNDEFINED_TABLE));
    drop(client);
    // The closed session's temporary schema is dropped in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = other
            .query("SELECT count(*) FROM stv_tbl_perm WHERE name = 'mine'", &[])
            .await
            .unwrap();
        if rows[0].get::<_, i64>(0) == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "temporary table outlived its session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn non_loopback_listeners_require_a_password() {
    use blueshift_leader::server::{LeaderConfig, start_leader};
    let dir = tempfile::tempdir().unwrap();
    let (compute, _) = blueshift_leader::local::start_compute(&dir.path().join("c0"), "127.0.0.1:0", 1, std::future::pending())
        .await
        .unwrap();
    let config = |password: Option<&str>| LeaderConfig {
        data_dir: dir.path().join("leader"),
        listen: "0.0.0.0:0".parse().unwrap(),
        compute: vec![compute.to_string()],
        password: password.map(str::to_string),
        s3: Default::default(),
        auto_all_max_rows: blueshift_leader::server::DEFAULT_AUTO_ALL_MAX_ROWS,
        auto_vacuum_interval: None,
        snapshots: Default::default(),
        admin_listen: None,
        restore_from: None,
    };
    let refused = start_leader(config(None), std::future::pending()).await.err().expect("no password: refused");
    assert!(refused.message.contains("requires a password"), "{}", refused.message);

    let (leader, _) = start_leader(config(Some("s3cret")), std::future::pending()).await.unwrap();
    let port = leader.address.port();
    let url = |password: &str| format!("host=127.0.0.1 port={port} user=awsuser dbname=dev password={password}");
    let error = tokio_postgres::connect(&url("wrong"), NoTls).await.err().expect("wrong password refused");
    assert_eq!(error.code(), Some(&SqlState::INVALID_PASSWORD));
    let (client, connection) = tokio_postgres::connect(&url("s3cret"), NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client.query_one("SELECT 40 + 2", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
}
