//! The systemd service protocol (sd_notify(3)), for `Type=notify` and
//! `WatchdogSec=` in deploy/replyd.service: `READY=1` once replyd listens,
//! `WATCHDOG=1` while its own /healthz answers, `STOPPING=1` on shutdown.
//! Without `NOTIFY_SOCKET` (not started by systemd) all of it is a no-op.

use sd_notify::NotifyState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Tell systemd `state`, if it is listening (sd-notify: nothing happens
/// without `NOTIFY_SOCKET`).
pub fn notify(state: NotifyState<'_>) {
    if let Err(e) = sd_notify::notify(std::slice::from_ref(&state)) {
        log::warn!("cannot notify systemd ({state}): {e}");
    }
}

/// systemd's watchdog timeout for this process (`WATCHDOG_USEC`, when
/// `WATCHDOG_PID` is unset or names this process).
pub fn watchdog_timeout() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|t| !t.is_zero())
}

/// Forever: every half `timeout`, ask replyd's own /healthz (at `listen`,
/// over TCP, through the HTTP workers) and tell systemd `WATCHDOG=1` when it
/// answers 200. When it does not, systemd restarts replyd after `timeout`.
pub async fn watchdog(listen: SocketAddr, timeout: Duration) {
    let target = probe_address(listen);
    let mut tick = tokio::time::interval(timeout / 2);
    loop {
        tick.tick().await;
        match tokio::time::timeout(timeout / 4, probe(target)).await {
            Ok(Ok(())) => notify(NotifyState::Watchdog),
            Ok(Err(e)) => log::warn!("watchdog: /healthz did not answer 200: {e}"),
            Err(_) => log::warn!("watchdog: /healthz did not answer in time"),
        }
    }
}

/// Where to reach a server listening on `listen` (a wildcard address is
/// reached on loopback).
fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    };
    SocketAddr::new(ip, listen.port())
}

async fn probe(target: SocketAddr) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(target).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: replyd\r\nConnection: close\r\n\r\n")
        .await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    if &head[..9] == b"HTTP/1.1 " && &head[9..12] == b"200" {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "answered {:?}",
            String::from_utf8_lossy(&head)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_are_probed_on_loopback() {
        let p = |s: &str| probe_address(s.parse().unwrap()).to_string();
        assert_eq!(p("0.0.0.0:8091"), "127.0.0.1:8091");
        assert_eq!(p("[::]:8091"), "[::1]:8091");
        assert_eq!(p("127.0.0.1:8091"), "127.0.0.1:8091");
        assert_eq!(p("10.1.2.3:80"), "10.1.2.3:80");
    }
}
