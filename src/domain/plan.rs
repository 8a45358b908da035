//! A write plan: every row a create writes, decided before anything is
//! written (by a planner, `plan_replies.rs` or `plan_itflow.rs`) and
//! applied by the one writer (`db/writer.rs`) in the same transaction.

use crate::domain::Principal;
use crate::php::sanitize_input;

/// Everything one create writes, in the order the writer applies it:
/// the ticket row, `sla_history`, the reply, `notifications`,
/// `ticket_history`, `logs`, `email_queue`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritePlan {
    pub ticket_id: i64,
    /// The write's instant as MariaDB text (the company's wall clock).
    pub now: String,
    pub ticket: TicketChanges,
    pub sla_history: Vec<SlaOp>,
    pub reply: Option<ReplyRow>,
    pub notifications: Vec<NotificationRow>,
    /// `ticket_history` descriptions; each row is stamped with the ticket's
    /// status name after the write.
    pub history: Vec<String>,
    /// `logs` rows, all for `log_client_id`, by `log_user_id`.
    pub logs: Vec<LogRow>,
    pub log_client_id: i64,
    pub log_user_id: i64,
    pub mails: Vec<MailRow>,
    /// `email_queue` has no `email_attachments` column (ITFlow before
    /// 2.5.7): the writer leaves it out of the INSERT.
    pub queue_without_attachments: bool,
    /// `ticket_attachments` rows, tied to the reply.
    pub attachments: Vec<AttachmentRow>,
}

/// A `ticket_attachments` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    /// `ticket_attachment_name`: the original name as ITFlow stores it.
    pub name: String,
    /// `ticket_attachment_reference_name`: the stored copy's name.
    pub reference: String,
}

/// The `tickets` columns a create sets. Any change also stamps
/// `ticket_updated_at` with the write's instant: the column's `ON UPDATE
/// current_timestamp()` would use the server's time zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketChanges {
    /// Write the row (and `ticket_updated_at`) even when no other column
    /// changes: the agent reply handler always updates the ticket.
    pub touch: bool,
    pub status: Option<i64>,
    /// `Some(Some(t))` sets it, `Some(None)` clears it.
    pub resolved_at: Option<Option<String>>,
    pub first_response_at: Option<String>,
    pub response_sla_met: Option<Option<i64>>,
    pub resolution_sla_met: Option<Option<i64>>,
    pub resolution_due_at: Option<String>,
    pub resolution_sla_alert_stage: Option<i64>,
}

impl TicketChanges {
    /// Whether the ticket row is written at all: when touched or when any
    /// column changes.
    pub fn writes(&self) -> bool {
        self.touch
            || self.status.is_some()
            || self.resolved_at.is_some()
            || self.first_response_at.is_some()
            || self.response_sla_met.is_some()
            || self.resolution_sla_met.is_some()
            || self.resolution_due_at.is_some()
            || self.resolution_sla_alert_stage.is_some()
    }
}

/// An `sla_history` row written: a new interval, or one closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlaOp {
    Open {
        started: String,
    },
    Close {
        interval: IntervalRef,
        ended: String,
        minutes: i64,
    },
}

/// An `sla_history` row: one that existed, or the n-th this plan opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalRef {
    Existing(i64),
    Opened(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyRow {
    pub text: String,
    /// `Internal`, `Public` or `Client`.
    pub reply_type: &'static str,
    /// `HH:MM:SS`; None (NULL) for a customer's reply, as the portal
    /// leaves the column to its default.
    pub time_worked: Option<String>,
    /// A user id, or a contact id for a `Client` reply.
    pub by: i64,
    /// `ticket_reply_created_at`: the write's instant, or a backdated
    /// reply's `created`.
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    pub text: String,
    pub action: String,
    pub client_id: i64,
    pub user_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    pub log_type: &'static str,
    pub action: &'static str,
    pub description: String,
    pub entity_id: i64,
}

impl LogRow {
    pub fn new(
        log_type: &'static str,
        action: &'static str,
        description: String,
        entity_id: i64,
    ) -> Self {
        LogRow {
            log_type,
            action,
            description,
            entity_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRow {
    pub recipient: String,
    pub recipient_name: String,
    pub from: String,
    pub from_name: String,
    pub subject: String,
    pub content: String,
    /// `email_attachments`: the JSON manifest of the files the mail cron
    /// attaches (`[{"path":...,"name":...}]`, as ITFlow 2.6's
    /// addToMailQueue encodes it), `''` for none.
    pub attachments: String,
}

/// Who writes: the reply's author id and the name logs and notifications
/// show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub name: String,
}

impl Actor {
    /// The user id a write is attributed to: a user-tied key's user, else
    /// `legacy_author` (`legacy_author_user_id`).
    pub fn user_id_of(principal: &Principal, legacy_author: u32) -> i64 {
        principal
            .user()
            .map_or(i64::from(legacy_author), |u| u.user_id)
    }

    /// A user-tied key writes as its user. A first-generation key writes as
    /// `legacy_author`, named after that user when it exists (`author_name`),
    /// else `<key name> (API)`.
    pub fn of(principal: &Principal, legacy_author: u32, author_name: Option<&str>) -> Actor {
        match principal.user() {
            Some(user) => Actor {
                user_id: user.user_id,
                name: sanitize_input(&user.name),
            },
            None => Actor {
                user_id: i64::from(legacy_author),
                name: match author_name {
                    Some(name) => sanitize_input(name),
                    None => format!("{} (API)", sanitize_input(principal.key_name())),
                },
            },
        }
    }
}

/// The names a create's log, history and notification texts use, escaped
/// as ITFlow escapes them.
#[derive(Debug, Clone)]
pub struct Texts {
    pub actor: Actor,
    /// The key's name, as `htmlspecialchars` leaves it.
    pub key: String,
    /// `TCK-12`: the ticket's prefix and number.
    pub number: String,
    pub subject: String,
}

impl Texts {
    pub fn new(snap: &crate::domain::snapshot::Snapshot, ctx: &WriteContext<'_>) -> Texts {
        let ticket = &snap.ticket;
        Texts {
            actor: Actor::of(
                ctx.principal,
                ctx.legacy_author,
                snap.author_name.as_deref(),
            ),
            key: crate::php::html_special_chars(ctx.principal.key_name()),
            number: format!("{}{}", sanitize_input(&ticket.prefix), ticket.number),
            subject: sanitize_input(&ticket.subject),
        }
    }
}

impl WritePlan {
    /// An empty plan for the ticket of `snap`, written by `actor`.
    pub fn for_ticket(snap: &crate::domain::snapshot::Snapshot, actor: &Actor) -> WritePlan {
        WritePlan {
            ticket_id: snap.ticket.id,
            now: crate::domain::sla_clock::sql_datetime(snap.now),
            log_client_id: snap.ticket.client_id,
            log_user_id: actor.user_id,
            ..WritePlan::default()
        }
    }
}

/// What every planner needs besides the snapshot and the request.
#[derive(Debug, Clone, Copy)]
pub struct WriteContext<'a> {
    pub principal: &'a Principal,
    /// `legacy_author_user_id`.
    pub legacy_author: u32,
    pub flavour: crate::domain::Flavour,
    /// ITFlow's base URL, for the portal link in emails.
    pub base_url: &'a str,
    /// ITFlow's `$config_app_name`, for email subjects.
    pub app_name: &'a str,
    /// `email_replies`: the legacy dialect's `public_reply_type` 2 queues
    /// the agent UI's emails.
    pub email_replies: bool,
}

/// A one-line account of a plan, for the planners' table tests.
#[cfg(test)]
pub(crate) fn summary(plan: &WritePlan) -> String {
    let t = &plan.ticket;
    let mut parts = Vec::new();
    if t.writes() {
        let mut cols = vec!["updated_at".to_string()];
        if let Some(s) = t.status {
            cols.push(format!("status={s}"));
        }
        match &t.resolved_at {
            Some(Some(_)) => cols.push("resolved_at".into()),
            Some(None) => cols.push("resolved_at=NULL".into()),
            None => {}
        }
        if t.first_response_at.is_some() {
            cols.push("first_response_at".into());
        }
        if let Some(met) = t.response_sla_met {
            cols.push(format!("response_met={met:?}"));
        }
        if let Some(met) = t.resolution_sla_met {
            cols.push(format!("resolution_met={met:?}"));
        }
        if let Some(due) = &t.resolution_due_at {
            cols.push(format!("due={due}"));
        }
        parts.push(format!("ticket[{}]", cols.join(" ")));
    }
    for op in &plan.sla_history {
        parts.push(match op {
            SlaOp::Open { started } => format!("sla+[{started}]"),
            SlaOp::Close {
                interval, minutes, ..
            } => format!("sla-[{interval:?} {minutes}min]"),
        });
    }
    if let Some(r) = &plan.reply {
        let worked = r.time_worked.as_deref().unwrap_or("NULL");
        let at = if r.created_at == plan.now {
            String::new()
        } else {
            format!(" at {}", r.created_at)
        };
        parts.push(format!("reply[{} {worked} by {}{at}]", r.reply_type, r.by));
    }
    for n in &plan.notifications {
        parts.push(format!("note[user {}]", n.user_id));
    }
    for h in &plan.history {
        parts.push(format!("history[{h}]"));
    }
    for l in &plan.logs {
        parts.push(format!(
            "log[{}/{}: {}]",
            l.log_type, l.action, l.description
        ));
    }
    for m in &plan.mails {
        parts.push(format!("mail[{}]", m.recipient));
    }
    for a in &plan.attachments {
        parts.push(format!("file[{} as {}]", a.name, a.reference));
    }
    parts.join(" ")
}
