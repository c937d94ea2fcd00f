//! The grammar of Redshift's Spectrum DDL, which sqlparser does not know:
//!
//! ```text
//! CREATE EXTERNAL SCHEMA [IF NOT EXISTS] s FROM DATA CATALOG DATABASE 'db' [REGION 'r']
//!     IAM_ROLE {default | 'arn..'} [CATALOG_ROLE '..'] [CREATE EXTERNAL DATABASE IF NOT EXISTS]
//! CREATE EXTERNAL TABLE s.t (c type, ..) [PARTITIONED BY (p type, ..)]
//!     [ROW FORMAT DELIMITED FIELDS TERMINATED BY 'x'] STORED AS {PARQUET | TEXTFILE}
//!     LOCATION 's3://..' [TABLE PROPERTIES ('k'='v', ..)] [AS query]
//! ALTER TABLE s.t ADD [IF NOT EXISTS] PARTITION (k='v', ..) LOCATION '..' [, PARTITION ..]
//! ALTER TABLE s.t DROP PARTITION (k='v', ..) | SET LOCATION '..' | SET TABLE PROPERTIES (..)
//! DROP EXTERNAL TABLE [IF EXISTS] s.t
//! ```
//!
//! Clauses are parsed with sqlparser's own pieces (names, data types, string literals, queries),
//! so identifiers, quoting and types behave exactly as in every other statement.

use sqlparser::ast::{DataType, ObjectName, Query};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::with_parser;
use crate::catalog::external::StoredAs;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct CreateExternalSchema {
    pub name: ObjectName,
    pub if_not_exists: bool,
    pub database: String,
    pub region: Option<String>,
    pub iam_role: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateExternalTable {
    pub name: ObjectName,
    pub columns: Vec<(String, DataType)>,
    /// Partition columns; CREATE EXTERNAL TABLE AS may name them without types.
    pub partition_columns: Vec<(String, Option<DataType>)>,
    pub field_delimiter: Option<String>,
    pub stored_as: StoredAs,
    pub location: String,
    pub properties: Vec<(String, String)>,
    /// CREATE EXTERNAL TABLE .. AS query.
    pub query: Option<Box<Query>>,
}

/// A partition's `(column, value)` pairs.
pub type PartitionSpec = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
pub enum AlterExternal {
    AddPartitions {
        if_not_exists: bool,
        partitions: Vec<(PartitionSpec, String)>,
    },
    DropPartition(PartitionSpec),
    SetLocation(String),
    SetProperties(Vec<(String, String)>),
}

/// Consumes the unquoted word `word` if it comes next.
fn word(parser: &mut Parser, word: &str) -> bool {
    match &parser.peek_token().token {
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word) => {
            parser.next_token();
            true
        }
        _ => false,
    }
}

fn words(parser: &mut Parser, expected: &[&str]) -> bool {
    let matches = expected.iter().enumerate().all(|(i, w)| {
        matches!(&parser.peek_nth_token(i).token, Token::Word(t) if t.quote_style.is_none() && t.value.eq_ignore_ascii_case(w))
    });
    if matches {
        for _ in expected {
            parser.next_token();
        }
    }
    matches
}

fn expect_words(parser: &mut Parser, expected: &[&str]) -> Result<(), ParserError> {
    if words(parser, expected) {
        Ok(())
    } else {
        parser.expected(&expected.join(" "), parser.peek_token())
    }
}

fn expect_end(parser: &mut Parser) -> Result<(), ParserError> {
    let _ = parser.consume_token(&Token::SemiColon);
    match parser.peek_token().token {
        Token::EOF => Ok(()),
        _ => parser.expected("end of statement", parser.peek_token()),
    }
}

pub fn parse_create_schema(text: &str) -> Result<CreateExternalSchema> {
    with_parser(text, |p| {
        expect_words(p, &["CREATE", "EXTERNAL", "SCHEMA"])?;
        let if_not_exists = words(p, &["IF", "NOT", "EXISTS"]);
        let name = p.parse_object_name(false)?;
        if !words(p, &["FROM", "DATA", "CATALOG"]) {
            return Err(Error::unsupported(
                "only external schemas FROM DATA CATALOG are supported",
            ));
        }
        let (mut database, mut region, mut iam_role) = (None, None, None);
        loop {
            if word(p, "DATABASE") {
                database = Some(p.parse_literal_string()?);
            } else if word(p, "REGION") {
                region = Some(p.parse_literal_string()?);
            } else if word(p, "IAM_ROLE") {
                iam_role = Some(if word(p, "DEFAULT") {
                    "default".to_string()
                } else {
                    p.parse_literal_string()?
                });
            } else if word(p, "CATALOG_ROLE") || word(p, "CATALOG_ID") {
                p.parse_literal_string()?;
            } else if words(p, &["CREATE", "EXTERNAL", "DATABASE", "IF", "NOT", "EXISTS"]) {
                // The data catalog is Blueshift's own: its databases exist as soon as named.
            } else {
                break;
            }
        }
        expect_end(p)?;
        Ok(CreateExternalSchema {
            name,
            if_not_exists,
            database: database.ok_or_else(|| Error::syntax("CREATE EXTERNAL SCHEMA needs DATABASE 'name'"))?,
            region,
            iam_role: iam_role.ok_or_else(|| Error::syntax("CREATE EXTERNAL SCHEMA needs IAM_ROLE"))?,
        })
    })
}

fn column_list(p: &mut Parser) -> Result<Vec<(String, DataType)>, ParserError> {
    p.expect_token(&Token::LParen)?;
    let columns = p.parse_comma_separated(|p| {
        let name = p.parse_identifier()?.value.to_lowercase();
        Ok((name, p.parse_data_type()?))
    })?;
    p.expect_token(&Token::RParen)?;
    Ok(columns)
}

/// `(p [type], ..)`: the partition columns, whose types CREATE EXTERNAL TABLE AS may leave out.
fn partition_list(p: &mut Parser) -> Result<Vec<(String, Option<DataType>)>, ParserError> {
    p.expect_token(&Token::LParen)?;
    let columns = p.parse_comma_separated(|p| {
        let name = p.parse_identifier()?.value.to_lowercase();
        let data_type = match p.peek_token().token {
            Token::Comma | Token::RParen => None,
            _ => Some(p.parse_data_type()?),
        };
        Ok((name, data_type))
    })?;
    p.expect_token(&Token::RParen)?;
    Ok(columns)
}

/// `('k'='v', ..)` or `(k='v', ..)`.
fn key_values(p: &mut Parser) -> Result<Vec<(String, String)>, ParserError> {
    p.expect_token(&Token::LParen)?;
    let pairs = p.parse_comma_separated(|p| {
        let key = match p.peek_token().token {
            Token::SingleQuotedString(_) => p.parse_literal_string()?,
            _ => p.parse_identifier()?.value.to_lowercase(),
        };
        p.expect_token(&Token::Eq)?;
        let value = match p.next_token().token {
            Token::SingleQuotedString(s) => s,
            Token::Number(n, _) => n,
            _ => {
                p.prev_token();
                return p.expected("a value", p.peek_token());
            }
        };
        Ok((key, value))
    })?;
    p.expect_token(&Token::RParen)?;
    Ok(pairs)
}

pub fn parse_create_table(text: &str) -> Result<CreateExternalTable> {
    with_parser(text, |p| {
        expect_words(p, &["CREATE", "EXTERNAL", "TABLE"])?;
        let name = p.parse_object_name(false)?;
        let columns = if p.peek_token().token == Token::LParen {
            column_list(p)?
        } else {
            Vec::new()
        };
        let mut table = CreateExternalTable {
            name,
            columns,
            partition_columns: Vec::new(),
            field_delimiter: None,
            stored_as: StoredAs::Parquet,
            location: String::new(),
            properties: Vec::new(),
            query: None,
        };
        let mut location = None;
        loop {
            if words(p, &["PARTITIONED", "BY"]) {
                table.partition_columns = partition_list(p)?;
            } else if words(p, &["ROW", "FORMAT", "DELIMITED"]) {
                while words(p, &["FIELDS", "TERMINATED", "BY"]) || words(p, &["LINES", "TERMINATED", "BY"]) {
                    let value = p.parse_literal_string()?;
                    if !matches!(value.as_str(), "\n" | "\\n") {
                        table.field_delimiter = Some(value);
                    }
                }
            } else if words(p, &["STORED", "AS"]) {
                table.stored_as = if word(p, "PARQUET") {
                    StoredAs::Parquet
                } else if word(p, "TEXTFILE") {
                    StoredAs::Textfile
                } else {
                    let found = p.peek_token();
                    return Err(Error::unsupported(format!("STORED AS {found} is not supported: use PARQUET or TEXTFILE")));
                };
            } else if word(p, "LOCATION") {
                location = Some(p.parse_literal_string()?);
            } else if words(p, &["TABLE", "PROPERTIES"]) {
                table.properties = key_values(p)?;
            } else if p.parse_keyword(Keyword::AS) {
                table.query = Some(p.parse_query()?);
            } else {
                break;
            }
        }
        expect_end(p)?;
        table.location = location.ok_or_else(|| Error::syntax("CREATE EXTERNAL TABLE needs LOCATION 's3://..'"))?;
        match &table.query {
            None if table.columns.is_empty() => {
                return Err(Error::syntax("CREATE EXTERNAL TABLE needs a column list or AS query"));
            }
            None if table.partition_columns.iter().any(|(_, t)| t.is_none()) => {
                return Err(Error::syntax("PARTITIONED BY needs a type for each column, except in CREATE EXTERNAL TABLE AS"));
            }
            Some(_) if !table.columns.is_empty() => {
                return Err(Error::syntax(
                    "CREATE EXTERNAL TABLE AS takes no column list: the columns are those of the query",
                ));
            }
            _ => {}
        }
        Ok(table)
    })
}

/// `ALTER TABLE name <external action>`, if the action is one only external tables have.
pub fn parse_alter(text: &str) -> Result<Option<(ObjectName, AlterExternal)>> {
    with_parser(text, |p| {
        expect_words(p, &["ALTER", "TABLE"])?;
        let name = p.parse_object_name(false)?;
        let action = if word(p, "ADD") {
            let if_not_exists = words(p, &["IF", "NOT", "EXISTS"]);
            if !matches!(&p.peek_token().token, Token::Word(w) if w.value.eq_ignore_ascii_case("PARTITION")) {
                return Ok(None);
            }
            let mut partitions = Vec::new();
            while word(p, "PARTITION") {
                let values = key_values(p)?;
                expect_words(p, &["LOCATION"])?;
                partitions.push((values, p.parse_literal_string()?));
                let _ = p.consume_token(&Token::Comma);
            }
            AlterExternal::AddPartitions {
                if_not_exists,
                partitions,
            }
        } else if words(p, &["DROP", "PARTITION"]) {
            AlterExternal::DropPartition(key_values(p)?)
        } else if words(p, &["SET", "LOCATION"]) {
            AlterExternal::SetLocation(p.parse_literal_string()?)
        } else if words(p, &["SET", "TABLE", "PROPERTIES"]) {
            AlterExternal::SetProperties(key_values(p)?)
        } else {
            return Ok(None);
        };
        expect_end(p)?;
        Ok(Some((name, action)))
    })
}

/// `DROP EXTERNAL TABLE [IF EXISTS] names`: `(if_exists, names)`.
pub fn parse_drop_table(text: &str) -> Result<(bool, Vec<ObjectName>)> {
    with_parser(text, |p| {
        expect_words(p, &["DROP", "EXTERNAL", "TABLE"])?;
        let if_exists = words(p, &["IF", "EXISTS"]);
        let names = p.parse_comma_separated(|p| p.parse_object_name(false))?;
        expect_end(p)?;
        Ok((if_exists, names))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spectrum_ddl() {
        let schema = parse_create_schema(
            "create external schema if not exists spectrum from data catalog database 'spectrumdb' \
             iam_role 'arn:aws:iam::123456789012:role/r' region 'us-west-2' create external database if not exists",
        )
        .unwrap();
        assert!(schema.if_not_exists);
        assert_eq!(schema.database, "spectrumdb");
        assert_eq!(schema.region.as_deref(), Some("us-west-2"));
        let table = parse_create_table(
            "create external table spectrum.sales (salesid int, price decimal(8,2)) partitioned by (saledate date) \
             row format delimited fields terminated by '\\t' stored as textfile location 's3://b/sales/' \
             table properties ('numRows'='170000', 'skip.header.line.count'='1')",
        )
        .unwrap();
        assert_eq!(table.columns.len(), 2);
        assert_eq!(table.partition_columns[0].0, "saledate");
        assert_eq!(table.stored_as, StoredAs::Textfile);
        assert_eq!(table.field_delimiter.as_deref(), Some("\t"));
        assert_eq!(table.properties[0], ("numRows".into(), "170000".into()));
        let create_as = parse_create_table(
            "create external table spectrum.l partitioned by (l_shipdate, l_shipmode) stored as parquet \
             location 's3://b/l/' as select l_orderkey, l_shipmode, l_shipdate from lineitem",
        )
        .unwrap();
        assert_eq!(create_as.partition_columns, vec![("l_shipdate".to_string(), None), ("l_shipmode".to_string(), None)]);
        assert!(create_as.query.is_some());
        assert!(parse_create_table("create external table s.t (a int) partitioned by (p) stored as parquet location 's3://b/t/'").is_err());
        let (_, alter) = parse_alter(
            "alter table spectrum.sales add if not exists partition (saledate='2008-01-01') location 's3://b/a/' \
             partition (saledate='2008-02-01') location 's3://b/b/'",
        )
        .unwrap()
        .unwrap();
        let AlterExternal::AddPartitions { if_not_exists, partitions } = alter else { panic!() };
        assert!(if_not_exists);
        assert_eq!(partitions.len(), 2);
        assert_eq!(partitions[1].0, vec![("saledate".to_string(), "2008-02-01".to_string())]);
        assert!(parse_alter("alter table t add column c int").unwrap().is_none());
    }
}
