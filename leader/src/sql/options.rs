//! Reading Redshift's option-list statements (COPY, UNLOAD) over sqlparser's tokenizer: sqlparser
//! parses PostgreSQL's forms of these statements, not Redshift's, so their handlers walk the tokens
//! themselves with these helpers. The authorization clauses, shared by every statement that reaches
//! S3, are read here too.

use blueshift_compute::s3::S3Credentials;
use sqlparser::ast::Ident;
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

pub struct Tokens {
    tokens: Vec<Token>,
    at: usize,
    /// The statement's name, for error messages.
    statement: &'static str,
}

impl Tokens {
    /// `sql`'s tokens without whitespace and comments.
    pub fn new(sql: &str, statement: &'static str) -> Result<Tokens> {
        let tokens = Tokenizer::new(&RedshiftSqlDialect {}, sql)
            .tokenize()
            .map_err(|e| Error::syntax(e.to_string()))?
            .into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .collect();
        Ok(Tokens { tokens, at: 0, statement })
    }

    pub fn peek(&self) -> &Token {
        self.tokens.get(self.at).unwrap_or(&Token::EOF)
    }

    pub fn next(&mut self) -> Token {
        let token = self.peek().clone();
        self.at += 1;
        token
    }

    /// Consumes the next token if it is the keyword `word`.
    pub fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    pub fn expect_keyword(&mut self, word: &str) -> Result<()> {
        if self.keyword(word) { Ok(()) } else { Err(self.unexpected(word)) }
    }

    pub fn expect(&mut self, token: Token, wanted: &str) -> Result<()> {
        if *self.peek() == token {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    /// A syntax error at the next token.
    pub fn unexpected(&self, wanted: &str) -> Error {
        Error::syntax(format!(
            "syntax error at or near \"{}\" in {}: expected {wanted}",
            self.peek(),
            self.statement
        ))
    }

    /// A syntax error at the token just consumed.
    pub fn unexpected_previous(&mut self, wanted: &str) -> Error {
        self.at = self.at.saturating_sub(1);
        self.unexpected(wanted)
    }

    /// `[AS] 'text'`.
    pub fn string(&mut self, what: &str) -> Result<String> {
        self.keyword("AS");
        match self.next() {
            Token::SingleQuotedString(s) => Ok(s),
            _ => Err(self.unexpected_previous(&format!("a quoted {what}"))),
        }
    }

    /// `[AS] n` or `[AS] 'n'`.
    pub fn number(&mut self, what: &str) -> Result<u64> {
        self.keyword("AS");
        let statement = self.statement;
        let invalid = |n: &str| Error::syntax(format!("invalid {what} '{n}' in {statement}"));
        match self.next() {
            Token::Number(n, _) | Token::SingleQuotedString(n) => n.parse().map_err(|_| invalid(&n)),
            _ => Err(self.unexpected_previous(what)),
        }
    }

    pub fn identifier(&mut self) -> Result<Ident> {
        match self.next() {
            Token::Word(w) => Ok(match w.quote_style {
                Some(quote) => Ident::with_quote(quote, w.value),
                None => Ident::new(w.value),
            }),
            _ => Err(self.unexpected_previous("a name")),
        }
    }

    /// A single-character option value (DELIMITER, QUOTE, ACCEPTINVCHARS); `'\t'` is a tab.
    pub fn character(&mut self, what: &str) -> Result<u8> {
        let value = self.string(what)?;
        match value.as_bytes() {
            [c] => Ok(*c),
            b"\\t" => Ok(b'\t'),
            _ => Err(Error::syntax(format!("{what} must be a single ASCII character, not '{value}'"))),
        }
    }
}

/// Reads the authorization or REGION clause that starts with the keyword `name` (already
/// consumed); `false` if `name` starts none. IAM roles are not assumed: like IAM_ROLE, a role in
/// CREDENTIALS uses the process's configured credentials.
pub fn authorization(t: &mut Tokens, name: &str, credentials: &mut S3Credentials) -> Result<bool> {
    match name {
        "IAM_ROLE" => {
            if !t.keyword("DEFAULT") {
                t.string("IAM role ARN")?;
            }
        }
        "ACCESS_KEY_ID" => credentials.access_key_id = Some(t.string("access key id")?),
        "SECRET_ACCESS_KEY" => credentials.secret_access_key = Some(t.string("secret access key")?),
        "SESSION_TOKEN" => credentials.session_token = Some(t.string("session token")?),
        "CREDENTIALS" | "WITH_CREDENTIALS" => credentials_string(&t.string("credentials string")?, credentials)?,
        "REGION" => credentials.region = Some(t.string("region")?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// `'aws_access_key_id=..;aws_secret_access_key=..[;token=..]'` or `'aws_iam_role=arn:...'`.
fn credentials_string(text: &str, credentials: &mut S3Credentials) -> Result<()> {
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| Error::syntax(format!("invalid CREDENTIALS element '{part}': expected key=value")))?;
        match key.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => credentials.access_key_id = Some(value.trim().into()),
            "aws_secret_access_key" => credentials.secret_access_key = Some(value.trim().into()),
            "token" => credentials.session_token = Some(value.trim().into()),
            "aws_iam_role" => {}
            other => return Err(Error::syntax(format!("unknown CREDENTIALS element '{other}'"))),
        }
    }
    Ok(())
}
