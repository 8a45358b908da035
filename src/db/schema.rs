//! What replyd needs from the ITFlow schema, checked once at startup from
//! `information_schema`, and which API-key generation the database uses.

use mysql_async::{Conn, Opts, Pool, prelude::*};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Columns replyd reads or writes, by table (first-generation keys).
const REQUIRED: &[(&str, &[&str])] = &[
    (
        "api_keys",
        &[
            "api_key_id",
            "api_key_name",
            "api_key_secret",
            "api_key_expire",
        ],
    ),
    (
        "ticket_replies",
        &[
            "ticket_reply_id",
            "ticket_reply",
            "ticket_reply_type",
            "ticket_reply_time_worked",
            "ticket_reply_created_at",
            "ticket_reply_archived_at",
            "ticket_reply_by",
            "ticket_reply_ticket_id",
        ],
    ),
    (
        "tickets",
        &[
            "ticket_id",
            "ticket_prefix",
            "ticket_number",
            "ticket_subject",
            "ticket_status",
            "ticket_client_id",
            "ticket_created_by",
            "ticket_assigned_to",
            "ticket_updated_at",
            "ticket_resolved_at",
            "ticket_first_response_at",
            "ticket_closed_at",
        ],
    ),
    (
        "ticket_statuses",
        &["ticket_status_id", "ticket_status_active"],
    ),
    ("tasks", &["task_ticket_id", "task_completed_at"]),
    ("users", &["user_id", "user_name"]),
    ("contacts", &["contact_id", "contact_name"]),
    (
        "logs",
        &[
            "log_type",
            "log_action",
            "log_description",
            "log_ip",
            "log_user_agent",
            "log_client_id",
            "log_user_id",
            "log_entity_id",
        ],
    ),
    (
        "notifications",
        &[
            "notification_type",
            "notification",
            "notification_action",
            "notification_client_id",
            "notification_user_id",
        ],
    ),
    (
        "settings",
        &[
            "company_id",
            "config_current_database_version",
            "config_timezone",
        ],
    ),
];

/// How `api_keys` grants access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyGeneration {
    /// Up to database 2.4.6: `api_key_client_id`, 0 meaning every client.
    ClientScoped,
    /// From database 2.4.7: `api_key_user_id`, the key acts as a user.
    UserTied,
}

impl fmt::Display for KeyGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyGeneration::ClientScoped => "client-scoped keys (api_keys.api_key_client_id)",
            KeyGeneration::UserTied => "user-tied keys (api_keys.api_key_user_id)",
        })
    }
}

/// What startup learned about the database.
#[derive(Debug, Clone)]
pub struct SchemaInfo {
    pub database: String,
    pub itflow_version: String,
    pub key_generation: KeyGeneration,
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot reach the database: {0}")]
    Connect(#[source] mysql_async::Error),
    #[error("reading the database's schema failed: {0}")]
    Query(#[source] mysql_async::Error),
    #[error("the connection names no database: add the database name to database_url")]
    NoDatabase,
    #[error(
        "database `{database}` lacks what replyd needs ({missing}); point replyd at an ITFlow database of version 2.4.4 or later"
    )]
    Missing { database: String, missing: String },
    #[error(
        "database `{0}` uses user-tied API keys (ITFlow database 2.4.7 or later), which this replyd does not serve yet: it needs api_keys.api_key_client_id"
    )]
    UnsupportedGeneration(String),
    #[error("table settings of database `{0}` has no row for company 1; is ITFlow set up?")]
    NoSettingsRow(String),
}

/// Check every table and column replyd uses, detect the key generation and
/// read ITFlow's database version. Uses a connection of its own, closed
/// afterwards, so the pool only ever holds connections made by the server.
pub async fn inspect(opts: Opts) -> Result<SchemaInfo, SchemaError> {
    let mut conn = Conn::new(opts).await.map_err(SchemaError::Connect)?;
    let result = inspect_on(&mut conn).await;
    let _ = conn.disconnect().await;
    result
}

/// The same check on a connection from `pool` (for /readyz).
pub async fn inspect_pool(pool: &Pool) -> Result<SchemaInfo, SchemaError> {
    let mut conn = pool.get_conn().await.map_err(SchemaError::Connect)?;
    inspect_on(&mut conn).await
}

async fn inspect_on(conn: &mut Conn) -> Result<SchemaInfo, SchemaError> {
    let database: Option<String> = conn
        .query_first("SELECT DATABASE()")
        .await
        .map_err(SchemaError::Query)?
        .flatten();
    let database = database.ok_or(SchemaError::NoDatabase)?;
    let rows: Vec<(String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?",
            (&database,),
        )
        .await
        .map_err(SchemaError::Query)?;
    let mut present: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (table, column) in rows {
        present.entry(table).or_default().insert(column);
    }
    let has = |t: &str, c: &str| present.get(t).is_some_and(|cols| cols.contains(c));

    let mut missing = Vec::new();
    for (table, columns) in REQUIRED {
        if !present.contains_key(*table) {
            missing.push(format!("table {table}"));
            continue;
        }
        for column in *columns {
            if !has(table, column) {
                missing.push(format!("column {table}.{column}"));
            }
        }
    }
    if !missing.is_empty() {
        return Err(SchemaError::Missing {
            database,
            missing: missing.join(", "),
        });
    }
    let key_generation = if has("api_keys", "api_key_client_id") {
        KeyGeneration::ClientScoped
    } else if has("api_keys", "api_key_user_id") {
        KeyGeneration::UserTied
    } else {
        return Err(SchemaError::Missing {
            database,
            missing: "column api_keys.api_key_client_id".into(),
        });
    };
    if key_generation == KeyGeneration::UserTied {
        return Err(SchemaError::UnsupportedGeneration(database));
    }
    let itflow_version: Option<String> = conn
        .query_first("SELECT config_current_database_version FROM settings WHERE company_id = 1")
        .await
        .map_err(SchemaError::Query)?;
    let itflow_version =
        itflow_version.ok_or_else(|| SchemaError::NoSettingsRow(database.clone()))?;
    Ok(SchemaInfo {
        database,
        itflow_version,
        key_generation,
    })
}
