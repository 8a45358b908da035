//! A create that loses the database answers what it knows: before COMMIT
//! was sent, "try again" (nothing was written); once COMMIT was sent, "may
//! or may not have been saved", never "try again", which would invite a
//! duplicate reply.
//!
//! The database is frozen at an exact phase by a proxy between replyd and
//! MariaDB that reads the MySQL protocol: it holds a chosen statement (the
//! database never sees it, as if frozen just before it), or forwards it and
//! then swallows every answer (as if frozen just after executing it).
//!
//! Runs on the two fixtures: the statements a create sends differ by key
//! generation, not between a fixture and ITFlow's dump of the same generation.

use crate::helpers::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug)]
enum Stall {
    /// The first packet containing this text, and everything after it on
    /// that connection, never reaches the database.
    Hold(&'static str),
    /// The first packet containing this text reaches the database; nothing
    /// the database answers after it reaches replyd.
    SwallowAnswersAfter(&'static str),
}

struct StallProxy {
    port: u16,
    armed: Arc<Mutex<Option<Stall>>>,
    /// Each new value cuts every connection open at the time (replyd's side
    /// and the database's), so held transactions end and the database rolls
    /// them back.
    cut: watch::Sender<u64>,
    /// Connections open now.
    open: Arc<AtomicUsize>,
}

impl StallProxy {
    async fn start(upstream: (String, u16)) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(Mutex::new(None::<Stall>));
        let (cut, cut_rx) = watch::channel(0u64);
        let proxy_armed = armed.clone();
        let open = Arc::new(AtomicUsize::new(0));
        let proxy_open = open.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect((upstream.0.as_str(), upstream.1))
                    .await
                    .unwrap();
                let (armed, cut, open) = (proxy_armed.clone(), cut_rx.clone(), proxy_open.clone());
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    relay(client, server, armed, cut).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        StallProxy {
            port,
            armed,
            cut,
            open,
        }
    }

    /// Cuts every open connection and waits until all are gone, so the
    /// next request starts on new ones.
    async fn cut_all(&self) {
        self.cut.send_modify(|generation| *generation += 1);
        while self.open.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn arm(&self, stall: Stall) {
        *self.armed.lock().unwrap() = Some(stall);
    }
}

/// One connection: client packets are read whole (3-byte length, sequence
/// number, payload) so a stall starts exactly at the packet that matches.
async fn relay(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<Mutex<Option<Stall>>>,
    mut cut: watch::Receiver<u64>,
) {
    cut.borrow_and_update();
    // Without NODELAY, Nagle and delayed ACKs add ~40 ms to every packet.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let (swallow_tx, swallow_rx) = watch::channel(false);
    let upstream = async move {
        let mut held = false;
        loop {
            let mut header = [0u8; 4];
            if client_read.read_exact(&mut header).await.is_err() {
                return;
            }
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            let mut packet = header.to_vec();
            packet.resize(4 + len, 0);
            if client_read.read_exact(&mut packet[4..]).await.is_err() {
                return;
            }
            let payload = &packet[4..];
            let stall = {
                let mut armed = armed.lock().unwrap();
                let needle = match *armed {
                    Some(Stall::Hold(n) | Stall::SwallowAnswersAfter(n)) => Some(n),
                    None => None,
                };
                match needle {
                    Some(n) if payload.windows(n.len()).any(|w| w == n.as_bytes()) => armed.take(),
                    _ => None,
                }
            };
            match stall {
                Some(Stall::Hold(_)) => held = true,
                Some(Stall::SwallowAnswersAfter(_)) => {
                    let _ = swallow_tx.send(true);
                }
                None => {}
            }
            if held {
                continue;
            }
            if server_write.write_all(&packet).await.is_err() {
                return;
            }
        }
    };
    let downstream = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if *swallow_rx.borrow() {
                continue;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Either side closing, or a cut, ends both directions: the database then
    // sees its client go and rolls back whatever was not committed.
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
        _ = cut.changed() => {}
    }
}

/// replyd on a fresh database, connected through a stall proxy; every
/// database wait bounded by 1.5 s (a create's own statements take far
/// less, even on a loaded CI machine, so only a stall reaches it).
async fn app_behind_proxy(generation: Generation) -> (TestApp, StallProxy) {
    app_behind_proxy_with(generation, None).await
}

/// [`app_behind_proxy`], with ITFlow's uploads folder at `uploads`.
async fn app_behind_proxy_with(
    generation: Generation,
    uploads: Option<std::path::PathBuf>,
) -> (TestApp, StallProxy) {
    let db = TestDb::seeded(generation).await;
    let opts = mysql_async::Opts::from_url(&db.url).unwrap();
    let proxy = StallProxy::start((opts.ip_or_hostname().to_string(), opts.tcp_port())).await;
    // The same URL with the proxy's address; prefer_socket=false, else
    // mysql_async moves a loopback connection to MariaDB's Unix socket.
    let (scheme_user, rest) = db
        .url
        .rsplit_once('@')
        .unwrap_or(("mysql://", &db.url["mysql://".len()..]));
    let database = rest.split_once('/').map_or("", |(_, d)| d);
    let separator = if scheme_user.ends_with("//") { "" } else { "@" };
    let url = format!(
        "{scheme_user}{separator}127.0.0.1:{}/{database}?prefer_socket=false",
        proxy.port
    );
    let app = spawn_on(db, move |s| {
        s.database_url = Some(url);
        s.db_timeout_ms = 1500;
        s.key_cache_ttl_secs = 0;
        s.uploads_dir = uploads;
    })
    .await;
    (app, proxy)
}

const TRY_AGAIN: &str =
    r#"{"success":"False","message":"The database is unavailable; try again shortly."}"#;
const MAY_HAVE_SAVED: &str = r#"{"success":"False","message":"The database failed while committing; check before retrying, the write may or may not have been saved."}"#;

/// Sends a create (on ITFlow's endpoint or the legacy one) with `stall`
/// armed, then cuts the proxy's connections; the answer, which must come
/// within the two deadlines (work, then COMMIT).
async fn create_with(app: &TestApp, proxy: &StallProxy, itflow: bool, stall: Stall) -> Answer {
    proxy.arm(stall);
    let started = Instant::now();
    let answer = if itflow {
        app.post_json(
            "/api/v1/ticket_replies/create.php",
            serde_json::json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "stalled"}),
        )
        .await
    } else {
        app.create("ticket_id=1&ticket_reply=stalled&public_reply_type=1")
            .await
    };
    assert!(
        // The work's deadline, then the COMMIT's, and some slack.
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    proxy.cut_all().await;
    answer
}

async fn replies_with(app: &TestApp, text: &str) -> i64 {
    app.db
        .value(&format!(
            "SELECT COUNT(*) FROM ticket_replies WHERE ticket_reply = '{text}'"
        ))
        .await
        .unwrap()
        .parse()
        .unwrap()
}

per_generation!(frozen_before_commit_is_a_503_and_nothing_is_written: fixtures);
async fn frozen_before_commit_is_a_503_and_nothing_is_written(generation: Generation) {
    let (app, proxy) = app_behind_proxy(generation).await;
    for itflow in [false, true] {
        // Frozen at the reply's INSERT, mid-transaction.
        create_with(
            &app,
            &proxy,
            itflow,
            Stall::Hold("INSERT INTO ticket_replies"),
        )
        .await
        .assert(503, TRY_AGAIN);
        // Frozen just before COMMIT: replyd has sent it, so it cannot know
        // the database never saw it.
        create_with(&app, &proxy, itflow, Stall::Hold("COMMIT"))
            .await
            .assert(500, MAY_HAVE_SAVED);
    }
    // The held transactions ended with their connections: nothing written.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(replies_with(&app, "stalled").await, 0);
    assert_eq!(app.db.count("logs").await, 0);
    assert_eq!(app.db.count("notifications").await, 0);
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM tickets WHERE ticket_first_response_at IS NOT NULL")
            .await
            .as_deref(),
        Some("0")
    );
    // The database is back: replyd serves again without a restart.
    assert_eq!(
        app.create("ticket_id=1&ticket_reply=after").await.status,
        200
    );
}

per_generation!(frozen_after_commit_says_the_write_may_have_been_saved: fixtures);
async fn frozen_after_commit_says_the_write_may_have_been_saved(generation: Generation) {
    let (app, proxy) = app_behind_proxy(generation).await;
    for itflow in [false, true] {
        create_with(&app, &proxy, itflow, Stall::SwallowAnswersAfter("COMMIT"))
            .await
            .assert(500, MAY_HAVE_SAVED);
    }
    // Both were in fact saved, whole: the answer must not say "try again".
    assert_eq!(replies_with(&app, "stalled").await, 2);
    let logs: i64 = app
        .db
        .value("SELECT COUNT(*) FROM logs WHERE log_entity_id = 1 AND log_action = 'Reply'")
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(logs, 2);
}

per_generation!(an_attachment_whose_commit_is_unknown_is_kept_for_startup_to_settle: [user_keys]);
async fn an_attachment_whose_commit_is_unknown_is_kept_for_startup_to_settle(
    generation: Generation,
) {
    let uploads = tempfile::tempdir().unwrap();
    let (app, proxy) = app_behind_proxy_with(generation, Some(uploads.path().to_path_buf())).await;
    proxy.arm(Stall::SwallowAnswersAfter("COMMIT"));
    let (content_type, body) = crate::attachments::multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"stalled"),
        ("attachments[]", Some("a.txt"), b"saved or not"),
    ]);
    app.post_raw(CREATE, &content_type, body)
        .await
        .assert(500, MAY_HAVE_SAVED);
    proxy.cut_all().await;
    // Saved, in fact; the file is kept under its temporary name (removing
    // it would leave the committed row without its file), for the next
    // start to finish (attachments::startup_settles_what_a_crash_left).
    let reference = app
        .db
        .value("SELECT ticket_attachment_reference_name FROM ticket_attachments")
        .await
        .unwrap();
    let dir = uploads.path().join("tickets/1");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![format!(".replyd-tmp-{reference}")]);
}

/// A keyed create with `stall` armed (None: nothing stalls); the answer
/// and its `Idempotent-Replayed` header.
async fn keyed_create(
    app: &TestApp,
    proxy: &StallProxy,
    stall: Option<Stall>,
) -> (Answer, Option<String>) {
    if let Some(stall) = stall {
        proxy.arm(stall);
    }
    let response = app
        .client
        .post(app.url(CREATE))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", "retry-me")
        .body(format!(
            "api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply=stalled"
        ))
        .send()
        .await
        .unwrap();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_string());
    let answer = Answer::from(response).await;
    if stall.is_some() {
        proxy.cut_all().await;
    }
    (answer, replayed)
}

per_generation!(an_idempotent_retry_after_a_503_writes_and_after_an_unknown_commit_replays: fixtures);
async fn an_idempotent_retry_after_a_503_writes_and_after_an_unknown_commit_replays(
    generation: Generation,
) {
    let (app, proxy) = app_behind_proxy(generation).await;
    app.db
        .exec_script(replyd::db::idempotency::CREATE_TABLE)
        .await;
    // A 503 ("try again") keeps nothing: the retry writes.
    let (answer, _) = keyed_create(
        &app,
        &proxy,
        Some(Stall::Hold("INSERT INTO ticket_replies")),
    )
    .await;
    answer.assert(503, TRY_AGAIN);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.db.count("replyd_idempotency").await, 0);
    let (answer, replayed) = keyed_create(&app, &proxy, None).await;
    answer.assert(
        200,
        r#"{"success":"True","count":"1","data":[{"insert_id":8}]}"#,
    );
    assert_eq!(replayed, None);
    assert_eq!(replies_with(&app, "stalled").await, 1);

    // Another key: its COMMIT went through but the answer was lost (the
    // 500 "may or may not"); the retry replays what was committed.
    app.db.exec_script("DELETE FROM replyd_idempotency").await;
    let (answer, _) = keyed_create(&app, &proxy, Some(Stall::SwallowAnswersAfter("COMMIT"))).await;
    answer.assert(500, MAY_HAVE_SAVED);
    let (answer, replayed) = keyed_create(&app, &proxy, None).await;
    answer.assert(
        200,
        r#"{"success":"True","count":"1","data":[{"insert_id":9}]}"#,
    );
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(replies_with(&app, "stalled").await, 2);
}
