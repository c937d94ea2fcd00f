//! What a finished load leaves in the system tables: its rejected rows in STL_LOAD_ERRORS (and
//! SYS_LOAD_ERROR_DETAIL) with the fields of the first of them in STL_LOADERROR_DETAIL, and, when
//! it stores its rows, the files it read in STL_LOAD_COMMITS and the rows stored with replaced
//! characters in STL_REPLACEMENTS. Also the names those tables give a load's format.

use blueshift_compute::load::TargetColumn;

use super::load::{LoadOutcome, Rejected};
use super::options::FormatOption;
use crate::catalog::TableDef;
use crate::catalog::provider::Services;
use crate::system::load_errors::{self, DetailField, LoadCommit, LoadError, LoadErrorDetail, ReplacedRow};

/// The load being reported.
pub struct LoadRun<'a> {
    pub pid: i32,
    pub query: i64,
    pub xid: u64,
    pub table: &'a TableDef,
    /// The columns the load filled, in file order.
    pub columns: &'a [TargetColumn],
}

/// Records `outcome`; `stored` says whether the load stores its rows (it rejected no more than
/// MAXERROR allows and is not NOLOAD).
pub fn record(services: &Services, run: &LoadRun<'_>, format: &FormatOption, stored: bool, outcome: &LoadOutcome) {
    for rejected in &outcome.rejected {
        load_errors::record(services, error_row(run, rejected));
        if !rejected.error.fields.is_empty() {
            load_errors::record_detail(services, detail_row(run, rejected));
        }
    }
    if !stored {
        return;
    }
    for scanned in &outcome.scanned {
        let commit = LoadCommit {
            pid: run.pid,
            query: run.query,
            table: run.table.name.clone(),
            filename: scanned.origin.filename.clone(),
            lines_scanned: scanned.records as i64,
            errors: scanned.rejected as i64,
            file_format: commit_format(format),
            is_partial: scanned.origin.is_partial,
            start_offset: scanned.origin.start_offset as i64,
        };
        load_errors::record_commit(services, commit);
    }
    for replaced in &outcome.replaced {
        let replacement = &replaced.replacement;
        let row = ReplacedRow {
            table_oid: run.table.oid,
            pid: run.pid,
            query: run.query,
            filename: replaced.origin.filename.clone(),
            line_number: replacement.line as i64,
            colname: replacement.colname.clone(),
            raw_line: replacement.raw_line.clone(),
        };
        load_errors::record_replacement(services, row);
    }
}

/// SYS_LOAD_HISTORY's name for a format.
pub fn history_format(format: &FormatOption) -> &'static str {
    match format {
        FormatOption::Csv { .. } => "csv",
        FormatOption::Json(_) => "json",
        FormatOption::Parquet => "parquet",
        FormatOption::Delimited | FormatOption::FixedWidth(_) => "txt",
    }
}

/// STL_LOAD_COMMITS' name for a format.
fn commit_format(format: &FormatOption) -> &'static str {
    match format {
        FormatOption::Json(_) => "JSON",
        FormatOption::Parquet => "Parquet",
        FormatOption::Delimited | FormatOption::Csv { .. } | FormatOption::FixedWidth(_) => "Text",
    }
}

fn error_row(run: &LoadRun<'_>, rejected: &Rejected) -> LoadError {
    let e = &rejected.error;
    LoadError {
        slice: 0,
        table_oid: run.table.oid,
        pid: run.pid,
        query: run.query,
        xid: run.xid,
        filename: rejected.origin.filename.clone(),
        line_number: e.line as i64,
        colname: e.colname.clone(),
        column_type: e.column_type.clone(),
        col_length: e.col_length.clone(),
        position: e.position as i32,
        raw_line: e.raw_line.clone(),
        raw_field_value: e.raw_field_value.clone(),
        err_code: e.err_code,
        err_reason: e.err_reason.clone(),
        is_partial: rejected.origin.is_partial,
        start_offset: rejected.origin.start_offset as i64,
    }
}

fn detail_row(run: &LoadRun<'_>, rejected: &Rejected) -> LoadErrorDetail {
    let fields = rejected.error.fields.iter().zip(run.columns).map(|(field, column)| DetailField {
        colname: column.name.clone(),
        value: field.value.clone(),
        is_null: field.is_null,
        column_type: column.kind.type_name().to_string(),
        col_length: column.kind.length(),
    });
    LoadErrorDetail {
        pid: run.pid,
        query: run.query,
        filename: rejected.origin.filename.clone(),
        line_number: rejected.error.line as i64,
        fields: fields.collect(),
    }
}
