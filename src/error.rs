//! One error type for every answer that is not a success, mapped to ITFlow's
//! JSON shape `{"success":"False","message":...}` in one place.

pub use crate::messages::Message;
use crate::php::to_json_bytes;
use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

/// Every answer that is not a success. The texts are in
/// [`crate::messages`]; this type decides the HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// validate_api_key.php answers 401 (with an empty body in PHP).
    #[error("{}", Message::KeyMissing)]
    KeyMissing,
    /// validate_api_key.php: unknown or expired key.
    #[error("{}", Message::KeyInvalid)]
    KeyInvalid,
    /// enforce_api_rbac.php's refusals for user-tied keys (HTTP 403).
    #[error("{0}")]
    Forbidden(Message),
    /// require_get_method.php / require_post_method.php.
    #[error("{}", Message::WrongMethod(.0))]
    WrongMethod(&'static str),
    /// A request refused by the rules: HTTP 200 with success "False", the
    /// v1 convention legacy clients rely on (read_output.php's "no
    /// resource" included). Nothing was written.
    #[error("{0}")]
    Refused(Message),
    /// A large answer could not be kept in its temporary file (a full or
    /// read-only temporary directory).
    #[error("{}", Message::AnswerFile)]
    AnswerFile(#[source] std::io::Error),
    /// A body or parameter replyd cannot read (not UTF-8, broken JSON, an
    /// array where a value is needed): HTTP 400.
    #[error("{0}")]
    BadRequest(Message),
    /// A well-formed request that cannot be taken as sent (an
    /// `Idempotency-Key` reused for another request): HTTP 422.
    #[error("{0}")]
    Unprocessable(Message),
    #[error("{}", Message::BodyTooLarge(*.0))]
    BodyTooLarge(usize),
    /// An attachment or multipart body over its limit: HTTP 413.
    #[error("{0}")]
    TooLarge(Message),
    /// The disk failed while storing an attachment: HTTP 500, nothing
    /// written (details in the log).
    #[error("{}", Message::UploadFailed)]
    Upload(#[source] std::io::Error),
    /// The body stopped arriving (`body_timeout_ms`); the connection closes.
    #[error("{}", Message::BodyTimeout(*.0))]
    BodyTimeout(u128),
    #[error("{}", Message::NoRoute)]
    NoRoute,
    /// /metrics from an address not in `metrics_allow`.
    #[error("{}", Message::MetricsForbidden)]
    MetricsForbidden,
    /// /readyz: the reason replyd cannot serve requests now.
    #[error("{}", Message::NotReady(.0.clone()))]
    NotReady(String),
    #[error("{}", Message::DatabaseUnavailable)]
    DatabaseUnavailable(#[source] mysql_async::Error),
    #[error("{}", Message::DatabaseFailed)]
    Database(#[source] mysql_async::Error),
    /// COMMIT itself failed: the outcome is unknown to replyd.
    #[error("{}", Message::CommitFailed)]
    CommitFailed(#[source] mysql_async::Error),
}

/// A message on its own is a refusal: HTTP 200 with success "False", the
/// v1 convention, nothing written.
impl From<Message> for ApiError {
    fn from(message: Message) -> Self {
        ApiError::Refused(message)
    }
}

impl ApiError {
    /// read_output.php's answer when nothing matches (HTTP 200).
    pub fn no_resource() -> ApiError {
        ApiError::Refused(Message::NoResource)
    }

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
            ApiError::Refused(_) => StatusCode::OK,
            ApiError::AnswerFile(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BodyTooLarge(_) | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Upload(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
        if let ApiError::Upload(e) = self {
            log::error!("storing an attachment: {e}");
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
