//! What differs between the ITFlow versions replyd serves (database 2.4.4
//! to 2.6.7), decided once at startup from the schema
//! (`db::schema::SchemaInfo::flavour`) and asked here, never re-derived
//! elsewhere.
//!
//! A new ITFlow version that writes differently is a new answer in this
//! file (and, where the rows differ, in a planner: `domain/plan_*.rs`); the
//! writer (`db/writer.rs`) only applies plans.

/// The write behaviour of one ITFlow database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavour {
    user_tied_keys: bool,
    allow_deny_lists: bool,
    ticket_history: bool,
    sla: bool,
    email_queue: bool,
    agent_lists: bool,
    attachments: bool,
}

/// How `api_keys` grants access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyModel {
    /// Up to ITFlow 2.4.6: `api_key_client_id`, 0 meaning every client.
    ClientScoped,
    /// From 2.4.7: `api_key_user_id`, the key acts as its user;
    /// `allow_deny_lists`: `user_client_permissions.permission_type`
    /// (2.4.6+), without which every row is an allow.
    UserTied { allow_deny_lists: bool },
}

/// Which texts the `logs` rows of a reply carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTexts {
    /// ITFlow up to 2.4.6: the agent reply handler's own texts
    /// (agent/post/ticket.php, add_ticket_reply).
    AgentUi,
    /// ITFlow 2.4.7 to 2.6.7: the API's texts (api/v1/ticket_replies/
    /// create.php), plus an `API`/`Success` row.
    Api,
}

impl Flavour {
    /// `user_tied_keys`: `api_keys.api_key_user_id` (2.4.7+); the others:
    /// whether `ticket_history`, the SLA machinery and `email_queue` exist.
    pub fn new(user_tied_keys: bool, ticket_history: bool, sla: bool, email_queue: bool) -> Self {
        Flavour {
            user_tied_keys,
            allow_deny_lists: false,
            ticket_history,
            sla,
            email_queue,
            agent_lists: false,
            attachments: false,
        }
    }

    /// The same, on a database with `ticket_attachments`.
    pub fn with_attachments(self, yes: bool) -> Self {
        Flavour {
            attachments: yes,
            ..self
        }
    }

    /// Whether replies can carry files (`ticket_attachments`).
    pub fn stores_attachments(&self) -> bool {
        self.attachments
    }

    /// The same, on a database with `user_roles` and
    /// `user_client_permissions` (agents' roles and client lists).
    pub fn with_agent_lists(self, yes: bool) -> Self {
        Flavour {
            agent_lists: yes,
            ..self
        }
    }

    /// How an agent's access to clients is read: None when the database
    /// has no roles and client lists (every active agent may work on every
    /// client), else whether the lists carry allow/deny types.
    pub fn agent_lists(&self) -> Option<bool> {
        self.agent_lists.then_some(self.allow_deny_lists)
    }

    /// The same, on a database whose `user_client_permissions` has
    /// `permission_type` (allow and deny lists).
    pub fn with_allow_deny_lists(self, yes: bool) -> Self {
        Flavour {
            allow_deny_lists: yes,
            ..self
        }
    }

    /// How API keys grant access.
    pub fn key_model(&self) -> KeyModel {
        if self.user_tied_keys {
            KeyModel::UserTied {
                allow_deny_lists: self.allow_deny_lists,
            }
        } else {
            KeyModel::ClientScoped
        }
    }

    /// The log texts a reply written through the API carries.
    pub fn log_texts(&self) -> LogTexts {
        if self.user_tied_keys {
            LogTexts::Api
        } else {
            LogTexts::AgentUi
        }
    }

    /// Whether `ticket_history` exists (ITFlow 2.6).
    pub fn has_ticket_history(&self) -> bool {
        self.ticket_history
    }

    /// Whether ITFlow 2.6.7's API writes `ticket_history` rows here: on
    /// databases of its generation that have the table.
    pub fn api_writes_history(&self) -> bool {
        self.user_tied_keys && self.ticket_history
    }

    /// Whether the SLA clock and verdicts (functions/sla.php) are kept.
    pub fn keeps_sla_clock(&self) -> bool {
        self.sla
    }

    /// Whether public-reply emails can be queued (`email_queue` and the
    /// settings and columns ITFlow's email is built from).
    pub fn has_email_queue(&self) -> bool {
        self.email_queue
    }
}
