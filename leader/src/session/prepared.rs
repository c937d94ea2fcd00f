//! The connection's named prepared statements as SQL's `DEALLOCATE` sees them. pgwire keeps the
//! statements themselves (Parse and Close messages); the session keeps their names, so that
//! `DEALLOCATE name` can report an unknown name and `DEALLOCATE ALL` (which psycopg 3 sends after
//! every rollback) can close them all. The protocol layer closes the names handed back by
//! [`PreparedNames::take_closing`] after each statement.

use std::collections::BTreeSet;

use sqlparser::tokenizer::Token;

use crate::error::{Error, Result, SqlState};
use crate::sql::tokenize;

#[derive(Debug, Default)]
pub struct PreparedNames {
    names: BTreeSet<String>,
    closing: Vec<String>,
}

impl PreparedNames {
    /// A Parse message stored a statement under `name` (the unnamed statement is not tracked).
    pub fn parsed(&mut self, name: &str) {
        self.names.insert(name.to_string());
    }

    /// A Close message removed the statement `name`.
    pub fn closed(&mut self, name: &str) {
        self.names.remove(name);
    }

    /// Runs `DEALLOCATE [PREPARE] { name | ALL }`.
    pub fn deallocate(&mut self, text: &str) -> Result<()> {
        let words: Vec<Token> = tokenize(text)?
            .into_iter()
            .map(|t| t.token)
            .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF | Token::SemiColon))
            .collect();
        let name = |token: &Token| match token {
            Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
            Token::Word(w) => Some(w.value.to_lowercase()),
            _ => None,
        };
        let mut names = words.iter().skip(1).map(name);
        let mut target = names.next().flatten();
        if target.as_deref() == Some("prepare") && words.len() == 3 {
            target = names.next().flatten();
        }
        match target {
            Some(all) if all == "all" && words.len() <= 3 => {
                self.closing.extend(std::mem::take(&mut self.names));
                Ok(())
            }
            Some(target) if names.next().is_none() => {
                if !self.names.remove(&target) {
                    return Err(Error::new(
                        SqlState::InvalidSqlStatementName,
                        format!("prepared statement \"{target}\" does not exist"),
                    ));
                }
                self.closing.push(target);
                Ok(())
            }
            _ => Err(Error::syntax(format!("syntax error in \"{text}\""))),
        }
    }

    /// The statements that DEALLOCATE removed since the last call, for the protocol to close.
    pub fn take_closing(&mut self) -> Vec<String> {
        std::mem::take(&mut self.closing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deallocate_one_or_all() {
        let mut names = PreparedNames::default();
        for n in ["_pg3_0", "_pg3_1", "Mixed"] {
            names.parsed(n);
        }
        names.deallocate("DEALLOCATE _pg3_0").unwrap();
        assert_eq!(names.take_closing(), ["_pg3_0"]);
        let missing = names.deallocate("DEALLOCATE PREPARE _pg3_0").unwrap_err();
        assert_eq!(missing.state.code(), "26000");
        names.deallocate("deallocate prepare \"Mixed\"").unwrap();
        assert_eq!(names.take_closing(), ["Mixed"]);
        names.deallocate("DEALLOCATE ALL").unwrap();
        assert_eq!(names.take_closing(), ["_pg3_1"]);
        assert!(names.take_closing().is_empty());
        assert_eq!(names.deallocate("DEALLOCATE a b").unwrap_err().state.code(), "42601");
    }
}
