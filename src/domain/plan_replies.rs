//! The legacy dialect's create (`/api/v1/tickets/replies/create.php`):
//! what ITFlow's agent reply handler (agent/post/ticket.php,
//! `add_ticket_reply`) writes, with replyd's documented checks; on
//! databases of ITFlow 2.4.7+ also what ITFlow 2.6.7 keeps right
//! (`ticket_history`, the SLA verdicts and clock, the API's log texts).
//!
//! A pure function: the locked snapshot and the request in, a write plan
//! or a refusal out.

use crate::domain::flavour::LogTexts;
use crate::domain::plan::{LogRow, NotificationRow, ReplyRow, Texts, WriteContext, WritePlan};
use crate::domain::reply::{STATUS_CLOSED, STATUS_NEW, STATUS_RESOLVED};
use crate::domain::sla_clock::SlaClock;
use crate::domain::snapshot::Snapshot;
use crate::domain::{NewReply, ReplyType, StatusChange};
use crate::messages::Message;
use crate::php::{sanitize_input, truncate_bytes};

/// What a request does to its ticket, decided from the snapshot.
struct Moves {
    /// The status asked for (0: none).
    status: i64,
    changes_status: bool,
    resolves: bool,
    /// Moving a resolved ticket to another status reopens it, as the agent
    /// UI's reopen does (agent/post/ticket.php, reopen_ticket): the UI
    /// offers no reply form on a resolved ticket until it is reopened.
    reopens: bool,
    first_public: bool,
}

/// The plan for `req` on the ticket of `snap`, or why it is refused.
pub fn plan(snap: &Snapshot, req: &NewReply, ctx: &WriteContext<'_>) -> Result<WritePlan, Message> {
    let moves = check(snap, req, ctx)?;
    let texts = Texts::new(snap, ctx);
    let status_name = sanitize_input(
        snap.requested_status
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or("Unknown"),
    );
    let mut plan = WritePlan::for_ticket(snap, &texts.actor);
    let mut clock = ticket_changes(&mut plan, snap, &moves);
    status_rows(&mut plan, snap, &moves, &texts, ctx);
    if let Some(text) = &req.text {
        plan.reply = Some(ReplyRow {
            text: text.clone(),
            reply_type: req.reply_type.as_str(),
            time_worked: req.time_worked.to_string(),
            by: texts.actor.user_id,
        });
        plan.notifications = notifications(snap, &texts);
        if let (true, Some(clock)) = (moves.first_public, &mut clock) {
            clock.set_first_response(&mut plan);
        }
    }
    let history = ctx.flavour.api_writes_history();
    if moves.changes_status && moves.status != STATUS_RESOLVED && history {
        let key = &texts.key;
        plan.history
            .push(format!("Status set to {status_name} via the API ({key})"));
    }
    reply_logs(&mut plan, req, &texts, &status_name, ctx);
    Ok(plan)
}

/// replyd's checks (the agent UI's form and pages make the same ones), and
/// what the request does.
fn check(snap: &Snapshot, req: &NewReply, ctx: &WriteContext<'_>) -> Result<Moves, Message> {
    let ticket = &snap.ticket;
    // The agent UI lets any agent reply on a ticket without a client
    // (agent/post/ticket.php skips enforceClientAccess for client 0).
    let in_scope = ctx.principal.scope().allows(ticket.client_id)
        && (req.client_id == 0 || req.client_id == ticket.client_id);
    if !in_scope {
        return Err(Message::TicketNotFound);
    }
    // agent/ticket.php offers no reply form once a ticket is closed.
    if ticket.closed {
        return Err(Message::TicketClosed);
    }
    let status = match req.status {
        StatusChange::To(s) => s,
        StatusChange::Keep => 0,
    };
    if status != 0 {
        check_status(status, snap)?;
    }
    Ok(Moves {
        status,
        changes_status: status != 0 && status != ticket.status,
        resolves: status == STATUS_RESOLVED && ticket.status != STATUS_RESOLVED,
        reopens: status != 0
            && status != STATUS_RESOLVED
            && (ticket.resolved || ticket.status == STATUS_RESOLVED),
        first_public: req.text.is_some()
            && req.reply_type == ReplyType::Public
            && !ticket.first_response_set,
    })
}

/// The ticket row as the agent handler updates it (always: status and
/// updated_at), then the SLA clock for the new status (agent handler
/// order: UPDATE, syncTicketSlaClock, resolve). The clock, for the first
/// response that follows the reply.
fn ticket_changes(plan: &mut WritePlan, snap: &Snapshot, moves: &Moves) -> Option<SlaClock> {
    let ticket = &snap.ticket;
    let now = plan.now.clone();
    plan.ticket.touch = true;
    let mut clock = snap
        .sla
        .as_ref()
        .map(|sla| SlaClock::new(sla, ticket.first_response_set, snap.now, &snap.tz));
    if moves.status != 0 {
        plan.ticket.status = Some(moves.status);
        if let (Some(clock), Some(status)) = (&mut clock, &snap.requested_status) {
            clock.status_changed(status.pauses_sla);
        }
    }
    // Resolving stamps ticket_resolved_at, left alone when the ticket was
    // already resolved.
    if moves.status == STATUS_RESOLVED && (moves.resolves || !ticket.resolved) {
        plan.ticket.resolved_at = Some(Some(now.clone()));
        if let Some(clock) = &mut clock {
            clock.resolved_at_changed(Some(snap.now));
        }
    }
    if moves.reopens {
        plan.ticket.resolved_at = Some(None);
        if let Some(clock) = &mut clock {
            clock.resolved_at_changed(None);
        }
    }
    match &mut clock {
        // Without the SLA machinery the first response is a plain stamp.
        None if moves.first_public => plan.ticket.first_response_at = Some(now),
        None => {}
        Some(clock) => {
            if moves.status != 0 {
                clock.sync(plan);
            }
            if moves.resolves {
                clock.set_resolution_sla_met(plan);
            }
            if moves.reopens {
                clock.reset_resolution_sla(plan);
            }
        }
    }
    clock
}

/// The reopen and resolve entries: `ticket_history` (ITFlow 2.6) and logs.
fn status_rows(
    plan: &mut WritePlan,
    snap: &Snapshot,
    moves: &Moves,
    texts: &Texts,
    ctx: &WriteContext<'_>,
) {
    let history = ctx.flavour.api_writes_history();
    let (id, actor, key, number) = (snap.ticket.id, &texts.actor, &texts.key, &texts.number);
    if moves.reopens {
        if history {
            plan.history
                .push(format!("{} reopened the ticket", actor.name));
        }
        let text = format!("{} reopened ticket ID {id}", actor.name);
        plan.logs.push(LogRow::new("Ticket", "Reopened", text, id));
    }
    if moves.resolves {
        if history {
            plan.history.push(format!("Resolved via the API ({key})"));
        }
        let text = match ctx.flavour.log_texts() {
            LogTexts::Api => format!("Resolved ticket {number} via API ({key})"),
            LogTexts::AgentUi => format!("{} resolved Ticket ticket ID {id}", actor.name),
        };
        plan.logs.push(LogRow::new("Ticket", "Resolved", text, id));
    }
}

/// The reply's log rows: the agent UI's text up to ITFlow 2.4.6, the API's
/// texts and an `API`/`Success` row from 2.4.7.
fn reply_logs(
    plan: &mut WritePlan,
    req: &NewReply,
    texts: &Texts,
    status_name: &str,
    ctx: &WriteContext<'_>,
) {
    let (kind, key, number, subject) = (req.reply_type, &texts.key, &texts.number, &texts.subject);
    let id = plan.ticket_id;
    match (ctx.flavour.log_texts(), req.text.is_some()) {
        (LogTexts::AgentUi, _) => {
            let name = &texts.actor.name;
            let text =
                format!("{name} replied to ticket {number} - {subject} and was a {kind} reply");
            plan.logs.push(LogRow::new("Ticket", "Reply", text, id));
        }
        (LogTexts::Api, true) => {
            let text =
                format!("Added a {kind} reply to ticket {number} - {subject} via API ({key})");
            plan.logs.push(LogRow::new("Ticket", "Reply", text, id));
            let text = format!("Added a {kind} reply to ticket {number} via API ({key})");
            plan.logs.push(LogRow::new("API", "Success", text, 0));
        }
        (LogTexts::Api, false) => {
            let text =
                format!("Set the status of ticket {number} to {status_name} via API ({key})");
            plan.logs.push(LogRow::new("API", "Success", text, 0));
        }
    }
}

/// The agent reply form offers every active status but New and Closed,
/// and hides Resolved while the ticket has tasks not completed.
fn check_status(status: i64, snap: &Snapshot) -> Result<(), Message> {
    let settable = status != STATUS_NEW
        && status != STATUS_CLOSED
        && snap.requested_status.as_ref().is_some_and(|s| s.active);
    if !settable {
        return Err(Message::StatusNotSettable(status));
    }
    if status == STATUS_RESOLVED && snap.open_tasks > 0 {
        return Err(Message::ResolveWithOpenTasks);
    }
    Ok(())
}

/// The agent handler's two notifications: for the assigned agent and for
/// the agent who opened the ticket, each when set and not the author.
fn notifications(snap: &Snapshot, texts: &Texts) -> Vec<NotificationRow> {
    let ticket = &snap.ticket;
    let (actor, number, subject) = (&texts.actor, &texts.number, &texts.subject);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::summary;
    use crate::domain::sla::add_business_minutes;
    use crate::domain::snapshot::Interval;
    use crate::domain::snapshot::StatusRow;
    use crate::domain::snapshot::samples::{open_ticket, sla, status, tess_key};
    use crate::domain::{ClientScope, Flavour, Principal, TimeWorked};
    use jiff::tz::TimeZone;

    fn global_key() -> Principal {
        Principal::ClientKey {
            key_id: 1,
            key_name: "Global key".into(),
            scope: ClientScope::AllClients,
        }
    }

    fn client_2_key() -> Principal {
        Principal::ClientKey {
            key_id: 2,
            key_name: "Globex key".into(),
            scope: ClientScope::Client(2),
        }
    }

    /// `Flavour::new`'s arguments.
    type Version = (bool, bool, bool, bool);
    const V244: Version = (false, false, false, false);
    const V267: Version = (true, true, true, true);

    fn reply(text: Option<&str>, public: bool, status: i64) -> NewReply {
        NewReply {
            ticket_id: 1,
            client_id: 0,
            text: text.map(str::to_string),
            reply_type: if public {
                ReplyType::Public
            } else {
                ReplyType::Internal
            },
            time_worked: TimeWorked::default(),
            status: if status == 0 {
                StatusChange::Keep
            } else {
                StatusChange::To(status)
            },
        }
    }

    /// Plans `req` on `snap`; the snapshot holds the requested status's
    /// row (as `db/snapshot.rs` reads it) unless `status_row` is false.
    fn run_on(
        principal: Principal,
        v: Version,
        snap: Snapshot,
        req: NewReply,
        status_row: bool,
    ) -> Result<String, String> {
        let ctx = WriteContext {
            principal: &principal,
            legacy_author: 0,
            flavour: Flavour::new(v.0, v.1, v.2, v.3),
            base_url: "",
        };
        let mut snap = snap;
        if let (StatusChange::To(s), true) = (req.status, status_row) {
            snap.requested_status = Some(status(s));
        }
        plan(&snap, &req, &ctx)
            .map(|p| summary(&p))
            .map_err(|e| e.to_string())
    }

    fn run(
        principal: Principal,
        v: Version,
        snap: Snapshot,
        req: NewReply,
    ) -> Result<String, String> {
        run_on(principal, v, snap, req, true)
    }

    fn with(f: impl FnOnce(&mut Snapshot)) -> Snapshot {
        let mut snap = open_ticket();
        f(&mut snap);
        snap
    }

    #[test]
    fn refusals() {
        let text = || reply(Some("x"), false, 0);
        let cases: Vec<(&str, Principal, Snapshot, NewReply, bool, Message)> = vec![
            (
                "another client's ticket",
                client_2_key(),
                open_ticket(),
                text(),
                true,
                Message::TicketNotFound,
            ),
            (
                "client_id of another client",
                global_key(),
                open_ticket(),
                NewReply {
                    client_id: 2,
                    ..text()
                },
                true,
                Message::TicketNotFound,
            ),
            (
                "a closed ticket",
                global_key(),
                with(|s| s.ticket.closed = true),
                text(),
                true,
                Message::TicketClosed,
            ),
            (
                "status New",
                global_key(),
                open_ticket(),
                reply(None, false, 1),
                true,
                Message::StatusNotSettable(1),
            ),
            (
                "status Closed",
                global_key(),
                open_ticket(),
                reply(None, false, 5),
                true,
                Message::StatusNotSettable(5),
            ),
            (
                "a status without a row",
                global_key(),
                open_ticket(),
                reply(None, false, 3),
                false,
                Message::StatusNotSettable(3),
            ),
            (
                "resolving with open tasks",
                global_key(),
                with(|s| s.open_tasks = 1),
                reply(None, false, 4),
                true,
                Message::ResolveWithOpenTasks,
            ),
        ];
        for (name, principal, snap, req, status_row, message) in cases {
            let got = run_on(principal, V244, snap, req, status_row);
            assert_eq!(got, Err(message.to_string()), "{name}");
        }
        // An inactive status is refused like a missing one.
        let mut snap = open_ticket();
        snap.requested_status = Some(StatusRow {
            active: false,
            ..status(3)
        });
        let got = run_on(global_key(), V244, snap, reply(None, false, 3), false);
        assert_eq!(got, Err(Message::StatusNotSettable(3).to_string()));
    }

    #[test]
    fn plans() {
        let due_after = |minutes: i64| {
            let s = sla();
            sql_datetime_of(add_business_minutes(
                open_ticket().now,
                minutes,
                &s.calendar,
                &TimeZone::UTC,
            ))
        };
        let paused = |snap: &mut Snapshot| {
            snap.ticket.status = 3;
            let mut s = sla();
            s.status_pauses = true;
            s.intervals = vec![closed_interval()];
            snap.sla = Some(s);
        };
        let resolved = |snap: &mut Snapshot| {
            snap.ticket.status = 4;
            snap.ticket.resolved = true;
            let mut s = sla();
            s.resolved_at = Some("2026-11-20 09:30:00".parse().unwrap());
            s.intervals = vec![closed_interval()];
            snap.sla = Some(s);
        };
        let cases: Vec<(&str, Principal, Version, Snapshot, NewReply, String)> = vec![
            (
                "2.4.4: an internal note notifies the assignee and the opener",
                global_key(), V244, open_ticket(), reply(Some("x"), false, 0),
                "ticket[updated_at] reply[Internal 00:00:00 by 0] note[user 2] note[user 1] \
                 log[Ticket/Reply: Global key (API) replied to ticket TCK-1 - Printer and was a Internal reply]".into(),
            ),
            (
                "2.4.4: the first public reply stamps the first response",
                global_key(), V244, open_ticket(), reply(Some("x"), true, 0),
                "ticket[updated_at first_response_at] reply[Public 00:00:00 by 0] note[user 2] note[user 1] \
                 log[Ticket/Reply: Global key (API) replied to ticket TCK-1 - Printer and was a Public reply]".into(),
            ),
            (
                "2.4.4: resolving",
                global_key(), V244, open_ticket(), reply(None, false, 4),
                "ticket[updated_at status=4 resolved_at] \
                 log[Ticket/Resolved: Global key (API) resolved Ticket ticket ID 1] \
                 log[Ticket/Reply: Global key (API) replied to ticket TCK-1 - Printer and was a Internal reply]".into(),
            ),
            (
                "2.6.7: the first public reply, on its due time, meets the response SLA",
                tess_key(), V267, with(|s| s.sla = Some(sla())), reply(Some("x"), true, 0),
                "ticket[updated_at first_response_at response_met=Some(1)] reply[Public 00:00:00 by 2] note[user 1] \
                 log[Ticket/Reply: Added a Public reply to ticket TCK-1 - Printer via API (Tess key)] \
                 log[API/Success: Added a Public reply to ticket TCK-1 via API (Tess key)]".into(),
            ),
            (
                "2.6.7: resolving in time meets the resolution SLA and stops the clock",
                tess_key(), V267, with(|s| s.sla = Some(sla())), reply(None, false, 4),
                "ticket[updated_at status=4 resolved_at resolution_met=Some(1)] sla-[Existing(7) 60min] \
                 history[Resolved via the API (Tess key)] \
                 log[Ticket/Resolved: Resolved ticket TCK-1 via API (Tess key)] \
                 log[API/Success: Set the status of ticket TCK-1 to Resolved via API (Tess key)]".into(),
            ),
            (
                "2.6.7: a pausing status stops the clock",
                tess_key(), V267, with(|s| s.sla = Some(sla())), reply(None, false, 3),
                "ticket[updated_at status=3] sla-[Existing(7) 60min] \
                 history[Status set to On Hold via the API (Tess key)] \
                 log[API/Success: Set the status of ticket TCK-1 to On Hold via API (Tess key)]".into(),
            ),
            (
                "2.6.7: resuming opens an interval and re-bases the due date on the budget left",
                tess_key(), V267, with(paused), reply(None, false, 2),
                format!("ticket[updated_at status=2 due={}] sla+[2026-11-20 10:00:00] \
                 history[Status set to Open via the API (Tess key)] \
                 log[API/Success: Set the status of ticket TCK-1 to Open via API (Tess key)]", due_after(450)),
            ),
            (
                "2.6.7: moving a resolved ticket on reopens it and resets the verdict",
                tess_key(), V267, with(resolved), reply(Some("x"), false, 2),
                format!("ticket[updated_at status=2 resolved_at=NULL resolution_met=None due={}] sla+[2026-11-20 10:00:00] \
                 reply[Internal 00:00:00 by 2] note[user 1] \
                 history[Tess Tech reopened the ticket] history[Status set to Open via the API (Tess key)] \
                 log[Ticket/Reopened: Tess Tech reopened ticket ID 1] \
                 log[Ticket/Reply: Added a Internal reply to ticket TCK-1 - Printer via API (Tess key)] \
                 log[API/Success: Added a Internal reply to ticket TCK-1 via API (Tess key)]", due_after(450)),
            ),
        ];
        for (name, principal, v, snap, req, expected) in cases {
            assert_eq!(run(principal, v, snap, req), Ok(expected), "{name}");
        }
    }

    fn closed_interval() -> Interval {
        Interval {
            id: 7,
            started: Some("2026-11-20 09:00:00".parse().unwrap()),
            ended: Some("2026-11-20 09:30:00".parse().unwrap()),
            minutes: Some(30),
        }
    }

    fn sql_datetime_of(dt: jiff::civil::DateTime) -> String {
        crate::domain::sla_clock::sql_datetime(dt)
    }
}
