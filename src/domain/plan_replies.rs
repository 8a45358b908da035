//! The legacy dialect's create (`/api/v1/tickets/replies/create.php`):
//! what ITFlow's agent reply handler (agent/post/ticket.php,
//! `add_ticket_reply`) writes, with replyd's documented checks; on
//! databases of ITFlow 2.4.7+ also what ITFlow 2.6.7 keeps right
//! (`ticket_history`, the SLA verdicts and clock, the API's log texts).
//! A customer's reply is planned by `plan_customer.rs`.
//!
//! A pure function: the locked snapshot and the request in, a write plan
//! or a refusal out.

use crate::domain::flavour::LogTexts;
use crate::domain::plan::{
    Actor, AttachmentRow, LogRow, NotificationRow, ReplyRow, Texts, WriteContext, WritePlan,
};
use crate::domain::reply::{PersonRef, STATUS_CLOSED, STATUS_NEW, STATUS_RESOLVED};
use crate::domain::sla_clock::{SlaClock, sql_datetime};
use crate::domain::snapshot::Snapshot;
use crate::domain::{
    Author, Created, NewReply, ReplyType, StatusChange, plan_customer, reply_email, status,
};
use crate::messages::Message;
use crate::php::{sanitize_input, truncate_bytes};
use jiff::civil::DateTime;

/// What a request does to its ticket, decided from the snapshot.
pub(crate) struct Moves {
    /// The status asked for (0: none).
    pub status: i64,
    pub changes_status: bool,
    pub resolves: bool,
    /// Moving a resolved ticket to another status reopens it, as the agent
    /// UI's reopen does (agent/post/ticket.php, reopen_ticket): the UI
    /// offers no reply form on a resolved ticket until it is reopened.
    pub reopens: bool,
    pub first_public: bool,
    /// When the reply was written: the write's instant, or `created`.
    pub at: DateTime,
}

/// The plan for `req` on the ticket of `snap`, or why it is refused.
pub fn plan(snap: &Snapshot, req: &NewReply, ctx: &WriteContext<'_>) -> Result<WritePlan, Message> {
    if let Author::Customer(contact) = &req.author {
        return plan_customer::plan(snap, req, contact, ctx);
    }
    // public_reply_type 2: allowed here, and mail configured in ITFlow.
    let email = reply_email::check_request(req, ctx)?;
    let moves = check(snap, req, ctx)?;
    let mail = match email {
        Some(rules) => Some((rules, reply_email::configured(snap, rules)?)),
        None => None,
    };
    let mut texts = Texts::new(snap, ctx);
    if let Author::Agent(agent) = &req.author {
        texts.actor = agent_actor(snap, agent)?;
    }
    let status_name = sanitize_input(
        snap.requested_status
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .unwrap_or("Unknown"),
    );
    let mut plan = WritePlan::for_ticket(snap, &texts.actor);
    // The agent reply handler always updates the ticket row.
    plan.ticket.touch = true;
    let mut clock = ticket_changes(&mut plan, snap, &moves);
    status_rows(&mut plan, snap, &moves, &texts, ctx);
    if let Some(text) = &req.text {
        // Emailed, the reply carries the author's signature.
        let text = match mail {
            Some((_, m)) => reply_email::signed(text, m),
            None => text.clone(),
        };
        if let Some((rules, m)) = mail {
            let after = reply_email::TicketAfter {
                status: if moves.status != 0 {
                    moves.status
                } else {
                    snap.ticket.status
                },
                status_name: if moves.status != 0 {
                    snap.requested_status
                        .as_ref()
                        .and_then(|s| s.name.as_deref())
                } else {
                    snap.current_status_name.as_deref()
                },
                reply: &text,
            };
            plan.mails = reply_email::mails(snap, m, &after, ctx.base_url);
            let files = reply_email::manifest(snap.ticket.id, &req.attachments);
            for mail in &mut plan.mails {
                mail.attachments = files.clone();
            }
            plan.queue_without_attachments = !rules.attachments_column;
        }
        plan.reply = Some(ReplyRow {
            text,
            reply_type: req.reply_type.as_str(),
            time_worked: Some(req.time_worked.to_string()),
            by: texts.actor.user_id,
            created_at: sql_datetime(moves.at),
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
    plan.attachments = attachment_rows(req, ctx)?;
    Ok(plan)
}

/// The `ticket_attachments` rows of the request's files: only with a reply
/// (they are tied to it), on a database that has the table.
pub(crate) fn attachment_rows(
    req: &NewReply,
    ctx: &WriteContext<'_>,
) -> Result<Vec<AttachmentRow>, Message> {
    if req.attachments.is_empty() {
        return Ok(Vec::new());
    }
    if req.text.is_none() {
        return Err(Message::AttachmentsNeedReply);
    }
    if !ctx.flavour.stores_attachments() {
        return Err(Message::AttachmentsNotStored);
    }
    Ok(req
        .attachments
        .iter()
        .map(|a| AttachmentRow {
            name: a.name.stored(),
            reference: a.reference.clone(),
        })
        .collect())
}

/// Whether the key may write on the ticket of `snap`, and a `client_id`
/// parameter, when given, is the ticket's client.
pub(crate) fn in_scope(snap: &Snapshot, client_id: i64, ctx: &WriteContext<'_>) -> bool {
    // The agent UI lets any agent reply on a ticket without a client
    // (agent/post/ticket.php skips enforceClientAccess for client 0).
    let ticket_client = snap.ticket.client_id;
    ctx.principal.scope().allows(ticket_client) && (client_id == 0 || client_id == ticket_client)
}

/// When the reply was written: `created` on the company's wall clock, no
/// more than 60 s ahead of now and not before the ticket was created; else
/// now.
pub(crate) fn reply_time(snap: &Snapshot, created: Option<Created>) -> Result<DateTime, Message> {
    let Some(created) = created else {
        return Ok(snap.now);
    };
    let at = created.local(&snap.tz);
    let latest = snap.now.checked_add(jiff::SignedDuration::from_secs(60));
    if latest.is_ok_and(|latest| at > latest) {
        return Err(Message::CreatedInFuture);
    }
    if snap.ticket.created_at.is_some_and(|c| at < c) {
        return Err(Message::CreatedBeforeTicket);
    }
    Ok(at)
}

/// The agent a reply on behalf names: an active, unarchived agent who may
/// work on the ticket's client.
fn agent_actor(snap: &Snapshot, named: &PersonRef) -> Result<Actor, Message> {
    let agent = snap
        .agent
        .as_ref()
        .filter(|a| named.matches(a.id, Some(&a.email)))
        .filter(|a| a.active_agent && (a.is_admin || a.scope.allows(snap.ticket.client_id)))
        .ok_or(Message::AuthorNotAgent)?;
    Ok(Actor {
        user_id: agent.id,
        name: sanitize_input(&agent.name),
    })
}

/// replyd's checks (the agent UI's form and pages make the same ones), and
/// what the request does.
fn check(snap: &Snapshot, req: &NewReply, ctx: &WriteContext<'_>) -> Result<Moves, Message> {
    let ticket = &snap.ticket;
    if !in_scope(snap, req.client_id, ctx) {
        return Err(Message::TicketNotFound);
    }
    // agent/ticket.php offers no reply form once a ticket is closed.
    if ticket.closed {
        return Err(Message::TicketClosed);
    }
    if let Author::Agent(agent) = &req.author {
        agent_actor(snap, agent)?;
    }
    let at = reply_time(snap, req.created)?;
    let status = match &req.status {
        StatusChange::To(s) => *s,
        StatusChange::Keep => 0,
        StatusChange::Named(name) => match status::find_by_name(&snap.statuses, name) {
            Some(id) if id != STATUS_NEW && id != STATUS_CLOSED => id,
            _ => {
                let names = status::accepted_names(&snap.statuses, snap.open_tasks);
                return Err(Message::StatusNameNotAccepted(names));
            }
        },
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
        at,
    })
}

/// The ticket row's changes (status, resolved, reopened), then the SLA
/// clock for the new status (agent handler order: UPDATE,
/// syncTicketSlaClock, resolve). The clock, for the first response that
/// follows the reply. A backdated reply resolves and responds at its
/// `created` time; the clock's intervals move at the write's instant.
pub(crate) fn ticket_changes(
    plan: &mut WritePlan,
    snap: &Snapshot,
    moves: &Moves,
) -> Option<SlaClock> {
    let ticket = &snap.ticket;
    let at = sql_datetime(moves.at);
    let mut clock = snap.sla.as_ref().map(|sla| {
        SlaClock::new(sla, ticket.first_response_set, snap.now, &snap.tz).reply_at(moves.at)
    });
    if moves.status != 0 {
        plan.ticket.status = Some(moves.status);
        if let (Some(clock), Some(status)) = (&mut clock, &snap.requested_status) {
            clock.status_changed(status.pauses_sla);
        }
    }
    // Resolving stamps ticket_resolved_at, left alone when the ticket was
    // already resolved.
    if moves.status == STATUS_RESOLVED && (moves.resolves || !ticket.resolved) {
        plan.ticket.resolved_at = Some(Some(at.clone()));
        if let Some(clock) = &mut clock {
            clock.resolved_at_changed(Some(moves.at));
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
        None if moves.first_public => plan.ticket.first_response_at = Some(at),
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
pub(crate) fn status_rows(
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
    use crate::domain::plan::MailRow;
    use crate::domain::plan::summary;
    use crate::domain::reply::PersonRef;
    use crate::domain::sla::add_business_minutes;
    use crate::domain::snapshot::Interval;
    use crate::domain::snapshot::StatusRow;
    use crate::domain::snapshot::samples::{open_ticket, sla, status, tess_key};
    use crate::domain::snapshot::{AgentRow, ContactRow, MailSnapshot};
    use crate::domain::status::{StatusEntry, find_by_name};
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
            ticket: crate::domain::TicketRef {
                id: Some(1),
                number: None,
            },
            client_id: 0,
            text: text.map(str::to_string),
            reply_type: if public {
                ReplyType::Public
            } else {
                ReplyType::Internal
            },
            email: false,
            time_worked: TimeWorked::default(),
            status: if status == 0 {
                StatusChange::Keep
            } else {
                StatusChange::To(status)
            },
            author: Author::Key,
            created: None,
            attachments: Vec::new(),
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
            base_url: "example.com",
            app_name: "ITFlow",
            email_replies: false,
        };
        let mut snap = snap;
        let requested = match &req.status {
            StatusChange::To(s) => Some(*s),
            StatusChange::Named(name) => find_by_name(&snap.statuses, name),
            StatusChange::Keep if req.is_customer() => Some(2),
            StatusChange::Keep => None,
        };
        if let (Some(s), true) = (requested, status_row) {
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

    fn seeded_statuses() -> Vec<StatusEntry> {
        (1..=5)
            .map(|id| StatusEntry {
                id,
                name: status(id).name.unwrap(),
                active: true,
            })
            .collect()
    }

    fn carla() -> ContactRow {
        ContactRow {
            id: 7,
            name: "Carla & Co".into(),
            email: Some("Carla@Example.com".into()),
        }
    }

    fn customer(named: PersonRef) -> NewReply {
        NewReply {
            author: Author::Customer(named),
            ..reply(Some("It still jams"), false, 0)
        }
    }

    fn by_id(id: i64) -> PersonRef {
        PersonRef {
            id: Some(id),
            email: None,
        }
    }

    fn agent(active: bool, scope: ClientScope) -> AgentRow {
        AgentRow {
            id: 5,
            name: "Alex Agent".into(),
            email: "alex@example.com".into(),
            active_agent: active,
            is_admin: false,
            scope,
        }
    }

    fn on_behalf(named: PersonRef) -> NewReply {
        NewReply {
            author: Author::Agent(named),
            ..reply(Some("x"), false, 0)
        }
    }

    fn backdated(at: &str, public: bool) -> NewReply {
        NewReply {
            created: Some(crate::domain::Created::parse(at).unwrap()),
            ..reply(Some("x"), public, 0)
        }
    }

    fn named(name: &str) -> NewReply {
        NewReply {
            status: StatusChange::Named(name.into()),
            ..reply(None, false, 0)
        }
    }

    #[test]
    fn customer_replies() {
        let with_carla = |f: fn(&mut Snapshot)| {
            with(|s| {
                s.contact = Some(carla());
                f(s)
            })
        };
        let on_hold = |s: &mut Snapshot| {
            s.ticket.status = 3;
            let mut sla = sla();
            sla.status_pauses = true;
            sla.intervals = vec![closed_interval()];
            s.sla = Some(sla);
        };
        let resolved = |s: &mut Snapshot| {
            s.ticket.status = 4;
            s.ticket.resolved = true;
        };
        let email = PersonRef {
            id: None,
            email: Some(" carla@EXAMPLE.com".into()),
        };
        let cases: Vec<(&str, Principal, Version, Snapshot, NewReply, String)> = vec![
            (
                "2.4.4: on an open ticket, the reply and replyd's log only",
                global_key(), V244, with_carla(|_| {}), customer(by_id(7)),
                "reply[Client NULL by 7] \
                 log[Ticket/Reply: Carla & Co replied to ticket TCK-1 - Printer and was a Client reply via API (Global key)]".into(),
            ),
            (
                "2.4.4: by email, on a resolved ticket: reopened first",
                global_key(), V244, with_carla(resolved), customer(email.clone()),
                "ticket[updated_at status=2 resolved_at=NULL] reply[Client NULL by 7] \
                 log[Ticket/Edit: Carla & Co reopened ticket TCK-1 via API (Global key)] \
                 log[Ticket/Reply: Carla & Co replied to ticket TCK-1 - Printer and was a Client reply via API (Global key)]".into(),
            ),
            (
                "2.6.7: on hold: Open again, the clock resumes, the history says so",
                tess_key(), V267, with_carla(on_hold), customer(by_id(7)),
                format!("ticket[updated_at status=2 due={}] sla+[2026-11-20 10:00:00] reply[Client NULL by 7] \
                 history[Carla & Co replied via the API (Tess key), reopening the ticket] \
                 log[Ticket/Reply: Added a Client reply from Carla & Co to ticket TCK-1 - Printer via API (Tess key)] \
                 log[API/Success: Added a Client reply from Carla & Co to ticket TCK-1 via API (Tess key)]",
                 sql_datetime_of(add_business_minutes(open_ticket().now, 450, &sla().calendar, &TimeZone::UTC))),
            ),
        ];
        for (name, principal, v, snap, req, expected) in cases {
            assert_eq!(run(principal, v, snap, req), Ok(expected), "{name}");
        }
        let refusals: Vec<(&str, Snapshot, NewReply, Message)> = vec![
            (
                "no such contact of the client",
                open_ticket(),
                customer(by_id(7)),
                Message::TicketNotFound,
            ),
            (
                "id and email of two contacts",
                with_carla(|_| {}),
                customer(PersonRef {
                    id: Some(7),
                    email: Some("other@example.com".into()),
                }),
                Message::TicketNotFound,
            ),
            (
                "a ticket without a client",
                with_carla(|s| s.ticket.client_id = 0),
                customer(by_id(7)),
                Message::TicketNotFound,
            ),
            (
                "a closed ticket",
                with_carla(|s| s.ticket.closed = true),
                customer(by_id(7)),
                Message::TicketClosed,
            ),
            (
                "created before the ticket",
                with_carla(|_| {}),
                NewReply {
                    created: Some(crate::domain::Created::parse("2026-11-20 08:59:59").unwrap()),
                    ..customer(by_id(7))
                },
                Message::CreatedBeforeTicket,
            ),
        ];
        for (name, snap, req, message) in refusals {
            assert_eq!(
                run(global_key(), V244, snap, req),
                Err(message.to_string()),
                "{name}"
            );
        }
        // A client key of another client sees no ticket, contact or not.
        let got = run(client_2_key(), V244, with_carla(|_| {}), customer(by_id(7)));
        assert_eq!(got, Err(Message::TicketNotFound.to_string()));
    }

    #[test]
    fn a_customer_reply_emails_the_assigned_agent_where_mail_is_configured() {
        let mut snap = open_ticket();
        snap.contact = Some(carla());
        snap.mail = Some(MailSnapshot {
            provider: Some("smtp".into()),
            from_name: Some("Help Desk".into()),
            from_email: Some("help@example.com".into()),
            ticket_prefix: Some("TCK-".into()),
            client_name: Some("Acme & Co".into()),
            assignee_name: Some("Tess Tech".into()),
            assignee_email: Some("tess@example.com".into()),
            ..MailSnapshot::default()
        });
        let ctx = WriteContext {
            principal: &global_key(),
            legacy_author: 0,
            flavour: Flavour::new(V267.0, V267.1, V267.2, V267.3)
                .with_allow_deny_lists(true)
                .with_agent_email(Some(queue(true))),
            base_url: "itflow.example.com",
            app_name: "ITFlow",
            email_replies: false,
        };
        let plan = plan(&snap, &customer(by_id(7)), &ctx).unwrap();
        assert_eq!(
            plan.mails,
            [MailRow {
                recipient: "tess@example.com".into(),
                recipient_name: "Tess Tech".into(),
                from: "help@example.com".into(),
                from_name: "Help Desk".into(),
                subject: "ITFlow Ticket updated - [TCK-1] Printer".into(),
                content: "Hello Tess Tech,<br><br>A new reply has been added to the below ticket, check ITFlow for full details.<br><br>Client: Acme & Co<br>Ticket: TCK-1<br>Subject: Printer<br><br>https://itflow.example.com/agent/ticket.php?ticket_id=1&client_id=1".into(),
                attachments: String::new(),
            }]
        );
        // No provider, or no assignee: no email.
        let mut unconfigured = snap.clone();
        unconfigured.mail.as_mut().unwrap().provider = Some(String::new());
        assert!(plan_of(&unconfigured, &ctx).mails.is_empty());
        let mut unassigned = snap.clone();
        unassigned.ticket.assigned_to = 0;
        assert!(plan_of(&unassigned, &ctx).mails.is_empty());
        // A database without an email queue: none either.
        let no_queue = WriteContext {
            flavour: Flavour::new(true, true, true, false),
            ..ctx
        };
        assert!(plan_of(&snap, &no_queue).mails.is_empty());
        // ITFlow 2.4.4 takes an SMTP host alone as configured mail, and its
        // queue has no email_attachments column.
        let v244 = WriteContext {
            flavour: Flavour::new(false, false, false, false).with_agent_email(Some(queue(false))),
            ..ctx
        };
        let mut host_only = snap.clone();
        let m = host_only.mail.as_mut().unwrap();
        (m.provider, m.smtp_host) = (None, Some("mail.example.com".into()));
        let plan = plan_of(&host_only, &v244);
        assert_eq!(plan.mails.len(), 1);
        assert!(plan.queue_without_attachments);
    }

    fn queue(attachments_column: bool) -> crate::domain::flavour::EmailQueue {
        crate::domain::flavour::EmailQueue {
            attachments_column,
            smtp_host_column: true,
            signatures: true,
        }
    }

    fn plan_of(snap: &Snapshot, ctx: &WriteContext<'_>) -> WritePlan {
        plan(snap, &customer(by_id(7)), ctx).unwrap()
    }

    #[test]
    fn replies_on_behalf_of_an_agent() {
        let with_agent = |a: AgentRow| with(|s| s.agent = Some(a));
        let all = ClientScope::AllClients;
        let ok = run(
            global_key(),
            V244,
            with_agent(agent(true, all.clone())),
            on_behalf(by_id(5)),
        );
        assert_eq!(
            ok,
            Ok("ticket[updated_at] reply[Internal 00:00:00 by 5] note[user 2] note[user 1] \
                log[Ticket/Reply: Alex Agent replied to ticket TCK-1 - Printer and was a Internal reply]".into())
        );
        // The assignee writing: no notification for themselves.
        let assignee = AgentRow {
            id: 2,
            ..agent(true, all.clone())
        };
        let ok = run(tess_key(), V267, with_agent(assignee), on_behalf(by_id(2)));
        assert_eq!(
            ok,
            Ok("ticket[updated_at] reply[Internal 00:00:00 by 2] note[user 1] \
                log[Ticket/Reply: Added a Internal reply to ticket TCK-1 - Printer via API (Tess key)] \
                log[API/Success: Added a Internal reply to ticket TCK-1 via API (Tess key)]".into())
        );
        let by_email = PersonRef {
            id: None,
            email: Some("ALEX@example.com ".into()),
        };
        assert!(
            run(
                global_key(),
                V244,
                with_agent(agent(true, all.clone())),
                on_behalf(by_email)
            )
            .is_ok()
        );
        let refused = Err(Message::AuthorNotAgent.to_string());
        for (name, snap) in [
            ("no such user", open_ticket()),
            (
                "inactive or archived, or not an agent",
                with_agent(agent(false, all.clone())),
            ),
            (
                "no access to the client",
                with_agent(agent(true, ClientScope::from_lists(vec![2], vec![]))),
            ),
            (
                "denied the client",
                with_agent(agent(true, ClientScope::from_lists(vec![], vec![1]))),
            ),
        ] {
            assert_eq!(
                run(global_key(), V244, snap, on_behalf(by_id(5))),
                refused,
                "{name}"
            );
        }
        let admin = AgentRow {
            is_admin: true,
            ..agent(true, ClientScope::from_lists(vec![], vec![1]))
        };
        assert!(run(global_key(), V244, with_agent(admin), on_behalf(by_id(5))).is_ok());
    }

    #[test]
    fn backdated_replies() {
        let with_sla = || with(|s| s.sla = Some(sla()));
        // Due at 10:00: a first response dated 09:30 met it, even written
        // later; the row is dated 09:30 too.
        assert_eq!(
            run(tess_key(), V267, with_sla(), backdated("2026-11-20 09:30:00", true)),
            Ok("ticket[updated_at first_response_at response_met=Some(1)] \
                reply[Public 00:00:00 by 2 at 2026-11-20 09:30:00] note[user 1] \
                log[Ticket/Reply: Added a Public reply to ticket TCK-1 - Printer via API (Tess key)] \
                log[API/Success: Added a Public reply to ticket TCK-1 via API (Tess key)]".into())
        );
        // RFC 3339 is converted to the company's zone (UTC here).
        let got = run(
            global_key(),
            V244,
            open_ticket(),
            backdated("2026-11-20T10:30:00+01:00", false),
        );
        assert!(got.unwrap().contains("by 0 at 2026-11-20 09:30:00]"));
        // Up to 60 s ahead is the write's own clock skew.
        let got = run(
            global_key(),
            V244,
            open_ticket(),
            backdated("2026-11-20 10:01:00", false),
        );
        assert!(got.unwrap().contains("at 2026-11-20 10:01:00]"));
        for (at, message) in [
            ("2026-11-20 10:01:01", Message::CreatedInFuture),
            ("2026-11-20 08:59:59", Message::CreatedBeforeTicket),
        ] {
            let got = run(global_key(), V244, open_ticket(), backdated(at, false));
            assert_eq!(got, Err(message.to_string()), "{at}");
        }
        // Resolving with a backdated reply resolves at that time.
        let req = NewReply {
            status: StatusChange::To(4),
            ..backdated("2026-11-20 09:45:00", false)
        };
        let plan = {
            let principal = global_key();
            let ctx = WriteContext {
                principal: &principal,
                legacy_author: 0,
                flavour: Flavour::new(V244.0, V244.1, V244.2, V244.3),
                base_url: "",
                app_name: "ITFlow",
                email_replies: false,
            };
            let mut snap = open_ticket();
            snap.requested_status = Some(status(4));
            plan(&snap, &req, &ctx).unwrap()
        };
        assert_eq!(
            plan.ticket.resolved_at,
            Some(Some("2026-11-20 09:45:00".into()))
        );
        assert_eq!(plan.now, "2026-11-20 10:00:00");
    }

    #[test]
    fn statuses_by_name() {
        let listed = || with(|s| s.statuses = seeded_statuses());
        let got = run(global_key(), V244, listed(), named(" on HOLD"));
        assert_eq!(
            got,
            Ok("ticket[updated_at status=3] log[Ticket/Reply: Global key (API) replied to ticket TCK-1 - Printer and was a Internal reply]".into())
        );
        let all = Message::StatusNameNotAccepted(vec![
            "Open".into(),
            "On Hold".into(),
            "Resolved".into(),
        ]);
        for name in ["Closed", "new", "Pending"] {
            assert_eq!(
                run(global_key(), V244, listed(), named(name)),
                Err(all.to_string()),
                "{name}"
            );
        }
        let busy = || {
            with(|s| {
                s.statuses = seeded_statuses();
                s.open_tasks = 2;
            })
        };
        let no_resolved = Message::StatusNameNotAccepted(vec!["Open".into(), "On Hold".into()]);
        assert_eq!(
            run(global_key(), V244, busy(), named("Pending")),
            Err(no_resolved.to_string())
        );
        assert_eq!(
            run(global_key(), V244, busy(), named("resolved")),
            Err(Message::ResolveWithOpenTasks.to_string())
        );
        let mut inactive = seeded_statuses();
        inactive[2].active = false;
        let snap = with(|s| s.statuses = inactive);
        let two = Message::StatusNameNotAccepted(vec!["Open".into(), "Resolved".into()]);
        assert_eq!(
            run(global_key(), V244, snap, named("On Hold")),
            Err(two.to_string())
        );
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
