//! `Idempotency-Key` on both v1 creates: replays, refusals, concurrency,
//! expiry, and the table only `replyd doctor --apply` creates.
//!
//! The record lives beside ITFlow's tables and is keyed by `api_keys`: every
//! test runs on every generation.

use crate::helpers::*;
use std::process::Command;

const ITFLOW_CREATE: &str = "/api/v1/ticket_replies/create.php";
const TABLE: &str = "replyd_idempotency";
const REUSED: &str = r#"{"success":"False","message":"This Idempotency-Key was used for a different request in the last 24 hours; send a new key with a new request."}"#;
const NOT_ENABLED: &str = r#"{"success":"False","message":"Idempotency-Key is not enabled on this server: its table replyd_idempotency is missing; run `replyd doctor --apply` to create it, or send the request without Idempotency-Key."}"#;

fn created(id: u64) -> String {
    format!(r#"{{"success":"True","count":"1","data":[{{"insert_id":{id}}}]}}"#)
}

/// An answer and whether it was marked replayed.
struct Keyed {
    answer: Answer,
    replayed: Option<String>,
}

async fn post_keyed(app: &TestApp, path: &str, key: Option<&str>, body: &str) -> Keyed {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_string());
    Keyed {
        answer: Answer::from(response).await,
        replayed,
    }
}

async fn enable(db: &TestDb) {
    db.exec_script(replyd::db::idempotency::CREATE_TABLE).await;
}

fn form(text: &str) -> String {
    format!("api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply={text}")
}

async fn written(app: &TestApp) -> (i64, i64) {
    (
        app.db.count("ticket_replies").await,
        app.db.count("logs").await,
    )
}

per_generation!(a_retry_replays_the_first_answer_and_writes_nothing);
async fn a_retry_replays_the_first_answer_and_writes_nothing(generation: Generation) {
    let app = spawn_app(generation).await;
    enable(&app.db).await;
    let first = post_keyed(&app, CREATE, Some("retry-1"), &form("once")).await;
    first.answer.assert(200, &created(8));
    assert_eq!(first.replayed, None);
    let after_first = written(&app).await;
    for _ in 0..3 {
        let again = post_keyed(&app, CREATE, Some("retry-1"), &form("once")).await;
        again.answer.assert(200, &created(8));
        assert_eq!(again.answer.body.as_bytes(), first.answer.body.as_bytes());
        assert_eq!(again.replayed.as_deref(), Some("true"));
        assert_eq!(written(&app).await, after_first, "a replay wrote");
    }
    // ITFlow's own create, the same way.
    let body = format!(r#"{{"api_key":"{GLOBAL_KEY}","ticket_id":1,"ticket_reply":"itflow"}}"#);
    let first = post_keyed(&app, ITFLOW_CREATE, Some("retry-2"), &body).await;
    first.answer.assert(200, &created(9));
    let again = post_keyed(&app, ITFLOW_CREATE, Some("retry-2"), &body).await;
    again.answer.assert(200, &created(9));
    assert_eq!(again.replayed.as_deref(), Some("true"));
    assert_eq!(app.db.count("ticket_replies").await, 9);
    // Without the header, every request writes.
    post_keyed(&app, CREATE, None, &form("once"))
        .await
        .answer
        .assert(200, &created(10));
}

per_generation!(the_same_key_with_another_request_is_422);
async fn the_same_key_with_another_request_is_422(generation: Generation) {
    let app = spawn_app(generation).await;
    enable(&app.db).await;
    post_keyed(&app, CREATE, Some("k"), &form("first"))
        .await
        .answer
        .assert(200, &created(8));
    let before = written(&app).await;
    // Another body, another path.
    let other = post_keyed(&app, CREATE, Some("k"), &form("second")).await;
    other.answer.assert(422, REUSED);
    assert_eq!(other.replayed, None);
    let body = format!(r#"{{"api_key":"{GLOBAL_KEY}","ticket_id":1,"ticket_reply":"first"}}"#);
    post_keyed(&app, ITFLOW_CREATE, Some("k"), &body)
        .await
        .answer
        .assert(422, REUSED);
    assert_eq!(written(&app).await, before);
    // Another API key's "k" is its own.
    post_keyed(
        &app,
        CREATE,
        Some("k"),
        &format!("api_key={ACME_KEY}&ticket_id=1&ticket_reply=first"),
    )
    .await
    .answer
    .assert(200, &created(9));
}

per_generation!(parallel_requests_with_one_key_write_once);
async fn parallel_requests_with_one_key_write_once(generation: Generation) {
    let app = spawn_app(generation).await;
    enable(&app.db).await;
    let body = form("parallel");
    let answers = futures_util::future::join_all(
        (0..10).map(|_| post_keyed(&app, CREATE, Some("together"), &body)),
    )
    .await;
    for keyed in &answers {
        keyed.answer.assert(200, &created(8));
    }
    let replayed = answers
        .iter()
        .filter(|k| k.replayed.as_deref() == Some("true"))
        .count();
    assert_eq!(replayed, 9);
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM ticket_replies WHERE ticket_reply = 'parallel'")
            .await
            .as_deref(),
        Some("1")
    );
    assert_eq!(app.db.count(TABLE).await, 1);
}

per_generation!(a_refusal_is_not_kept_so_a_retry_can_succeed);
async fn a_refusal_is_not_kept_so_a_retry_can_succeed(generation: Generation) {
    let app = spawn_app(generation).await;
    enable(&app.db).await;
    let closed =
        "UPDATE tickets SET ticket_status = 5, ticket_closed_at = NOW() WHERE ticket_id = 1";
    app.db.exec_script(closed).await;
    let refused = post_keyed(&app, CREATE, Some("later"), &form("x")).await;
    assert_eq!(
        refused.answer.json()["success"],
        "False",
        "{:?}",
        refused.answer
    );
    assert_eq!(app.db.count(TABLE).await, 0);
    app.db
        .exec_script(
            "UPDATE tickets SET ticket_status = 2, ticket_closed_at = NULL WHERE ticket_id = 1",
        )
        .await;
    post_keyed(&app, CREATE, Some("later"), &form("x"))
        .await
        .answer
        .assert(200, &created(8));
}

per_generation!(without_the_table_a_keyed_request_is_refused_with_how_to_enable_it);
async fn without_the_table_a_keyed_request_is_refused_with_how_to_enable_it(
    generation: Generation,
) {
    let app = spawn_app(generation).await;
    let before = written(&app).await;
    post_keyed(&app, CREATE, Some("k"), &form("x"))
        .await
        .answer
        .assert(200, NOT_ENABLED);
    let body = format!(r#"{{"api_key":"{GLOBAL_KEY}","ticket_id":1,"ticket_reply":"x"}}"#);
    post_keyed(&app, ITFLOW_CREATE, Some("k"), &body)
        .await
        .answer
        .assert(200, NOT_ENABLED);
    assert_eq!(written(&app).await, before);
    assert!(!app.db.has_table(TABLE).await);
    // A malformed key is a 400, after authentication.
    post_keyed(&app, CREATE, Some(&"k".repeat(256)), &form("x"))
        .await
        .answer
        .assert(
            400,
            r#"{"success":"False","message":"Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID, say)."}"#,
        );
    // Reads ignore the header.
    let read = app
        .client
        .get(app.url(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1")))
        .header("idempotency-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    // Without the header, creates work as before.
    post_keyed(&app, CREATE, None, &form("x"))
        .await
        .answer
        .assert(200, &created(8));
}

fn doctor(db: &TestDb, apply: bool) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replyd"));
    cmd.current_dir(std::env::temp_dir());
    for (k, _) in std::env::vars() {
        if k.starts_with("REPLYD_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("doctor").env("REPLYD_DATABASE_URL", &db.url);
    if apply {
        cmd.arg("--apply");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

per_generation!(doctor_apply_creates_the_table_and_only_it_does);
async fn doctor_apply_creates_the_table_and_only_it_does(generation: Generation) {
    let app = spawn_app(generation).await;
    assert!(!app.db.has_table(TABLE).await, "startup created the table");
    let (_, out) = doctor(&app.db, false);
    assert!(out.contains("table replyd_idempotency missing"), "{out}");
    assert!(out.contains("CREATE TABLE"), "{out}");
    assert!(
        !app.db.has_table(TABLE).await,
        "doctor without --apply created it"
    );
    let (code, out) = doctor(&app.db, true);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("created: table replyd_idempotency"), "{out}");
    assert!(app.db.has_table(TABLE).await);
    let (code, out) = doctor(&app.db, true);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("created:"), "{out}");
    assert!(out.contains("Idempotency-Key is enabled"), "{out}");
    // The running replyd uses it at once.
    post_keyed(&app, CREATE, Some("k"), &form("x"))
        .await
        .answer
        .assert(200, &created(8));
    let again = post_keyed(&app, CREATE, Some("k"), &form("x")).await;
    assert_eq!(again.replayed.as_deref(), Some("true"));
}

per_generation!(a_key_is_forgotten_after_24_hours);
async fn a_key_is_forgotten_after_24_hours(generation: Generation) {
    let app = spawn_app(generation).await;
    enable(&app.db).await;
    post_keyed(&app, CREATE, Some("old"), &form("x"))
        .await
        .answer
        .assert(200, &created(8));
    // 23 hours on: still kept.
    app.db
        .exec_script(&format!(
            "UPDATE {TABLE} SET idempotency_created_at = idempotency_created_at - INTERVAL 23 HOUR"
        ))
        .await;
    let kept = post_keyed(&app, CREATE, Some("old"), &form("x")).await;
    assert_eq!(kept.replayed.as_deref(), Some("true"));
    post_keyed(&app, CREATE, Some("old"), &form("y"))
        .await
        .answer
        .assert(422, REUSED);
    // Past 24 hours: ignored, replaced by the new request's.
    app.db
        .exec_script(&format!(
            "UPDATE {TABLE} SET idempotency_created_at = idempotency_created_at - INTERVAL 2 HOUR"
        ))
        .await;
    let fresh = post_keyed(&app, CREATE, Some("old"), &form("y")).await;
    fresh.answer.assert(200, &created(9));
    assert_eq!(fresh.replayed, None);
    assert_eq!(app.db.count(TABLE).await, 1);
    let again = post_keyed(&app, CREATE, Some("old"), &form("y")).await;
    again.answer.assert(200, &created(9));
    assert_eq!(again.replayed.as_deref(), Some("true"));
}

async fn post_multipart(app: &TestApp, key: &str, file: &[u8]) -> Keyed {
    let (content_type, body) = crate::attachments::multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"See attached"),
        ("attachments[]", Some("notes.txt"), file),
    ]);
    let response = app
        .client
        .post(app.url(CREATE))
        .header("content-type", content_type)
        .header("idempotency-key", key)
        .body(body)
        .send()
        .await
        .unwrap();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_string());
    Keyed {
        answer: Answer::from(response).await,
        replayed,
    }
}

fn files_in(dir: &std::path::Path) -> usize {
    walk(dir)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

// Attachments need ticket_attachments (not in the first-generation fixture).
per_generation!(a_multipart_retry_is_the_same_request_only_with_the_same_files: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn a_multipart_retry_is_the_same_request_only_with_the_same_files(generation: Generation) {
    let uploads = tempfile::tempdir().unwrap();
    let dir = uploads.path().to_path_buf();
    let app = spawn_app_with(generation, move |s| s.uploads_dir = Some(dir)).await;
    enable(&app.db).await;
    post_multipart(&app, "files", b"hello")
        .await
        .answer
        .assert(200, &created(8));
    assert_eq!(files_in(uploads.path()), 1);
    let again = post_multipart(&app, "files", b"hello").await;
    again.answer.assert(200, &created(8));
    assert_eq!(again.replayed.as_deref(), Some("true"));
    // Another file's contents under the same name: another request.
    post_multipart(&app, "files", b"hellO")
        .await
        .answer
        .assert(422, REUSED);
    assert_eq!(app.db.count("ticket_attachments").await, 1);
    assert_eq!(app.db.count("ticket_replies").await, 8);
    assert_eq!(files_in(uploads.path()), 1, "a replay left a file");
}
