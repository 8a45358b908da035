//! Reads whose answer is far larger than replyd's memory may grow: the real
//! binary answers 150 replies of 700 KiB each (about 119 MB of JSON)
//! byte for byte, alone and three at once, while its peak RSS stays small.
//!
//! Runs on the two fixtures (the read's scope SQL differs by key
//! generation); about 20 s each, so not on ITFlow's dumps, whose reads
//! read.rs covers.

use crate::helpers::*;
use crate::process::Replyd;
use crate::read::{T1, row};
use mysql_async::prelude::*;
use std::time::Instant;

/// Replies added to ticket 1, in statements of `PER_INSERT`.
const REPLIES: usize = 150;
const PER_INSERT: usize = 50;
/// One piece of a reply, repeated: mostly plain text, with an accent,
/// quotes, a slash and a newline, which json_encode escapes.
const PIECE: &str =
    "Plain words of a long reply, with an accent: \u{e9}, \"quotes\" and a / slash.\n";
/// The same piece as json_encode writes it.
const PIECE_JSON: &str =
    r#"Plain words of a long reply, with an accent: \u00e9, \"quotes\" and a \/ slash.\n"#;
/// Repeats of `PIECE` per reply: 700 KiB of text, so that the answer is just
/// past 100 MB (the debug build the tests run escapes JSON at only about
/// 25 MB/s, and the test reads the answer four times).
const REPEATS: usize = 700 * 1024 / PIECE.len();
/// replyd's peak resident memory must stay under this while it answers.
const RSS_BOUND_KIB: u64 = 100 * 1024;

/// Peak resident memory of `pid` so far (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .map(|v| v.trim().parse().unwrap())
        .expect("VmHWM in /proc/PID/status")
}

/// Adds the large replies to ticket 1 (server side: a few INSERT ... SELECT
/// of REPEAT(), not 150 MiB sent by the test) and returns their ids, oldest
/// first.
async fn add_large_replies(db: &TestDb) -> Vec<u32> {
    let mut conn = db.pool.get_conn().await.unwrap();
    for _ in 0..REPLIES / PER_INSERT {
        conn.exec_drop(
            format!(
                "INSERT INTO ticket_replies (ticket_reply, ticket_reply_type, ticket_reply_by, \
                 ticket_reply_ticket_id, ticket_reply_created_at) \
                 SELECT REPEAT(?, ?), 'Internal', 1, 1, '2026-11-22 10:00:00' FROM seq_1_to_{PER_INSERT}"
            ),
            (PIECE, REPEATS),
        )
        .await
        .unwrap();
    }
    conn.query("SELECT ticket_reply_id FROM ticket_replies WHERE LENGTH(ticket_reply) > 100000 ORDER BY ticket_reply_id")
        .await
        .unwrap()
}

/// The answer expected for `ids` in that order, piece by piece, so that a
/// few hundred MB are compared without being held.
fn expected(ids: Vec<u32>) -> impl Iterator<Item = Vec<u8>> {
    let text = PIECE_JSON.repeat(REPEATS);
    let count = ids.len();
    std::iter::once(format!(r#"{{"success":"True","count":{count},"data":["#).into_bytes())
        .chain(ids.into_iter().enumerate().map(move |(i, id)| {
            let row = row(
                id,
                &text,
                "Internal",
                None,
                "2026-11-22 10:00:00",
                None,
                1,
                T1,
                Some("Oracle Admin"),
            );
            if i == 0 { row } else { format!(",{row}") }.into_bytes()
        }))
        .chain(std::iter::once(b"]}".to_vec()))
}

/// GETs `path` from `replyd` and compares the body with `want` as it
/// arrives; returns its length.
async fn read_and_compare(
    client: &reqwest::Client,
    replyd: &Replyd,
    path: &str,
    want: impl Iterator<Item = Vec<u8>>,
) -> u64 {
    let mut r = client.get(replyd.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(r.headers()["content-type"], "application/json");
    let length: u64 = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut want = want;
    let mut pending: Vec<u8> = Vec::new();
    let mut at = 0;
    let mut received = 0u64;
    while let Some(chunk) = r.chunk().await.unwrap() {
        received += chunk.len() as u64;
        let mut chunk = &chunk[..];
        while !chunk.is_empty() {
            if at == pending.len() {
                pending = want
                    .next()
                    .unwrap_or_else(|| panic!("{path}: the answer goes on past {received} bytes"));
                at = 0;
            }
            let n = chunk.len().min(pending.len() - at);
            assert!(
                chunk[..n] == pending[at..at + n],
                "{path}: the answer differs near byte {received}: got {:?}, want {:?}",
                String::from_utf8_lossy(&chunk[..n.min(200)]),
                String::from_utf8_lossy(&pending[at..at + n.min(200)]),
            );
            at += n;
            chunk = &chunk[n..];
        }
    }
    assert!(
        at == pending.len() && want.next().is_none(),
        "{path}: the answer stops short after {received} bytes"
    );
    assert_eq!(received, length, "{path}: Content-Length");
    received
}

per_generation!(a_read_of_hundreds_of_mb_keeps_memory_bounded_and_the_bytes_exact: fixtures);
async fn a_read_of_hundreds_of_mb_keeps_memory_bounded_and_the_bytes_exact(generation: Generation) {
    let started = Instant::now();
    let db = TestDb::seeded(generation).await;
    let ids = add_large_replies(&db).await;
    assert_eq!(ids.len(), REPLIES);
    let seeded = started.elapsed();
    let replyd = Replyd::start(&db.url, &[]).await;
    let client = reqwest::Client::new();
    // Warm: a small read.
    let small = client
        .get(replyd.url(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    let idle_kib = peak_rss_kib(replyd.pid());

    // read.php, newest first: the 150 large replies.
    let newest_first = || ids.iter().rev().copied().collect::<Vec<_>>();
    let v1 = format!("{READ}?api_key={GLOBAL_KEY}&ticket_id=1&limit={REPLIES}");
    let size = read_and_compare(&client, &replyd, &v1, expected(newest_first())).await;
    assert!(size > 100_000_000, "the answer is only {size} bytes");
    let one_kib = peak_rss_kib(replyd.pid());

    // Three at once, one of them through ITFlow's own endpoint (oldest
    // first, past ticket 1's four small replies): every one answered whole,
    // none a 503.
    let itflow = format!(
        "/api/v1/ticket_replies/read.php?api_key={GLOBAL_KEY}&ticket_id=1&limit={REPLIES}&offset=4"
    );
    let sizes = futures_util::future::join3(
        read_and_compare(&client, &replyd, &v1, expected(newest_first())),
        read_and_compare(&client, &replyd, &itflow, expected(ids.clone())),
        read_and_compare(&client, &replyd, &v1, expected(newest_first())),
    )
    .await;
    assert_eq!(sizes, (size, size, size));
    let peak_kib = peak_rss_kib(replyd.pid());

    eprintln!(
        "large reads: answer {size} bytes; replyd peak RSS {idle_kib} KiB after a small read, \
         {one_kib} KiB after one large read, {peak_kib} KiB after three at once \
         (bound {RSS_BOUND_KIB} KiB); seeding {seeded:?}, all {:?}",
        started.elapsed()
    );
    assert!(
        peak_kib < RSS_BOUND_KIB,
        "replyd's peak RSS reached {peak_kib} KiB answering {size} bytes:\n{}",
        replyd.log()
    );
}
