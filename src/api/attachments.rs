//! The files a create.php request carries, received three ways: the parts
//! of a `multipart/form-data` body named `attachments[]` (or `file[]`, the
//! portal's name), a JSON body's `attachments` array of
//! `{"name": ..., "data": <base64>}`, or a form field `attachments` holding
//! that array base64-encoded (as WHMCS sends them). Each file is checked
//! ([`AttachmentName`], its size) and written under a temporary name in
//! ITFlow's uploads folder as it arrives ([`crate::uploads`]): never held
//! whole in memory when it comes as a part.

use crate::domain::attachment::AttachmentName;
use crate::error::ApiError;
use crate::messages::Message;
use crate::state::AppState;
use crate::uploads::StagedFile;
use actix_web::{HttpRequest, web};
use futures_util::TryStreamExt;
use std::collections::HashMap;
use std::io::Write;

/// A file received, checked, and stored under a temporary name.
#[derive(Debug)]
pub struct ReceivedFile {
    pub name: AttachmentName,
    pub size: u64,
    pub staged: StagedFile,
}

/// The multipart part names that carry files.
const FILE_PARTS: [&str; 4] = ["attachments[]", "file[]", "attachments", "file"];

/// Whether `req` carries a multipart/form-data body.
pub fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// A multipart/form-data body: its text parts (as a form's fields, the
/// last of repeated names winning) and its files. At most
/// `max_upload_bytes` in all, each file at most `max_attachment_bytes`,
/// the text at most `max_body_bytes`, all within `upload_timeout_ms`.
///
/// Before the first file is written anywhere, `admit` is asked with the
/// fields read so far (the key must come first: in the query string or a
/// part before the files), so that no one without a valid key can make
/// replyd write to disk.
pub async fn read_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    admit: impl AsyncFnOnce(&HashMap<String, String>) -> Result<(), ApiError>,
) -> Result<(HashMap<String, String>, Vec<ReceivedFile>), ApiError> {
    let deadline = state.settings.upload_timeout();
    tokio::time::timeout(deadline, read_parts(req, payload, state, admit))
        .await
        .map_err(|_| ApiError::BodyTimeout(deadline.as_millis()))?
}

async fn read_parts(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    admit: impl AsyncFnOnce(&HashMap<String, String>) -> Result<(), ApiError>,
) -> Result<(HashMap<String, String>, Vec<ReceivedFile>), ApiError> {
    let mut admit = Some(admit);
    let settings = &state.settings;
    let unreadable = |e: actix_multipart::MultipartError| {
        ApiError::BadRequest(Message::BodyUnreadable(e.to_string()))
    };
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let (mut fields, mut files) = (HashMap::new(), Vec::new());
    let (mut total, mut text_bytes) = (0usize, 0usize);
    let mut count = |n: usize| -> Result<(), ApiError> {
        total += n;
        if total > settings.max_upload_bytes {
            return Err(ApiError::TooLarge(Message::UploadTooLarge(
                settings.max_upload_bytes,
            )));
        }
        Ok(())
    };
    while let Some(mut part) = multipart.try_next().await.map_err(unreadable)? {
        let name = part.name().unwrap_or_default().to_owned();
        let filename = part
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        match filename {
            Some(filename) if FILE_PARTS.contains(&name.as_str()) => {
                if let Some(admit) = admit.take() {
                    admit(&fields).await?;
                }
                let name = AttachmentName::parse(&filename)?;
                let (staged, file) = stage(state)?;
                let mut writer = FileWriter::new(file, settings.max_attachment_bytes);
                while let Some(chunk) = part.try_next().await.map_err(unreadable)? {
                    count(chunk.len())?;
                    writer.write(&chunk)?;
                }
                let size = writer.finish()?;
                files.push(ReceivedFile { name, size, staged });
            }
            _ => {
                let mut value = Vec::new();
                while let Some(chunk) = part.try_next().await.map_err(unreadable)? {
                    count(chunk.len())?;
                    text_bytes += chunk.len();
                    if text_bytes > settings.max_body_bytes {
                        return Err(ApiError::BodyTooLarge(settings.max_body_bytes));
                    }
                    value.extend_from_slice(&chunk);
                }
                let value = String::from_utf8(value)
                    .map_err(|_| ApiError::BadRequest(Message::BodyNotUtf8))?;
                fields.insert(name, value);
            }
        }
    }
    Ok((fields, files))
}

/// The files of an `attachments` parameter: a JSON array (a JSON body's),
/// or that array base64-encoded (a form field's).
pub fn from_parameter(value: &str, state: &AppState) -> Result<Vec<ReceivedFile>, ApiError> {
    let malformed = || ApiError::from(Message::AttachmentsMalformed);
    let trimmed = value.trim();
    let json = if trimmed.starts_with('[') {
        trimmed.to_owned()
    } else {
        let bytes = decode_base64(trimmed).ok_or_else(malformed)?;
        String::from_utf8(bytes).map_err(|_| malformed())?
    };
    #[derive(serde::Deserialize)]
    struct Item {
        name: String,
        data: String,
    }
    let items: Vec<Item> = serde_json::from_str(&json).map_err(|_| malformed())?;
    let mut files = Vec::with_capacity(items.len());
    for item in items {
        let name = AttachmentName::parse(&item.name)?;
        let data = decode_base64(&item.data).ok_or_else(malformed)?;
        let (staged, file) = stage(state)?;
        let mut writer = FileWriter::new(file, state.settings.max_attachment_bytes);
        writer.write(&data)?;
        let size = writer.finish()?;
        files.push(ReceivedFile { name, size, staged });
    }
    Ok(files)
}

/// Standard or URL-safe base64, padded or not, line breaks ignored.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let compact = compact.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(compact)
        .or_else(|_| URL_SAFE_NO_PAD.decode(compact))
        .ok()
}

/// A temporary file in ITFlow's uploads folder, or the refusal naming the
/// setting when there is none or replyd cannot write there.
fn stage(state: &AppState) -> Result<(StagedFile, std::fs::File), ApiError> {
    let uploads = state
        .uploads
        .as_ref()
        .ok_or(ApiError::Refused(Message::UploadsNotConfigured))?;
    uploads.stage().map_err(|e| {
        log::warn!("cannot write to ITFlow's uploads folder: {e}");
        ApiError::Refused(Message::UploadsNotWritable)
    })
}

/// Writes a file, refusing it past `limit` bytes, and empty.
struct FileWriter {
    file: std::io::BufWriter<std::fs::File>,
    size: u64,
    limit: u64,
}

impl FileWriter {
    fn new(file: std::fs::File, limit: u64) -> Self {
        FileWriter {
            file: std::io::BufWriter::with_capacity(64 * 1024, file),
            size: 0,
            limit,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ApiError> {
        self.size += bytes.len() as u64;
        if self.size > self.limit {
            return Err(ApiError::TooLarge(Message::AttachmentTooLarge(self.limit)));
        }
        self.file.write_all(bytes).map_err(ApiError::Upload)
    }

    fn finish(mut self) -> Result<u64, ApiError> {
        if self.size == 0 {
            return Err(Message::AttachmentEmpty.into());
        }
        self.file.flush().map_err(ApiError::Upload)?;
        self.file.get_ref().sync_all().map_err(ApiError::Upload)?;
        Ok(self.size)
    }
}
