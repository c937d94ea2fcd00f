//! Spectrum benchmark: TPC-H lineitem and orders (the TPC-H harness's generator) written as
//! Parquet files into a local cluster's embedded object store, then queries over them three ways:
//! as external tables read in place, as local tables loaded with COPY from the same rows, and by
//! DuckDB reading the same Parquet files (when Python's `duckdb` module is installed). Prints
//! each query's best time per engine, and checks that every engine returns the local tables'
//! answer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow::datatypes::DataType;
use blueshift_tests::tpch::answers::{Rows, blueshift, compare_within};
use blueshift_tests::tpch::{Table, create_and_load, generate, write_parquet};
use blueshift_tests::{Cluster, connect};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    shape: super::TpchCluster,
    /// Parquet files each table is written as (so that every slice has files to read).
    #[arg(long, default_value_t = 8)]
    files: usize,
    /// Times each query runs; the best time is reported.
    #[arg(long, default_value_t = 3)]
    runs: u32,
}

/// DuckDB averages decimals in doubles; Blueshift, like Redshift, to six decimal places.
const DUCKDB_TOLERANCE: f64 = 1e-6;

/// The embedded store's bucket holding the external tables' files.
const LAKE: &str = "tpch-lake";

/// TPC-H queries over lineitem and orders only: Q1, Q3 without its customer filter, Q4, Q6, Q12.
fn queries() -> Vec<(&'static str, String)> {
    let standard = blueshift_tests::tpch::queries();
    let query = |name: &str| standard.iter().find(|(n, _)| n == name).expect("a TPC-H query").1.clone();
    let q3 = "select l_orderkey, sum(l_extendedprice * (1 - l_discount)) as revenue, o_orderdate, o_shippriority \
              from orders, lineitem \
              where l_orderkey = o_orderkey and o_orderdate < date '1995-03-15' and l_shipdate > date '1995-03-15' \
              group by l_orderkey, o_orderdate, o_shippriority order by revenue desc, o_orderdate, l_orderkey limit 10";
    vec![
        ("q01", query("q01")),
        ("q03 (orders x lineitem)", q3.to_string()),
        ("q04", query("q04")),
        ("q06", query("q06")),
        ("q12", query("q12")),
    ]
}

/// `sql` over the external tables: `lineitem` and `orders` become `spectrum.lineitem` and
/// `spectrum.orders` (they appear only as table names; columns carry `l_`/`o_` prefixes).
fn external(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find(|c: char| c.is_alphanumeric() || c == '_') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        let word = &rest[..end];
        if word == "lineitem" || word == "orders" {
            out.push_str("spectrum.");
        }
        out.push_str(word);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The SQL type of a generated column, for the external table's DDL.
fn sql_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Int64 => "BIGINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Date32 => "DATE".into(),
        DataType::Utf8 => "VARCHAR(256)".into(),
        other => panic!("no SQL type for generated column type {other}"),
    }
}

/// Writes `table` as `files` Parquet files under `<bucket>/<table>/`; returns the external
/// table's DDL.
fn write_external(bucket: &Path, table: &Table, files: usize) -> String {
    let folder = bucket.join(table.name);
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    let per_file = table.batches.len().div_ceil(files.max(1));
    for (i, batches) in table.batches.chunks(per_file.max(1)).enumerate() {
        write_parquet(&folder.join(format!("part-{i:03}.parquet")), batches);
    }
    let schema = table.batches[0].schema();
    let columns: Vec<String> = schema.fields().iter().map(|f| format!("{} {}", f.name(), sql_type(f.data_type()))).collect();
    format!(
        "CREATE EXTERNAL TABLE spectrum.{0} ({1}) STORED AS PARQUET LOCATION 's3://{LAKE}/{0}/' \
         TABLE PROPERTIES ('numRows'='{2}')",
        table.name,
        columns.join(", "),
        table.rows()
    )
}

/// The best of `runs` timings of `sql`, and its answer.
async fn timed(client: &tokio_postgres::Client, sql: &str, runs: u32) -> (Duration, Result<Rows, String>) {
    let mut best = Duration::MAX;
    let mut answer = Ok(Vec::new());
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        answer = blueshift(client, sql).await.map_err(|e| format!("{e:?}"));
        best = best.min(start.elapsed());
    }
    (best, answer)
}

/// DuckDB's best time and answer for each query, reading the same files; `None` if DuckDB is
/// not available.
fn duckdb(bucket: &Path, queries: &[(&str, String)], runs: u32) -> Option<Vec<(Duration, Rows)>> {
    let list: Vec<String> = queries.iter().map(|(_, sql)| format!("{sql:?}")).collect();
    let script = format!(
        "import duckdb, json, time\n\
         con = duckdb.connect()\n\
         con.execute('SET enable_progress_bar = false')\n\
         for t in ['lineitem', 'orders']:\n\
         \x20   con.execute(f\"CREATE VIEW {{t}} AS SELECT * FROM read_parquet('{root}/{{t}}/*.parquet')\")\n\
         for sql in [{queries}]:\n\
         \x20   best = None\n\
         \x20   for _ in range({runs}):\n\
         \x20       t = time.time(); rows = con.execute(sql).fetchall(); s = time.time() - t\n\
         \x20       best = s if best is None else min(best, s)\n\
         \x20   print(json.dumps({{'seconds': best, 'rows': [[None if v is None else str(v) for v in r] for r in rows]}}))\n",
        root = bucket.display(),
        queries = list.join(", "),
        runs = runs.max(1),
    );
    let out = match std::process::Command::new("python3").arg("-c").arg(&script).output() {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            println!("duckdb: not run ({})", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""));
            return None;
        }
        Err(e) => {
            println!("duckdb: not run ({e})");
            return None;
        }
    };
    let lines = String::from_utf8_lossy(&out.stdout);
    Some(
        lines
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("DuckDB's JSON line");
                let rows = serde_json::from_value(value["rows"].clone()).expect("rows of strings");
                (Duration::from_secs_f64(value["seconds"].as_f64().expect("seconds")), rows)
            })
            .collect(),
    )
}

/// `same` when `answer` is the local tables' answer (numbers within `tolerance`), else what
/// differs.
fn verdict(answer: &Result<Rows, String>, expected: &Result<Rows, String>, tolerance: f64) -> String {
    match (answer, expected) {
        (Ok(rows), Ok(expected)) => compare_within(rows, expected, tolerance).map_or_else(|d| format!("DIFFERENT: {d}"), |()| "same".into()),
        (Err(e), _) => format!("ERROR {e}"),
        (_, Err(_)) => "not checked: the local tables failed".into(),
    }
}

pub async fn run(args: Args) -> std::process::ExitCode {
    let started = Instant::now();
    let tables: Vec<Table> = generate(args.shape.sf).into_iter().filter(|t| t.name == "lineitem" || t.name == "orders").collect();
    let rows: usize = tables.iter().map(Table::rows).sum();
    println!("SF {}: generated lineitem and orders, {rows} rows, in {:.1?}", args.shape.sf, started.elapsed());

    let cluster = Cluster::start(args.shape.nodes, args.shape.slices).await;
    let store: PathBuf = cluster.embedded_store();
    let client = connect(cluster.port).await.expect("connects to the leader");
    let load = create_and_load(cluster.port, &store, &tables).await;
    println!("local tables loaded with COPY in {load:.1?}; {} nodes x {} slices", args.shape.nodes, args.shape.slices);

    let lake = store.join(LAKE);
    client
        .batch_execute("CREATE EXTERNAL SCHEMA spectrum FROM DATA CATALOG DATABASE 'tpch' IAM_ROLE default")
        .await
        .unwrap();
    for table in &tables {
        let ddl = write_external(&lake, table, args.files);
        client.batch_execute(&ddl).await.unwrap_or_else(|e| panic!("{ddl}: {e:?}"));
    }
    let bytes: u64 = std::fs::read_dir(&lake)
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|f| f.metadata().unwrap().len())
        .sum();
    println!("external tables: {} Parquet files per table, {:.1} MB in all", args.files, bytes as f64 / 1e6);

    let queries = queries();
    let duck = duckdb(&lake, &queries, args.runs);
    println!("{:<24} {:>10} {:>10} {:>10}", "query", "local", "external", "duckdb");
    let mut failed = false;
    let mut totals = [Duration::ZERO; 3];
    for (i, (name, sql)) in queries.iter().enumerate() {
        let (local_time, local) = timed(&client, sql, args.runs).await;
        let (external_time, on_s3) = timed(&client, &external(sql), args.runs).await;
        let mut line = format!("{name:<24} {:>9.3}s {:>9.3}s", local_time.as_secs_f64(), external_time.as_secs_f64());
        let mut checks = vec![format!("external {}", verdict(&on_s3, &local, 1e-9))];
        totals[0] += local_time;
        totals[1] += external_time;
        if let Some((duck_time, duck_rows)) = duck.as_ref().and_then(|d| d.get(i)) {
            line.push_str(&format!(" {:>9.3}s", duck_time.as_secs_f64()));
            checks.push(format!("duckdb {}", verdict(&Ok(duck_rows.clone()), &local, DUCKDB_TOLERANCE)));
            totals[2] += *duck_time;
        }
        failed |= local.is_err() || checks.iter().any(|c| !c.ends_with(" same"));
        println!("{line}  ({})", checks.join(", "));
    }
    let total = |d: Duration| format!("{:>9.3}s", d.as_secs_f64());
    println!(
        "{:<24} {} {} {}",
        "total",
        total(totals[0]),
        total(totals[1]),
        if duck.is_some() { total(totals[2]) } else { String::new() }
    );
    if failed { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_names_replace_table_names_only() {
        assert_eq!(
            external("select l_orderkey from orders, lineitem where o_orderkey = l_orderkey"),
            "select l_orderkey from spectrum.orders, spectrum.lineitem where o_orderkey = l_orderkey"
        );
    }
}
