//! SYS_LOAD_ERROR_DETAIL: the rows loads could not store, as STL_LOAD_ERRORS has them, with the
//! columns of Redshift's newer SYS view (query and transaction ids, database, error message).

use super::pg_catalog::relations::SUPERUSER_ID;
use super::stl_query::time;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, char_n, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct SysLoadErrorDetail;

impl CatalogTable for SysLoadErrorDetail {
    const NAME: &'static str = "sys_load_error_detail";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("user_id", INT4),
        ("query_id", INT8),
        ("transaction_id", INT8),
        ("session_id", INT4),
        ("database_name", TEXT),
        ("table_id", INT4),
        ("start_time", TIMESTAMP),
        ("file_name", TEXT),
        ("line_number", INT8),
        ("column_name", TEXT),
        ("column_type", TEXT),
        ("column_length", TEXT),
        ("position", INT4),
        ("error_code", INT4),
        ("error_message", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for (at, e) in ctx.log.load_errors() {
            rows.push(vec![
                int(SUPERUSER_ID.into()),
                int(e.query),
                int(e.xid as i64),
                int(e.pid.into()),
                text(crate::catalog::DATABASE),
                int(e.table_oid.into()),
                time(Some(at)),
                char_n(&e.filename, 256),
                int(e.line_number),
                char_n(&e.colname, 127),
                char_n(&e.column_type, 10),
                char_n(&e.col_length, 10),
                int(e.position.into()),
                int(e.err_code.into()),
                char_n(&e.err_reason, 512),
            ]);
        }
    }
}
