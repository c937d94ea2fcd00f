//! COPY FROM STDIN (what `psql`'s `\copy` sends): the statement runs twice. The first run checks
//! it and answers CopyIn; the client's CopyData messages are collected on the session; at
//! CopyDone the statement runs again, now with the data, and loads it like one file (in the
//! session's transaction, so it is as atomic as a COPY from S3).

use std::sync::Arc;

use crate::error::{Error, Result, SqlState};
use crate::session::{Outcome, Session, StatementContext, StatementResult};
use crate::sql::StatementText;

/// A COPY FROM STDIN in progress.
#[derive(Debug)]
pub struct CopyIn {
    statement: StatementText,
    data: Vec<u8>,
    /// CopyDone arrived: the next run of the statement loads `data`.
    complete: bool,
}

/// The data of a completed copy-in, for the statement's second run.
pub fn take_data(session: &Session) -> Option<Vec<u8>> {
    let mut copy_in = session.copy_in.lock().unwrap();
    copy_in.take_if(|c| c.complete).map(|c| c.data)
}

/// The statement's first run: ask the client for `columns` columns of text.
pub fn start(ctx: &StatementContext<'_>, columns: usize) -> Result<StatementResult> {
    *ctx.session.copy_in.lock().unwrap() = Some(CopyIn {
        statement: ctx.statement.clone(),
        data: Vec::new(),
        complete: false,
    });
    Ok(StatementResult {
        notices: Vec::new(),
        outcome: Outcome::CopyIn { columns },
    })
}

pub fn receive(session: &Session, data: &[u8]) -> Result<()> {
    let mut copy_in = session.copy_in.lock().unwrap();
    let copy_in = copy_in
        .as_mut()
        .ok_or_else(|| Error::new(SqlState::InvalidTransactionState, "COPY data received without COPY FROM STDIN"))?;
    copy_in.data.extend_from_slice(data);
    Ok(())
}

/// CopyDone: loads the collected data by running the statement again.
pub async fn finish(session: &Arc<Session>) -> Result<StatementResult> {
    let statement = {
        let mut copy_in = session.copy_in.lock().unwrap();
        let copy_in = copy_in
            .as_mut()
            .ok_or_else(|| Error::new(SqlState::InvalidTransactionState, "COPY done without COPY FROM STDIN"))?;
        copy_in.complete = true;
        copy_in.statement.clone()
    };
    let result = session.execute(&statement, None).await;
    session.copy_in.lock().unwrap().take();
    result
}
