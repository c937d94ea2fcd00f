//! The COPY statement's grammar: `COPY table [(columns)] FROM 's3://...' | STDIN [WITH] option...`
//! with Redshift's options (authorization, format, compression, conversion and error handling).
//! sqlparser's COPY covers PostgreSQL's, not Redshift's, so this reads sqlparser's tokens itself.

use blueshift_compute::load::{Compression, JsonMode, Options};
use blueshift_compute::s3::S3Credentials;
use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    S3(String),
    Stdin,
}

/// The file format named by the options, before JSONPaths files are read.
#[derive(Debug, Clone, PartialEq)]
pub enum FormatOption {
    Delimited,
    Csv { quote: u8 },
    FixedWidth(String),
    Json(JsonOption),
    Parquet,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonOption {
    Mode(JsonMode),
    /// `s3://` location of a JSONPaths file.
    PathsFile(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CopyStatement {
    pub table: ObjectName,
    pub columns: Vec<String>,
    pub source: Source,
    pub manifest: bool,
    pub credentials: S3Credentials,
    pub format: FormatOption,
    pub compression: Option<Compression>,
    pub options: Options,
    pub max_errors: u64,
    pub no_load: bool,
    pub explicit_ids: bool,
}

struct Tokens {
    tokens: Vec<Token>,
    at: usize,
}

impl Tokens {
    fn peek(&self) -> &Token {
        self.tokens.get(self.at).unwrap_or(&Token::EOF)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        self.at += 1;
        token
    }

    /// The next token if it is the keyword `word`.
    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<()> {
        if self.keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected(word))
        }
    }

    fn unexpected(&self, wanted: &str) -> Error {
        Error::syntax(format!("syntax error at or near \"{}\" in COPY: expected {wanted}", self.peek()))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        self.keyword("AS");
        match self.next() {
            Token::SingleQuotedString(s) => Ok(s),
            _ => {
                self.at -= 1;
                Err(self.unexpected(&format!("a quoted {what}")))
            }
        }
    }

    fn number(&mut self, what: &str) -> Result<u64> {
        self.keyword("AS");
        match self.next() {
            Token::Number(n, _) => n.parse().map_err(|_| Error::syntax(format!("invalid {what} '{n}' in COPY"))),
            Token::SingleQuotedString(n) => n.parse().map_err(|_| Error::syntax(format!("invalid {what} '{n}' in COPY"))),
            _ => {
                self.at -= 1;
                Err(self.unexpected(what))
            }
        }
    }

    fn identifier(&mut self) -> Result<Ident> {
        match self.next() {
            Token::Word(w) => Ok(match w.quote_style {
                Some(quote) => Ident::with_quote(quote, w.value),
                None => Ident::new(w.value),
            }),
            _ => {
                self.at -= 1;
                Err(self.unexpected("a name"))
            }
        }
    }

    /// A single character option value (DELIMITER, QUOTE, ACCEPTINVCHARS).
    fn character(&mut self, what: &str) -> Result<u8> {
        let value = self.string(what)?;
        match value.as_bytes() {
            [c] => Ok(*c),
            b"\\t" => Ok(b'\t'),
            _ => Err(Error::syntax(format!("{what} must be a single ASCII character, not '{value}'"))),
        }
    }
}

pub fn parse(sql: &str) -> Result<CopyStatement> {
    let tokens = Tokenizer::new(&RedshiftSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| Error::syntax(e.to_string()))?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut t = Tokens { tokens, at: 0 };
    t.expect_keyword("COPY")?;
    let mut name = vec![ObjectNamePart::Identifier(t.identifier()?)];
    while *t.peek() == Token::Period {
        t.next();
        name.push(ObjectNamePart::Identifier(t.identifier()?));
    }
    let mut columns = Vec::new();
    if *t.peek() == Token::LParen {
        t.next();
        loop {
            let ident = t.identifier()?;
            columns.push(if ident.quote_style.is_some() { ident.value } else { ident.value.to_lowercase() });
            match t.next() {
                Token::Comma => continue,
                Token::RParen => break,
                _ => {
                    t.at -= 1;
                    return Err(t.unexpected("',' or ')'"));
                }
            }
        }
    }
    t.expect_keyword("FROM")?;
    let source = match t.next() {
        Token::SingleQuotedString(s) => Source::S3(s),
        Token::Word(w) if w.value.eq_ignore_ascii_case("STDIN") => Source::Stdin,
        _ => {
            t.at -= 1;
            return Err(t.unexpected("'s3://bucket/prefix' or STDIN"));
        }
    };
    let mut statement = CopyStatement {
        table: ObjectName(name),
        columns,
        source,
        manifest: false,
        credentials: S3Credentials::default(),
        format: FormatOption::Delimited,
        compression: None,
        options: Options::default(),
        max_errors: 0,
        no_load: false,
        explicit_ids: false,
    };
    t.keyword("WITH");
    while !matches!(t.peek(), Token::EOF | Token::SemiColon) {
        option(&mut t, &mut statement)?;
    }
    if matches!(statement.format, FormatOption::Csv { .. }) && (statement.options.escape || statement.options.remove_quotes) {
        return Err(Error::syntax("CSV cannot be used with ESCAPE or REMOVEQUOTES"));
    }
    Ok(statement)
}

fn option(t: &mut Tokens, s: &mut CopyStatement) -> Result<()> {
    let Token::Word(word) = t.next() else {
        t.at -= 1;
        return Err(t.unexpected("a COPY option"));
    };
    let o = &mut s.options;
    match word.value.to_ascii_uppercase().as_str() {
        "IAM_ROLE" => {
            // The role is not assumed: the configured credentials are used.
            if !t.keyword("DEFAULT") {
                t.string("IAM role ARN")?;
            }
        }
        "ACCESS_KEY_ID" => s.credentials.access_key_id = Some(t.string("access key id")?),
        "SECRET_ACCESS_KEY" => s.credentials.secret_access_key = Some(t.string("secret access key")?),
        "SESSION_TOKEN" => s.credentials.session_token = Some(t.string("session token")?),
        "CREDENTIALS" | "WITH_CREDENTIALS" => credentials(&t.string("credentials string")?, &mut s.credentials)?,
        "REGION" => s.credentials.region = Some(t.string("region")?),
        "MANIFEST" => s.manifest = true,
        "FORMAT" => {
            t.keyword("AS");
            return option(t, s);
        }
        "CSV" => {
            let quote = if t.keyword("QUOTE") { t.character("QUOTE")? } else { b'"' };
            s.format = FormatOption::Csv { quote };
            if o.delimiter == b'|' {
                o.delimiter = b',';
            }
        }
        "QUOTE" => match &mut s.format {
            FormatOption::Csv { quote } => *quote = t.character("QUOTE")?,
            _ => return Err(Error::syntax("QUOTE requires CSV")),
        },
        "DELIMITER" => o.delimiter = t.character("DELIMITER")?,
        "FIXEDWIDTH" => s.format = FormatOption::FixedWidth(t.string("fixed-width specification")?),
        "JSON" => {
            let arg = if matches!(t.peek(), Token::SingleQuotedString(_)) || t.keyword("AS") {
                t.string("JSON option")?
            } else {
                "auto".into()
            };
            s.format = FormatOption::Json(match arg.to_ascii_lowercase().as_str() {
                "auto" => JsonOption::Mode(JsonMode::Auto),
                "auto ignorecase" => JsonOption::Mode(JsonMode::AutoIgnoreCase),
                _ if arg.to_ascii_lowercase().starts_with("s3://") => JsonOption::PathsFile(arg),
                _ => return Err(Error::syntax(format!("JSON takes 'auto', 'auto ignorecase' or an s3:// JSONPaths file, not '{arg}'"))),
            });
        }
        "PARQUET" => s.format = FormatOption::Parquet,
        "AVRO" | "ORC" | "SHAPEFILE" | "LZOP" => {
            return Err(Error::unsupported(format!("COPY {} is not supported", word.value.to_uppercase())));
        }
        "GZIP" => s.compression = Some(Compression::Gzip),
        "BZIP2" => s.compression = Some(Compression::Bzip2),
        "ZSTD" => s.compression = Some(Compression::Zstd),
        "IGNOREHEADER" => o.ignore_header = t.number("IGNOREHEADER line count")?,
        "NULL" => o.null_as = t.string("NULL string")?,
        "EMPTYASNULL" => o.empty_as_null = true,
        "BLANKSASNULL" => o.blanks_as_null = true,
        "IGNOREBLANKLINES" => o.ignore_blank_lines = true,
        "FILLRECORD" => o.fill_record = true,
        "TRUNCATECOLUMNS" => o.truncate_columns = true,
        "TRIMBLANKS" => o.trim_blanks = true,
        "REMOVEQUOTES" => o.remove_quotes = true,
        "ESCAPE" => o.escape = true,
        "ACCEPTINVCHARS" => {
            let with_as = t.keyword("AS");
            let replacement = if with_as || matches!(t.peek(), Token::SingleQuotedString(_)) {
                char::from(t.character("ACCEPTINVCHARS replacement")?)
            } else {
                '?'
            };
            o.accept_inv_chars = Some(replacement);
        }
        "DATEFORMAT" => o.date_format = Some(t.string("DATEFORMAT")?),
        "TIMEFORMAT" => o.time_format = Some(t.string("TIMEFORMAT")?),
        "MAXERROR" => s.max_errors = t.number("MAXERROR")?,
        "NOLOAD" => s.no_load = true,
        "EXPLICIT_IDS" => s.explicit_ids = true,
        "COMPUPDATE" | "STATUPDATE" => {
            // Statistics and encodings are chosen by the storage layer; accepted for scripts.
            for value in ["ON", "OFF", "TRUE", "FALSE", "PRESET"] {
                if t.keyword(value) {
                    break;
                }
            }
        }
        "ACCEPTANYDATE" | "ROUNDEC" | "ENCRYPTED" | "READRATIO" => {
            if word.value.eq_ignore_ascii_case("READRATIO") {
                t.number("READRATIO")?;
            }
        }
        other => return Err(Error::syntax(format!("unknown COPY option \"{other}\""))),
    }
    Ok(())
}

/// `CREDENTIALS 'aws_access_key_id=..;aws_secret_access_key=..[;token=..]'` or
/// `'aws_iam_role=arn:...'` (which, like IAM_ROLE, uses the configured credentials).
fn credentials(text: &str, credentials: &mut S3Credentials) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redshift_copy_options() {
        let s = parse(
            "COPY public.sales (a, \"B\") FROM 's3://b/p/' IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT AS CSV QUOTE AS '''' \
             IGNOREHEADER 1 NULL AS 'nil' GZIP MAXERROR 5 DATEFORMAT 'auto' ACCEPTINVCHARS AS '^' COMPUPDATE OFF REGION 'eu-west-1'",
        )
        .unwrap();
        assert_eq!(s.table.to_string(), "public.sales");
        assert_eq!(s.columns, ["a", "B"]);
        assert_eq!(s.source, Source::S3("s3://b/p/".into()));
        assert_eq!(s.format, FormatOption::Csv { quote: b'\'' });
        assert_eq!(s.options.delimiter, b',');
        assert_eq!(s.options.ignore_header, 1);
        assert_eq!(s.options.null_as, "nil");
        assert_eq!(s.options.accept_inv_chars, Some('^'));
        assert_eq!(s.compression, Some(Compression::Gzip));
        assert_eq!(s.max_errors, 5);
        assert_eq!(s.credentials.region.as_deref(), Some("eu-west-1"));

        let s = parse("copy t from 's3://b/k' credentials 'aws_access_key_id=AK;aws_secret_access_key=SK;token=T' json 'auto ignorecase' acceptinvchars").unwrap();
        assert_eq!(s.credentials.access_key_id.as_deref(), Some("AK"));
        assert_eq!(s.credentials.session_token.as_deref(), Some("T"));
        assert_eq!(s.format, FormatOption::Json(JsonOption::Mode(JsonMode::AutoIgnoreCase)));
        assert_eq!(s.options.accept_inv_chars, Some('?'));

        let s = parse("COPY t FROM STDIN DELIMITER ',' ESCAPE REMOVEQUOTES").unwrap();
        assert_eq!(s.source, Source::Stdin);
        assert!(s.options.escape && s.options.remove_quotes);
        assert!(parse("COPY t FROM 's3://b/k' BOGUS").unwrap_err().message.contains("BOGUS"));
        assert!(parse("COPY t FROM 's3://b/k' CSV ESCAPE").is_err());
    }
}
