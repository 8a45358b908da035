//! The HTTP surface: the two v1 endpoints and the JSON 404.

pub mod auth;
pub mod create;
pub mod meta;
pub mod params;
pub mod read;

use crate::error::ApiError;
use actix_web::web;

pub const READ_PATH: &str = "/api/v1/tickets/replies/read.php";
pub const CREATE_PATH: &str = "/api/v1/tickets/replies/create.php";

/// Every method is routed to the handlers: authentication comes first, then
/// the method check, as in ITFlow's validate_api_key.php.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(READ_PATH, web::route().to(read::handle))
        .route(CREATE_PATH, web::route().to(create::handle));
}

/// Anything else: a JSON 404.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NoRoute)
}
