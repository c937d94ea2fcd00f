//! Data written by an earlier build stays readable: a cluster directory in the on-disk format
//! version 1 (commit log, catalog, node identity, manifests, Parquet segments, delete bitmaps) is
//! checked in under `tests/fixtures/format-v1` and must open and answer queries unchanged.
//!
//! Regenerate it only when the format version changes, keeping the old fixture:
//! `cargo test --workspace --test integration -- --ignored write_format_fixture`

use std::path::{Path, PathBuf};

use blueshift_tests::Cluster;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("format-v1")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

const SETUP: &str = "
    CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id INT IDENTITY(1, 1), customer VARCHAR(20) NOT NULL, amount DECIMAL(10, 2),
                              placed DATE, at TIMESTAMP, paid BOOLEAN, score DOUBLE PRECISION)
        DISTKEY(customer) SORTKEY(placed);
    INSERT INTO shop.orders (customer, amount, placed, at, paid, score) VALUES
        ('ann', 10.50, '2024-01-01', '2024-01-01 10:00:00', true, 1.5),
        ('bob', 20.00, '2024-01-02', '2024-01-02 11:30:00', false, 2.25),
        ('cid', NULL, '2024-01-03', NULL, NULL, NULL);
    INSERT INTO shop.orders (customer, amount, placed) VALUES ('dan', 5.00, '2024-02-01');
    DELETE FROM shop.orders WHERE customer = 'bob';
    ALTER TABLE shop.orders ADD COLUMN note VARCHAR(10) DEFAULT 'n/a';
    CREATE TABLE shop.tags (tag VARCHAR(10)) DISTSTYLE ALL;
    INSERT INTO shop.tags VALUES ('x'), ('y');
    CREATE VIEW shop.big AS SELECT customer FROM shop.orders WHERE amount > 6;
";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "writes the checked-in fixture; run only when the format version changes"]
async fn write_format_fixture() {
    let dir = fixture();
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = Cluster::start_in(&dir, 1, 2).await;
    cluster.connect().await.batch_execute(SETUP).await.unwrap();
    cluster.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn version_1_data_stays_readable() {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), temp.path());
    let cluster = Cluster::start_in(temp.path(), 1, 2).await;
    let client = cluster.connect().await;
    let rows = client
        .query(
            "SELECT id, customer, amount::TEXT, placed::TEXT, paid, score, note FROM shop.orders ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {:?} {} {:?} {:?} {}",
                r.get::<_, i32>(0),
                r.get::<_, String>(1),
                r.get::<_, Option<String>>(2),
                r.get::<_, String>(3),
                r.get::<_, Option<bool>>(4),
                r.get::<_, Option<f64>>(5),
                r.get::<_, String>(6),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "1 ann Some(\"10.50\") 2024-01-01 Some(true) Some(1.5) n/a",
            "3 cid None 2024-01-03 None None n/a",
            "4 dan Some(\"5.00\") 2024-02-01 None None n/a",
        ]
    );
    let tags: i64 = client.query_one("SELECT count(*) FROM shop.tags", &[]).await.unwrap().get(0);
    assert_eq!(tags, 2);
    let big: Vec<String> = client
        .query("SELECT customer FROM shop.big ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(big, vec!["ann"]);
    // The restored cluster keeps working: new writes continue the identity sequence.
    client
        .batch_execute("INSERT INTO shop.orders (customer) VALUES ('eve')")
        .await
        .unwrap();
    let id: i32 = client
        .query_one("SELECT id FROM shop.orders WHERE customer = 'eve'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(id > 4, "identity values are not reused: {id}");
    // The fixture's segments store the NOT NULL column `customer` with null flags (Parquet
    // OPTIONAL), new segments without (REQUIRED): scans, UPDATE and DELETE read both.
    client
        .batch_execute(
            "UPDATE shop.orders SET amount = 1.25 WHERE customer IN ('ann', 'eve');
             DELETE FROM shop.orders WHERE customer = 'dan'",
        )
        .await
        .unwrap();
    let rows = client
        .query("SELECT customer, amount::TEXT FROM shop.orders ORDER BY customer", &[])
        .await
        .unwrap();
    let got: Vec<(String, Option<String>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![("ann".into(), Some("1.25".into())), ("cid".into(), None), ("eve".into(), Some("1.25".into()))]
    );
}
