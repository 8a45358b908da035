//! Reads the database settings from an ITFlow install's `config.php`, so an
//! administrator does not keep a second copy of the password. ITFlow's setup
//! (setup/index.php) writes them as plain assignments:
//! `$dbhost = 'localhost';`, `$dbusername`, `$dbpassword`, `$database`.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItflowDbConfig {
    pub host: String,
    pub username: String,
    pub password: String,
    pub database: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigPhpError {
    #[error("cannot read ITFlow's config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ITFlow's config file {path} does not set ${var} as a quoted string")]
    Missing { path: PathBuf, var: &'static str },
}

impl ItflowDbConfig {
    /// Read `<itflow_root>/config.php`.
    pub fn load(itflow_root: &Path) -> Result<Self, ConfigPhpError> {
        let path = itflow_root.join("config.php");
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigPhpError::Read {
            path: path.clone(),
            source,
        })?;
        let get = |var: &'static str| {
            php_string_assignment(&text, var).ok_or(ConfigPhpError::Missing {
                path: path.clone(),
                var,
            })
        };
        Ok(Self {
            host: get("dbhost")?,
            username: get("dbusername")?,
            password: get("dbpassword")?,
            database: get("database")?,
        })
    }
}

/// The value of the last `$var = '...';` or `$var = "...";` in `text`
/// (PHP: the last assignment wins). Single-quoted strings unescape `\'` and
/// `\\`; double-quoted ones the common escapes. Comments are not parsed: an
/// assignment inside a comment line starting with `//` or `#` is skipped.
pub fn php_string_assignment(text: &str, var: &str) -> Option<String> {
    let needle = format!("${var}");
    let mut found = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") || trimmed.starts_with('#') || trimmed.starts_with('*') {
            continue;
        }
        let mut rest = trimmed;
        while let Some(pos) = rest.find(&needle) {
            let after = &rest[pos + needle.len()..];
            // `$database` must not match `$database_x`.
            if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                rest = after;
                continue;
            }
            let after = after.trim_start();
            if let Some(value) = after.strip_prefix('=')
                && let Some(v) = parse_php_string(value.trim_start())
            {
                found = Some(v);
            }
            rest = after;
        }
    }
    found
}

fn parse_php_string(s: &str) -> Option<String> {
    let mut chars = s.chars();
    let quote = chars.next()?;
    if quote != '\'' && quote != '"' {
        return None;
    }
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            c if c == quote => return Some(out),
            '\\' => {
                let n = chars.next()?;
                match (quote, n) {
                    ('\'', '\'' | '\\') => out.push(n),
                    ('\'', _) => {
                        out.push('\\');
                        out.push(n);
                    }
                    (_, 'n') => out.push('\n'),
                    (_, 't') => out.push('\t'),
                    (_, 'r') => out.push('\r'),
                    (_, '"' | '\\' | '$') => out.push(n),
                    (_, _) => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?php
$dbhost = 'localhost';
$dbusername = "itflow";
$dbpassword = 'p\'a$s\\w"d';
// $database = 'commented';
$database = 'itflow_db';
$database_extra = 'nope';
$mysqli = mysqli_connect($dbhost, $dbusername, $dbpassword, $database);
"#;

    #[test]
    fn reads_the_four_variables() {
        assert_eq!(
            php_string_assignment(SAMPLE, "dbhost").as_deref(),
            Some("localhost")
        );
        assert_eq!(
            php_string_assignment(SAMPLE, "dbusername").as_deref(),
            Some("itflow")
        );
        assert_eq!(
            php_string_assignment(SAMPLE, "dbpassword").as_deref(),
            Some("p'a$s\\w\"d")
        );
        assert_eq!(
            php_string_assignment(SAMPLE, "database").as_deref(),
            Some("itflow_db")
        );
        assert_eq!(php_string_assignment(SAMPLE, "nothere"), None);
    }

    #[test]
    fn load_reports_missing_file_and_variable() {
        let dir = std::env::temp_dir().join(format!("replyd-cfgphp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = ItflowDbConfig::load(&dir).unwrap_err();
        assert!(
            err.to_string().contains("cannot read ITFlow's config file"),
            "{err}"
        );
        std::fs::write(dir.join("config.php"), "<?php\n$dbhost = 'h';\n").unwrap();
        let err = ItflowDbConfig::load(&dir).unwrap_err();
        assert!(err.to_string().contains("$dbusername"), "{err}");
        std::fs::write(dir.join("config.php"), SAMPLE).unwrap();
        let cfg = ItflowDbConfig::load(&dir).unwrap();
        assert_eq!(cfg.database, "itflow_db");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
