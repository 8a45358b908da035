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
    agent_email: Option<EmailQueue>,
    attachments: bool,
}

/// The `email_queue` a database has for the agent UI's public-reply email
/// (any ITFlow from 2.4.4), and the columns around it that vary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmailQueue {
    /// `email_queue.email_attachments` (ITFlow 2.5.7+).
    pub attachments_column: bool,
    /// `settings.config_smtp_host`.
    pub smtp_host_column: bool,
    /// `user_settings.user_config_signature`.
    pub signatures: bool,
}

/// What makes ITFlow's agent UI take mail to be configured, so that a
/// "Public + email" reply queues its emails (agent/post/ticket.php,
/// add_ticket_reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailSetting {
    /// `config_smtp_host` or `config_smtp_provider` not empty: the 2.4.4
    /// release.
    SmtpHostOrProvider,
    /// `config_smtp_provider` not empty (the host is blank under OAuth):
    /// ITFlow from mid-2026 (database 2.4.5 on, and 2.6.7).
    SmtpProvider,
}

impl MailSetting {
    /// The setting(s) to name when mail is not configured.
    pub fn settings(self) -> &'static str {
        match self {
            MailSetting::SmtpHostOrProvider => "config_smtp_host or config_smtp_provider",
            MailSetting::SmtpProvider => "config_smtp_provider",
        }
    }

    /// Whether these settings values say mail is configured (PHP
    /// `!empty()`: neither NULL, '' nor '0').
    pub fn configured(self, host: Option<&str>, provider: Option<&str>) -> bool {
        let set = |v: Option<&str>| v.is_some_and(|v| !v.is_empty() && v != "0");
        match self {
            MailSetting::SmtpHostOrProvider => set(host) || set(provider),
            MailSetting::SmtpProvider => set(provider),
        }
    }
}

/// How the agent UI's "Public + email" reply is queued on this database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentEmail {
    pub configured_by: MailSetting,
    /// `email_queue` has `email_attachments` (written `''` or a manifest).
    pub attachments_column: bool,
    /// The author's `user_config_signature` can be read.
    pub signatures: bool,
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
            agent_email: None,
            attachments: false,
        }
    }

    /// The same, on a database with an `email_queue` (and what the agent
    /// UI's public-reply email is built from): `queue`; None without.
    pub fn with_agent_email(self, queue: Option<EmailQueue>) -> Self {
        Flavour {
            agent_email: queue,
            ..self
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

    /// How the agent UI's "Public + email" reply (`public_reply_type` 2 of
    /// the legacy dialect) is queued here; None: the database has no email
    /// queue.
    ///
    /// ITFlow changed its "mail is configured" test in June 2026 from the
    /// SMTP host or provider to the provider alone, while its database
    /// stayed at version 2.4.4; no column marks that change, so the 2.4.4
    /// release's test holds until the first database change replyd can see
    /// after it, `user_client_permissions.permission_type` (2.4.6).
    pub fn agent_email(&self) -> Option<AgentEmail> {
        let queue = self.agent_email?;
        let newer = self.allow_deny_lists || self.user_tied_keys;
        Some(AgentEmail {
            configured_by: if queue.smtp_host_column && !newer {
                MailSetting::SmtpHostOrProvider
            } else {
                MailSetting::SmtpProvider
            },
            attachments_column: queue.attachments_column,
            signatures: queue.signatures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_uis_mail_setting_by_version() {
        let queue = |attachments_column, smtp_host_column| EmailQueue {
            attachments_column,
            smtp_host_column,
            signatures: true,
        };
        let v244 =
            Flavour::new(false, false, false, false).with_agent_email(Some(queue(false, true)));
        let v246 = v244.with_allow_deny_lists(true);
        let v267 = Flavour::new(true, true, true, true)
            .with_allow_deny_lists(true)
            .with_agent_email(Some(queue(true, true)));
        let gate = |f: Flavour| f.agent_email().map(|e| e.configured_by);
        assert_eq!(gate(v244), Some(MailSetting::SmtpHostOrProvider));
        assert_eq!(gate(v246), Some(MailSetting::SmtpProvider));
        assert_eq!(gate(v267), Some(MailSetting::SmtpProvider));
        // Without the host column only the provider can say so.
        let no_host =
            Flavour::new(false, false, false, false).with_agent_email(Some(queue(false, false)));
        assert_eq!(gate(no_host), Some(MailSetting::SmtpProvider));
        assert_eq!(gate(Flavour::new(true, true, true, true)), None);
        assert!(!v244.agent_email().unwrap().attachments_column);
        assert!(v267.agent_email().unwrap().attachments_column);

        let host = MailSetting::SmtpHostOrProvider;
        assert!(host.configured(Some("smtp.example.com"), None));
        assert!(host.configured(None, Some("standard_smtp")));
        assert!(!host.configured(Some("0"), Some("")));
        let provider = MailSetting::SmtpProvider;
        assert!(!provider.configured(Some("smtp.example.com"), None));
        assert!(provider.configured(Some(""), Some("google_oauth")));
    }
}
