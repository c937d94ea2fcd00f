//! Routing rows to slices inside a query.
//!
//! A join or aggregation that moves rows between nodes must send each row to the slice where its
//! key lives — the slice the table's stable KEY hash would store it on — so the moved rows meet
//! rows already stored there (Redshift's DS_DIST_INNER / DS_DIST_OUTER). datafusion-distributed
//! moves rows with a hash `RepartitionExec`, which sends a row to partition
//! `datafusion_hash(v) % partitions`. `slice_route(n, key...)` therefore returns, for a row whose
//! key hashes to slice `s` of `n`, a value `v` chosen so that DataFusion's hash sends it to
//! partition `s`: with one partition per slice, the row arrives at its slice. The stored layout
//! never depends on DataFusion's hash; only this transient routing does.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::DataType;
use blueshift_storage::distribution::composite_slices;
use datafusion::common::hash_utils::create_hashes;
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_plan::repartition::REPARTITION_RANDOM_STATE;

pub const SLICE_ROUTE: &str = "slice_route";

/// For each slice of `n`, a value DataFusion's repartition hash sends to that partition of `n`.
fn routing_values(n: usize) -> Result<Arc<Vec<i64>>> {
    static TABLES: LazyLock<Mutex<HashMap<usize, Arc<Vec<i64>>>>> = LazyLock::new(Default::default);
    if let Some(table) = TABLES.lock().unwrap().get(&n) {
        return Ok(Arc::clone(table));
    }
    let mut table = vec![None; n];
    let mut missing = n;
    let mut candidate = 0i64;
    let mut hashes = vec![0u64; 1];
    while missing > 0 {
        if candidate > 1_000_000 * n as i64 {
            return plan_err!("cannot route rows to {n} partitions");
        }
        let value: ArrayRef = Arc::new(Int64Array::from(vec![candidate]));
        hashes[0] = 0;
        create_hashes(&[value], REPARTITION_RANDOM_STATE.random_state(), &mut hashes)?;
        let partition = (hashes[0] % n as u64) as usize;
        if table[partition].is_none() {
            table[partition] = Some(candidate);
            missing -= 1;
        }
        candidate += 1;
    }
    let table = Arc::new(table.into_iter().map(|v| v.expect("filled")).collect::<Vec<_>>());
    TABLES.lock().unwrap().insert(n, Arc::clone(&table));
    Ok(table)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SliceRoute {
    signature: Signature,
}

impl ScalarUDFImpl for SliceRoute {
    fn name(&self) -> &str {
        SLICE_ROUTE
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut args = args.args.into_iter();
        let n = match args.next() {
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(n)))) if n > 0 => n as usize,
            _ => return plan_err!("{SLICE_ROUTE} takes the slice count as its first argument"),
        };
        let keys: Vec<ArrayRef> = args
            .map(|a| a.into_array(rows))
            .collect::<Result<_>>()?;
        let slices = composite_slices(&keys, n as u32).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let table = routing_values(n)?;
        let routed: Int64Array = slices.iter().map(|&s| Some(table[s as usize])).collect();
        Ok(ColumnarValue::Array(Arc::new(routed)))
    }
}

/// The `slice_route` function; registered on the leader and on every worker.
pub fn slice_route() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(SliceRoute {
        signature: Signature::variadic_any(Volatility::Immutable),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;
    use datafusion::config::ConfigOptions;
    use arrow::datatypes::Field;

    #[test]
    fn routed_values_land_on_the_key_slice() {
        let n = 8usize;
        let keys: ArrayRef = Arc::new(Int32Array::from((0..1000).collect::<Vec<i32>>()));
        let result = slice_route()
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![
                    ColumnarValue::Scalar(ScalarValue::Int64(Some(n as i64))),
                    ColumnarValue::Array(Arc::clone(&keys)),
                ],
                arg_fields: vec![
                    Arc::new(Field::new("n", DataType::Int64, false)),
                    Arc::new(Field::new("k", DataType::Int32, false)),
                ],
                number_rows: 1000,
                return_field: Arc::new(Field::new("r", DataType::Int64, false)),
                config_options: Arc::new(ConfigOptions::default()),
            })
            .unwrap()
            .into_array(1000)
            .unwrap();
        let mut hashes = vec![0u64; 1000];
        create_hashes(&[result], REPARTITION_RANDOM_STATE.random_state(), &mut hashes).unwrap();
        let stored = blueshift_storage::distribution::key_slices(&keys, n as u32).unwrap();
        for (hash, slice) in hashes.iter().zip(stored) {
            assert_eq!((hash % n as u64) as u32, slice);
        }
    }
}
