//! `/api/v2`: replyd's own API beside the compatible v1. Typed JSON,
//! proper statuses, RFC 9457 problems, Bearer keys only, keyset paging.
//! The same keys, permissions and database effects as v1: reads go
//! through the same scope, creates through the same planner and writer.

pub mod auth;
pub mod create;
pub mod problem;
pub mod query;
pub mod read;

use crate::error::ApiError;
use actix_web::{Resource, Route, Scope, guard, web};
use problem::V2Error;

pub const PREFIX: &str = "/api/v2";
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// The v2 scope: each path's methods, 405 (with `Allow`) for the others,
/// 404 for any other path under `/api/v2`; every answer a problem document
/// when it is not a success.
pub fn scope() -> Scope {
    web::scope(PREFIX)
        .service(resource(
            "/tickets/{ticket}/replies",
            "GET, HEAD, POST",
            vec![
                get().to(read::ticket_replies),
                web::post().to(create::handle),
            ],
        ))
        .service(resource(
            "/tickets/{ticket}",
            "GET, HEAD",
            vec![get().to(read::ticket)],
        ))
        .service(resource(
            "/replies/{reply_id}",
            "GET, HEAD",
            vec![get().to(read::reply)],
        ))
        .service(resource(
            "/replies",
            "GET, HEAD",
            vec![get().to(read::all_replies)],
        ))
        .default_service(web::to(no_route))
}

/// `path` served by `routes` (GET also answers HEAD); any other method
/// gets a 405 listing `allow`.
fn resource(path: &str, allow: &'static str, routes: Vec<Route>) -> Resource {
    let mut resource = web::resource(path);
    for route in routes {
        resource = resource.route(route);
    }
    resource.default_service(web::to(move || async move {
        Err::<actix_web::HttpResponse, V2Error>(ApiError::MethodNotAllowed(allow).into())
    }))
}

async fn no_route() -> Result<actix_web::HttpResponse, V2Error> {
    Err(ApiError::NoRoute.into())
}

/// GET, and HEAD with it.
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}
