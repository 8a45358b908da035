//! The least-privilege MariaDB user deploy/README.md tells admins to create
//! is enough for everything replyd does. Runs on every generation: the
//! tables replyd reads and writes differ between them.

use crate::helpers::*;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

/// The GRANT statements of deploy/README.md.
fn documented_grants() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_path("deploy/README.md")).unwrap();
    let grants: Vec<String> = readme
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("GRANT "))
        .map(str::to_string)
        .collect();
    assert!(grants.len() >= 5, "no GRANT statements in deploy/README.md");
    grants
}

/// A MariaDB user, dropped when this value is dropped.
struct TestUser {
    account: String,
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let account = self.account.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut c) = Conn::new(Opts::from_url(&server_url()).unwrap()).await {
                    let _ = c.query_drop(format!("DROP USER IF EXISTS {account}")).await;
                    let _ = c.disconnect().await;
                }
            });
        })
        .join()
        .unwrap();
    }
}

per_generation!(the_documented_grants_are_enough);
async fn the_documented_grants_are_enough(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    let server = Opts::from_url(&server_url()).unwrap();
    // The account as the server sees this test's connections.
    let host = match server.ip_or_hostname() {
        "127.0.0.1" | "localhost" => "127.0.0.1",
        _ => "%",
    };
    let user = format!("rd_{}", &db.name[db.name.len().saturating_sub(20)..]);
    let account = format!("'{user}'@'{host}'");
    let mut admin = db.pool.get_conn().await.unwrap();
    admin
        .query_drop(format!("CREATE USER {account} IDENTIFIED BY 'pw-4711'"))
        .await
        .unwrap();
    let _guard = TestUser {
        account: account.clone(),
    };
    for grant in documented_grants() {
        // The second block names tables only later ITFlow versions have.
        let table = grant
            .split("ON itflow.")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_string();
        if !db.has_table(&table).await {
            continue;
        }
        let sql = grant
            .replace("ON itflow.", &format!("ON `{}`.", db.name))
            .replace("'replyd'@'127.0.0.1'", &account);
        admin
            .query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    drop(admin);
    let url = format!(
        "mysql://{user}:pw-4711@{}:{}/{}",
        server.ip_or_hostname(),
        server.tcp_port(),
        db.name
    );
    if db.user_keys {
        // Mail configured, an SLA on ticket 1 and a pausing status: the
        // email queue, ticket_history and sla_history are written below.
        db.exec_script(
            "UPDATE settings SET config_smtp_provider = 'smtp'; \
             INSERT INTO slas (sla_id, sla_name, sla_response_minutes, sla_resolution_minutes) VALUES (1, 'S', 60, 480); \
             UPDATE tickets SET ticket_sla_id = 1 WHERE ticket_id = 1; \
             UPDATE ticket_statuses SET ticket_status_pauses_sla = 1 WHERE ticket_status_id = 3",
        )
        .await;
    }
    if db.has_table("email_queue").await {
        // An emailed reply (email_replies, below) reads its author's
        // signature.
        db.exec_script(
            "UPDATE settings SET config_smtp_provider = 'smtp'; \
             INSERT INTO user_settings (user_id, user_config_signature) VALUES (1, ' -- Oracle')",
        )
        .await;
    }
    let app = spawn_on(db, |s| {
        s.database_url = Some(url);
        s.email_replies = true;
        s.legacy_author_user_id = 1;
    })
    .await;
    if app.db.user_keys {
        // Open the resolution clock, then pause it.
        for status in [2, 3] {
            app.create(&format!("ticket_id=1&status={status}"))
                .await
                .assert(
                    200,
                    r#"{"success":"True","count":"1","data":[{"insert_id":0}]}"#,
                );
        }
        app.post_json(
            "/api/v1/ticket_replies/create.php",
            serde_json::json!({"api_key": GLOBAL_KEY, "ticket_id": 2, "ticket_reply": "mail", "ticket_reply_type": "Public"}),
        )
        .await
        .assert(200, r#"{"success":"True","count":"1","data":[{"insert_id":8}]}"#);
        assert_eq!(app.db.count("email_queue").await, 1);
        assert_eq!(
            app.db
                .count("sla_history WHERE sla_history_ended_at IS NOT NULL")
                .await,
            1
        );
        assert_eq!(app.db.count("ticket_history").await, 1);
        emailed_reply(&app, 9).await;
        return;
    }
    app.get("/readyz")
        .await
        .assert(200, r#"{"success":"True","status":"ready"}"#);
    // A reply that resolves the ticket: every table replyd writes.
    app.create("ticket_id=1&ticket_reply=least+privilege&public_reply_type=1&status=4")
        .await
        .assert(
            200,
            r#"{"success":"True","count":"1","data":[{"insert_id":8}]}"#,
        );
    let read = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=8"))
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    assert!(read.body.contains("least privilege"), "{read:?}");
    // A client's reply: the contact's name.
    let read = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=2"))
        .await;
    assert!(read.body.contains("Carla Contact"), "{read:?}");
    app.get(&format!("{READ}?api_key=wrong"))
        .await
        .assert(
            401,
            r#"{"success":"False","message":"Authentication failed. API key is invalid or has expired."}"#,
        );
    app.create("ticket_id=4&status=4")
        .await
        .assert(200, r#"{"success":"False","message":"status 4 (Resolved) is not available while the ticket has tasks that are not completed."}"#);
    if app.db.has_table("email_queue").await {
        emailed_reply(&app, 9).await;
    }
}

/// A reply with email (public_reply_type 2): signed by its author, queued.
async fn emailed_reply(app: &TestApp, id: u64) {
    let before = app.db.count("email_queue").await;
    app.create("ticket_id=2&ticket_reply=signed&public_reply_type=2")
        .await
        .assert(
            200,
            &format!(r#"{{"success":"True","count":"1","data":[{{"insert_id":{id}}}]}}"#),
        );
    assert_eq!(
        app.db
            .count("email_queue WHERE email_content LIKE '%<br>signed -- Oracle<br>%'")
            .await,
        1
    );
    assert_eq!(app.db.count("email_queue").await, before + 1);
}
