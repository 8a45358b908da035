//! ITFlow 2.6's own ticket replies endpoints, with its parameter names and
//! answers, served on every database version replyd supports:
//! `GET /api/v1/ticket_replies/read.php`, `POST /api/v1/ticket_replies/create.php`.

use crate::api::auth::{Authorized, CreateTicketReply, ReadTicketReplies};
use crate::api::params::PhpValue;
use crate::api::read::answer;
use crate::db::create::CreateRequest;
use crate::db::replies::{ReadDialect, ReadRequest, ReplyFilter};
use crate::domain::Principal;
use crate::domain::plan_itflow::ItflowReply;
use crate::error::{ApiError, Message};
use crate::php::sanitize_input;
use crate::state::AppState;
use actix_web::{HttpResponse, web};

/// `ucfirst(strtolower($v))`, kept only when it is one of `allowed`.
fn reply_type(v: &str, allowed: &[&'static str]) -> Option<&'static str> {
    let lower = v.to_ascii_lowercase();
    allowed
        .iter()
        .copied()
        .find(|t| t.to_ascii_lowercase() == lower)
}

/// ITFlow api/v1/ticket_replies/read.php. Its filters come from `$_GET`
/// only; `limit` and `offset` from `$_GET`, else the JSON body
/// (validate_api_key.php).
#[utoipa::path(
    summary = "Replies (ITFlow 2.6's own read)",
    description = "ITFlow's parameter names and answers, on every supported database. Oldest first. Filters come from the query string only (read as PHP builds `$_GET`); `limit` and `offset` from the query string, else a JSON body.",
    get,
    path = crate::api::ITFLOW_READ_PATH,
    tag = "v1 ITFlow",
    operation_id = "v1_itflow_read_replies",
    params(
        ("ticket_reply_id" = Option<i64>, Query, description = "That one reply (`limit`/`offset` do not apply); read with PHP's `intval()`, as every integer here"),
        ("ticket_id" = Option<i64>, Query, description = "Every reply on that ticket"),
        ("type" = Option<String>, Query, description = "`Internal`, `Public` or `Client`, any case; anything else is ignored"),
        ("include_archived" = Option<String>, Query, description = "Non-empty and not `0`: include archived replies"),
        ("client_id" = Option<i64>, Query, description = "With a first-generation key for every client: only that client's tickets; ignored for user-tied keys"),
        ("limit" = Option<i64>, Query, description = "Page size (else the JSON body's), default 50, at most `max_page_size`"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (else the JSON body's), default 0"),
    ),
    responses(
        (status = 200, description = "The rows, or a refusal (`success` \"False\": nothing matches, negative paging in a list, an answer too large)", body = inline(crate::api::openapi::V1ReadAnswer)),
        (status = 400, description = "An array where PHP would throw (`type[]`)", body = crate::api::openapi::V1Failure),
        (status = 401, description = "No key, or an unknown or expired one", body = crate::api::openapi::V1Failure),
        (status = 403, description = "A user-tied key whose user may not read tickets", body = crate::api::openapi::V1Failure),
        (status = 405, description = "Any method but GET (after the key is checked)", body = crate::api::openapi::V1Failure),
        (status = 408, description = "A body that stopped arriving", body = crate::api::openapi::V1Failure),
        (status = 413, description = "A body over `max_body_bytes`", body = crate::api::openapi::V1Failure),
        (status = 500, description = "The database failed, or the answer's temporary file could not be written", body = crate::api::openapi::V1Failure),
        (status = 503, description = "The database cannot be reached in time; try again", body = crate::api::openapi::V1Failure),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
pub async fn read(
    auth: Authorized<ReadTicketReplies>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = &auth.params;
    let page = |name: &str, default: i64| {
        p.get(name)
            .or_else(|| p.post(name))
            .map_or(default, PhpValue::intval)
    };
    let (limit, offset) = (page("limit", 50), page("offset", 0));
    // read.php: `empty($_GET['include_archived'])`.
    let include_archived = p.get("include_archived").is_some_and(|v| !v.is_empty());
    // read.php: `ucfirst(strtolower($_GET['type']))`, whitelisted; an array
    // is PHP's TypeError (an HTTP 500 there), a JSON 400 here.
    let reply_type = match p.get("type") {
        Some(t) => reply_type(t.text("type")?, &["Internal", "Public", "Client"]),
        None => None,
    };
    // read.php: `isset($_GET['ticket_reply_id'])`, else `isset($_GET['ticket_id'])`,
    // each through intval() (an array is 1).
    let filter = match (p.get("ticket_reply_id"), p.get("ticket_id")) {
        (Some(id), _) => ReplyFilter::Reply(id.intval()),
        (None, Some(id)) => ReplyFilter::Ticket(id.intval()),
        (None, None) => ReplyFilter::All,
    };
    // The single-reply query has no LIMIT/OFFSET of the request's (read.php:
    // `LIMIT 1`), so a negative one does not matter there. In the lists a
    // negative one is a SQL error: PHP 8 answers an empty HTTP 500, replyd
    // "no resource" (a listed difference).
    let (limit, offset) = match (u64::try_from(limit), u64::try_from(offset), filter) {
        (Ok(limit), Ok(offset), _) => (limit, offset),
        (_, _, ReplyFilter::Reply(_)) => (0, 0),
        _ => return Err(ApiError::no_resource()),
    };
    // User-tied keys are scoped by their user only (enforce_api_rbac.php:
    // reads ignore client_id); a first-generation key for every client
    // narrows with `$_GET['client_id']` as ITFlow's v1 reads always did
    // (require_get_method.php).
    let narrow_to_client = match &auth.principal {
        Principal::ClientKey { scope, .. } => {
            scope.narrowing(p.get("client_id").map_or(0, PhpValue::intval))
        }
        Principal::UserKey { .. } => None,
    };
    let request = ReadRequest {
        dialect: ReadDialect::TicketReplies,
        ticket_number: None,
        filter,
        reply_type,
        scope: auth.principal.scope().clone(),
        narrow_to_client,
        include_archived,
        // Bounded by max_page_size (memory), where PHP returns every row: a
        // client pages with `offset` until the answer is "no resource".
        limit: limit.min(state.settings.max_page_size),
        offset,
    };
    answer(&state, &request).await
}

/// ITFlow api/v1/ticket_replies/create.php. `ticket_id` (create.php) and
/// `ticket_reply`, `ticket_reply_type`, `ticket_reply_time_worked`,
/// `ticket_status` (ticket_reply_model.php) come from the JSON body only:
/// a query string never changes what is written. `client_id` comes from the
/// body, else the query string (enforce_api_rbac.php:
/// `$_POST['client_id'] ?? $_GET['client_id'] ?? 0`).
#[utoipa::path(
    summary = "Add a reply (ITFlow 2.6's own create)",
    description = "ITFlow's parameter names and answers, on every supported database. Parameters come from a JSON object body only (a query string never changes what is written); `client_id` from the body, else the query string.",
    post,
    path = crate::api::ITFLOW_CREATE_PATH,
    tag = "v1 ITFlow",
    operation_id = "v1_itflow_create_reply",
    params(
        ("client_id" = Option<i64>, Query, description = "When the body has none: the ticket's client"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "1 to 255 visible ASCII characters: a retry with the same key and request replays the first answer and writes nothing"),
    ),
    request_body(
        description = "A JSON object (whatever its Content-Type); any other body carries no parameters",
        content((crate::api::openapi::V1ItflowCreateParams = "application/json")),
    ),
    responses(
        (status = 200, description = "Written (or replayed), or refused with nothing written (`success` \"False\", ITFlow's generic failure for a missing field or a ticket out of scope)", body = inline(crate::api::openapi::V1CreateAnswer), headers(("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same Idempotency-Key"))),
        (status = 400, description = "An array as `ticket_reply` or `ticket_reply_type`, an Idempotency-Key that cannot be read", body = crate::api::openapi::V1Failure),
        (status = 401, description = "No key, or an unknown or expired one", body = crate::api::openapi::V1Failure),
        (status = 403, description = "A user-tied key whose user may not change tickets, or may not access `client_id`", body = crate::api::openapi::V1Failure),
        (status = 405, description = "Any method but POST (after the key is checked)", body = crate::api::openapi::V1Failure),
        (status = 408, description = "A body that stopped arriving", body = crate::api::openapi::V1Failure),
        (status = 413, description = "A body over `max_body_bytes`", body = crate::api::openapi::V1Failure),
        (status = 422, description = "An Idempotency-Key used for a different request", body = crate::api::openapi::V1Failure),
        (status = 500, description = "The database failed (nothing written), or COMMIT failed (may or may not be saved: retry with the same Idempotency-Key)", body = crate::api::openapi::V1Failure),
        (status = 503, description = "The database cannot be reached in time; nothing written, try again", body = crate::api::openapi::V1Failure),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
pub async fn create(
    auth: Authorized<CreateTicketReply>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = &auth.params;
    // enforce_api_rbac.php: a write names its client (client_id, 0 when
    // absent), which the key's user must be able to access.
    let requested_client = p
        .post("client_id")
        .or_else(|| p.get("client_id"))
        .map_or(0, PhpValue::intval);
    let client_id = match auth.principal.scope() {
        crate::domain::ClientScope::Client(c) => *c,
        scope => {
            if auth.principal.user().is_some() && !scope.may_write_for(requested_client) {
                return Err(ApiError::Forbidden(Message::NoAccessToTargetClient));
            }
            requested_client
        }
    };
    let reply = ItflowReply {
        // create.php: `intval($_POST['ticket_id'] ?? 0)`.
        ticket_id: p.post("ticket_id").map_or(0, PhpValue::intval),
        client_id,
        // ticket_reply_model.php: mysqli_real_escape_string() of the text as
        // sent (an array is its TypeError: a 400 here).
        text: match p.post("ticket_reply") {
            Some(v) => v.text("ticket_reply")?.to_string(),
            None => String::new(),
        },
        // ticket_reply_model.php: `ucfirst(strtolower(...))`; anything but
        // Internal or Public silently becomes Internal (an array: a 400).
        reply_type: match p.post("ticket_reply_type") {
            Some(v) => reply_type(v.text("ticket_reply_type")?, &["Internal", "Public"])
                .unwrap_or("Internal"),
            None => "Internal",
        },
        // ticket_reply_model.php: escapeSql() (functions/sanitize.php: strip
        // tags, trim; an array is "Array") before the HH:MM:SS check; a
        // malformed time silently becomes 00:00:00.
        time_worked: p
            .post("ticket_reply_time_worked")
            .map(|v| sanitize_input(&v.to_php_string()))
            .filter(|t| is_itflow_time(t))
            .unwrap_or_else(|| "00:00:00".to_string()),
        // ticket_reply_model.php: `intval($_POST['ticket_status'])`.
        status: p.post("ticket_status").map_or(0, PhpValue::intval),
    };
    // Bounded like every database wait (db_timeout_ms), the work and the
    // COMMIT each: never a hang.
    let claim = auth.idempotency.as_ref().map(|k| k.claim(&auth.principal));
    let done = crate::db::create::create(
        &state.pool,
        &state.write_context(&auth.principal),
        CreateRequest::Itflow(&reply),
        crate::db::create::Files {
            uploads: None,
            staged: &[],
        },
        &auth.meta,
        state.settings.db_timeout(),
        claim.as_ref(),
        crate::db::create::Answer::Insert(crate::api::create::created_answer),
    )
    .await?;
    Ok(crate::api::create::respond(done))
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
    }
}
