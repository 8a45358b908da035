//! create.php's `public_reply_type` 2 with `email_replies` on: the agent
//! UI's "Public + email" reply, its `email_queue` rows byte for byte; the
//! refusals that write nothing; `markdown=1`.
//!
//! The emails need `email_queue`: those tests run on the generations that
//! have it (the user-key fixture, ITFlow's 2.4.4 and 2.6.7 dumps); the
//! refusals and Markdown on all four.

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

const EMAIL_OFF: &str = "public_reply_type 2 (public reply with email) is not available: this API sends no email. Use public_reply_type 1 to post a public reply without email.";
const NO_QUEUE: &str = "public_reply_type 2 (public reply with email) is not available: this ITFlow database has no email queue (table email_queue). Use public_reply_type 1 to post a public reply without email.";

fn not_configured(settings: &str) -> String {
    format!(
        "public_reply_type 2 (public reply with email) needs ITFlow's mail settings: set {settings} (ITFlow: Admin, Settings, Mail), or use public_reply_type 1 to post a public reply without email."
    )
}

/// Mail configured (the provider), the company, ticket 1's portal key.
const MAIL: &str = "UPDATE settings SET config_smtp_provider = 'standard_smtp', \
    config_ticket_from_name = 'MSP Support', config_ticket_from_email = 'support@msp.example'; \
    INSERT INTO companies (company_id, company_name, company_phone_country_code, company_phone) \
    VALUES (1, 'MSP Inc', '1', '555.123.4567'); \
    UPDATE tickets SET ticket_url_key = 'abc123', ticket_updated_at = ticket_updated_at \
    WHERE ticket_id = 1";

/// The emails replyd wrote, oldest first: recipient, name, from, from
/// name, subject, content, cal_str, status, and whether they were queued
/// at the reply's time; then `email_attachments` where the column exists.
async fn queued(app: &TestApp) -> Vec<Vec<Option<String>>> {
    let attachments = if has_column(app, "email_queue", "email_attachments").await {
        ", email_attachments"
    } else {
        ""
    };
    app.db
        .rows(&format!(
            "SELECT email_recipient, email_recipient_name, email_from, email_from_name, email_subject, \
             email_content, email_cal_str, email_status, \
             email_queued_at = (SELECT MAX(ticket_reply_created_at) FROM ticket_replies){attachments} \
             FROM email_queue ORDER BY email_id"
        ))
        .await
}

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

/// One expected `email_queue` row from MSP Support (see [`queued`]).
async fn mail_row(
    app: &TestApp,
    to: &str,
    name: &str,
    subject: &str,
    content: &str,
) -> Vec<Option<String>> {
    let mut row = vec![
        s(to),
        s(name),
        s("support@msp.example"),
        s("MSP Support"),
        s(subject),
        s(content),
        s(""),
        s("0"),
        s("1"),
    ];
    if has_column(app, "email_queue", "email_attachments").await {
        row.push(s(""));
    }
    row
}

/// Nothing written: the seed's replies, no logs, notifications or emails,
/// no ticket touched.
async fn assert_untouched(app: &TestApp) {
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(app.db.count("logs").await, 0);
    assert_eq!(app.db.count("notifications").await, 0);
    if app.db.has_table("email_queue").await {
        assert_eq!(app.db.count("email_queue").await, 0);
    }
    assert_eq!(
        app.db
            .count("tickets WHERE ticket_updated_at IS NOT NULL")
            .await,
        0
    );
}

const UPDATED: &str = "<i style='color: #808080'>##- Please type your reply above this line -##</i><br><br>Hello Carla Contact,<br><br>Your ticket regarding Printer not working has been updated.<br><br>--------------------------------<br>";
const FOOTER: &str = "<br>--------------------------------<br><br>Ticket: TCK-1<br>Subject: Printer not working<br>Status: Open<br>Portal: <a href='https://helpdesk.msp.example/guest/guest_view_ticket.php?ticket_id=1&url_key=abc123'>View ticket</a><br><br>--<br>MSP Inc - Support<br>support@msp.example<br>(555) 123-4567";
const COLLABORATOR: &str =
    "<br><br>----------------------------------------<br>YOU ARE A COLLABORATOR ON THIS TICKET";

per_generation!(an_emailed_reply_queues_the_agent_uis_emails_to_the_contact_then_each_watcher: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn an_emailed_reply_queues_the_agent_uis_emails_to_the_contact_then_each_watcher(
    generation: Generation,
) {
    // The author is Oracle Admin (user 1) on every generation: the global
    // key's user, or the legacy author.
    let app = spawn_app_with(generation, |s| {
        s.email_replies = true;
        s.legacy_author_user_id = 1;
        s.itflow_base_url = Some("helpdesk.msp.example".into());
    })
    .await;
    app.db.exec_script(MAIL).await;
    app.db
        .exec_script(
            "INSERT INTO ticket_watchers (watcher_name, watcher_email, watcher_ticket_id) VALUES \
             ('Walt', 'walt@acme.example', 1), (NULL, 'not-an-email', 1), ('Other', 'other@globex.example', 2); \
             INSERT INTO user_settings (user_id, user_config_signature) VALUES \
             (1, '<p>--<br>Oracle, MSP</p>'), (2, '<p>Tess</p>')",
        )
        .await;
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "Fixed the **tray**.", "markdown": true, "public_reply_type": 2}),
    )
    .await
    .assert(200, &created(8));
    let reply = "<p>Fixed the <strong>tray</strong>.</p><p>--<br>Oracle, MSP</p>";
    // A Public reply, signed, stamping the first response.
    assert_eq!(
        app.db
            .rows("SELECT ticket_reply, ticket_reply_type, ticket_reply_by, ticket_first_response_at IS NOT NULL FROM ticket_replies, tickets WHERE ticket_reply_id = 8 AND ticket_id = 1")
            .await,
        vec![vec![s(reply), s("Public"), s("1"), s("1")]]
    );
    let subject = "Ticket update - [TCK-1] - Printer not working";
    let body = format!("{UPDATED}{reply}{FOOTER}");
    let watchers = format!("{body}{COLLABORATOR}");
    assert_eq!(
        queued(&app).await,
        vec![
            mail_row(&app, "carla@acme.example", "Carla Contact", subject, &body).await,
            mail_row(
                &app,
                "walt@acme.example",
                "walt@acme.example",
                subject,
                &watchers
            )
            .await,
            mail_row(&app, "not-an-email", "not-an-email", subject, &watchers).await,
        ]
    );
    // The rest is a Public reply's: the assignee is notified, the log says
    // Public.
    assert_eq!(
        app.db
            .rows("SELECT notification_user_id FROM notifications")
            .await,
        vec![vec![s("2")]]
    );
    let log = app
        .db
        .value("SELECT log_description FROM logs WHERE log_action = 'Reply'")
        .await
        .unwrap();
    assert!(log.contains("Public reply"), "{log}");
}

per_generation!(resolving_with_an_emailed_reply_queues_the_marked_as_solved_email: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn resolving_with_an_emailed_reply_queues_the_marked_as_solved_email(generation: Generation) {
    let app = spawn_app_with(generation, |s| {
        s.email_replies = true;
        s.itflow_base_url = Some("helpdesk.msp.example".into());
    })
    .await;
    app.db.exec_script(MAIL).await;
    // No signature: the author has no user_settings row (or, on 2.4.4, is
    // nobody).
    app.create("ticket_id=1&ticket_reply=All+done.&public_reply_type=2&status=4")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .rows("SELECT ticket_reply, ticket_status, ticket_resolved_at IS NOT NULL FROM ticket_replies, tickets WHERE ticket_reply_id = 8 AND ticket_id = 1")
            .await,
        vec![vec![s("All done."), s("4"), s("1")]]
    );
    let link =
        "https://helpdesk.msp.example/guest/guest_view_ticket.php?ticket_id=1&url_key=abc123";
    let body = format!(
        "<i style='color: #808080'>##- Please type your reply above this line -##</i><br><br>Hello Carla Contact,<br><br>Your ticket regarding Printer not working has been marked as solved and is pending closure.<br><br>--------------------------------<br>All done.<br>--------------------------------<br><br>If your request/issue is resolved, you can simply ignore this email. If you need further assistance, please reply or <a href='{link}'>re-open</a> to let us know! <br><br>Ticket: TCK-1<br>Subject: Printer not working<br>Status: Resolved<br>Portal: <a href='{link}'>View ticket</a><br><br>--<br>MSP Inc - Support<br>support@msp.example<br>(555) 123-4567"
    );
    assert_eq!(
        queued(&app).await,
        vec![
            mail_row(
                &app,
                "carla@acme.example",
                "Carla Contact",
                "Ticket resolved - [TCK-1] - Printer not working | (pending closure)",
                &body
            )
            .await
        ]
    );
}

per_generation!(a_reply_on_behalf_of_an_agent_carries_that_agents_signature: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn a_reply_on_behalf_of_an_agent_carries_that_agents_signature(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.email_replies = true).await;
    app.db.exec_script(MAIL).await;
    app.db
        .exec_script(
            "INSERT INTO user_settings (user_id, user_config_signature) VALUES (1, ' Oracle'), (2, ' Tess')",
        )
        .await;
    app.create("ticket_id=1&ticket_reply=Called+back.&public_reply_type=2&author_user_id=2")
        .await
        .assert(200, &created(8));
    assert_eq!(
        app.db
            .rows(
                "SELECT ticket_reply, ticket_reply_by FROM ticket_replies WHERE ticket_reply_id = 8"
            )
            .await,
        vec![vec![s("Called back. Tess"), s("2")]]
    );
    let content = app
        .db
        .value("SELECT email_content FROM email_queue")
        .await
        .unwrap();
    assert!(content.contains("<br>Called back. Tess<br>"), "{content}");
}

per_generation!(emailed_replies_are_refused_writing_nothing_without_the_setting_a_queue_or_mail);
async fn emailed_replies_are_refused_writing_nothing_without_the_setting_a_queue_or_mail(
    generation: Generation,
) {
    // email_replies off (the default): today's refusal, on every database.
    let off = spawn_app(generation.clone()).await;
    if off.db.has_table("email_queue").await {
        off.db.exec_script(MAIL).await;
    }
    off.create("ticket_id=1&ticket_reply=Hi&public_reply_type=2")
        .await
        .assert(200, &refused(EMAIL_OFF));
    assert_untouched(&off).await;
    drop(off);

    let app = spawn_app_with(generation, |s| s.email_replies = true).await;
    let send = "ticket_id=1&ticket_reply=Hi&public_reply_type=2";
    if !app.db.has_table("email_queue").await {
        app.create(send).await.assert(200, &refused(NO_QUEUE));
        assert_untouched(&app).await;
        return;
    }
    // Mail not configured by this ITFlow's own test; the message names the
    // settings. ITFlow 2.4.4 takes the SMTP host too; later versions the
    // provider only.
    let host_counts = !app.db.user_keys;
    let settings = if host_counts {
        "config_smtp_host or config_smtp_provider"
    } else {
        "config_smtp_provider"
    };
    app.create(send)
        .await
        .assert(200, &refused(&not_configured(settings)));
    // A status change with it is refused the same.
    app.create("ticket_id=1&status=3&public_reply_type=2")
        .await
        .assert(200, &refused(&not_configured(settings)));
    assert_untouched(&app).await;
    if !has_column(&app, "settings", "config_smtp_host").await {
        return;
    }
    app.db
        .exec_script("UPDATE settings SET config_smtp_host = 'smtp.msp.example'")
        .await;
    if host_counts {
        app.create(send).await.assert(200, &created(8));
        assert_eq!(app.db.count("email_queue").await, 1);
    } else {
        app.create(send)
            .await
            .assert(200, &refused(&not_configured(settings)));
        assert_untouched(&app).await;
    }
}

per_generation!(markdown_replies_are_stored_as_clean_html);
async fn markdown_replies_are_stored_as_clean_html(generation: Generation) {
    let app = spawn_app(generation).await;
    let markdown = "# Hi\n\n<img src=x onerror=alert(1)> [a](javascript:alert(1)) *ok*<script>alert(2)</script>";
    app.post_form(
        CREATE,
        &format!(
            "api_key={GLOBAL_KEY}&ticket_id=1&markdown=1&ticket_reply={}",
            urlencode(markdown)
        ),
    )
    .await
    .assert(200, &created(8));
    // In the query string, and as JSON true.
    app.post_json(
        &format!("{CREATE}?markdown=true"),
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "| a | b |\n|---|---|\n| 1 | ~~2~~ |"}),
    )
    .await
    .assert(200, &created(9));
    // Without it the text is stored as sent.
    app.create("ticket_id=1&ticket_reply=**as+sent**&markdown=0")
        .await
        .assert(200, &created(10));
    app.create("ticket_id=1&ticket_reply=x&markdown=yes")
        .await
        .assert(
            200,
            &refused("markdown must be 1 or true (ticket_reply is Markdown), or 0 or false."),
        );
    assert_eq!(
        app.db
            .rows("SELECT ticket_reply FROM ticket_replies WHERE ticket_reply_id > 7 ORDER BY ticket_reply_id")
            .await,
        vec![
            vec![s(
                "<h1>Hi</h1>\n<p><img src=\"x\"> <a rel=\"noopener noreferrer\">a</a> <em>ok</em></p>"
            )],
            vec![s(
                "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>\n<tr><td>1</td><td><del>2</del></td></tr>\n</tbody></table>"
            )],
            vec![s("**as sent**")],
        ]
    );
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_string()
}
