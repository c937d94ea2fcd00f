//! Recording what loads report about rows: COPY calls [`record`] for each row it rejects
//! (STL_LOAD_ERRORS), [`record_detail`] for the fields of the first of them
//! (STL_LOADERROR_DETAIL), [`record_commit`] for each file whose rows it stored
//! (STL_LOAD_COMMITS), and [`record_replacement`] for each row it stored with invalid UTF-8
//! replaced (STL_REPLACEMENTS).

pub use super::query_log::{DetailField, LoadCommit, LoadError, LoadErrorDetail, ReplacedRow};
use crate::catalog::provider::Services;

/// Adds a rejected row to STL_LOAD_ERRORS (bounded like the rest of the query log).
pub fn record(services: &Services, error: LoadError) {
    services.log.record_load_error(error);
}

/// Adds the fields of a rejected row to STL_LOADERROR_DETAIL (bounded likewise).
pub fn record_detail(services: &Services, detail: LoadErrorDetail) {
    services.log.record_load_error_detail(detail);
}

/// Adds a file whose rows were stored to STL_LOAD_COMMITS (bounded likewise).
pub fn record_commit(services: &Services, commit: LoadCommit) {
    services.log.record_load_commit(commit);
}

/// Adds a row stored with replaced characters to STL_REPLACEMENTS (bounded likewise).
pub fn record_replacement(services: &Services, row: ReplacedRow) {
    services.log.record_replacement(row);
}
