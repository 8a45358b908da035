//! POST /api/v1/tickets/replies/create.php

use crate::api::attachments;
use crate::api::auth::{Authorized, CreateReply};
use crate::db::create::{CreateRequest, Created, Files, Idempotent, create_keyed};
use crate::db::idempotency::Stored;
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
    let mut new_reply = NewReply::parse(&params)?;
    // Writing as another agent: admins' keys and first-generation keys for
    // every client only.
    if matches!(new_reply.author, Author::Agent(_)) && !principal.may_write_as_others() {
        return Err(ApiError::Forbidden(Message::AuthorNotPermitted));
    }
    // Files: a multipart body's parts, then an `attachments` parameter's.
    let mut files = files;
    if let Some(value) = params.field("attachments").filter(|v| !v.trim().is_empty()) {
        files.extend(attachments::from_parameter(value, &state)?);
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
    let claim = idempotency.as_ref().map(|k| k.claim(&principal));
    let done = create_keyed(
        &state.pool,
        &state.write_context(&principal),
        CreateRequest::Replies(&new_reply),
        Files {
            uploads: state.uploads.as_ref(),
            staged: &staged,
        },
        &meta,
        state.settings.db_timeout(),
        claim.as_ref().map(|claim| Idempotent {
            claim,
            answer: created_answer,
        }),
    )
    .await?;
    Ok(respond(done))
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
        Created::Written(insert_id) => (created_answer(insert_id), false),
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
