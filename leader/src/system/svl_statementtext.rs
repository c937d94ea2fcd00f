//! SVL_STATEMENTTEXT: the text of every statement (queries, DDL and utility statements), in
//! 200-character pieces numbered by `sequence`, as Redshift stores it.

use super::pg_catalog::relations::user_id;
use super::stl_query::time;
use crate::system::rows::{INT4, INT8, Rows, TEXT, TIMESTAMP, int, text};
use crate::system::{CatalogTable, SystemContext};

pub struct SvlStatementText;

const PIECE: usize = 200;

impl CatalogTable for SvlStatementText {
    const NAME: &'static str = "svl_statementtext";
    const COLUMNS: &'static [(&'static str, arrow::datatypes::DataType)] = &[
        ("userid", INT4),
        ("xid", INT8),
        ("pid", INT4),
        ("label", TEXT),
        ("starttime", TIMESTAMP),
        ("endtime", TIMESTAMP),
        ("sequence", INT4),
        ("type", TEXT),
        ("text", TEXT),
    ];

    fn fill(ctx: &SystemContext<'_>, rows: &mut Rows) {
        for q in ctx.log.finished() {
            let chars: Vec<char> = q.text.chars().collect();
            for (sequence, piece) in chars.chunks(PIECE).enumerate() {
                rows.push(vec![
                    int(user_id(&q.user).into()),
                    int(q.xid as i64),
                    int(q.pid.into()),
                    text(&q.label),
                    time(Some(q.start)),
                    time(q.end),
                    int(sequence as i64),
                    text(q.kind()),
                    text(piece.iter().collect::<String>()),
                ]);
            }
        }
    }
}
