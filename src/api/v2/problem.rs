//! v2's one error format: RFC 9457 `application/problem+json`, made from
//! the one error type ([`ApiError`]) in one place. v1 renders the same
//! errors as ITFlow's envelope (`error.rs`); here each gets its own status.

use crate::error::{ApiError, FieldError};
use crate::messages::Message;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: &'static str,
    /// The status's reason phrase.
    #[schema(example = "Unprocessable Entity")]
    pub title: &'static str,
    /// The HTTP status, repeated.
    #[schema(example = 422)]
    pub status: u16,
    /// What went wrong, for a person to read.
    pub detail: String,
    /// 422: every invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// v2's error: any [`ApiError`], answered as a problem document.
#[derive(Debug)]
pub struct V2Error(pub ApiError);

impl<E: Into<ApiError>> From<E> for V2Error {
    fn from(e: E) -> Self {
        V2Error(e.into())
    }
}

impl fmt::Display for V2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The status of a refusal (v1's HTTP 200 "False") in v2, and the field it
/// is about.
fn refusal(message: &Message) -> (StatusCode, Option<&'static str>) {
    use Message::*;
    match message {
        // Not found and out of scope look the same (never revealing which).
        NoResource | TicketNotFound | AttachmentNotFound | NoAccessToTargetClient => {
            (StatusCode::NOT_FOUND, None)
        }
        TicketClosed => (StatusCode::CONFLICT, None),
        TicketNumberAmbiguous => (StatusCode::CONFLICT, Some("ticket")),
        StatusNotAnId(_)
        | StatusNotSettable(_)
        | ResolveWithOpenTasks
        | StatusNameNotAccepted(_) => (StatusCode::UNPROCESSABLE_ENTITY, Some("status")),
        CreatedInvalid | CreatedNeedsReply | CreatedInFuture | CreatedBeforeTicket => {
            (StatusCode::UNPROCESSABLE_ENTITY, Some("created"))
        }
        PublicReplyWithEmail
        | PublicReplyNoEmailQueue
        | PublicReplyMailNotConfigured(_)
        | PublicReplyType => (StatusCode::UNPROCESSABLE_ENTITY, Some("visibility")),
        TimeWorkedRange => (StatusCode::UNPROCESSABLE_ENTITY, Some("time_worked")),
        AuthorNotAgent => (StatusCode::UNPROCESSABLE_ENTITY, Some("author")),
        CustomerReplyNeedsText | NothingToDo => (StatusCode::UNPROCESSABLE_ENTITY, Some("body")),
        AttachmentName | AttachmentExtension | AttachmentEmpty | AttachmentsMalformed
        | AttachmentsNeedReply | AttachmentsNotStored | UploadsNotConfigured => {
            (StatusCode::UNPROCESSABLE_ENTITY, Some("attachments"))
        }
        // A server whose uploads folder is read-only: not the client's doing.
        UploadsNotWritable => (StatusCode::SERVICE_UNAVAILABLE, None),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, None),
    }
}

impl V2Error {
    /// The problem document and its status.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let mut errors = Vec::new();
        let detail = match &self.0 {
            ApiError::InvalidFields(fields) => {
                errors = fields.clone();
                Message::InvalidFields(fields.len()).to_string()
            }
            ApiError::Refused(message) => {
                if let (_, Some(field)) = refusal(message) {
                    errors.push(FieldError::new(field, message.clone()));
                }
                message.to_string()
            }
            other => other.to_string(),
        };
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl ResponseError for V2Error {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            ApiError::Refused(message) => refusal(message).0,
            ApiError::InvalidFields(_) => StatusCode::UNPROCESSABLE_ENTITY,
            other => other.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let mut answer = HttpResponse::build(self.status_code());
        if let ApiError::BodyTimeout(_) = self.0 {
            answer.force_close();
        }
        if matches!(self.0, ApiError::KeyMissing | ApiError::KeyInvalid) {
            answer.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        match &self.0 {
            ApiError::WrongMethod(allowed) | ApiError::MethodNotAllowed(allowed) => {
                answer.insert_header((header::ALLOW, *allowed));
            }
            ApiError::RateLimited(seconds) => {
                answer.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            _ => {}
        }
        answer
            .content_type("application/problem+json")
            .body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}
