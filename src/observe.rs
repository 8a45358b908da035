//! What every request leaves behind: one access-log line and its metrics.
//!
//! The line: client address, method, path (never the query string, which
//! may carry the API key), status, body size, duration, and the name of the
//! API key that authenticated the request (never its secret):
//!
//! ```text
//! 127.0.0.2 "POST /api/v1/tickets/replies/create.php" 200 55B 4.1ms key="Global key"
//! ```
//!
//! Logged at `info` under the target `replyd::access`, except answered
//! health checks and metrics scrapes (2xx on /healthz, /readyz, /metrics),
//! which are `debug` so that load balancers and the watchdog do not flood
//! the log. `RUST_LOG` sets the level (`RUST_LOG=replyd::access=debug`
//! shows them too).

use crate::api::{self, meta::client_ip};
use crate::state::AppState;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use std::time::Instant;

/// The authenticated key's name, stored on the request by authentication.
#[derive(Debug, Clone)]
struct KeyName(String);

/// Note which key authenticated `req`, for its log line.
pub fn record_key_name(req: &HttpRequest, name: &str) {
    req.extensions_mut().insert(KeyName(name.to_owned()));
}

/// The middleware (wrapped with `actix_web::middleware::from_fn`).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let started = Instant::now();
    let in_flight = state.as_ref().map(|s| s.metrics.start_request());
    let client = state
        .as_ref()
        .map(|s| client_ip(req.request(), &s.settings.trusted_proxies))
        .unwrap_or_default();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let endpoint = api::endpoint_label(&path);

    let result = next.call(req).await;

    let elapsed = started.elapsed();
    drop(in_flight);
    let (status, size, key) = match &result {
        Ok(res) => (
            res.status(),
            match res.response().body().size() {
                BodySize::Sized(n) => n.to_string(),
                BodySize::None => "0".into(),
                BodySize::Stream => "-".into(),
            },
            res.request().extensions().get::<KeyName>().cloned(),
        ),
        Err(e) => (e.as_response_error().status_code(), "-".into(), None),
    };
    if let Some(state) = &state {
        state.metrics.observe(endpoint, status.as_u16(), elapsed);
    }
    let key = match key {
        Some(KeyName(name)) => format!("\"{}\"", name.escape_debug()),
        None => "-".into(),
    };
    let level = if endpoint_is_probe(endpoint) && status.is_success() {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    log::log!(
        target: "replyd::access",
        level,
        "{client} \"{method} {}\" {} {size}B {:.1}ms key={key}",
        path.escape_debug(),
        status.as_u16(),
        elapsed.as_secs_f64() * 1000.0,
    );
    result
}

fn endpoint_is_probe(endpoint: &str) -> bool {
    matches!(endpoint, "healthz" | "readyz" | "metrics")
}
