//! GET /metrics: Prometheus metrics, only for clients in `metrics_allow`
//! (loopback by default). The client is the peer, or behind a trusted
//! proxy the right-most X-Forwarded-For entry that is not a trusted proxy,
//! so a proxy on loopback does not open metrics to the world.

use crate::api::meta::client_ip;
use crate::error::ApiError;
use crate::metrics::CONTENT_TYPE;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use std::net::IpAddr;

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let client = client_ip(&req, &state.settings.trusted_proxies);
    let allowed = client
        .parse::<IpAddr>()
        .is_ok_and(|ip| state.settings.metrics_allow.contains(&ip.to_canonical()));
    if !allowed {
        return Err(ApiError::MetricsForbidden);
    }
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(state.metrics.encode()))
}
