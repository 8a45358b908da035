//! Crash consistency: the real binary SIGKILLed in the middle of a
//! concurrent create load on both create endpoints, started again on the
//! same database, the load going on; then every acknowledged reply is there
//! with its rows, and nothing is half-written.
//!
//! Runs on the two fixtures (the rows a create writes differ by key
//! generation); heavy, so not again on ITFlow's dumps, whose writes create.rs
//! and the compatibility cases cover.

use crate::helpers::*;
use crate::probe_load::{Baseline, ITFLOW_READ, Load, Reply, check_consistency, summary};
use crate::process::{Replyd, Signal};
use std::time::{Duration, Instant};

/// Load tasks and answered calls per task (both endpoints alternate).
const TASKS: usize = 8;
const PER_TASK: usize = 40;

per_generation!(sigkill_under_a_create_load_loses_no_acknowledged_reply_and_half_writes_nothing: fixtures);
async fn sigkill_under_a_create_load_loses_no_acknowledged_reply_and_half_writes_nothing(
    generation: Generation,
) {
    let test_started = Instant::now();
    let db = TestDb::seeded(generation).await;
    let base = Baseline::take(&db).await;
    let mut replyd = Replyd::start(&db.url, &[]).await;

    let load = Load::start(&replyd.address, "crash", TASKS, PER_TASK);
    // A third of the calls acknowledged, then kill -9 with calls in flight.
    load.wait_acked(TASKS * PER_TASK / 3, Duration::from_secs(30))
        .await;
    let killed_at = Instant::now();
    replyd.signal(Signal::SIGKILL);
    assert!(
        replyd.wait_exit(Duration::from_secs(5)).await.is_some(),
        "replyd survived SIGKILL"
    );
    let acked_before = load.acked();
    // Calls meanwhile find nothing listening.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Same database, a new port; the load follows.
    let replyd = Replyd::start(&db.url, &[]).await;
    load.set_address(&replyd.address);
    let restarted_at = Instant::now();
    let records = tokio::time::timeout(Duration::from_secs(50), load.finish())
        .await
        .expect("the load finished within 50 s");

    // Every answer replyd gave is JSON; with the database up, a success.
    // Calls cut off by the kill got no answer (outcome unknown).
    let mut problems = Vec::new();
    for r in &records {
        match &r.reply {
            Reply::Answer { content_type, .. } if content_type != "application/json" => {
                problems.push(format!("not JSON: {r:?}"))
            }
            Reply::Answer { .. } if r.acked().is_some() => {}
            Reply::Answer { status, body, .. } => {
                // A database slower than db_timeout_ms on a busy machine may
                // answer 503/500 (outcome unknown); a refusal or anything
                // else is a bug.
                let unknown = (*status == 503 && body.contains("The database is unavailable"))
                    || (*status == 500 && body.starts_with(r#"{"success":"False","message":""#));
                if !unknown {
                    problems.push(format!("unexpected answer: {r:?}"));
                }
            }
            Reply::NoAnswer(_) => {
                if r.finished < killed_at || r.started > restarted_at {
                    problems.push(format!("no answer while replyd ran: {r:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let cut_off = records
        .iter()
        .filter(|r| matches!(r.reply, Reply::NoAnswer(_)) && r.started < killed_at)
        .count();
    let acked_after = records
        .iter()
        .filter(|r| r.acked().is_some() && r.started > restarted_at)
        .count();
    assert!(
        acked_after >= TASKS * PER_TASK / 3,
        "the restarted replyd took the load: {acked_after} acknowledged\n{}",
        summary(&records)
    );

    let found = check_consistency(&db, &base, &records).await;
    // The restarted replyd reads what the killed one acknowledged.
    let first = records.iter().find_map(|r| r.acked()).unwrap();
    let a = Answer::from(
        reqwest::get(replyd.url(&format!(
            "{ITFLOW_READ}?api_key={GLOBAL_KEY}&ticket_reply_id={first}"
        )))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(a.json()["data"][0]["ticket_reply_id"], first.to_string());
    eprintln!(
        "crash probe: {} acknowledged before the kill, {cut_off} calls cut off by it, \
         {acked_after} acknowledged after the restart, {found} replies written; {:?}\n{}",
        acked_before,
        test_started.elapsed(),
        summary(&records)
    );
}
