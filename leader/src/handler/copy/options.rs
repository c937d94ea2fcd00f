//! The COPY statement's grammar: `COPY table [(columns)] FROM 's3://...' | STDIN [WITH] option...`
//! with Redshift's options (authorization, format, compression, conversion and error handling).
//! sqlparser's COPY covers PostgreSQL's, not Redshift's, so this walks the tokens itself with the
//! helpers COPY and UNLOAD share ([`crate::sql::options`]).

use blueshift_compute::load::{Compression, JsonMode, MAXERROR_LIMIT, Options, TextEncoding};
use blueshift_compute::s3::S3Credentials;
use sqlparser::ast::{ObjectName, ObjectNamePart};
use sqlparser::tokenizer::Token;

use crate::error::{Error, Result};
use crate::sql::options::{Tokens, authorization};

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
    /// Rows the load may reject and still commit (`u64::MAX` with IGNOREALLERRORS).
    pub max_errors: u64,
    /// INFO messages about the options, for the client.
    pub notices: Vec<String>,
    pub no_load: bool,
    pub explicit_ids: bool,
}

pub fn parse(sql: &str) -> Result<CopyStatement> {
    let mut t = Tokens::new(sql, "COPY")?;
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
                _ => return Err(t.unexpected_previous("',' or ')'")),
            }
        }
    }
    t.expect_keyword("FROM")?;
    let source = match t.next() {
        Token::SingleQuotedString(s) => Source::S3(s),
        Token::Word(w) if w.value.eq_ignore_ascii_case("STDIN") => Source::Stdin,
        _ => return Err(t.unexpected_previous("'s3://bucket/prefix' or STDIN")),
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
        notices: Vec::new(),
        no_load: false,
        explicit_ids: false,
    };
    t.keyword("WITH");
    let mut given = Vec::new();
    while !matches!(t.peek(), Token::EOF | Token::SemiColon) {
        given.extend(option(&mut t, &mut statement)?);
    }
    if matches!(statement.format, FormatOption::Csv { .. }) && (statement.options.escape || statement.options.remove_quotes) {
        return Err(Error::syntax("CSV cannot be used with ESCAPE or REMOVEQUOTES"));
    }
    let maxerror_given = given.iter().any(|name| name == "MAXERROR");
    if maxerror_given && given.iter().any(|name| name == "IGNOREALLERRORS") {
        return Err(Error::syntax("IGNOREALLERRORS cannot be used with MAXERROR"));
    }
    if maxerror_given && statement.max_errors > MAXERROR_LIMIT {
        statement.notices.push(format!(
            "MAXERROR {} is above the limit of {MAXERROR_LIMIT}; {MAXERROR_LIMIT} is used (IGNOREALLERRORS skips every bad row)",
            statement.max_errors
        ));
        statement.max_errors = MAXERROR_LIMIT;
    }
    if statement.format == FormatOption::Parquet
        && let Some(text_option) = given.iter().find(|name| !COLUMNAR_OPTIONS.contains(&name.as_str()))
    {
        return Err(Error::unsupported(format!("{text_option} argument is not supported for PARQUET based COPY")));
    }
    Ok(statement)
}

/// The options a PARQUET load takes besides authorization and REGION, as in Redshift, which
/// refuses the rest (they describe text); and NOLOAD and COMPUPDATE, which mean the same for any
/// format.
const COLUMNAR_OPTIONS: &[&str] = &["PARQUET", "MANIFEST", "ACCEPTINVCHARS", "FILLRECORD", "EXPLICIT_IDS", "STATUPDATE", "COMPUPDATE", "NOLOAD"];

/// Applies the option at the tokens' position; its name, or `None` for authorization and REGION.
fn option(t: &mut Tokens, s: &mut CopyStatement) -> Result<Option<String>> {
    let Token::Word(word) = t.next() else {
        return Err(t.unexpected_previous("a COPY option"));
    };
    let name = word.value.to_ascii_uppercase();
    if authorization(t, &name, &mut s.credentials)? {
        return Ok(None);
    }
    let o = &mut s.options;
    match name.as_str() {
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
        "ENCODING" => {
            t.keyword("AS");
            let name = match t.next() {
                Token::Word(word) => word.value,
                Token::SingleQuotedString(name) => name,
                _ => return Err(t.unexpected_previous("a file encoding")),
            };
            o.encoding = TextEncoding::from_name(&name)
                .ok_or_else(|| Error::syntax(format!("invalid ENCODING '{name}': expected UTF8, UTF16, UTF16LE or UTF16BE")))?;
        }
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
        "IGNOREALLERRORS" => s.max_errors = u64::MAX,
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
        "ACCEPTANYDATE" => o.accept_any_date = true,
        "ROUNDEC" => o.round_decimals = true,
        // Compression is chosen by the storage layer; accepted for scripts.
        "COMPROWS" => {
            t.number("COMPROWS")?;
        }
        "ENCRYPTED" => {}
        "READRATIO" => {
            t.number("READRATIO")?;
        }
        other => return Err(Error::syntax(format!("unknown COPY option \"{other}\""))),
    }
    Ok(Some(name))
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

    #[test]
    fn error_limits() {
        let s = parse("COPY t FROM 's3://b/k' MAXERROR AS 250000").unwrap();
        assert_eq!(s.max_errors, MAXERROR_LIMIT);
        assert!(s.notices[0].contains("MAXERROR 250000 is above the limit of 100000"), "{:?}", s.notices);
        let s = parse("COPY t FROM 's3://b/k' MAXERROR 18446744073709551615").unwrap();
        assert_eq!((s.max_errors, s.notices.len()), (MAXERROR_LIMIT, 1));
        let s = parse("COPY t FROM 's3://b/k' MAXERROR 100000").unwrap();
        assert_eq!((s.max_errors, s.notices.len()), (MAXERROR_LIMIT, 0));
        let s = parse("COPY t FROM 's3://b/k' IGNOREALLERRORS").unwrap();
        assert_eq!((s.max_errors, s.notices.len()), (u64::MAX, 0));
        let e = parse("COPY t FROM 's3://b/k' IGNOREALLERRORS MAXERROR 5").unwrap_err();
        assert_eq!(e.message, "IGNOREALLERRORS cannot be used with MAXERROR");
        let e = parse("COPY t FROM 's3://b/k' PARQUET IGNOREALLERRORS").unwrap_err();
        assert_eq!(e.message, "IGNOREALLERRORS argument is not supported for PARQUET based COPY");
    }
}
