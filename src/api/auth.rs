//! The steps every endpoint takes before its own work: read the body,
//! authenticate, check the method (ITFlow api/v1/validate_api_key.php, then
//! require_get_method.php / require_post_method.php).

use crate::api::meta::RequestMeta;
use crate::api::params::{Dialect, Params};
use crate::db;
use crate::db::keys::KeyLookup;
use crate::domain::Principal;
use crate::error::{ApiError, Message};
use crate::metrics::AuthFailure;
use crate::observe::record_key_name;
use crate::state::AppState;
use actix_web::{HttpRequest, http::Method, web};

/// An authenticated request allowed to proceed.
pub struct Authenticated {
    pub params: Params,
    pub principal: Principal,
    pub meta: RequestMeta,
}

/// Read the body, authenticate, enforce the role's `module_support` level
/// (`required_level`: 1 to read, 2 to create), then check the method.
/// `dialect` says how the parameters are read (see `params.rs`).
pub async fn authenticate(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    dialect: Dialect,
    method: Method,
    required_level: i64,
) -> Result<Authenticated, ApiError> {
    let limit = state.settings.max_body_bytes;
    // actix-web's own timeout covers only the head: a body that stops
    // arriving would hold the connection forever.
    let deadline = state.settings.body_timeout();
    let body = tokio::time::timeout(deadline, payload.to_bytes_limited(limit))
        .await
        .map_err(|_| ApiError::BodyTimeout(deadline.as_millis()))?
        .map_err(|_| ApiError::BodyTooLarge(limit))?
        .map_err(|e| ApiError::BadRequest(Message::BodyUnreadable(e.to_string())))?;
    let params = Params::parse_for(dialect, req.query_string(), &body)?;
    let meta = RequestMeta::from_request(req, &state.settings.trusted_proxies);

    // PHP: missing only when neither $_GET nor $_POST has it; an empty key
    // is looked up (and fails, with a log row) like any other.
    let Some(secret) = params.api_key() else {
        state.metrics.auth_failed(AuthFailure::Missing);
        return Err(ApiError::KeyMissing);
    };
    // ITFlow's sanitizeInput() trims the key before the lookup.
    let secret = secret
        .as_ref()
        .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\u{0b}'));
    let limit = state.settings.db_timeout();
    let principal = match db::within(
        limit,
        state.keys.find_key(&state.pool, &state.schema, secret),
    )
    .await?
    {
        KeyLookup::Found(p) => p,
        KeyLookup::Forbidden(message) => {
            state.metrics.auth_failed(AuthFailure::Refused);
            return Err(ApiError::Forbidden(message));
        }
        KeyLookup::Unknown => {
            state.metrics.auth_failed(AuthFailure::Invalid);
            // PHP ignores a failed log insert; the answer stays a 401.
            if let Err(e) = db::within(limit, db::keys::log_failed_key(&state.pool, &meta)).await {
                log::error!("writing the failed-key log row: {e}");
            }
            return Err(ApiError::KeyInvalid);
        }
    };
    // For the access log: the key's name, never its secret.
    record_key_name(req, principal.key_name());
    if principal.support_level() < required_level {
        state.metrics.auth_failed(AuthFailure::Refused);
        return Err(ApiError::Forbidden(Message::NoPermission));
    }
    if req.method() != method {
        return Err(ApiError::WrongMethod(if method == Method::GET {
            "GET"
        } else {
            "POST"
        }));
    }
    Ok(Authenticated {
        params,
        principal,
        meta,
    })
}
