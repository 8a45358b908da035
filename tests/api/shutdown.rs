//! Graceful shutdown of the real binary: SIGTERM during a burst of
//! create.php calls.
//!
//! Runs on the two fixtures (the rows a create writes differ by key
//! generation).

use crate::helpers::*;
use crate::process::{Replyd, Signal};
use mysql_async::prelude::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// A client that opens a new connection per request, so that a stopped
/// listener shows at once and no idle keep-alive connection lingers.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// What one create.php call got: the reply text sent, and the insert_id
/// when the answer was a success.
type Outcome = (String, Option<u64>);

async fn create(
    client: &reqwest::Client,
    replyd_url: &str,
    ticket: u32,
    text: &str,
) -> Result<Option<u64>, reqwest::Error> {
    let r = client
        .post(format!("{replyd_url}{CREATE}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "api_key={GLOBAL_KEY}&ticket_id={ticket}&ticket_reply={text}"
        ))
        .send()
        .await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await?;
    Ok((status == 200 && body["success"] == "True")
        .then(|| body["data"][0]["insert_id"].as_u64().unwrap()))
}

/// Workers calling create.php on ticket 1 back to back until a call cannot
/// be sent (the listener is gone).
fn burst(address: &str, workers: usize) -> Vec<JoinHandle<Vec<Outcome>>> {
    (0..workers)
        .map(|w| {
            let address = address.to_string();
            tokio::spawn(async move {
                let client = client();
                let mut outcomes = Vec::new();
                for i in 0.. {
                    let text = format!("burst-{w}-{i}");
                    match create(&client, &address, 1, &text).await {
                        Ok(id) => outcomes.push((text, id)),
                        Err(_) => break,
                    }
                }
                outcomes
            })
        })
        .collect()
}

/// Hold ticket `ticket`'s row lock (as another ITFlow request would) until
/// the returned transaction ends: create.php calls on it wait in flight.
async fn lock_ticket(db: &TestDb, ticket: u32) -> mysql_async::Conn {
    let mut conn = db.pool.get_conn().await.unwrap();
    conn.query_drop("START TRANSACTION").await.unwrap();
    conn.exec_drop(
        "SELECT ticket_id FROM tickets WHERE ticket_id = ? FOR UPDATE",
        (ticket,),
    )
    .await
    .unwrap();
    conn
}

/// End the transaction of [`lock_ticket`].
async fn release(mut lock: mysql_async::Conn) {
    lock.query_drop("ROLLBACK").await.unwrap();
}

/// Requests in flight in replyd now, from its own metrics (minus the scrape).
async fn in_flight(replyd: &Replyd) -> i64 {
    let text = reqwest::get(replyd.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("replyd_http_requests_in_flight "))
        .unwrap()
        .parse()
        .unwrap();
    v - 1
}

async fn wait_for_in_flight(replyd: &Replyd, at_least: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while in_flight(replyd).await < at_least {
        assert!(Instant::now() < deadline, "requests never got in flight");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Nothing half-written: every reply created has its log row and its two
/// notifications (ticket 1 and 5: assigned agent and/or opener), and no
/// log row exists without its reply.
async fn assert_nothing_half_written(db: &TestDb) {
    let replies = db.count("ticket_replies WHERE ticket_reply_id > 7").await;
    let reply_logs = db.count("logs WHERE log_action = 'Reply'").await;
    assert_eq!(replies, reply_logs, "replies and their log rows differ");
    let on_1 = db
        .count("ticket_replies WHERE ticket_reply_id > 7 AND ticket_reply_ticket_id = 1")
        .await;
    let on_5 = db
        .count("ticket_replies WHERE ticket_reply_id > 7 AND ticket_reply_ticket_id = 5")
        .await;
    // Ticket 1: assigned to Tess, opened by Oracle: two notifications per
    // reply. Ticket 5: opened by Oracle, unassigned: one. With user-tied
    // keys the global key writes as Oracle, who is not told of their own
    // replies.
    let expected = if db.user_keys { on_1 } else { 2 * on_1 + on_5 };
    assert_eq!(db.count("notifications").await, expected);
}

per_generation!(sigterm_during_a_burst_finishes_in_flight_calls_and_loses_none: fixtures);
async fn sigterm_during_a_burst_finishes_in_flight_calls_and_loses_none(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    let mut replyd = Replyd::start(&db.url, &[("REPLYD_SHUTDOWN_TIMEOUT_SECS", "20")]).await;

    // Calls that will be in flight when SIGTERM comes: waiting for ticket
    // 5's row lock.
    let lock = lock_ticket(&db, 5).await;
    let waiting: Vec<JoinHandle<Outcome>> = (0..6)
        .map(|i| {
            let address = replyd.address.clone();
            tokio::spawn(async move {
                let text = format!("waiting-{i}");
                let id = create(&client(), &address, 5, &text).await.ok().flatten();
                (text, id)
            })
        })
        .collect();
    wait_for_in_flight(&replyd, 6).await;

    // The burst, then SIGTERM in the middle of it.
    let workers = burst(&replyd.address, 6);
    tokio::time::sleep(Duration::from_millis(300)).await;
    replyd.signal(Signal::SIGTERM);
    let sent_at = Instant::now();

    // Stops accepting, but is still finishing what it has.
    let deadline = Instant::now() + Duration::from_secs(5);
    while client().get(replyd.url("/healthz")).send().await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting connections 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        replyd.running(),
        "replyd exited with calls in flight:\n{}",
        replyd.log()
    );
    // Let the waiting calls through.
    release(lock).await;

    let mut outcomes: Vec<Outcome> = Vec::new();
    for w in workers {
        outcomes.extend(w.await.unwrap());
    }
    let mut finished_late = 0;
    for w in waiting {
        let (text, id) = w.await.unwrap();
        assert!(
            id.is_some(),
            "{text}: a call in flight at SIGTERM got no success answer"
        );
        finished_late += 1;
        outcomes.push((text, id));
    }
    let status = replyd
        .wait_exit(Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("replyd did not exit:\n{}", replyd.log()));
    assert!(status.success(), "exit status {status}:\n{}", replyd.log());
    assert!(sent_at.elapsed() < Duration::from_secs(20));

    let burst_successes = outcomes
        .iter()
        .filter(|(t, id)| t.starts_with("burst") && id.is_some())
        .count();
    let burst_calls = outcomes
        .iter()
        .filter(|(t, _)| t.starts_with("burst"))
        .count();
    eprintln!(
        "burst: {burst_successes} of {burst_calls} answered calls succeeded; 6 calls in flight at SIGTERM finished"
    );
    assert!(burst_successes > 0, "the burst never got going");
    assert_eq!(finished_late, 6);

    // Every success answer is in the database with its text ...
    for (text, id) in &outcomes {
        if let Some(id) = id {
            let stored = db
                .rows(&format!(
                    "SELECT ticket_reply FROM ticket_replies WHERE ticket_reply_id = {id}"
                ))
                .await;
            assert_eq!(
                stored,
                vec![vec![Some(text.clone())]],
                "reply {id} ({text})"
            );
        }
    }
    // ... and nothing is in the database that was not answered as a success.
    let answered: BTreeSet<String> = outcomes
        .iter()
        .filter(|(_, id)| id.is_some())
        .map(|(t, _)| t.clone())
        .collect();
    let stored: BTreeSet<String> = db
        .rows("SELECT ticket_reply FROM ticket_replies WHERE ticket_reply_id > 7")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(stored, answered);
    assert_nothing_half_written(&db).await;
    let log = replyd.log();
    assert!(log.contains("SIGTERM: shutting down"), "{log}");
    assert!(log.contains("database pool closed"), "{log}");
}

per_generation!(the_shutdown_timeout_bounds_how_long_in_flight_calls_may_take: fixtures);
async fn the_shutdown_timeout_bounds_how_long_in_flight_calls_may_take(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    let mut replyd = Replyd::start(
        &db.url,
        &[
            ("REPLYD_SHUTDOWN_TIMEOUT_SECS", "1"),
            ("REPLYD_DB_TIMEOUT_MS", "60000"),
        ],
    )
    .await;
    let lock = lock_ticket(&db, 5).await;
    let stuck: Vec<JoinHandle<Option<u64>>> = (0..3)
        .map(|i| {
            let address = replyd.address.clone();
            tokio::spawn(async move {
                create(&client(), &address, 5, &format!("stuck-{i}"))
                    .await
                    .ok()
                    .flatten()
            })
        })
        .collect();
    wait_for_in_flight(&replyd, 3).await;
    let started = Instant::now();
    let status = replyd.stop(Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(status.success(), "exit status {status}:\n{}", replyd.log());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "stopped after {took:?} with a 1 s shutdown timeout"
    );
    for s in stuck {
        assert_eq!(
            s.await.unwrap(),
            None,
            "a cut-off call was answered as a success"
        );
    }
    // The cut-off transactions roll back once the lock is released.
    release(lock).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(db.count("ticket_replies").await, 7);
    assert_nothing_half_written(&db).await;
}
