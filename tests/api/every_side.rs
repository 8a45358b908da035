//! Issue 16 in the legacy dialect (/api/v1/tickets/replies/): tickets named
//! by number, a customer's reply (`contact_id`, `contact_email`), a reply
//! written on behalf of an agent (`author_user_id`, `author_email`),
//! backdated replies (`created`) and statuses named by name.
//!
//! Every test runs on every generation it applies to; where the schema
//! decides what is written (`ticket_history`, `email_queue`, the SLA
//! columns, the log texts of the key generation), the test asks the
//! database which parts it has.

use crate::helpers::*;
use serde_json::json;

fn created(id: u64) -> String {
    format!(r#"{{"success":"True","count":"1","data":[{{"insert_id":{id}}}]}}"#)
}

fn refused(message: &str) -> String {
    format!(r#"{{"success":"False","message":"{message}"}}"#)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

const NOT_FOUND: &str = "No ticket with the specified ticket_id (for this client and company).";
const AMBIGUOUS: &str = "ticket_number matches more than one ticket; send ticket_id instead.";
const TICKET_ID_REQUIRED: &str = "ticket_id is required.";
const CLOSED: &str = "This ticket is closed: it takes no more replies or status changes.";
const NO_RESOURCE: &str = r#"{"success":"False","message":"No resource (for this client and company) with the specified parameter(s)."}"#;

/// The message refusing `param` on a customer's reply.
fn customer_with(param: &str) -> String {
    refused(&format!(
        "{param} cannot be sent with contact_id or contact_email: a customer's reply sets no status, reply type, time worked or author."
    ))
}
const CUSTOMER_NEEDS_TEXT: &str =
    "A customer's reply (contact_id or contact_email) needs ticket_reply, the reply text.";
/// POST a form body with `key`.
async fn post(app: &TestApp, key: &str, form: &str) -> Answer {
    app.post_form(CREATE, &format!("api_key={key}&{form}"))
        .await
}

/// Whether `table.column` exists in the test database.
async fn has_column(app: &TestApp, table: &str, column: &str) -> bool {
    app.db
        .value(&format!(
            "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' \
             AND TABLE_NAME = '{table}' AND COLUMN_NAME = '{column}'",
            app.db.name
        ))
        .await
        .as_deref()
        == Some("1")
}

/// Whether the schema is one with ITFlow's email queue: every one but the
/// client-key fixture.
async fn generation_has_mail(app: &TestApp) -> bool {
    app.db.user_keys || has_column(app, "settings", "config_smtp_host").await
}

/// Whether the schema keeps ITFlow's SLA clock (`slas`, `sla_history`).
async fn has_sla(app: &TestApp) -> bool {
    app.db.has_table("slas").await && app.db.has_table("sla_history").await
}

/// Everything a create may write: every `tickets` row, and the row counts
/// of the tables a create inserts into (those the schema has).
async fn everything(app: &TestApp) -> Vec<Vec<Option<String>>> {
    let mut all = app
        .db
        .rows("SELECT * FROM tickets ORDER BY ticket_id")
        .await;
    for table in [
        "ticket_replies",
        "notifications",
        "logs",
        "ticket_history",
        "email_queue",
        "sla_history",
    ] {
        if app.db.has_table(table).await {
            all.push(vec![s(table), Some(app.db.count(table).await.to_string())]);
        }
    }
    all
}

/// Nothing was written: the seed's rows, untouched (ticket rows compared
/// with `before`, taken from [`everything`] before the refused calls).
async fn assert_untouched(app: &TestApp, before: &[Vec<Option<String>>]) {
    assert_eq!(everything(app).await, before, "a refusal wrote something");
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(app.db.count("notifications").await, 0);
    assert_eq!(app.db.count("logs").await, 0);
    for table in ["ticket_history", "email_queue", "sla_history"] {
        if app.db.has_table(table).await {
            assert_eq!(app.db.count(table).await, 0, "{table}");
        }
    }
}

/// The columns of reply `id`: text, type, by, time worked, created at,
/// ticket.
async fn reply_row(app: &TestApp, id: u64) -> Vec<Option<String>> {
    app.db
        .rows(&format!(
            "SELECT ticket_reply, ticket_reply_type, ticket_reply_by, ticket_reply_time_worked, \
             DATE_FORMAT(ticket_reply_created_at, '%Y-%m-%d %H:%i:%s'), ticket_reply_ticket_id, \
             ticket_reply_archived_at FROM ticket_replies WHERE ticket_reply_id = {id}"
        ))
        .await
        .remove(0)
}

/// Ticket `id`: status, updated_at, resolved_at, first_response_at.
async fn ticket_row(app: &TestApp, id: u64) -> Vec<Option<String>> {
    app.db
        .rows(&format!(
            "SELECT ticket_status, ticket_updated_at, ticket_resolved_at, ticket_first_response_at \
             FROM tickets WHERE ticket_id = {id}"
        ))
        .await
        .remove(0)
}

/// Every `logs` row: type, action, description, client, user, entity,
/// created at, IP and user agent.
async fn logs(app: &TestApp) -> Vec<Vec<Option<String>>> {
    app.db
        .rows(
            "SELECT log_type, log_action, log_description, log_client_id, log_user_id, \
             log_entity_id, log_created_at, log_ip, log_user_agent FROM logs ORDER BY log_id",
        )
        .await
}

/// One expected `logs` row, written at `at` by this test's client.
fn log(
    kind: &str,
    action: &str,
    description: &str,
    (client, user, entity): (i64, i64, i64),
    at: &str,
) -> Vec<Option<String>> {
    vec![
        s(kind),
        s(action),
        s(description),
        Some(client.to_string()),
        Some(user.to_string()),
        Some(entity.to_string()),
        s(at),
        s("127.0.0.1"),
        s("replyd-tests/1.0"),
    ]
}

/// The instant of the (last) write: its first `logs` row's stamp.
async fn write_instant(app: &TestApp) -> String {
    app.db
        .value("SELECT log_created_at FROM logs ORDER BY log_id DESC LIMIT 1")
        .await
        .expect("a logs row")
}

/// Every `ticket_history` row: status, description, created at, ticket.
async fn history(app: &TestApp) -> Vec<Vec<Option<String>>> {
    app.db
        .rows(
            "SELECT ticket_history_status, ticket_history_description, ticket_history_created_at, \
             ticket_history_ticket_id FROM ticket_history ORDER BY ticket_history_id",
        )
        .await
}

/// Every notification: text, action, client, user, timestamp, dismissed.
async fn notifications(app: &TestApp) -> Vec<Vec<Option<String>>> {
    app.db
        .rows(
            "SELECT notification_type, notification, notification_action, notification_client_id, \
             notification_user_id, notification_timestamp, notification_dismissed_at \
             FROM notifications ORDER BY notification_id",
        )
        .await
}

// ---------------------------------------------------------------------
// ticket_number
// ---------------------------------------------------------------------

per_generation!(a_ticket_number_names_the_ticket_on_create);
async fn a_ticket_number_names_the_ticket_on_create(generation: Generation) {
    let app = spawn_app(generation).await;
    // `TCK-1`, its prefix in another case, the bare number, and both
    // ticket_id and ticket_number naming ticket 1.
    for (id, q) in (8..).zip([
        "ticket_number=TCK-1",
        "ticket_number=tck-1",
        "ticket_number=1",
        "ticket_number=+TCK-1+",
        "ticket_id=1&ticket_number=TCK-1",
    ]) {
        app.create(&format!("{q}&ticket_reply=by+number"))
            .await
            .assert(200, &created(id));
        assert_eq!(
            app.db
                .value(&format!(
                    "SELECT ticket_reply_ticket_id FROM ticket_replies WHERE ticket_reply_id = {id}"
                ))
                .await,
            s("1"),
            "{q}"
        );
    }
    // JSON bodies: the number as text and as a JSON number; a status-only
    // call by number.
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_number": "TCK-2", "ticket_reply": "json"}),
    )
    .await
    .assert(200, &created(13));
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_number": 5, "ticket_reply": "json number"}),
    )
    .await
    .assert(200, &created(14));
    assert_eq!(
        app.db
            .rows("SELECT ticket_reply_id, ticket_reply_ticket_id FROM ticket_replies WHERE ticket_reply_id > 12 ORDER BY ticket_reply_id")
            .await,
        vec![vec![s("13"), s("2")], vec![s("14"), s("5")]]
    );
    app.create("ticket_number=TCK-1&status=3")
        .await
        .assert(200, &created(0));
    assert_eq!(
        app.db
            .value("SELECT ticket_status FROM tickets WHERE ticket_id = 1")
            .await,
        s("3")
    );
    // The Acme key on its own ticket by number.
    post(&app, ACME_KEY, "ticket_number=TCK-4&ticket_reply=acme")
        .await
        .assert(200, &created(15));
    assert_eq!(
        app.db
            .value("SELECT ticket_reply_ticket_id FROM ticket_replies WHERE ticket_reply_id = 15")
            .await,
        s("4")
    );
}

per_generation!(a_ticket_number_naming_no_ticket_in_scope_is_not_found);
async fn a_ticket_number_naming_no_ticket_in_scope_is_not_found(generation: Generation) {
    let app = spawn_app(generation).await;
    let before = everything(&app).await;
    let not_found = refused(NOT_FOUND);
    for q in [
        // Another prefix, an unknown number, unparseable numbers.
        "ticket_number=ABC-1",
        "ticket_number=TCK-99",
        "ticket_number=99",
        "ticket_number=TCK-",
        "ticket_number=12a",
        "ticket_number=0",
        "ticket_number=TCK-99999999999",
        // ticket_id and ticket_number naming different tickets.
        "ticket_id=1&ticket_number=TCK-2",
        "ticket_id=2&ticket_number=1",
        "ticket_id=999&ticket_number=TCK-1",
        // A client_id that is not the ticket's.
        "ticket_number=TCK-1&client_id=2",
    ] {
        app.create(&format!("{q}&ticket_reply=x"))
            .await
            .assert(200, &not_found);
    }
    // Globex's ticket is outside the Acme key's scope, by number as by id.
    post(&app, ACME_KEY, "ticket_number=TCK-2&ticket_reply=x")
        .await
        .assert(200, &not_found);
    post(&app, ACME_KEY, "ticket_number=2&status=3")
        .await
        .assert(200, &not_found);
    app.post_json(
        CREATE,
        json!({"api_key": ACME_KEY, "ticket_number": "TCK-2", "ticket_reply": "x"}),
    )
    .await
    .assert(200, &not_found);
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_number": "TCK-2", "ticket_reply": "x"}),
    )
    .await
    .assert(200, &not_found);
    // Neither ticket_id nor ticket_number (an empty one is none).
    let required = refused(TICKET_ID_REQUIRED);
    app.create("ticket_reply=x").await.assert(200, &required);
    app.create("ticket_number=&ticket_reply=x")
        .await
        .assert(200, &required);
    app.create("ticket_number=+++&ticket_reply=x")
        .await
        .assert(200, &required);
    // The closed ticket by number is still closed.
    app.create("ticket_number=TCK-3&ticket_reply=x")
        .await
        .assert(200, &refused(CLOSED));
    assert_untouched(&app, &before).await;
}

per_generation!(a_ticket_number_several_tickets_share_is_ambiguous);
async fn a_ticket_number_several_tickets_share_is_ambiguous(generation: Generation) {
    let app = spawn_app(generation).await;
    // Ticket 6 of Globex carries number 1 under another prefix.
    app.db
        .exec_script(
            "INSERT INTO tickets (ticket_id, ticket_prefix, ticket_number, ticket_subject, ticket_details, \
             ticket_status, ticket_created_at, ticket_created_by, ticket_assigned_to, ticket_client_id, \
             ticket_contact_id) VALUES (6, 'OLD-', 1, 'Imported', 'Old system.', 2, '2026-11-20 08:00:00', \
             0, 0, 2, 0)",
        )
        .await;
    let before = everything(&app).await;
    app.create("ticket_number=1&ticket_reply=x")
        .await
        .assert(200, &refused(AMBIGUOUS));
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_number": 1, "status": 3}),
    )
    .await
    .assert(200, &refused(AMBIGUOUS));
    assert_untouched(&app, &before).await;
    // The prefix, or the ticket_id with it, or a key that sees one of them
    // only, picks one.
    app.create("ticket_number=old-1&ticket_reply=imported")
        .await
        .assert(200, &created(8));
    app.create("ticket_number=TCK-1&ticket_reply=ours")
        .await
        .assert(200, &created(9));
    app.create("ticket_id=6&ticket_number=1&ticket_reply=by+both")
        .await
        .assert(200, &created(10));
    post(&app, ACME_KEY, "ticket_number=1&ticket_reply=acme")
        .await
        .assert(200, &created(11));
    assert_eq!(
        app.db
            .rows("SELECT ticket_reply_id, ticket_reply_ticket_id FROM ticket_replies WHERE ticket_reply_id > 7 ORDER BY ticket_reply_id")
            .await,
        vec![
            vec![s("8"), s("6")],
            vec![s("9"), s("1")],
            vec![s("10"), s("6")],
            vec![s("11"), s("1")],
        ]
    );
}

per_generation!(read_by_ticket_number_is_read_by_ticket_id);
async fn read_by_ticket_number_is_read_by_ticket_id(generation: Generation) {
    let app = spawn_app(generation).await;
    let read = |key: &str, q: &str| format!("{READ}?api_key={key}&{q}");
    let by_id = app.get(&read(GLOBAL_KEY, "ticket_id=1")).await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.json()["count"], 4, "{by_id:?}");
    for q in [
        "ticket_number=TCK-1",
        "ticket_number=tck-1",
        "ticket_number=1",
        "ticket_number=%20TCK-1%20",
        "ticket_number=TCK-1&ticket_id=1",
    ] {
        app.get(&read(GLOBAL_KEY, q)).await.assert(200, &by_id.body);
    }
    // The Acme key, by number, on its own ticket.
    let acme_by_id = app.get(&read(ACME_KEY, "ticket_id=1")).await;
    assert_eq!(acme_by_id.status, 200);
    app.get(&read(ACME_KEY, "ticket_number=TCK-1"))
        .await
        .assert(200, &acme_by_id.body);
    // What matches nothing answers as an unknown ticket_id does.
    let unknown = app.get(&read(GLOBAL_KEY, "ticket_id=999")).await;
    unknown.assert(200, NO_RESOURCE);
    for q in [
        "ticket_number=TCK-2&ticket_id=1",
        "ticket_number=1&ticket_id=2",
        "ticket_number=TCK-99",
        "ticket_number=ABC-1",
        "ticket_number=TCK-",
        "ticket_number=12a",
    ] {
        app.get(&read(GLOBAL_KEY, q))
            .await
            .assert(unknown.status, &unknown.body);
    }
    // Out of the Acme key's scope: as ticket_id=2 answers it.
    let acme_other = app.get(&read(ACME_KEY, "ticket_id=2")).await;
    acme_other.assert(200, NO_RESOURCE);
    app.get(&read(ACME_KEY, "ticket_number=TCK-2"))
        .await
        .assert(200, &acme_other.body);
    // reply_id wins over both.
    let reply_4 = app.get(&read(GLOBAL_KEY, "reply_id=4")).await;
    assert_eq!(reply_4.json()["count"], 1, "{reply_4:?}");
    app.get(&read(GLOBAL_KEY, "reply_id=4&ticket_number=TCK-1"))
        .await
        .assert(200, &reply_4.body);
    app.get(&read(GLOBAL_KEY, "reply_id=4&ticket_number=bogus"))
        .await
        .assert(200, &reply_4.body);
}

// ---------------------------------------------------------------------
// A customer's reply: contact_id or contact_email
// ---------------------------------------------------------------------

/// The `logs` rows of a customer's reply by `contact` on `ticket`
/// (`TCK-1 - Printer not working`) with the key named `key`, at `at`:
/// no user, the ticket's client; a reopen's row first.
fn customer_logs(
    app: &TestApp,
    contact: &str,
    ticket: &str,
    key: &str,
    (client, ticket_id): (i64, i64),
    reopened: bool,
    at: &str,
) -> Vec<Vec<Option<String>>> {
    let (number, _) = ticket.split_once(" - ").unwrap();
    let mut rows = Vec::new();
    if reopened {
        rows.push(log(
            "Ticket",
            "Edit",
            &format!("{contact} reopened ticket {number} via API ({key})"),
            (client, 0, ticket_id),
            at,
        ));
    }
    if app.db.user_keys {
        rows.push(log(
            "Ticket",
            "Reply",
            &format!("Added a Client reply from {contact} to ticket {ticket} via API ({key})"),
            (client, 0, ticket_id),
            at,
        ));
        rows.push(log(
            "API",
            "Success",
            &format!("Added a Client reply from {contact} to ticket {number} via API ({key})"),
            (client, 0, 0),
            at,
        ));
    } else {
        rows.push(log(
            "Ticket",
            "Reply",
            &format!("{contact} replied to ticket {ticket} and was a Client reply via API ({key})"),
            (client, 0, ticket_id),
            at,
        ));
    }
    rows
}

/// No notification, no history, no email and no SLA interval were written.
async fn assert_no_side_rows(app: &TestApp) {
    assert_eq!(notifications(app).await, Vec::<Vec<Option<String>>>::new());
    for table in ["ticket_history", "email_queue", "sla_history"] {
        if app.db.has_table(table).await {
            assert_eq!(app.db.count(table).await, 0, "{table}");
        }
    }
}

per_generation!(a_customers_reply_on_an_open_ticket_leaves_the_ticket_alone);
async fn a_customers_reply_on_an_open_ticket_leaves_the_ticket_alone(generation: Generation) {
    let app = spawn_app(generation).await;
    let tickets = app
        .db
        .rows("SELECT * FROM tickets ORDER BY ticket_id")
        .await;
    app.create("ticket_id=1&ticket_reply=Still+%3Cb%3Ejams%3C%2Fb%3E&contact_id=1")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("Still <b>jams</b>"),
            s("Client"),
            s("1"),
            None,
            s(&at),
            s("1"),
            None
        ]
    );
    // Ticket 1 is Open already: its row (ticket_updated_at included) is
    // as it was.
    assert_eq!(
        app.db
            .rows("SELECT * FROM tickets ORDER BY ticket_id")
            .await,
        tickets
    );
    assert_eq!(ticket_row(&app, 1).await, vec![s("2"), None, None, None]);
    assert_eq!(
        logs(&app).await,
        customer_logs(
            &app,
            "Carla Contact",
            "TCK-1 - Printer not working",
            "Global key",
            (1, 1),
            false,
            &at
        )
    );
    assert_no_side_rows(&app).await;
}

per_generation!(a_customer_is_named_by_email_trimmed_and_case_insensitive);
async fn a_customer_is_named_by_email_trimmed_and_case_insensitive(generation: Generation) {
    let app = spawn_app(generation).await;
    app.create("ticket_id=1&ticket_reply=form&contact_email=+CARLA%40acme.example+")
        .await
        .assert(200, &created(8));
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "json", "contact_email": " CARLA@acme.example "}),
    )
    .await
    .assert(200, &created(9));
    // Both, naming the same contact; and the contact id as a JSON number,
    // by ticket number.
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_number": "TCK-1", "ticket_reply": "both", "contact_id": 1, "contact_email": "Carla@Acme.Example"}),
    )
    .await
    .assert(200, &created(10));
    // The query string is read after the body (create.php).
    app.post_form(
        &format!("{CREATE}?contact_email=carla%40acme.example"),
        &format!("api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply=query"),
    )
    .await
    .assert(200, &created(11));
    let rows = app
        .db
        .rows(
            "SELECT ticket_reply, ticket_reply_type, ticket_reply_by, ticket_reply_time_worked, \
             ticket_reply_ticket_id FROM ticket_replies WHERE ticket_reply_id > 7 ORDER BY ticket_reply_id",
        )
        .await;
    let row = |text: &str| vec![s(text), s("Client"), s("1"), None, s("1")];
    assert_eq!(
        rows,
        vec![row("form"), row("json"), row("both"), row("query")]
    );
    // Each reply logs as the first did; the ticket stayed untouched.
    let per_reply = if app.db.user_keys { 2 } else { 1 };
    assert_eq!(app.db.count("logs").await, 4 * per_reply);
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM logs WHERE log_user_id <> 0 OR log_client_id <> 1")
            .await,
        s("0")
    );
    assert_eq!(ticket_row(&app, 1).await, vec![s("2"), None, None, None]);
    assert_no_side_rows(&app).await;
}

per_generation!(a_customers_reply_opens_a_ticket_on_hold_or_new);
async fn a_customers_reply_opens_a_ticket_on_hold_or_new(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_status = 3, ticket_updated_at = NULL WHERE ticket_id = 1",
        )
        .await;
    app.create("ticket_id=1&ticket_reply=Any+news%3F&contact_id=1")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("Any news?"),
            s("Client"),
            s("1"),
            None,
            s(&at),
            s("1"),
            None
        ]
    );
    assert_eq!(ticket_row(&app, 1).await, vec![s("2"), s(&at), None, None]);
    assert_eq!(
        logs(&app).await,
        customer_logs(
            &app,
            "Carla Contact",
            "TCK-1 - Printer not working",
            "Global key",
            (1, 1),
            false,
            &at
        )
    );
    let has_history = app.db.has_table("ticket_history").await;
    if has_history {
        assert_eq!(
            history(&app).await,
            vec![vec![
                s("Open"),
                s("Carla Contact replied via the API (Global key), reopening the ticket"),
                s(&at),
                s("1")
            ]]
        );
    }
    assert_eq!(notifications(&app).await, Vec::<Vec<Option<String>>>::new());

    // Globex's new ticket 2, by its contact Gus, with the key of the
    // generation that may reply there.
    app.create("ticket_id=2&ticket_reply=Tunnel+still+down&contact_email=gus%40globex.example")
        .await
        .assert(200, &created(9));
    let at2 = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 9).await,
        vec![
            s("Tunnel still down"),
            s("Client"),
            s("2"),
            None,
            s(&at2),
            s("2"),
            None
        ]
    );
    assert_eq!(ticket_row(&app, 2).await, vec![s("2"), s(&at2), None, None]);
    let mut expected_logs = customer_logs(
        &app,
        "Carla Contact",
        "TCK-1 - Printer not working",
        "Global key",
        (1, 1),
        false,
        &at,
    );
    expected_logs.extend(customer_logs(
        &app,
        "Gus Globex",
        "TCK-2 - VPN down",
        "Global key",
        (2, 2),
        false,
        &at2,
    ));
    assert_eq!(logs(&app).await, expected_logs);
    if has_history {
        assert_eq!(
            history(&app).await[1..],
            [vec![
                s("Open"),
                s("Gus Globex replied via the API (Global key), reopening the ticket"),
                s(&at2),
                s("2")
            ]]
        );
    }
    assert_eq!(notifications(&app).await, Vec::<Vec<Option<String>>>::new());
    for table in ["email_queue", "sla_history"] {
        if app.db.has_table(table).await {
            assert_eq!(app.db.count(table).await, 0, "{table}");
        }
    }
}

per_generation!(a_customers_reply_reopens_a_resolved_ticket);
async fn a_customers_reply_reopens_a_resolved_ticket(generation: Generation) {
    let app = spawn_app(generation).await;
    let sla = has_sla(&app).await;
    assert_eq!(sla, app.db.user_keys, "SLA machinery");
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_status = 4, ticket_resolved_at = '2026-11-20 12:00:00', \
             ticket_updated_at = NULL WHERE ticket_id = 1",
        )
        .await;
    if sla {
        // The resolution verdict and alert stage a reopen resets.
        app.db
            .exec_script(
                "UPDATE tickets SET ticket_resolution_sla_met = 1, ticket_resolution_sla_alert_stage = 2, \
                 ticket_updated_at = NULL WHERE ticket_id = 1",
            )
            .await;
    }
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "It jams again", "contact_email": "carla@acme.example"}),
    )
    .await
    .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("It jams again"),
            s("Client"),
            s("1"),
            None,
            s(&at),
            s("1"),
            None
        ]
    );
    assert_eq!(ticket_row(&app, 1).await, vec![s("2"), s(&at), None, None]);
    if sla {
        assert_eq!(
            app.db
                .rows("SELECT ticket_resolution_sla_met, ticket_resolution_sla_alert_stage FROM tickets WHERE ticket_id = 1")
                .await,
            vec![vec![None, s("0")]]
        );
    }
    assert_eq!(
        logs(&app).await,
        customer_logs(
            &app,
            "Carla Contact",
            "TCK-1 - Printer not working",
            "Global key",
            (1, 1),
            true,
            &at
        )
    );
    if app.db.has_table("ticket_history").await {
        assert_eq!(
            history(&app).await,
            vec![vec![
                s("Open"),
                s("Carla Contact reopened the ticket via the API (Global key)"),
                s(&at),
                s("1")
            ]]
        );
    }
    assert_eq!(notifications(&app).await, Vec::<Vec<Option<String>>>::new());
    for table in ["email_queue", "sla_history"] {
        if app.db.has_table(table).await {
            assert_eq!(app.db.count(table).await, 0, "{table}");
        }
    }
}

per_generation!(a_contact_not_of_the_tickets_client_or_archived_is_not_found);
async fn a_contact_not_of_the_tickets_client_or_archived_is_not_found(generation: Generation) {
    let app = spawn_app(generation).await;
    let before = everything(&app).await;
    let not_found = refused(NOT_FOUND);
    for q in [
        // Gus is Globex's, ticket 1 Acme's.
        "ticket_id=1&contact_id=2",
        "ticket_id=1&contact_email=gus%40globex.example",
        // Unknown contacts.
        "ticket_id=1&contact_id=99",
        "ticket_id=1&contact_email=nobody%40acme.example",
        // Both given, naming different contacts.
        "ticket_id=1&contact_id=1&contact_email=gus%40globex.example",
        "ticket_id=2&contact_id=1&contact_email=gus%40globex.example",
        // Ticket 5 has no client, so no customer.
        "ticket_id=5&contact_id=1",
        // Ids that name no one are not a reason to write the key's own
        // reply instead.
        "ticket_id=1&contact_id=abc",
        "ticket_id=1&contact_id=-1",
        // Unknown tickets, by id and by number.
        "ticket_id=999&contact_id=1",
        "ticket_number=TCK-99&contact_id=1",
    ] {
        app.create(&format!("{q}&ticket_reply=x"))
            .await
            .assert(200, &not_found);
    }
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "x", "contact_email": "GUS@globex.example"}),
    )
    .await
    .assert(200, &not_found);
    // Out of the Acme key's scope, even with Globex's own contact.
    post(&app, ACME_KEY, "ticket_id=2&contact_id=2&ticket_reply=x")
        .await
        .assert(200, &not_found);
    // An archived contact writes no more.
    app.db
        .exec_script(
            "UPDATE contacts SET contact_archived_at = '2026-01-01 00:00:00' WHERE contact_id = 1",
        )
        .await;
    app.create("ticket_id=1&contact_id=1&ticket_reply=x")
        .await
        .assert(200, &not_found);
    app.create("ticket_id=1&contact_email=carla%40acme.example&ticket_reply=x")
        .await
        .assert(200, &not_found);
    assert_untouched(&app, &before).await;
}

per_generation!(a_customers_reply_carries_no_status_type_time_or_author);
async fn a_customers_reply_carries_no_status_type_time_or_author(generation: Generation) {
    let app = spawn_app(generation).await;
    // Ticket 4 set Closed without a closed_at: closed all the same.
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_status = 5, ticket_updated_at = NULL WHERE ticket_id = 4",
        )
        .await;
    let before = everything(&app).await;
    let closed = refused(CLOSED);
    app.create("ticket_id=3&contact_id=1&ticket_reply=x")
        .await
        .assert(200, &closed);
    app.create("ticket_number=TCK-3&contact_email=carla%40acme.example&ticket_reply=x")
        .await
        .assert(200, &closed);
    app.create("ticket_id=4&contact_id=1&ticket_reply=x")
        .await
        .assert(200, &closed);
    for (extra, param) in [
        ("status=2", "status"),
        ("status=4", "status"),
        ("status=Open", "status"),
        ("status=bogus", "status"),
        ("public_reply_type=0", "public_reply_type"),
        ("public_reply_type=1", "public_reply_type"),
        ("public_reply_type=2", "public_reply_type"),
        ("hours=1", "hours, minutes and seconds"),
        ("minutes=5", "hours, minutes and seconds"),
        ("hours=0&minutes=0&seconds=1", "hours, minutes and seconds"),
        ("author_user_id=2", "author_user_id and author_email"),
        (
            "author_email=tess%40example.com",
            "author_user_id and author_email",
        ),
    ] {
        for contact in ["contact_id=1", "contact_email=carla%40acme.example"] {
            app.create(&format!("ticket_id=1&ticket_reply=x&{contact}&{extra}"))
                .await
                .assert(200, &customer_with(param));
        }
    }
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "x", "contact_id": 1, "status": "Resolved"}),
    )
    .await
    .assert(200, &customer_with("status"));
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "x", "contact_id": 1, "hours": 2}),
    )
    .await
    .assert(200, &customer_with("hours, minutes and seconds"));
    // No reply text.
    let needs_text = refused(CUSTOMER_NEEDS_TEXT);
    for q in [
        "ticket_id=1&contact_id=1",
        "ticket_id=1&contact_id=1&ticket_reply=+++",
        "ticket_id=1&contact_email=carla%40acme.example&ticket_reply=",
    ] {
        app.create(q).await.assert(200, &needs_text);
    }
    // Refused before anything is looked up: on a closed or missing ticket
    // too.
    app.create("ticket_id=3&contact_id=1&ticket_reply=x&status=2")
        .await
        .assert(200, &customer_with("status"));
    app.create("ticket_id=999&contact_id=99")
        .await
        .assert(200, &needs_text);
    // The 403 for another author is not reached: the customer's refusal
    // comes first, for the Acme key too.
    post(
        &app,
        ACME_KEY,
        "ticket_id=1&ticket_reply=x&contact_id=1&author_user_id=2",
    )
    .await
    .assert(200, &customer_with("author_user_id and author_email"));
    assert_untouched(&app, &before).await;

    // What has no effect is no reason to refuse.
    app.create("ticket_id=1&ticket_reply=ok&contact_id=1&status=0&hours=0&minutes=0&seconds=0&public_reply_type=")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![s("ok"), s("Client"), s("1"), None, s(&at), s("1"), None]
    );
}

per_generation!(any_key_that_may_create_may_post_a_customers_reply);
async fn any_key_that_may_create_may_post_a_customers_reply(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_status = 3, ticket_updated_at = NULL WHERE ticket_id = 4",
        )
        .await;
    post(
        &app,
        ACME_KEY,
        "ticket_id=4&ticket_reply=From+Acme&contact_id=1",
    )
    .await
    .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("From Acme"),
            s("Client"),
            s("1"),
            None,
            s(&at),
            s("4"),
            None
        ]
    );
    assert_eq!(ticket_row(&app, 4).await, vec![s("2"), s(&at), None, None]);
    // The key's user (Andy, on user-tied keys) is not the author: the
    // rows name no user.
    assert_eq!(
        logs(&app).await,
        customer_logs(
            &app,
            "Carla Contact",
            "TCK-4 - Server migration",
            "Acme key",
            (1, 4),
            false,
            &at
        )
    );
    if app.db.has_table("ticket_history").await {
        assert_eq!(
            history(&app).await,
            vec![vec![
                s("Open"),
                s("Carla Contact replied via the API (Acme key), reopening the ticket"),
                s(&at),
                s("4")
            ]]
        );
    }
    assert_eq!(notifications(&app).await, Vec::<Vec<Option<String>>>::new());
}

per_generation!(user_tied_keys_post_customers_replies_by_their_role: [user_keys, dump_2_6_7]);
async fn user_tied_keys_post_customers_replies_by_their_role(generation: Generation) {
    let app = spawn_app(generation).await;
    assert!(app.db.user_keys);
    let before = everything(&app).await;
    // An accountant (support level 1) may not create.
    post(&app, "accountantkey0123", "ticket_id=1&ticket_reply=x&contact_id=1")
        .await
        .assert(
            403,
            r#"{"success":"False","message":"The user linked to this API key does not have permission for this action."}"#,
        );
    // Dana's deny list hides Globex's ticket.
    post(
        &app,
        "denykey0123456789",
        "ticket_id=2&ticket_reply=x&contact_id=2",
    )
    .await
    .assert(200, &refused(NOT_FOUND));
    assert_untouched(&app, &before).await;
    // A technician may.
    post(
        &app,
        "techkey0123456789",
        "ticket_id=2&ticket_reply=From+Gus&contact_id=2",
    )
    .await
    .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("From Gus"),
            s("Client"),
            s("2"),
            None,
            s(&at),
            s("2"),
            None
        ]
    );
    assert_eq!(
        logs(&app).await,
        customer_logs(
            &app,
            "Gus Globex",
            "TCK-2 - VPN down",
            "Tech key",
            (2, 2),
            false,
            &at
        )
    );
}

per_generation!(a_customers_reply_emails_the_assignee_when_mail_is_configured);
async fn a_customers_reply_emails_the_assignee_when_mail_is_configured(generation: Generation) {
    let app = spawn_app_with(generation, |s| {
        s.itflow_base_url = Some("itflow.example.com".into())
    })
    .await;
    // Every ITFlow with an email queue and mail settings: the user-key
    // fixture, ITFlow 2.4.4 and 2.6.7 (the client-key fixture has neither).
    let has_queue = app.db.has_table("email_queue").await;
    let configurable = has_column(&app, "settings", "config_smtp_provider").await;
    let machinery = has_queue && configurable;
    assert_eq!(machinery, generation_has_mail(&app).await, "email queue");
    if configurable {
        app.db
            .exec_script(
                "UPDATE settings SET config_smtp_provider = 'smtp', \
                 config_ticket_from_email = 'help@example.com', config_ticket_from_name = 'Example Help'",
            )
            .await;
    }
    let emails = || async {
        app.db
            .rows(
                "SELECT email_recipient, email_recipient_name, email_from, email_from_name, \
                 email_subject, email_content, email_queued_at, email_status FROM email_queue ORDER BY email_id",
            )
            .await
    };
    // Ticket 1 is assigned to Tess.
    app.create("ticket_id=1&ticket_reply=Still+jams&contact_id=1")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    let mail = |to: &str, name: &str, number: &str, id: u32, subject: &str, at: &str| {
        vec![
            s(to),
            s(name),
            s("help@example.com"),
            s("Example Help"),
            Some(format!("ITFlow Ticket updated - [{number}] {subject}")),
            Some(format!(
                "Hello {name},<br><br>A new reply has been added to the below ticket, check ITFlow for full details.<br><br>Client: Acme Corp<br>Ticket: {number}<br>Subject: {subject}<br><br>https://itflow.example.com/agent/ticket.php?ticket_id={id}&client_id=1"
            )),
            s(at),
            s("0"),
        ]
    };
    let first = mail(
        "tess@example.com",
        "Tess Tech",
        "TCK-1",
        1,
        "Printer not working",
        &at,
    );
    if machinery {
        assert_eq!(emails().await, vec![first.clone()]);
    } else if has_queue {
        assert_eq!(app.db.count("email_queue").await, 0);
    }
    // The subject's and body's number carry the configured prefix; ticket 4
    // is assigned to Oracle.
    app.db
        .exec_script("UPDATE settings SET config_ticket_prefix = 'HD-'")
        .await;
    app.create("ticket_id=4&ticket_reply=Any+news&contact_id=1")
        .await
        .assert(200, &created(9));
    let at4 = write_instant(&app).await;
    let second = mail(
        "admin@example.com",
        "Oracle Admin",
        "HD-4",
        4,
        "Server migration",
        &at4,
    );
    if machinery {
        assert_eq!(emails().await, vec![first.clone(), second.clone()]);
    }
    // No email: an unassigned ticket (2), an assignee who does not exist,
    // a reply that is not the customer's.
    app.create("ticket_id=2&ticket_reply=x&contact_id=2")
        .await
        .assert(200, &created(10));
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_assigned_to = 99, ticket_updated_at = NULL WHERE ticket_id = 1",
        )
        .await;
    app.create("ticket_id=1&ticket_reply=x&contact_id=1")
        .await
        .assert(200, &created(11));
    app.create("ticket_id=4&ticket_reply=internal+note")
        .await
        .assert(200, &created(12));
    // Mail not configured: an empty or NULL provider.
    if configurable {
        app.db
            .exec_script("UPDATE settings SET config_smtp_provider = ''")
            .await;
    }
    app.create("ticket_id=4&ticket_reply=x&contact_id=1")
        .await
        .assert(200, &created(13));
    if configurable {
        app.db
            .exec_script("UPDATE settings SET config_smtp_provider = NULL")
            .await;
    }
    app.create("ticket_id=4&ticket_reply=y&contact_id=1")
        .await
        .assert(200, &created(14));
    if machinery {
        assert_eq!(emails().await, vec![first, second]);
    } else if has_queue {
        assert_eq!(app.db.count("email_queue").await, 0);
    }
}

// ---------------------------------------------------------------------
// On behalf of an agent: author_user_id or author_email
// ---------------------------------------------------------------------

const AUTHOR_FORBIDDEN: &str = r#"{"success":"False","message":"author_user_id and author_email need an admin's API key, or a key for all clients."}"#;
const NOT_AGENT: &str = "author_user_id or author_email does not name an active agent with access to this ticket's client.";

/// The agent reply handler's notification on ticket 1 for the user who
/// opened it (Oracle), by `actor`, at `at`.
fn opener_note(actor: &str, at: &str) -> Vec<Option<String>> {
    vec![
        s("Ticket"),
        Some(format!(
            "{actor} updated Ticket TCK-1 - Subject: Printer not working that you opened"
        )),
        s("/agent/ticket.php?ticket_id=1&client_id=1"),
        s("1"),
        s("1"),
        s(at),
        None,
    ]
}

/// The `logs` rows of a reply of `kind` on ticket 1 by user `user` named
/// `actor`, with the global key.
fn agent_reply_logs(
    app: &TestApp,
    actor: &str,
    user: i64,
    kind: &str,
    at: &str,
) -> Vec<Vec<Option<String>>> {
    if app.db.user_keys {
        vec![
            log(
                "Ticket",
                "Reply",
                &format!(
                    "Added a {kind} reply to ticket TCK-1 - Printer not working via API (Global key)"
                ),
                (1, user, 1),
                at,
            ),
            log(
                "API",
                "Success",
                &format!("Added a {kind} reply to ticket TCK-1 via API (Global key)"),
                (1, user, 0),
                at,
            ),
        ]
    } else {
        vec![log(
            "Ticket",
            "Reply",
            &format!(
                "{actor} replied to ticket TCK-1 - Printer not working and was a {kind} reply"
            ),
            (1, user, 1),
            at,
        )]
    }
}

per_generation!(a_key_for_all_clients_or_an_admins_key_writes_as_an_agent);
async fn a_key_for_all_clients_or_an_admins_key_writes_as_an_agent(generation: Generation) {
    let app = spawn_app(generation).await;
    // The global key: every client on first-generation keys, Oracle (an
    // admin) on user-tied keys. Tess is ticket 1's assignee; Oracle opened
    // it.
    app.create("ticket_id=1&ticket_reply=On+behalf&author_user_id=2")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("On behalf"),
            s("Internal"),
            s("2"),
            s("00:00:00"),
            s(&at),
            s("1"),
            None
        ]
    );
    assert_eq!(ticket_row(&app, 1).await, vec![s("2"), s(&at), None, None]);
    // Only the opener is notified: the author is the assignee.
    assert_eq!(
        notifications(&app).await,
        vec![opener_note("Tess Tech", &at)]
    );
    assert_eq!(
        logs(&app).await,
        agent_reply_logs(&app, "Tess Tech", 2, "Internal", &at)
    );
    if app.db.has_table("ticket_history").await {
        assert_eq!(app.db.count("ticket_history").await, 0);
    }

    // By email (trimmed, any case), a public reply with time worked, in
    // JSON: the first response.
    app.db
        .exec_script("DELETE FROM notifications; DELETE FROM logs")
        .await;
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_number": "TCK-1", "ticket_reply": "Public", "public_reply_type": 1, "minutes": 5, "author_email": " TESS@example.com "}),
    )
    .await
    .assert(200, &created(9));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 9).await,
        vec![
            s("Public"),
            s("Public"),
            s("2"),
            s("00:05:00"),
            s(&at),
            s("1"),
            None
        ]
    );
    assert_eq!(
        ticket_row(&app, 1).await,
        vec![s("2"), s(&at), None, s(&at)]
    );
    assert_eq!(
        notifications(&app).await,
        vec![opener_note("Tess Tech", &at)]
    );
    assert_eq!(
        logs(&app).await,
        agent_reply_logs(&app, "Tess Tech", 2, "Public", &at)
    );

    // Both given, naming the same agent: Oracle, who opened the ticket;
    // only Tess, the assignee, is notified.
    app.db
        .exec_script("DELETE FROM notifications; DELETE FROM logs")
        .await;
    app.create(
        "ticket_id=1&ticket_reply=By+Oracle&author_user_id=1&author_email=ADMIN%40example.com",
    )
    .await
    .assert(200, &created(10));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 10).await,
        vec![
            s("By Oracle"),
            s("Internal"),
            s("1"),
            s("00:00:00"),
            s(&at),
            s("1"),
            None
        ]
    );
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
        logs(&app).await,
        agent_reply_logs(&app, "Oracle Admin", 1, "Internal", &at)
    );
    assert_eq!(
        app.get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=8"))
            .await
            .json()["data"][0]["ticket_reply_by_name"],
        "Tess Tech"
    );
}

per_generation!(a_status_change_on_behalf_of_an_agent_names_the_agent);
async fn a_status_change_on_behalf_of_an_agent_names_the_agent(generation: Generation) {
    let app = spawn_app(generation).await;
    app.create("ticket_id=1&status=Resolved&author_user_id=2")
        .await
        .assert(200, &created(0));
    let at = write_instant(&app).await;
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(
        ticket_row(&app, 1).await,
        vec![s("4"), s(&at), s(&at), None]
    );
    let expected = if app.db.user_keys {
        vec![
            log(
                "Ticket",
                "Resolved",
                "Resolved ticket TCK-1 via API (Global key)",
                (1, 2, 1),
                &at,
            ),
            log(
                "API",
                "Success",
                "Set the status of ticket TCK-1 to Resolved via API (Global key)",
                (1, 2, 0),
                &at,
            ),
        ]
    } else {
        vec![
            log(
                "Ticket",
                "Resolved",
                "Tess Tech resolved Ticket ticket ID 1",
                (1, 2, 1),
                &at,
            ),
            log(
                "Ticket",
                "Reply",
                "Tess Tech replied to ticket TCK-1 - Printer not working and was a Internal reply",
                (1, 2, 1),
                &at,
            ),
        ]
    };
    assert_eq!(logs(&app).await, expected);
    assert_eq!(app.db.count("notifications").await, 0);
    if app.db.user_keys {
        assert_eq!(
            history(&app).await,
            vec![vec![
                s("Resolved"),
                s("Resolved via the API (Global key)"),
                s(&at),
                s("1")
            ]]
        );
    } else if app.db.has_table("ticket_history").await {
        assert_eq!(app.db.count("ticket_history").await, 0);
    }
}

per_generation!(a_key_that_may_not_write_as_others_is_forbidden);
async fn a_key_that_may_not_write_as_others_is_forbidden(generation: Generation) {
    let app = spawn_app(generation).await;
    let before = everything(&app).await;
    // The Acme key: a first-generation key for one client, or Andy, a
    // technician; on user-tied keys also Tess's own key and Dana's.
    let mut keys = vec![ACME_KEY];
    if app.db.user_keys {
        keys.extend(["techkey0123456789", "denykey0123456789"]);
    }
    for key in keys {
        for q in [
            "ticket_id=1&ticket_reply=x&author_user_id=2",
            "ticket_id=1&ticket_reply=x&author_email=tess%40example.com",
            "ticket_number=TCK-1&status=3&author_user_id=1",
            // Naming themself is still naming an author.
            "ticket_id=1&ticket_reply=x&author_user_id=3",
            // Before the ticket is looked up.
            "ticket_id=2&ticket_reply=x&author_user_id=2",
            "ticket_id=999&ticket_reply=x&author_user_id=2",
        ] {
            post(&app, key, q).await.assert(403, AUTHOR_FORBIDDEN);
        }
        app.post_json(
            CREATE,
            json!({"api_key": key, "ticket_id": 1, "ticket_reply": "x", "author_email": "admin@example.com"}),
        )
        .await
        .assert(403, AUTHOR_FORBIDDEN);
    }
    assert_untouched(&app, &before).await;
    // Without an author the Acme key writes as before.
    post(&app, ACME_KEY, "ticket_id=1&ticket_reply=mine")
        .await
        .assert(200, &created(8));
}

per_generation!(an_author_who_is_no_active_agent_is_refused);
async fn an_author_who_is_no_active_agent_is_refused(generation: Generation) {
    let app = spawn_app(generation).await;
    if !app.db.user_keys {
        // The users seed-user-keys.sql adds, for first-generation schemas.
        app.db
            .exec_script(
                "INSERT INTO users (user_id, user_name, user_email, user_password, user_type, user_status, \
                 user_archived_at) VALUES \
                 (5, 'Archie Archived', 'archie@example.com', 'x', 1, 1, '2026-01-01 00:00:00'), \
                 (6, 'Ina Inactive', 'ina@example.com', 'x', 1, 0, NULL), \
                 (7, 'Casey Portal', 'casey@example.com', 'x', 2, 1, NULL)",
            )
            .await;
    }
    let before = everything(&app).await;
    let not_agent = refused(NOT_AGENT);
    for q in [
        "author_user_id=5",
        "author_email=archie%40example.com",
        "author_user_id=6",
        "author_email=INA%40example.com",
        "author_user_id=7",
        "author_email=casey%40example.com",
        "author_user_id=99",
        "author_user_id=abc",
        "author_user_id=-2",
        "author_email=nobody%40example.com",
        // Both given, naming different users.
        "author_user_id=2&author_email=admin%40example.com",
        // A contact is not an agent.
        "author_email=carla%40acme.example",
    ] {
        app.create(&format!("ticket_id=1&ticket_reply=x&{q}"))
            .await
            .assert(200, &not_agent);
    }
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "status": "on hold", "author_user_id": 6}),
    )
    .await
    .assert(200, &not_agent);
    // The ticket is checked first.
    app.create("ticket_id=3&ticket_reply=x&author_user_id=99")
        .await
        .assert(200, &refused(CLOSED));
    app.create("ticket_id=999&ticket_reply=x&author_user_id=99")
        .await
        .assert(200, &refused(NOT_FOUND));
    assert_untouched(&app, &before).await;
}

per_generation!(an_agents_client_lists_limit_where_they_may_reply: [user_keys, dump_2_6_7]);
async fn an_agents_client_lists_limit_where_they_may_reply(generation: Generation) {
    let app = spawn_app(generation).await;
    assert!(app.db.user_keys);
    // Oracle, an admin, denied Globex: admins ignore client lists.
    app.db
        .exec_script(
            "INSERT INTO user_client_permissions (user_id, client_id, permission_type) VALUES (1, 2, 'deny')",
        )
        .await;
    let before = everything(&app).await;
    let not_agent = refused(NOT_AGENT);
    // Andy may work on Acme only; Dana on everything but Globex.
    for q in [
        "ticket_id=2&ticket_reply=x&author_user_id=3",
        "ticket_id=2&ticket_reply=x&author_email=andy%40example.com",
        "ticket_id=2&ticket_reply=x&author_user_id=8",
        "ticket_number=TCK-2&status=3&author_user_id=8",
    ] {
        app.create(q).await.assert(200, &not_agent);
    }
    assert_untouched(&app, &before).await;
    app.create("ticket_id=1&ticket_reply=Andy&author_user_id=3")
        .await
        .assert(200, &created(8));
    app.create("ticket_id=1&ticket_reply=Dana&author_user_id=8")
        .await
        .assert(200, &created(9));
    app.create("ticket_id=2&ticket_reply=Oracle&author_user_id=1")
        .await
        .assert(200, &created(10));
    // Ticket 5 has no client: any active agent.
    app.create("ticket_id=5&ticket_reply=Andy&author_user_id=3")
        .await
        .assert(200, &created(11));
    assert_eq!(
        app.db
            .rows("SELECT ticket_reply_by, ticket_reply_ticket_id FROM ticket_replies WHERE ticket_reply_id > 7 ORDER BY ticket_reply_id")
            .await,
        vec![
            vec![s("3"), s("1")],
            vec![s("8"), s("1")],
            vec![s("1"), s("2")],
            vec![s("3"), s("5")],
        ]
    );
    assert_eq!(
        app.db
            .rows("SELECT log_user_id FROM logs WHERE log_action = 'Reply' ORDER BY log_id")
            .await,
        vec![vec![s("3")], vec![s("8")], vec![s("1")], vec![s("3")]]
    );
    // Ticket 2 was opened by Tess and is unassigned: she is notified of
    // Oracle's reply.
    assert_eq!(
        app.db
            .rows("SELECT notification, notification_user_id, notification_client_id FROM notifications WHERE notification_action LIKE '%ticket_id=2%'")
            .await,
        vec![vec![
            s("Oracle Admin updated Ticket TCK-2 - Subject: VPN down that you opened"),
            s("2"),
            s("2")
        ]]
    );
}

per_generation!(first_generation_schemas_read_agents_lists_when_they_have_them: [client_keys, dump_2_4_4]);
async fn first_generation_schemas_read_agents_lists_when_they_have_them(generation: Generation) {
    let dump = matches!(generation, Generation::Dump(_));
    let app = spawn_app(generation).await;
    assert!(!app.db.user_keys);
    let lists =
        app.db.has_table("user_client_permissions").await && app.db.has_table("user_roles").await;
    assert_eq!(
        lists, dump,
        "ITFlow 2.4.4 has roles and client lists, the fixture not"
    );
    if lists {
        // ITFlow 2.4.4: Tess may work on Globex only (an allow list).
        app.db
            .exec_script("INSERT INTO user_client_permissions (user_id, client_id) VALUES (2, 2)")
            .await;
        let before = everything(&app).await;
        app.create("ticket_id=1&ticket_reply=x&author_user_id=2")
            .await
            .assert(200, &refused(NOT_AGENT));
        assert_untouched(&app, &before).await;
        app.create("ticket_id=2&ticket_reply=Globex&author_user_id=2")
            .await
            .assert(200, &created(8));
        // An admin role lifts the list.
        app.db
            .exec_script(
                "INSERT INTO user_roles (role_id, role_name, role_is_admin) VALUES (3, 'Administrator', 1); \
                 UPDATE users SET user_role_id = 3 WHERE user_id = 2",
            )
            .await;
        app.create("ticket_id=1&ticket_reply=Acme&author_user_id=2")
            .await
            .assert(200, &created(9));
    } else {
        // No roles or client lists: every active agent may.
        app.create("ticket_id=2&ticket_reply=Globex&author_user_id=2")
            .await
            .assert(200, &created(8));
        app.create("ticket_id=1&ticket_reply=Acme&author_user_id=2")
            .await
            .assert(200, &created(9));
    }
    assert_eq!(
        app.db
            .rows("SELECT ticket_reply_by, ticket_reply_ticket_id FROM ticket_replies WHERE ticket_reply_id > 7 ORDER BY ticket_reply_id")
            .await,
        vec![vec![s("2"), s("2")], vec![s("2"), s("1")]]
    );
}

// ---------------------------------------------------------------------
// created: backdated replies
// ---------------------------------------------------------------------

const CREATED_INVALID: &str = "created must be YYYY-MM-DD HH:MM:SS in the company's time zone, or RFC 3339 with an offset (2026-11-20T09:30:00+01:00).";
const CREATED_FUTURE: &str = "created is in the future: a reply can be backdated, not postdated.";
const CREATED_BEFORE: &str = "created is before the ticket was created.";
const CREATED_NEEDS_REPLY: &str = "created is the time of a reply: send it with ticket_reply.";

/// Now plus `secs`, as a wall-clock time in `zone`: `YYYY-MM-DD HH:MM:SS`.
fn local_from_now(zone: &str, secs: i64) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs))
        .to_zoned(tz)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Now plus `secs`, as RFC 3339 with the offset of `hours`.
fn rfc3339_from_now(hours: i8, secs: i64) -> String {
    let tz = jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(hours));
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs))
        .to_zoned(tz)
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// A query-string value: `+` and spaces escaped.
fn q(v: &str) -> String {
    v.replace('+', "%2B").replace(' ', "%20")
}

per_generation!(a_backdated_reply_is_stored_at_its_created_time);
async fn a_backdated_reply_is_stored_at_its_created_time(generation: Generation) {
    let app = spawn_app(generation).await;
    let sla = has_sla(&app).await;
    if sla {
        // The response is due at 10:00: a reply written at 09:30 met it,
        // whenever it is recorded.
        app.db
            .exec_script(
                "UPDATE tickets SET ticket_response_due_at = '2026-11-20 10:00:00', \
                 ticket_resolution_due_at = '2026-11-20 12:00:00', ticket_updated_at = NULL \
                 WHERE ticket_id = 1",
            )
            .await;
    }
    // The first public reply, on the company's wall clock (UTC in the
    // seed).
    app.create("ticket_id=1&ticket_reply=Earlier&public_reply_type=1&created=2026-11-20+09:30:00")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_ne!(at, "2026-11-20 09:30:00");
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("Earlier"),
            s("Public"),
            s(if app.db.user_keys { "1" } else { "0" }),
            s("00:00:00"),
            s("2026-11-20 09:30:00"),
            s("1"),
            None
        ]
    );
    // The first response is the reply's time; ticket_updated_at, logs and
    // notifications are the write's.
    assert_eq!(
        ticket_row(&app, 1).await,
        vec![s("2"), s(&at), None, s("2026-11-20 09:30:00")]
    );
    if sla {
        assert_eq!(
            app.db
                .value("SELECT ticket_response_sla_met FROM tickets WHERE ticket_id = 1")
                .await,
            s("1")
        );
    }
    let actor = if app.db.user_keys {
        "Oracle Admin"
    } else {
        "Global key (API)"
    };
    // The assignee, and the opener unless the key's user (Oracle) wrote.
    let mut notes = vec![vec![
        s("Ticket"),
        Some(format!(
            "{actor} updated Ticket TCK-1 - Subject: Printer not working that is assigned to you"
        )),
        s("/agent/ticket.php?ticket_id=1&client_id=1"),
        s("1"),
        s("2"),
        s(&at),
        None,
    ]];
    if !app.db.user_keys {
        notes.push(opener_note(actor, &at));
    }
    assert_eq!(notifications(&app).await, notes);
    let user = if app.db.user_keys { 1 } else { 0 };
    assert_eq!(
        logs(&app).await,
        agent_reply_logs(&app, actor, user, "Public", &at)
    );

    // RFC 3339 with an offset, converted to the company's zone; a later
    // public reply leaves the first response alone.
    for (id, (created_param, stored)) in (9..).zip([
        ("2026-11-20T10:45:00+01:00", "2026-11-20 09:45:00"),
        ("2026-11-20T09:50:00Z", "2026-11-20 09:50:00"),
        ("2026-11-20T04:55:00-05:00", "2026-11-20 09:55:00"),
        ("2026-11-20T09:56:00.75+00:00", "2026-11-20 09:56:00"),
        // The ticket's own creation time is not before it.
        ("2026-11-20 08:00:00", "2026-11-20 08:00:00"),
    ]) {
        app.create(&format!(
            "ticket_id=1&ticket_reply=r{id}&public_reply_type=1&created={}",
            q(created_param)
        ))
        .await
        .assert(200, &created(id));
        assert_eq!(
            reply_row(&app, id).await[4],
            s(stored),
            "created={created_param}"
        );
    }
    assert_eq!(
        app.db
            .value("SELECT ticket_first_response_at FROM tickets WHERE ticket_id = 1")
            .await,
        s("2026-11-20 09:30:00")
    );

    // Resolving with a backdated reply resolves at its time.
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "Fixed", "status": 4, "created": "2026-11-20 11:15:00"}),
    )
    .await
    .assert(200, &created(14));
    let at = write_instant(&app).await;
    assert_eq!(reply_row(&app, 14).await[4], s("2026-11-20 11:15:00"));
    assert_eq!(
        ticket_row(&app, 1).await,
        vec![
            s("4"),
            s(&at),
            s("2026-11-20 11:15:00"),
            s("2026-11-20 09:30:00")
        ]
    );
    if sla {
        assert_eq!(
            app.db
                .value("SELECT ticket_resolution_sla_met FROM tickets WHERE ticket_id = 1")
                .await,
            s("1")
        );
    }
    // Logs, notifications and history carry the writes' instants, never a
    // reply's created time.
    let mut stamped = vec![
        "SELECT COUNT(*) FROM logs WHERE log_created_at < '2026-11-21'",
        "SELECT COUNT(*) FROM notifications WHERE notification_timestamp < '2026-11-21'",
    ];
    if app.db.has_table("ticket_history").await {
        stamped.push(
            "SELECT COUNT(*) FROM ticket_history WHERE ticket_history_created_at < '2026-11-21'",
        );
    }
    for sql in stamped {
        assert_eq!(app.db.value(sql).await, s("0"), "{sql}");
    }
}

per_generation!(backdated_customers_and_agents_replies);
async fn backdated_customers_and_agents_replies(generation: Generation) {
    let app = spawn_app(generation).await;
    // A customer's reply on ticket 4 (created 09:00) at 09:10.
    app.create("ticket_id=4&ticket_reply=Sent+earlier&contact_id=1&created=2026-11-20+09:10:00")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("Sent earlier"),
            s("Client"),
            s("1"),
            None,
            s("2026-11-20 09:10:00"),
            s("4"),
            None
        ]
    );
    // Ticket 4 is Open: untouched.
    assert_eq!(ticket_row(&app, 4).await, vec![s("2"), None, None, None]);
    assert_eq!(
        logs(&app).await,
        customer_logs(
            &app,
            "Carla Contact",
            "TCK-4 - Server migration",
            "Global key",
            (1, 4),
            false,
            &at
        )
    );
    // On behalf of Tess, at 09:20 Acme time given in another offset.
    app.db.exec_script("DELETE FROM logs").await;
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "Called them", "author_user_id": 2, "hours": 1, "created": "2026-11-20T11:20:00+02:00"}),
    )
    .await
    .assert(200, &created(9));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 9).await,
        vec![
            s("Called them"),
            s("Internal"),
            s("2"),
            s("01:00:00"),
            s("2026-11-20 09:20:00"),
            s("1"),
            None
        ]
    );
    assert_eq!(ticket_row(&app, 1).await, vec![s("2"), s(&at), None, None]);
    assert_eq!(
        notifications(&app).await,
        vec![opener_note("Tess Tech", &at)]
    );
    assert_eq!(
        logs(&app).await,
        agent_reply_logs(&app, "Tess Tech", 2, "Internal", &at)
    );
}

per_generation!(created_times_that_cannot_be_a_replys_are_refused);
async fn created_times_that_cannot_be_a_replys_are_refused(generation: Generation) {
    let app = spawn_app(generation).await;
    let before = everything(&app).await;
    let invalid = refused(CREATED_INVALID);
    for bad in [
        "yesterday",
        "2026-11-20T09:30:00",
        "2026-11-20 09:30",
        "2026-11-20",
        "2026-13-01 00:00:00",
        "2026-11-31 09:30:00",
        "20/11/2026 09:30:00",
        "1763631000",
    ] {
        app.create(&format!("ticket_id=1&ticket_reply=x&created={}", q(bad)))
            .await
            .assert(200, &invalid);
    }
    // An hour from now, on the company's wall clock (UTC) and as RFC 3339
    // in three offsets.
    let future = refused(CREATED_FUTURE);
    for ahead in [
        local_from_now("UTC", 3600),
        rfc3339_from_now(0, 3600),
        rfc3339_from_now(-5, 3600),
        rfc3339_from_now(9, 3600),
    ] {
        app.create(&format!("ticket_id=1&ticket_reply=x&created={}", q(&ahead)))
            .await
            .assert(200, &future);
        app.create(&format!(
            "ticket_id=1&ticket_reply=x&contact_id=1&created={}",
            q(&ahead)
        ))
        .await
        .assert(200, &future);
        app.post_json(
            CREATE,
            json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "x", "author_user_id": 2, "created": ahead}),
        )
        .await
        .assert(200, &future);
    }
    // Before the ticket was created (ticket 1 at 08:00, ticket 4 at 09:00).
    let before_ticket = refused(CREATED_BEFORE);
    for (ticket, early) in [
        (1, "2026-11-20 07:59:59"),
        (1, "2026-11-20T07:59:59Z"),
        (1, "2026-11-20T08:30:00+01:00"),
        (1, "2025-01-01 00:00:00"),
        (4, "2026-11-20 08:59:59"),
    ] {
        app.create(&format!(
            "ticket_id={ticket}&ticket_reply=x&created={}",
            q(early)
        ))
        .await
        .assert(200, &before_ticket);
    }
    app.create("ticket_id=4&ticket_reply=x&contact_id=1&created=2026-11-20+08:00:00")
        .await
        .assert(200, &before_ticket);
    // Without a reply.
    let needs_reply = refused(CREATED_NEEDS_REPLY);
    app.create("ticket_id=1&status=3&created=2026-11-20+09:30:00")
        .await
        .assert(200, &needs_reply);
    app.create("ticket_id=1&ticket_reply=+++&status=4&created=2026-11-20+09:30:00")
        .await
        .assert(200, &needs_reply);
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "status": "On Hold", "created": "2026-11-20 09:30:00"}),
    )
    .await
    .assert(200, &needs_reply);
    // The ticket's own checks come first.
    app.create("ticket_id=3&ticket_reply=x&created=2026-11-20+09:30:00")
        .await
        .assert(200, &refused(CLOSED));
    post(
        &app,
        ACME_KEY,
        "ticket_id=2&ticket_reply=x&created=2026-11-20+09:30:00",
    )
    .await
    .assert(200, &refused(NOT_FOUND));
    assert_untouched(&app, &before).await;
}

per_generation!(created_is_read_on_the_companys_wall_clock);
async fn created_is_read_on_the_companys_wall_clock(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script("UPDATE settings SET config_timezone = 'America/New_York'")
        .await;
    let before = everything(&app).await;
    // New York is five hours behind UTC in November: 12:59:59Z is 07:59:59
    // there, before ticket 1 (08:00 on Acme's wall clock).
    app.create("ticket_id=1&ticket_reply=x&created=2026-11-20T12:59:59Z")
        .await
        .assert(200, &refused(CREATED_BEFORE));
    app.create("ticket_id=1&ticket_reply=x&created=2026-11-20T08:30:00%2B01:00")
        .await
        .assert(200, &refused(CREATED_BEFORE));
    // UTC's wall clock now is five hours ahead of New York's.
    app.create(&format!(
        "ticket_id=1&ticket_reply=x&created={}",
        q(&local_from_now("UTC", 0))
    ))
    .await
    .assert(200, &refused(CREATED_FUTURE));
    app.create(&format!(
        "ticket_id=1&ticket_reply=x&created={}",
        q(&local_from_now("America/New_York", 3600))
    ))
    .await
    .assert(200, &refused(CREATED_FUTURE));
    assert_untouched(&app, &before).await;
    for (id, (created_param, stored)) in (8..).zip([
        ("2026-11-20 09:30:00", "2026-11-20 09:30:00"),
        ("2026-11-20T15:30:00+01:00", "2026-11-20 09:30:00"),
        ("2026-11-20T13:00:00Z", "2026-11-20 08:00:00"),
        ("2026-11-20T09:45:00-05:00", "2026-11-20 09:45:00"),
    ]) {
        app.create(&format!(
            "ticket_id=1&ticket_reply=r{id}&created={}",
            q(created_param)
        ))
        .await
        .assert(200, &created(id));
        assert_eq!(
            reply_row(&app, id).await[4],
            s(stored),
            "created={created_param}"
        );
    }
    // A first public reply backdated in New York time.
    app.create(
        "ticket_id=4&ticket_reply=Hello&public_reply_type=1&created=2026-11-20T15:05:00%2B01:00",
    )
    .await
    .assert(200, &created(12));
    assert_eq!(reply_row(&app, 12).await[4], s("2026-11-20 09:05:00"));
    assert_eq!(
        app.db
            .value("SELECT ticket_first_response_at FROM tickets WHERE ticket_id = 4")
            .await,
        s("2026-11-20 09:05:00")
    );
}

// ---------------------------------------------------------------------
// status by name
// ---------------------------------------------------------------------

const OPEN_TASKS: &str =
    "status 4 (Resolved) is not available while the ticket has tasks that are not completed.";
const NOTHING_TO_DO: &str =
    "Nothing to do: send ticket_reply (the reply text), status (a ticket status id), or both.";

/// The names-list refusal of a status named by name.
fn status_names(names: &str) -> String {
    refused(&format!(
        "status must name a status this ticket can be set to now: {names}."
    ))
}

per_generation!(a_status_named_by_name_sets_that_status);
async fn a_status_named_by_name_sets_that_status(generation: Generation) {
    let app = spawn_app(generation).await;
    let user = if app.db.user_keys { 1 } else { 0 };
    app.create("ticket_id=1&ticket_reply=Waiting+on+parts&status=on+hold")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 8).await,
        vec![
            s("Waiting on parts"),
            s("Internal"),
            s(&user.to_string()),
            s("00:00:00"),
            s(&at),
            s("1"),
            None
        ]
    );
    assert_eq!(ticket_row(&app, 1).await, vec![s("3"), s(&at), None, None]);
    if app.db.user_keys {
        assert_eq!(
            logs(&app).await,
            agent_reply_logs(&app, "Oracle Admin", 1, "Internal", &at)
        );
        // The status's own name, not the one sent.
        assert_eq!(
            history(&app).await,
            vec![vec![
                s("On Hold"),
                s("Status set to On Hold via the API (Global key)"),
                s(&at),
                s("1")
            ]]
        );
    } else {
        assert_eq!(
            logs(&app).await,
            agent_reply_logs(&app, "Global key (API)", 0, "Internal", &at)
        );
        if app.db.has_table("ticket_history").await {
            assert_eq!(app.db.count("ticket_history").await, 0);
        }
    }
    assert_eq!(
        app.db.count("notifications").await,
        if user == 1 { 1 } else { 2 }
    );

    // A status-only JSON call, the name padded and in capitals.
    app.db
        .exec_script("DELETE FROM logs; DELETE FROM notifications")
        .await;
    if app.db.has_table("ticket_history").await {
        app.db.exec_script("DELETE FROM ticket_history").await;
    }
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "status": " OPEN "}),
    )
    .await
    .assert(200, &created(0));
    let at = write_instant(&app).await;
    assert_eq!(app.db.count("ticket_replies").await, 8);
    assert_eq!(ticket_row(&app, 1).await, vec![s("2"), s(&at), None, None]);
    if app.db.user_keys {
        assert_eq!(
            logs(&app).await,
            vec![log(
                "API",
                "Success",
                "Set the status of ticket TCK-1 to Open via API (Global key)",
                (1, 1, 0),
                &at
            )]
        );
        assert_eq!(
            history(&app).await,
            vec![vec![
                s("Open"),
                s("Status set to Open via the API (Global key)"),
                s(&at),
                s("1")
            ]]
        );
    } else {
        assert_eq!(
            logs(&app).await,
            agent_reply_logs(&app, "Global key (API)", 0, "Internal", &at)
        );
    }
    assert_eq!(app.db.count("notifications").await, 0);

    // Resolved by name, by ticket number.
    app.create("ticket_number=TCK-1&status=resolved")
        .await
        .assert(200, &created(0));
    let at = write_instant(&app).await;
    assert_eq!(
        ticket_row(&app, 1).await,
        vec![s("4"), s(&at), s(&at), None]
    );
    assert_eq!(
        app.db
            .rows("SELECT log_action, log_description FROM logs WHERE log_action = 'Resolved'")
            .await,
        vec![vec![
            s("Resolved"),
            s(if app.db.user_keys {
                "Resolved ticket TCK-1 via API (Global key)"
            } else {
                "Global key (API) resolved Ticket ticket ID 1"
            })
        ]]
    );

    // Numbers keep PHP intval()'s meaning: `4abc` is 4, ` 3` is 3.
    app.create("ticket_id=5&status=4abc")
        .await
        .assert(200, &created(0));
    app.create("ticket_id=2&status=+3&ticket_reply=x")
        .await
        .assert(200, &created(9));
    assert_eq!(
        app.db
            .rows("SELECT ticket_id, ticket_status FROM tickets WHERE ticket_id IN (2, 5) ORDER BY ticket_id")
            .await,
        vec![vec![s("2"), s("3")], vec![s("5"), s("4")]]
    );
}

per_generation!(a_status_name_the_ticket_cannot_take_lists_those_it_can);
async fn a_status_name_the_ticket_cannot_take_lists_those_it_can(generation: Generation) {
    let app = spawn_app(generation).await;
    let before = everything(&app).await;
    let all = status_names("Open, On Hold, Resolved");
    for name in [
        "Closed",
        "closed",
        "Retired",
        "bogus",
        "New",
        "On+Hold+please",
        "Hold",
        "%20",
    ] {
        // `%20` is empty once trimmed: no status at all.
        if name == "%20" {
            app.create(&format!("ticket_id=1&status={name}"))
                .await
                .assert(200, &refused(NOTHING_TO_DO));
            continue;
        }
        app.create(&format!("ticket_id=1&ticket_reply=x&status={name}"))
            .await
            .assert(200, &all);
        app.create(&format!("ticket_id=1&status={name}"))
            .await
            .assert(200, &all);
    }
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "x", "status": "Closed"}),
    )
    .await
    .assert(200, &all);
    post(&app, ACME_KEY, "ticket_number=TCK-1&status=Retired")
        .await
        .assert(200, &all);
    // Ticket 4 has a task not completed: no Resolved.
    for name in ["bogus", "Closed", "Retired"] {
        app.create(&format!("ticket_id=4&ticket_reply=x&status={name}"))
            .await
            .assert(200, &status_names("Open, On Hold"));
    }
    for name in ["Resolved", "resolved", "+RESOLVED+"] {
        app.create(&format!("ticket_id=4&ticket_reply=x&status={name}"))
            .await
            .assert(200, &refused(OPEN_TASKS));
    }
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_number": "TCK-4", "status": "Resolved"}),
    )
    .await
    .assert(200, &refused(OPEN_TASKS));
    // The ticket's own checks come first.
    app.create("ticket_id=3&ticket_reply=x&status=bogus")
        .await
        .assert(200, &refused(CLOSED));
    post(&app, ACME_KEY, "ticket_id=2&status=bogus")
        .await
        .assert(200, &refused(NOT_FOUND));
    app.create("ticket_id=999&status=bogus")
        .await
        .assert(200, &refused(NOT_FOUND));
    assert_untouched(&app, &before).await;
    // Once the task is done, Resolved is offered again.
    app.db
        .exec_script("UPDATE tasks SET task_completed_at = '2026-11-20 12:00:00' WHERE task_id = 1")
        .await;
    app.create("ticket_id=4&status=bogus")
        .await
        .assert(200, &all);
    app.create("ticket_id=4&status=Resolved")
        .await
        .assert(200, &created(0));
    assert_eq!(
        app.db
            .value("SELECT ticket_status FROM tickets WHERE ticket_id = 4")
            .await,
        s("4")
    );
}

per_generation!(status_names_follow_the_ticket_statuses_table);
async fn status_names_follow_the_ticket_statuses_table(generation: Generation) {
    let app = spawn_app(generation).await;
    // Retired active again, On Hold inactive; the display order reversed
    // (the list is in id order).
    app.db
        .exec_script(
            "UPDATE ticket_statuses SET ticket_status_active = 1 WHERE ticket_status_id = 6; \
             UPDATE ticket_statuses SET ticket_status_active = 0 WHERE ticket_status_id = 3; \
             UPDATE ticket_statuses SET ticket_status_order = 10 - ticket_status_id",
        )
        .await;
    let before = everything(&app).await;
    app.create("ticket_id=1&ticket_reply=x&status=on+hold")
        .await
        .assert(200, &status_names("Open, Resolved, Retired"));
    app.create("ticket_id=4&ticket_reply=x&status=on+hold")
        .await
        .assert(200, &status_names("Open, Retired"));
    assert_untouched(&app, &before).await;
    app.create("ticket_id=1&ticket_reply=Retiring&status=RETIRED")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(ticket_row(&app, 1).await, vec![s("6"), s(&at), None, None]);
    if app.db.user_keys {
        assert_eq!(
            history(&app).await,
            vec![vec![
                s("Retired"),
                s("Status set to Retired via the API (Global key)"),
                s(&at),
                s("1")
            ]]
        );
    }
}

// ---------------------------------------------------------------------
// More of each side
// ---------------------------------------------------------------------

per_generation!(a_customers_reply_restarts_the_sla_clock_when_it_reopens: [user_keys, dump_2_6_7]);
async fn a_customers_reply_restarts_the_sla_clock_when_it_reopens(generation: Generation) {
    let app = spawn_app(generation).await;
    assert!(has_sla(&app).await);
    // SLA 1 (480 business minutes to resolve); On Hold pauses the clock.
    // Ticket 1 is On Hold after an hour on the clock; ticket 4 was resolved
    // after two hours with its SLA met; ticket 2 is Open with a running
    // clock.
    app.db
        .exec_script(
            "INSERT INTO slas (sla_id, sla_name, sla_response_minutes, sla_resolution_minutes) VALUES (1, 'Standard', 60, 480); \
             UPDATE ticket_statuses SET ticket_status_pauses_sla = 1 WHERE ticket_status_id = 3; \
             UPDATE tickets SET ticket_sla_id = 1, ticket_status = 3, ticket_updated_at = NULL WHERE ticket_id = 1; \
             UPDATE tickets SET ticket_sla_id = 1, ticket_status = 4, ticket_resolved_at = '2026-11-20 11:00:00', \
               ticket_resolution_due_at = '2026-11-21 09:00:00', ticket_resolution_sla_met = 1, \
               ticket_updated_at = NULL WHERE ticket_id = 4; \
             UPDATE tickets SET ticket_sla_id = 1, ticket_status = 2, ticket_updated_at = NULL WHERE ticket_id = 2; \
             INSERT INTO sla_history (sla_history_id, sla_history_started_at, sla_history_ended_at, sla_history_minutes, sla_history_ticket_id) VALUES \
               (1, '2026-11-20 08:00:00', '2026-11-20 10:00:00', 60, 1), \
               (2, '2026-11-20 09:00:00', '2026-11-20 11:00:00', 120, 4), \
               (3, '2026-11-20 09:00:00', NULL, NULL, 2)",
        )
        .await;
    let intervals = |ticket: u32| {
        let app = &app;
        async move {
            app.db
                .rows(&format!(
                    "SELECT sla_history_id, sla_history_started_at, sla_history_ended_at, sla_history_minutes \
                     FROM sla_history WHERE sla_history_ticket_id = {ticket} ORDER BY sla_history_id"
                ))
                .await
        }
    };
    // On Hold -> Open: the clock runs again from now.
    app.create("ticket_id=1&ticket_reply=Any+news&contact_id=1")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(ticket_row(&app, 1).await, vec![s("2"), s(&at), None, None]);
    assert_eq!(
        intervals(1).await,
        vec![
            vec![
                s("1"),
                s("2026-11-20 08:00:00"),
                s("2026-11-20 10:00:00"),
                s("60")
            ],
            vec![s("4"), s(&at), None, None],
        ]
    );
    // Resolved -> Open: reopened, the resolution verdict reset, the clock
    // running again.
    app.create("ticket_id=4&ticket_reply=Broken+again&contact_id=1")
        .await
        .assert(200, &created(9));
    let at4 = write_instant(&app).await;
    assert_eq!(ticket_row(&app, 4).await, vec![s("2"), s(&at4), None, None]);
    assert_eq!(
        app.db
            .rows("SELECT ticket_resolution_sla_met, ticket_resolution_sla_alert_stage FROM tickets WHERE ticket_id = 4")
            .await,
        vec![vec![None, s("0")]]
    );
    assert_eq!(
        intervals(4).await,
        vec![
            vec![
                s("2"),
                s("2026-11-20 09:00:00"),
                s("2026-11-20 11:00:00"),
                s("120")
            ],
            vec![s("5"), s(&at4), None, None],
        ]
    );
    // Already Open: the ticket and its clock as they were.
    let ticket_2 = app
        .db
        .rows("SELECT * FROM tickets WHERE ticket_id = 2")
        .await;
    app.create("ticket_id=2&ticket_reply=Thanks&contact_id=2")
        .await
        .assert(200, &created(10));
    assert_eq!(
        app.db
            .rows("SELECT * FROM tickets WHERE ticket_id = 2")
            .await,
        ticket_2
    );
    assert_eq!(
        intervals(2).await,
        vec![vec![s("3"), s("2026-11-20 09:00:00"), None, None]]
    );
    assert_eq!(
        history(&app).await,
        vec![
            vec![
                s("Open"),
                s("Carla Contact replied via the API (Global key), reopening the ticket"),
                s(&at),
                s("1")
            ],
            vec![
                s("Open"),
                s("Carla Contact reopened the ticket via the API (Global key)"),
                s(&at4),
                s("4")
            ],
        ]
    );
}

per_generation!(an_author_overrides_the_legacy_author: [client_keys, dump_2_4_4]);
async fn an_author_overrides_the_legacy_author(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.legacy_author_user_id = 1).await;
    app.create("ticket_id=1&ticket_reply=By+Tess&author_user_id=2")
        .await
        .assert(200, &created(8));
    let at = write_instant(&app).await;
    assert_eq!(reply_row(&app, 8).await[2], s("2"));
    assert_eq!(
        notifications(&app).await,
        vec![opener_note("Tess Tech", &at)]
    );
    assert_eq!(
        logs(&app).await,
        agent_reply_logs(&app, "Tess Tech", 2, "Internal", &at)
    );
    // A customer's reply names no user, whatever the legacy author.
    app.db.exec_script("DELETE FROM logs").await;
    app.create("ticket_id=1&ticket_reply=From+Carla&contact_id=1")
        .await
        .assert(200, &created(9));
    let at = write_instant(&app).await;
    assert_eq!(
        reply_row(&app, 9).await,
        vec![
            s("From Carla"),
            s("Client"),
            s("1"),
            None,
            s(&at),
            s("1"),
            None
        ]
    );
    assert_eq!(
        logs(&app).await,
        customer_logs(
            &app,
            "Carla Contact",
            "TCK-1 - Printer not working",
            "Global key",
            (1, 1),
            false,
            &at
        )
    );
}

per_generation!(created_a_few_seconds_ahead_is_not_the_future);
async fn created_a_few_seconds_ahead_is_not_the_future(generation: Generation) {
    let app = spawn_app(generation).await;
    // Within the 60 s a caller's clock may be ahead.
    let ahead = local_from_now("UTC", 20);
    app.create(&format!("ticket_id=1&ticket_reply=x&created={}", q(&ahead)))
        .await
        .assert(200, &created(8));
    assert_eq!(reply_row(&app, 8).await[4], s(&ahead));
}
