//! Every timestamp a write stores is the company's local time
//! (`settings.config_timezone`), as the agent UI's are, even when the
//! database server runs in another zone: the company zone here is 14 hours
//! from the server's (or 12, when the server itself is at +14).
//!
//! `tickets.ticket_updated_at` is `ON UPDATE current_timestamp()`: an
//! `UPDATE tickets` that does not set it restamps it in the server's zone.
//! Runs on every generation (the timestamp columns come from the schema);
//! where the schema has the SLA machinery, the ticket is on an SLA with a
//! running clock, so every SLA statement runs.

use crate::helpers::*;
use jiff::tz::TimeZone;

/// Every stored timestamp column a create may write, as `(what, SQL)`;
/// each query lists the column's values for rows the test wrote.
fn timestamp_queries(db: &TestDb, ticket_id: i64) -> Vec<(String, String)> {
    let mut queries = vec![
        (
            "ticket_replies.ticket_reply_created_at".to_string(),
            format!(
                "SELECT ticket_reply_created_at FROM ticket_replies WHERE ticket_reply_id > 7 AND ticket_reply_ticket_id = {ticket_id}"
            ),
        ),
        (
            "logs.log_created_at".into(),
            "SELECT log_created_at FROM logs".into(),
        ),
        (
            "notifications.notification_timestamp".into(),
            "SELECT notification_timestamp FROM notifications".into(),
        ),
    ];
    for column in [
        "ticket_updated_at",
        "ticket_first_response_at",
        "ticket_resolved_at",
    ] {
        queries.push((
            format!("tickets.{column}"),
            format!("SELECT {column} FROM tickets WHERE ticket_id = {ticket_id}"),
        ));
    }
    if db.user_keys {
        queries.push((
            "ticket_history.ticket_history_created_at".into(),
            "SELECT ticket_history_created_at FROM ticket_history".into(),
        ));
        queries.push((
            "sla_history.sla_history_ended_at".into(),
            "SELECT sla_history_ended_at FROM sla_history".into(),
        ));
        queries.push((
            "email_queue.email_queued_at".into(),
            "SELECT email_queued_at FROM email_queue".into(),
        ));
    }
    queries
}

fn local_now(tz: &TimeZone) -> String {
    jiff::Timestamp::now()
        .to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The company zone for this server: 14 hours from the server's offset.
async fn company_zone(db: &TestDb) -> &'static str {
    let offset: i64 = db
        .value("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())")
        .await
        .unwrap()
        .parse()
        .unwrap();
    if offset.abs() >= 7 * 3600 {
        "UTC"
    } else if offset >= 0 {
        "Pacific/Kiritimati" // +14:00, no DST
    } else {
        "Etc/GMT-12" // +12:00 (POSIX signs are inverted)
    }
}

/// The company's zone, and its clock when the test began.
struct CompanyClock {
    tz: TimeZone,
    since: String,
}

/// Sends `request` and asserts that every timestamp the test has written
/// so far lies between the company-zone clock read when the test began and
/// just after this request (a timestamp in the server's zone is hours off).
async fn assert_written_in_company_zone(
    app: &TestApp,
    clock: &CompanyClock,
    ticket_id: i64,
    request: impl std::future::Future<Output = Answer>,
) {
    let (tz, before) = (&clock.tz, &clock.since);
    let answer = request.await;
    let after = local_now(tz);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.body.contains(r#""success":"True""#), "{answer:?}");
    for (what, sql) in timestamp_queries(&app.db, ticket_id) {
        for row in app.db.rows(&sql).await {
            let Some(value) = row[0].clone() else {
                continue;
            };
            assert!(
                *before <= value && value <= after,
                "{what} = {value}, not the company's time (between {before} and {after})"
            );
        }
    }
}

async fn app_in_company_zone(generation: Generation) -> (TestApp, CompanyClock) {
    let app = spawn_app(generation).await;
    let zone = company_zone(&app.db).await;
    let mut setup = format!(
        "UPDATE settings SET config_timezone = '{zone}'; \
         DELETE FROM logs; DELETE FROM notifications; \
         UPDATE tickets SET ticket_updated_at = NULL, ticket_first_response_at = NULL, ticket_resolved_at = NULL;"
    );
    if app.db.user_keys {
        // An SLA with a clock running since the ticket was raised, due dates
        // far ahead, every day a business day, mail configured: every SLA
        // and mail statement runs.
        setup.push_str(
            " UPDATE settings SET config_business_days = '0,1,2,3,4,5,6', \
             config_business_hours_start = '00:00:00', config_business_hours_end = '23:59:00', \
             config_smtp_provider = 'smtp', config_ticket_from_email = 'help@example.com'; \
             UPDATE ticket_statuses SET ticket_status_pauses_sla = 1 WHERE ticket_status_id = 3; \
             DELETE FROM ticket_history; DELETE FROM sla_history; DELETE FROM email_queue; \
             INSERT INTO slas (sla_id, sla_name, sla_response_minutes, sla_resolution_minutes) VALUES (1, 'Standard', 60, 480); \
             UPDATE tickets SET ticket_sla_id = 1, ticket_response_due_at = '2099-01-01 00:00:00', \
             ticket_resolution_due_at = '2099-01-01 00:00:00' WHERE ticket_id IN (1, 2); \
             INSERT INTO sla_history (sla_history_started_at, sla_history_ticket_id) VALUES \
             ('2026-11-20 08:00:00', 1), ('2026-11-20 08:30:00', 2);",
        );
    }
    app.db.exec_script(&setup).await;
    let tz = TimeZone::get(zone).unwrap();
    let since = local_now(&tz);
    (app, CompanyClock { tz, since })
}

per_generation!(legacy_creates_write_the_company_time_everywhere);
async fn legacy_creates_write_the_company_time_everywhere(generation: Generation) {
    let (app, clock) = app_in_company_zone(generation).await;
    // The first public reply (first response, its verdict), then a resolve
    // (resolved_at, the resolution verdict, the clock stopped).
    assert_written_in_company_zone(
        &app,
        &clock,
        1,
        app.create("ticket_id=1&ticket_reply=Hello&public_reply_type=1"),
    )
    .await;
    assert_written_in_company_zone(&app, &clock, 1, app.create("ticket_id=1&status=4")).await;
    let row = app
        .db
        .rows("SELECT ticket_updated_at = ticket_resolved_at, ticket_first_response_at IS NOT NULL FROM tickets WHERE ticket_id = 1")
        .await;
    assert_eq!(row, vec![vec![Some("1".into()), Some("1".into())]]);
    // A pause and a resume move the clock and the due date.
    assert_written_in_company_zone(&app, &clock, 1, app.create("ticket_id=1&status=3")).await;
    assert_written_in_company_zone(&app, &clock, 1, app.create("ticket_id=1&status=2")).await;
}

per_generation!(itflow_creates_write_the_company_time_everywhere);
async fn itflow_creates_write_the_company_time_everywhere(generation: Generation) {
    let (app, clock) = app_in_company_zone(generation).await;
    let body = serde_json::json!({
        "api_key": GLOBAL_KEY,
        "ticket_id": 2,
        "ticket_reply": "Fixed",
        "ticket_reply_type": "Public",
        "ticket_status": 4,
    });
    assert_written_in_company_zone(
        &app,
        &clock,
        2,
        app.post_json("/api/v1/ticket_replies/create.php", body),
    )
    .await;
    let row = app
        .db
        .rows("SELECT ticket_updated_at = ticket_resolved_at, ticket_first_response_at = ticket_resolved_at FROM tickets WHERE ticket_id = 2")
        .await;
    assert_eq!(row, vec![vec![Some("1".into()), Some("1".into())]]);
}
