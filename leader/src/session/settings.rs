//! Session settings: SET, SHOW and RESET with Redshift's parameters and defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlparser::tokenizer::{Token, Whitespace};

use crate::catalog::SUPERUSER;
use crate::error::{Error, Result, SqlState};
use crate::sql::tokenize;

/// Every parameter a session knows, with Redshift's default value.
const PARAMETERS: &[(&str, &str)] = &[
    ("analyze_threshold_percent", "10"),
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("datestyle", "ISO, MDY"),
    ("describe_field_name_in_uppercase", "off"),
    ("enable_case_sensitive_identifier", "off"),
    ("enable_result_cache_for_session", "on"),
    ("extra_float_digits", "0"),
    ("integer_datetimes", "on"),
    ("is_superuser", "on"),
    ("max_cursor_result_set_size", "default"),
    ("query_group", "default"),
    ("search_path", "$user, public"),
    ("server_encoding", "UTF8"),
    ("server_version", "8.0.2"),
    ("spectrum_enable_pseudo_columns", "true"),
    ("standard_conforming_strings", "off"),
    ("statement_timeout", "0"),
    ("timezone", "UTC"),
    ("transaction_isolation", "serializable"),
    ("wlm_query_slot_count", "1"),
];

/// Parameters whose value the server fixes.
const READ_ONLY: &[&str] = &[
    "integer_datetimes",
    "is_superuser",
    "server_encoding",
    "server_version",
    "transaction_isolation",
];

fn canonical(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "time zone" | "time_zone" => "timezone".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        _ => lower,
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    values: BTreeMap<String, String>,
    user: String,
}

/// A parsed SET, SHOW or RESET.
#[derive(Debug, PartialEq)]
pub enum SettingCommand {
    Set { name: String, value: Option<String> },
    Show(String),
    ShowAll,
    Reset(String),
    ResetAll,
}

impl Settings {
    pub fn new(user: &str, application_name: Option<&str>) -> Settings {
        let mut values: BTreeMap<String, String> =
            PARAMETERS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(name) = application_name {
            values.insert("application_name".into(), name.to_string());
        }
        Settings {
            values,
            user: user.to_string(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(&canonical(name)).map(String::as_str)
    }

    /// SHOW: one parameter's value.
    pub fn show(&self, name: &str) -> Result<String> {
        let name = canonical(name);
        if name == "server_version" && self.user != SUPERUSER {
            return Err(Error::new(
                SqlState::InsufficientPrivilege,
                "must be superuser to examine \"server_version\"",
            ));
        }
        self.values
            .get(&name)
            .cloned()
            .ok_or_else(|| unrecognized(&name))
    }

    /// SHOW ALL: (name, value) pairs.
    pub fn all(&self) -> Vec<(String, String)> {
        self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// SET name TO value (`None`: DEFAULT).
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        let name = canonical(name);
        let Some((_, default)) = PARAMETERS.iter().find(|(k, _)| *k == name) else {
            return Err(unrecognized(&name));
        };
        if READ_ONLY.contains(&name.as_str()) {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!("parameter \"{name}\" cannot be changed"),
            ));
        }
        let value = match value {
            None => default.to_string(),
            Some(v) => validate(&name, v)?,
        };
        self.values.insert(name, value);
        Ok(())
    }

    pub fn reset(&mut self, name: &str) -> Result<()> {
        self.set(name, None)
    }

    pub fn reset_all(&mut self) {
        let application_name = self.values.get("application_name").cloned();
        *self = Settings::new(&self.user, application_name.as_deref());
    }

    /// `statement_timeout`, if one is set.
    pub fn statement_timeout(&self) -> Option<Duration> {
        let ms: u64 = self.get("statement_timeout")?.parse().ok()?;
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    pub fn extra_float_digits(&self) -> i32 {
        self.get("extra_float_digits")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The search path's schema names, with `$user` resolved.
    pub fn search_path(&self) -> Vec<String> {
        self.get("search_path")
            .unwrap_or("public")
            .split(',')
            .map(|s| s.trim().trim_matches('\'').trim_matches('"'))
            .filter(|s| !s.is_empty())
            .map(|s| if s == "$user" { self.user.clone() } else { s.to_lowercase() })
            .collect()
    }
}

fn unrecognized(name: &str) -> Error {
    Error::new(
        SqlState::UndefinedObject,
        format!("unrecognized configuration parameter \"{name}\""),
    )
}

fn validate(name: &str, value: &str) -> Result<String> {
    let invalid = || {
        Error::new(
            SqlState::InvalidParameterValue,
            format!("invalid value for parameter \"{name}\": \"{value}\""),
        )
    };
    Ok(match name {
        "statement_timeout" => parse_duration_ms(value).ok_or_else(invalid)?.to_string(),
        "extra_float_digits" => {
            let digits: i32 = value.parse().map_err(|_| invalid())?;
            if !(-15..=3).contains(&digits) {
                return Err(invalid());
            }
            digits.to_string()
        }
        "analyze_threshold_percent" | "wlm_query_slot_count" => {
            value.parse::<f64>().map_err(|_| invalid())?;
            value.to_string()
        }
        "timezone" => {
            let utc = ["utc", "gmt", "etc/utc", "etc/gmt", "z", "zulu", "+00", "00:00", "+00:00", "0", "universal"];
            if !utc.contains(&value.to_ascii_lowercase().as_str()) {
                return Err(Error::unsupported(format!(
                    "time zone \"{value}\" is not supported: Blueshift sessions run in UTC"
                )));
            }
            "UTC".into()
        }
        "datestyle" => {
            let upper = value.to_ascii_uppercase();
            let parts: Vec<&str> = upper.split(',').map(str::trim).collect();
            let known = ["ISO", "SQL", "POSTGRES", "GERMAN", "MDY", "DMY", "YMD", "US", "EURO", "EUROPEAN", "NONEURO", "NONEUROPEAN"];
            if parts.iter().any(|p| !known.contains(p)) {
                return Err(invalid());
            }
            if !parts.contains(&"ISO") {
                return Err(Error::unsupported(format!(
                    "DateStyle \"{value}\" is not supported: Blueshift formats dates as ISO"
                )));
            }
            let order = parts.iter().find(|p| ["MDY", "DMY", "YMD"].contains(p)).unwrap_or(&"MDY");
            format!("ISO, {order}")
        }
        "client_encoding" => {
            let upper = value.to_ascii_uppercase().replace('-', "");
            if upper != "UTF8" && upper != "UNICODE" {
                return Err(Error::unsupported(format!(
                    "client encoding \"{value}\" is not supported; use UTF8"
                )));
            }
            "UTF8".into()
        }
        "describe_field_name_in_uppercase" | "enable_case_sensitive_identifier" | "enable_result_cache_for_session" => {
            match value.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => "on".into(),
                "off" | "false" | "0" | "no" => "off".into(),
                _ => return Err(invalid()),
            }
        }
        _ => value.to_string(),
    })
}

/// A duration in milliseconds: a bare number, or with a unit (ms, s, min, h, d).
fn parse_duration_ms(value: &str) -> Option<u64> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    Some(number * factor)
}

/// Parses SET / SHOW / RESET statements (their grammar is small and sqlparser's AST for them
/// varies with the form, so they are read from tokens).
pub fn parse_setting_command(text: &str) -> Result<SettingCommand> {
    let words: Vec<Token> = tokenize(text)?
        .into_iter()
        .map(|t| t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
        .collect();
    let word = |i: usize| match words.get(i) {
        Some(Token::Word(w)) => Some(w.value.to_ascii_lowercase()),
        _ => None,
    };
    let syntax = || Error::syntax(format!("syntax error in \"{text}\""));
    match word(0).as_deref() {
        Some("show") => {
            let rest: Vec<String> = (1..words.len()).filter_map(word).collect();
            match rest.join(" ").as_str() {
                "all" => Ok(SettingCommand::ShowAll),
                "" => Err(syntax()),
                name => Ok(SettingCommand::Show(name.to_string())),
            }
        }
        Some("reset") => match word(1).as_deref() {
            Some("all") => Ok(SettingCommand::ResetAll),
            Some(_) => Ok(SettingCommand::Reset((1..words.len()).filter_map(word).collect::<Vec<_>>().join(" "))),
            None => Err(syntax()),
        },
        Some("set") => {
            let mut i = 1;
            if matches!(word(i).as_deref(), Some("session") | Some("local")) {
                i += 1;
            }
            let name = if word(i).as_deref() == Some("time") && word(i + 1).as_deref() == Some("zone") {
                i += 2;
                "timezone".to_string()
            } else {
                let name = word(i).ok_or_else(syntax)?;
                i += 1;
                if matches!(words.get(i), Some(Token::Eq)) || word(i).as_deref() == Some("to") {
                    i += 1;
                }
                name
            };
            let values: Vec<String> = words[i.min(words.len())..]
                .iter()
                .filter(|t| !matches!(t, Token::Comma | Token::Whitespace(Whitespace::Space)))
                .map(|t| match t {
                    Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Ok(s.clone()),
                    Token::Word(w) => Ok(w.value.clone()),
                    Token::Number(n, _) => Ok(n.clone()),
                    Token::Minus => Ok("-".to_string()),
                    _ => Err(syntax()),
                })
                .collect::<Result<_>>()?;
            if values.is_empty() {
                return Err(syntax());
            }
            if values.len() == 1 && values[0].eq_ignore_ascii_case("default") {
                return Ok(SettingCommand::Set { name, value: None });
            }
            // A leading minus sign belongs to the number after it.
            let mut joined: Vec<String> = Vec::new();
            let mut negate = false;
            for v in values {
                if v == "-" {
                    negate = true;
                } else if negate {
                    joined.push(format!("-{v}"));
                    negate = false;
                } else {
                    joined.push(v);
                }
            }
            Ok(SettingCommand::Set {
                name,
                value: Some(joined.join(", ")),
            })
        }
        _ => Err(syntax()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redshift_defaults_and_set_show_reset() {
        let mut s = Settings::new(SUPERUSER, None);
        assert_eq!(s.show("search_path").unwrap(), "$user, public");
        assert_eq!(s.show("DateStyle").unwrap(), "ISO, MDY");
        assert_eq!(s.show("timezone").unwrap(), "UTC");
        assert_eq!(s.show("server_version").unwrap(), "8.0.2");
        assert_eq!(s.show("server_version_num").unwrap_err().state, SqlState::UndefinedObject);
        s.set("statement_timeout", Some("5s")).unwrap();
        assert_eq!(s.statement_timeout(), Some(Duration::from_secs(5)));
        s.reset("statement_timeout").unwrap();
        assert_eq!(s.statement_timeout(), None);
        s.set("search_path", Some("analytics, public")).unwrap();
        assert_eq!(s.search_path(), vec!["analytics", "public"]);
        assert_eq!(Settings::new("bob", None).show("server_version").unwrap_err().state, SqlState::InsufficientPrivilege);
    }

    #[test]
    fn parses_set_forms() {
        assert_eq!(
            parse_setting_command("SET search_path TO 'a', public").unwrap(),
            SettingCommand::Set { name: "search_path".into(), value: Some("a, public".into()) }
        );
        assert_eq!(
            parse_setting_command("set extra_float_digits = -3").unwrap(),
            SettingCommand::Set { name: "extra_float_digits".into(), value: Some("-3".into()) }
        );
        assert_eq!(
            parse_setting_command("SET TIME ZONE 'UTC'").unwrap(),
            SettingCommand::Set { name: "timezone".into(), value: Some("UTC".into()) }
        );
        assert_eq!(
            parse_setting_command("SET SESSION statement_timeout TO DEFAULT").unwrap(),
            SettingCommand::Set { name: "statement_timeout".into(), value: None }
        );
        assert_eq!(
            parse_setting_command("SHOW TRANSACTION ISOLATION LEVEL").unwrap(),
            SettingCommand::Show("transaction isolation level".into())
        );
        assert_eq!(parse_setting_command("RESET ALL").unwrap(), SettingCommand::ResetAll);
    }
}
