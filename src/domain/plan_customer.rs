//! A customer's reply through the legacy dialect (`contact_id` or
//! `contact_email`): what ITFlow's client portal writes when that contact
//! comments on a ticket (client/post.php, `add_ticket_comment`, at 2.4.4
//! and 2.6.7), and on a resolved ticket what the portal's "Reopen ticket"
//! does first (client/post.php, `reopen_ticket`), since the portal offers
//! no comment form until a resolved ticket is reopened.
//!
//! What replyd adds: the log rows (the portal logs no comment), naming the
//! contact and the key, and texts that say the reply came through the API.
//! A pure function, like the other planners.

use crate::domain::NewReply;
use crate::domain::flavour::LogTexts;
use crate::domain::plan::{LogRow, MailRow, ReplyRow, Texts, WriteContext, WritePlan};
use crate::domain::plan_replies::{Moves, attachment_rows, in_scope, reply_time, ticket_changes};
use crate::domain::reply::{PersonRef, STATUS_CLOSED, STATUS_OPEN, STATUS_RESOLVED};
use crate::domain::sla_clock::sql_datetime;
use crate::domain::snapshot::{MailSnapshot, Snapshot};
use crate::messages::Message;
use crate::php::sanitize_input;

/// The plan for the customer's reply `req` from the contact `named`.
pub fn plan(
    snap: &Snapshot,
    req: &NewReply,
    named: &PersonRef,
    ctx: &WriteContext<'_>,
) -> Result<WritePlan, Message> {
    let ticket = &snap.ticket;
    if !in_scope(snap, req.client_id, ctx) {
        return Err(Message::TicketNotFound);
    }
    // The snapshot holds the contact only when it is one of the ticket's
    // client's, not archived; which contacts exist is not revealed.
    let contact = snap
        .contact
        .as_ref()
        .filter(|c| ticket.client_id != 0 && named.matches(c.id, c.email.as_deref()))
        .ok_or(Message::TicketNotFound)?;
    // verifyContactTicketAccess(): the portal takes no comment on a closed
    // ticket.
    if ticket.closed || ticket.status == STATUS_CLOSED {
        return Err(Message::TicketClosed);
    }
    let at = reply_time(snap, req.created)?;
    let reopens = ticket.resolved || ticket.status == STATUS_RESOLVED;
    let changes_status = ticket.status != STATUS_OPEN;
    let moves = Moves {
        status: if changes_status { STATUS_OPEN } else { 0 },
        changes_status,
        resolves: false,
        reopens,
        first_public: false,
        at,
    };
    let mut texts = Texts::new(snap, ctx);
    let name = sanitize_input(&contact.name);
    texts.actor.name = name.clone();
    let mut plan = WritePlan::for_ticket(snap, &texts.actor);
    // The portal's UPDATE sets only the status: the row (and its
    // `ticket_updated_at`) changes only when the status does.
    ticket_changes(&mut plan, snap, &moves);
    // A contact is not a user: the rows name no user.
    plan.log_user_id = 0;
    plan.reply = Some(ReplyRow {
        text: req.text.clone().unwrap_or_default(),
        reply_type: "Client",
        time_worked: None,
        by: contact.id,
        created_at: sql_datetime(at),
    });
    let (id, key, number, subject) = (ticket.id, &texts.key, &texts.number, &texts.subject);
    if ctx.flavour.has_ticket_history() {
        if reopens {
            plan.history
                .push(format!("{name} reopened the ticket via the API ({key})"));
        } else if changes_status {
            plan.history.push(format!(
                "{name} replied via the API ({key}), reopening the ticket"
            ));
        }
    }
    if reopens {
        let text = format!("{name} reopened ticket {number} via API ({key})");
        plan.logs.push(LogRow::new("Ticket", "Edit", text, id));
    }
    match ctx.flavour.log_texts() {
        LogTexts::AgentUi => {
            let text = format!(
                "{name} replied to ticket {number} - {subject} and was a Client reply via API ({key})"
            );
            plan.logs.push(LogRow::new("Ticket", "Reply", text, id));
        }
        LogTexts::Api => {
            let text = format!(
                "Added a Client reply from {name} to ticket {number} - {subject} via API ({key})"
            );
            plan.logs.push(LogRow::new("Ticket", "Reply", text, id));
            let text =
                format!("Added a Client reply from {name} to ticket {number} via API ({key})");
            plan.logs.push(LogRow::new("API", "Success", text, 0));
        }
    }
    // The portal stores a comment's files too (`file[]`).
    plan.attachments = attachment_rows(req, ctx)?;
    if let Some(rules) = ctx.flavour.agent_email() {
        let configured = crate::domain::reply_email::configured(snap, rules);
        if let Ok(mail) = configured {
            plan.mails.extend(assignee_mail(snap, mail, ctx));
            plan.queue_without_attachments = !rules.attachments_column;
        }
    }
    Ok(plan)
}

/// The portal's email to the assigned agent (client/post.php,
/// add_ticket_comment, then addToMailQueue), when mail is configured (by
/// the agent UI's test of that ITFlow version: replyd's choice, the portal
/// queues it regardless) and the ticket is assigned to an agent who
/// exists. The portal passes the agent's name and address, the subject and
/// the client's name through `sanitizeInput`/`escapeSql` (stored stripped
/// of tags and trimmed); the settings go in as they are.
fn assignee_mail(snap: &Snapshot, m: &MailSnapshot, ctx: &WriteContext<'_>) -> Option<MailRow> {
    let ticket = &snap.ticket;
    if ticket.assigned_to == 0 {
        return None;
    }
    let tech_email = sanitize_input(m.assignee_email.as_deref()?);
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let tech_name = sanitize_input(&value(&m.assignee_name));
    let number = format!("{}{}", value(&m.ticket_prefix), ticket.number);
    let subject = &sanitize_input(&ticket.subject);
    let content = format!(
        "Hello {tech_name},<br><br>A new reply has been added to the below ticket, check ITFlow for full details.<br><br>Client: {client}<br>Ticket: {number}<br>Subject: {subject}<br><br>https://{base}/agent/ticket.php?ticket_id={id}&client_id={client_id}",
        client = sanitize_input(&value(&m.client_name)),
        base = ctx.base_url,
        id = ticket.id,
        client_id = ticket.client_id,
    );
    Some(MailRow {
        recipient: tech_email,
        recipient_name: tech_name,
        from: value(&m.from_email),
        from_name: value(&m.from_name),
        subject: format!("{} Ticket updated - [{number}] {subject}", ctx.app_name),
        content,
        attachments: String::new(),
    })
}
