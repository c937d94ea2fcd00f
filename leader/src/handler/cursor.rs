//! Cursors: `DECLARE name CURSOR FOR query`, `FETCH [NEXT | FORWARD n | FORWARD ALL | n | ALL]
//! [FROM] name` and `CLOSE name`, inside a transaction block as Redshift requires. As in
//! Redshift, the leader materializes the whole result at DECLARE; FETCH hands it out in pieces,
//! and the cursor closes with its transaction block.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::TryStreamExt;

use super::{Description, done, query};
use crate::error::{Error, Result, SqlState};
use crate::session::{Outcome, Session, StatementContext, StatementResult};
use crate::sql::{StatementText, parse_statement};

/// A declared cursor: its result, consumed from the front.
pub struct Cursor {
    pub schema: SchemaRef,
    pub rows: VecDeque<RecordBatch>,
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(|w| w.trim_end_matches(';').to_string()).collect()
}

fn undefined(name: &str) -> Error {
    Error::new(SqlState::InvalidCursorName, format!("cursor \"{name}\" does not exist"))
}

pub async fn declare(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let text = &ctx.statement.text;
    let upper = text.to_ascii_uppercase();
    let name = words(text).get(1).cloned().unwrap_or_default().to_lowercase();
    let body = upper
        .find(" CURSOR ")
        .and_then(|c| upper[c..].find(" FOR ").map(|f| c + f + 5))
        .ok_or_else(|| Error::syntax("syntax error: expected DECLARE name CURSOR FOR query"))?;
    let statement = parse_statement(&text[body..])?;
    let (state, _) = ctx.state(None);
    let plan = query::plan(&state, statement, ctx.params.clone()).await?;
    let (schema, stream) = query::run(state, plan).await?;
    let rows: VecDeque<RecordBatch> = stream.try_collect::<Vec<_>>().await?.into_iter().collect();
    let mut cursors = ctx.session.cursors.lock().unwrap();
    if cursors.contains_key(&name) {
        return Err(Error::new(SqlState::DuplicateCursor, format!("cursor \"{name}\" already exists")));
    }
    cursors.insert(name, Cursor { schema, rows });
    done(Outcome::command("DECLARE CURSOR"))
}

/// `(count, cursor name)` of a FETCH; `None` count means ALL.
fn fetch_target(statement: &StatementText) -> Result<(Option<usize>, String)> {
    let words = words(&statement.text);
    let name = words.last().cloned().unwrap_or_default().to_lowercase();
    let middle: Vec<String> = words[1..words.len().saturating_sub(1)]
        .iter()
        .map(|w| w.to_ascii_uppercase())
        .filter(|w| w != "FROM" && w != "IN")
        .collect();
    let count = match middle.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["NEXT"] | ["FORWARD"] => Some(1),
        ["ALL"] | ["FORWARD", "ALL"] => None,
        [n] | ["FORWARD", n] => Some(n.parse().map_err(|_| Error::syntax(format!("syntax error at or near \"{n}\"")))?),
        _ => return Err(Error::unsupported("only FETCH NEXT, FORWARD n, FORWARD ALL and ALL are supported")),
    };
    Ok((count, name))
}

pub async fn fetch(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let (count, name) = fetch_target(ctx.statement)?;
    let mut cursors = ctx.session.cursors.lock().unwrap();
    let cursor = cursors.get_mut(&name).ok_or_else(|| undefined(&name))?;
    let mut wanted = count.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    while wanted > 0 {
        let Some(batch) = cursor.rows.pop_front() else { break };
        if batch.num_rows() > wanted {
            out.push(batch.slice(0, wanted));
            cursor.rows.push_front(batch.slice(wanted, batch.num_rows() - wanted));
            wanted = 0;
        } else {
            wanted -= batch.num_rows();
            out.push(batch);
        }
    }
    done(Outcome::rows(Arc::clone(&cursor.schema), out))
}

pub async fn close(ctx: &mut StatementContext<'_>) -> Result<StatementResult> {
    let name = words(&ctx.statement.text).get(1).cloned().unwrap_or_default().to_lowercase();
    let mut cursors = ctx.session.cursors.lock().unwrap();
    if name == "all" {
        cursors.clear();
    } else if cursors.remove(&name).is_none() {
        return Err(undefined(&name));
    }
    done(Outcome::command("CLOSE CURSOR"))
}

/// FETCH's result columns, for the extended protocol's Describe.
pub fn describe(session: &Session, statement: &StatementText) -> Result<Description> {
    let (_, name) = fetch_target(statement)?;
    let cursors = session.cursors.lock().unwrap();
    let cursor = cursors.get(&name).ok_or_else(|| undefined(&name))?;
    Ok(Description {
        params: vec![],
        schema: Some(Arc::clone(&cursor.schema)),
    })
}
