//! The access log of the real binary: one line per request with the key's
//! name, never its secret nor the query string; RUST_LOG sets the level.
//!
//! The access log names the key, looked up per key generation: on the two
//! fixtures. RUST_LOG's level does not depend on the schema: on the
//! first-generation fixture only.

use crate::helpers::*;
use crate::process::Replyd;
use std::time::Duration;

/// Requests of every kind, with secrets in the query string and the body.
async fn traffic(replyd: &Replyd) {
    let c = reqwest::Client::new();
    let get = |p: String| c.get(replyd.url(&p)).send();
    get(format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1"))
        .await
        .unwrap();
    c.post(replyd.url(CREATE))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "api_key={ACME_KEY}&ticket_id=1&ticket_reply=logged"
        ))
        .send()
        .await
        .unwrap();
    get(format!("{READ}?api_key=wrong-secret-4711"))
        .await
        .unwrap();
    get(format!("{READ}?ticket_id=1")).await.unwrap();
    get("/healthz".into()).await.unwrap();
}

fn access_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("replyd::access"))
        .collect()
}

#[track_caller]
fn assert_has_line(lines: &[&str], middle: &str, end: &str) {
    assert!(
        lines
            .iter()
            .any(|l| l.contains(middle) && l.ends_with(end) && l.contains("ms key=")),
        "no access line with `{middle}` ending `{end}` in:\n{}",
        lines.join("\n")
    );
}

per_generation!(one_line_per_request_with_the_key_name_never_the_secret: fixtures);
async fn one_line_per_request_with_the_key_name_never_the_secret(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    let mut replyd = Replyd::start(&db.url, &[]).await;
    traffic(&replyd).await;
    assert!(replyd.stop(Duration::from_secs(30)).await.success());
    let log = replyd.log();
    let lines = access_lines(&log);
    assert_has_line(
        &lines,
        r#"INFO  replyd::access] 127.0.0.1 "GET /api/v1/tickets/replies/read.php" 200 "#,
        r#"key="Global key""#,
    );
    assert_has_line(
        &lines,
        r#"] 127.0.0.1 "POST /api/v1/tickets/replies/create.php" 200 55B "#,
        r#"key="Acme key""#,
    );
    assert_has_line(
        &lines,
        r#""GET /api/v1/tickets/replies/read.php" 401 89B "#,
        "key=-",
    );
    assert_has_line(
        &lines,
        r#""GET /api/v1/tickets/replies/read.php" 401 74B "#,
        "key=-",
    );
    // One line per API request; answered health checks are debug.
    assert_eq!(lines.len(), 4, "{log}");
    for secret in [
        GLOBAL_KEY,
        ACME_KEY,
        "wrong-secret-4711",
        "api_key=",
        "ticket_id=",
    ] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
}

#[tokio::test]
async fn rust_log_sets_the_level() {
    let db = TestDb::seeded(Generation::ClientKeys).await;
    let mut quiet = Replyd::start(&db.url, &[("RUST_LOG", "warn")]).await;
    traffic(&quiet).await;
    quiet.stop(Duration::from_secs(30)).await;
    assert_eq!(access_lines(&quiet.log()), Vec::<&str>::new());

    let mut chatty = Replyd::start(&db.url, &[("RUST_LOG", "info,replyd::access=debug")]).await;
    traffic(&chatty).await;
    chatty.stop(Duration::from_secs(30)).await;
    let log = chatty.log();
    let lines = access_lines(&log);
    // Startup's own /healthz polls are there too.
    assert_has_line(
        &lines,
        r#"DEBUG replyd::access] 127.0.0.1 "GET /healthz" 200 32B "#,
        "key=-",
    );
    assert!(lines.len() >= 5, "{log}");
}
