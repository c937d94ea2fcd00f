//! The memory allocator of every program built on the leader (the `blueshift` binary, the
//! benchmarks, the tests): mimalloc, tuned for loads and scans that allocate and free many large
//! Arrow buffers.
//!
//! - **Not glibc's malloc**: it hands large buffers back to the kernel and takes fresh zeroed pages
//!   for the next one, which cost a third of a COPY's CPU time in system time (TPC-H SF1
//!   lineitem: 17.7 s system of 70 s).
//! - **No transparent huge pages** (mimalloc's `no_thp`): with them, each touch of memory it had
//!   returned to the kernel faulted in and zeroed a whole 2 MB page, 55% of a CSV load's samples
//!   (7.2 s of system time in a 9 s load; 2.2 s without).
//! - **Freed memory is kept for [`PURGE_DELAY_MS`]** before it goes back to the kernel (mimalloc's
//!   default is one second), so a load's next segment reuses the last one's pages instead of
//!   faulting in new ones, and an idle server still returns its memory soon after.

use std::sync::Once;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long freed memory stays with the process. Measured on the lineitem loads against the
/// default second: system time 1.7 → 1.3 s (CSV) and 1.1 → 0.5 s (Parquet).
pub const PURGE_DELAY_MS: i64 = 10_000;

/// `mi_option_purge_delay` in the mimalloc of libmimalloc-sys 0.1.49 (pinned in Cargo.toml):
/// the crate names only mimalloc's stable options, and this one is not among them.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Applies the settings above; servers call it as they start (more than once is harmless).
pub fn configure() {
    static CONFIGURED: Once = Once::new();
    CONFIGURED.call_once(|| {
        // SAFETY: setting an option is a store into mimalloc's option table; `Once` keeps two
        // starting servers from doing it at the same time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS as _) }
    });
}

#[cfg(test)]
mod tests {
    /// The option set is the purge delay: it holds the purge delay's default (one second) or, once a
    /// server in this process has started, ours.
    #[test]
    fn the_option_index_is_the_purge_delay() {
        // SAFETY: reading an option.
        let value = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) } as i64;
        assert!(value == 1000 || value == super::PURGE_DELAY_MS, "option {} is {value}", super::MI_OPTION_PURGE_DELAY);
    }
}
