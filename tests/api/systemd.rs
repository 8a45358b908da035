//! deploy/replyd.service, and the binary's side of the systemd protocol.
//!
//! Nothing here depends on the schema: on the first-generation fixture
//! only.

use crate::helpers::*;
use crate::process::Replyd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn unit() -> String {
    std::fs::read_to_string(repo_path("deploy/replyd.service")).unwrap()
}

/// The value of `key=` in the unit (the last one, as systemd reads it).
fn setting(unit: &str, key: &str) -> Option<String> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .next_back()
        .map(str::to_string)
}

#[test]
fn the_unit_runs_replyd_hardened_and_restarts_it() {
    let unit = unit();
    for (key, want) in [
        (
            "ExecStart",
            "/usr/local/bin/replyd --config /etc/replyd/replyd.toml",
        ),
        ("Type", "notify"),
        ("User", "replyd"),
        ("Group", "replyd"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(setting(&unit, key).as_deref(), Some(want), "{key}=");
    }
    assert!(setting(&unit, "WatchdogSec").is_some());
    // systemd must wait longer than replyd's own shutdown timeout.
    let stop = setting(&unit, "TimeoutStopSec").unwrap();
    let stop: u64 = stop.strip_suffix('s').unwrap().parse().unwrap();
    assert!(stop > replyd::config::Settings::default().shutdown_timeout_secs);
}

fn systemd_analyze() -> Option<PathBuf> {
    let found = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("SKIPPED: systemd-analyze not found (package systemd)");
    }
    found
}

/// systemd-analyze verify (and its security score) on the unit, with
/// ExecStart pointing at the binary under test: verify insists that the
/// command exists.
#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let Some(analyze) = systemd_analyze() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("replyd-unit.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("replyd.service");
    let unit = unit();
    assert!(unit.contains("ExecStart=/usr/local/bin/replyd "));
    std::fs::write(
        &path,
        unit.replace(
            "ExecStart=/usr/local/bin/replyd ",
            &format!("ExecStart={} ", env!("CARGO_BIN_EXE_replyd")),
        ),
    )
    .unwrap();
    let verify = Command::new(&analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let security = Command::new(&analyze)
        // --threshold is in tenths: 20 is an exposure of 2.0.
        .args(["security", "--offline=yes", "--threshold=20"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let said = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    // verify reports unknown keys and bad values without failing: any
    // output at all is a finding.
    assert!(
        verify.status.success() && said(&verify).trim().is_empty(),
        "systemd-analyze verify:\n{}",
        said(&verify)
    );
    // Exposure 2.0 or less ("OK" is up to 4.9; the unit scores 1.5).
    assert!(
        security.status.success(),
        "systemd-analyze security:\n{}",
        said(&security)
    );
}

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
            // One state a line (sd_notify(3)); sd-notify ends each with \n.
            let msg = String::from_utf8_lossy(&buf[..n]).trim_end().to_owned();
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
    let db = TestDb::seeded(Generation::ClientKeys).await;
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
    let db = TestDb::seeded(Generation::ClientKeys).await;
    let mut replyd = Replyd::start(&db.url, &[("WATCHDOG_USEC", "200000")]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(replyd.stop(Duration::from_secs(30)).await.success());
    assert!(!replyd.log().contains("notify systemd"), "{}", replyd.log());
}
