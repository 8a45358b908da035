//! The HTTP surface: the v1 endpoints, v2, health checks, metrics, the
//! OpenAPI document and the JSON 404.

pub mod attachment;
pub mod attachments;
pub mod auth;
pub mod create;
pub mod health;
pub mod meta;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod rate_limit;
pub mod read;
pub mod ticket_replies;
pub mod v2;

use crate::error::ApiError;
use actix_web::{HttpResponse, Resource, Route, guard, middleware::from_fn, web};

pub const READ_PATH: &str = "/api/v1/tickets/replies/read.php";
pub const CREATE_PATH: &str = "/api/v1/tickets/replies/create.php";
pub const ATTACHMENT_PATH: &str = "/api/v1/tickets/replies/attachment.php";
/// ITFlow 2.6's own endpoints, served on every supported database.
pub const ITFLOW_READ_PATH: &str = "/api/v1/ticket_replies/read.php";
pub const ITFLOW_CREATE_PATH: &str = "/api/v1/ticket_replies/create.php";
pub const HEALTHZ_PATH: &str = "/healthz";
pub const READYZ_PATH: &str = "/readyz";
pub const METRICS_PATH: &str = "/metrics";

/// Every method is routed to the handlers: authentication comes first, then
/// the method check, as in ITFlow's validate_api_key.php. `/api/v2` goes
/// through its rate limits first (`rate_limit.rs`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(READ_PATH, web::route().to(read::handle))
        .route(CREATE_PATH, web::route().to(create::handle))
        .route(ATTACHMENT_PATH, web::route().to(attachment::handle))
        .route(ITFLOW_READ_PATH, web::route().to(ticket_replies::read))
        .route(ITFLOW_CREATE_PATH, web::route().to(ticket_replies::create))
        .service(get_only(HEALTHZ_PATH, web::route().to(health::healthz)))
        .service(get_only(READYZ_PATH, web::route().to(health::readyz)))
        .service(get_only(METRICS_PATH, web::route().to(metrics::handle)))
        .service(get_only(v2::OPENAPI_PATH, web::route().to(openapi::serve)))
        // Only v2 is rate limited: v1's answers stay ITFlow's.
        .service(v2::scope().wrap(from_fn(rate_limit::limit)));
}

/// `path` served by `route` for GET and HEAD; any other method gets the
/// JSON 405.
fn get_only(path: &str, route: Route) -> Resource {
    web::resource(path)
        .route(route.guard(guard::Any(guard::Get()).or(guard::Head())))
        .default_service(web::to(get_required))
}

async fn get_required() -> Result<HttpResponse, ApiError> {
    Err(ApiError::WrongMethod("GET"))
}

/// The `endpoint` label of a request path in metrics: one of a fixed few,
/// so that unknown paths cannot grow the number of series.
pub fn endpoint_label(path: &str) -> &'static str {
    match path {
        READ_PATH => "read.php",
        CREATE_PATH => "create.php",
        ATTACHMENT_PATH => "attachment.php",
        ITFLOW_READ_PATH => "ticket_replies/read.php",
        ITFLOW_CREATE_PATH => "ticket_replies/create.php",
        HEALTHZ_PATH => "healthz",
        READYZ_PATH => "readyz",
        METRICS_PATH => "metrics",
        v2::OPENAPI_PATH => "openapi.json",
        p if p.starts_with(v2::PREFIX) => "v2",
        _ => "other",
    }
}

/// Anything else: a JSON 404.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NoRoute)
}
