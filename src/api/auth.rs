//! Typed authorisation: a handler takes `Authorized<A>` for its action `A`
//! (in the manner of meilisearch's `GuardedData`), and gets the request's
//! parameters, the authenticated principal and the audit metadata only
//! when the key may take that action. The steps keep ITFlow's order: read
//! the body, check the key (api/v1/validate_api_key.php), check the role
//! (api/v1/enforce_api_rbac.php), then the method
//! (require_get_method.php / require_post_method.php).

use crate::api::attachments::{self, ReceivedFile};
use crate::api::meta::RequestMeta;
use crate::api::params::{Dialect, Params};
use crate::db;
use crate::db::idempotency::{self, Claim};
use crate::db::keys::KeyLookup;
use crate::domain::Principal;
use crate::error::{ApiError, Message};
use crate::metrics::AuthFailure;
use crate::observe::record_key_name;
use crate::state::AppState;
use actix_web::{FromRequest, HttpRequest, dev, http::Method, http::header, web};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

/// `permissions.module_support` levels (ITFlow's roles): 1 may read, 2 may
/// modify.
pub const SUPPORT_READ: i64 = 1;
pub const SUPPORT_MODIFY: i64 = 2;

/// An action an API key may be allowed to take.
pub trait Action {
    /// How the endpoint reads its parameters.
    const DIALECT: Dialect;
    /// The one method the endpoint takes.
    const METHOD: Method;
    /// The `module_support` level a user-tied key's role needs.
    const SUPPORT_LEVEL: i64;
}

/// `GET /api/v1/tickets/replies/read.php`.
pub struct ReadReplies;
/// `POST /api/v1/tickets/replies/create.php`.
pub struct CreateReply;
/// `GET /api/v1/tickets/replies/attachment.php`.
pub struct ReadAttachment;
/// ITFlow's `GET /api/v1/ticket_replies/read.php`.
pub struct ReadTicketReplies;
/// ITFlow's `POST /api/v1/ticket_replies/create.php`.
pub struct CreateTicketReply;

impl Action for ReadReplies {
    const DIALECT: Dialect = Dialect::Replies;
    const METHOD: Method = Method::GET;
    const SUPPORT_LEVEL: i64 = SUPPORT_READ;
}

impl Action for CreateReply {
    const DIALECT: Dialect = Dialect::Replies;
    const METHOD: Method = Method::POST;
    const SUPPORT_LEVEL: i64 = SUPPORT_MODIFY;
}

impl Action for ReadAttachment {
    const DIALECT: Dialect = Dialect::Replies;
    const METHOD: Method = Method::GET;
    const SUPPORT_LEVEL: i64 = SUPPORT_READ;
}

impl Action for ReadTicketReplies {
    const DIALECT: Dialect = Dialect::TicketReplies;
    const METHOD: Method = Method::GET;
    const SUPPORT_LEVEL: i64 = SUPPORT_READ;
}

impl Action for CreateTicketReply {
    const DIALECT: Dialect = Dialect::TicketReplies;
    const METHOD: Method = Method::POST;
    const SUPPORT_LEVEL: i64 = SUPPORT_MODIFY;
}

/// A request whose key may take action `A`.
pub struct Authorized<A> {
    pub params: Params,
    /// The files of a multipart/form-data body (replyd's own create).
    pub files: Vec<ReceivedFile>,
    pub principal: Principal,
    pub meta: RequestMeta,
    /// A POST's `Idempotency-Key`, with the request's fingerprint.
    pub idempotency: Option<IdempotencyKey>,
    action: PhantomData<A>,
}

/// An `Idempotency-Key` header and what identifies the request it came
/// with: SHA-256 of the path, the query string and the body (for a
/// multipart body: its fields in name order and its files' names and
/// contents). The API key's identity is the record's other half.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: [u8; 32],
}

impl IdempotencyKey {
    /// The claim a create makes for `principal`.
    pub fn claim(&self, principal: &Principal) -> Claim {
        Claim {
            api_key_id: principal.key_id(),
            key: self.key.clone(),
            request_hash: self.request_hash,
        }
    }
}

/// The `Idempotency-Key` header: None when absent, a 400 when it is not one
/// valid key.
pub(crate) fn idempotency_header(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let mut values = req.headers().get_all("idempotency-key");
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = || ApiError::BadRequest(Message::IdempotencyKeyInvalid);
    if values.next().is_some() {
        return Err(invalid());
    }
    let value = value.to_str().map_err(|_| invalid())?.trim();
    if !idempotency::valid_key(value) {
        return Err(invalid());
    }
    Ok(Some(value.to_string()))
}

fn hash_part(hasher: &mut Sha256, part: &[u8]) {
    hasher.update((part.len() as u64).to_be_bytes());
    hasher.update(part);
}

/// The fingerprint of a multipart request.
pub(crate) fn multipart_hash(
    req: &HttpRequest,
    fields: &HashMap<String, String>,
    files: &[ReceivedFile],
) -> Result<[u8; 32], ApiError> {
    let mut hasher = Sha256::new();
    hash_part(&mut hasher, req.path().as_bytes());
    hash_part(&mut hasher, req.query_string().as_bytes());
    let mut names: Vec<&String> = fields.keys().collect();
    names.sort();
    for name in names {
        hash_part(&mut hasher, name.as_bytes());
        hash_part(&mut hasher, fields[name].as_bytes());
    }
    for file in files {
        hash_part(&mut hasher, file.name.original.as_bytes());
        // Streamed from the staged copy: never the whole file in memory.
        hasher.update(file.size.to_be_bytes());
        let mut staged = std::fs::File::open(file.staged.path()).map_err(ApiError::Upload)?;
        std::io::copy(&mut staged, &mut hasher).map_err(ApiError::Upload)?;
    }
    Ok(hasher.finalize().into())
}

/// The fingerprint of a request with a body read whole.
pub(crate) fn body_hash(req: &HttpRequest, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hash_part(&mut hasher, req.path().as_bytes());
    hash_part(&mut hasher, req.query_string().as_bytes());
    hash_part(&mut hasher, body);
    hasher.finalize().into()
}

impl<A: Action + 'static> FromRequest for Authorized<A> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            let payload = payload
                .await
                .map_err(|e| ApiError::BadRequest(Message::BodyUnreadable(e.to_string())))?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .expect("the app has its state")
                .clone();
            let multipart = A::DIALECT == Dialect::Replies
                && A::METHOD == Method::POST
                && attachments::is_multipart(&req);
            // Only a POST's key counts (creates); elsewhere it is ignored.
            // A malformed one is refused after the key, role and method.
            let idempotency_key = if A::METHOD == Method::POST && req.method() == Method::POST {
                idempotency_header(&req)
            } else {
                Ok(None)
            };
            let keyed = matches!(idempotency_key, Ok(Some(_)));
            let mut request_hash = None;
            let (params, files) = if multipart {
                // The key is checked before any file touches the disk.
                let admit = async |fields: &HashMap<String, String>| {
                    let params = Params::with_fields(req.query_string(), fields.clone());
                    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
                    check_key(request_key(&params, &req).as_deref(), &meta, &state)
                        .await
                        .map(drop)
                };
                let (fields, files) =
                    attachments::read_multipart(&req, payload, &state, admit).await?;
                if keyed {
                    request_hash = Some(multipart_hash(&req, &fields, &files)?);
                }
                (Params::with_fields(req.query_string(), fields), files)
            } else {
                let body = read_body(payload, &state).await?;
                if keyed {
                    request_hash = Some(body_hash(&req, &body));
                }
                let params = Params::parse_for(A::DIALECT, req.query_string(), &body)?;
                (params, Vec::new())
            };
            let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
            let principal = check_key(request_key(&params, &req).as_deref(), &meta, &state).await?;
            // For the access log: the key's name, never its secret.
            record_key_name(&req, principal.key_name());
            if principal.support_level() < A::SUPPORT_LEVEL {
                state.metrics.auth_failed(AuthFailure::Refused);
                return Err(ApiError::Forbidden(Message::NoPermission));
            }
            if req.method() != A::METHOD {
                return Err(ApiError::WrongMethod(if A::METHOD == Method::GET {
                    "GET"
                } else {
                    "POST"
                }));
            }
            let idempotency = idempotency_key?
                .zip(request_hash)
                .map(|(key, request_hash)| IdempotencyKey { key, request_hash });
            Ok(Authorized {
                params,
                files,
                principal,
                meta,
                idempotency,
                action: PhantomData,
            })
        })
    }
}

/// The whole body, at most `max_body_bytes`, arriving within
/// `body_timeout_ms` (actix-web's own timeout covers only the head: a body
/// that stops arriving would hold the connection forever).
pub(crate) async fn read_body(
    payload: web::Payload,
    state: &AppState,
) -> Result<web::Bytes, ApiError> {
    let limit = state.settings.max_body_bytes;
    let deadline = state.settings.body_timeout();
    tokio::time::timeout(deadline, payload.to_bytes_limited(limit))
        .await
        .map_err(|_| ApiError::BodyTimeout(deadline.as_millis()))?
        .map_err(|_| ApiError::BodyTooLarge(limit))?
        .map_err(|e| ApiError::BadRequest(Message::BodyUnreadable(e.to_string())))
}

/// The key of a v1 request: the `api_key` parameter where the dialect reads
/// it (ITFlow's PHP reads nothing else), else `Authorization: Bearer <key>`.
/// The parameter wins when both are sent, so a request means on replyd what
/// it means on ITFlow's PHP.
pub fn request_key<'a>(params: &'a Params, req: &HttpRequest) -> Option<Cow<'a, str>> {
    params.api_key().or_else(|| bearer_key(req).map(Cow::Owned))
}

/// The token of `Authorization: Bearer <token>` (the scheme in any case,
/// RFC 9110). Anything else (another scheme, no token, several
/// Authorization lines, a value that is not text) is no key at all.
pub fn bearer_key(req: &HttpRequest) -> Option<String> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let value = value.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then(|| token.to_string())
}

/// validate_api_key.php and the key half of enforce_api_rbac.php: the
/// key's principal, or the 401/403 (a failed attempt logged as ITFlow
/// logs it).
pub async fn check_key(
    secret: Option<&str>,
    meta: &RequestMeta,
    state: &AppState,
) -> Result<Principal, ApiError> {
    // PHP: missing only when neither $_GET nor $_POST has it; an empty key
    // is looked up (and fails, with a log row) like any other.
    let Some(secret) = secret else {
        state.metrics.auth_failed(AuthFailure::Missing);
        return Err(ApiError::KeyMissing);
    };
    // ITFlow's sanitizeInput() trims the key before the lookup.
    let secret = secret.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\u{0b}'));
    let limit = state.settings.db_timeout();
    let lookup = state.keys.find_key(&state.pool, state.flavour, secret);
    match db::within(limit, lookup).await? {
        KeyLookup::Found(p) => Ok(p),
        KeyLookup::Forbidden(message) => {
            state.metrics.auth_failed(AuthFailure::Refused);
            Err(ApiError::Forbidden(message))
        }
        KeyLookup::Unknown => {
            state.metrics.auth_failed(AuthFailure::Invalid);
            // PHP ignores a failed log insert; the answer stays a 401.
            if let Err(e) = db::within(limit, db::keys::log_failed_key(&state.pool, meta)).await {
                log::error!("writing the failed-key log row: {e}");
            }
            Err(ApiError::KeyInvalid)
        }
    }
}
