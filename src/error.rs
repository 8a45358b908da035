//! One error type for every answer that is not a success, mapped to ITFlow's
//! JSON shape `{"success":"False","message":...}` in one place.

use crate::php::to_json_bytes;
use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

/// ITFlow's read_output.php wording when nothing matches.
pub const NO_RESOURCE: &str =
    "No resource (for this client and company) with the specified parameter(s).";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// validate_api_key.php answers 401 (with an empty body in PHP).
    #[error("Authentication failed. API key is missing.")]
    KeyMissing,
    /// validate_api_key.php: unknown or expired key.
    #[error("Authentication failed. API key is invalid or has expired.")]
    KeyInvalid,
    /// enforce_api_rbac.php's refusals for user-tied keys (HTTP 403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// require_get_method.php / require_post_method.php.
    #[error("Can only send {0} requests to this endpoint.")]
    WrongMethod(&'static str),
    /// A request refused by validation: HTTP 200 with success "False", the
    /// v1 convention legacy clients rely on. Nothing was written.
    #[error("{0}")]
    Refused(String),
    /// A read whose answer would be larger than `max_answer_bytes` (HTTP
    /// 200, as every v1 refusal).
    #[error(
        "The answer would be larger than the {0} bytes this server sends in one answer; ask for fewer replies with limit and offset."
    )]
    AnswerTooLarge(u64),
    /// A large answer could not be kept in its temporary file (a full or
    /// read-only temporary directory).
    #[error(
        "The answer could not be prepared; try again, or ask for fewer replies with limit and offset."
    )]
    AnswerFile(#[source] std::io::Error),
    /// read_output.php's empty answer (HTTP 200).
    #[error("{}", NO_RESOURCE)]
    NoResource,
    /// A body that is neither a JSON object nor a form, or not UTF-8.
    #[error("{0}")]
    BadBody(String),
    /// ITFlow's dialect: an array where PHP throws a TypeError (HTTP 500
    /// there), e.g. `type[]=x` for read.php's `strtolower($_GET['type'])`.
    #[error("Parameter {0} must be a string or a number, not an array or object.")]
    ArrayParameter(&'static str),
    #[error("Request body is larger than the {0} bytes this server accepts.")]
    BodyTooLarge(usize),
    /// The body stopped arriving (`body_timeout_ms`); the connection closes.
    #[error("The request body did not arrive within {0} ms.")]
    BodyTimeout(u128),
    #[error("No such endpoint.")]
    NoRoute,
    /// /metrics from an address not in `metrics_allow`.
    #[error("Metrics are served only to the addresses in replyd's metrics_allow setting.")]
    MetricsForbidden,
    /// /readyz: the reason replyd cannot serve requests now.
    #[error("Not ready: {0}")]
    NotReady(String),
    #[error("The database is unavailable; try again shortly.")]
    DatabaseUnavailable(#[source] mysql_async::Error),
    #[error("Internal error while talking to the database; nothing was written.")]
    Database(#[source] mysql_async::Error),
    /// COMMIT itself failed: the outcome is unknown to replyd.
    #[error(
        "The database failed while committing; check before retrying, the write may or may not have been saved."
    )]
    CommitFailed(#[source] mysql_async::Error),
}

impl ApiError {
    /// Inside a write transaction every database error is a 500: the
    /// transaction is rolled back, whatever the kind of failure.
    pub fn in_transaction(self) -> ApiError {
        match self {
            ApiError::DatabaseUnavailable(e) => ApiError::Database(e),
            other => other,
        }
    }
}

/// Server errors that mean "the database cannot take requests now" rather
/// than "this request failed": too many connections, shutdown in progress,
/// connection killed.
const UNAVAILABLE_SERVER_CODES: [u16; 3] = [1040, 1053, 1927];

impl From<mysql_async::Error> for ApiError {
    fn from(e: mysql_async::Error) -> Self {
        match &e {
            mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => {
                ApiError::DatabaseUnavailable(e)
            }
            mysql_async::Error::Server(s) if UNAVAILABLE_SERVER_CODES.contains(&s.code) => {
                ApiError::DatabaseUnavailable(e)
            }
            _ => ApiError::Database(e),
        }
    }
}

#[derive(Serialize)]
struct Failure<'a> {
    success: &'static str,
    message: &'a str,
}

/// `{"success":"False","message":...}` as PHP's json_encode writes it.
pub fn failure_body(message: &str) -> Vec<u8> {
    to_json_bytes(&Failure {
        success: "False",
        message,
    })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::KeyMissing | ApiError::KeyInvalid => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::WrongMethod(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Refused(_) | ApiError::NoResource | ApiError::AnswerTooLarge(_) => {
                StatusCode::OK
            }
            ApiError::AnswerFile(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BadBody(_) => StatusCode::BAD_REQUEST,
            ApiError::ArrayParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MetricsForbidden => StatusCode::FORBIDDEN,
            ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Database(_) | ApiError::CommitFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Database(e)
        | ApiError::DatabaseUnavailable(e)
        | ApiError::CommitFailed(e) = self
        {
            // Details go to the log only, never to the client.
            log::error!("database error: {e}");
        }
        if let ApiError::AnswerFile(e) = self {
            log::error!("temporary file for a large answer: {e}");
        }
        let mut answer = HttpResponse::build(self.status_code());
        if let ApiError::BodyTimeout(_) = self {
            // The rest of the body may still come: the connection cannot
            // carry another request.
            answer.force_close();
        }
        answer
            .content_type("application/json")
            .body(failure_body(&self.to_string()))
    }
}
