//! POST create.php: validation (writing nothing), and the rows the agent UI
//! would have written.
//!
//! What a create writes depends on the schema: every test runs on every
//! generation (both fixtures and ITFlow's dumps), but `legacy_author_user_id`'s,
//! which applies to first-generation keys (the 2.4.4 fixture and dump).

use crate::helpers::*;
use serde_json::json;

fn created(id: u64) -> String {
    format!(r#"{{"success":"True","count":"1","data":[{{"insert_id":{id}}}]}}"#)
}

fn refused(message: &str) -> String {
    format!(r#"{{"success":"False","message":"{message}"}}"#)
}

const NOT_FOUND: &str = "No ticket with the specified ticket_id (for this client and company).";
const NOTHING_TO_DO: &str =
    "Nothing to do: send ticket_reply (the reply text), status (a ticket status id), or both.";

/// Nothing was written: the seed's rows, untouched.
async fn assert_untouched(app: &TestApp) {
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(app.db.count("notifications").await, 0);
    assert_eq!(app.db.count("logs").await, 0);
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM tickets WHERE ticket_updated_at IS NOT NULL")
            .await
            .as_deref(),
        Some("0")
    );
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// The description of the (last) `Reply` log row.
async fn reply_log(app: &TestApp) -> Option<String> {
    app.db
        .value("SELECT log_description FROM logs WHERE log_action = 'Reply' ORDER BY log_id DESC LIMIT 1")
        .await
}

/// The `Reply` log text for a reply by `key` on `ticket` ("TCK-1 -
/// Subject"): ITFlow 2.4.4's agent text with `<key> (API)` as the actor for
/// first-generation keys, ITFlow 2.6.7's API text for user-tied keys.
fn expected_reply_log(app: &TestApp, key: &str, ticket: &str, kind: &str) -> Option<String> {
    Some(if app.db.user_keys {
        let (number, subject) = ticket.split_once(" - ").unwrap();
        format!("Added a {kind} reply to ticket {number} - {subject} via API ({key})")
    } else {
        format!("{key} (API) replied to ticket {ticket} and was a {kind} reply")
    })
}

per_generation!(an_internal_reply_by_default_with_the_agent_uis_rows);
async fn an_internal_reply_by_default_with_the_agent_uis_rows(generation: Generation) {
    let app = spawn_app(generation).await;
    app.create("ticket_id=1&ticket_reply=Hello+%3Cb%3Ethere%3C%2Fb%3E")
        .await
        .assert(200, &created(8));
    // First-generation keys write as legacy_author_user_id (0 here); a
    // user-tied key writes as its user (the global key's user is Oracle
    // Admin, user 1, who opened ticket 1).
    let author = if app.db.user_keys { "1" } else { "0" };
    assert_eq!(
        app.db
            .rows("SELECT ticket_reply, ticket_reply_type, ticket_reply_time_worked, ticket_reply_by, ticket_reply_ticket_id, ticket_reply_archived_at FROM ticket_replies WHERE ticket_reply_id = 8")
            .await,
        vec![vec![s("Hello <b>there</b>"), s("Internal"), s("00:00:00"), s(author), s("1"), None]]
    );
    assert_eq!(
        app.db
            .rows("SELECT ticket_status, ticket_updated_at IS NOT NULL, ticket_resolved_at, ticket_first_response_at FROM tickets WHERE ticket_id = 1")
            .await,
        vec![vec![s("2"), s("1"), None, None]]
    );
    let note = |actor: &str, what: &str, user: &str| {
        vec![
            s("Ticket"),
            Some(format!(
                "{actor} updated Ticket TCK-1 - Subject: Printer not working that {what}"
            )),
            s("/agent/ticket.php?ticket_id=1&client_id=1"),
            s("1"),
            s(user),
            None,
        ]
    };
    let notifications = app
        .db
        .rows("SELECT notification_type, notification, notification_action, notification_client_id, notification_user_id, notification_dismissed_at FROM notifications ORDER BY notification_id")
        .await;
    let logs = app
        .db
        .rows("SELECT log_type, log_action, log_description, log_ip, log_user_agent, log_client_id, log_user_id, log_entity_id FROM logs ORDER BY log_id")
        .await;
    let log = |t: &str, a: &str, d: &str, user: &str, entity: &str| {
        vec![
            s(t),
            s(a),
            s(d),
            s("127.0.0.1"),
            s("replyd-tests/1.0"),
            s("1"),
            s(user),
            s(entity),
        ]
    };
    if app.db.user_keys {
        assert_eq!(
            notifications,
            vec![note("Oracle Admin", "is assigned to you", "2")]
        );
        // ITFlow 2.6.7's API texts (api/v1/ticket_replies/create.php).
        assert_eq!(
            logs,
            vec![
                log(
                    "Ticket",
                    "Reply",
                    "Added a Internal reply to ticket TCK-1 - Printer not working via API (Global key)",
                    "1",
                    "1"
                ),
                log(
                    "API",
                    "Success",
                    "Added a Internal reply to ticket TCK-1 via API (Global key)",
                    "1",
                    "0"
                ),
            ]
        );
        assert_eq!(app.db.count("ticket_history").await, 0);
    } else {
        assert_eq!(
            notifications,
            vec![
                note("Global key (API)", "is assigned to you", "2"),
                note("Global key (API)", "you opened", "1"),
            ]
        );
        assert_eq!(
            logs,
            vec![log(
                "Ticket",
                "Reply",
                "Global key (API) replied to ticket TCK-1 - Printer not working and was a Internal reply",
                "0",
                "1"
            )]
        );
    }
}

per_generation!(the_legacy_author_is_the_replies_author_and_the_actor: [client_keys, dump_2_4_4]);
async fn the_legacy_author_is_the_replies_author_and_the_actor(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.legacy_author_user_id = 1).await;
    app.create("ticket_id=1&ticket_reply=From+Oracle")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .value("SELECT ticket_reply_by FROM ticket_replies WHERE ticket_reply_id = 8")
            .await,
        s("1")
    );
    // The author opened ticket 1: only the assignee is notified.
    assert_eq!(
        app.db
            .rows("SELECT notification, notification_user_id FROM notifications")
            .await,
        vec![vec![
            s(
                "Oracle Admin updated Ticket TCK-1 - Subject: Printer not working that is assigned to you"
            ),
            s("2")
        ]]
    );
    assert_eq!(
        app.db
            .rows("SELECT log_description, log_user_id FROM logs")
            .await,
        vec![vec![
            s(
                "Oracle Admin replied to ticket TCK-1 - Printer not working and was a Internal reply"
            ),
            s("1")
        ]]
    );
    let read = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=8"))
        .await
        .json();
    assert_eq!(read["data"][0]["ticket_reply_by_name"], "Oracle Admin");
}

per_generation!(a_legacy_author_naming_no_user_falls_back_to_the_key_name: [client_keys, dump_2_4_4]);
async fn a_legacy_author_naming_no_user_falls_back_to_the_key_name(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.legacy_author_user_id = 99).await;
    app.create("ticket_id=5&ticket_reply=x")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db.value("SELECT log_description FROM logs").await,
        s("Global key (API) replied to ticket TCK-5 - Internal tooling and was a Internal reply")
    );
    // Ticket 5 has no client: the link has no client_id and the creator (1)
    // is notified; it is unassigned.
    assert_eq!(
        app.db.rows("SELECT notification_action, notification_client_id, notification_user_id FROM notifications").await,
        vec![vec![s("/agent/ticket.php?ticket_id=5"), s("0"), s("1")]]
    );
}

per_generation!(public_reply_type_1_is_public_and_stamps_the_first_response);
async fn public_reply_type_1_is_public_and_stamps_the_first_response(generation: Generation) {
    let app = spawn_app(generation).await;
    app.create("ticket_id=1&ticket_reply=Hi&public_reply_type=1")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .value("SELECT ticket_reply_type FROM ticket_replies WHERE ticket_reply_id = 8")
            .await,
        s("Public")
    );
    assert_eq!(
        app.db
            .value("SELECT ticket_first_response_at = ticket_updated_at FROM tickets WHERE ticket_id = 1")
            .await,
        s("1")
    );
    assert_eq!(
        reply_log(&app).await,
        expected_reply_log(&app, "Global key", "TCK-1 - Printer not working", "Public")
    );
    // A later public reply leaves the first response alone.
    app.db
        .exec_script("UPDATE tickets SET ticket_first_response_at = '2026-11-20 11:00:00' WHERE ticket_id = 1")
        .await;
    app.create("ticket_id=1&ticket_reply=Again&public_reply_type=1")
        .await
        .assert(200, &created(9));
    assert_eq!(
        app.db
            .value("SELECT ticket_first_response_at FROM tickets WHERE ticket_id = 1")
            .await,
        s("2026-11-20 11:00:00")
    );
}

per_generation!(an_internal_reply_does_not_count_as_first_response);
async fn an_internal_reply_does_not_count_as_first_response(generation: Generation) {
    let app = spawn_app(generation).await;
    app.create("ticket_id=1&ticket_reply=note&public_reply_type=0")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .value("SELECT ticket_first_response_at FROM tickets WHERE ticket_id = 1")
            .await,
        None
    );
}

per_generation!(public_reply_type_2_and_unknown_types_are_refused_writing_nothing);
async fn public_reply_type_2_and_unknown_types_are_refused_writing_nothing(generation: Generation) {
    let app = spawn_app(generation).await;
    app.create("ticket_id=1&ticket_reply=Hi&public_reply_type=2").await.assert(
        200,
        &refused("public_reply_type 2 (public reply with email) is not available: this API sends no email. Use public_reply_type 1 to post a public reply without email."),
    );
    // Whatever was sent, the message only says what is allowed.
    for bad in ["3", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "1.5"] {
        app.create(&format!(
            "ticket_id=1&ticket_reply=Hi&public_reply_type={bad}"
        ))
        .await
        .assert(
            200,
            &refused("public_reply_type must be 0 (internal reply) or 1 (public reply)."),
        );
    }
    assert_untouched(&app).await;
}

per_generation!(time_worked_is_stored_as_hh_mm_ss);
async fn time_worked_is_stored_as_hh_mm_ss(generation: Generation) {
    let app = spawn_app(generation).await;
    app.create("ticket_id=1&ticket_reply=Fixed&hours=1&minutes=2&seconds=3")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .value("SELECT ticket_reply_time_worked FROM ticket_replies WHERE ticket_reply_id = 8")
            .await,
        s("01:02:03")
    );
    let bad = refused(
        "hours, minutes and seconds must be whole numbers: hours 0 to 838, minutes and seconds 0 to 59.",
    );
    for q in [
        "minutes=60",
        "seconds=75",
        "hours=839",
        "hours=1.5",
        "minutes=-1",
        "hours=two",
    ] {
        app.create(&format!("ticket_id=1&ticket_reply=x&{q}"))
            .await
            .assert(200, &bad);
    }
    assert_eq!(app.db.count("ticket_replies").await, 8);
}

per_generation!(a_status_only_json_call_resolves_the_ticket);
async fn a_status_only_json_call_resolves_the_ticket(generation: Generation) {
    let app = spawn_app(generation).await;
    // curl -d '{...}' labels JSON as a form; it is read as JSON all the same.
    app.post_raw(
        CREATE,
        "application/x-www-form-urlencoded",
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "status": 4})
            .to_string()
            .into_bytes(),
    )
    .await
    .assert(200, &created(0));
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(
        app.db
            .rows("SELECT ticket_status, ticket_resolved_at = ticket_updated_at, ticket_first_response_at FROM tickets WHERE ticket_id = 1")
            .await,
        vec![vec![s("4"), s("1"), None]]
    );
    let logs = app
        .db
        .rows("SELECT log_action, log_description, log_client_id, log_entity_id FROM logs ORDER BY log_id")
        .await;
    if app.db.user_keys {
        assert_eq!(
            logs,
            vec![
                vec![
                    s("Resolved"),
                    s("Resolved ticket TCK-1 via API (Global key)"),
                    s("1"),
                    s("1")
                ],
                vec![
                    s("Success"),
                    s("Set the status of ticket TCK-1 to Resolved via API (Global key)"),
                    s("1"),
                    s("0")
                ],
            ]
        );
        assert_eq!(
            app.db.rows("SELECT ticket_history_status, ticket_history_description, ticket_history_ticket_id FROM ticket_history").await,
            vec![vec![s("Resolved"), s("Resolved via the API (Global key)"), s("1")]]
        );
    } else {
        assert_eq!(
            logs,
            vec![
                vec![
                    s("Resolved"),
                    s("Global key (API) resolved Ticket ticket ID 1"),
                    s("1"),
                    s("1")
                ],
                vec![
                    s("Reply"),
                    s(
                        "Global key (API) replied to ticket TCK-1 - Printer not working and was a Internal reply"
                    ),
                    s("1"),
                    s("1")
                ],
            ]
        );
    }
    // No reply, no notifications (the agent handler notifies on replies).
    assert_eq!(app.db.count("notifications").await, 0);

    // Already resolved: resolving again leaves ticket_resolved_at and logs
    // no second resolve.
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_resolved_at = '2026-11-21 00:00:00' WHERE ticket_id = 1",
        )
        .await;
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": "1", "status": "4"}),
    )
    .await
    .assert(200, &created(0));
    assert_eq!(
        app.db
            .value("SELECT ticket_resolved_at FROM tickets WHERE ticket_id = 1")
            .await,
        s("2026-11-21 00:00:00")
    );
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM logs WHERE log_action = 'Resolved'")
            .await,
        s("1")
    );
}

per_generation!(a_reply_and_a_status_change_together);
async fn a_reply_and_a_status_change_together(generation: Generation) {
    let app = spawn_app(generation).await;
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 2, "ticket_reply": "On it", "public_reply_type": 1, "status": 3, "hours": 0, "minutes": 15}),
    )
    .await
    .assert(200, &created(8));
    assert_eq!(
        app.db.rows("SELECT ticket_status, ticket_resolved_at, ticket_first_response_at IS NOT NULL FROM tickets WHERE ticket_id = 2").await,
        vec![vec![s("3"), None, s("1")]]
    );
    assert_eq!(
        app.db
            .value("SELECT ticket_reply_time_worked FROM ticket_replies WHERE ticket_reply_id = 8")
            .await,
        s("00:15:00")
    );
}

per_generation!(missing_ticket_id_and_nothing_to_do_are_refused);
async fn missing_ticket_id_and_nothing_to_do_are_refused(generation: Generation) {
    let app = spawn_app(generation).await;
    let required = refused("ticket_id is required.");
    app.create("ticket_reply=x").await.assert(200, &required);
    app.create("ticket_id=0&ticket_reply=x")
        .await
        .assert(200, &required);
    app.create("ticket_id=abc&ticket_reply=x")
        .await
        .assert(200, &required);
    app.create("ticket_id=1")
        .await
        .assert(200, &refused(NOTHING_TO_DO));
    app.create("ticket_id=1&ticket_reply=+++&status=0")
        .await
        .assert(200, &refused(NOTHING_TO_DO));
    assert_untouched(&app).await;
}

per_generation!(tickets_outside_the_keys_scope_are_not_found);
async fn tickets_outside_the_keys_scope_are_not_found(generation: Generation) {
    let app = spawn_app(generation).await;
    let acme = |q: &str| format!("api_key={ACME_KEY}&{q}");
    // Globex's ticket, a missing ticket, and for a first-generation client
    // key the client-less ticket (a user with an allow list may reply there,
    // as the agent UI lets them).
    let mut outside = vec![
        "ticket_id=2&ticket_reply=x",
        "ticket_id=999&ticket_reply=x",
        "ticket_id=2&status=3",
    ];
    if !app.db.user_keys {
        outside.push("ticket_id=5&ticket_reply=x");
    }
    for q in outside {
        app.post_form(CREATE, &acme(q))
            .await
            .assert(200, &refused(NOT_FOUND));
    }
    // A global key whose client_id is not the ticket's client.
    app.create("ticket_id=1&client_id=2&ticket_reply=x")
        .await
        .assert(200, &refused(NOT_FOUND));
    assert_untouched(&app).await;
    // The right client_id, and the Acme key on its own ticket, work.
    app.create("ticket_id=1&client_id=1&ticket_reply=x")
        .await
        .assert(200, &created(8));
    app.post_form(CREATE, &acme("ticket_id=1&ticket_reply=y"))
        .await
        .assert(200, &created(9));
    assert_eq!(
        app.db
            .value("SELECT log_description FROM logs WHERE log_action = 'Reply' ORDER BY log_id DESC LIMIT 1")
            .await,
        expected_reply_log(&app, "Acme key", "TCK-1 - Printer not working", "Internal")
    );
}

per_generation!(closed_tickets_take_no_replies);
async fn closed_tickets_take_no_replies(generation: Generation) {
    let app = spawn_app(generation).await;
    let closed = refused("This ticket is closed: it takes no more replies or status changes.");
    app.create("ticket_id=3&ticket_reply=x")
        .await
        .assert(200, &closed);
    app.create("ticket_id=3&status=2")
        .await
        .assert(200, &closed);
    assert_untouched(&app).await;
}

per_generation!(only_statuses_the_reply_form_offers_can_be_set);
async fn only_statuses_the_reply_form_offers_can_be_set(generation: Generation) {
    let app = spawn_app(generation).await;
    for status in [1, 5, 6, 99] {
        app.create(&format!("ticket_id=1&ticket_reply=x&status={status}")).await.assert(
            200,
            &refused(&format!(
                "status {status} cannot be set: send the id of an active ticket status other than 1 (New) and 5 (Closed)."
            )),
        );
    }
    app.create("ticket_id=1&status=-1")
        .await
        .assert(200, &refused("status must be a ticket status id, not -1."));
    // Ticket 4 has a task not completed: Resolved is hidden.
    app.create("ticket_id=4&ticket_reply=done&status=4").await.assert(
        200,
        &refused("status 4 (Resolved) is not available while the ticket has tasks that are not completed."),
    );
    assert_untouched(&app).await;
    // Once the task is done, it resolves.
    app.db
        .exec_script("UPDATE tasks SET task_completed_at = NOW() WHERE task_id = 1")
        .await;
    app.create("ticket_id=4&status=4")
        .await
        .assert(200, &created(0));
    assert_eq!(
        app.db
            .value("SELECT ticket_status FROM tickets WHERE ticket_id = 4")
            .await,
        s("4")
    );
}

per_generation!(replies_round_trip_unicode_and_html);
async fn replies_round_trip_unicode_and_html(generation: Generation) {
    let app = spawn_app(generation).await;
    let text = "Caf\u{e9} / <i>na\u{ef}ve</i> \"q\" & 'a' \u{1f600}";
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": text}),
    )
    .await
    .assert(200, &created(8));
    assert_eq!(
        app.db
            .value("SELECT ticket_reply FROM ticket_replies WHERE ticket_reply_id = 8")
            .await
            .as_deref(),
        Some(text)
    );
    let a = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=8"))
        .await;
    assert!(
        a.body.contains(
            r#""ticket_reply":"Caf\u00e9 \/ <i>na\u00efve<\/i> \"q\" & 'a' \ud83d\ude00""#
        ),
        "{}",
        a.body
    );
}

per_generation!(log_and_notification_texts_use_sanitized_ticket_fields);
async fn log_and_notification_texts_use_sanitized_ticket_fields(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_subject = '  <b>Bold</b> & co ' WHERE ticket_id = 1",
        )
        .await;
    app.create("ticket_id=1&ticket_reply=x")
        .await
        .assert(200, &created(8));
    assert_eq!(
        reply_log(&app).await,
        expected_reply_log(&app, "Global key", "TCK-1 - Bold & co", "Internal")
    );
}

per_generation!(timestamps_are_the_companys_local_time_as_in_the_agent_ui);
async fn timestamps_are_the_companys_local_time_as_in_the_agent_ui(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script("UPDATE settings SET config_timezone = 'Pacific/Kiritimati'")
        .await;
    app.create("ticket_id=1&ticket_reply=x&status=3")
        .await
        .assert(200, &created(8));
    let stamp = app
        .db
        .value("SELECT ticket_reply_created_at FROM ticket_replies WHERE ticket_reply_id = 8")
        .await
        .unwrap();
    let local: jiff::civil::DateTime = stamp.parse().unwrap();
    let expected = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Pacific/Kiritimati").unwrap())
        .datetime();
    let diff = expected.duration_since(local).as_secs().abs();
    assert!(
        diff < 120,
        "created_at {stamp} is not Kiritimati's local time ({expected})"
    );
    // Every row of the call carries the same instant.
    assert_eq!(
        app.db
            .value(&format!(
                "SELECT COUNT(*) FROM tickets t, logs l, notifications n WHERE t.ticket_id = 1 \
                 AND t.ticket_updated_at = '{stamp}' AND l.log_created_at = '{stamp}' AND n.notification_timestamp = '{stamp}'"
            ))
            .await,
        s("2")
    );
}

per_generation!(a_failure_half_way_rolls_everything_back);
async fn a_failure_half_way_rolls_everything_back(generation: Generation) {
    let app = spawn_app(generation).await;
    // The reply and the ticket update succeed, then the notification insert
    // fails: nothing may remain.
    app.db.exec_script("DROP TABLE notifications").await;
    app.create("ticket_id=1&ticket_reply=x&status=3")
        .await
        .assert(
            500,
            &refused("Internal error while talking to the database; nothing was written."),
        );
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(app.db.count("logs").await, 0);
    assert_eq!(
        app.db
            .rows("SELECT ticket_status, ticket_updated_at FROM tickets WHERE ticket_id = 1")
            .await,
        vec![vec![s("2"), None]]
    );
}

per_generation!(concurrent_calls_on_one_ticket_are_serialised_by_the_row_lock);
async fn concurrent_calls_on_one_ticket_are_serialised_by_the_row_lock(generation: Generation) {
    let app = spawn_app(generation).await;
    // Eight resolves at once: the ticket row lock lets one move the ticket
    // into Resolved; the others find it resolved already.
    let calls = (0..8).map(|_| app.create("ticket_id=1&status=4"));
    for answer in futures_util::future::join_all(calls).await {
        answer.assert(200, &created(0));
    }
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM logs WHERE log_action = 'Resolved'")
            .await,
        s("1")
    );
}

per_generation!(a_status_change_on_a_resolved_ticket_reopens_it);
async fn a_status_change_on_a_resolved_ticket_reopens_it(generation: Generation) {
    let app = spawn_app(generation).await;
    app.create("ticket_id=1&status=4")
        .await
        .assert(200, &created(0));
    app.create("ticket_id=1&status=2&ticket_reply=Still+broken")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .rows("SELECT ticket_status, ticket_resolved_at FROM tickets WHERE ticket_id = 1")
            .await,
        vec![vec![s("2"), None]]
    );
    let actor = if app.db.user_keys {
        "Oracle Admin"
    } else {
        "Global key (API)"
    };
    assert_eq!(
        app.db
            .rows("SELECT log_description FROM logs WHERE log_action = 'Reopened'")
            .await,
        vec![vec![Some(format!("{actor} reopened ticket ID 1"))]]
    );
    // A reply without a status leaves a resolved ticket resolved.
    app.create("ticket_id=1&status=4")
        .await
        .assert(200, &created(0));
    app.create("ticket_id=1&ticket_reply=FYI")
        .await
        .assert(200, &created(9));
    assert_eq!(
        app.db
            .value("SELECT ticket_status FROM tickets WHERE ticket_id = 1")
            .await,
        s("4")
    );
}

per_generation!(php_intval_edge_cases_reach_the_handler);
async fn php_intval_edge_cases_reach_the_handler(generation: Generation) {
    let app = spawn_app(generation).await;
    // intval("1e999") is 0 in PHP (infinity), so no ticket_id.
    app.create("ticket_id=1e999&ticket_reply=x")
        .await
        .assert(200, &refused("ticket_id is required."));
    // "1e0" is ticket 1; a reply of "0" is no reply (PHP empty()).
    app.create("ticket_id=1e0&ticket_reply=0")
        .await
        .assert(200, &refused(NOTHING_TO_DO));
    app.create("ticket_id=1e0&ticket_reply=ok")
        .await
        .assert(200, &created(8));
}
