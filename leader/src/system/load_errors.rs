//! Recording load errors for STL_LOAD_ERRORS: COPY calls [`record`] for each row it rejects.

pub use super::query_log::LoadError;
use crate::catalog::provider::Services;

/// Adds a rejected row to STL_LOAD_ERRORS (bounded like the rest of the query log).
pub fn record(services: &Services, error: LoadError) {
    services.log.record_load_error(error);
}
