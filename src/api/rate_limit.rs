//! The middleware of `/api/v2`'s rate limits ([`crate::ratelimit`]): each
//! request takes one from its bucket before the handler runs, so requests
//! over the limit never reach the database; they get the 429 problem with
//! `Retry-After`. Every v2 answer, the 429 included, says where the bucket
//! stands in `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
//! Wrapped on the v2 scope only: v1's answers stay ITFlow's.

use crate::api::auth::bearer_key;
use crate::api::meta::client_ip;
use crate::api::v2::problem::V2Error;
use crate::error::ApiError;
use crate::ratelimit::{Bucket, Standing};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use std::net::{IpAddr, Ipv4Addr};

pub const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
pub const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// The bucket of a request: its Bearer key's, else its client's.
pub fn bucket_of(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Bucket {
    match bearer_key(req) {
        Some(token) => Bucket::key(&token),
        None => Bucket::Client(
            client_ip(req, trusted_proxies)
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ),
    }
}

/// `from_fn` middleware for the v2 scope.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(limits) = state.as_ref().and_then(|s| s.rate_limits.as_ref()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let trusted = state
        .as_ref()
        .map_or(&[][..], |s| &s.settings.trusted_proxies[..]);
    match limits.check(&bucket_of(req.request(), trusted)) {
        Err(limited) => {
            let (request, _) = req.into_parts();
            let mut answer =
                HttpResponse::from_error(V2Error(ApiError::RateLimited(limited.retry_after)));
            set_headers(answer.headers_mut(), limited.standing);
            Ok(ServiceResponse::new(request, answer))
        }
        // (The request cannot be cloned for later here: routing inside the
        // scope needs it unshared.)
        Ok(standing) => match next.call(req).await {
            Ok(answer) => {
                let mut answer = answer.map_into_boxed_body();
                set_headers(answer.headers_mut(), standing);
                Ok(answer)
            }
            // An error not yet turned into an answer: its answer, with the
            // headers.
            Err(e) => {
                let mut answer = e.error_response();
                set_headers(answer.headers_mut(), standing);
                Err(InternalError::from_response(e, answer).into())
            }
        },
    }
}

fn set_headers(headers: &mut HeaderMap, standing: Standing) {
    headers.insert(LIMIT, HeaderValue::from(standing.limit));
    headers.insert(REMAINING, HeaderValue::from(standing.remaining));
    headers.insert(RESET, HeaderValue::from(standing.reset));
}
