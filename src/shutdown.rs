//! Graceful shutdown on SIGTERM or SIGINT: stop accepting connections, let
//! the requests in flight finish (at most `shutdown_timeout_secs`, after
//! which they are cut off and their transactions roll back), then
//! `Application::run_until_stopped` closes the database pool. A second
//! signal stops at once.

use crate::state::AppState;
use crate::systemd;
use actix_web::dev::ServerHandle;
use actix_web::web;
use tokio::signal::unix::{SignalKind, signal};

/// Wait for SIGTERM or SIGINT and stop the server behind `handle`.
pub async fn stop_on_signals(handle: ServerHandle, state: web::Data<AppState>) {
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            log::error!("cannot watch for SIGTERM/SIGINT ({e}); stop replyd with SIGKILL");
            return;
        }
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    log::info!(
        "{name}: shutting down; no new connections, finishing {} request(s) in flight (up to {} s)",
        state.metrics.in_flight(),
        state.settings.shutdown_timeout_secs
    );
    drop(state);
    systemd::notify(sd_notify::NotifyState::Stopping);
    let graceful = handle.stop(true);
    tokio::select! {
        _ = graceful => log::info!("server stopped"),
        _ = term.recv() => stop_now(&handle, "SIGTERM").await,
        _ = int.recv() => stop_now(&handle, "SIGINT").await,
    }
}

async fn stop_now(handle: &ServerHandle, name: &str) {
    log::warn!("second {name}: stopping now, cutting off requests in flight");
    handle.stop(false).await;
}
