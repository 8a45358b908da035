//! GET /api/v1/tickets/replies/attachment.php?attachment_id=N: a reply's
//! file, to keys that may read its ticket, streamed from ITFlow's uploads
//! folder (never read whole into memory).

use crate::api::auth::{Authorized, ReadAttachment};
use crate::db;
use crate::error::ApiError;
use crate::messages::Message;
use crate::state::AppState;
use actix_files::NamedFile;
use actix_web::http::header::{
    Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpRequest, HttpResponse, web};

#[utoipa::path(
    summary = "A reply's file",
    description = "Streamed from ITFlow's uploads folder to keys that may read the reply's ticket; to any other key, and for an unknown id, a refusal (HTTP 200).",
    get,
    path = crate::api::ATTACHMENT_PATH,
    tag = "v1",
    operation_id = "v1_read_attachment",
    params(
        ("attachment_id" = Option<i64>, Query, description = "The file (`attachments[].id` of a read)"),
    ),
    responses(
        (status = 200, description = "The file (`Content-Type` from its extension, `Content-Disposition: attachment` with its name); or, as JSON, a refusal: no such attachment or not the key's, the file missing, no uploads folder", content(
            (crate::api::openapi::V1Failure = "application/json"),
            (Vec<u8> = "*/*"),
        )),
        (status = 206, description = "A `Range` of the file", content((Vec<u8> = "*/*"))),
        (status = 304, description = "Not modified since `If-Modified-Since`"),
        (status = 412, description = "`If-Unmodified-Since` failed"),
        (status = 416, description = "A `Range` outside the file"),
        (status = 400, description = "A body or parameter that cannot be read", body = crate::api::openapi::V1Failure),
        (status = 401, description = "No key, or an unknown or expired one", body = crate::api::openapi::V1Failure),
        (status = 403, description = "A user-tied key whose user may not read tickets", body = crate::api::openapi::V1Failure),
        (status = 405, description = "Any method but GET (after the key is checked)", body = crate::api::openapi::V1Failure),
        (status = 408, description = "A body that stopped arriving", body = crate::api::openapi::V1Failure),
        (status = 413, description = "A body over `max_body_bytes`", body = crate::api::openapi::V1Failure),
        (status = 500, description = "The database failed", body = crate::api::openapi::V1Failure),
        (status = 503, description = "The database cannot be reached in time; try again", body = crate::api::openapi::V1Failure),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
pub async fn handle(
    auth: Authorized<ReadAttachment>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = auth.params.query_first_int("attachment_id").unwrap_or(0);
    // One answer for "no such attachment", "not yours" and "no table".
    if id <= 0 || !state.flavour.stores_attachments() {
        return Err(Message::AttachmentNotFound.into());
    }
    let uploads = state
        .uploads
        .as_ref()
        .ok_or(ApiError::Refused(Message::UploadsNotConfigured))?;
    let lookup = db::attachments::find(&state.pool, id, auth.principal.scope());
    let found = db::within(state.settings.db_timeout(), lookup)
        .await?
        .ok_or(ApiError::Refused(Message::AttachmentNotFound))?;
    let path = uploads
        .path_of(found.ticket_id, &found.reference)
        .ok_or(ApiError::Refused(Message::AttachmentFileMissing))?;
    let file = NamedFile::open(&path).map_err(|e| {
        log::warn!("attachment {id}: {}: {e}", path.display());
        ApiError::Refused(Message::AttachmentFileMissing)
    })?;
    // The type from the stored name's extension (ITFlow's own, lowercased);
    // always a download, under the original name.
    let file = file
        .use_etag(false)
        .use_last_modified(true)
        .set_content_disposition(download_as(&found.name));
    Ok(file.into_response(&req))
}

/// `Content-Disposition: attachment` with `name`: as `filename` (its ASCII
/// characters, quotes and backslashes replaced) and, when it has others,
/// as RFC 5987 `filename*` too.
fn download_as(name: &str) -> ContentDisposition {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii.clone())];
    if ascii != name {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters,
    }
}
