//! GET /metrics: what is counted, and who may read it.
//!
//! Counting requests and pool use: on the two fixtures. Who may read
//! /metrics does not depend on the schema: on the first-generation fixture.

use crate::helpers::*;
use std::net::IpAddr;

const FORBIDDEN: &str = r#"{"success":"False","message":"Metrics are served only to the addresses in replyd's metrics_allow setting."}"#;

async fn scrape(app: &TestApp) -> String {
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    r.text().await.unwrap()
}

#[track_caller]
fn assert_line(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line `{line}` in:\n{text}"
    );
}

/// The value of the one sample named exactly `series`.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .parse()
        .unwrap()
}

per_generation!(requests_latency_auth_failures_and_pool_use_are_counted: fixtures);
async fn requests_latency_auth_failures_and_pool_use_are_counted(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1"))
        .await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=999"))
        .await;
    app.create("ticket_id=1&ticket_reply=counted").await;
    app.get(&format!("{READ}?api_key=wrong")).await;
    app.get(READ).await;
    app.get("/nowhere/a").await;
    app.get("/nowhere/b").await;

    let text = scrape(&app).await;
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_line(&text, "# TYPE replyd_http_requests counter");
    // read.php's "no resource" answer is HTTP 200 too.
    assert_line(
        &text,
        r#"replyd_http_requests_total{endpoint="read.php",status="200"} 2"#,
    );
    assert_line(
        &text,
        r#"replyd_http_requests_total{endpoint="read.php",status="401"} 2"#,
    );
    assert_line(
        &text,
        r#"replyd_http_requests_total{endpoint="create.php",status="200"} 1"#,
    );
    // Unknown paths share one label.
    assert_line(
        &text,
        r#"replyd_http_requests_total{endpoint="other",status="404"} 2"#,
    );
    assert_line(
        &text,
        "# TYPE replyd_http_request_duration_seconds histogram",
    );
    assert_line(
        &text,
        r#"replyd_http_request_duration_seconds_count{endpoint="read.php"} 4"#,
    );
    assert_line(
        &text,
        r#"replyd_http_request_duration_seconds_bucket{le="+Inf",endpoint="create.php"} 1"#,
    );
    assert!(
        value(
            &text,
            r#"replyd_http_request_duration_seconds_sum{endpoint="create.php"}"#
        ) > 0.0
    );
    assert_line(&text, r#"replyd_auth_failures_total{reason="invalid"} 1"#);
    assert_line(&text, r#"replyd_auth_failures_total{reason="missing"} 1"#);
    assert_line(&text, r#"replyd_auth_failures_total{reason="refused"} 0"#);
    // The scrape itself is in flight.
    assert_line(&text, "replyd_http_requests_in_flight 1");
    // Connections are kept in the pool between requests, none in use now.
    assert_line(&text, r#"replyd_db_pool_connections{state="in_use"} 0"#);
    assert!(value(&text, r#"replyd_db_pool_connections{state="idle"}"#) >= 1.0);
    assert_line(&text, "replyd_db_pool_max_connections 32");
    assert_line(&text, "replyd_db_pool_waiting 0");
    assert_line(&text, "replyd_db_connect_failures_total 0");
    // The previous scrape is counted by the next one.
    let again = scrape(&app).await;
    assert_line(
        &again,
        r#"replyd_http_requests_total{endpoint="metrics",status="200"} 1"#,
    );
}

#[tokio::test]
async fn metrics_are_refused_to_addresses_not_allowed() {
    let app = spawn_app_with(Generation::ClientKeys, |s| s.metrics_allow = vec![]).await;
    app.get("/metrics").await.assert(403, FORBIDDEN);

    // Allowed: loopback (the default); behind a trusted proxy the client is
    // the X-Forwarded-For address, so a proxy on loopback opens nothing.
    let app = spawn_app(Generation::ClientKeys).await;
    let via_proxy = app
        .client
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    Answer::from(via_proxy).await.assert(403, FORBIDDEN);

    let app = spawn_app_with(Generation::ClientKeys, |s| {
        s.metrics_allow = vec!["203.0.113.9".parse::<IpAddr>().unwrap()];
    })
    .await;
    let r = app
        .client
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.get("/metrics").await.assert(403, FORBIDDEN);
}
