//! The HTTP surface: the two v1 endpoints and the JSON 404.

pub mod auth;
pub mod create;
pub mod meta;
pub mod params;
pub mod read;
pub mod ticket_replies;

use crate::error::ApiError;
use actix_web::web;

pub const READ_PATH: &str = "/api/v1/tickets/replies/read.php";
pub const CREATE_PATH: &str = "/api/v1/tickets/replies/create.php";
/// ITFlow 2.6's own endpoints, served on every supported database.
pub const ITFLOW_READ_PATH: &str = "/api/v1/ticket_replies/read.php";
pub const ITFLOW_CREATE_PATH: &str = "/api/v1/ticket_replies/create.php";

/// Every method is routed to the handlers: authentication comes first, then
/// the method check, as in ITFlow's validate_api_key.php.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(READ_PATH, web::route().to(read::handle))
        .route(CREATE_PATH, web::route().to(create::handle))
        .route(ITFLOW_READ_PATH, web::route().to(ticket_replies::read))
        .route(ITFLOW_CREATE_PATH, web::route().to(ticket_replies::create));
}

/// Anything else: a JSON 404.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NoRoute)
}
