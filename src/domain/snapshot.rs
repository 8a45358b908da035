//! What a create decides from: the ticket, read and locked (`SELECT ... FOR
//! UPDATE`) at the start of its transaction by `db/snapshot.rs`, with
//! everything the rules, texts, SLA clock and emails need. Plain data: the
//! planners are pure functions of it.

use crate::domain::sla::BusinessCalendar;
use crate::domain::status::StatusEntry;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The ticket a create writes to, and its surroundings, as they were when
/// its row was locked.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub ticket: TicketRow,
    /// `users.user_name` of the user the write is attributed to, if any.
    pub author_name: Option<String>,
    /// The `ticket_statuses` row of the status the request asks for (None:
    /// no status asked for, or no such row).
    pub requested_status: Option<StatusRow>,
    /// `ticket_status_name` of the ticket's current status.
    pub current_status_name: Option<String>,
    /// Tasks on the ticket not completed (counted only when the request
    /// resolves; else 0).
    pub open_tasks: i64,
    /// The write's instant on the company's wall clock
    /// (`settings.config_timezone`, else the database's NOW() read as UTC).
    pub now: DateTime,
    /// The zone `now` is in.
    pub tz: TimeZone,
    /// The SLA state, when the database keeps the clock and the request may
    /// move it.
    pub sla: Option<SlaSnapshot>,
    /// What a public-reply email is built from, when one may be queued.
    pub mail: Option<MailSnapshot>,
    /// Every `ticket_statuses` row, when the request names a status by name.
    pub statuses: Vec<StatusEntry>,
    /// The contact a customer's reply names, when it is a contact of the
    /// ticket's client and not archived.
    pub contact: Option<ContactRow>,
    /// The agent a reply on behalf names, when a user matches.
    pub agent: Option<AgentRow>,
}

/// A `contacts` row a customer's reply is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
}

/// A `users` row a reply on behalf names, with what decides whether it may
/// be the author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// An agent (`user_type` 1), active (`user_status` 1), not archived.
    pub active_agent: bool,
    pub is_admin: bool,
    /// The agent's client lists.
    pub scope: crate::domain::ClientScope,
}

/// The locked `tickets` row.
#[derive(Debug, Clone, Default)]
pub struct TicketRow {
    pub id: i64,
    pub prefix: String,
    pub number: i64,
    pub subject: String,
    pub status: i64,
    pub client_id: i64,
    pub created_by: i64,
    pub assigned_to: i64,
    pub contact_id: i64,
    pub closed: bool,
    pub resolved: bool,
    pub first_response_set: bool,
    /// `ticket_created_at`.
    pub created_at: Option<DateTime>,
}

/// A `ticket_statuses` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub active: bool,
    pub name: Option<String>,
    /// `ticket_status_pauses_sla` (false where the column does not exist).
    pub pauses_sla: bool,
}

/// The SLA clock's inputs (functions/sla.php reads the same columns).
#[derive(Debug, Clone)]
pub struct SlaSnapshot {
    pub calendar: BusinessCalendar,
    pub sla_id: i64,
    /// `slas.sla_resolution_minutes` of the ticket's SLA (0: none).
    pub resolution_minutes: i64,
    pub created_at: Option<DateTime>,
    pub resolved_at: Option<DateTime>,
    pub closed_at: Option<DateTime>,
    pub archived: bool,
    pub response_due_at: Option<DateTime>,
    pub resolution_due_at: Option<DateTime>,
    pub resolution_sla_met: Option<i64>,
    pub alert_stage: i64,
    /// Whether the ticket's current status pauses the clock.
    pub status_pauses: bool,
    /// The ticket's `sla_history` rows, oldest first.
    pub intervals: Vec<Interval>,
}

/// One `sla_history` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub id: i64,
    pub started: Option<DateTime>,
    pub ended: Option<DateTime>,
    pub minutes: Option<i64>,
}

/// The settings, contact, company and watchers ITFlow's public-reply
/// email is built from (api/v1/ticket_replies/create.php, and the agent
/// UI's add_ticket_reply).
#[derive(Debug, Clone, Default)]
pub struct MailSnapshot {
    /// `settings.config_smtp_provider`: empty means no mail is configured.
    pub provider: Option<String>,
    /// `settings.config_smtp_host`, where the column exists and was asked
    /// for (ITFlow 2.4.4's agent UI also takes it as configured mail).
    pub smtp_host: Option<String>,
    /// `user_settings.user_config_signature` of the reply's author, when
    /// asked for and set.
    pub signature: Option<String>,
    pub from_name: Option<String>,
    pub from_email: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub url_key: Option<String>,
    pub company_name: Option<String>,
    pub company_phone: Option<String>,
    pub company_phone_country_code: Option<String>,
    /// `(watcher_name, watcher_email)`, in id order.
    pub watchers: Vec<(Option<String>, String)>,
    /// `settings.config_ticket_prefix`.
    pub ticket_prefix: Option<String>,
    /// The ticket's client's `client_name`.
    pub client_name: Option<String>,
    /// The assigned agent's `user_name` and `user_email`.
    pub assignee_name: Option<String>,
    pub assignee_email: Option<String>,
}

/// Snapshots for the planners' unit tests.
#[cfg(test)]
pub(crate) mod samples {
    use super::*;

    /// Ticket TCK-1 "Printer" of client 1, Open (2), opened by user 1 and
    /// assigned to user 2, at 2026-11-20 10:00 UTC, no SLA, no mail.
    pub fn open_ticket() -> Snapshot {
        Snapshot {
            ticket: TicketRow {
                id: 1,
                prefix: "TCK-".into(),
                number: 1,
                subject: "Printer".into(),
                status: 2,
                client_id: 1,
                created_by: 1,
                assigned_to: 2,
                contact_id: 1,
                created_at: Some("2026-11-20 09:00:00".parse().unwrap()),
                ..TicketRow::default()
            },
            author_name: None,
            requested_status: None,
            current_status_name: Some("Open".into()),
            open_tasks: 0,
            now: "2026-11-20 10:00:00".parse().unwrap(),
            tz: TimeZone::UTC,
            sla: None,
            mail: None,
            statuses: Vec::new(),
            contact: None,
            agent: None,
        }
    }

    /// A user-tied key of Tess Tech (user 2), an admin.
    pub fn tess_key() -> crate::domain::Principal {
        use crate::domain::principal::KeyUser;
        crate::domain::Principal::UserKey {
            key_id: 3,
            key_name: "Tess key".into(),
            user: KeyUser {
                user_id: 2,
                name: "Tess Tech".into(),
                is_admin: true,
                support_level: 3,
                scope: crate::domain::ClientScope::AllClients,
            },
        }
    }

    /// The `ticket_statuses` row of `id` in a fresh ITFlow.
    pub fn status(id: i64) -> StatusRow {
        let name = ["", "New", "Open", "On Hold", "Resolved", "Closed"][id as usize];
        StatusRow {
            active: true,
            name: Some(name.into()),
            pauses_sla: id == 3,
        }
    }

    /// An SLA of 480 minutes, due 2026-11-21 09:00, every day a business day
    /// 09:00–17:00, a clock running since 09:00.
    pub fn sla() -> SlaSnapshot {
        let t = |s: &str| Some(s.parse().unwrap());
        SlaSnapshot {
            calendar: BusinessCalendar::from_settings(
                "1,2,3,4,5,6,7",
                Some("09:00:00"),
                Some("17:00:00"),
            ),
            sla_id: 1,
            resolution_minutes: 480,
            created_at: t("2026-11-20 09:00:00"),
            resolved_at: None,
            closed_at: None,
            archived: false,
            response_due_at: t("2026-11-20 10:00:00"),
            resolution_due_at: t("2026-11-21 09:00:00"),
            resolution_sla_met: None,
            alert_stage: 0,
            status_pauses: false,
            intervals: vec![Interval {
                id: 7,
                started: t("2026-11-20 09:00:00"),
                ended: None,
                minutes: None,
            }],
        }
    }
}
