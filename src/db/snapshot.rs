//! The first step of every create: lock the ticket row (`SELECT ... FOR
//! UPDATE`, so concurrent replies and status changes on it serialise) and
//! read everything its planner decides from.

use crate::db::keys::{client_ids, client_list_filters};
use crate::db::take;
use crate::domain::sla::BusinessCalendar;
use crate::domain::snapshot::{
    AgentRow, ContactRow, Interval, MailSnapshot, SlaSnapshot, Snapshot, StatusRow, TicketRow,
};
use crate::domain::status::StatusEntry;
use crate::domain::{ClientScope, PersonRef, TicketRef};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use mysql_async::{Row, prelude::*};

/// How replyd's SQL hands datetimes back: as the wall-clock text PHP sees.
const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%i:%s";

/// What to read for one create.
#[derive(Debug, Clone, Default)]
pub struct SnapshotRequest {
    pub ticket_id: i64,
    /// The user the write is attributed to (for the author's name).
    pub author_user_id: i64,
    /// The status the request asks for (0: none).
    pub requested_status: i64,
    /// Count the ticket's tasks not completed (the legacy dialect's check
    /// before resolving).
    pub open_tasks: bool,
    /// Read the SLA clock's state.
    pub sla: bool,
    /// Read what a public-reply email is built from.
    pub mail: bool,
    /// With `mail`: read `settings.config_smtp_host` too (the column
    /// exists).
    pub smtp_host: bool,
    /// With `mail`: read the author's `user_settings.user_config_signature`
    /// (the author: the agent named, else `author_user_id`).
    pub signature: bool,
    /// Read `ticket_contact_id` (ITFlow's own create).
    pub contact: bool,
    /// The contact a customer's reply names.
    pub customer: Option<PersonRef>,
    /// The agent a reply on behalf names, and how agents' client lists are
    /// read ([`crate::domain::Flavour::agent_lists`]).
    pub agent: Option<(PersonRef, Option<bool>)>,
}

/// The locking read; `$contact` is `t.ticket_contact_id` for ITFlow's own
/// create, which reads it, and `0` for the legacy dialect, which runs on
/// databases where the column may be missing (it belongs to the email
/// machinery, an optional part).
macro_rules! lock_ticket {
    ($contact:literal) => {
        concat!(
            "SELECT t.ticket_prefix, t.ticket_number, t.ticket_subject, t.ticket_status, \
               t.ticket_client_id, t.ticket_created_by, t.ticket_assigned_to, ",
            $contact,
            ", t.ticket_closed_at IS NOT NULL, t.ticket_resolved_at IS NOT NULL, \
               t.ticket_first_response_at IS NOT NULL, \
               DATE_FORMAT(t.ticket_created_at, '%Y-%m-%d %H:%i:%s'), \
               (SELECT user_name FROM users WHERE user_id = ?), \
               (SELECT COUNT(*) FROM ticket_statuses WHERE ticket_status_id = ?), \
               (SELECT ticket_status_active FROM ticket_statuses WHERE ticket_status_id = ?), \
               (SELECT ticket_status_name FROM ticket_statuses WHERE ticket_status_id = ?), \
               (SELECT ticket_status_name FROM ticket_statuses WHERE ticket_status_id = t.ticket_status), \
               IF(?, (SELECT COUNT(*) FROM tasks WHERE task_ticket_id = t.ticket_id AND task_completed_at IS NULL), 0), \
               (SELECT config_timezone FROM settings WHERE company_id = 1), \
               DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s') \
             FROM tickets t WHERE t.ticket_id = ? FOR UPDATE"
        )
    };
}

/// Lock the ticket and read its snapshot; None when no such ticket.
pub async fn read_locked<Q: Queryable>(
    q: &mut Q,
    req: &SnapshotRequest,
) -> Result<Option<Snapshot>, mysql_async::Error> {
    let status = req.requested_status;
    let row: Option<Row> = q
        .exec_first(
            if req.contact {
                lock_ticket!("t.ticket_contact_id")
            } else {
                lock_ticket!("0")
            },
            (
                req.author_user_id,
                status,
                status,
                status,
                req.open_tasks,
                req.ticket_id,
            ),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let ticket = TicketRow {
        id: req.ticket_id,
        prefix: take::<Option<String>>(&mut row, 0)?.unwrap_or_default(),
        number: take(&mut row, 1)?,
        subject: take(&mut row, 2)?,
        status: take(&mut row, 3)?,
        client_id: take(&mut row, 4)?,
        created_by: take(&mut row, 5)?,
        assigned_to: take(&mut row, 6)?,
        contact_id: take(&mut row, 7)?,
        closed: take(&mut row, 8)?,
        resolved: take(&mut row, 9)?,
        first_response_set: take(&mut row, 10)?,
        created_at: parse(take(&mut row, 11)?),
    };
    let author_name: Option<String> = take(&mut row, 12)?;
    let status_exists: i64 = take(&mut row, 13)?;
    let status_active: Option<i64> = take(&mut row, 14)?;
    let status_name: Option<String> = take(&mut row, 15)?;
    let current_status_name: Option<String> = take(&mut row, 16)?;
    let open_tasks: i64 = take(&mut row, 17)?;
    let timezone: Option<String> = take(&mut row, 18)?;
    let db_now: String = take(&mut row, 19)?;
    let (tz, now) = local_now(timezone.as_deref())
        .unwrap_or_else(|| (TimeZone::UTC, db_now.parse().unwrap_or_default()));

    let mut requested_status = (status != 0 && status_exists > 0).then(|| StatusRow {
        active: status_active == Some(1),
        name: status_name,
        pauses_sla: false,
    });
    let sla = if req.sla {
        let (sla, requested_pauses) = read_sla(q, req.ticket_id, status).await?;
        if let Some(requested) = &mut requested_status {
            requested.pauses_sla = requested_pauses;
        }
        sla
    } else {
        None
    };
    let mut mail = if req.mail {
        Some(read_mail(q, &ticket, req.smtp_host).await?)
    } else {
        None
    };
    let contact = match &req.customer {
        Some(named) if ticket.client_id != 0 => read_contact(q, named, ticket.client_id).await?,
        _ => None,
    };
    let agent = match &req.agent {
        Some((named, lists)) => read_agent(q, named, *lists).await?,
        None => None,
    };
    if let (true, Some(mail)) = (req.signature, &mut mail) {
        // A reply on behalf of an agent the planner refuses carries no
        // email, so the agent found is the author.
        let author = agent.as_ref().map_or(req.author_user_id, |a| a.id);
        mail.signature = q
            .exec_first(
                "SELECT user_config_signature FROM user_settings WHERE user_id = ?",
                (author,),
            )
            .await?
            .flatten();
    }
    Ok(Some(Snapshot {
        ticket,
        author_name,
        requested_status,
        current_status_name,
        open_tasks,
        now,
        tz,
        sla,
        mail,
        statuses: Vec::new(),
        contact,
        agent,
    }))
}

/// Now in the company's time zone (`settings.config_timezone`), which is
/// what the agent UI's NOW() gives: includes/inc_set_timezone.php sets the
/// MariaDB session's time_zone to that zone's current offset.
pub fn local_now(timezone: Option<&str>) -> Option<(TimeZone, DateTime)> {
    let tz = TimeZone::get(timezone?).ok()?;
    let now = jiff::Timestamp::now().to_zoned(tz.clone()).datetime();
    // MariaDB DATETIME keeps whole seconds.
    let now = now.with().subsec_nanosecond(0).build().ok()?;
    Some((tz, now))
}

fn parse(text: Option<String>) -> Option<DateTime> {
    text.and_then(|t| t.parse().ok())
}

/// The SLA clock's state (what functions/sla.php reads: getSlaSettings(),
/// the ticket's SLA columns, its SLA and status, `sla_history`), and
/// whether the requested status pauses the clock. None when the ticket row
/// is gone.
async fn read_sla<Q: Queryable>(
    q: &mut Q,
    ticket_id: i64,
    requested_status: i64,
) -> Result<(Option<SlaSnapshot>, bool), mysql_async::Error> {
    let row: Option<Row> = q
        .exec_first(
            format!(
                "SELECT cfg.config_business_days, TIME_FORMAT(cfg.config_business_hours_start, '%H:%i:%s'), \
                 TIME_FORMAT(cfg.config_business_hours_end, '%H:%i:%s'), \
                 t.ticket_sla_id, DATE_FORMAT(t.ticket_created_at, '{DATETIME_FORMAT}'), \
                 DATE_FORMAT(t.ticket_resolved_at, '{DATETIME_FORMAT}'), \
                 DATE_FORMAT(t.ticket_closed_at, '{DATETIME_FORMAT}'), t.ticket_archived_at IS NOT NULL, \
                 t.ticket_resolution_sla_alert_stage, s.sla_resolution_minutes, st.ticket_status_pauses_sla, \
                 (SELECT ticket_status_pauses_sla FROM ticket_statuses WHERE ticket_status_id = ?), \
                 DATE_FORMAT(t.ticket_response_due_at, '{DATETIME_FORMAT}'), \
                 DATE_FORMAT(t.ticket_resolution_due_at, '{DATETIME_FORMAT}'), t.ticket_resolution_sla_met \
                 FROM tickets t LEFT JOIN slas s ON t.ticket_sla_id = s.sla_id \
                 LEFT JOIN ticket_statuses st ON t.ticket_status = st.ticket_status_id \
                 LEFT JOIN settings cfg ON cfg.company_id = 1 \
                 WHERE t.ticket_id = ?"
            ),
            (requested_status, ticket_id),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok((None, false));
    };
    let days: Option<String> = take(&mut row, 0)?;
    let start: Option<String> = take(&mut row, 1)?;
    let end: Option<String> = take(&mut row, 2)?;
    let requested_pauses: Option<i64> = take(&mut row, 11)?;
    type IntervalRow = (i64, Option<String>, Option<String>, Option<i64>);
    let intervals: Vec<IntervalRow> = q
        .exec(
            format!(
                "SELECT sla_history_id, DATE_FORMAT(sla_history_started_at, '{DATETIME_FORMAT}'), \
                 DATE_FORMAT(sla_history_ended_at, '{DATETIME_FORMAT}'), sla_history_minutes \
                 FROM sla_history WHERE sla_history_ticket_id = ? ORDER BY sla_history_id"
            ),
            (ticket_id,),
        )
        .await?;
    let sla = SlaSnapshot {
        calendar: BusinessCalendar::from_settings(
            days.as_deref().unwrap_or(""),
            start.as_deref(),
            end.as_deref(),
        ),
        sla_id: take(&mut row, 3)?,
        created_at: parse(take(&mut row, 4)?),
        resolved_at: parse(take(&mut row, 5)?),
        closed_at: parse(take(&mut row, 6)?),
        archived: take(&mut row, 7)?,
        alert_stage: take(&mut row, 8)?,
        resolution_minutes: take::<Option<i64>>(&mut row, 9)?.unwrap_or(0),
        status_pauses: take::<Option<i64>>(&mut row, 10)?.unwrap_or(0) != 0,
        response_due_at: parse(take(&mut row, 12)?),
        resolution_due_at: parse(take(&mut row, 13)?),
        resolution_sla_met: take(&mut row, 14)?,
        intervals: intervals
            .into_iter()
            .map(|(id, started, ended, minutes)| Interval {
                id,
                started: parse(started),
                ended: parse(ended),
                minutes,
            })
            .collect(),
    };
    Ok((Some(sla), requested_pauses.unwrap_or(0) != 0))
}

/// What ITFlow's public-reply email is built from; `smtp_host`: read
/// `settings.config_smtp_host` too.
async fn read_mail<Q: Queryable>(
    q: &mut Q,
    ticket: &TicketRow,
    smtp_host: bool,
) -> Result<MailSnapshot, mysql_async::Error> {
    let (ticket_id, contact_id) = (ticket.id, ticket.contact_id);
    let host = if smtp_host {
        "s.config_smtp_host"
    } else {
        "NULL"
    };
    let row: Option<Row> = q
        .exec_first(
            format!("SELECT s.config_smtp_provider, s.config_ticket_from_name, s.config_ticket_from_email, \
             (SELECT contact_name FROM contacts WHERE contact_id = ?), \
             (SELECT contact_email FROM contacts WHERE contact_id = ?), \
             (SELECT ticket_url_key FROM tickets WHERE ticket_id = ?), \
             (SELECT company_name FROM companies WHERE company_id = 1), \
             (SELECT company_phone FROM companies WHERE company_id = 1), \
             (SELECT company_phone_country_code FROM companies WHERE company_id = 1), \
             s.config_ticket_prefix, \
             (SELECT client_name FROM clients WHERE client_id = ?), \
             (SELECT user_name FROM users WHERE user_id = ?), \
             (SELECT user_email FROM users WHERE user_id = ?), {host} \
             FROM settings s WHERE s.company_id = 1"),
            (
                contact_id,
                contact_id,
                ticket_id,
                ticket.client_id,
                ticket.assigned_to,
                ticket.assigned_to,
            ),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok(MailSnapshot::default());
    };
    let mut mail = MailSnapshot {
        provider: take(&mut row, 0)?,
        smtp_host: take(&mut row, 13)?,
        signature: None,
        from_name: take(&mut row, 1)?,
        from_email: take(&mut row, 2)?,
        contact_name: take(&mut row, 3)?,
        contact_email: take(&mut row, 4)?,
        url_key: take(&mut row, 5)?,
        company_name: take(&mut row, 6)?,
        company_phone: take(&mut row, 7)?,
        company_phone_country_code: take(&mut row, 8)?,
        watchers: Vec::new(),
        ticket_prefix: take(&mut row, 9)?,
        client_name: take(&mut row, 10)?,
        assignee_name: take(&mut row, 11)?,
        assignee_email: take(&mut row, 12)?,
    };
    // No mail configured: no email, and no need for the watchers.
    let set = |v: &Option<String>| !v.as_deref().unwrap_or("").is_empty();
    if set(&mail.provider) || set(&mail.smtp_host) {
        mail.watchers = q
            .exec(
                "SELECT watcher_name, watcher_email FROM ticket_watchers WHERE watcher_ticket_id = ? ORDER BY watcher_id",
                (ticket_id,),
            )
            .await?;
    }
    Ok(mail)
}

/// The contact a customer's reply names, when it is a contact of
/// `client_id` and not archived (by id when given, else by email, trimmed
/// and case-insensitive, the lowest id first).
async fn read_contact<Q: Queryable>(
    q: &mut Q,
    named: &PersonRef,
    client_id: i64,
) -> Result<Option<ContactRow>, mysql_async::Error> {
    const SELECT: &str = "SELECT contact_id, contact_name, contact_email FROM contacts \
         WHERE contact_client_id = ? AND contact_archived_at IS NULL AND ";
    let row: Option<(i64, String, Option<String>)> = match (named.id, &named.email) {
        (Some(id), _) => {
            q.exec_first(format!("{SELECT}contact_id = ?"), (client_id, id))
                .await?
        }
        (None, Some(email)) => {
            q.exec_first(
                format!(
                    "{SELECT}LOWER(TRIM(contact_email)) = LOWER(?) ORDER BY contact_id LIMIT 1"
                ),
                (client_id, email),
            )
            .await?
        }
        (None, None) => None,
    };
    Ok(row.map(|(id, name, email)| ContactRow { id, name, email }))
}

/// The user a reply on behalf names (by id when given, else by email,
/// trimmed and case-insensitive, an active agent first), with their role
/// and client lists; `lists` as [`crate::domain::Flavour::agent_lists`].
async fn read_agent<Q: Queryable>(
    q: &mut Q,
    named: &PersonRef,
    lists: Option<bool>,
) -> Result<Option<AgentRow>, mysql_async::Error> {
    let access = match lists {
        None => "0, NULL, NULL".to_owned(),
        Some(types) => {
            let (allow, deny) = client_list_filters(types);
            format!(
                "COALESCE((SELECT r.role_is_admin FROM user_roles r WHERE r.role_id = u.user_role_id), 0), \
                 (SELECT GROUP_CONCAT(cp.client_id) FROM user_client_permissions cp WHERE cp.user_id = u.user_id {allow}), \
                 (SELECT GROUP_CONCAT(cp.client_id) FROM user_client_permissions cp WHERE cp.user_id = u.user_id {deny})"
            )
        }
    };
    let select = format!(
        "SELECT u.user_id, u.user_name, u.user_email, \
         u.user_type = 1 AND u.user_status = 1 AND u.user_archived_at IS NULL AS active_agent, {access} \
         FROM users u WHERE "
    );
    type AgentTuple = (
        i64,
        String,
        String,
        bool,
        i64,
        Option<String>,
        Option<String>,
    );
    let row: Option<AgentTuple> = match (named.id, &named.email) {
        (Some(id), _) => q.exec_first(format!("{select}u.user_id = ?"), (id,)).await?,
        (None, Some(email)) => {
            q.exec_first(
                format!(
                    "{select}LOWER(TRIM(u.user_email)) = LOWER(?) ORDER BY active_agent DESC, u.user_id LIMIT 1"
                ),
                (email,),
            )
            .await?
        }
        (None, None) => None,
    };
    let ids = client_ids;
    Ok(row.map(
        |(id, name, email, active_agent, admin, allow, deny)| AgentRow {
            id,
            name,
            email,
            active_agent,
            is_admin: admin == 1,
            scope: ClientScope::from_lists(ids(allow), ids(deny)),
        },
    ))
}

/// Every `ticket_statuses` row, for a status named by name.
pub async fn read_statuses<Q: Queryable>(
    q: &mut Q,
) -> Result<Vec<StatusEntry>, mysql_async::Error> {
    let rows: Vec<(i64, Option<String>, Option<i64>)> = q
        .exec(
            "SELECT ticket_status_id, ticket_status_name, ticket_status_active FROM ticket_statuses ORDER BY ticket_status_id",
            (),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, active)| StatusEntry {
            id,
            name: name.unwrap_or_default(),
            active: active == Some(1),
        })
        .collect())
}

/// What a request's `ticket_number` (and `ticket_id`, when both are given)
/// names, among the tickets `scope` may see.
pub enum TicketMatch {
    None,
    One(i64),
    Several,
}

/// Find the ticket of `ticket`: by number (its prefix, when given,
/// compared case-insensitively with `ticket_prefix`), and by id too when
/// both are given.
pub async fn find_ticket<Q: Queryable>(
    q: &mut Q,
    ticket: &TicketRef,
    scope: &ClientScope,
) -> Result<TicketMatch, mysql_async::Error> {
    let Some(number) = &ticket.number else {
        return Ok(ticket.id.map_or(TicketMatch::None, TicketMatch::One));
    };
    let rows: Vec<(i64, i64)> = q
        .exec(
            "SELECT ticket_id, ticket_client_id FROM tickets WHERE ticket_number = ? \
             AND (? IS NULL OR LOWER(COALESCE(ticket_prefix, '')) = LOWER(?)) ORDER BY ticket_id",
            (number.number, &number.prefix, &number.prefix),
        )
        .await?;
    let ids: Vec<i64> = rows
        .into_iter()
        .filter(|(id, client)| scope.allows(*client) && ticket.id.is_none_or(|want| want == *id))
        .map(|(id, _)| id)
        .collect();
    Ok(match ids.as_slice() {
        [] => TicketMatch::None,
        [id] => TicketMatch::One(*id),
        _ => TicketMatch::Several,
    })
}
