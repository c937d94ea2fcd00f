//! Parsing speed of COPY's text formats on one core: TPC-H lineitem as CSV, parsed in memory
//! with the compute node's parser and nothing else (no S3, no cluster, no writes), so that a
//! change to parsing is measured apart from the rest of a load, whose wall time on a shared
//! machine moves by more than such a change. Prints the best and the median of several runs.
//!
//! The CSV file is generated as `bench copy` generates it, in the same place, and reused.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use blueshift_compute::load::{ColumnKind, Format, LoadSpec, Options, TargetColumn, parse_chunk};

#[derive(clap::Args)]
pub struct Args {
    /// TPC-H scale factor of the file parsed.
    #[arg(long, default_value_t = 0.1)]
    scale: f64,
    /// Times the file is parsed.
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Where the generated file goes (as `bench copy`'s).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("blueshift-copy-bench"))]
    dir: PathBuf,
}

/// lineitem's columns, as `bench copy` creates the table.
fn lineitem_spec() -> LoadSpec {
    use ColumnKind::*;
    let money = Decimal { precision: 15, scale: 2 };
    let kinds = [
        ("l_orderkey", BigInt),
        ("l_partkey", BigInt),
        ("l_suppkey", BigInt),
        ("l_linenumber", Integer),
        ("l_quantity", money),
        ("l_extendedprice", money),
        ("l_discount", money),
        ("l_tax", money),
        ("l_returnflag", Char(1)),
        ("l_linestatus", Char(1)),
        ("l_shipdate", Date),
        ("l_commitdate", Date),
        ("l_receiptdate", Date),
        ("l_shipinstruct", Char(25)),
        ("l_shipmode", Char(10)),
        ("l_comment", Varchar(44)),
    ];
    LoadSpec {
        columns: kinds
            .into_iter()
            .map(|(name, kind)| TargetColumn {
                name: name.into(),
                kind,
                not_null: true,
            })
            .collect(),
        format: Format::Csv { quote: b'"' },
        options: Options {
            delimiter: b',',
            ignore_header: 1,
            ..Options::default()
        },
    }
}

pub async fn run(args: Args) -> ExitCode {
    let folder = args.dir.join("s3").join("tpch").join(format!("sf{}", args.scale));
    std::fs::create_dir_all(&folder).unwrap();
    let csv = folder.join("lineitem.csv");
    if !csv.exists() {
        super::copy::write_csv(&csv, args.scale);
    }
    let data = std::fs::read(&csv).unwrap();
    let spec = lineitem_spec();
    let mut seconds = Vec::new();
    let mut rows = 0;
    for _ in 0..args.runs.max(1) {
        let start = Instant::now();
        let parsed = parse_chunk(&spec, true, &data, 0).unwrap();
        seconds.push(start.elapsed().as_secs_f64());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());
        rows = parsed.rows;
    }
    seconds.sort_by(f64::total_cmp);
    let megabytes = data.len() as f64 / 1e6;
    for (name, s) in [("best", seconds[0]), ("median", seconds[seconds.len() / 2])] {
        println!(
            "CSV parse, {name} of {}: {s:6.3} s, {:6.1} MB/s, {:9.0} rows/s ({rows} rows, {megabytes:.0} MB, one core)",
            seconds.len(),
            megabytes / s,
            rows as f64 / s
        );
    }
    ExitCode::SUCCESS
}
