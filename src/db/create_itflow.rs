//! ITFlow 2.6's own create endpoint (api/v1/ticket_replies/create.php):
//! its effects, in one transaction with the ticket row locked. Unlike the
//! v1 replies endpoint it validates little and answers one generic failure
//! message, as ITFlow does.

use crate::api::meta::RequestMeta;
use crate::db::create::{Actor, insert_history, insert_log, write_clock};
use crate::db::sla;
use crate::db::take;
use crate::domain::Principal;
use crate::domain::reply::STATUS_RESOLVED;
use crate::error::ApiError;
use crate::php::{format_phone_number, html_special_chars, is_valid_email, sanitize_input};
use crate::startup::AppState;
use mysql_async::{Row, Transaction, TxOpts, prelude::*};

/// ITFlow's create_output.php failure message (HTTP 200).
pub const ITFLOW_FAILURE: &str = "Auth success but insert query failed, ensure ALL required variables are provided (and aren't duplicates where applicable) and database schema is up-to-date. Turn on error logging and look for 'undefined index'.";

/// The request as ticket_reply_model.php reads it (already defaulted).
#[derive(Debug, Clone)]
pub struct ItflowReply {
    pub ticket_id: i64,
    /// The write's client (0: none named).
    pub client_id: i64,
    pub text: String,
    pub reply_type: &'static str,
    pub time_worked: String,
    /// 0: leave the status.
    pub status: i64,
}

fn failure() -> ApiError {
    ApiError::Refused(ITFLOW_FAILURE.into())
}

const LOCK_TICKET: &str = "SELECT t.ticket_prefix, t.ticket_number, t.ticket_subject, t.ticket_status, \
       t.ticket_client_id, t.ticket_first_response_at IS NOT NULL, t.ticket_contact_id, \
       (SELECT user_name FROM users WHERE user_id = ?), \
       (SELECT COUNT(*) FROM ticket_statuses WHERE ticket_status_id = ?), \
       (SELECT ticket_status_name FROM ticket_statuses WHERE ticket_status_id = ?), \
       (SELECT config_timezone FROM settings WHERE company_id = 1), \
       DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s') \
     FROM tickets t WHERE t.ticket_id = ? FOR UPDATE";

pub async fn create_itflow_reply(
    state: &AppState,
    principal: &Principal,
    r: &ItflowReply,
    meta: &RequestMeta,
) -> Result<u64, ApiError> {
    // create.php: `!empty($ticket_id) && !empty($reply)`.
    if r.ticket_id == 0 || r.text.is_empty() || r.text == "0" {
        return Err(failure());
    }
    // MariaDB's TIME stops at 838:59:59; ITFlow's insert would fail.
    let hours: u32 = r
        .time_worked
        .split(':')
        .next()
        .and_then(|h| h.parse().ok())
        .unwrap_or(0);
    if hours > 838 {
        return Err(failure());
    }
    let legacy_author = state.settings.legacy_author_user_id;
    let author_param = principal
        .user()
        .map_or(i64::from(legacy_author), |u| u.user_id);
    crate::db::write_then_commit(state.settings.db_timeout(), async {
        let tx = state.pool.start_transaction(TxOpts::default()).await?;
        write_reply(tx, state, principal, r, meta, author_param)
            .await
            .map_err(ApiError::in_transaction)
    })
    .await
}

/// Everything up to COMMIT; the open transaction and the new reply's id.
async fn write_reply(
    mut tx: Transaction<'static>,
    state: &AppState,
    principal: &Principal,
    r: &ItflowReply,
    meta: &RequestMeta,
    author_param: i64,
) -> Result<(Transaction<'static>, u64), ApiError> {
    let features = state.schema.features;
    let legacy_author = state.settings.legacy_author_user_id;
    let row: Option<Row> = tx
        .exec_first(LOCK_TICKET, (author_param, r.status, r.status, r.ticket_id))
        .await?;
    let Some(mut row) = row else {
        return Err(failure());
    };
    let prefix = sanitize_input(&take::<Option<String>>(&mut row, 0)?.unwrap_or_default());
    let number: i64 = take(&mut row, 1)?;
    let subject = sanitize_input(&take::<String>(&mut row, 2)?);
    let original_status: i64 = take(&mut row, 3)?;
    let client_id: i64 = take(&mut row, 4)?;
    let first_response_set: bool = take(&mut row, 5)?;
    let contact_id: i64 = take(&mut row, 6)?;
    let author_name: Option<String> = take(&mut row, 7)?;
    let status_exists: i64 = take(&mut row, 8)?;
    let status_name: Option<String> = take(&mut row, 9)?;
    let timezone: Option<String> = take(&mut row, 10)?;
    let db_now: String = take(&mut row, 11)?;

    // The ticket is loaded through the key's client scope, and a named
    // client must be the ticket's own.
    if !principal.scope().allows(client_id) || (r.client_id != 0 && r.client_id != client_id) {
        return Err(failure());
    }
    // replyd's own guard: ITFlow would store any number as the status.
    if r.status != 0 && status_exists == 0 {
        return Err(failure());
    }

    let (now_text, clock) =
        write_clock(&mut tx, features.sla, timezone.as_deref(), &db_now).await?;
    let actor = Actor::of(principal, legacy_author, author_name.as_deref());
    let key = html_special_chars(principal.key_name());
    let number = format!("{prefix}{number}");
    let public = r.reply_type == "Public";

    // Internal notes don't count as a response.
    if public && !first_response_set {
        match &clock {
            Some(clock) => sla::set_first_response(&mut tx, r.ticket_id, clock).await?,
            None => {
                tx.exec_drop(
                    "UPDATE tickets SET ticket_first_response_at = ?, ticket_updated_at = ? WHERE ticket_id = ?",
                    (&now_text, &now_text, r.ticket_id),
                )
                .await?
            }
        }
    }
    tx.exec_drop(
        "INSERT INTO ticket_replies (ticket_reply, ticket_reply_type, ticket_reply_time_worked, \
         ticket_reply_created_at, ticket_reply_by, ticket_reply_ticket_id) VALUES (?, ?, ?, ?, ?, ?)",
        (&r.text, r.reply_type, &r.time_worked, &now_text, actor.user_id, r.ticket_id),
    )
    .await?;
    let insert_id = tx.last_insert_id().unwrap_or(0);

    let mut logs: Vec<(&str, &str, String, i64)> = Vec::with_capacity(3);
    if r.status != 0 {
        let changed = r.status != original_status;
        // ON UPDATE current_timestamp() moves ticket_updated_at only when the
        // row changes; replyd stamps it in the company's time zone.
        if changed {
            tx.exec_drop(
                "UPDATE tickets SET ticket_status = ?, ticket_updated_at = ? WHERE ticket_id = ?",
                (r.status, &now_text, r.ticket_id),
            )
            .await?;
        }
        let name = sanitize_input(status_name.as_deref().unwrap_or("Unknown"));
        if changed && r.status != STATUS_RESOLVED && features.ticket_history {
            insert_history(
                &mut tx,
                r.ticket_id,
                &format!("Status set to {name} via the API ({key})"),
                &now_text,
            )
            .await?;
        }
        // replyd also runs the clock on every status change (ITFlow's API
        // only does when resolving), so a pausing status pauses it.
        if let (true, Some(clock)) = (changed, &clock) {
            sla::sync_clock(&mut tx, r.ticket_id, clock).await?;
        }
        if r.status == STATUS_RESOLVED && original_status != STATUS_RESOLVED {
            tx.exec_drop(
                "UPDATE tickets SET ticket_resolved_at = ?, ticket_updated_at = ? \
                 WHERE ticket_id = ? AND ticket_resolved_at IS NULL",
                (&now_text, &now_text, r.ticket_id),
            )
            .await?;
            if let Some(clock) = &clock {
                sla::set_resolution_sla_met(&mut tx, r.ticket_id, clock).await?;
            }
            if features.ticket_history {
                insert_history(
                    &mut tx,
                    r.ticket_id,
                    &format!("Resolved via the API ({key})"),
                    &now_text,
                )
                .await?;
            }
            logs.push((
                "Ticket",
                "Resolved",
                format!("Resolved ticket {number} via API ({key})"),
                r.ticket_id,
            ));
        }
    }
    logs.push((
        "Ticket",
        "Reply",
        format!(
            "Added a {} reply to ticket {number} - {subject} via API ({key})",
            r.reply_type
        ),
        r.ticket_id,
    ));
    logs.push((
        "API",
        "Success",
        format!(
            "Added a {} reply to ticket {number} via API ({key})",
            r.reply_type
        ),
        0,
    ));
    for (log_type, action, description, entity) in &logs {
        insert_log(
            &mut tx,
            log_type,
            action,
            description,
            meta,
            &now_text,
            client_id,
            actor.user_id,
            *entity,
        )
        .await?;
    }

    if public && features.email {
        queue_mail(&mut tx, state, r, contact_id, &number, &subject, &now_text).await?;
    }
    Ok((tx, insert_id))
}

/// The public-reply email ITFlow queues (api/v1/ticket_replies/create.php,
/// then addToMailQueue): to the ticket's contact and to every watcher with a
/// valid address, when mail is configured (`config_smtp_provider`).
async fn queue_mail<Q: Queryable>(
    q: &mut Q,
    state: &AppState,
    r: &ItflowReply,
    contact_id: i64,
    number: &str,
    subject: &str,
    now: &str,
) -> Result<(), mysql_async::Error> {
    type MailRow = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<MailRow> = q
        .exec_first(
            "SELECT s.config_smtp_provider, s.config_ticket_from_name, s.config_ticket_from_email, \
             (SELECT contact_name FROM contacts WHERE contact_id = ?), \
             (SELECT contact_email FROM contacts WHERE contact_id = ?), \
             (SELECT ticket_status_name FROM tickets t JOIN ticket_statuses ON t.ticket_status = ticket_status_id WHERE t.ticket_id = ?), \
             (SELECT ticket_url_key FROM tickets WHERE ticket_id = ?), \
             (SELECT company_name FROM companies WHERE company_id = 1), \
             (SELECT CONCAT_WS('|', IFNULL(company_phone_country_code, ''), IFNULL(company_phone, '')) FROM companies WHERE company_id = 1) \
             FROM settings s WHERE s.company_id = 1",
            (contact_id, contact_id, r.ticket_id, r.ticket_id),
        )
        .await?;
    let Some((
        provider,
        from_name,
        from_email,
        contact_name,
        contact_email,
        status_name,
        url_key,
        company,
        phone,
    )) = row
    else {
        return Ok(());
    };
    if provider.as_deref().unwrap_or("").is_empty() {
        return Ok(());
    }
    let clean = |v: Option<String>| sanitize_input(v.as_deref().unwrap_or(""));
    let (from_name, from_email) = (clean(from_name), clean(from_email));
    let (contact_name, contact_email) = (clean(contact_name), clean(contact_email));
    let phone = phone.unwrap_or_default();
    let (country, phone) = phone.split_once('|').unwrap_or(("", ""));
    let phone = sanitize_input(&format_phone_number(phone, country));
    let base_url = &state.itflow_base_url;
    let mail_subject = format!("Ticket update - [{number}] - {subject}");
    let body = format!(
        "<i style='color: #808080'>##- Please type your reply above this line -##</i><br><br>Hello {contact_name},<br><br>Your ticket regarding {subject} has been updated.<br><br>--------------------------------<br>{reply}<br>--------------------------------<br><br>Ticket: {number}<br>Subject: {subject}<br>Status: {status}<br>Portal: <a href='https://{base_url}/guest/guest_view_ticket.php?ticket_id={id}&url_key={url_key}'>View ticket</a><br><br>--<br>{company} - Support<br>{from_email}<br>{phone}",
        reply = r.text,
        status = clean(status_name),
        id = r.ticket_id,
        url_key = clean(url_key),
        company = clean(company),
    );
    let mut mails: Vec<(String, String, String)> = Vec::new();
    if is_valid_email(&contact_email) {
        mails.push((contact_email, contact_name, body.clone()));
    }
    let watchers: Vec<(Option<String>, String)> = q
        .exec(
            "SELECT watcher_name, watcher_email FROM ticket_watchers WHERE watcher_ticket_id = ? ORDER BY watcher_id",
            (r.ticket_id,),
        )
        .await?;
    let watcher_body = format!(
        "{body}<br><br>----------------------------------------<br>YOU ARE A COLLABORATOR ON THIS TICKET"
    );
    for (name, email) in watchers {
        let email = sanitize_input(&email);
        if is_valid_email(&email) {
            mails.push((email, clean(name), watcher_body.clone()));
        }
    }
    for (recipient, recipient_name, content) in mails {
        q.exec_drop(
            "INSERT INTO email_queue (email_recipient, email_recipient_name, email_from, email_from_name, \
             email_subject, email_content, email_queued_at, email_cal_str, email_attachments) \
             VALUES (?, ?, ?, ?, ?, ?, ?, '', '')",
            (recipient, recipient_name, &from_email, &from_name, &mail_subject, content, now),
        )
        .await?;
    }
    Ok(())
}
