//! The stable hash that places a DISTSTYLE KEY row on its slice.
//!
//! The hash is part of the on-disk layout — a row's slice is decided by it once and for all — so it
//! is defined here, independent of any library's hasher, and must never change. Values that compare
//! equal across integer widths (an INT 7 and a BIGINT 7) hash equally, so tables whose distkeys
//! have different integer types still co-locate their matching rows.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};

use crate::error::{Result, StorageError};

const NULL_HASH: u64 = 0x9e37_79b9_7f4a_7c15;

fn mix64(mut z: u64) -> u64 {
    // splitmix64's finalizer: a well-distributed bijection on u64.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    // FNV-1a, then mixed so short keys spread over all bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(h)
}

fn hash_i64(v: i64) -> u64 {
    mix64(v as u64)
}

fn hash_i128(v: i128) -> u64 {
    match i64::try_from(v) {
        Ok(small) => hash_i64(small),
        Err(_) => mix64((v as u64) ^ mix64((v >> 64) as u64)),
    }
}

fn hash_f64(v: f64) -> u64 {
    // -0.0 == 0.0 and every NaN is one value for grouping purposes.
    let normalized = if v == 0.0 {
        0.0f64
    } else if v.is_nan() {
        f64::NAN
    } else {
        v
    };
    mix64(normalized.to_bits())
}

fn hash_all(values: impl Iterator<Item = Option<u64>>) -> Vec<u64> {
    values.map(|h| h.unwrap_or(NULL_HASH)).collect()
}

fn hash_strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Vec<u64> {
    hash_all(values.map(|v| v.map(|s| hash_bytes(s.as_bytes()))))
}

/// Hashes every value of `column`; NULLs hash to a fixed value.
pub fn hash_values(column: &ArrayRef) -> Result<Vec<u64>> {
    macro_rules! primitive {
        ($t:ty, $f:expr) => {{
            let a = column.as_primitive::<$t>();
            (0..a.len())
                .map(|i| if a.is_null(i) { NULL_HASH } else { $f(a.value(i)) })
                .collect()
        }};
    }
    let hashes = match column.data_type() {
        DataType::Int8 => primitive!(Int8Type, |v: i8| hash_i64(v.into())),
        DataType::Int16 => primitive!(Int16Type, |v: i16| hash_i64(v.into())),
        DataType::Int32 => primitive!(Int32Type, |v: i32| hash_i64(v.into())),
        DataType::Int64 => primitive!(Int64Type, hash_i64),
        DataType::UInt8 => primitive!(UInt8Type, |v: u8| hash_i64(v.into())),
        DataType::UInt16 => primitive!(UInt16Type, |v: u16| hash_i64(v.into())),
        DataType::UInt32 => primitive!(UInt32Type, |v: u32| hash_i64(v.into())),
        DataType::UInt64 => primitive!(UInt64Type, |v: u64| hash_i128(v.into())),
        DataType::Float32 => primitive!(Float32Type, |v: f32| hash_f64(v.into())),
        DataType::Float64 => primitive!(Float64Type, hash_f64),
        DataType::Decimal128(_, _) => primitive!(Decimal128Type, hash_i128),
        DataType::Date32 => primitive!(Date32Type, |v: i32| hash_i64(v.into())),
        DataType::Time64(TimeUnit::Microsecond) => primitive!(Time64MicrosecondType, hash_i64),
        DataType::Timestamp(TimeUnit::Second, _) => primitive!(TimestampSecondType, hash_i64),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            primitive!(TimestampMillisecondType, hash_i64)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive!(TimestampMicrosecondType, hash_i64)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            primitive!(TimestampNanosecondType, hash_i64)
        }
        DataType::Boolean => hash_all(column.as_boolean().iter().map(|v| v.map(|b| hash_i64(b.into())))),
        DataType::Utf8 => hash_strings(column.as_string::<i32>().iter()),
        DataType::LargeUtf8 => hash_strings(column.as_string::<i64>().iter()),
        DataType::Utf8View => hash_strings(column.as_string_view().iter()),
        other => {
            return Err(StorageError::Corrupt {
                path: Default::default(),
                reason: format!("type {other} cannot be a distribution key"),
            });
        }
    };
    Ok(hashes)
}

/// The slice (0-based, out of `slice_count`) that each row of a KEY-distributed table belongs to.
pub fn key_slices(column: &ArrayRef, slice_count: u32) -> Result<Vec<u32>> {
    Ok(hash_values(column)?
        .into_iter()
        .map(|h| (h % u64::from(slice_count)) as u32)
        .collect())
}

/// The slice of each row for a composite key: the stable hash of every column, combined. With one
/// column this is [`key_slices`].
pub fn composite_slices(columns: &[ArrayRef], slice_count: u32) -> Result<Vec<u32>> {
    let Some((first, rest)) = columns.split_first() else {
        return Ok(Vec::new());
    };
    let mut hashes = hash_values(first)?;
    for column in rest {
        for (h, other) in hashes.iter_mut().zip(hash_values(column)?) {
            *h = mix64(h.rotate_left(5) ^ other);
        }
    }
    Ok(hashes
        .into_iter()
        .map(|h| (h % u64::from(slice_count)) as u32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn integer_widths_hash_alike_and_layout_is_stable() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(7), None, Some(-1)]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![Some(7), None, Some(-1)]));
        assert_eq!(hash_values(&a).unwrap(), hash_values(&b).unwrap());
        // Pinned values: changing the hash would silently misplace every stored KEY row.
        assert_eq!(key_slices(&b, 4).unwrap(), vec![0, 1, 3]);
        let s: ArrayRef = Arc::new(StringArray::from(vec!["alpha", "beta"]));
        assert_eq!(key_slices(&s, 4).unwrap(), vec![0, 0]);
    }
}
