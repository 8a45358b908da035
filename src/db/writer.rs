//! The one writer: applies a [`WritePlan`] inside the create's
//! transaction, whatever dialect or ITFlow version planned it.

use crate::domain::RequestMeta;
use crate::domain::plan::{IntervalRef, SlaOp, WritePlan};
use crate::php::truncate_bytes;
use mysql_async::{Transaction, Value, prelude::*};

/// Writes `plan`; the new reply's id (0 when the plan has no reply).
pub async fn write(
    q: &mut Transaction<'_>,
    plan: &WritePlan,
    meta: &RequestMeta,
) -> Result<u64, mysql_async::Error> {
    update_ticket(q, plan).await?;
    sla_history(q, plan).await?;
    let mut insert_id = 0;
    if let Some(reply) = &plan.reply {
        q.exec_drop(
            "INSERT INTO ticket_replies (ticket_reply, ticket_reply_type, ticket_reply_time_worked, \
             ticket_reply_created_at, ticket_reply_by, ticket_reply_ticket_id) VALUES (?, ?, ?, ?, ?, ?)",
            (
                &reply.text,
                reply.reply_type,
                &reply.time_worked,
                &reply.created_at,
                reply.by,
                plan.ticket_id,
            ),
        )
        .await?;
        insert_id = q.last_insert_id().unwrap_or(0);
    }
    for a in &plan.attachments {
        q.exec_drop(
            "INSERT INTO ticket_attachments (ticket_attachment_name, ticket_attachment_reference_name, \
             ticket_attachment_created_at, ticket_attachment_ticket_id, ticket_attachment_reply_id) \
             VALUES (?, ?, ?, ?, ?)",
            (&a.name, &a.reference, &plan.now, plan.ticket_id, insert_id),
        )
        .await?;
    }
    for n in &plan.notifications {
        q.exec_drop(
            "INSERT INTO notifications (notification_type, notification, notification_action, \
             notification_timestamp, notification_client_id, notification_user_id) \
             VALUES ('Ticket', ?, ?, ?, ?, ?)",
            (&n.text, &n.action, &plan.now, n.client_id, n.user_id),
        )
        .await?;
    }
    // logTicketHistory(): each entry carries the ticket's status name as it
    // is after the write; descriptions are cut to the column's 255
    // characters.
    for description in &plan.history {
        let description: String = description.chars().take(255).collect();
        q.exec_drop(
            "INSERT INTO ticket_history (ticket_history_status, ticket_history_description, \
             ticket_history_created_at, ticket_history_ticket_id) \
             SELECT COALESCE(s.ticket_status_name, ''), ?, ?, t.ticket_id FROM tickets t \
             LEFT JOIN ticket_statuses s ON s.ticket_status_id = t.ticket_status WHERE t.ticket_id = ?",
            (description, &plan.now, plan.ticket_id),
        )
        .await?;
    }
    for log in &plan.logs {
        let ids = (plan.log_client_id, plan.log_user_id, log.entity_id);
        insert_log(
            q,
            log.log_type,
            log.action,
            &log.description,
            meta,
            &plan.now,
            ids,
        )
        .await?;
    }
    queue_mails(q, plan).await?;
    Ok(insert_id)
}

/// The plan's `sla_history` intervals, opened and closed in order (an
/// interval opened by this plan is closed by the id its INSERT got).
async fn sla_history(q: &mut Transaction<'_>, plan: &WritePlan) -> Result<(), mysql_async::Error> {
    let mut opened: Vec<u64> = Vec::new();
    for op in &plan.sla_history {
        match op {
            SlaOp::Open { started } => {
                q.exec_drop(
                    "INSERT INTO sla_history (sla_history_started_at, sla_history_ticket_id) VALUES (?, ?)",
                    (started, plan.ticket_id),
                )
                .await?;
                opened.push(q.last_insert_id().unwrap_or(0));
            }
            SlaOp::Close {
                interval,
                ended,
                minutes,
            } => {
                let id = match *interval {
                    IntervalRef::Existing(id) => id,
                    IntervalRef::Opened(n) => opened.get(n).copied().unwrap_or(0) as i64,
                };
                q.exec_drop(
                    "UPDATE sla_history SET sla_history_ended_at = ?, sla_history_minutes = ? WHERE sla_history_id = ?",
                    (ended, minutes, id),
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// The plan's emails, for ITFlow's mail cron to send (addToMailQueue:
/// `email_cal_str` '', `email_attachments` the manifest or '' where the
/// column exists; status and attempts take their defaults).
async fn queue_mails(q: &mut Transaction<'_>, plan: &WritePlan) -> Result<(), mysql_async::Error> {
    for mail in &plan.mails {
        let columns = (
            &mail.recipient,
            &mail.recipient_name,
            &mail.from,
            &mail.from_name,
            &mail.subject,
            &mail.content,
            &plan.now,
        );
        if plan.queue_without_attachments {
            q.exec_drop(
                "INSERT INTO email_queue (email_recipient, email_recipient_name, email_from, email_from_name, \
                 email_subject, email_content, email_queued_at, email_cal_str) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, '')",
                columns,
            )
            .await?;
        } else {
            let (recipient, name, from, from_name, subject, content, now) = columns;
            q.exec_drop(
                "INSERT INTO email_queue (email_recipient, email_recipient_name, email_from, email_from_name, \
                 email_subject, email_content, email_queued_at, email_cal_str, email_attachments) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, '', ?)",
                (recipient, name, from, from_name, subject, content, now, &mail.attachments),
            )
            .await?;
        }
    }
    Ok(())
}

/// One `UPDATE tickets` with every column the plan sets, and
/// `ticket_updated_at` set explicitly: its `ON UPDATE current_timestamp()`
/// would restamp it in the database server's time zone.
async fn update_ticket<Q: Queryable>(
    q: &mut Q,
    plan: &WritePlan,
) -> Result<(), mysql_async::Error> {
    let t = &plan.ticket;
    if !t.writes() {
        return Ok(());
    }
    let mut sql = String::from("UPDATE tickets SET ticket_updated_at = ?");
    let mut params: Vec<Value> = vec![plan.now.as_str().into()];
    let mut set = |column: &str, value: Value| {
        sql.push_str(", ");
        sql.push_str(column);
        sql.push_str(" = ?");
        params.push(value);
    };
    if let Some(status) = t.status {
        set("ticket_status", status.into());
    }
    if let Some(at) = &t.resolved_at {
        set("ticket_resolved_at", at.as_deref().into());
    }
    if let Some(at) = &t.first_response_at {
        set("ticket_first_response_at", at.as_str().into());
    }
    if let Some(met) = t.response_sla_met {
        set("ticket_response_sla_met", met.into());
    }
    if let Some(met) = t.resolution_sla_met {
        set("ticket_resolution_sla_met", met.into());
    }
    if let Some(due) = &t.resolution_due_at {
        set("ticket_resolution_due_at", due.as_str().into());
    }
    if let Some(stage) = t.resolution_sla_alert_stage {
        set("ticket_resolution_sla_alert_stage", stage.into());
    }
    sql.push_str(" WHERE ticket_id = ?");
    params.push(plan.ticket_id.into());
    q.exec_drop(sql, params).await
}

/// logAudit(): one `logs` row with the request's IP and user agent;
/// `(client, user, entity)` ids.
async fn insert_log<Q: Queryable>(
    q: &mut Q,
    log_type: &str,
    action: &str,
    description: &str,
    meta: &RequestMeta,
    now: &str,
    (client_id, user_id, entity_id): (i64, i64, i64),
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
