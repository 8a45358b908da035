//! ITFlow's SLA bookkeeping (functions/sla.php), run inside replyd's write
//! transaction so the agent UI's SLA views stay right: the resolution clock
//! (`sla_history` intervals), the first-response and resolution verdicts.
//!
//! Every `UPDATE tickets` here sets `ticket_updated_at` itself: the column
//! is `ON UPDATE current_timestamp()`, which would otherwise restamp it in
//! the database server's time zone instead of the company's.

use crate::db::take;
use crate::domain::sla::{BusinessCalendar, add_business_minutes, business_minutes_between};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use mysql_async::prelude::*;

/// How replyd's SQL hands datetimes back: as the wall-clock text PHP sees.
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%i:%s";

/// "Now" and the business calendar of one write.
#[derive(Debug, Clone)]
pub struct Clock {
    pub now: DateTime,
    pub tz: TimeZone,
    pub calendar: BusinessCalendar,
}

/// A civil datetime as MariaDB text (`2026-11-22 09:00:00`).
pub fn sql_datetime(dt: DateTime) -> String {
    dt.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

fn parse(text: Option<String>) -> Option<DateTime> {
    text.and_then(|t| t.parse().ok())
}

/// getSlaSettings(): the company's business days and hours.
pub async fn load_calendar<Q: Queryable>(
    q: &mut Q,
) -> Result<BusinessCalendar, mysql_async::Error> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> = q
        .query_first(
            "SELECT config_business_days, TIME_FORMAT(config_business_hours_start, '%H:%i:%s'), \
             TIME_FORMAT(config_business_hours_end, '%H:%i:%s') FROM settings WHERE company_id = 1",
        )
        .await?;
    let (days, start, end) = row.unwrap_or_default();
    Ok(BusinessCalendar::from_settings(
        days.as_deref().unwrap_or(""),
        start.as_deref(),
        end.as_deref(),
    ))
}

/// getTicketSlaConsumedMinutes(): business minutes spent on the resolution
/// clock, the running interval included; without any interval, the time
/// since the ticket was raised.
async fn consumed_minutes<Q: Queryable>(
    q: &mut Q,
    ticket_id: i64,
    clock: &Clock,
) -> Result<i64, mysql_async::Error> {
    let rows: Vec<(Option<String>, Option<String>, Option<i64>)> = q
        .exec(
            format!(
                "SELECT DATE_FORMAT(sla_history_started_at, '{DATETIME_FORMAT}'), \
                 DATE_FORMAT(sla_history_ended_at, '{DATETIME_FORMAT}'), sla_history_minutes \
                 FROM sla_history WHERE sla_history_ticket_id = ?"
            ),
            (ticket_id,),
        )
        .await?;
    let between =
        |a: DateTime, b: DateTime| business_minutes_between(a, b, &clock.calendar, &clock.tz);
    if rows.is_empty() {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = q
            .exec_first(
                format!(
                    "SELECT DATE_FORMAT(ticket_created_at, '{DATETIME_FORMAT}'), \
                     DATE_FORMAT(ticket_resolved_at, '{DATETIME_FORMAT}'), \
                     DATE_FORMAT(ticket_closed_at, '{DATETIME_FORMAT}') FROM tickets WHERE ticket_id = ?"
                ),
                (ticket_id,),
            )
            .await?;
        let Some((created, resolved, closed)) = row else {
            return Ok(0);
        };
        let ended = parse(resolved).or(parse(closed)).unwrap_or(clock.now);
        return Ok(parse(created).map_or(0, |c| between(c, ended)));
    }
    Ok(rows
        .into_iter()
        .map(|(started, ended, minutes)| match ended {
            Some(_) => minutes.unwrap_or(0),
            None => parse(started).map_or(0, |s| between(s, clock.now)),
        })
        .sum())
}

/// syncTicketSlaClock(): open an interval when the resolution clock should
/// run (a tracked ticket, not resolved, closed or archived, in a status that
/// does not pause the clock), close it when it should not; on a resume,
/// re-base `ticket_resolution_due_at` on the budget left.
pub async fn sync_clock<Q: Queryable>(
    q: &mut Q,
    ticket_id: i64,
    clock: &Clock,
) -> Result<(), mysql_async::Error> {
    let row: Option<mysql_async::Row> = q
        .exec_first(
            format!(
                "SELECT t.ticket_sla_id, DATE_FORMAT(t.ticket_created_at, '{DATETIME_FORMAT}'), \
                 t.ticket_resolved_at IS NULL AND t.ticket_closed_at IS NULL AND t.ticket_archived_at IS NULL, \
                 t.ticket_resolution_sla_alert_stage, s.sla_resolution_minutes, st.ticket_status_pauses_sla \
                 FROM tickets t LEFT JOIN slas s ON t.ticket_sla_id = s.sla_id \
                 LEFT JOIN ticket_statuses st ON t.ticket_status = st.ticket_status_id \
                 WHERE t.ticket_id = ?"
            ),
            (ticket_id,),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok(());
    };
    let sla_id: i64 = take(&mut row, 0)?;
    let created: Option<String> = take(&mut row, 1)?;
    let open_ticket: bool = take(&mut row, 2)?;
    let alert_stage: i64 = take(&mut row, 3)?;
    let resolution_minutes: Option<i64> = take(&mut row, 4)?;
    let pauses: Option<i64> = take(&mut row, 5)?;
    let resolution_minutes = resolution_minutes.unwrap_or(0);

    let open: Option<(i64, Option<String>)> = q
        .exec_first(
            format!(
                "SELECT sla_history_id, DATE_FORMAT(sla_history_started_at, '{DATETIME_FORMAT}') \
                 FROM sla_history WHERE sla_history_ticket_id = ? AND sla_history_ended_at IS NULL \
                 ORDER BY sla_history_id DESC LIMIT 1"
            ),
            (ticket_id,),
        )
        .await?;
    let tracked = sla_id > 0 && resolution_minutes > 0;
    let should_run = tracked && open_ticket && pauses.unwrap_or(0) == 0;
    let now = sql_datetime(clock.now);

    match (should_run, open) {
        (true, None) => {
            let paused: Option<i64> = q
                .exec_first(
                    "SELECT COUNT(*) FROM sla_history WHERE sla_history_ticket_id = ? AND sla_history_ended_at IS NOT NULL",
                    (ticket_id,),
                )
                .await?;
            let had_history = paused.unwrap_or(0) > 0;
            let consumed = if had_history {
                consumed_minutes(q, ticket_id, clock).await?
            } else {
                0
            };
            // The first interval starts when the ticket was raised.
            let start = if had_history {
                now.clone()
            } else {
                created.unwrap_or_else(|| now.clone())
            };
            q.exec_drop(
                "INSERT INTO sla_history (sla_history_started_at, sla_history_ticket_id) VALUES (?, ?)",
                (start, ticket_id),
            )
            .await?;
            if had_history {
                let remaining = (resolution_minutes - consumed).max(0);
                let due = add_business_minutes(clock.now, remaining, &clock.calendar, &clock.tz);
                // A ticket that already breached stays breached.
                let stage = if alert_stage == 2 { 2 } else { 0 };
                q.exec_drop(
                    "UPDATE tickets SET ticket_resolution_due_at = ?, ticket_resolution_sla_alert_stage = ?, \
                     ticket_updated_at = ? WHERE ticket_id = ?",
                    (sql_datetime(due), stage, &now, ticket_id),
                )
                .await?;
            }
        }
        (false, Some((interval_id, started))) => {
            let minutes = parse(started).map_or(0, |s| {
                business_minutes_between(s, clock.now, &clock.calendar, &clock.tz)
            });
            q.exec_drop(
                "UPDATE sla_history SET sla_history_ended_at = ?, sla_history_minutes = ? WHERE sla_history_id = ?",
                (now, minutes, interval_id),
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// setTicketFirstResponse(): stamp the first response (once) and judge the
/// response SLA: met when on or before `ticket_response_due_at`, NULL when
/// the ticket has no due date.
pub async fn set_first_response<Q: Queryable>(
    q: &mut Q,
    ticket_id: i64,
    clock: &Clock,
) -> Result<(), mysql_async::Error> {
    let row: Option<(bool, Option<String>)> = q
        .exec_first(
            format!(
                "SELECT ticket_first_response_at IS NOT NULL, DATE_FORMAT(ticket_response_due_at, '{DATETIME_FORMAT}') \
                 FROM tickets WHERE ticket_id = ?"
            ),
            (ticket_id,),
        )
        .await?;
    let Some((already, due)) = row else {
        return Ok(());
    };
    if already {
        return Ok(());
    }
    let met = parse(due).map(|due| i64::from(clock.now <= due));
    q.exec_drop(
        "UPDATE tickets SET ticket_first_response_at = ?, ticket_response_sla_met = ?, \
         ticket_updated_at = ? WHERE ticket_id = ?",
        (
            sql_datetime(clock.now),
            met,
            sql_datetime(clock.now),
            ticket_id,
        ),
    )
    .await
}

/// setTicketResolutionSlaMet(): judge the resolution SLA when a ticket is
/// resolved (a recorded miss is final), then sync the clock. No-op for
/// tickets without a resolution target.
pub async fn set_resolution_sla_met<Q: Queryable>(
    q: &mut Q,
    ticket_id: i64,
    clock: &Clock,
) -> Result<(), mysql_async::Error> {
    let row: Option<(Option<String>, Option<String>, Option<i64>)> = q
        .exec_first(
            format!(
                "SELECT DATE_FORMAT(ticket_resolution_due_at, '{DATETIME_FORMAT}'), \
                 DATE_FORMAT(ticket_resolved_at, '{DATETIME_FORMAT}'), ticket_resolution_sla_met \
                 FROM tickets WHERE ticket_id = ?"
            ),
            (ticket_id,),
        )
        .await?;
    let Some((due, resolved, met)) = row else {
        return Ok(());
    };
    let Some(due) = parse(due) else {
        return Ok(());
    };
    if met != Some(0) {
        let ended = parse(resolved).unwrap_or(clock.now);
        q.exec_drop(
            "UPDATE tickets SET ticket_resolution_sla_met = ?, ticket_updated_at = ? WHERE ticket_id = ?",
            (i64::from(ended <= due), sql_datetime(clock.now), ticket_id),
        )
        .await?;
    }
    sync_clock(q, ticket_id, clock).await
}

/// resetTicketResolutionSla(): a reopened ticket goes back on the clock; a
/// recorded miss survives when the budget is already spent.
pub async fn reset_resolution_sla<Q: Queryable>(
    q: &mut Q,
    ticket_id: i64,
    clock: &Clock,
) -> Result<(), mysql_async::Error> {
    let row: Option<(Option<i64>, Option<i64>)> = q
        .exec_first(
            "SELECT t.ticket_resolution_sla_met, s.sla_resolution_minutes FROM tickets t \
             LEFT JOIN slas s ON t.ticket_sla_id = s.sla_id WHERE t.ticket_id = ?",
            (ticket_id,),
        )
        .await?;
    if let Some((met, minutes)) = row {
        let minutes = minutes.unwrap_or(0);
        if met == Some(0) && minutes > 0 && consumed_minutes(q, ticket_id, clock).await? >= minutes
        {
            return sync_clock(q, ticket_id, clock).await;
        }
    }
    q.exec_drop(
        "UPDATE tickets SET ticket_resolution_sla_met = NULL, ticket_resolution_sla_alert_stage = 0, \
         ticket_updated_at = ? WHERE ticket_id = ?",
        (sql_datetime(clock.now), ticket_id),
    )
    .await?;
    sync_clock(q, ticket_id, clock).await
}
