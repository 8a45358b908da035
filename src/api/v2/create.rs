//! `POST /api/v2/tickets/{ticket}/replies`: v2's fields checked (every
//! invalid one reported at once), then turned into the legacy dialect's
//! request ([`NewReply`]) and written by the same planner and writer, so
//! the database effects are v1's. Answers 201 with `Location` and the
//! reply, or 200 with the ticket for a status-only change.

use super::auth::{Bearer, Write};
use super::problem::V2Error;
use crate::api::attachments::{self, ReceivedFile};
use crate::api::auth::{IdempotencyKey, body_hash, idempotency_header, multipart_hash, read_body};
use crate::api::create::{self, write_reply};
use crate::db::create::{Answer, Created};
use crate::db::views::TicketKey;
use crate::domain::reply::Fields;
use crate::domain::{Created as CreatedAt, NewReply};
use crate::error::{ApiError, FieldError};
use crate::messages::Message;
use crate::state::AppState;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The fields v2's create takes.
pub const FIELDS: [&str; 11] = [
    "body",
    "body_format",
    "visibility",
    "time_worked",
    "status",
    "author_user_id",
    "author_email",
    "contact_id",
    "contact_email",
    "created",
    "attachments",
];

/// Replies shown with the ticket a status-only change answers.
const TICKET_REPLIES: u64 = 50;

/// TIME's largest value, 838:59:59, in seconds.
const MAX_TIME_WORKED: u64 = 838 * 3600 + 59 * 60 + 59;

/// The legacy dialect's parameters a v2 request becomes.
struct LegacyFields(HashMap<&'static str, String>);

impl Fields for LegacyFields {
    fn field(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// A value given as text (a multipart field) or JSON.
fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

/// A positive whole number, as a JSON number or digits.
fn positive(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s)
            if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.trim().parse().ok()
        }
        _ => None,
    }
    .filter(|n| *n > 0)
}

/// `time_worked`: whole seconds, or `HH:MM:SS`; hours, minutes, seconds.
fn time_worked(v: &Value) -> Option<(u64, u64, u64)> {
    let seconds = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => {
            let s = s.trim();
            let parts: Vec<&str> = s.split(':').collect();
            let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
            match parts.as_slice() {
                [secs] if digits(secs) => secs.parse().ok()?,
                [h, m, sec]
                    if parts.iter().all(|p| digits(p)) && m.len() <= 2 && sec.len() <= 2 =>
                {
                    let (h, m, sec): (u64, u64, u64) =
                        (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
                    if m > 59 || sec > 59 {
                        return None;
                    }
                    h.checked_mul(3600)?.checked_add(m * 60 + sec)?
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    (seconds <= MAX_TIME_WORKED).then_some((seconds / 3600, seconds / 60 % 60, seconds % 60))
}

/// v2's body, checked field by field; then its rules across fields.
fn legacy_fields(ticket: &TicketKey, body: &Map<String, Value>) -> Result<LegacyFields, ApiError> {
    let mut out: HashMap<&'static str, String> = HashMap::new();
    let mut errors: Vec<FieldError> = Vec::new();
    let mut bad = |field: &str, m: Message| errors.push(FieldError::new(field, m));
    let mut names: Vec<&String> = body.keys().collect();
    names.sort();
    for name in names {
        if !FIELDS.contains(&name.as_str()) {
            bad(name, Message::FieldUnknown);
        }
    }
    let given = |name: &str| body.get(name).filter(|v| !v.is_null());
    if let Some(v) = given("body") {
        match text(v) {
            Some(t) => {
                out.insert("ticket_reply", t.to_string());
            }
            None => bad("body", Message::FieldNotText),
        }
    }
    if let Some(v) = given("body_format") {
        match text(v).map(|t| t.trim().to_ascii_lowercase()).as_deref() {
            Some("html") => {}
            Some("markdown") => {
                out.insert("markdown", "1".into());
            }
            _ => bad("body_format", Message::BodyFormatValue),
        }
    }
    if let Some(v) = given("visibility") {
        let public_reply_type = match text(v).map(|t| t.trim().to_ascii_lowercase()).as_deref() {
            Some("internal") => Some("0"),
            Some("public") => Some("1"),
            Some("public_email") => Some("2"),
            _ => None,
        };
        match public_reply_type {
            Some(t) => {
                out.insert("public_reply_type", t.into());
            }
            None => bad("visibility", Message::VisibilityValue),
        }
    }
    if let Some(v) = given("time_worked") {
        match time_worked(v) {
            Some((h, m, s)) => {
                out.insert("hours", h.to_string());
                out.insert("minutes", m.to_string());
                out.insert("seconds", s.to_string());
            }
            None => bad("time_worked", Message::TimeWorkedValue),
        }
    }
    if let Some(v) = given("status") {
        let status = match v {
            Value::Number(_) => positive(v).map(|n| n.to_string()),
            Value::String(s) if !s.trim().is_empty() => {
                // Digits are an id; anything else a name.
                let t = s.trim();
                if t.bytes().all(|b| b.is_ascii_digit()) {
                    positive(v).map(|n| n.to_string())
                } else {
                    Some(t.to_string())
                }
            }
            _ => None,
        };
        match status {
            Some(s) => {
                out.insert("status", s);
            }
            None => bad("status", Message::StatusValue),
        }
    }
    for id in ["author_user_id", "contact_id"] {
        if let Some(v) = given(id) {
            match positive(v) {
                Some(n) => {
                    out.insert(id, n.to_string());
                }
                None => bad(id, Message::PersonIdValue),
            }
        }
    }
    for email in ["author_email", "contact_email"] {
        if let Some(v) = given(email) {
            match text(v).map(str::trim).filter(|t| !t.is_empty()) {
                Some(t) => {
                    out.insert(email, t.to_string());
                }
                None => bad(email, Message::FieldNotText),
            }
        }
    }
    if let Some(v) = given("created") {
        match text(v).map(CreatedAt::parse) {
            Some(Ok(_)) => {
                out.insert("created", text(v).unwrap_or_default().to_string());
            }
            Some(Err(m)) => bad("created", m),
            None => bad("created", Message::FieldNotText),
        }
    }
    if let Some(v) = given("attachments") {
        match v {
            // A multipart field holds the JSON text already.
            Value::String(s) => {
                out.insert("attachments", s.clone());
            }
            Value::Array(_) => {
                out.insert("attachments", v.to_string());
            }
            _ => bad("attachments", Message::AttachmentsMalformed),
        }
    }
    // Rules across fields, in v2's words (the legacy rules still apply).
    let has_body = out
        .get("ticket_reply")
        .is_some_and(|t| !t.trim().is_empty());
    let customer = given("contact_id").is_some() || given("contact_email").is_some();
    if customer {
        for field in [
            "status",
            "visibility",
            "time_worked",
            "author_user_id",
            "author_email",
        ] {
            if given(field).is_some() {
                bad(field, Message::CustomerReplyCannotSet);
            }
        }
    }
    for field in ["created", "attachments"] {
        if given(field).is_some() && !has_body {
            bad(field, Message::NeedsBody);
        }
    }
    let body_invalid = given("body").is_some_and(|v| !v.is_string());
    if !has_body && !body_invalid && (customer || given("status").is_none()) {
        bad("body", Message::BodyOrStatus);
    }
    if !errors.is_empty() {
        return Err(ApiError::InvalidFields(errors));
    }
    match ticket {
        TicketKey::Id(id) => out.insert("ticket_id", id.to_string()),
        TicketKey::Number(n) => out.insert(
            "ticket_number",
            format!("{}{}", n.prefix.as_deref().unwrap_or_default(), n.number),
        ),
    };
    Ok(LegacyFields(out))
}

/// The body's fields and files: a JSON object, or multipart/form-data
/// (text fields, files as `attachments[]`); anything else is a 415.
async fn read_request(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    keyed: bool,
) -> Result<(Map<String, Value>, Vec<ReceivedFile>, Option<[u8; 32]>), ApiError> {
    if attachments::is_multipart(req) {
        // The key was checked before the body (the extractor).
        let (fields, files) =
            attachments::read_multipart(req, payload, state, async |_| Ok(())).await?;
        let hash = keyed
            .then(|| multipart_hash(req, &fields, &files))
            .transpose()?;
        let fields = fields
            .into_iter()
            .map(|(k, v)| (k.trim_end_matches("[]").to_string(), Value::String(v)))
            .collect();
        return Ok((fields, files, hash));
    }
    let media_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let json = media_type
        .as_deref()
        .is_some_and(|t| t == "application/json" || t.ends_with("+json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType(Message::MediaTypeNotJson));
    }
    let body = read_body(payload, state).await?;
    let hash = keyed.then(|| body_hash(req, &body));
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(Message::BodyNotJson(e.to_string())))?;
    match value {
        Value::Object(map) => Ok((map, Vec::new(), hash)),
        _ => Err(ApiError::BadRequest(Message::BodyNotObject)),
    }
}

#[utoipa::path(
    post,
    path = "/api/v2/tickets/{ticket}/replies",
    tag = "v2",
    operation_id = "v2_create_reply",
    summary = "Add a reply, and/or change the ticket's status",
    description = "Written as v1's create writes it (the agent UI's rows), in one transaction; nothing is written unless the answer is 200 or 201.",
    params(
        ("ticket" = String, Path, example = "1", description = "The ticket: its id (`12`; all digits is always an id), or its number as agents see it (`TCK-12`, the prefix in any case; `#12` whatever the prefix)"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "1 to 255 visible ASCII characters: a retry with the same key and request replays the first answer and writes nothing"),
    ),
    request_body(
        description = "A JSON object, or multipart/form-data: the same fields as text parts, files as `attachments[]` parts",
        content(
            (crate::api::openapi::V2NewReply = "application/json"),
            (inline(crate::api::openapi::V2NewReplyMultipart) = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 201, description = "The new reply", body = crate::domain::view::ReplyView, headers(
            ("Location" = String, description = "The reply: `/api/v2/replies/{id}`"),
            ("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same Idempotency-Key"),
        )),
        (status = 200, description = "A status change without a reply: the ticket", body = crate::domain::view::TicketWithReplies, headers(
            ("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same Idempotency-Key"),
        )),
        (status = 400, description = "A body that cannot be read (broken JSON, not an object, not UTF-8), an Idempotency-Key that cannot be read", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A key whose user may not change tickets; `author_*` without an admin's key", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in the key's scope (missing and out of scope look the same)", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 408, description = "A body that stopped arriving", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A closed ticket, or a ticket number that names several tickets", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "A body over its limit, a file over `max_attachment_bytes`", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A body neither JSON nor multipart/form-data", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one listed in `errors`; a request the rules refuse (a status not settable now, say); an Idempotency-Key used for a different request", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn handle(
    key: Bearer<Write>,
    ticket: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, V2Error> {
    let idempotency = idempotency_header(&req)?;
    let (body, files, hash) = read_request(&req, payload, &state, idempotency.is_some()).await?;
    let ticket = super::read::ticket_key(&ticket)?;
    let fields = legacy_fields(&ticket, &body)?;
    let new_reply = NewReply::parse(&fields)?;
    let idempotency = idempotency
        .zip(hash)
        .map(|(key, request_hash)| IdempotencyKey { key, request_hash });
    let done = write_reply(
        &state,
        create::Write {
            principal: &key.principal,
            meta: &key.meta,
            idempotency: idempotency.as_ref(),
        },
        new_reply,
        files,
        fields.field("attachments"),
        Answer::View {
            replies: TICKET_REPLIES,
            byte_budget: super::read::PAGE_BYTES,
        },
    )
    .await?;
    Ok(respond(done))
}

/// 201 with `Location` for a new reply, 200 for a status-only change; a
/// replay is marked `Idempotent-Replayed: true`.
fn respond(done: Created) -> HttpResponse {
    let (answer, replayed) = match done {
        Created::Written(answer) => (answer, false),
        Created::Replayed(answer) => (answer, true),
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if status == StatusCode::CREATED {
        #[derive(serde::Deserialize)]
        struct Id {
            id: i64,
        }
        if let Ok(Id { id }) = serde_json::from_slice(&answer.body) {
            response.insert_header((header::LOCATION, format!("{}/replies/{id}", super::PREFIX)));
        }
    }
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.content_type(answer.content_type).body(answer.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(body: Value) -> Vec<String> {
        let Value::Object(map) = body else { panic!() };
        match legacy_fields(&TicketKey::Id(1), &map) {
            Err(ApiError::InvalidFields(e)) => e.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("{other:?}"),
            Ok(_) => Vec::new(),
        }
    }

    fn fields(body: Value) -> HashMap<&'static str, String> {
        let Value::Object(map) = body else { panic!() };
        legacy_fields(&TicketKey::Id(1), &map).unwrap().0
    }

    #[test]
    fn every_invalid_field_at_once() {
        let e = errors(serde_json::json!({
            "body": 5, "body_format": "rtf", "visibility": "secret",
            "time_worked": -1, "status": 0, "author_user_id": "x",
            "created": "yesterday", "colour": "red"
        }));
        assert_eq!(
            e,
            [
                "colour",
                "body",
                "body_format",
                "visibility",
                "time_worked",
                "status",
                "author_user_id",
                "created",
                "created",
            ]
        );
        assert_eq!(errors(serde_json::json!({})), ["body"]);
        assert_eq!(
            errors(serde_json::json!({"contact_id": 3, "status": "Open"})),
            ["status", "body"]
        );
    }

    #[test]
    fn fields_become_the_legacy_parameters() {
        let f = fields(serde_json::json!({
            "body": "**hi**", "body_format": "markdown", "visibility": "public",
            "time_worked": "1:02:03", "status": "Resolved"
        }));
        assert_eq!(f["ticket_reply"], "**hi**");
        assert_eq!(f["markdown"], "1");
        assert_eq!(f["public_reply_type"], "1");
        assert_eq!(
            (&*f["hours"], &*f["minutes"], &*f["seconds"]),
            ("1", "2", "3")
        );
        assert_eq!(f["status"], "Resolved");
        assert_eq!(f["ticket_id"], "1");
        let f = fields(serde_json::json!({"status": 4, "time_worked": 3723}));
        assert_eq!(f["status"], "4");
        assert_eq!(
            (&*f["hours"], &*f["minutes"], &*f["seconds"]),
            ("1", "2", "3")
        );
        assert_eq!(time_worked(&serde_json::json!(MAX_TIME_WORKED + 1)), None);
        assert_eq!(
            time_worked(&serde_json::json!("838:59:59")),
            Some((838, 59, 59))
        );
        assert_eq!(time_worked(&serde_json::json!("1:60:00")), None);
    }
}
