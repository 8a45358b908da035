//! The database killed under load: the private MariaDB server (never the
//! shared one) SIGKILLed during a concurrent create load on the real
//! binary. Answers during the outage are JSON 503s (or, for a transaction
//! cut in the middle, a JSON 500), replyd recovers without a restart once
//! the server is back, and no acknowledged reply is lost or half-written.
//!
//! Runs on the two fixtures (the rows a create writes differ by key
//! generation); heavy, so not again on ITFlow's dumps.

use crate::helpers::*;
use crate::private_db::PrivateMariaDb;
use crate::probe_load::{
    Baseline, Endpoint, ITFLOW_READ, Load, Record, Reply, Sent, check_consistency, load_client,
    send, summary,
};
use crate::process::Replyd;
use std::time::{Duration, Instant};

const UNAVAILABLE: &str =
    r#"{"success":"False","message":"The database is unavailable; try again shortly."}"#;
/// The two 500s a transaction cut by the kill may get: before COMMIT
/// (rolled back), and when COMMIT itself got no answer (outcome unknown).
const CUT_IN_TRANSACTION: [&str; 2] = [
    r#"{"success":"False","message":"Internal error while talking to the database; nothing was written."}"#,
    r#"{"success":"False","message":"The database failed while committing; check before retrying, the write may or may not have been saved."}"#,
];
const DB_TIMEOUT_MS: u64 = 1000;
/// An answer during the outage comes within db_timeout_ms plus this.
const SLACK: Duration = Duration::from_secs(3);
const TASKS: usize = 8;

/// An answer, bounded in time (a hang fails the test).
async fn timed_get(client: &reqwest::Client, url: String) -> (Answer, Duration) {
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(10), client.get(url).send())
        .await
        .expect("no hang")
        .expect("replyd answers");
    (Answer::from(r).await, started.elapsed())
}

/// A create call outside the load, recorded like the load's calls.
async fn probe_create(address: &str, endpoint: Endpoint, n: usize) -> Record {
    let sent = Sent {
        text: format!("dbkill probe {n} {endpoint:?}"),
        endpoint,
        ticket: 5,
        public: false,
        time_worked: "00:01:00".into(),
        status: None,
    };
    let started = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        send(&load_client(), address, &sent),
    )
    .await
    .expect("no hang");
    Record {
        sent,
        reply,
        started,
        finished: Instant::now(),
    }
}

per_generation!(killing_the_database_under_load_is_a_json_503_and_replyd_recovers_losing_nothing: fixtures);
async fn killing_the_database_under_load_is_a_json_503_and_replyd_recovers_losing_nothing(
    generation: Generation,
) {
    let test_started = Instant::now();
    let Some(mut server) = PrivateMariaDb::start().await else {
        return;
    };
    let mut db = TestDb::seeded_on(&server.url(), generation).await;
    let base = Baseline::take(&db).await;
    let timeout = DB_TIMEOUT_MS.to_string();
    let mut replyd = Replyd::start(&db.url, &[("REPLYD_DB_TIMEOUT_MS", timeout.as_str())]).await;
    let pid = replyd.pid();
    let client = reqwest::Client::new();

    let load = Load::start(&replyd.address, "dbkill", TASKS, 100_000);
    load.wait_acked(60, Duration::from_secs(30)).await;

    let killed_at = Instant::now();
    server.kill().await;
    let killed_done = Instant::now();

    // During the outage: every endpoint a bounded JSON 503; /healthz up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bound = Duration::from_millis(DB_TIMEOUT_MS) + SLACK;
    for path in [
        format!("{READ}?api_key={GLOBAL_KEY}&ticket_id=1"),
        format!("{ITFLOW_READ}?api_key={GLOBAL_KEY}&ticket_id=1"),
    ] {
        let (a, took) = timed_get(&client, replyd.url(&path)).await;
        a.assert(503, UNAVAILABLE);
        assert!(took < bound, "{path}: {took:?}");
    }
    let mut probes = Vec::new();
    for (n, endpoint) in [Endpoint::Legacy, Endpoint::Itflow].into_iter().enumerate() {
        let r = probe_create(&replyd.address, endpoint, n).await;
        match &r.reply {
            Reply::Answer {
                status: 503,
                content_type,
                body,
            } if content_type == "application/json" && body == UNAVAILABLE => {}
            other => panic!("create during the outage: {other:?}"),
        }
        assert!(r.finished - r.started < bound, "{r:?}");
        probes.push(r);
    }
    let (a, _) = timed_get(&client, replyd.url("/healthz")).await;
    a.assert(200, r#"{"success":"True","status":"up"}"#);
    // The load keeps hitting the dead database a while.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    server.start_again().await;
    let back_at = Instant::now();
    // Recovery without restarting replyd: a read, then a create, succeed.
    let deadline = back_at + Duration::from_secs(30);
    loop {
        let (a, _) = timed_get(
            &client,
            replyd.url(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1")),
        )
        .await;
        if a.status == 200 {
            break;
        }
        a.assert(503, UNAVAILABLE);
        assert!(Instant::now() < deadline, "no recovery within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered_in = back_at.elapsed();
    let mut created = None;
    for (n, endpoint) in [Endpoint::Legacy, Endpoint::Itflow].into_iter().enumerate() {
        let r = probe_create(&replyd.address, endpoint, n + 2).await;
        assert!(r.acked().is_some(), "create after recovery: {r:?}");
        created = r.acked();
        probes.push(r);
    }
    let (a, _) = timed_get(
        &client,
        replyd.url(&format!(
            "{ITFLOW_READ}?api_key={GLOBAL_KEY}&ticket_reply_id={}",
            created.unwrap()
        )),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(replyd.running() && replyd.pid() == pid, "the same replyd");

    // More load on the recovered database, then stop.
    let acked_at_recovery = load.acked();
    load.wait_acked(acked_at_recovery + 40, Duration::from_secs(30))
        .await;
    let mut records = tokio::time::timeout(Duration::from_secs(30), load.stop())
        .await
        .expect("the load stops within 30 s");

    // Every answer: a success, a JSON 503, or for a transaction cut by the
    // kill a JSON 500; replyd itself never stopped answering.
    let mut problems = Vec::new();
    let mut unavailable = 0;
    for r in &records {
        match &r.reply {
            _ if r.acked().is_some() => {}
            Reply::Answer {
                status,
                content_type,
                body,
            } => {
                let json = content_type == "application/json";
                if *status == 503 && json && body == UNAVAILABLE {
                    unavailable += 1;
                } else if *status == 500
                    && json
                    && CUT_IN_TRANSACTION.contains(&body.as_str())
                    && r.started <= killed_done
                {
                } else {
                    problems.push(format!("unexpected answer: {r:?}"));
                }
            }
            Reply::NoAnswer(e) => problems.push(format!("no answer from replyd: {e}: {r:?}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        unavailable > 0,
        "the load saw the outage\n{}",
        summary(&records)
    );

    // The pool's connections died with the server.
    db.pool = mysql_async::Pool::new(mysql_async::Opts::from_url(&db.url).unwrap());
    records.extend(probes);
    let found = check_consistency(&db, &base, &records).await;
    eprintln!(
        "database kill probe: killed {:?} after start, back after {:?}, replyd recovered {recovered_in:?} \
         after the restart; {found} replies written; {:?} in all\n{}",
        killed_at - test_started,
        back_at - killed_at,
        test_started.elapsed(),
        summary(&records)
    );
    drop(replyd);
    drop(db);
}
