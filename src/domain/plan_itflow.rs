//! ITFlow 2.6's own create (`/api/v1/ticket_replies/create.php`): its
//! effects (api/v1/ticket_replies/create.php, ticket_reply_model.php), with
//! its one generic failure message. Unlike the legacy dialect it validates
//! little, as ITFlow does.
//!
//! A pure function: the locked snapshot and the request in, a write plan
//! or a refusal out.

use crate::domain::plan::{LogRow, MailRow, ReplyRow, Texts, WriteContext, WritePlan};
use crate::domain::reply::STATUS_RESOLVED;
use crate::domain::sla_clock::SlaClock;
use crate::domain::snapshot::{MailSnapshot, Snapshot};
use crate::messages::Message;
use crate::php::{format_phone_number, is_valid_email, sanitize_input};

/// The request as ticket_reply_model.php reads it (already defaulted).
#[derive(Debug, Clone)]
pub struct ItflowReply {
    pub ticket_id: i64,
    /// The write's client (0: none named).
    pub client_id: i64,
    pub text: String,
    /// `Internal` or `Public`.
    pub reply_type: &'static str,
    pub time_worked: String,
    /// 0: leave the status.
    pub status: i64,
}

impl ItflowReply {
    /// Refusals that need no database: create.php's `!empty($ticket_id) &&
    /// !empty($reply)`, and a time worked MariaDB's TIME column (838:59:59
    /// at most) would refuse.
    pub fn check(&self) -> Result<(), Message> {
        if self.ticket_id == 0 || self.text.is_empty() || self.text == "0" {
            return Err(failure());
        }
        let hours: u32 = self
            .time_worked
            .split(':')
            .next()
            .and_then(|h| h.parse().ok())
            .unwrap_or(0);
        if hours > 838 {
            return Err(failure());
        }
        Ok(())
    }

    pub fn is_public(&self) -> bool {
        self.reply_type == "Public"
    }
}

fn failure() -> Message {
    Message::ItflowCreateFailed
}

/// The plan for `r` on the ticket of `snap` (None: no such ticket).
pub fn plan(
    snap: Option<&Snapshot>,
    r: &ItflowReply,
    ctx: &WriteContext<'_>,
) -> Result<WritePlan, Message> {
    r.check()?;
    let Some(snap) = snap else {
        return Err(failure());
    };
    let ticket = &snap.ticket;
    // The ticket is loaded through the key's client scope, and a named
    // client must be the ticket's own.
    if !ctx.principal.scope().allows(ticket.client_id)
        || (r.client_id != 0 && r.client_id != ticket.client_id)
    {
        return Err(failure());
    }
    // replyd's own guard: ITFlow would store any number as the status.
    if r.status != 0 && snap.requested_status.is_none() {
        return Err(failure());
    }
    let texts = Texts::new(snap, ctx);
    let mut plan = WritePlan::for_ticket(snap, &texts.actor);
    let mut clock = snap
        .sla
        .as_ref()
        .map(|sla| SlaClock::new(sla, ticket.first_response_set, snap.now, &snap.tz));
    // Internal notes don't count as a response.
    if r.is_public() && !ticket.first_response_set {
        match &mut clock {
            Some(clock) => clock.set_first_response(&mut plan),
            None => plan.ticket.first_response_at = Some(plan.now.clone()),
        }
    }
    plan.reply = Some(ReplyRow {
        text: r.text.clone(),
        reply_type: r.reply_type,
        time_worked: Some(r.time_worked.clone()),
        by: texts.actor.user_id,
        created_at: plan.now.clone(),
    });
    if r.status != 0 {
        status_change(&mut plan, &mut clock, snap, r, &texts, ctx);
    }
    let (kind, key, number, subject) = (r.reply_type, &texts.key, &texts.number, &texts.subject);
    let text = format!("Added a {kind} reply to ticket {number} - {subject} via API ({key})");
    plan.logs
        .push(LogRow::new("Ticket", "Reply", text, ticket.id));
    let text = format!("Added a {kind} reply to ticket {number} via API ({key})");
    plan.logs.push(LogRow::new("API", "Success", text, 0));
    if let (true, Some(mail)) = (r.is_public(), &snap.mail) {
        // The status the ticket has after this write.
        let status_name = if r.status != 0 {
            snap.requested_status.as_ref().and_then(|s| s.name.clone())
        } else {
            snap.current_status_name.clone()
        };
        plan.mails = mails(mail, r, &texts, status_name, ctx.base_url);
    }
    Ok(plan)
}

/// create.php's status change: the status (its UPDATE moves
/// `ticket_updated_at` only when the row changes), its history, the clock,
/// and on resolving the stamp, verdict, history and log.
fn status_change(
    plan: &mut WritePlan,
    clock: &mut Option<SlaClock>,
    snap: &Snapshot,
    r: &ItflowReply,
    texts: &Texts,
    ctx: &WriteContext<'_>,
) {
    let Some(requested) = &snap.requested_status else {
        return;
    };
    let ticket = &snap.ticket;
    let key = &texts.key;
    let changed = r.status != ticket.status;
    if changed {
        plan.ticket.status = Some(r.status);
        if let Some(clock) = clock {
            clock.status_changed(requested.pauses_sla);
        }
    }
    if changed && r.status != STATUS_RESOLVED && ctx.flavour.has_ticket_history() {
        let name = sanitize_input(requested.name.as_deref().unwrap_or("Unknown"));
        plan.history
            .push(format!("Status set to {name} via the API ({key})"));
    }
    // replyd also runs the clock on every status change (ITFlow's API only
    // does when resolving), so a pausing status pauses it.
    if let (true, Some(clock)) = (changed, clock.as_mut()) {
        clock.sync(plan);
    }
    if r.status != STATUS_RESOLVED || ticket.status == STATUS_RESOLVED {
        return;
    }
    // Stamped only when not resolved already.
    if !ticket.resolved {
        plan.ticket.resolved_at = Some(Some(plan.now.clone()));
        if let Some(clock) = clock {
            clock.resolved_at_changed(Some(snap.now));
        }
    }
    if let Some(clock) = clock {
        clock.set_resolution_sla_met(plan);
    }
    if ctx.flavour.has_ticket_history() {
        plan.history.push(format!("Resolved via the API ({key})"));
    }
    let text = format!("Resolved ticket {} via API ({key})", texts.number);
    plan.logs
        .push(LogRow::new("Ticket", "Resolved", text, ticket.id));
}

/// The public-reply email ITFlow queues (api/v1/ticket_replies/create.php,
/// then addToMailQueue): to the ticket's contact and to every watcher with
/// a valid address, when mail is configured (`config_smtp_provider`).
fn mails(
    m: &MailSnapshot,
    r: &ItflowReply,
    texts: &Texts,
    status_name: Option<String>,
    base_url: &str,
) -> Vec<MailRow> {
    let (number, subject) = (&texts.number, &texts.subject);
    if m.provider.as_deref().unwrap_or("").is_empty() {
        return Vec::new();
    }
    let clean = |v: &Option<String>| sanitize_input(v.as_deref().unwrap_or(""));
    let (from_name, from_email) = (clean(&m.from_name), clean(&m.from_email));
    let (contact_name, contact_email) = (clean(&m.contact_name), clean(&m.contact_email));
    let phone = sanitize_input(&format_phone_number(
        m.company_phone.as_deref().unwrap_or(""),
        m.company_phone_country_code.as_deref().unwrap_or(""),
    ));
    let mail_subject = format!("Ticket update - [{number}] - {subject}");
    let body = format!(
        "<i style='color: #808080'>##- Please type your reply above this line -##</i><br><br>Hello {contact_name},<br><br>Your ticket regarding {subject} has been updated.<br><br>--------------------------------<br>{reply}<br>--------------------------------<br><br>Ticket: {number}<br>Subject: {subject}<br>Status: {status}<br>Portal: <a href='https://{base_url}/guest/guest_view_ticket.php?ticket_id={id}&url_key={url_key}'>View ticket</a><br><br>--<br>{company} - Support<br>{from_email}<br>{phone}",
        reply = r.text,
        status = clean(&status_name),
        id = r.ticket_id,
        url_key = clean(&m.url_key),
        company = clean(&m.company_name),
    );
    let mail = |recipient: String, recipient_name: String, content: String| MailRow {
        recipient,
        recipient_name,
        from: from_email.clone(),
        from_name: from_name.clone(),
        subject: mail_subject.clone(),
        content,
        attachments: String::new(),
    };
    let mut mails = Vec::new();
    if is_valid_email(&contact_email) {
        mails.push(mail(contact_email, contact_name, body.clone()));
    }
    let watcher_body = format!(
        "{body}<br><br>----------------------------------------<br>YOU ARE A COLLABORATOR ON THIS TICKET"
    );
    for (name, email) in &m.watchers {
        let email = sanitize_input(email);
        if is_valid_email(&email) {
            mails.push(mail(email, clean(name), watcher_body.clone()));
        }
    }
    mails
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Flavour;
    use crate::domain::plan::summary;
    use crate::domain::sla::add_business_minutes;
    use crate::domain::sla_clock::sql_datetime;
    use crate::domain::snapshot::Interval;
    use crate::domain::snapshot::TicketRow;
    use crate::domain::snapshot::samples::{open_ticket, sla, status, tess_key};

    fn request(text: &str, reply_type: &'static str, status: i64) -> ItflowReply {
        ItflowReply {
            ticket_id: 1,
            client_id: 0,
            text: text.into(),
            reply_type,
            time_worked: "00:00:00".into(),
            status,
        }
    }

    fn run(snap: Option<Snapshot>, r: &ItflowReply) -> Result<String, String> {
        let principal = tess_key();
        let ctx = WriteContext {
            principal: &principal,
            legacy_author: 0,
            flavour: Flavour::new(true, true, true, true),
            base_url: "help.example.com",
            app_name: "ITFlow",
            email_replies: false,
        };
        let snap = snap.map(|mut s| {
            if r.status != 0 && r.status <= 5 {
                s.requested_status = Some(status(r.status));
            }
            s
        });
        plan(snap.as_ref(), r, &ctx)
            .map(|p| summary(&p))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn refusals_are_itflows_one_message() {
        let failed = Err(Message::ItflowCreateFailed.to_string());
        let cases: Vec<(&str, Option<Snapshot>, ItflowReply)> = vec![
            (
                "no reply text",
                Some(open_ticket()),
                request("", "Internal", 0),
            ),
            (
                "a reply of \"0\"",
                Some(open_ticket()),
                request("0", "Internal", 0),
            ),
            (
                "no ticket_id",
                Some(open_ticket()),
                ItflowReply {
                    ticket_id: 0,
                    ..request("x", "Internal", 0)
                },
            ),
            (
                "over 838 hours",
                Some(open_ticket()),
                ItflowReply {
                    time_worked: "839:00:00".into(),
                    ..request("x", "Internal", 0)
                },
            ),
            ("no such ticket", None, request("x", "Internal", 0)),
            (
                "client_id of another client",
                Some(open_ticket()),
                ItflowReply {
                    client_id: 2,
                    ..request("x", "Internal", 0)
                },
            ),
            (
                "a status without a row",
                Some(open_ticket()),
                request("x", "Internal", 9),
            ),
        ];
        for (name, snap, r) in cases {
            assert_eq!(run(snap, &r), failed, "{name}");
        }
    }

    #[test]
    fn plans() {
        let logs = |kind: &str| {
            format!(
                "log[Ticket/Reply: Added a {kind} reply to ticket TCK-1 - Printer via API (Tess key)] \
                 log[API/Success: Added a {kind} reply to ticket TCK-1 via API (Tess key)]"
            )
        };
        let mail = MailSnapshot {
            provider: Some("smtp".into()),
            from_email: Some("help@example.com".into()),
            contact_email: Some("carla@acme.example".into()),
            watchers: vec![
                (Some("Wes".into()), "wes@acme.example".into()),
                (None, "not an address".into()),
            ],
            ..MailSnapshot::default()
        };
        let with_mail = Snapshot {
            mail: Some(mail),
            ..open_ticket()
        };
        // On hold (the clock paused after 30 minutes), then resolved: the
        // clock resumes for the status change and stops again at once.
        let mut paused = sla();
        paused.status_pauses = true;
        paused.intervals = vec![Interval {
            id: 7,
            started: Some("2026-11-20 09:00:00".parse().unwrap()),
            ended: Some("2026-11-20 09:30:00".parse().unwrap()),
            minutes: Some(30),
        }];
        let due = sql_datetime(add_business_minutes(
            open_ticket().now,
            450,
            &paused.calendar,
            &jiff::tz::TimeZone::UTC,
        ));
        let on_hold = Snapshot {
            ticket: TicketRow {
                status: 3,
                ..open_ticket().ticket
            },
            sla: Some(paused),
            ..open_ticket()
        };
        let cases: Vec<(&str, Snapshot, ItflowReply, String)> = vec![
            (
                "an internal note leaves the ticket row alone",
                open_ticket(),
                request("x", "Internal", 0),
                format!("reply[Internal 00:00:00 by 2] {}", logs("Internal")),
            ),
            (
                "a public reply: first response, email to the contact and each valid watcher",
                with_mail,
                request("x", "Public", 0),
                format!(
                    "ticket[updated_at first_response_at] reply[Public 00:00:00 by 2] {} \
                     mail[carla@acme.example] mail[wes@acme.example]",
                    logs("Public")
                ),
            ),
            (
                "resolving a paused ticket opens and closes an interval",
                on_hold,
                request("x", "Internal", 4),
                format!(
                    "ticket[updated_at status=4 resolved_at resolution_met=Some(1) due={due}] \
                     sla+[2026-11-20 10:00:00] sla-[Opened(0) 0min] reply[Internal 00:00:00 by 2] \
                     history[Resolved via the API (Tess key)] \
                     log[Ticket/Resolved: Resolved ticket TCK-1 via API (Tess key)] {}",
                    logs("Internal")
                ),
            ),
        ];
        for (name, snap, r, expected) in cases {
            assert_eq!(run(Some(snap), &r), Ok(expected), "{name}");
        }
    }
}
