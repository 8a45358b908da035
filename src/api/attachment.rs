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
