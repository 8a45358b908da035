//! ITFlow 2.6's own ticket replies endpoints, with its parameter names and
//! answers, served on every database version replyd supports:
//! `GET /api/v1/ticket_replies/read.php`, `POST /api/v1/ticket_replies/create.php`.

use crate::api::auth::authenticate;
use crate::api::read::answer;
use crate::db::create_itflow::{ItflowReply, create_itflow_reply};
use crate::db::replies::{ReadDialect, ReadRequest, ReplyFilter};
use crate::domain::Principal;
use crate::error::ApiError;
use crate::php::intval;
use crate::startup::AppState;
use actix_web::{HttpRequest, HttpResponse, http::Method, web};

/// PHP `empty()` on a request string: absent, "" and "0" are empty.
fn php_empty(v: Option<&str>) -> bool {
    matches!(v, None | Some("") | Some("0"))
}

/// `ucfirst(strtolower($v))`, kept only when it is one of `allowed`.
fn reply_type(v: &str, allowed: &[&'static str]) -> Option<&'static str> {
    let lower = v.to_ascii_lowercase();
    allowed
        .iter()
        .copied()
        .find(|t| t.to_ascii_lowercase() == lower)
}

/// ITFlow api/v1/ticket_replies/read.php.
pub async fn read(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let auth = authenticate(&req, payload, &state, Method::GET, 1).await?;
    let p = &auth.params;
    let page = |name: &str, default: i64| p.query_first_int(name).unwrap_or(default);
    let (limit, offset) = (page("limit", 50), page("offset", 0));
    // A negative LIMIT is a SQL error in PHP, which read_output.php reports
    // as "no resource".
    let (Ok(limit), Ok(offset)) = (u64::try_from(limit), u64::try_from(offset)) else {
        return Err(ApiError::NoResource);
    };
    let filter = match (
        p.query_first_int("ticket_reply_id"),
        p.query_first_int("ticket_id"),
    ) {
        (Some(id), _) => ReplyFilter::Reply(id),
        (None, Some(id)) => ReplyFilter::Ticket(id),
        (None, None) => ReplyFilter::All,
    };
    // User-tied keys are scoped by their user only (enforce_api_rbac.php:
    // reads ignore client_id); a first-generation key for every client
    // narrows with client_id as ITFlow's v1 reads always did.
    let narrow_to_client = match &auth.principal {
        Principal::ClientKey { scope, .. } => {
            scope.narrowing(p.query_first_int("client_id").unwrap_or(0))
        }
        Principal::UserKey { .. } => None,
    };
    let request = ReadRequest {
        dialect: ReadDialect::TicketReplies,
        filter,
        reply_type: p
            .query_first("type")
            .and_then(|t| reply_type(t, &["Internal", "Public", "Client"])),
        scope: auth.principal.scope().clone(),
        narrow_to_client,
        include_archived: !php_empty(p.query_first("include_archived")),
        limit: limit.min(state.settings.max_page_size),
        offset,
    };
    answer(&state, &request).await
}

/// ITFlow api/v1/ticket_replies/create.php (parameters from
/// ticket_reply_model.php).
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let auth = authenticate(&req, payload, &state, Method::POST, 2).await?;
    let p = &auth.params;
    // enforce_api_rbac.php: a write names its client (client_id, 0 when
    // absent), which the key's user must be able to access.
    let requested_client = p.body_first_int("client_id").unwrap_or(0);
    let client_id = match auth.principal.scope() {
        crate::domain::ClientScope::Client(c) => *c,
        scope => {
            if auth.principal.user().is_some() && !scope.may_write_for(requested_client) {
                return Err(ApiError::Forbidden(
                    "The user linked to this API key does not have access to the target client for this write.",
                ));
            }
            requested_client
        }
    };
    let reply = ItflowReply {
        ticket_id: p.body_first_int("ticket_id").unwrap_or(0),
        client_id,
        text: p.body_first("ticket_reply").unwrap_or_default().to_string(),
        // An unknown type silently becomes Internal, as in ITFlow.
        reply_type: p
            .body_first("ticket_reply_type")
            .and_then(|t| reply_type(t, &["Internal", "Public"]))
            .unwrap_or("Internal"),
        // A malformed time silently becomes 00:00:00, as in ITFlow.
        time_worked: p
            .body_first("ticket_reply_time_worked")
            .filter(|t| is_itflow_time(t))
            .unwrap_or("00:00:00")
            .to_string(),
        status: p.body_first("ticket_status").map(intval).unwrap_or(0),
    };
    // Bounded like every database wait (db_timeout_ms), the work and the
    // COMMIT each: never a hang.
    let insert_id = create_itflow_reply(&state, &auth.principal, &reply, &auth.meta).await?;
    Ok(crate::api::create::created(insert_id))
}

/// ticket_reply_model.php's `^\d{1,3}:[0-5]\d:[0-5]\d$`.
fn is_itflow_time(t: &str) -> bool {
    let parts: Vec<&str> = t.split(':').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 3
        && digits(parts[0])
        && parts[0].len() <= 3
        && parts[1].len() == 2
        && parts[2].len() == 2
        && digits(parts[1])
        && digits(parts[2])
        && parts[1].as_bytes()[0] <= b'5'
        && parts[2].as_bytes()[0] <= b'5'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itflow_time_pattern() {
        for ok in ["00:00:00", "1:30:00", "999:59:59", "12:05:09"] {
            assert!(is_itflow_time(ok), "{ok}");
        }
        for bad in [
            "",
            "1:60:00",
            "1:00:60",
            "1000:00:00",
            "1:0:00",
            "a:00:00",
            "1:00",
            "01:02:03:04",
        ] {
            assert!(!is_itflow_time(bad), "{bad}");
        }
    }

    #[test]
    fn reply_types_are_case_insensitive_and_whitelisted() {
        assert_eq!(
            reply_type("PUBLIC", &["Internal", "Public"]),
            Some("Public")
        );
        assert_eq!(reply_type("client", &["Internal", "Public"]), None);
        assert_eq!(
            reply_type("client", &["Internal", "Public", "Client"]),
            Some("Client")
        );
        assert!(php_empty(Some("0")) && php_empty(None) && !php_empty(Some("1")));
    }
}
