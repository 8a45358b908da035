//! Database outages, on a private MariaDB server the test stops, freezes
//! and starts again: requests get a JSON 503 within a bounded time, and
//! replyd recovers by itself.
//!
//! Runs on the two fixtures (the private server gets each generation's
//! schema); an outage's handling does not differ on ITFlow's dumps.

use crate::helpers::*;
use crate::private_db::PrivateMariaDb;
use std::time::{Duration, Instant};

const UNAVAILABLE: &str =
    r#"{"success":"False","message":"The database is unavailable; try again shortly."}"#;
const DB_TIMEOUT_MS: u64 = 1000;
/// An answer during an outage comes within the database timeout plus this.
const SLACK: Duration = Duration::from_secs(3);

/// `request`'s answer; a request hanging for 10 s fails the test (rather
/// than hanging it).
async fn no_hang<T>(request: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), request)
        .await
        .expect("the request hung for 10 s")
}

/// `request`'s answer (see `no_hang`) and how long it took.
async fn timed<T>(request: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let answer = no_hang(request).await;
    (answer, started.elapsed())
}

/// GET read.php, with how long the answer took.
async fn timed_read(app: &TestApp) -> (Answer, Duration) {
    timed(app.get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1"))).await
}

/// Every API request and /readyz answer 503 in bounded time; /healthz 200.
async fn assert_unavailable(app: &TestApp, what: &str) {
    let bound = Duration::from_millis(DB_TIMEOUT_MS) + SLACK;
    let (answer, took) = timed_read(app).await;
    answer.assert(503, UNAVAILABLE);
    assert!(took < bound, "{what}: read.php answered after {took:?}");

    let (answer, took) = timed(app.create("ticket_id=1&ticket_reply=during+the+outage")).await;
    answer.assert(503, UNAVAILABLE);
    assert!(took < bound, "{what}: create.php took {took:?}");

    // ITFlow's own create endpoint is bounded the same way.
    let (answer, took) = timed(app.post_json(
        "/api/v1/ticket_replies/create.php",
        serde_json::json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "during the outage"}),
    ))
    .await;
    answer.assert(503, UNAVAILABLE);
    assert!(
        took < bound,
        "{what}: ticket_replies/create.php took {took:?}"
    );

    // v2: a 503 problem document, read or write.
    let v2_read = app
        .client
        .get(app.url("/api/v2/tickets/1/replies"))
        .bearer_auth(GLOBAL_KEY)
        .send();
    let v2_write = app
        .client
        .post(app.url("/api/v2/tickets/1/replies"))
        .bearer_auth(GLOBAL_KEY)
        .json(&serde_json::json!({"body": "during the outage"}))
        .send();
    for (request, took) in [timed(v2_read).await, timed(v2_write).await] {
        let answer = Answer::from(request.unwrap()).await;
        assert_eq!(answer.status, 503, "{what}: {answer:?}");
        assert_eq!(answer.content_type, "application/problem+json");
        assert_eq!(answer.json()["status"], 503);
        assert!(took < bound, "{what}: v2 took {took:?}");
    }

    let (ready, took) = timed(app.get("/readyz")).await;
    assert_eq!(ready.status, 503, "{what}: {ready:?}");
    assert!(
        ready
            .body
            .starts_with(r#"{"success":"False","message":"Not ready: "#),
        "{ready:?}"
    );
    assert!(took < bound, "{what}: readyz took {took:?}");

    no_hang(app.get("/healthz"))
        .await
        .assert(200, r#"{"success":"True","status":"up"}"#);
}

/// Poll until read.php answers 200 again (at most `limit`).
async fn assert_recovers(app: &TestApp, what: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (answer, _) = timed_read(app).await;
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 503, "{what}: {answer:?}");
        assert!(
            Instant::now() < deadline,
            "{what}: no recovery within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.get("/readyz")
        .await
        .assert(200, r#"{"success":"True","status":"ready"}"#);
}

per_generation!(a_database_outage_is_a_bounded_503_and_replyd_recovers: fixtures);
async fn a_database_outage_is_a_bounded_503_and_replyd_recovers(generation: Generation) {
    let Some(mut server) = PrivateMariaDb::start().await else {
        return;
    };
    let db = TestDb::seeded_on(&server.url(), generation).await;
    let app = spawn_on(db, |s| s.db_timeout_ms = DB_TIMEOUT_MS).await;
    let (answer, _) = timed_read(&app).await;
    assert_eq!(answer.status, 200, "{answer:?}");

    // A hung database: connections open, nothing answers.
    server.freeze().await;
    assert_unavailable(&app, "frozen").await;
    server.thaw();
    assert_recovers(&app, "after the freeze", Duration::from_secs(10)).await;

    // A stopped database.
    server.stop().await;
    assert_unavailable(&app, "stopped").await;
    // Still down a while later: no hang, same answer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_unavailable(&app, "still stopped").await;

    server.start_again().await;
    assert_recovers(&app, "after the restart", Duration::from_secs(30)).await;
    // Nothing attempted during the outage was written; writing works again.
    assert_eq!(app.db.count("ticket_replies").await, 7);
    app.create("ticket_id=1&ticket_reply=after+the+outage")
        .await
        .assert(
            200,
            r#"{"success":"True","count":"1","data":[{"insert_id":8}]}"#,
        );
    assert_eq!(app.db.count("logs WHERE log_action = 'Reply'").await, 1);
    drop(app);
}
