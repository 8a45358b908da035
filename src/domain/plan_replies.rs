//! The legacy dialect's create (`/api/v1/tickets/replies/create.php`):
//! what ITFlow's agent reply handler (agent/post/ticket.php,
//! `add_ticket_reply`) writes, with replyd's documented checks; on
//! databases of ITFlow 2.4.7+ also what ITFlow 2.6.7 keeps right
//! (`ticket_history`, the SLA verdicts and clock, the API's log texts).
//!
//! A pure function: the locked snapshot and the request in, a write plan
//! or a refusal out.

use crate::domain::flavour::LogTexts;
use crate::domain::plan::{Actor, LogRow, NotificationRow, ReplyRow, WriteContext, WritePlan};
use crate::domain::reply::{STATUS_CLOSED, STATUS_NEW, STATUS_RESOLVED};
use crate::domain::sla_clock::{SlaClock, sql_datetime};
use crate::domain::snapshot::Snapshot;
use crate::domain::{NewReply, ReplyType, StatusChange};
use crate::error::ApiError;
use crate::messages::Message;
use crate::php::{html_special_chars, sanitize_input, truncate_bytes};

/// The plan for `req` on the ticket of `snap`, or why it is refused.
pub fn plan(
    snap: &Snapshot,
    req: &NewReply,
    ctx: &WriteContext<'_>,
) -> Result<WritePlan, ApiError> {
    let ticket = &snap.ticket;
    // The agent UI lets any agent reply on a ticket without a client
    // (agent/post/ticket.php skips enforceClientAccess for client 0).
    let in_scope = ctx.principal.scope().allows(ticket.client_id)
        && (req.client_id == 0 || req.client_id == ticket.client_id);
    if !in_scope {
        return Err(Message::TicketNotFound.refusal());
    }
    // agent/ticket.php offers no reply form once a ticket is closed.
    if ticket.closed {
        return Err(Message::TicketClosed.refusal());
    }
    let requested_status = match req.status {
        StatusChange::To(s) => s,
        StatusChange::Keep => 0,
    };
    if requested_status != 0 {
        check_status(requested_status, snap)?;
    }

    let history = ctx.flavour.api_writes_history();
    let now = sql_datetime(snap.now);
    let actor = Actor::of(
        ctx.principal,
        ctx.legacy_author,
        snap.author_name.as_deref(),
    );
    let key = html_special_chars(ctx.principal.key_name());
    let prefix = sanitize_input(&ticket.prefix);
    let subject = sanitize_input(&ticket.subject);
    let number = format!("{prefix}{}", ticket.number);
    let status_name = sanitize_input(
        snap.requested_status
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or("Unknown"),
    );
    let moves_to_resolved = requested_status == STATUS_RESOLVED && ticket.status != STATUS_RESOLVED;
    let status_changed = requested_status != 0 && requested_status != ticket.status;
    // Moving a resolved ticket to another status reopens it, as the agent
    // UI's reopen does (agent/post/ticket.php, reopen_ticket): the UI
    // offers no reply form on a resolved ticket until it is reopened.
    let reopens = requested_status != 0
        && requested_status != STATUS_RESOLVED
        && (ticket.resolved || ticket.status == STATUS_RESOLVED);

    let mut plan = WritePlan {
        ticket_id: ticket.id,
        now: now.clone(),
        log_client_id: ticket.client_id,
        log_user_id: actor.user_id,
        ..WritePlan::default()
    };
    // The agent handler always updates the ticket (status and
    // updated_at), then syncs the SLA clock for the new status.
    plan.ticket.touch = true;
    let mut clock = snap
        .sla
        .as_ref()
        .map(|sla| SlaClock::new(sla, ticket.first_response_set, snap.now, &snap.tz));
    if requested_status != 0 {
        plan.ticket.status = Some(requested_status);
        if let (Some(clock), Some(status)) = (&mut clock, &snap.requested_status) {
            clock.status_changed(status.pauses_sla);
        }
    }
    // Resolving stamps ticket_resolved_at, left alone when the ticket was
    // already resolved.
    if requested_status == STATUS_RESOLVED && (moves_to_resolved || !ticket.resolved) {
        plan.ticket.resolved_at = Some(Some(now.clone()));
        if let Some(clock) = &mut clock {
            clock.resolved_at_changed(Some(snap.now));
        }
    }
    if reopens {
        plan.ticket.resolved_at = Some(None);
        if let Some(clock) = &mut clock {
            clock.resolved_at_changed(None);
        }
    }
    let first_public =
        req.text.is_some() && req.reply_type == ReplyType::Public && !ticket.first_response_set;
    // Without the SLA machinery the first response is a plain stamp.
    if first_public && clock.is_none() {
        plan.ticket.first_response_at = Some(now.clone());
    }
    if let Some(clock) = &mut clock {
        if requested_status != 0 {
            clock.sync(&mut plan);
        }
        if moves_to_resolved {
            clock.set_resolution_sla_met(&mut plan);
        }
        if reopens {
            clock.reset_resolution_sla(&mut plan);
        }
    }

    if reopens {
        if history {
            plan.history
                .push(format!("{} reopened the ticket", actor.name));
        }
        plan.logs.push(LogRow::new(
            "Ticket",
            "Reopened",
            format!("{} reopened ticket ID {}", actor.name, ticket.id),
            ticket.id,
        ));
    }
    if moves_to_resolved {
        if history {
            plan.history.push(format!("Resolved via the API ({key})"));
        }
        plan.logs.push(LogRow::new(
            "Ticket",
            "Resolved",
            match ctx.flavour.log_texts() {
                LogTexts::Api => format!("Resolved ticket {number} via API ({key})"),
                LogTexts::AgentUi => {
                    format!("{} resolved Ticket ticket ID {}", actor.name, ticket.id)
                }
            },
            ticket.id,
        ));
    }

    if let Some(text) = &req.text {
        plan.reply = Some(ReplyRow {
            text: text.clone(),
            reply_type: req.reply_type.as_str(),
            time_worked: req.time_worked.to_string(),
            by: actor.user_id,
        });
        plan.notifications = notifications(snap, &actor, &number, &subject);
        if let (true, Some(clock)) = (first_public, &mut clock) {
            clock.set_first_response(&mut plan);
        }
    }

    if status_changed && requested_status != STATUS_RESOLVED && history {
        plan.history
            .push(format!("Status set to {status_name} via the API ({key})"));
    }

    let kind = req.reply_type;
    match (ctx.flavour.log_texts(), req.text.is_some()) {
        (LogTexts::AgentUi, _) => plan.logs.push(LogRow::new(
            "Ticket",
            "Reply",
            format!(
                "{} replied to ticket {number} - {subject} and was a {kind} reply",
                actor.name
            ),
            ticket.id,
        )),
        (LogTexts::Api, true) => {
            plan.logs.push(LogRow::new(
                "Ticket",
                "Reply",
                format!("Added a {kind} reply to ticket {number} - {subject} via API ({key})"),
                ticket.id,
            ));
            plan.logs.push(LogRow::new(
                "API",
                "Success",
                format!("Added a {kind} reply to ticket {number} via API ({key})"),
                0,
            ));
        }
        (LogTexts::Api, false) => plan.logs.push(LogRow::new(
            "API",
            "Success",
            format!("Set the status of ticket {number} to {status_name} via API ({key})"),
            0,
        )),
    }
    Ok(plan)
}

/// The agent reply form offers every active status but New and Closed,
/// and hides Resolved while the ticket has tasks not completed.
fn check_status(status: i64, snap: &Snapshot) -> Result<(), ApiError> {
    let settable = status != STATUS_NEW
        && status != STATUS_CLOSED
        && snap.requested_status.as_ref().is_some_and(|s| s.active);
    if !settable {
        return Err(Message::StatusNotSettable(status).refusal());
    }
    if status == STATUS_RESOLVED && snap.open_tasks > 0 {
        return Err(Message::ResolveWithOpenTasks.refusal());
    }
    Ok(())
}

/// The agent handler's two notifications: for the assigned agent and for
/// the agent who opened the ticket, each when set and not the author.
fn notifications(
    snap: &Snapshot,
    actor: &Actor,
    number: &str,
    subject: &str,
) -> Vec<NotificationRow> {
    let ticket = &snap.ticket;
    let client_uri = if ticket.client_id != 0 {
        format!("&client_id={}", ticket.client_id)
    } else {
        String::new()
    };
    let action = format!("/agent/ticket.php?ticket_id={}{client_uri}", ticket.id);
    let mut notes = Vec::with_capacity(2);
    let mut note = |text: String, user_id: i64| {
        notes.push(NotificationRow {
            text: truncate_bytes(&text, 1000).to_string(),
            action: action.clone(),
            client_id: ticket.client_id,
            user_id,
        })
    };
    if ticket.assigned_to != 0 && ticket.assigned_to != actor.user_id {
        note(
            format!(
                "{} updated Ticket {number} - Subject: {subject} that is assigned to you",
                actor.name
            ),
            ticket.assigned_to,
        );
    }
    if ticket.created_by != 0 && ticket.created_by != actor.user_id {
        note(
            format!(
                "{} updated Ticket {number} - Subject: {subject} that you opened",
                actor.name
            ),
            ticket.created_by,
        );
    }
    notes
}
