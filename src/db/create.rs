//! create.php's transaction: what ITFlow's agent reply handler
//! (agent/post/ticket.php, `add_ticket_reply`) writes, with the ticket row
//! locked so concurrent replies and status changes serialise.

use crate::api::meta::RequestMeta;
use crate::domain::reply::{STATUS_CLOSED, STATUS_NEW, STATUS_RESOLVED};
use crate::domain::{NewReply, Principal, ReplyType, StatusChange};
use crate::error::ApiError;
use crate::php::{sanitize_input, truncate_bytes};
use mysql_async::prelude::FromValue;
use mysql_async::{Pool, Row, TxOpts, Value, prelude::*};

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
            open_tasks: take(&mut row, 12)?,
            timezone: take(&mut row, 13)?,
            db_now: take(&mut row, 14)?,
        })
    }
}

/// Column `i` of `row` as `T`, or an error naming the column.
fn take<T: FromValue>(row: &mut Row, i: usize) -> Result<T, mysql_async::Error> {
    match row.take_opt::<T, usize>(i) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(mysql_async::Error::Other(
            format!("column {i} of the ticket query: {e}").into(),
        )),
        None => Err(mysql_async::Error::Other(
            format!("column {i} missing from the ticket query").into(),
        )),
    }
}

/// Write the reply and/or status change; the new reply's id, 0 for a
/// status-only call. A refusal or failure rolls everything back (the
/// transaction is dropped uncommitted).
pub async fn create_reply(
    pool: &Pool,
    principal: &Principal,
    author_user_id: u32,
    req: &NewReply,
    meta: &RequestMeta,
) -> Result<u64, ApiError> {
    let mut tx = pool.start_transaction(TxOpts::default()).await?;
    let requested_status = match req.status {
        StatusChange::To(s) => s,
        StatusChange::Keep => 0,
    };
    let row: Option<Row> = tx
        .exec_first(
            LOCK_TICKET,
            (author_user_id, requested_status, req.ticket_id),
        )
        .await?;
    let Some(row) = row else {
        return Err(ApiError::Refused(TICKET_NOT_FOUND.into()));
    };
    let ticket = TicketRow::from_row(row)?;
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

    let now = local_now(ticket.timezone.as_deref()).unwrap_or_else(|| ticket.db_now.clone());
    let actor = match &ticket.author_name {
        Some(name) => sanitize_input(name),
        None => format!("{} (API)", sanitize_input(principal.key_name())),
    };
    let author = i64::from(author_user_id);
    let prefix = sanitize_input(&ticket.prefix);
    let subject = sanitize_input(&ticket.subject);

    let mut insert_id = 0;
    if let Some(text) = &req.text {
        tx.exec_drop(
            "INSERT INTO ticket_replies (ticket_reply, ticket_reply_type, ticket_reply_time_worked, \
             ticket_reply_created_at, ticket_reply_by, ticket_reply_ticket_id) VALUES (?, ?, ?, ?, ?, ?)",
            (
                text,
                req.reply_type.as_str(),
                req.time_worked.to_string(),
                &now,
                author,
                req.ticket_id,
            ),
        )
        .await?;
        insert_id = tx.last_insert_id().unwrap_or(0);
    }

    // The ticket row: updated_at always, then status, resolve and first
    // response as the agent handler sets them.
    let mut set = String::from("UPDATE tickets SET ticket_updated_at = ?");
    let mut params: Vec<Value> = vec![now.as_str().into()];
    let moves_to_resolved = requested_status == STATUS_RESOLVED && ticket.status != STATUS_RESOLVED;
    if let StatusChange::To(status) = req.status {
        set.push_str(", ticket_status = ?");
        params.push(status.into());
        // Resolving stamps ticket_resolved_at, left alone when the ticket
        // was already resolved.
        if status == STATUS_RESOLVED && (moves_to_resolved || !ticket.resolved) {
            set.push_str(", ticket_resolved_at = ?");
            params.push(now.as_str().into());
        }
    }
    if req.text.is_some() && req.reply_type == ReplyType::Public && !ticket.first_response_set {
        set.push_str(", ticket_first_response_at = ?");
        params.push(now.as_str().into());
    }
    set.push_str(" WHERE ticket_id = ?");
    params.push(req.ticket_id.into());
    tx.exec_drop(set, params).await?;

    if req.text.is_some() {
        let client_uri = if ticket.client_id != 0 {
            format!("&client_id={}", ticket.client_id)
        } else {
            String::new()
        };
        let action = format!("/agent/ticket.php?ticket_id={}{client_uri}", req.ticket_id);
        let mut notes: Vec<(String, i64)> = Vec::with_capacity(2);
        if ticket.assigned_to != 0 && ticket.assigned_to != author {
            notes.push((
                format!(
                    "{actor} updated Ticket {prefix}{} - Subject: {subject} that is assigned to you",
                    ticket.number
                ),
                ticket.assigned_to,
            ));
        }
        if ticket.created_by != 0 && ticket.created_by != author {
            notes.push((
                format!(
                    "{actor} updated Ticket {prefix}{} - Subject: {subject} that you opened",
                    ticket.number
                ),
                ticket.created_by,
            ));
        }
        for (text, user_id) in notes {
            tx.exec_drop(
                "INSERT INTO notifications (notification_type, notification, notification_action, \
                 notification_timestamp, notification_client_id, notification_user_id) \
                 VALUES ('Ticket', ?, ?, ?, ?, ?)",
                (
                    truncate_bytes(&text, 1000),
                    &action,
                    &now,
                    ticket.client_id,
                    user_id,
                ),
            )
            .await?;
        }
    }

    let mut logs: Vec<(&str, String)> = Vec::with_capacity(2);
    if moves_to_resolved {
        logs.push((
            "Resolved",
            format!("{actor} resolved Ticket ticket ID {}", req.ticket_id),
        ));
    }
    logs.push((
        "Reply",
        format!(
            "{actor} replied to ticket {prefix}{} - {subject} and was a {} reply",
            ticket.number, req.reply_type
        ),
    ));
    for (action, description) in &logs {
        tx.exec_drop(
            "INSERT INTO logs (log_type, log_action, log_description, log_ip, log_user_agent, \
             log_created_at, log_client_id, log_user_id, log_entity_id) \
             VALUES ('Ticket', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                action,
                truncate_bytes(description, 1000),
                &meta.ip,
                &meta.user_agent,
                &now,
                ticket.client_id,
                author,
                req.ticket_id,
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(insert_id)
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

/// Now in the company's time zone (`settings.config_timezone`), which is
/// what the agent UI's NOW() gives: includes/inc_set_timezone.php sets the
/// MariaDB session's time_zone to that zone's current offset.
fn local_now(timezone: Option<&str>) -> Option<String> {
    let tz = jiff::tz::TimeZone::get(timezone?).ok()?;
    Some(
        jiff::Timestamp::now()
            .to_zoned(tz)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
    )
}
