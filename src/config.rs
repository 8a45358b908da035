//! Typed configuration: `config/replyd.toml` (or `--config PATH`), then
//! `REPLYD_*` environment variables over it.

use crate::php::config_php::{ConfigPhpError, ItflowDbConfig};
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use mysql_async::{Opts, OptsBuilder};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The config file read when `--config` is not given (if it exists).
pub const DEFAULT_CONFIG_PATH: &str = "config/replyd.toml";

/// Every key, as it appears after `REPLYD_` in the environment.
const ENV_KEYS: [&str; 24] = [
    "itflow_base_url",
    "email_replies",
    "listen",
    "database_url",
    "itflow_root",
    "legacy_author_user_id",
    "max_body_bytes",
    "max_page_size",
    "max_answer_bytes",
    "trusted_proxies",
    "db_pool_max",
    "workers",
    "key_cache_ttl_secs",
    "db_timeout_ms",
    "shutdown_timeout_secs",
    "metrics_allow",
    "body_timeout_ms",
    "max_connections",
    "uploads_dir",
    "max_attachment_bytes",
    "max_upload_bytes",
    "upload_timeout_ms",
    "rate_limit_per_second",
    "rate_limit_burst",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on. Env: REPLYD_LISTEN.
    pub listen: String,
    /// `mysql://user:pass@host:port/dbname`. Env: REPLYD_DATABASE_URL.
    pub database_url: Option<String>,
    /// ITFlow install whose config.php holds the database settings, used
    /// when `database_url` is not set. Env: REPLYD_ITFLOW_ROOT.
    pub itflow_root: Option<PathBuf>,
    /// ITFlow's address as in its config.php `$config_base_url` (host and
    /// path, no scheme), for the portal link in queued reply emails. Read
    /// from `itflow_root`'s config.php when unset. Env: REPLYD_ITFLOW_BASE_URL.
    pub itflow_base_url: Option<String>,
    /// Whether create.php's `public_reply_type` 2 queues the agent UI's
    /// emails to the ticket's contact and watchers in ITFlow's
    /// `email_queue` (ITFlow's own mail cron sends them); off, it is
    /// refused. Env: REPLYD_EMAIL_REPLIES.
    pub email_replies: bool,
    /// `users.user_id` recorded as author of replies written with a
    /// first-generation key (which belongs to no user). 0: nobody.
    pub legacy_author_user_id: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest replyd waits for a request's body once its head has arrived;
    /// then HTTP 408 and the connection is closed. Env: REPLYD_BODY_TIMEOUT_MS.
    pub body_timeout_ms: u64,
    /// Most client connections open at once (shared out among the HTTP
    /// workers); further clients wait in the listen backlog until one
    /// closes. Env: REPLYD_MAX_CONNECTIONS.
    pub max_connections: usize,
    /// Largest `limit` honoured by read.php; larger values are clamped.
    pub max_page_size: u64,
    /// Largest read.php answer, in bytes: a read whose answer would be
    /// larger is refused (HTTP 200, success "False"), asking for fewer
    /// replies. Answers past 1 MiB are kept in an unlinked temporary
    /// file, not in memory, so this bounds disk use, not memory.
    /// Env: REPLYD_MAX_ANSWER_BYTES.
    pub max_answer_bytes: u64,
    /// Peers whose `X-Forwarded-For` is believed (nginx on loopback).
    pub trusted_proxies: Vec<IpAddr>,
    /// Most database connections replyd keeps open.
    pub db_pool_max: usize,
    /// Threads serving HTTP. 0: half the CPUs, at least one (the database
    /// on the same machine does most of each request's work; see
    /// BENCHMARKS.md). Env: REPLYD_WORKERS.
    pub workers: usize,
    /// Seconds a valid API key is remembered after a lookup, so repeated
    /// requests with it skip the key query; a key deleted or expired in
    /// `api_keys` keeps working at most this long. 0: look up every time.
    pub key_cache_ttl_secs: u64,
    /// Longest a request waits for the database (a connection, then its
    /// statements) before it is answered 503. Env: REPLYD_DB_TIMEOUT_MS.
    pub db_timeout_ms: u64,
    /// On SIGTERM/SIGINT, how long in-flight requests may run before they are
    /// cut off. Env: REPLYD_SHUTDOWN_TIMEOUT_SECS.
    pub shutdown_timeout_secs: u64,
    /// Client addresses allowed to read /metrics; empty: nobody.
    /// Env: REPLYD_METRICS_ALLOW.
    pub metrics_allow: Vec<IpAddr>,
    /// ITFlow's `uploads` folder, where attachments are stored (under
    /// `tickets/<ticket_id>/`). Unset: `<itflow_root>/uploads`; neither:
    /// attachments are refused. Env: REPLYD_UPLOADS_DIR.
    pub uploads_dir: Option<PathBuf>,
    /// Largest attachment, in bytes; larger files get HTTP 413.
    /// Env: REPLYD_MAX_ATTACHMENT_BYTES.
    pub max_attachment_bytes: u64,
    /// Largest multipart/form-data request body, in bytes (other bodies:
    /// `max_body_bytes`). Env: REPLYD_MAX_UPLOAD_BYTES.
    pub max_upload_bytes: usize,
    /// Longest a multipart/form-data body may take to arrive, in
    /// milliseconds (other bodies: `body_timeout_ms`).
    /// Env: REPLYD_UPLOAD_TIMEOUT_MS.
    pub upload_timeout_ms: u64,
    /// `/api/v2` requests each API key (else each client address) may send
    /// per second, on average, to this replyd process. 0: no limit.
    /// Env: REPLYD_RATE_LIMIT_PER_SECOND.
    pub rate_limit_per_second: u32,
    /// How many `/api/v2` requests a key may send at once before
    /// `rate_limit_per_second` paces it. 0: no limit.
    /// Env: REPLYD_RATE_LIMIT_BURST.
    pub rate_limit_burst: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8091".into(),
            database_url: None,
            itflow_root: None,
            itflow_base_url: None,
            email_replies: false,
            legacy_author_user_id: 0,
            max_body_bytes: 1024 * 1024,
            body_timeout_ms: 5000,
            max_connections: 256,
            max_page_size: 1000,
            max_answer_bytes: 1024 * 1024 * 1024,
            trusted_proxies: loopback(),
            db_pool_max: 32,
            workers: 0,
            key_cache_ttl_secs: 5,
            db_timeout_ms: 5000,
            shutdown_timeout_secs: 30,
            metrics_allow: loopback(),
            uploads_dir: None,
            max_attachment_bytes: 25 * 1024 * 1024,
            max_upload_bytes: 100 * 1024 * 1024,
            upload_timeout_ms: 120_000,
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
        }
    }
}

/// 127.0.0.1 and ::1.
fn loopback() -> Vec<IpAddr> {
    vec![
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]),
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist; pass an existing file to --config")]
    FileMissing(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error(
        "no database configured: set database_url (env REPLYD_DATABASE_URL) or itflow_root (env REPLYD_ITFLOW_ROOT)"
    )]
    NoDatabase,
    #[error("database_url is not a valid mysql:// URL: {0}")]
    BadUrl(String),
    #[error(transparent)]
    ConfigPhp(#[from] ConfigPhpError),
}

impl Settings {
    /// How many HTTP worker threads to run: `workers`, or for 0 half the
    /// CPUs this process may use, at least one.
    pub fn worker_threads(&self) -> usize {
        if self.workers > 0 {
            return self.workers;
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cpus / 2).max(1)
    }

    /// `itflow_base_url`, else `$config_base_url` from ITFlow's config.php,
    /// else empty.
    pub fn base_url(&self) -> String {
        if let Some(url) = &self.itflow_base_url {
            return url.clone();
        }
        self.itflow_root
            .as_deref()
            .and_then(|root| std::fs::read_to_string(root.join("config.php")).ok())
            .and_then(|text| {
                crate::php::config_php::php_string_assignment(&text, "config_base_url")
            })
            .unwrap_or_default()
    }

    /// ITFlow's uploads folder: `uploads_dir`, else `<itflow_root>/uploads`.
    pub fn uploads(&self) -> Option<crate::uploads::Uploads> {
        let dir = match (&self.uploads_dir, &self.itflow_root) {
            (Some(dir), _) => dir.clone(),
            (None, Some(root)) => root.join("uploads"),
            (None, None) => return None,
        };
        Some(crate::uploads::Uploads::new(&dir))
    }

    /// `upload_timeout_ms` as a duration (at least 1 ms).
    pub fn upload_timeout(&self) -> Duration {
        Duration::from_millis(self.upload_timeout_ms.max(1))
    }

    /// `$config_app_name` from ITFlow's config.php (its setup writes
    /// `ITFlow`), else `ITFlow`: the name in the subject of the email a
    /// customer's reply queues for the assigned agent.
    pub fn app_name(&self) -> String {
        self.itflow_root
            .as_deref()
            .and_then(|root| std::fs::read_to_string(root.join("config.php")).ok())
            .and_then(|text| {
                crate::php::config_php::php_string_assignment(&text, "config_app_name")
            })
            .unwrap_or_else(|| "ITFlow".to_owned())
    }

    /// Load from `path` (must exist) or, without one, from
    /// `config/replyd.toml` when present; `REPLYD_*` variables win.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match path {
            Some(p) if !p.exists() => return Err(ConfigError::FileMissing(p.to_path_buf())),
            Some(p) => figment = figment.merge(Toml::file_exact(p)),
            None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_PATH))
            }
            None => {}
        }
        figment
            // Only the known keys: other REPLYD_* variables (the test suite's
            // REPLYD_TEST_DATABASE_URL, say) are not configuration.
            .merge(Env::prefixed("REPLYD_").only(&ENV_KEYS))
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// `body_timeout_ms` as a duration (at least 1 ms).
    pub fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms.max(1))
    }

    /// actix-web's `max_connections` is per worker: `max_connections`
    /// shared out among `workers` (rounded up, at least one each).
    pub fn connections_per_worker(&self) -> usize {
        self.max_connections.div_ceil(self.worker_threads()).max(1)
    }

    /// `db_timeout_ms` as a duration (at least 1 ms).
    pub fn db_timeout(&self) -> Duration {
        Duration::from_millis(self.db_timeout_ms.max(1))
    }

    /// Connection options: `database_url`, else ITFlow's config.php.
    pub fn database_opts(&self) -> Result<Opts, ConfigError> {
        if let Some(url) = self.database_url.as_deref().filter(|u| !u.is_empty()) {
            return Opts::from_url(url).map_err(|e| ConfigError::BadUrl(e.to_string()));
        }
        let root = self.itflow_root.as_deref().ok_or(ConfigError::NoDatabase)?;
        let php = ItflowDbConfig::load(root)?;
        // mysqli treats "localhost" as the local server; so does this: TCP
        // first, then mysql_async's prefer_socket moves to the server's Unix
        // socket when it is reachable.
        let (host, port) = match php.host.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().unwrap_or(3306)),
            _ => (php.host.clone(), 3306),
        };
        Ok(OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port)
            .user(Some(php.username))
            .pass(Some(php.password))
            .db_name(Some(php.database))
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const EXAMPLE: &str = include_str!("../config/replyd.example.toml");

    #[test]
    fn workers_default_to_half_the_cpus() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let auto = Settings::default().worker_threads();
        assert_eq!(auto, (cpus / 2).max(1));
        let set = Settings {
            workers: 3,
            ..Settings::default()
        };
        assert_eq!(set.worker_threads(), 3);
    }

    #[test]
    fn every_key_has_an_env_variable_and_is_documented_in_the_example() {
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        let keys: BTreeSet<&str> = defaults
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ENV_KEYS.iter().copied().collect());
        for key in keys {
            let set = format!("{key} = ");
            assert!(
                EXAMPLE
                    .lines()
                    .any(|l| l.starts_with(&set) || l.starts_with(&format!("# {set}"))),
                "config/replyd.example.toml does not show {key}"
            );
            let env = format!("REPLYD_{}", key.to_uppercase());
            assert!(EXAMPLE.contains(&env), "the example does not name {env}");
        }
    }

    #[test]
    fn the_example_is_the_defaults() {
        let example: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(EXAMPLE))
            .extract()
            .unwrap();
        assert_eq!(
            serde_json::to_value(example).unwrap(),
            serde_json::to_value(Settings::default()).unwrap()
        );
    }
}
