//! POST /api/v1/tickets/replies/create.php

use crate::api::attachments::{self, ReceivedFile};
use crate::api::auth::{Authorized, CreateReply, IdempotencyKey};
use crate::api::meta::RequestMeta;
use crate::db::create::{Answer, CreateRequest, Created, Files, create};
use crate::db::idempotency::Stored;
use crate::domain::Principal;
use crate::domain::reply::{Fields, NewAttachment};
use crate::domain::{Author, NewReply};
use crate::error::ApiError;
use crate::messages::Message;
use crate::php::to_json_bytes;
use crate::state::AppState;
use crate::uploads::random_name;
use actix_web::{HttpResponse, http::StatusCode, web};
use serde::Serialize;

#[utoipa::path(
    summary = "Add a reply, and/or change the ticket's status, and/or log time worked",
    description = "replyd's own create, written as ITFlow's agent UI writes it, in one transaction. Every refusal is HTTP 200 with `success` \"False\" and writes nothing.",
    post,
    path = crate::api::CREATE_PATH,
    tag = "v1",
    operation_id = "v1_create_reply",
    params(
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "1 to 255 visible ASCII characters: a retry with the same key and request replays the first answer and writes nothing"),
    ),
    request_body(
        description = "The parameters (the query string is read too); a body that is a JSON object is read as JSON whatever its Content-Type",
        content(
            (crate::api::openapi::V1CreateParams = "application/json"),
            (crate::api::openapi::V1CreateParams = "application/x-www-form-urlencoded"),
            (inline(crate::api::openapi::V1CreateMultipart) = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "Written (or replayed), or refused with nothing written (`success` \"False\")", body = inline(crate::api::openapi::V1CreateAnswer), headers(("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same Idempotency-Key"))),
        (status = 400, description = "A body, parameter or Idempotency-Key that cannot be read", body = crate::api::openapi::V1Failure),
        (status = 401, description = "No key, or an unknown or expired one", body = crate::api::openapi::V1Failure),
        (status = 403, description = "A user-tied key whose user may not change tickets; `author_*` without an admin's key", body = crate::api::openapi::V1Failure),
        (status = 405, description = "Any method but POST (after the key is checked)", body = crate::api::openapi::V1Failure),
        (status = 408, description = "A body that stopped arriving", body = crate::api::openapi::V1Failure),
        (status = 413, description = "A body over `max_body_bytes` (multipart: `max_upload_bytes`), a file over `max_attachment_bytes`", body = crate::api::openapi::V1Failure),
        (status = 422, description = "An Idempotency-Key used for a different request", body = crate::api::openapi::V1Failure),
        (status = 500, description = "The database or the disk failed (nothing written), or COMMIT failed (may or may not be saved: retry with the same Idempotency-Key)", body = crate::api::openapi::V1Failure),
        (status = 503, description = "The database cannot be reached in time; nothing written, try again", body = crate::api::openapi::V1Failure),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
pub async fn handle(
    auth: Authorized<CreateReply>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Authorized {
        params,
        files,
        principal,
        meta,
        idempotency,
        ..
    } = auth;
    let new_reply = NewReply::parse(&params)?;
    let done = write_reply(
        &state,
        Write {
            principal: &principal,
            meta: &meta,
            idempotency: idempotency.as_ref(),
        },
        new_reply,
        files,
        params.field("attachments"),
        Answer::Insert(created_answer),
    )
    .await?;
    Ok(respond(done))
}

/// Who writes, and the request's `Idempotency-Key`.
pub struct Write<'a> {
    pub principal: &'a Principal,
    pub meta: &'a RequestMeta,
    pub idempotency: Option<&'a IdempotencyKey>,
}

/// Write a legacy-dialect (or v2) reply with its files: a multipart body's
/// parts, then an `attachments` parameter's (JSON text).
pub async fn write_reply(
    state: &AppState,
    who: Write<'_>,
    mut new_reply: NewReply,
    mut files: Vec<ReceivedFile>,
    attachments_param: Option<&str>,
    answer: Answer,
) -> Result<Created, ApiError> {
    // Writing as another agent: admins' keys and first-generation keys for
    // every client only.
    if matches!(new_reply.author, Author::Agent(_)) && !who.principal.may_write_as_others() {
        return Err(ApiError::Forbidden(Message::AuthorNotPermitted));
    }
    if let Some(value) = attachments_param.filter(|v| !v.trim().is_empty()) {
        files.extend(attachments::from_parameter(value, state)?);
    }
    let mut staged = Vec::with_capacity(files.len());
    for file in files {
        new_reply.attachments.push(NewAttachment {
            reference: file
                .name
                .reference(&random_name().map_err(ApiError::Upload)?),
            name: file.name,
            size: file.size,
        });
        staged.push(file.staged);
    }
    // Bounded twice by db_timeout_ms: the work (past it the transaction is
    // dropped uncommitted, a 503) and the COMMIT (past it the outcome is
    // unknown, and the answer says so).
    let claim = who.idempotency.map(|k| k.claim(who.principal));
    create(
        &state.pool,
        &state.write_context(who.principal),
        CreateRequest::Replies(&new_reply),
        Files {
            uploads: state.uploads.as_ref(),
            staged: &staged,
        },
        who.meta,
        state.settings.db_timeout(),
        claim.as_ref(),
        answer,
    )
    .await
}

/// The success answer of create_output.php, as kept for an
/// `Idempotency-Key`.
pub fn created_answer(insert_id: u64) -> Stored {
    Stored {
        status: 200,
        content_type: "application/json".into(),
        body: to_json_bytes(&CreateOutput {
            success: "True",
            count: "1",
            data: [InsertId { insert_id }],
        }),
    }
}

/// The answer to a create: what it wrote, or the kept answer of the same
/// request sent before with the same `Idempotency-Key`, marked
/// `Idempotent-Replayed: true`.
pub fn respond(done: Created) -> HttpResponse {
    let (answer, replayed) = match done {
        Created::Written(answer) => (answer, false),
        Created::Replayed(answer) => (answer, true),
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.content_type(answer.content_type);
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(answer.body)
}

/// ITFlow's create_output.php: `count` is the string "1", `insert_id` a
/// number.
#[derive(Serialize)]
struct CreateOutput {
    success: &'static str,
    count: &'static str,
    data: [InsertId; 1],
}

#[derive(Serialize)]
struct InsertId {
    insert_id: u64,
}
