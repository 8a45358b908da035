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
    /// v2: fields that are not valid, every one of them (HTTP 422).
    #[error("{}", Message::InvalidFields(.0.len()))]
    InvalidFields(Vec<FieldError>),
    /// v2: a body of a media type the endpoint does not take (HTTP 415).
    #[error("{0}")]
    UnsupportedMediaType(Message),
    /// v2: a method the path does not serve (HTTP 405); the methods it does.
    #[error("{}", Message::MethodNotAllowed(.0))]
    MethodNotAllowed(&'static str),
    /// v2: the key's rate limit is spent (HTTP 429); seconds until the
    /// next request is let through.
    #[error("{}", Message::RateLimited(*.0))]
    RateLimited(u64),
}

/// One invalid field of a request (v2's 422 lists every one of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name in the request (`body`, `status`, `limit`...).
    pub field: String,
    /// What is wrong with it, and what is accepted.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: Message) -> Self {
        FieldError {
            field: field.to_string(),
            message: message.to_string(),
        }
    }
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
            ApiError::InvalidFields(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
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

impl ApiError {
    /// The server's own failures go to the log (never their details to the
    /// client), whichever API answers.
    pub fn log(&self) {
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
    }
}
