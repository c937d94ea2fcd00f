//! The UNLOAD statement's grammar: `UNLOAD ('select ...') TO 's3://bucket/prefix' option...` with
//! Redshift's options, and the combinations Redshift refuses (PARQUET with DELIMITER, CLEANPATH
//! with ALLOWOVERWRITE, ...), each refused with an error naming both options.

use blueshift_compute::load::compression::Compression;
use blueshift_compute::s3::S3Credentials;
use sqlparser::tokenizer::Token;

use crate::error::{Error, Result, SqlState};
use crate::sql::options::{Tokens, authorization};

/// Redshift's default and largest MAXFILESIZE: 6.2 GB.
pub const MAX_FILE_SIZE: u64 = 6_200 * MB;
const MIN_FILE_SIZE: u64 = 5 * MB;
const MB: u64 = 1024 * 1024;
/// Parquet row groups: 32 MB by default, ROWGROUPSIZE between 32 and 128 MB.
pub const ROW_GROUP_SIZE: u64 = 32 * MB;
const MAX_ROW_GROUP_SIZE: u64 = 128 * MB;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Json,
    Parquet,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnloadStatement {
    /// The query, with the string literal's doubled quotes undone.
    pub query: String,
    pub to: String,
    pub credentials: S3Credentials,
    pub format: Format,
    pub partition_by: Vec<String>,
    pub partition_include: bool,
    pub manifest: bool,
    pub manifest_verbose: bool,
    pub header: bool,
    pub delimiter: Option<String>,
    pub add_quotes: bool,
    pub null_as: Option<String>,
    pub escape: bool,
    pub compression: Option<Compression>,
    pub allow_overwrite: bool,
    pub clean_path: bool,
    pub parallel: bool,
    pub max_file_size: u64,
    pub row_group_size: Option<u64>,
    pub extension: Option<String>,
}

/// Options given, by name, to check combinations after parsing.
#[derive(Default)]
struct Given(Vec<&'static str>);

impl Given {
    fn add(&mut self, name: &'static str) -> Result<()> {
        if self.has(name) {
            return Err(Error::syntax(format!("UNLOAD option {name} is given more than once")));
        }
        self.0.push(name);
        Ok(())
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains(&name)
    }

    /// Refuses `option` together with any of `others`.
    fn exclude(&self, option: &str, others: &[&str]) -> Result<()> {
        if !self.has(option) {
            return Ok(());
        }
        match others.iter().find(|o| self.has(o)) {
            Some(other) => Err(Error::new(
                SqlState::SyntaxError,
                format!("UNLOAD options conflict: {option} cannot be used with {other}"),
            )),
            None => Ok(()),
        }
    }
}

pub fn parse(sql: &str) -> Result<UnloadStatement> {
    let mut t = Tokens::new(sql, "UNLOAD")?;
    t.expect_keyword("UNLOAD")?;
    t.expect(Token::LParen, "'('")?;
    let query = t.string("query")?;
    t.expect(Token::RParen, "')'")?;
    t.expect_keyword("TO")?;
    let to = t.string("s3://bucket/prefix")?;
    let mut s = UnloadStatement {
        query,
        to,
        credentials: S3Credentials::default(),
        format: Format::Text,
        partition_by: Vec::new(),
        partition_include: false,
        manifest: false,
        manifest_verbose: false,
        header: false,
        delimiter: None,
        add_quotes: false,
        null_as: None,
        escape: false,
        compression: None,
        allow_overwrite: false,
        clean_path: false,
        parallel: true,
        max_file_size: MAX_FILE_SIZE,
        row_group_size: None,
        extension: None,
    };
    let mut given = Given::default();
    t.keyword("WITH");
    while !matches!(t.peek(), Token::EOF | Token::SemiColon) {
        option(&mut t, &mut s, &mut given)?;
    }
    given.exclude("PARQUET", &["DELIMITER", "FIXEDWIDTH", "ADDQUOTES", "ESCAPE", "NULL AS", "HEADER", "GZIP", "BZIP2", "ZSTD"])?;
    given.exclude("JSON", &["DELIMITER", "HEADER", "FIXEDWIDTH", "ADDQUOTES", "ESCAPE", "NULL AS"])?;
    given.exclude("CSV", &["FIXEDWIDTH", "ADDQUOTES", "ESCAPE"])?;
    given.exclude("CLEANPATH", &["ALLOWOVERWRITE"])?;
    given.exclude("GZIP", &["BZIP2", "ZSTD"])?;
    given.exclude("BZIP2", &["ZSTD"])?;
    if given.has("ROWGROUPSIZE") && s.format != Format::Parquet {
        return Err(Error::syntax("UNLOAD option ROWGROUPSIZE requires FORMAT PARQUET"));
    }
    if given.has("VERBOSE") && !s.manifest {
        return Err(Error::syntax("UNLOAD option VERBOSE requires MANIFEST"));
    }
    if s.format == Format::Parquet {
        // Parquet files end at a row group: Redshift rounds MAXFILESIZE down to 32 MB steps.
        s.max_file_size = (s.max_file_size / ROW_GROUP_SIZE).max(1) * ROW_GROUP_SIZE;
    }
    Ok(s)
}

/// `n [MB | GB]`, in bytes (MB when no unit is given).
fn size(t: &mut Tokens, name: &str, range: (u64, u64)) -> Result<u64> {
    t.keyword("AS");
    let text = match t.next() {
        Token::Number(n, _) => n,
        _ => return Err(t.unexpected_previous(&format!("a size for {name}"))),
    };
    let number: f64 = text.parse().map_err(|_| Error::syntax(format!("invalid {name} '{text}'")))?;
    let (unit, label) = if t.keyword("GB") {
        (1024.0 * MB as f64, "GB")
    } else {
        t.keyword("MB");
        (MB as f64, "MB")
    };
    let bytes = (number * unit) as u64;
    if bytes < range.0 || bytes > range.1 {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!(
                "{name} {text} {label} is out of range: it must be between {} MB and {} MB",
                range.0 / MB,
                range.1 / MB
            ),
        ));
    }
    Ok(bytes)
}

fn option(t: &mut Tokens, s: &mut UnloadStatement, given: &mut Given) -> Result<()> {
    let Token::Word(word) = t.next() else {
        return Err(t.unexpected_previous("an UNLOAD option"));
    };
    let name = word.value.to_ascii_uppercase();
    if authorization(t, &name, &mut s.credentials)? {
        return Ok(());
    }
    match name.as_str() {
        "FORMAT" => {
            t.keyword("AS");
            return option(t, s, given);
        }
        "CSV" | "JSON" | "PARQUET" => {
            if s.format != Format::Text {
                return Err(Error::syntax("UNLOAD takes one FORMAT"));
            }
            let (format, label) = match name.as_str() {
                "CSV" => (Format::Csv, "CSV"),
                "JSON" => (Format::Json, "JSON"),
                _ => (Format::Parquet, "PARQUET"),
            };
            s.format = format;
            given.add(label)?;
        }
        "PARTITION" => {
            t.expect_keyword("BY")?;
            t.expect(Token::LParen, "'('")?;
            loop {
                let ident = t.identifier()?;
                s.partition_by.push(if ident.quote_style.is_some() { ident.value } else { ident.value.to_lowercase() });
                match t.next() {
                    Token::Comma => continue,
                    Token::RParen => break,
                    _ => return Err(t.unexpected_previous("',' or ')'")),
                }
            }
            s.partition_include = t.keyword("INCLUDE");
            given.add("PARTITION BY")?;
        }
        "MANIFEST" => {
            s.manifest = true;
            if t.keyword("VERBOSE") {
                s.manifest_verbose = true;
                given.add("VERBOSE")?;
            }
            given.add("MANIFEST")?;
        }
        "VERBOSE" => given.add("VERBOSE")?,
        "HEADER" => {
            s.header = true;
            given.add("HEADER")?;
        }
        "DELIMITER" => {
            let delimiter = t.string("delimiter")?;
            let delimiter = if delimiter == "\\t" { "\t".to_string() } else { delimiter };
            if delimiter.chars().count() != 1 {
                return Err(Error::syntax(format!("DELIMITER must be a single character, not '{delimiter}'")));
            }
            s.delimiter = Some(delimiter);
            given.add("DELIMITER")?;
        }
        "ADDQUOTES" => {
            s.add_quotes = true;
            given.add("ADDQUOTES")?;
        }
        "NULL" => {
            s.null_as = Some(t.string("NULL string")?);
            given.add("NULL AS")?;
        }
        "ESCAPE" => {
            s.escape = true;
            given.add("ESCAPE")?;
        }
        "GZIP" | "BZIP2" | "ZSTD" => {
            let (compression, label) = match name.as_str() {
                "GZIP" => (Compression::Gzip, "GZIP"),
                "BZIP2" => (Compression::Bzip2, "BZIP2"),
                _ => (Compression::Zstd, "ZSTD"),
            };
            s.compression = Some(compression);
            given.add(label)?;
        }
        "ALLOWOVERWRITE" => {
            s.allow_overwrite = true;
            given.add("ALLOWOVERWRITE")?;
        }
        "CLEANPATH" => {
            s.clean_path = true;
            given.add("CLEANPATH")?;
        }
        "PARALLEL" => {
            s.parallel = if t.keyword("OFF") || t.keyword("FALSE") {
                false
            } else {
                let _ = t.keyword("ON") || t.keyword("TRUE");
                true
            };
            given.add("PARALLEL")?;
        }
        "MAXFILESIZE" => {
            s.max_file_size = size(t, "MAXFILESIZE", (MIN_FILE_SIZE, MAX_FILE_SIZE))?;
            given.add("MAXFILESIZE")?;
        }
        "ROWGROUPSIZE" => {
            s.row_group_size = Some(size(t, "ROWGROUPSIZE", (ROW_GROUP_SIZE, MAX_ROW_GROUP_SIZE))?);
            given.add("ROWGROUPSIZE")?;
        }
        "EXTENSION" => {
            s.extension = Some(t.string("extension")?);
            given.add("EXTENSION")?;
        }
        "FIXEDWIDTH" | "ENCRYPTED" | "KMS_KEY_ID" | "MASTER_SYMMETRIC_KEY" => {
            return Err(Error::unsupported(format!("UNLOAD option {name} is not supported")));
        }
        other => return Err(Error::syntax(format!("unknown UNLOAD option \"{other}\""))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redshift_unload_options() {
        let s = parse(
            "UNLOAD ('select * from venue where venuestate = ''NV''') TO 's3://b/unload/venue_' \
             IAM_ROLE 'arn:aws:iam::0123456789012:role/MyRedshiftRole' FORMAT AS PARQUET PARTITION BY (VenueState, \"City\") INCLUDE \
             MANIFEST VERBOSE MAXFILESIZE 1 GB ROWGROUPSIZE AS 64 MB PARALLEL OFF CLEANPATH REGION 'us-west-2'",
        )
        .unwrap();
        assert_eq!(s.query, "select * from venue where venuestate = 'NV'");
        assert_eq!(s.to, "s3://b/unload/venue_");
        assert_eq!(s.format, Format::Parquet);
        assert_eq!(s.partition_by, ["venuestate", "City"]);
        assert!(s.partition_include && s.manifest && s.manifest_verbose && s.clean_path && !s.parallel);
        assert_eq!(s.max_file_size, 1024 * MB);
        assert_eq!(s.row_group_size, Some(64 * MB));
        assert_eq!(s.credentials.region.as_deref(), Some("us-west-2"));

        let s = parse("unload ('select 1') to 's3://b/p' access_key_id 'AK' secret_access_key 'SK' delimiter as '\\t' addquotes escape null as 'NULL' gzip header allowoverwrite parallel true maxfilesize 100").unwrap();
        assert_eq!(s.format, Format::Text);
        assert_eq!(s.delimiter.as_deref(), Some("\t"));
        assert_eq!(s.null_as.as_deref(), Some("NULL"));
        assert_eq!(s.compression, Some(Compression::Gzip));
        assert_eq!(s.max_file_size, 100 * MB);
        assert_eq!(s.credentials.access_key_id.as_deref(), Some("AK"));
        assert!(s.add_quotes && s.escape && s.header && s.allow_overwrite && s.parallel);
        // Parquet files end at row groups: MAXFILESIZE is rounded down to 32 MB steps.
        assert_eq!(parse("UNLOAD ('select 1') TO 's3://b/p' PARQUET MAXFILESIZE 100 MB").unwrap().max_file_size, 96 * MB);
    }

    #[test]
    fn conflicts_are_named() {
        let error = |sql: &str| parse(sql).unwrap_err().message;
        let base = "UNLOAD ('select 1') TO 's3://b/p' IAM_ROLE default";
        assert!(error(&format!("{base} PARQUET DELIMITER ','")).contains("PARQUET cannot be used with DELIMITER"));
        assert!(error(&format!("{base} FORMAT JSON HEADER")).contains("JSON cannot be used with HEADER"));
        assert!(error(&format!("{base} CSV ADDQUOTES")).contains("CSV cannot be used with ADDQUOTES"));
        assert!(error(&format!("{base} CLEANPATH ALLOWOVERWRITE")).contains("CLEANPATH cannot be used with ALLOWOVERWRITE"));
        assert!(error(&format!("{base} GZIP ZSTD")).contains("GZIP cannot be used with ZSTD"));
        assert!(error(&format!("{base} ROWGROUPSIZE 64 MB")).contains("requires FORMAT PARQUET"));
        assert!(error(&format!("{base} MAXFILESIZE 1 MB")).contains("out of range"));
        assert!(error(&format!("{base} BOGUS")).contains("BOGUS"));
        assert!(error(&format!("{base} HEADER HEADER")).contains("more than once"));
    }
}
