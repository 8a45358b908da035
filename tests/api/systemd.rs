//! The binary's side of the systemd protocol (sd_notify).

use crate::helpers::*;
use crate::process::Replyd;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// Datagrams on `socket` until `want` arrives (panics after `limit`).
fn wait_for(socket: &UnixDatagram, want: &str, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {want} within {limit:?}; got {seen:?}");
        socket.set_read_timeout(Some(left)).unwrap();
        if let Ok(n) = socket.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = msg == want;
            seen.push(msg);
            if done {
                return seen;
            }
        }
    }
}

#[tokio::test]
async fn replyd_tells_systemd_ready_watchdog_and_stopping() {
    let db = TestDb::seeded().await;
    let path = std::env::temp_dir().join(format!("replyd-notify.{}.sock", db.name));
    let socket = UnixDatagram::bind(&path).unwrap();
    let notify = path.to_str().unwrap().to_string();
    let mut replyd = Replyd::start(
        &db.url,
        &[
            ("NOTIFY_SOCKET", notify.as_str()),
            // Pings every 0.25 s.
            ("WATCHDOG_USEC", "500000"),
        ],
    )
    .await;
    let first = wait_for(&socket, "READY=1", Duration::from_secs(10));
    assert_eq!(first, vec!["READY=1".to_string()]);
    // Two pings, each after replyd's /healthz answered.
    wait_for(&socket, "WATCHDOG=1", Duration::from_secs(5));
    wait_for(&socket, "WATCHDOG=1", Duration::from_secs(5));
    replyd.signal(crate::process::Signal::SIGTERM);
    let rest = wait_for(&socket, "STOPPING=1", Duration::from_secs(10));
    assert!(
        rest.iter().all(|m| m == "WATCHDOG=1" || m == "STOPPING=1"),
        "{rest:?}"
    );
    let status = replyd.wait_exit(Duration::from_secs(30)).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn without_systemd_nothing_is_sent() {
    // NOTIFY_SOCKET unset (Replyd::start removes the caller's): replyd runs
    // and stops as usual.
    let db = TestDb::seeded().await;
    let mut replyd = Replyd::start(&db.url, &[("WATCHDOG_USEC", "200000")]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(replyd.stop(Duration::from_secs(30)).await.success());
    assert!(!replyd.log().contains("notify systemd"), "{}", replyd.log());
}
