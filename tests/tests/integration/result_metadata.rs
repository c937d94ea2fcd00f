//! What RowDescription tells a client about result columns, checked with tokio-postgres, which
//! reads every result in binary by the described type: the type of coerced columns (UNION, CASE,
//! COALESCE), the table OID and attribute number of columns read straight from a table, and
//! catalog arrays (`pg_index.indkey`, `pg_class.reloptions`) as PostgreSQL arrays.

use blueshift_tests::Cluster;
use tokio_postgres::types::Type;

#[tokio::test(flavor = "multi_thread")]
async fn coerced_columns_are_described_and_sent_in_their_common_type() {
    let cluster = Cluster::start(1, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE u (s SMALLINT, i INT, b BIGINT, n DECIMAL(10,2), f REAL, d DOUBLE PRECISION, v VARCHAR(10));
             INSERT INTO u VALUES (7, 70000, 7000000000, 12.5, 1.5, 2.25, 'x')",
        )
        .await
        .unwrap();

    let described = |sql: &'static str| {
        let client = &client;
        async move {
            let statement = client.prepare(sql).await.unwrap();
            let rows = client.query(&statement, &[]).await.unwrap();
            (statement.columns()[0].type_().clone(), rows)
        }
    };
    let (t, rows) = described("SELECT attnum FROM pg_attribute WHERE attrelid = 'u'::regclass AND attname = 'b' UNION SELECT 100 ORDER BY 1").await;
    assert_eq!(t, Type::INT4);
    assert_eq!(rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [3, 100]);

    let (t, rows) = described("SELECT s FROM u UNION ALL SELECT i FROM u ORDER BY 1").await;
    assert_eq!(t, Type::INT4);
    assert_eq!(rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [7, 70000]);

    let (t, rows) = described("SELECT i FROM u UNION ALL SELECT b FROM u ORDER BY 1").await;
    assert_eq!(t, Type::INT8);
    assert_eq!(rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>(), [70000, 7_000_000_000]);

    let (t, rows) = described("SELECT s FROM u UNION ALL SELECT n FROM u ORDER BY 1").await;
    assert_eq!(t, Type::NUMERIC);
    let values: Vec<String> = rows.iter().map(|r| r.get::<_, rust_decimal::Decimal>(0).to_string()).collect();
    assert_eq!(values, ["7.00", "12.50"]);

    let (t, rows) = described("SELECT f FROM u UNION ALL SELECT d FROM u ORDER BY 1").await;
    assert_eq!(t, Type::FLOAT8);
    assert_eq!(rows.iter().map(|r| r.get::<_, f64>(0)).collect::<Vec<_>>(), [1.5, 2.25]);

    let (t, rows) = described("SELECT v FROM u UNION ALL SELECT 'abc' ORDER BY 1").await;
    assert_eq!(t, Type::VARCHAR);
    assert_eq!(rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(), ["abc", "x"]);

    let (t, rows) = described("SELECT CASE WHEN s > 0 THEN s ELSE b END FROM u").await;
    assert_eq!(t, Type::INT8);
    assert_eq!(rows[0].get::<_, i64>(0), 7);

    let (t, rows) = described("SELECT coalesce(s, i) FROM u").await;
    assert_eq!(t, Type::INT4);
    assert_eq!(rows[0].get::<_, i32>(0), 7);

    // Integer literals are int4 in every branch, as in Redshift.
    let (t, rows) = described("SELECT 1 UNION SELECT 2 ORDER BY 1").await;
    assert_eq!(t, Type::INT4);
    assert_eq!(rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [1, 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn table_columns_are_described_with_their_table_oid_and_attnum() {
    let cluster = Cluster::start(1, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute(
            "CREATE TABLE m (id INT, name VARCHAR(10), price DECIMAL(8,2));
             CREATE TABLE m2 (k INT, label VARCHAR(10));
             INSERT INTO m VALUES (1, 'one', 1.50);
             INSERT INTO m2 VALUES (1, 'first')",
        )
        .await
        .unwrap();
    let oid = |table: &'static str| {
        let client = &client;
        async move {
            let row = client.query_one("SELECT oid FROM pg_class WHERE relname = $1", &[&table]).await.unwrap();
            row.get::<_, u32>(0)
        }
    };
    let attnum = |table: &'static str, column: &'static str| {
        let client = &client;
        async move {
            let sql = "SELECT a.attnum FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid WHERE c.relname = $1 AND a.attname = $2";
            client.query_one(sql, &[&table, &column]).await.unwrap().get::<_, i16>(0)
        }
    };
    let (m, m2) = (oid("m").await, oid("m2").await);
    assert_ne!(m, 0);
    let (price, label) = (attnum("m", "price").await, attnum("m2", "label").await);
    assert_eq!(price, 3);

    let sources = |sql: &'static str| {
        let client = &client;
        async move {
            let statement = client.prepare(sql).await.unwrap();
            client.query(&statement, &[]).await.unwrap();
            statement.columns().iter().map(|c| (c.table_oid(), c.column_id())).collect::<Vec<_>>()
        }
    };
    // Plain columns (renamed or not) carry their table and attnum; expressions carry none.
    assert_eq!(
        sources("SELECT name, id + 1, m.price AS p, 'x' FROM m").await,
        [(Some(m), Some(2)), (None, None), (Some(m), Some(price)), (None, None)]
    );
    // Through subqueries, joins, filters, ordering and grouping.
    assert_eq!(
        sources("SELECT s.price, m2.label FROM (SELECT price, id FROM m WHERE id > 0) s JOIN m2 ON s.id = m2.k ORDER BY 1").await,
        [(Some(m), Some(price)), (Some(m2), Some(label))]
    );
    assert_eq!(sources("SELECT name, count(*) FROM m GROUP BY name").await, [(Some(m), Some(2)), (None, None)]);
    assert_eq!(sources("SELECT * FROM m2").await, [(Some(m2), Some(1)), (Some(m2), Some(label))]);
    // A set operation's columns are computed.
    assert_eq!(sources("SELECT id FROM m UNION SELECT k FROM m2").await, [(None, None)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn catalog_arrays_are_sent_as_arrays() {
    let cluster = Cluster::start(1, 2).await;
    let client = cluster.connect().await;
    client
        .batch_execute("CREATE TABLE k (a INT, b INT, PRIMARY KEY (b, a)) DISTKEY(a) SORTKEY(b)")
        .await
        .unwrap();
    let statement = client
        .prepare(
            "SELECT i.indkey, c.reloptions, c.relacl, i.indkey[0] FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = 'k'",
        )
        .await
        .unwrap();
    let types: Vec<&Type> = statement.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(types, [&Type::INT2_ARRAY, &Type::TEXT_ARRAY, &Type::TEXT_ARRAY, &Type::INT2]);
    let row = client.query_one(&statement, &[]).await.unwrap();
    assert_eq!(row.get::<_, Vec<i16>>(0), [2, 1]);
    assert_eq!(row.get::<_, Vec<String>>(1), ["diststyle=key", "distkey=a", "sortkey=b"]);
    assert_eq!(row.get::<_, Option<Vec<String>>>(2), None);
    assert_eq!(row.get::<_, i16>(3), 2);
}
