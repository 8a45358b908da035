//! What replyd needs from the ITFlow schema, checked once at startup from
//! `information_schema`, and which API-key generation the database uses.

use crate::domain::flavour::EmailQueue;
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
            "log_created_at",
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
            "notification_timestamp",
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

/// What user-tied keys (database 2.4.7+) additionally need: the key's user,
/// role and client lists (ITFlow api/v1/enforce_api_rbac.php).
const REQUIRED_USER_TIED: &[(&str, &[&str])] = &[
    ("api_keys", &["api_key_user_id"]),
    (
        "users",
        &[
            "user_type",
            "user_status",
            "user_archived_at",
            "user_role_id",
        ],
    ),
    ("user_roles", &["role_id", "role_is_admin"]),
    ("modules", &["module_id", "module_name"]),
    (
        "user_role_permissions",
        &["user_role_id", "module_id", "user_role_permission_level"],
    ),
    ("user_client_permissions", &["user_id", "client_id"]),
];

/// Agents' roles and client lists, for a reply written on behalf of an
/// agent (`author_user_id`): without them every active agent may work on
/// every client, as in ITFlow before client permissions.
const AGENT_ACCESS: &[(&str, &[&str])] = &[
    ("user_roles", &["role_id", "role_is_admin"]),
    ("user_client_permissions", &["user_id", "client_id"]),
];

/// Files attached to replies (ITFlow's `ticket_attachments`).
const ATTACHMENT_PARTS: &[(&str, &[&str])] = &[(
    "ticket_attachments",
    &[
        "ticket_attachment_id",
        "ticket_attachment_name",
        "ticket_attachment_reference_name",
        "ticket_attachment_created_at",
        "ticket_attachment_ticket_id",
        "ticket_attachment_reply_id",
    ],
)];

/// The SLA machinery of ITFlow 2.5+ (functions/sla.php): all of it, or
/// replyd leaves SLA columns alone.
const SLA_PARTS: &[(&str, &[&str])] = &[
    (
        "tickets",
        &[
            "ticket_sla_id",
            "ticket_archived_at",
            "ticket_response_due_at",
            "ticket_resolution_due_at",
            "ticket_response_sla_met",
            "ticket_resolution_sla_met",
            "ticket_resolution_sla_alert_stage",
            "ticket_created_at",
        ],
    ),
    ("slas", &["sla_id", "sla_resolution_minutes"]),
    (
        "sla_history",
        &[
            "sla_history_id",
            "sla_history_started_at",
            "sla_history_ended_at",
            "sla_history_minutes",
            "sla_history_ticket_id",
        ],
    ),
    ("ticket_statuses", &["ticket_status_pauses_sla"]),
    (
        "settings",
        &[
            "config_business_days",
            "config_business_hours_start",
            "config_business_hours_end",
        ],
    ),
];

const TICKET_HISTORY: &[(&str, &[&str])] = &[(
    "ticket_history",
    &[
        "ticket_history_status",
        "ticket_history_description",
        "ticket_history_created_at",
        "ticket_history_ticket_id",
    ],
)];

/// What queuing a public-reply email needs: `email_queue` as ITFlow 2.4.4
/// has it (without `email_attachments`), the settings, contact, company and
/// watchers the email is built from.
const EMAIL_QUEUE_PARTS: &[(&str, &[&str])] = &[
    (
        "email_queue",
        &[
            "email_recipient",
            "email_recipient_name",
            "email_from",
            "email_from_name",
            "email_subject",
            "email_content",
            "email_queued_at",
            "email_cal_str",
        ],
    ),
    (
        "settings",
        &[
            "config_smtp_provider",
            "config_ticket_from_name",
            "config_ticket_from_email",
        ],
    ),
    (
        "ticket_watchers",
        &["watcher_name", "watcher_email", "watcher_ticket_id"],
    ),
    (
        "companies",
        &[
            "company_id",
            "company_name",
            "company_phone",
            "company_phone_country_code",
        ],
    ),
    ("tickets", &["ticket_url_key", "ticket_contact_id"]),
    ("contacts", &["contact_email"]),
];

/// What ITFlow 2.6's own emails (its API's public reply, the portal's
/// email to the assigned agent) need besides: `email_attachments` (2.5.7).
const EMAIL_ATTACHMENTS: &[(&str, &[&str])] = &[("email_queue", &["email_attachments"])];

/// Agents' email signatures (`user_settings.user_config_signature`), which
/// the agent UI appends to a reply it emails.
const SIGNATURES: &[(&str, &[&str])] = &[("user_settings", &["user_id", "user_config_signature"])];

/// Optional parts replyd uses when present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// `ticket_history` (the per-ticket trail of agent/ticket.php).
    pub ticket_history: bool,
    /// SLA columns, `slas`, `sla_history`, business hours.
    pub sla: bool,
    /// `user_client_permissions.permission_type` (allow/deny, 2.4.6+);
    /// without it every row is an allow.
    pub permission_type: bool,
    /// `email_queue` with `email_attachments` (ITFlow 2.5.7+) and what
    /// ITFlow 2.6's emails are built from.
    pub email: bool,
    /// `email_queue` (with or without `email_attachments`) and what the
    /// agent UI's public-reply email is built from (ITFlow 2.4.4+).
    pub email_queue: bool,
    /// `email_queue.email_attachments` (ITFlow 2.5.7+).
    pub email_attachments: bool,
    /// `settings.config_smtp_host`, which ITFlow 2.4.4's agent UI also
    /// takes as "mail is configured".
    pub smtp_host: bool,
    /// `user_settings.user_config_signature`.
    pub signatures: bool,
    /// `user_roles` and `user_client_permissions`, whatever the key
    /// generation.
    pub agent_access: bool,
    /// `ticket_attachments`.
    pub attachments: bool,
}

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
    pub features: Features,
}

impl SchemaInfo {
    /// The write behaviour of this database, decided once.
    pub fn flavour(&self) -> crate::domain::Flavour {
        crate::domain::Flavour::new(
            self.key_generation == KeyGeneration::UserTied,
            self.features.ticket_history,
            self.features.sla,
            self.features.email,
        )
        .with_allow_deny_lists(self.features.permission_type)
        .with_agent_lists(self.features.agent_access)
        .with_agent_email(self.features.email_queue.then_some(EmailQueue {
            attachments_column: self.features.email_attachments,
            smtp_host_column: self.features.smtp_host,
            signatures: self.features.signatures,
        }))
        .with_attachments(self.features.attachments)
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "ticket_history: {}, SLA clock: {}, client allow/deny lists: {}, email queue: {}",
            yes(self.ticket_history),
            yes(self.sla),
            yes(self.permission_type),
            match (self.email, self.email_queue) {
                (true, _) => "yes",
                (false, true) => "yes, without email_attachments",
                (false, false) => "no",
            }
        )
    }
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

    let missing_of = |parts: &[(&str, &[&str])]| -> Vec<String> {
        let mut missing = Vec::new();
        for (table, columns) in parts {
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
        missing
    };

    let mut missing = missing_of(REQUIRED);
    let key_generation = if has("api_keys", "api_key_client_id") {
        KeyGeneration::ClientScoped
    } else if has("api_keys", "api_key_user_id") {
        missing.extend(missing_of(REQUIRED_USER_TIED));
        KeyGeneration::UserTied
    } else {
        missing.push("column api_keys.api_key_client_id or api_keys.api_key_user_id".into());
        KeyGeneration::ClientScoped
    };
    if !missing.is_empty() {
        return Err(SchemaError::Missing {
            database,
            missing: missing.join(", "),
        });
    }
    let features = Features {
        ticket_history: missing_of(TICKET_HISTORY).is_empty(),
        sla: missing_of(SLA_PARTS).is_empty(),
        permission_type: has("user_client_permissions", "permission_type"),
        email: missing_of(EMAIL_QUEUE_PARTS).is_empty() && missing_of(EMAIL_ATTACHMENTS).is_empty(),
        email_queue: missing_of(EMAIL_QUEUE_PARTS).is_empty(),
        email_attachments: missing_of(EMAIL_ATTACHMENTS).is_empty(),
        smtp_host: has("settings", "config_smtp_host"),
        signatures: missing_of(SIGNATURES).is_empty(),
        agent_access: missing_of(AGENT_ACCESS).is_empty(),
        attachments: missing_of(ATTACHMENT_PARTS).is_empty(),
    };
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
        features,
    })
}
