//! COPY throughput on TPC-H lineitem: generates the table at a scale factor with `tpchgen` as CSV
//! and as Parquet into a local cluster's embedded object store, loads each with COPY (and with
//! NOLOAD, which parses without storing), and prints MB/s and rows/s. When Python's `duckdb`
//! module is installed it loads the same CSV and Parquet files into DuckDB for comparison, both
//! in memory and into a database file.
//!
//! Generated files are kept in DIR/s3/tpch/ and reused by later runs.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use blueshift_tests::Cluster;
use blueshift_tests::cpu::{CpuTime, cpu_time};
use tpchgen::csv::LineItemCsv;
use tpchgen::generators::LineItemGenerator;
use tpchgen_arrow::LineItemArrow;

const DDL: &str = "CREATE TABLE lineitem (
    l_orderkey BIGINT NOT NULL, l_partkey BIGINT NOT NULL, l_suppkey BIGINT NOT NULL,
    l_linenumber INTEGER NOT NULL, l_quantity DECIMAL(15,2) NOT NULL, l_extendedprice DECIMAL(15,2) NOT NULL,
    l_discount DECIMAL(15,2) NOT NULL, l_tax DECIMAL(15,2) NOT NULL, l_returnflag CHAR(1) NOT NULL,
    l_linestatus CHAR(1) NOT NULL, l_shipdate DATE NOT NULL, l_commitdate DATE NOT NULL,
    l_receiptdate DATE NOT NULL, l_shipinstruct CHAR(25) NOT NULL, l_shipmode CHAR(10) NOT NULL,
    l_comment VARCHAR(44) NOT NULL
) DISTKEY(l_orderkey) SORTKEY(l_shipdate)";

#[derive(clap::Args)]
pub struct Args {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Where the generated files and the cluster's data go.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("blueshift-copy-bench"))]
    dir: PathBuf,
    /// Compute nodes of the local cluster.
    #[arg(long, default_value_t = 2)]
    nodes: u32,
    /// Slices per compute node.
    #[arg(long, default_value_t = 2)]
    slices: u32,
}

pub fn write_csv(path: &Path, scale: f64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("csv file"));
    writeln!(out, "{}", LineItemCsv::header()).unwrap();
    let mut rows = 0;
    let mut line = String::new();
    for item in LineItemGenerator::new(scale, 1, 1).iter() {
        line.clear();
        writeln!(line, "{}", LineItemCsv::new(item)).unwrap();
        out.write_all(line.as_bytes()).unwrap();
        rows += 1;
    }
    out.flush().unwrap();
    rows
}

pub fn write_parquet(path: &Path, scale: f64) {
    let mut batches = LineItemArrow::new(LineItemGenerator::new(scale, 1, 1)).with_batch_size(65_536);
    let first = batches.next().expect("rows").expect("a batch");
    let file = std::fs::File::create(path).expect("parquet file");
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, first.schema(), None).unwrap();
    writer.write(&first).unwrap();
    for batch in batches {
        writer.write(&batch.expect("a batch")).unwrap();
    }
    writer.close().unwrap();
}

/// A new local cluster with its data under `dir` (the generated files are kept) and an empty
/// lineitem table.
pub async fn lineitem_cluster(dir: &Path, nodes: u32, slices: u32) -> (Cluster, tokio_postgres::Client) {
    for data in ["leader", "compute-0", "compute-1", "compute-2", "compute-3"] {
        let _ = std::fs::remove_dir_all(dir.join(data));
    }
    let cluster = Cluster::start_in(dir, nodes, slices).await;
    let client = cluster.connect().await;
    client.batch_execute(DDL).await.unwrap();
    (cluster, client)
}

/// Runs `sql` on an empty table: its wall seconds, the CPU time it took (the cluster runs in this
/// process) and its row count.
async fn timed_copy(client: &tokio_postgres::Client, sql: &str) -> (f64, CpuTime, u64) {
    client.batch_execute("TRUNCATE lineitem").await.unwrap();
    timed(client, sql).await
}

/// Runs `sql`: its wall seconds, the CPU time it took and the count of its command tag.
async fn timed(client: &tokio_postgres::Client, sql: &str) -> (f64, CpuTime, u64) {
    let before = cpu_time(std::process::id());
    let start = Instant::now();
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_time(std::process::id()).since(before);
    let rows = messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    (seconds, cpu, rows)
}

/// Loads the same files into DuckDB, each into a new table: once in memory, where DuckDB keeps the
/// rows uncompressed until a checkpoint, and once into a database file, timed until a checkpoint
/// has compressed and stored them, as COPY here has when it returns.
fn duckdb(csv: &Path, parquet: &Path, dir: &Path) {
    let database = dir.join("duckdb-bench.db");
    let script = format!(
        "import duckdb, os, time\n\
         for database in [':memory:', '{}']:\n\
         \x20   for name, sql in [('CSV', \"COPY lineitem FROM '{}' (HEADER)\"), ('Parquet', \"INSERT INTO lineitem SELECT * FROM read_parquet('{}')\")]:\n\
         \x20       for stale in [database, database + '.wal']:\n\
         \x20           if database != ':memory:' and os.path.exists(stale): os.remove(stale)\n\
         \x20       con = duckdb.connect(database)\n\
         \x20       con.execute('SET enable_progress_bar = false')\n\
         \x20       con.execute(\"\"\"{}\"\"\".replace('DISTKEY(l_orderkey) SORTKEY(l_shipdate)', ''))\n\
         \x20       t = time.time()\n\
         \x20       con.execute(sql)\n\
         \x20       if database != ':memory:': con.execute('CHECKPOINT')\n\
         \x20       s = time.time() - t\n\
         \x20       where = 'in memory' if database == ':memory:' else 'database file'\n\
         \x20       print(f'duckdb {{name}} ({{where}}): {{s:.2f}} s, {{con.execute(\"SELECT count(*) FROM lineitem\").fetchone()[0]}} rows')\n\
         \x20       con.close()\n\
         \x20   if database != ':memory:': os.remove(database)\n",
        database.display(),
        csv.display(),
        parquet.display(),
        DDL,
    );
    match std::process::Command::new("python3").arg("-c").arg(&script).output() {
        Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
        Ok(out) => println!("duckdb: not run ({})", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")),
        Err(e) => println!("duckdb: not run ({e})"),
    }
}

pub async fn run(args: Args) -> ExitCode {
    let bucket = args.dir.join("s3").join("tpch");
    let folder = format!("sf{}", args.scale);
    std::fs::create_dir_all(bucket.join(&folder)).unwrap();
    let csv = bucket.join(&folder).join("lineitem.csv");
    let parquet = bucket.join(&folder).join("lineitem.parquet");
    if !csv.exists() {
        let start = Instant::now();
        let rows = write_csv(&csv, args.scale);
        println!("generated {rows} rows of CSV in {:.1} s", start.elapsed().as_secs_f64());
    }
    if !parquet.exists() {
        write_parquet(&parquet, args.scale);
    }
    let (_cluster, client) = lineitem_cluster(&args.dir, args.nodes, args.slices).await;
    let csv_bytes = std::fs::metadata(&csv).unwrap().len();
    let parquet_bytes = std::fs::metadata(&parquet).unwrap().len();
    let location = |file: &str| format!("s3://tpch/{folder}/{file}");
    let runs = [
        ("CSV NOLOAD", csv_bytes, format!("COPY lineitem FROM '{}' CSV IGNOREHEADER 1 NOLOAD", location("lineitem.csv"))),
        ("CSV", csv_bytes, format!("COPY lineitem FROM '{}' CSV IGNOREHEADER 1", location("lineitem.csv"))),
        ("Parquet NOLOAD", parquet_bytes, format!("COPY lineitem FROM '{}' PARQUET NOLOAD", location("lineitem.parquet"))),
        ("Parquet", parquet_bytes, format!("COPY lineitem FROM '{}' FORMAT AS PARQUET", location("lineitem.parquet"))),
    ];
    println!(
        "TPC-H lineitem SF{}: {} nodes x {} slices, CSV {:.0} MB, Parquet {:.0} MB",
        args.scale,
        args.nodes,
        args.slices,
        csv_bytes as f64 / 1e6,
        parquet_bytes as f64 / 1e6
    );
    for (name, bytes, sql) in runs.iter().cloned() {
        let (seconds, cpu, rows) = timed_copy(&client, &sql).await;
        println!(
            "{name:>15}: {seconds:6.2} s, {:7.1} MB/s, {:9.0} rows/s ({rows} rows), CPU {:5.1} s user + {:4.1} s system",
            bytes as f64 / 1e6 / seconds,
            if rows > 0 { rows as f64 / seconds } else { 0.0 },
            cpu.user,
            cpu.system,
        );
    }
    let count = client.query_one("SELECT count(*) FROM lineitem", &[]).await.unwrap();
    println!("rows in lineitem after the last load: {}", count.get::<_, i64>(0));
    // Loading the same rows again puts them all in the unsorted region, as a second day's load
    // whose dates overlap the first's would: VACUUM merges each slice's two runs into one.
    timed(&client, &runs[3].2).await;
    let unsorted = "SELECT unsorted FROM svv_table_info WHERE \"table\" = 'lineitem'";
    let before: f64 = client.query_one(unsorted, &[]).await.unwrap().get(0);
    let (seconds, cpu, _) = timed(&client, "VACUUM lineitem").await;
    let after: f64 = client.query_one(unsorted, &[]).await.unwrap().get(0);
    println!(
        "VACUUM of 2 x {} rows: {seconds:6.2} s, {:9.0} rows/s, CPU {:5.1} s user + {:4.1} s system, unsorted {before:.0}% -> {after:.0}%",
        count.get::<_, i64>(0),
        2.0 * count.get::<_, i64>(0) as f64 / seconds,
        cpu.user,
        cpu.system,
    );
    duckdb(&csv, &parquet, &args.dir);
    ExitCode::SUCCESS
}
