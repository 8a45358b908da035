//! Clients that send slowly or not at all cannot hold replyd: a body that
//! stops arriving is answered 408 within `body_timeout_ms`, and connections
//! past `max_connections` wait in the backlog instead of being served.
//!
//! Nothing here depends on the schema: on the first-generation fixture
//! only.

use crate::helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection and sends a create.php head announcing 100 body
/// bytes, then only three of them.
async fn stalled_post(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(
        format!(
            "POST {CREATE} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\napi"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    s
}

/// Reads until the server closes the connection (or `limit` passes).
async fn read_to_close(s: &mut TcpStream, limit: Duration) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_a_json_408_and_the_connection_closes() {
    let app = spawn_app_with(Generation::ClientKeys, |s| s.body_timeout_ms = 500).await;
    let started = Instant::now();
    let mut s = stalled_post(app.port).await;
    let answer = read_to_close(&mut s, Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "after {took:?}: {answer:?}"
    );
    assert!(
        answer.contains("content-type: application/json"),
        "{answer}"
    );
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(
        answer.ends_with(
            r#"{"success":"False","message":"The request body did not arrive within 500 ms."}"#
        ),
        "{answer}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Nothing was written, and the next client is served.
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(app.db.count("logs").await, 0);
    assert_eq!(app.create("ticket_id=1&ticket_reply=x").await.status, 200);
}

#[tokio::test]
async fn many_stalled_bodies_are_all_answered_in_time() {
    let app = spawn_app_with(Generation::ClientKeys, |s| s.body_timeout_ms = 500).await;
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..100 {
        clients.push(stalled_post(app.port).await);
    }
    let answers = futures_util::future::join_all(
        clients
            .iter_mut()
            .map(|s| read_to_close(s, Duration::from_secs(10))),
    )
    .await;
    assert!(answers.iter().all(|a| a.starts_with("HTTP/1.1 408")));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(Generation::ClientKeys, |s| {
        s.workers = 1;
        s.max_connections = 2;
        s.body_timeout_ms = 60_000;
    })
    .await;
    let first = stalled_post(app.port).await;
    let second = stalled_post(app.port).await;
    // Both held: the two connections are accepted and waiting for bodies.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let third = tokio::spawn({
        let url = app.url(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1"));
        async move {
            let answer = reqwest::get(url).await.unwrap();
            (answer.status().as_u16(), Instant::now())
        }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served past max_connections = 2"
    );
    let freed = Instant::now();
    drop(first);
    drop(second);
    let (status, answered) = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert_eq!(status, 200);
    assert!(answered >= freed);
}
