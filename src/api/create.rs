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
