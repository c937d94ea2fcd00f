//! TPC-H on a cluster of separate processes (2 nodes x 2 slices) at scale factor 0.01: all 22
//! queries answer as a single-node DataFusion plan over the same data does, a few answers match
//! values computed directly from the generated rows, and the plans use the join distribution
//! strategies the tables' distribution calls for.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Date32Type, Decimal128Type};
use blueshift_tests::tpch::answers::{Rows, blueshift, compare, reference, reference_session};
use blueshift_tests::tpch::{Table, create_and_load, generate, queries, table};
use blueshift_tests::{ProcessCluster, connect, explain};
use chrono::NaiveDate;

const SCALE_FACTOR: f64 = 0.01;
const LABELS: [&str; 6] = [
    "DS_DIST_NONE",
    "DS_DIST_ALL_NONE",
    "DS_BCAST_INNER",
    "DS_DIST_INNER",
    "DS_DIST_OUTER",
    "DS_DIST_BOTH",
];
/// Every join distribution strategy shows up across the 22 plans: co-location (orders and
/// lineitem on the order key), the replicated dimensions, broadcasts of small filtered sides,
/// and redistributions of one or both sides joined off their distkeys.
const EXPECTED_LABELS: [&str; 6] = LABELS;

fn days(date: &str) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    (NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap() - epoch).num_days() as i32
}

fn column<'b>(batch: &'b RecordBatch, name: &str) -> &'b arrow::array::ArrayRef {
    batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"))
}

/// Q1's count_order per (returnflag, linestatus), counted from the generated rows.
fn q1_counts(lineitem: &Table) -> BTreeMap<(String, String), i64> {
    let cutoff = days("1998-09-02");
    let mut counts = BTreeMap::new();
    for batch in &lineitem.batches {
        let flag = column(batch, "l_returnflag").as_string::<i32>();
        let status = column(batch, "l_linestatus").as_string::<i32>();
        let shipped = column(batch, "l_shipdate").as_primitive::<Date32Type>();
        for row in (0..batch.num_rows()).filter(|&r| shipped.value(r) <= cutoff) {
            *counts.entry((flag.value(row).to_string(), status.value(row).to_string())).or_insert(0) += 1;
        }
    }
    counts
}

/// Q6's revenue from the generated rows, exactly: prices and discounts are cents, so the sum of
/// their products is in units of 10^-4.
fn q6_revenue(lineitem: &Table) -> String {
    let (from, to) = (days("1994-01-01"), days("1995-01-01"));
    let mut revenue: i128 = 0;
    for batch in &lineitem.batches {
        let shipped = column(batch, "l_shipdate").as_primitive::<Date32Type>();
        let discount = column(batch, "l_discount").as_primitive::<Decimal128Type>();
        let quantity = column(batch, "l_quantity").as_primitive::<Decimal128Type>();
        let price = column(batch, "l_extendedprice").as_primitive::<Decimal128Type>();
        for row in 0..batch.num_rows() {
            let d = discount.value(row);
            if (from..to).contains(&shipped.value(row)) && (5..=7).contains(&d) && quantity.value(row) < 2_400 {
                revenue += price.value(row) * d;
            }
        }
    }
    format!("{}.{:04}", revenue / 10_000, revenue % 10_000)
}

fn hand_checked(tables: &[Table], answers: &BTreeMap<String, Rows>) {
    let lineitem = table(tables, "lineitem");
    let q1: BTreeMap<(String, String), i64> = answers["q01"]
        .iter()
        .map(|r| {
            let text = |i: usize| r[i].clone().expect("not null");
            ((text(0), text(1)), text(9).parse().expect("a count"))
        })
        .collect();
    assert_eq!(q1, q1_counts(lineitem), "Q1 count_order per group");
    assert_eq!(q1.len(), 4, "Q1 has the groups A/F, N/F, N/O, R/F");

    let q6 = answers["q06"][0][0].clone().expect("Q6 revenue");
    assert!(compare(&vec![vec![Some(q6.clone())]], &vec![vec![Some(q6_revenue(lineitem))]]).is_ok(), "Q6 revenue {q6}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tpch_answers_match_a_single_node_plan() {
    let tables = generate(SCALE_FACTOR);
    let dir = tempfile::tempdir().unwrap();
    let cluster = ProcessCluster::start(dir.path(), 2, 2);
    let client = connect(cluster.leader.port).await.expect("connects");
    let load_time = create_and_load(cluster.leader.port, &dir.path().join("leader").join("s3"), &tables).await;
    eprintln!("loaded {} rows in {load_time:?}", tables.iter().map(Table::rows).sum::<usize>());
    for t in &tables {
        let count: i64 = client.query_one(&format!("SELECT count(*) FROM {}", t.name), &[]).await.unwrap().get(0);
        assert_eq!(count as usize, t.rows(), "rows in {}", t.name);
    }

    let ctx = reference_session(&tables);
    let mut answers = BTreeMap::new();
    let mut failures = Vec::new();
    let mut labels = BTreeSet::new();
    for (name, sql) in queries() {
        let expected = reference(&ctx, &sql).await.unwrap_or_else(|e| panic!("{name} on DataFusion: {e}"));
        match blueshift(&client, &sql).await {
            Ok(actual) => match compare(&actual, &expected) {
                Ok(()) => {
                    answers.insert(name.clone(), actual);
                }
                Err(difference) => failures.push(format!("{name}: {difference}")),
            },
            Err(e) => failures.push(format!("{name}: {e:?}")),
        }
        let plan = explain(&client, &format!("EXPLAIN {sql}")).await;
        labels.extend(LABELS.into_iter().filter(|l| plan.contains(l)));
    }
    assert!(failures.is_empty(), "wrong answers:\n{}", failures.join("\n"));
    hand_checked(&tables, &answers);
    eprintln!("join distribution labels across the 22 plans: {labels:?}");
    assert_eq!(labels, BTreeSet::from(EXPECTED_LABELS), "labels in the 22 plans");
}
