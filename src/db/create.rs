//! create.php's transaction: what ITFlow's agent reply handler
//! (agent/post/ticket.php, `add_ticket_reply`) writes, with the ticket row
//! locked so concurrent replies and status changes serialise. On databases
//! with user-tied keys (2.4.7+) it also keeps what ITFlow 2.6.7 keeps:
//! `ticket_history`, the SLA verdicts and clock, and the API's log texts.

use crate::api::meta::RequestMeta;
use crate::db::schema::{KeyGeneration, SchemaInfo};
use crate::db::sla::{self, Clock, sql_datetime};
use crate::db::take;
use crate::domain::reply::{STATUS_CLOSED, STATUS_NEW, STATUS_RESOLVED};
use crate::domain::{NewReply, Principal, ReplyType, StatusChange};
use crate::error::ApiError;
use crate::php::{html_special_chars, sanitize_input, truncate_bytes};
use mysql_async::{Pool, Row, Transaction, TxOpts, Value, prelude::*};

/// One message for a ticket that does not exist, is another client's, or
/// does not match `client_id`: the caller learns nothing about other
/// clients' tickets.
pub const TICKET_NOT_FOUND: &str =
    "No ticket with the specified ticket_id (for this client and company).";

/// Everything the checks and texts need, read in the locking query.
struct TicketRow {
    prefix: String,
    number: i64,
    subject: String,
    status: i64,
    client_id: i64,
    created_by: i64,
    assigned_to: i64,
    closed: bool,
    resolved: bool,
    first_response_set: bool,
    author_name: Option<String>,
    /// `ticket_status_active` of the requested status; None if no such row.
    new_status_active: Option<i64>,
    new_status_name: Option<String>,
    open_tasks: i64,
    timezone: Option<String>,
    db_now: String,
}

const LOCK_TICKET: &str = "SELECT t.ticket_prefix, t.ticket_number, t.ticket_subject, t.ticket_status, \
       t.ticket_client_id, t.ticket_created_by, t.ticket_assigned_to, \
       t.ticket_closed_at IS NOT NULL, t.ticket_resolved_at IS NOT NULL, \
       t.ticket_first_response_at IS NOT NULL, \
       (SELECT user_name FROM users WHERE user_id = ?), \
       (SELECT ticket_status_active FROM ticket_statuses WHERE ticket_status_id = ?), \
       (SELECT ticket_status_name FROM ticket_statuses WHERE ticket_status_id = ?), \
       (SELECT COUNT(*) FROM tasks WHERE task_ticket_id = t.ticket_id AND task_completed_at IS NULL), \
       (SELECT config_timezone FROM settings WHERE company_id = 1), \
       DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s') \
     FROM tickets t WHERE t.ticket_id = ? FOR UPDATE";

impl TicketRow {
    fn from_row(mut row: Row) -> Result<Self, mysql_async::Error> {
        Ok(TicketRow {
            prefix: take::<Option<String>>(&mut row, 0)?.unwrap_or_default(),
            number: take(&mut row, 1)?,
            subject: take(&mut row, 2)?,
            status: take(&mut row, 3)?,
            client_id: take(&mut row, 4)?,
            created_by: take(&mut row, 5)?,
            assigned_to: take(&mut row, 6)?,
            closed: take(&mut row, 7)?,
            resolved: take(&mut row, 8)?,
            first_response_set: take(&mut row, 9)?,
            author_name: take(&mut row, 10)?,
            new_status_active: take(&mut row, 11)?,
            new_status_name: take(&mut row, 12)?,
            open_tasks: take(&mut row, 13)?,
            timezone: take(&mut row, 14)?,
            db_now: take(&mut row, 15)?,
        })
    }
}

/// Who writes: the reply's author id and the name logs and notifications
/// show.
pub(crate) struct Actor {
    pub user_id: i64,
    pub name: String,
}

impl Actor {
    /// A user-tied key writes as its user. A first-generation key writes as
    /// `legacy_author_user_id`, named after that user when it exists, else
    /// `<key name> (API)`.
    pub(crate) fn of(
        principal: &Principal,
        legacy_author: u32,
        author_name: Option<&str>,
    ) -> Actor {
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

/// Write the reply and/or status change; the new reply's id, 0 for a
/// status-only call. A refusal or failure rolls everything back (the
/// transaction is dropped uncommitted). The work before COMMIT and the
/// COMMIT are each bounded by `limit` ([`crate::db::write_then_commit`]).
pub async fn create_reply(
    pool: &Pool,
    schema: &SchemaInfo,
    principal: &Principal,
    legacy_author: u32,
    req: &NewReply,
    meta: &RequestMeta,
    limit: std::time::Duration,
) -> Result<u64, ApiError> {
    crate::db::write_then_commit(limit, async {
        // No connection: 503. Anything failing once the transaction is
        // open: 500.
        let tx = pool.start_transaction(TxOpts::default()).await?;
        write_reply(tx, schema, principal, legacy_author, req, meta)
            .await
            .map_err(ApiError::in_transaction)
    })
    .await
}

/// Everything up to COMMIT; the open transaction and the new reply's id.
async fn write_reply(
    mut tx: Transaction<'static>,
    schema: &SchemaInfo,
    principal: &Principal,
    legacy_author: u32,
    req: &NewReply,
    meta: &RequestMeta,
) -> Result<(Transaction<'static>, u64), ApiError> {
    let requested_status = match req.status {
        StatusChange::To(s) => s,
        StatusChange::Keep => 0,
    };
    let author_param = match principal.user() {
        Some(user) => user.user_id,
        None => i64::from(legacy_author),
    };
    let row: Option<Row> = tx
        .exec_first(
            LOCK_TICKET,
            (
                author_param,
                requested_status,
                requested_status,
                req.ticket_id,
            ),
        )
        .await?;
    let Some(row) = row else {
        return Err(ApiError::Refused(TICKET_NOT_FOUND.into()));
    };
    let ticket = TicketRow::from_row(row)?;
    // The agent UI lets any agent reply on a ticket without a client
    // (agent/post/ticket.php skips enforceClientAccess for client 0).
    let in_scope = principal.scope().allows(ticket.client_id)
        && (req.client_id == 0 || req.client_id == ticket.client_id);
    if !in_scope {
        return Err(ApiError::Refused(TICKET_NOT_FOUND.into()));
    }
    // agent/ticket.php offers no reply form once a ticket is closed.
    if ticket.closed {
        return Err(ApiError::Refused(
            "This ticket is closed: it takes no more replies or status changes.".into(),
        ));
    }
    if let StatusChange::To(status) = req.status {
        check_status(status, &ticket)?;
    }

    let modern = schema.key_generation == KeyGeneration::UserTied;
    let history = modern && schema.features.ticket_history;
    let (now_text, clock) = write_clock(
        &mut tx,
        schema.features.sla,
        ticket.timezone.as_deref(),
        &ticket.db_now,
    )
    .await?;
    let actor = Actor::of(principal, legacy_author, ticket.author_name.as_deref());
    let key = html_special_chars(principal.key_name());
    let prefix = sanitize_input(&ticket.prefix);
    let subject = sanitize_input(&ticket.subject);
    let number = format!("{prefix}{}", ticket.number);
    let status_name = sanitize_input(ticket.new_status_name.as_deref().unwrap_or("Unknown"));
    let moves_to_resolved = requested_status == STATUS_RESOLVED && ticket.status != STATUS_RESOLVED;
    let status_changed = requested_status != 0 && requested_status != ticket.status;
    // Moving a resolved ticket to another status reopens it, as the agent
    // UI's reopen does (agent/post/ticket.php, reopen_ticket): the UI offers
    // no reply form on a resolved ticket until it is reopened.
    let reopens = requested_status != 0
        && requested_status != STATUS_RESOLVED
        && (ticket.resolved || ticket.status == STATUS_RESOLVED);
    let mut logs: Vec<(&str, &str, String, i64)> = Vec::with_capacity(3);

    // The ticket row: status and updated_at, then the SLA clock for the new
    // status (agent handler order: UPDATE, syncTicketSlaClock, resolve).
    let mut set = String::from("UPDATE tickets SET ticket_updated_at = ?");
    let mut params: Vec<Value> = vec![now_text.as_str().into()];
    if requested_status != 0 {
        set.push_str(", ticket_status = ?");
        params.push(requested_status.into());
    }
    // Resolving stamps ticket_resolved_at, left alone when the ticket was
    // already resolved.
    if requested_status == STATUS_RESOLVED && (moves_to_resolved || !ticket.resolved) {
        set.push_str(", ticket_resolved_at = ?");
        params.push(now_text.as_str().into());
    }
    if reopens {
        set.push_str(", ticket_resolved_at = NULL");
    }
    // Without the SLA machinery the first response is a plain stamp.
    let first_public =
        req.text.is_some() && req.reply_type == ReplyType::Public && !ticket.first_response_set;
    if first_public && clock.is_none() {
        set.push_str(", ticket_first_response_at = ?");
        params.push(now_text.as_str().into());
    }
    set.push_str(" WHERE ticket_id = ?");
    params.push(req.ticket_id.into());
    tx.exec_drop(set, params).await?;

    if let Some(clock) = &clock {
        if requested_status != 0 {
            sla::sync_clock(&mut tx, req.ticket_id, clock).await?;
        }
        if moves_to_resolved {
            sla::set_resolution_sla_met(&mut tx, req.ticket_id, clock).await?;
        }
        if reopens {
            sla::reset_resolution_sla(&mut tx, req.ticket_id, clock).await?;
        }
    }
    if reopens {
        if history {
            insert_history(
                &mut tx,
                req.ticket_id,
                &format!("{} reopened the ticket", actor.name),
                &now_text,
            )
            .await?;
        }
        logs.push((
            "Ticket",
            "Reopened",
            format!("{} reopened ticket ID {}", actor.name, req.ticket_id),
            req.ticket_id,
        ));
    }
    if moves_to_resolved {
        if history {
            insert_history(
                &mut tx,
                req.ticket_id,
                &format!("Resolved via the API ({key})"),
                &now_text,
            )
            .await?;
        }
        logs.push((
            "Ticket",
            "Resolved",
            if modern {
                format!("Resolved ticket {number} via API ({key})")
            } else {
                format!("{} resolved Ticket ticket ID {}", actor.name, req.ticket_id)
            },
            req.ticket_id,
        ));
    }

    let mut insert_id = 0;
    if let Some(text) = &req.text {
        tx.exec_drop(
            "INSERT INTO ticket_replies (ticket_reply, ticket_reply_type, ticket_reply_time_worked, \
             ticket_reply_created_at, ticket_reply_by, ticket_reply_ticket_id) VALUES (?, ?, ?, ?, ?, ?)",
            (
                text,
                req.reply_type.as_str(),
                req.time_worked.to_string(),
                &now_text,
                actor.user_id,
                req.ticket_id,
            ),
        )
        .await?;
        insert_id = tx.last_insert_id().unwrap_or(0);
        notify(
            &mut tx,
            &ticket,
            req.ticket_id,
            &actor,
            &number,
            &subject,
            &now_text,
        )
        .await?;
        if let (true, Some(clock)) = (first_public, &clock) {
            sla::set_first_response(&mut tx, req.ticket_id, clock).await?;
        }
    }

    if status_changed && requested_status != STATUS_RESOLVED && history {
        insert_history(
            &mut tx,
            req.ticket_id,
            &format!("Status set to {status_name} via the API ({key})"),
            &now_text,
        )
        .await?;
    }

    let kind = req.reply_type;
    match (modern, req.text.is_some()) {
        (false, _) => logs.push((
            "Ticket",
            "Reply",
            format!(
                "{} replied to ticket {number} - {subject} and was a {kind} reply",
                actor.name
            ),
            req.ticket_id,
        )),
        (true, true) => {
            logs.push((
                "Ticket",
                "Reply",
                format!("Added a {kind} reply to ticket {number} - {subject} via API ({key})"),
                req.ticket_id,
            ));
            logs.push((
                "API",
                "Success",
                format!("Added a {kind} reply to ticket {number} via API ({key})"),
                0,
            ));
        }
        (true, false) => logs.push((
            "API",
            "Success",
            format!("Set the status of ticket {number} to {status_name} via API ({key})"),
            0,
        )),
    }
    for (log_type, action, description, entity) in &logs {
        insert_log(
            &mut tx,
            log_type,
            action,
            description,
            meta,
            &now_text,
            ticket.client_id,
            actor.user_id,
            *entity,
        )
        .await?;
    }
    Ok((tx, insert_id))
}

/// The agent handler's two notifications: for the assigned agent and for
/// the agent who opened the ticket, each when set and not the author.
async fn notify<Q: Queryable>(
    q: &mut Q,
    ticket: &TicketRow,
    ticket_id: i64,
    actor: &Actor,
    number: &str,
    subject: &str,
    now: &str,
) -> Result<(), mysql_async::Error> {
    let client_uri = if ticket.client_id != 0 {
        format!("&client_id={}", ticket.client_id)
    } else {
        String::new()
    };
    let action = format!("/agent/ticket.php?ticket_id={ticket_id}{client_uri}");
    let mut notes: Vec<(String, i64)> = Vec::with_capacity(2);
    if ticket.assigned_to != 0 && ticket.assigned_to != actor.user_id {
        notes.push((
            format!(
                "{} updated Ticket {number} - Subject: {subject} that is assigned to you",
                actor.name
            ),
            ticket.assigned_to,
        ));
    }
    if ticket.created_by != 0 && ticket.created_by != actor.user_id {
        notes.push((
            format!(
                "{} updated Ticket {number} - Subject: {subject} that you opened",
                actor.name
            ),
            ticket.created_by,
        ));
    }
    for (text, user_id) in notes {
        q.exec_drop(
            "INSERT INTO notifications (notification_type, notification, notification_action, \
             notification_timestamp, notification_client_id, notification_user_id) \
             VALUES ('Ticket', ?, ?, ?, ?, ?)",
            (
                truncate_bytes(&text, 1000),
                &action,
                now,
                ticket.client_id,
                user_id,
            ),
        )
        .await?;
    }
    Ok(())
}

/// logAudit(): one `logs` row with the request's IP and user agent.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_log<Q: Queryable>(
    q: &mut Q,
    log_type: &str,
    action: &str,
    description: &str,
    meta: &RequestMeta,
    now: &str,
    client_id: i64,
    user_id: i64,
    entity_id: i64,
) -> Result<(), mysql_async::Error> {
    q.exec_drop(
        "INSERT INTO logs (log_type, log_action, log_description, log_ip, log_user_agent, \
         log_created_at, log_client_id, log_user_id, log_entity_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            log_type,
            action,
            truncate_bytes(description, 1000),
            &meta.ip,
            &meta.user_agent,
            now,
            client_id,
            user_id,
            entity_id,
        ),
    )
    .await
}

/// logTicketHistory(): the entry carries the ticket's status name as it is
/// after the change; descriptions are cut to the column's 255 characters.
pub async fn insert_history<Q: Queryable>(
    q: &mut Q,
    ticket_id: i64,
    description: &str,
    now: &str,
) -> Result<(), mysql_async::Error> {
    let description: String = description.chars().take(255).collect();
    q.exec_drop(
        "INSERT INTO ticket_history (ticket_history_status, ticket_history_description, \
         ticket_history_created_at, ticket_history_ticket_id) \
         SELECT COALESCE(s.ticket_status_name, ''), ?, ?, t.ticket_id FROM tickets t \
         LEFT JOIN ticket_statuses s ON s.ticket_status_id = t.ticket_status WHERE t.ticket_id = ?",
        (description, now, ticket_id),
    )
    .await
}

/// The agent reply form offers every active status but New and Closed, and
/// hides Resolved while the ticket has tasks not completed.
fn check_status(status: i64, ticket: &TicketRow) -> Result<(), ApiError> {
    let settable = status != STATUS_NEW
        && status != STATUS_CLOSED
        && ticket.new_status_active.is_some_and(|active| active == 1);
    if !settable {
        return Err(ApiError::Refused(format!(
            "status {status} cannot be set: send the id of an active ticket status other than 1 (New) and 5 (Closed)."
        )));
    }
    if status == STATUS_RESOLVED && ticket.open_tasks > 0 {
        return Err(ApiError::Refused(
            "status 4 (Resolved) is not available while the ticket has tasks that are not completed.".into(),
        ));
    }
    Ok(())
}

/// The instant of a write as MariaDB text, and the SLA clock when the
/// database has the SLA machinery. Without a usable company time zone the
/// database's own NOW() stands in.
pub(crate) async fn write_clock<Q: Queryable>(
    q: &mut Q,
    sla: bool,
    timezone: Option<&str>,
    db_now: &str,
) -> Result<(String, Option<Clock>), mysql_async::Error> {
    let (tz, now) = local_now(timezone)
        .unwrap_or_else(|| (jiff::tz::TimeZone::UTC, db_now.parse().unwrap_or_default()));
    let clock = if sla {
        Some(Clock {
            now,
            tz,
            calendar: sla::load_calendar(q).await?,
        })
    } else {
        None
    };
    Ok((sql_datetime(now), clock))
}

/// Now in the company's time zone (`settings.config_timezone`), which is
/// what the agent UI's NOW() gives: includes/inc_set_timezone.php sets the
/// MariaDB session's time_zone to that zone's current offset.
pub fn local_now(timezone: Option<&str>) -> Option<(jiff::tz::TimeZone, jiff::civil::DateTime)> {
    let tz = jiff::tz::TimeZone::get(timezone?).ok()?;
    let now = jiff::Timestamp::now().to_zoned(tz.clone()).datetime();
    // MariaDB DATETIME keeps whole seconds.
    let now = now.with().subsec_nanosecond(0).build().ok()?;
    Some((tz, now))
}
