//! Redshift's table attributes in CREATE TABLE: `BACKUP`, `DISTSTYLE`, `DISTKEY(c)`,
//! `[COMPOUND | INTERLEAVED] SORTKEY(c, ...)`, `SORTKEY AUTO` and `ENCODE AUTO`.
//!
//! Redshift accepts them in any order, after the column list (or after the table name in CREATE
//! TABLE AS); sqlparser only knows a fixed order and no COMPOUND, INTERLEAVED or AUTO. So they are
//! read here from the token stream and cut out of the text before sqlparser sees it.

use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::{Locator, tokenize};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableAttributes {
    pub backup: Option<bool>,
    /// Upper-cased: AUTO, EVEN, KEY or ALL.
    pub dist_style: Option<String>,
    pub dist_key: Option<String>,
    /// Upper-cased COMPOUND or INTERLEAVED when given.
    pub sort_kind: Option<String>,
    pub sort_key: Vec<String>,
    pub sort_key_auto: bool,
    pub encode_auto: bool,
    /// `CREATE TABLE t (a, b) AS ...`: the column names of a CREATE TABLE AS.
    pub column_names: Vec<String>,
}

fn is_trivia(t: &TokenWithSpan) -> bool {
    matches!(t.token, Token::Whitespace(_))
}

fn word(t: &TokenWithSpan) -> Option<String> {
    match &t.token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn ident(t: &TokenWithSpan) -> Option<String> {
    match &t.token {
        Token::Word(w) => Some(w.value.to_lowercase()),
        _ => None,
    }
}

/// A cursor over the significant tokens of a statement.
struct Cursor<'a> {
    tokens: &'a [TokenWithSpan],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_trivia(&mut self) {
        while self.pos < self.tokens.len() && is_trivia(&self.tokens[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<&'a TokenWithSpan> {
        self.skip_trivia();
        self.tokens.get(self.pos).filter(|t| !matches!(t.token, Token::EOF))
    }

    fn next(&mut self) -> Option<&'a TokenWithSpan> {
        let t = self.peek()?;
        self.pos += 1;
        Some(t)
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<()> {
        match self.next() {
            Some(t) if t.token == token => Ok(()),
            other => Err(Error::syntax(format!(
                "syntax error at or near \"{}\": expected {what}",
                other.map(|t| t.token.to_string()).unwrap_or_default()
            ))),
        }
    }

    fn ident_list(&mut self) -> Result<Vec<String>> {
        self.expect(Token::LParen, "(")?;
        let mut names = Vec::new();
        loop {
            let name = self
                .next()
                .and_then(ident)
                .ok_or_else(|| Error::syntax("syntax error: expected a column name"))?;
            names.push(name);
            match self.next().map(|t| &t.token) {
                Some(Token::Comma) => continue,
                Some(Token::RParen) => return Ok(names),
                _ => return Err(Error::syntax("syntax error: expected , or )")),
            }
        }
    }
}

/// Splits a CREATE TABLE statement into its text without Redshift table attributes, and the
/// attributes.
pub fn extract(text: &str) -> Result<(String, TableAttributes)> {
    let tokens = tokenize(text)?;
    let locator = std::cell::RefCell::new(Locator::new(text));
    let offset_of = |t: &TokenWithSpan| locator.borrow_mut().offset(t.span.start.line, t.span.start.column);
    let mut cursor = Cursor {
        tokens: &tokens,
        pos: 0,
    };
    // Skip to the table name: CREATE [LOCAL] [TEMP|TEMPORARY] TABLE [IF NOT EXISTS] name.
    while let Some(t) = cursor.next() {
        if word(t).as_deref() == Some("TABLE") {
            break;
        }
    }
    if cursor.peek().and_then(word).as_deref() == Some("IF") {
        cursor.next();
        cursor.next();
        cursor.next();
    }
    // The (possibly qualified) name.
    cursor.next();
    while cursor.peek().is_some_and(|t| t.token == Token::Period) {
        cursor.next();
        cursor.next();
    }
    // A CREATE TABLE AS column name list is a bare list of names: take it out for the handler.
    let names_start = cursor.peek().map(offset_of);
    let saved = cursor.pos;
    let mut column_names = Vec::new();
    if cursor.peek().is_some_and(|t| t.token == Token::LParen) {
        column_names = cursor.ident_list().unwrap_or_default();
        if column_names.is_empty() {
            cursor.pos = saved;
        }
    }
    let names_end = cursor.peek().map(offset_of);
    // The column list, if any.
    if column_names.is_empty() && cursor.peek().is_some_and(|t| t.token == Token::LParen) {
        let mut depth = 0;
        while let Some(t) = cursor.next() {
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let mut attributes = TableAttributes {
        column_names,
        ..TableAttributes::default()
    };
    let attributes_start = cursor.peek().map(offset_of);
    let mut attributes_end = attributes_start;
    loop {
        let Some(keyword) = cursor.peek().and_then(word) else {
            break;
        };
        match keyword.as_str() {
            "BACKUP" => {
                cursor.next();
                attributes.backup = match cursor.next().and_then(word).as_deref() {
                    Some("YES") => Some(true),
                    Some("NO") => Some(false),
                    _ => return Err(Error::syntax("syntax error: BACKUP must be YES or NO")),
                };
            }
            "DISTSTYLE" => {
                cursor.next();
                let style = cursor.next().and_then(word).unwrap_or_default();
                if !["AUTO", "EVEN", "KEY", "ALL"].contains(&style.as_str()) {
                    return Err(Error::syntax(format!(
                        "syntax error at or near \"{style}\": DISTSTYLE must be AUTO, EVEN, KEY or ALL"
                    )));
                }
                attributes.dist_style = Some(style);
            }
            "DISTKEY" => {
                cursor.next();
                let mut key = cursor.ident_list()?;
                if key.len() != 1 {
                    return Err(Error::syntax("DISTKEY takes exactly one column"));
                }
                attributes.dist_key = key.pop();
            }
            "COMPOUND" | "INTERLEAVED" => {
                cursor.next();
                if cursor.next().and_then(word).as_deref() != Some("SORTKEY") {
                    return Err(Error::syntax(format!("syntax error: expected SORTKEY after {keyword}")));
                }
                attributes.sort_kind = Some(keyword);
                attributes.sort_key = cursor.ident_list()?;
            }
            "SORTKEY" => {
                cursor.next();
                if cursor.peek().and_then(word).as_deref() == Some("AUTO") {
                    cursor.next();
                    attributes.sort_key_auto = true;
                } else {
                    attributes.sort_key = cursor.ident_list()?;
                }
            }
            "ENCODE" => {
                cursor.next();
                if cursor.next().and_then(word).as_deref() != Some("AUTO") {
                    return Err(Error::syntax("syntax error: expected AUTO after ENCODE"));
                }
                attributes.encode_auto = true;
            }
            _ => break,
        }
        attributes_end = Some(cursor.peek().map(offset_of).unwrap_or(text.len()));
    }
    let mut remaining = match (attributes_start, attributes_end) {
        (Some(start), Some(end)) if end > start => {
            format!("{} {}", text[..start].trim_end(), text[end..].trim_start())
        }
        _ => text.to_string(),
    };
    if !attributes.column_names.is_empty()
        && let (Some(start), Some(end)) = (names_start, names_end)
    {
        // The names precede the attributes, so cutting them from the front keeps offsets valid.
        remaining = format!("{} {}", text[..start].trim_end(), remaining[end..].trim_start());
    }
    Ok((remaining.trim().to_string(), attributes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_in_any_order() {
        let (sql, a) = extract(
            "CREATE TABLE s.t (a int, b varchar(10), primary key (a)) SORTKEY(b, a) DISTSTYLE KEY BACKUP NO DISTKEY(a) ENCODE AUTO",
        )
        .unwrap();
        assert_eq!(sql, "CREATE TABLE s.t (a int, b varchar(10), primary key (a))");
        assert_eq!(a.dist_style.as_deref(), Some("KEY"));
        assert_eq!(a.dist_key.as_deref(), Some("a"));
        assert_eq!(a.sort_key, vec!["b", "a"]);
        assert_eq!(a.backup, Some(false));
        assert!(a.encode_auto);

        let (sql, a) = extract("create temp table x interleaved sortkey(c) diststyle all as select 1 as c").unwrap();
        assert_eq!(sql, "create temp table x as select 1 as c");
        assert_eq!(a.sort_kind.as_deref(), Some("INTERLEAVED"));
        assert_eq!(a.dist_style.as_deref(), Some("ALL"));

        let (_, a) = extract("create table if not exists y (c int) sortkey auto").unwrap();
        assert!(a.sort_key_auto);
        assert!(extract("create table z (c int) diststyle random").is_err());
    }
}
