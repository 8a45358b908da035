//! ITFlow 2.6's own create (`/api/v1/ticket_replies/create.php`): its
//! effects (api/v1/ticket_replies/create.php, ticket_reply_model.php), with
//! its one generic failure message. Unlike the legacy dialect it validates
//! little, as ITFlow does.
//!
//! A pure function: the locked snapshot and the request in, a write plan
//! or a refusal out.

use crate::domain::plan::{Actor, LogRow, MailRow, ReplyRow, WriteContext, WritePlan};
use crate::domain::reply::STATUS_RESOLVED;
use crate::domain::sla_clock::{SlaClock, sql_datetime};
use crate::domain::snapshot::{MailSnapshot, Snapshot};
use crate::error::ApiError;
use crate::messages::Message;
use crate::php::{format_phone_number, html_special_chars, is_valid_email, sanitize_input};

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
    pub fn check(&self) -> Result<(), ApiError> {
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

fn failure() -> ApiError {
    Message::ItflowCreateFailed.refusal()
}

/// The plan for `r` on the ticket of `snap` (None: no such ticket).
pub fn plan(
    snap: Option<&Snapshot>,
    r: &ItflowReply,
    ctx: &WriteContext<'_>,
) -> Result<WritePlan, ApiError> {
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

    let now = sql_datetime(snap.now);
    let actor = Actor::of(
        ctx.principal,
        ctx.legacy_author,
        snap.author_name.as_deref(),
    );
    let key = html_special_chars(ctx.principal.key_name());
    let number = format!("{}{}", sanitize_input(&ticket.prefix), ticket.number);
    let subject = sanitize_input(&ticket.subject);
    let mut plan = WritePlan {
        ticket_id: ticket.id,
        now: now.clone(),
        log_client_id: ticket.client_id,
        log_user_id: actor.user_id,
        ..WritePlan::default()
    };
    let mut clock = snap
        .sla
        .as_ref()
        .map(|sla| SlaClock::new(sla, ticket.first_response_set, snap.now, &snap.tz));

    // Internal notes don't count as a response.
    if r.is_public() && !ticket.first_response_set {
        match &mut clock {
            Some(clock) => clock.set_first_response(&mut plan),
            None => plan.ticket.first_response_at = Some(now.clone()),
        }
    }
    plan.reply = Some(ReplyRow {
        text: r.text.clone(),
        reply_type: r.reply_type,
        time_worked: r.time_worked.clone(),
        by: actor.user_id,
    });

    if let Some(requested) = snap.requested_status.as_ref().filter(|_| r.status != 0) {
        let changed = r.status != ticket.status;
        let name = sanitize_input(requested.name.as_deref().unwrap_or("Unknown"));
        // The status UPDATE moves ticket_updated_at only when the row
        // changes (ON UPDATE current_timestamp()).
        if changed {
            plan.ticket.status = Some(r.status);
            if let Some(clock) = &mut clock {
                clock.status_changed(requested.pauses_sla);
            }
        }
        if changed && r.status != STATUS_RESOLVED && ctx.flavour.has_ticket_history() {
            plan.history
                .push(format!("Status set to {name} via the API ({key})"));
        }
        // replyd also runs the clock on every status change (ITFlow's API
        // only does when resolving), so a pausing status pauses it.
        if let (true, Some(clock)) = (changed, &mut clock) {
            clock.sync(&mut plan);
        }
        if r.status == STATUS_RESOLVED && ticket.status != STATUS_RESOLVED {
            // Stamped only when not resolved already.
            if !ticket.resolved {
                plan.ticket.resolved_at = Some(Some(now.clone()));
                if let Some(clock) = &mut clock {
                    clock.resolved_at_changed(Some(snap.now));
                }
            }
            if let Some(clock) = &mut clock {
                clock.set_resolution_sla_met(&mut plan);
            }
            if ctx.flavour.has_ticket_history() {
                plan.history.push(format!("Resolved via the API ({key})"));
            }
            plan.logs.push(LogRow::new(
                "Ticket",
                "Resolved",
                format!("Resolved ticket {number} via API ({key})"),
                ticket.id,
            ));
        }
    }
    plan.logs.push(LogRow::new(
        "Ticket",
        "Reply",
        format!(
            "Added a {} reply to ticket {number} - {subject} via API ({key})",
            r.reply_type
        ),
        ticket.id,
    ));
    plan.logs.push(LogRow::new(
        "API",
        "Success",
        format!(
            "Added a {} reply to ticket {number} via API ({key})",
            r.reply_type
        ),
        0,
    ));
    if let (true, Some(mail)) = (r.is_public(), &snap.mail) {
        // The status the ticket has after this write.
        let status_name = if r.status != 0 {
            snap.requested_status.as_ref().and_then(|s| s.name.clone())
        } else {
            snap.current_status_name.clone()
        };
        plan.mails = mails(mail, r, &number, &subject, status_name, ctx.base_url);
    }
    Ok(plan)
}

/// The public-reply email ITFlow queues (api/v1/ticket_replies/create.php,
/// then addToMailQueue): to the ticket's contact and to every watcher with
/// a valid address, when mail is configured (`config_smtp_provider`).
fn mails(
    m: &MailSnapshot,
    r: &ItflowReply,
    number: &str,
    subject: &str,
    status_name: Option<String>,
    base_url: &str,
) -> Vec<MailRow> {
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
