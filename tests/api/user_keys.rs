//! Databases with user-tied keys (ITFlow 2.4.7+): the key's user, role and
//! client lists (api/v1/enforce_api_rbac.php), and the rows ITFlow 2.6.7
//! keeps right on every reply and status change (ticket_history, SLA
//! verdicts, the sla_history clock). They apply to user-key schemas only
//! and ask for them: each runs on the user-key fixture and on ITFlow's
//! 2.6.7 dump (`[user_keys, dump_2_6_7]`).

use crate::helpers::*;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use replyd::domain::sla::{BusinessCalendar, add_business_minutes, business_minutes_between};

const ACCOUNTANT_KEY: &str = "accountantkey0123";
const TECH_KEY: &str = "techkey0123456789";
const DENY_KEY: &str = "denykey0123456789";

const NO_PERMISSION: &str = r#"{"success":"False","message":"The user linked to this API key does not have permission for this action."}"#;
const USER_INVALID: &str = r#"{"success":"False","message":"The user linked to this API key is inactive, archived, or invalid."}"#;
const NOT_TIED: &str = r#"{"success":"False","message":"This API key is not tied to a user and is no longer valid. Please recreate it."}"#;

/// A replyd on a user-key database of `generation`.
async fn user_key_app(generation: Generation) -> TestApp {
    let app = spawn_app(generation).await;
    assert!(app.db.user_keys, "a schema with user-tied keys");
    app
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn created(id: u64) -> String {
    format!(r#"{{"success":"True","count":"1","data":[{{"insert_id":{id}}}]}}"#)
}

async fn post(app: &TestApp, key: &str, form: &str) -> Answer {
    app.post_form(CREATE, &format!("api_key={key}&{form}"))
        .await
}

per_generation!(an_accountant_may_read_but_not_create: [user_keys, dump_2_6_7]);
async fn an_accountant_may_read_but_not_create(generation: Generation) {
    let app = user_key_app(generation).await;
    let a = app
        .get(&format!("{READ}?api_key={ACCOUNTANT_KEY}&reply_id=1"))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["data"][0]["ticket_reply_id"], "1");
    post(&app, ACCOUNTANT_KEY, "ticket_id=1&ticket_reply=x")
        .await
        .assert(403, NO_PERMISSION);
    // The role check comes before the method check.
    app.get(&format!("{CREATE}?api_key={ACCOUNTANT_KEY}"))
        .await
        .assert(403, NO_PERMISSION);
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(app.db.count("logs").await, 0);
}

per_generation!(a_role_without_support_access_may_not_read: [user_keys, dump_2_6_7]);
async fn a_role_without_support_access_may_not_read(generation: Generation) {
    let app = user_key_app(generation).await;
    app.db
        .exec_script("DELETE FROM user_role_permissions WHERE user_role_id = 1 AND module_id = 2")
        .await;
    app.get(&format!("{READ}?api_key={ACCOUNTANT_KEY}"))
        .await
        .assert(403, NO_PERMISSION);
}

per_generation!(archived_inactive_and_non_agent_users_and_untied_keys_are_refused: [user_keys, dump_2_6_7]);
async fn archived_inactive_and_non_agent_users_and_untied_keys_are_refused(generation: Generation) {
    let app = user_key_app(generation).await;
    for key in [
        "archivedkey012345",
        "inactivekey012345",
        "portalkey01234567",
    ] {
        app.get(&format!("{READ}?api_key={key}"))
            .await
            .assert(403, USER_INVALID);
        post(&app, key, "ticket_id=1&ticket_reply=x")
            .await
            .assert(403, USER_INVALID);
    }
    app.get(&format!("{READ}?api_key=untiedkey01234567"))
        .await
        .assert(403, NOT_TIED);
    // A key whose user was deleted.
    app.db
        .exec_script("DELETE FROM users WHERE user_id = 2")
        .await;
    app.get(&format!("{READ}?api_key={TECH_KEY}"))
        .await
        .assert(403, USER_INVALID);
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(
        app.db.count("logs").await,
        0,
        "refused keys are known keys: no failure log"
    );
}

per_generation!(a_technician_writes_as_themself: [user_keys, dump_2_6_7]);
async fn a_technician_writes_as_themself(generation: Generation) {
    let app = user_key_app(generation).await;
    post(&app, TECH_KEY, "ticket_id=1&ticket_reply=On+it")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .value("SELECT ticket_reply_by FROM ticket_replies WHERE ticket_reply_id = 8")
            .await,
        s("2")
    );
    // Tess is the assignee: only Oracle, who opened the ticket, is notified.
    assert_eq!(
        app.db
            .rows("SELECT notification, notification_user_id FROM notifications")
            .await,
        vec![vec![
            s("Tess Tech updated Ticket TCK-1 - Subject: Printer not working that you opened"),
            s("1")
        ]]
    );
    assert_eq!(
        app.db
            .rows(
                "SELECT log_type, log_action, log_user_id, log_entity_id FROM logs ORDER BY log_id"
            )
            .await,
        vec![
            vec![s("Ticket"), s("Reply"), s("2"), s("1")],
            vec![s("API"), s("Success"), s("2"), s("0")]
        ]
    );
    let read = app
        .get(&format!("{READ}?api_key={TECH_KEY}&reply_id=8"))
        .await
        .json();
    assert_eq!(read["data"][0]["ticket_reply_by_name"], "Tess Tech");
}

per_generation!(a_deny_list_always_wins: [user_keys, dump_2_6_7]);
async fn a_deny_list_always_wins(generation: Generation) {
    let app = user_key_app(generation).await;
    let all = app.get(&format!("{READ}?api_key={DENY_KEY}")).await.json();
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ticket_reply_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["7", "6", "3", "2", "1"], "Globex's reply 4 is hidden");
    let a = post(&app, DENY_KEY, "ticket_id=2&ticket_reply=x").await;
    assert_eq!(
        a.body,
        r#"{"success":"False","message":"No ticket with the specified ticket_id (for this client and company)."}"#
    );
    // Deny beats allow.
    app.db.exec_script("INSERT INTO user_client_permissions (user_id, client_id, permission_type) VALUES (8, 1, 'allow')").await;
    let a = app
        .get(&format!("{READ}?api_key={DENY_KEY}&ticket_id=2"))
        .await;
    assert!(a.body.starts_with(r#"{"success":"False""#), "{a:?}");
    post(&app, DENY_KEY, "ticket_id=1&ticket_reply=ok")
        .await
        .assert(200, &created(8));
}

per_generation!(admins_ignore_client_lists: [user_keys, dump_2_6_7]);
async fn admins_ignore_client_lists(generation: Generation) {
    let app = user_key_app(generation).await;
    app.db
        .exec_script("INSERT INTO user_client_permissions (user_id, client_id, permission_type) VALUES (1, 2, 'deny')")
        .await;
    let a = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&ticket_id=2"))
        .await;
    assert_eq!(a.json()["count"], 1);
}

per_generation!(status_changes_write_ticket_history_only_when_the_status_changes: [user_keys, dump_2_6_7]);
async fn status_changes_write_ticket_history_only_when_the_status_changes(generation: Generation) {
    let app = user_key_app(generation).await;
    post(&app, GLOBAL_KEY, "ticket_id=1&status=2&ticket_reply=same")
        .await
        .assert(200, &created(8));
    assert_eq!(app.db.count("ticket_history").await, 0);
    post(&app, GLOBAL_KEY, "ticket_id=1&status=3")
        .await
        .assert(200, &created(0));
    assert_eq!(
        app.db.rows("SELECT ticket_history_status, ticket_history_description, ticket_history_ticket_id, ticket_history_created_at = (SELECT ticket_updated_at FROM tickets WHERE ticket_id = 1) FROM ticket_history").await,
        vec![vec![s("On Hold"), s("Status set to On Hold via the API (Global key)"), s("1"), s("1")]]
    );
    assert_eq!(
        app.db
            .value("SELECT log_description FROM logs ORDER BY log_id DESC LIMIT 1")
            .await,
        s("Set the status of ticket TCK-1 to On Hold via API (Global key)")
    );
}

// --- SLA (functions/sla.php) ---

const TZ: &str = "UTC";

/// Business hours Mon–Fri 09:00–17:00 (UTC), SLA 1 = 60 min response, 480
/// min resolution, ticket 1 on it with a running clock since it was raised.
async fn sla_app(generation: Generation) -> TestApp {
    let app = user_key_app(generation).await;
    app.db
        .exec_script(
            "UPDATE settings SET config_timezone = 'UTC', config_business_days = '1,2,3,4,5', \
             config_business_hours_start = '09:00:00', config_business_hours_end = '17:00:00'; \
             INSERT INTO slas (sla_id, sla_name, sla_response_minutes, sla_resolution_minutes) VALUES (1, 'Standard', 60, 480); \
             UPDATE ticket_statuses SET ticket_status_pauses_sla = 1 WHERE ticket_status_id = 3; \
             UPDATE tickets SET ticket_sla_id = 1 WHERE ticket_id IN (1, 2); \
             INSERT INTO sla_history (sla_history_started_at, sla_history_ticket_id) VALUES ('2026-11-20 08:00:00', 1)",
        )
        .await;
    app
}

fn calendar() -> BusinessCalendar {
    BusinessCalendar::from_settings("1,2,3,4,5", Some("09:00:00"), Some("17:00:00"))
}

fn parse(v: Option<String>) -> DateTime {
    v.unwrap().parse().unwrap()
}

per_generation!(resolving_before_the_due_date_meets_the_sla_and_stops_the_clock: [user_keys, dump_2_6_7]);
async fn resolving_before_the_due_date_meets_the_sla_and_stops_the_clock(generation: Generation) {
    let app = sla_app(generation).await;
    app.db.exec_script("UPDATE tickets SET ticket_resolution_due_at = '2099-01-01 00:00:00' WHERE ticket_id = 1").await;
    post(&app, GLOBAL_KEY, "ticket_id=1&status=4&ticket_reply=Fixed")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db.rows("SELECT ticket_status, ticket_resolution_sla_met, ticket_resolved_at IS NOT NULL FROM tickets WHERE ticket_id = 1").await,
        vec![vec![s("4"), s("1"), s("1")]]
    );
    let rows = app
        .db
        .rows("SELECT sla_history_started_at, sla_history_ended_at, sla_history_minutes, sla_history_ended_at = (SELECT ticket_resolved_at FROM tickets WHERE ticket_id = 1) FROM sla_history")
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let ended = parse(rows[0][1].clone());
    let expected = business_minutes_between(
        parse(rows[0][0].clone()),
        ended,
        &calendar(),
        &TimeZone::get(TZ).unwrap(),
    );
    assert_eq!(rows[0][2], Some(expected.to_string()));
    assert_eq!(rows[0][3], s("1"));
    assert_eq!(
        app.db
            .rows("SELECT ticket_history_status, ticket_history_description FROM ticket_history")
            .await,
        vec![vec![s("Resolved"), s("Resolved via the API (Global key)")]]
    );
    assert_eq!(
        app.db
            .rows("SELECT log_type, log_action, log_description FROM logs ORDER BY log_id")
            .await,
        vec![
            vec![
                s("Ticket"),
                s("Resolved"),
                s("Resolved ticket TCK-1 via API (Global key)")
            ],
            vec![
                s("Ticket"),
                s("Reply"),
                s(
                    "Added a Internal reply to ticket TCK-1 - Printer not working via API (Global key)"
                )
            ],
            vec![
                s("API"),
                s("Success"),
                s("Added a Internal reply to ticket TCK-1 via API (Global key)")
            ],
        ]
    );
}

per_generation!(resolving_after_the_due_date_misses_the_sla: [user_keys, dump_2_6_7]);
async fn resolving_after_the_due_date_misses_the_sla(generation: Generation) {
    let app = sla_app(generation).await;
    app.db.exec_script("UPDATE tickets SET ticket_resolution_due_at = '2000-01-01 00:00:00' WHERE ticket_id = 1").await;
    post(&app, GLOBAL_KEY, "ticket_id=1&status=4")
        .await
        .assert(200, &created(0));
    assert_eq!(
        app.db
            .value("SELECT ticket_resolution_sla_met FROM tickets WHERE ticket_id = 1")
            .await,
        s("0")
    );
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM sla_history WHERE sla_history_ended_at IS NULL")
            .await,
        s("0")
    );
}

per_generation!(the_first_public_reply_judges_the_response_sla: [user_keys, dump_2_6_7]);
async fn the_first_public_reply_judges_the_response_sla(generation: Generation) {
    let app = sla_app(generation).await;
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_response_due_at = '2099-01-01 00:00:00' WHERE ticket_id = 1; \
             UPDATE tickets SET ticket_response_due_at = '2000-01-01 00:00:00' WHERE ticket_id = 2",
        )
        .await;
    post(
        &app,
        GLOBAL_KEY,
        "ticket_id=1&ticket_reply=Hi&public_reply_type=1",
    )
    .await
    .assert(200, &created(8));
    post(
        &app,
        GLOBAL_KEY,
        "ticket_id=2&ticket_reply=Hi&public_reply_type=1",
    )
    .await
    .assert(200, &created(9));
    // No due date: no verdict. An internal note is no response.
    post(&app, GLOBAL_KEY, "ticket_id=4&ticket_reply=Note")
        .await
        .assert(200, &created(10));
    post(
        &app,
        GLOBAL_KEY,
        "ticket_id=5&ticket_reply=Hi&public_reply_type=1",
    )
    .await
    .assert(200, &created(11));
    assert_eq!(
        app.db
            .rows("SELECT ticket_id, ticket_first_response_at = ticket_updated_at, ticket_response_sla_met FROM tickets WHERE ticket_id IN (1, 2, 4, 5) ORDER BY ticket_id")
            .await,
        vec![
            vec![s("1"), s("1"), s("1")],
            vec![s("2"), s("1"), s("0")],
            vec![s("4"), None, None],
            vec![s("5"), s("1"), None],
        ]
    );
}

per_generation!(a_pausing_status_stops_the_clock_and_resuming_rebases_the_due_date: [user_keys, dump_2_6_7]);
async fn a_pausing_status_stops_the_clock_and_resuming_rebases_the_due_date(
    generation: Generation,
) {
    let app = sla_app(generation).await;
    let tz = TimeZone::get(TZ).unwrap();
    // Pause: On Hold pauses the resolution clock.
    post(&app, GLOBAL_KEY, "ticket_id=1&status=3")
        .await
        .assert(200, &created(0));
    let rows = app
        .db
        .rows("SELECT sla_history_started_at, sla_history_ended_at, sla_history_minutes FROM sla_history")
        .await;
    assert_eq!(rows.len(), 1);
    let (started, ended) = (parse(rows[0][0].clone()), parse(rows[0][1].clone()));
    assert_eq!(
        rows[0][2],
        Some(business_minutes_between(started, ended, &calendar(), &tz).to_string())
    );

    // Resume from a known state: 100 business minutes spent, paused, with a
    // breached alert stage that must survive.
    app.db
        .exec_script(
            "UPDATE sla_history SET sla_history_minutes = 100; \
             UPDATE tickets SET ticket_resolution_sla_alert_stage = 2, ticket_resolution_due_at = '2000-01-01 00:00:00' WHERE ticket_id = 1",
        )
        .await;
    post(&app, GLOBAL_KEY, "ticket_id=1&status=2&ticket_reply=Back")
        .await
        .assert(200, &created(8));
    let rows = app
        .db
        .rows("SELECT sla_history_started_at, sla_history_ended_at FROM sla_history ORDER BY sla_history_id")
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][1], None, "a new interval runs");
    let resumed = parse(rows[1][0].clone());
    assert_eq!(
        app.db
            .value("SELECT ticket_updated_at FROM tickets WHERE ticket_id = 1")
            .await
            .map(|v| v.parse::<DateTime>().unwrap()),
        Some(resumed),
        "the interval starts now"
    );
    let due = add_business_minutes(resumed, 480 - 100, &calendar(), &tz);
    assert_eq!(
        app.db
            .rows("SELECT ticket_resolution_due_at, ticket_resolution_sla_alert_stage FROM tickets WHERE ticket_id = 1")
            .await,
        vec![vec![Some(due.strftime("%Y-%m-%d %H:%M:%S").to_string()), s("2")]]
    );
    // The status history names both changes.
    assert_eq!(
        app.db
            .rows("SELECT ticket_history_status FROM ticket_history ORDER BY ticket_history_id")
            .await,
        vec![vec![s("On Hold")], vec![s("Open")]]
    );
}

per_generation!(tickets_without_an_sla_keep_no_clock: [user_keys, dump_2_6_7]);
async fn tickets_without_an_sla_keep_no_clock(generation: Generation) {
    let app = sla_app(generation).await;
    post(&app, GLOBAL_KEY, "ticket_id=5&status=3")
        .await
        .assert(200, &created(0));
    post(&app, GLOBAL_KEY, "ticket_id=5&status=4")
        .await
        .assert(200, &created(0));
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM sla_history WHERE sla_history_ticket_id = 5")
            .await,
        s("0")
    );
    assert_eq!(
        app.db
            .value("SELECT ticket_resolution_sla_met FROM tickets WHERE ticket_id = 5")
            .await,
        None
    );
}

per_generation!(a_restricted_user_may_reply_on_tickets_without_a_client: [user_keys, dump_2_6_7]);
async fn a_restricted_user_may_reply_on_tickets_without_a_client(generation: Generation) {
    let app = user_key_app(generation).await;
    // The agent UI skips the client check for client 0 (agent/post/ticket.php).
    post(&app, ACME_KEY, "ticket_id=5&ticket_reply=Tooling+fixed")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .value("SELECT ticket_reply_by FROM ticket_replies WHERE ticket_reply_id = 8")
            .await,
        s("3")
    );
}
