//! GET /api/v1/tickets/replies/read.php

use crate::api::auth::{Authorized, ReadReplies};
use crate::db::attachments::{self, ListedAttachment};
use crate::db::{
    replies::{ReadDialect, ReadRequest, ReplyFilter, read_replies},
    text::{TextBuf, write_json_value},
};
use crate::domain::TicketNumber;
use crate::error::{ApiError, Message};
use crate::php::json::write_json_str;
use crate::state::AppState;
use crate::uploads::Uploads;
use actix_web::body::SizedStream;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use futures_util::future::ready;
use futures_util::stream;
use mysql_async::{Column, Row, Value};
use std::collections::HashMap;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

#[utoipa::path(
    summary = "Replies: one, a ticket's, or every reply the key may see",
    description = "replyd's own read. Newest first; a client-scoped key sees only its client's tickets. Parameters come from the query string (a JSON object or form body is read too).",
    get,
    path = crate::api::READ_PATH,
    tag = "v1",
    operation_id = "v1_read_replies",
    params(
        ("reply_id" = Option<i64>, Query, description = "That one reply (present even when 0 or empty, as PHP `isset`); read with PHP's `intval()`, as every integer here"),
        ("ticket_id" = Option<i64>, Query, description = "Every reply on that ticket (when no `reply_id`)"),
        ("ticket_number" = Option<String>, Query, description = "The ticket by the number people see: `12`, or `TCK-12` with the ticket's own prefix (any case); with `ticket_id` both must name the ticket"),
        ("client_id" = Option<i64>, Query, description = "With a key for every client: only that client's tickets"),
        ("include_archived" = Option<i64>, Query, description = "Not 0: include archived replies"),
        ("include_attachments" = Option<i64>, Query, description = "Not 0: add each reply's `attachments`"),
        ("limit" = Option<i64>, Query, description = "Page size, default 50, at most `max_page_size`; negative is refused"),
        ("offset" = Option<i64>, Query, description = "Rows to skip, default 0; negative is refused"),
    ),
    responses(
        (status = 200, description = "The rows, or a refusal (`success` \"False\": nothing matches, negative paging, an answer too large)", body = inline(crate::api::openapi::V1ReadAnswer)),
        (status = 400, description = "A body or parameter that cannot be read (broken JSON, not UTF-8, an array as a value)", body = crate::api::openapi::V1Failure),
        (status = 401, description = "No key, or an unknown or expired one", body = crate::api::openapi::V1Failure),
        (status = 403, description = "A user-tied key whose user may not read tickets", body = crate::api::openapi::V1Failure),
        (status = 405, description = "Any method but GET (after the key is checked)", body = crate::api::openapi::V1Failure),
        (status = 408, description = "A body that stopped arriving", body = crate::api::openapi::V1Failure),
        (status = 413, description = "A body over `max_body_bytes`", body = crate::api::openapi::V1Failure),
        (status = 500, description = "The database failed, or the answer's temporary file could not be written", body = crate::api::openapi::V1Failure),
        (status = 503, description = "The database cannot be reached in time; try again", body = crate::api::openapi::V1Failure),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
pub async fn handle(
    auth: Authorized<ReadReplies>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = &auth.params;
    let page = |name: &'static str, default: i64| -> Result<u64, ApiError> {
        let v = p.query_first_int(name).unwrap_or(default);
        u64::try_from(v).map_err(|_| ApiError::Refused(Message::NegativePaging(name, v)))
    };
    let limit = page("limit", 50)?.min(state.settings.max_page_size);
    let offset = page("offset", 0)?;
    // PHP isset(): `reply_id=` is present and finds nothing.
    let filter = match (
        p.query_first_int("reply_id"),
        p.query_first_int("ticket_id"),
    ) {
        (Some(id), _) => ReplyFilter::Reply(id),
        (None, Some(id)) => ReplyFilter::Ticket(id),
        (None, None) => ReplyFilter::All,
    };
    // `ticket_number` (`12`, `TCK-12`) names the ticket as ticket_id does,
    // and with it must name the same ticket; a single reply by id ignores
    // both.
    let ticket_number = match p.query_first("ticket_number").map(str::trim) {
        Some(raw) if !raw.is_empty() && !matches!(filter, ReplyFilter::Reply(_)) => {
            Some(TicketNumber::parse(raw).ok_or_else(ApiError::no_resource)?)
        }
        _ => None,
    };
    let request = ReadRequest {
        dialect: ReadDialect::Replies,
        filter,
        ticket_number,
        reply_type: None,
        narrow_to_client: auth
            .principal
            .scope()
            .narrowing(p.query_first_int("client_id").unwrap_or(0)),
        scope: auth.principal.scope().clone(),
        include_archived: p.query_first_int("include_archived").unwrap_or(0) != 0,
        limit,
        offset,
    };
    if p.query_first_int("include_attachments").unwrap_or(0) == 0 {
        return answer(&state, &request).await;
    }
    let attachments = if state.flavour.stores_attachments() {
        let listed = attachments::of_page(&state.pool, &request);
        let listed = crate::db::within(state.settings.db_timeout(), listed).await?;
        let uploads = state.uploads.as_ref();
        listed
            .into_iter()
            .map(|(reply, files)| (reply, attachments_json(&files, uploads)))
            .collect()
    } else {
        HashMap::new()
    };
    answer_with(&state, &request, Some(attachments)).await
}

/// A reply without attachments, when they are asked for.
const NO_ATTACHMENTS: &[u8] = b",\"attachments\":[]";

/// `,"attachments":[{"id":...,"name":...,"size":...,"created_at":...}]`,
/// every value a string as in the rest of the row; `size` is the stored
/// copy's size on disk, null when it cannot be read.
fn attachments_json(files: &[ListedAttachment], uploads: Option<&Uploads>) -> Vec<u8> {
    let mut out = b",\"attachments\":[".to_vec();
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let size = uploads
            .and_then(|u| u.path_of(f.ticket_id, &f.reference))
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len().to_string());
        out.extend_from_slice(b"{\"id\":");
        write_json_str(&mut out, &f.id.to_string());
        out.extend_from_slice(b",\"name\":");
        write_json_str(&mut out, &f.name);
        out.extend_from_slice(b",\"size\":");
        match size {
            Some(size) => write_json_str(&mut out, &size),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"created_at\":");
        write_json_str(&mut out, &f.created_at);
        out.push(b'}');
    }
    out.push(b']');
    out
}

/// Run a read and answer as read_output.php does (shared by both APIs).
///
/// Memory per request is bounded whatever the data: the answer is built in
/// memory up to [`SPILL_THRESHOLD`], then in an unlinked temporary file
/// (see [`ReadOutput`]); an answer past `max_answer_bytes` is refused. The
/// database deadline covers the waits on the database only, never the
/// building of the answer.
pub async fn answer(state: &AppState, request: &ReadRequest) -> Result<HttpResponse, ApiError> {
    answer_with(state, request, None).await
}

/// [`answer`], each row followed by its reply's `attachments` when
/// `attachments` holds them (by reply id, as JSON members).
async fn answer_with(
    state: &AppState,
    request: &ReadRequest,
    attachments: Option<HashMap<i64, Vec<u8>>>,
) -> Result<HttpResponse, ApiError> {
    let mut output = ReadOutput::new(
        SPILL_THRESHOLD,
        SPILL_CHUNK,
        state.settings.max_answer_bytes,
    );
    let count = read_replies(
        &state.pool,
        request,
        state.settings.db_timeout(),
        async |row: Row| {
            let columns = row.columns_ref();
            let values = (0..columns.len()).map(|i| row.as_ref(i).unwrap_or(&Value::NULL));
            match &attachments {
                None => output.push_row(columns, values),
                Some(by_reply) => {
                    // `ticket_reply_id` is the first column.
                    let id = row
                        .as_ref(0)
                        .and_then(|v| mysql_async::from_value_opt::<i64>(v.clone()).ok());
                    let extra = id.and_then(|id| by_reply.get(&id));
                    let extra = extra.map_or(NO_ATTACHMENTS, Vec::as_slice);
                    output.push_row_with(columns, values, extra);
                }
            }
            output.after_row().await
        },
    )
    .await?;
    if count == 0 {
        return Err(ApiError::no_resource());
    }
    output.into_response().await
}

/// An answer larger than this (1 MiB) is moved out of memory into a
/// temporary file as it is built.
pub const SPILL_THRESHOLD: usize = 1024 * 1024;

/// Once an answer is in its file, rows are appended whenever this much
/// (64 KiB) has been built; the file is sent back in pieces this size.
const SPILL_CHUNK: usize = 64 * 1024;

/// ITFlow's read_output.php: `{"success":"True","count":N,"data":[...]}`,
/// `count` a number, each row an object in column order with every value a
/// string or null, as PHP's `json_encode` writes it.
///
/// Written by hand in one pass while the rows arrive, straight from the
/// database's values (the answer is most of a read's CPU time): each
/// column's `"name":` is escaped once, numbers and dates are formatted
/// without allocating, and the header, whose count is known only at the
/// end, goes into room kept free at the front. The test below holds it to
/// `to_json_bytes`.
///
/// The count comes before the rows, so nothing can be sent before the last
/// row is read. An answer that grows past `spill_at` bytes is therefore
/// moved to an anonymous temporary file (`tempfile::tempfile`: unlinked
/// from the start, so nothing is left behind, even after a crash), and the
/// rows that follow are appended to it every `chunk` bytes; at the end the
/// header goes out first, then the file, then `]}`: the same bytes as in
/// memory. Memory held is then at most `spill_at` (twice that in capacity
/// while it grows), then `chunk` plus the JSON of one row.
struct ReadOutput {
    out: Vec<u8>,
    count: usize,
    /// What comes before each column's value, from the first row:
    /// `"column_name":` for the first column, `,"column_name":` for the
    /// others.
    keys: Vec<Vec<u8>>,
    text: TextBuf,
    /// `out` is written away (to a new temporary file the first time) once
    /// it is this long.
    flush_at: usize,
    /// `flush_at` once the answer is in its file.
    chunk: usize,
    /// The rows written so far, once the answer outgrew memory.
    file: Option<tokio::fs::File>,
    /// Bytes of rows in `file`.
    in_file: u64,
    /// `max_answer_bytes`.
    max_answer: u64,
}

/// Room for `{"success":"True","count":N,"data":[` with any `usize` N.
const HEADER_ROOM: usize = 64;

impl Default for ReadOutput {
    fn default() -> Self {
        ReadOutput::new(usize::MAX, SPILL_CHUNK, u64::MAX)
    }
}

/// The answer's header for `count` rows.
fn header(count: usize) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_ROOM);
    header.extend_from_slice(br#"{"success":"True","count":"#);
    header.extend_from_slice(itoa::Buffer::new().format(count).as_bytes());
    header.extend_from_slice(br#","data":["#);
    header
}

impl ReadOutput {
    fn new(spill_at: usize, chunk: usize, max_answer: u64) -> Self {
        let mut out = Vec::with_capacity(32 * 1024);
        out.resize(HEADER_ROOM, 0);
        Self {
            out,
            count: 0,
            keys: Vec::new(),
            text: TextBuf::default(),
            flush_at: spill_at,
            chunk: chunk.max(1),
            file: None,
            in_file: 0,
            max_answer,
        }
    }

    fn push_row<'v>(&mut self, columns: &[Column], values: impl IntoIterator<Item = &'v Value>) {
        self.push_row_with(columns, values, b"");
    }

    /// A row, with `extra` (`,"name":value` members) after its columns.
    fn push_row_with<'v>(
        &mut self,
        columns: &[Column],
        values: impl IntoIterator<Item = &'v Value>,
        extra: &[u8],
    ) {
        if self.keys.is_empty() {
            self.keys = columns
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    let mut key = if j == 0 { Vec::new() } else { vec![b','] };
                    write_json_str(&mut key, &c.name_str());
                    key.push(b':');
                    key
                })
                .collect();
        }
        if self.count > 0 {
            self.out.push(b',');
        }
        self.count += 1;
        self.out.push(b'{');
        for ((value, column), key) in values.into_iter().zip(columns).zip(&self.keys) {
            self.out.extend_from_slice(key);
            write_json_value(&mut self.out, value, column, &mut self.text);
        }
        self.out.extend_from_slice(extra);
        self.out.push(b'}');
    }

    /// Where the rows start in `out`: after the header room while the
    /// answer is in memory, at 0 once it is in its file.
    fn rows_start(&self) -> usize {
        if self.file.is_none() { HEADER_ROOM } else { 0 }
    }

    /// The length of the whole answer with the rows so far.
    fn answer_len(&self) -> u64 {
        let header = br#"{"success":"True","count":,"data":["#.len();
        let digits = self.count.checked_ilog10().unwrap_or(0) as usize + 1;
        (header + digits + (self.out.len() - self.rows_start()) + 2) as u64 + self.in_file
    }

    /// After each row: refuse an answer past `max_answer`; move a large
    /// one out of memory.
    async fn after_row(&mut self) -> Result<(), ApiError> {
        if self.answer_len() > self.max_answer {
            return Err(ApiError::Refused(Message::AnswerTooLarge(self.max_answer)));
        }
        if self.out.len() >= self.flush_at {
            self.write_out().await?;
        }
        Ok(())
    }

    /// Append the rows in `out` to the file, creating it the first time.
    /// tokio's file writes on its blocking pool, so the worker never waits
    /// on the disk for more than handing over a piece.
    async fn write_out(&mut self) -> Result<(), ApiError> {
        let start = self.rows_start();
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                let file = tokio::task::spawn_blocking(tempfile::tempfile)
                    .await
                    .map_err(|e| ApiError::AnswerFile(std::io::Error::other(e)))?
                    .map_err(ApiError::AnswerFile)?;
                self.flush_at = self.chunk;
                let mut file = tokio::fs::File::from_std(file);
                // tokio copies what is written into a buffer of its own (2 MiB
                // by default) for its blocking pool: one chunk is enough.
                file.set_max_buf_size(self.chunk);
                self.file.insert(file)
            }
        };
        file.write_all(&self.out[start..])
            .await
            .map_err(ApiError::AnswerFile)?;
        self.in_file += (self.out.len() - start) as u64;
        if start > 0 {
            // Give back the memory the answer had grown to.
            self.out = Vec::with_capacity(2 * self.chunk);
        } else {
            self.out.clear();
        }
        Ok(())
    }

    /// The whole answer, from memory.
    fn finish(mut self) -> Bytes {
        debug_assert!(self.file.is_none());
        let header = header(self.count);
        let start = HEADER_ROOM - header.len();
        self.out[start..HEADER_ROOM].copy_from_slice(&header);
        self.out.extend_from_slice(b"]}");
        Bytes::from(self.out).slice(start..)
    }

    /// The HTTP answer: from memory, or the header, the file and `]}` in
    /// pieces, with the length known in advance.
    async fn into_response(mut self) -> Result<HttpResponse, ApiError> {
        if self.file.is_none() {
            return Ok(HttpResponse::Ok()
                .content_type("application/json")
                .body(self.finish()));
        }
        if self.out.len() > self.rows_start() {
            self.write_out().await?;
        }
        let len = self.answer_len();
        let mut file = self.file.take().expect("spilled");
        file.flush().await.map_err(ApiError::AnswerFile)?;
        file.rewind().await.map_err(ApiError::AnswerFile)?;
        let body = stream::once(ready(Ok(Bytes::from(header(self.count)))))
            .chain(ReaderStream::with_capacity(file, self.chunk))
            .chain(stream::once(ready(Ok(Bytes::from_static(b"]}")))));
        Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(SizedStream::new(len, body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::php::to_json_bytes;
    use actix_web::ResponseError;
    use mysql_async::consts::ColumnType;
    use serde::ser::{Serialize, SerializeMap, Serializer};

    /// The same answer through serde and `to_json_bytes`, from the text
    /// each value should become.
    struct ViaSerde<'a>(&'a [&'a str], &'a [Vec<Option<&'a str>>]);
    struct RowOut<'a>(&'a [&'a str], &'a [Option<&'a str>]);

    impl Serialize for ViaSerde<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(3))?;
            map.serialize_entry("success", "True")?;
            map.serialize_entry("count", &self.1.len())?;
            let rows: Vec<RowOut<'_>> = self.1.iter().map(|v| RowOut(self.0, v)).collect();
            map.serialize_entry("data", &rows)?;
            map.end()
        }
    }

    impl Serialize for RowOut<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (name, value) in self.0.iter().zip(self.1) {
                map.serialize_entry(name, value)?;
            }
            map.end()
        }
    }

    fn written(columns: &[Column], rows: &[Vec<Value>]) -> String {
        let mut output = ReadOutput::default();
        for row in rows {
            output.push_row(columns, row);
        }
        String::from_utf8(output.finish().to_vec()).unwrap()
    }

    #[test]
    fn read_output_is_what_json_encode_gives() {
        let names = [
            "ticket_reply_id",
            "ticket_reply",
            "x/y",
            "ticket_reply_created_at",
        ];
        let columns: Vec<Column> = [
            ColumnType::MYSQL_TYPE_LONG,
            ColumnType::MYSQL_TYPE_BLOB,
            ColumnType::MYSQL_TYPE_VAR_STRING,
            ColumnType::MYSQL_TYPE_DATETIME,
        ]
        .into_iter()
        .zip(names)
        .map(|(t, n)| Column::new(t).with_name(n.as_bytes()))
        .collect();
        let text = "Unicode é/ü \"q\" <b>b</b> 😀\n";
        let rows = vec![
            vec![
                Value::Int(6),
                Value::Bytes(text.as_bytes().to_vec()),
                Value::NULL,
                Value::Date(2026, 11, 22, 2, 42, 40, 0),
            ],
            vec![
                Value::Int(7),
                Value::Bytes(Vec::new()),
                Value::Bytes(b"\x01".to_vec()),
                Value::NULL,
            ],
        ];
        let expected = [
            vec![Some("6"), Some(text), None, Some("2026-11-22 02:42:40")],
            vec![Some("7"), Some(""), Some("\u{1}"), None],
        ];
        assert_eq!(
            written(&columns, &rows),
            String::from_utf8(to_json_bytes(&ViaSerde(&names, &expected))).unwrap()
        );
        let one = [Column::new(ColumnType::MYSQL_TYPE_LONG).with_name(b"a")];
        assert_eq!(
            written(&one, &[vec![Value::NULL]]),
            r#"{"success":"True","count":1,"data":[{"a":null}]}"#
        );
    }

    /// Columns and rows of a page whose answer is a few KiB: text that
    /// needs escaping, NULLs, dates.
    fn page() -> (Vec<Column>, Vec<Vec<Value>>) {
        let columns: Vec<Column> = [
            (ColumnType::MYSQL_TYPE_LONG, "ticket_reply_id"),
            (ColumnType::MYSQL_TYPE_BLOB, "ticket_reply"),
            (ColumnType::MYSQL_TYPE_DATETIME, "ticket_reply_created_at"),
        ]
        .into_iter()
        .map(|(t, n)| Column::new(t).with_name(n.as_bytes()))
        .collect();
        let rows = (0..300)
            .map(|i| {
                vec![
                    Value::Int(i),
                    Value::Bytes(
                        format!("<p>réponse \"{i}\" 😀</p>")
                            .repeat(i as usize % 7)
                            .into_bytes(),
                    ),
                    if i % 5 == 0 {
                        Value::NULL
                    } else {
                        Value::Date(2026, 11, 22, 2, 42, (i % 60) as u8, 0)
                    },
                ]
            })
            .collect();
        (columns, rows)
    }

    /// `rows` through `output` as `answer` feeds it, and the body sent.
    async fn sent(
        mut output: ReadOutput,
        columns: &[Column],
        rows: &[Vec<Value>],
    ) -> Result<(Vec<u8>, bool), ApiError> {
        for row in rows {
            output.push_row(columns, row);
            output.after_row().await?;
        }
        let spilled = output.file.is_some();
        let response = output.into_response().await?;
        let length = response.headers().get("content-length").cloned();
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap();
        if let Some(length) = length {
            assert_eq!(length.to_str().unwrap(), body.len().to_string());
        }
        Ok((body.to_vec(), spilled))
    }

    #[tokio::test]
    async fn an_answer_moved_to_its_file_is_the_same_bytes() {
        let (columns, rows) = page();
        let (in_memory, spilled) = sent(ReadOutput::default(), &columns, &rows).await.unwrap();
        assert!(!spilled);
        assert!(in_memory.len() > 10_000, "{}", in_memory.len());
        let mut whole = ReadOutput::default();
        for row in &rows {
            whole.push_row(&columns, row);
        }
        assert_eq!(whole.finish().to_vec(), in_memory);
        serde_json::from_slice::<serde_json::Value>(&in_memory).unwrap();
        // Spilled after the first row, after a few, and appended in pieces
        // smaller and larger than a row.
        for (spill_at, chunk) in [(1, 1), (100, 50), (1000, 7), (5000, 100_000)] {
            let output = ReadOutput::new(spill_at, chunk, u64::MAX);
            let (body, spilled) = sent(output, &columns, &rows).await.unwrap();
            assert!(spilled, "{spill_at}");
            assert!(
                body == in_memory,
                "spill_at {spill_at}, chunk {chunk}: bytes differ"
            );
        }
        // One row only, spilled.
        let (one, _) = sent(ReadOutput::default(), &columns, &rows[1..2])
            .await
            .unwrap();
        let (spilled_one, spilled) = sent(ReadOutput::new(1, 1, u64::MAX), &columns, &rows[1..2])
            .await
            .unwrap();
        assert!(spilled);
        assert_eq!(one, spilled_one);
    }

    #[tokio::test]
    async fn an_answer_past_max_answer_bytes_is_refused() {
        let (columns, rows) = page();
        let (body, _) = sent(ReadOutput::default(), &columns, &rows).await.unwrap();
        let exact = body.len() as u64;
        for (spill_at, chunk) in [(usize::MAX, SPILL_CHUNK), (100, 64)] {
            let fits = ReadOutput::new(spill_at, chunk, exact);
            assert_eq!(sent(fits, &columns, &rows).await.unwrap().0, body);
            let over = ReadOutput::new(spill_at, chunk, exact - 1);
            let err = sent(over, &columns, &rows).await.unwrap_err();
            assert!(
                matches!(&err, ApiError::Refused(Message::AnswerTooLarge(n)) if *n == exact - 1),
                "{err:?}"
            );
        }
        // The refusal: HTTP 200, ITFlow's failure shape, the way out named.
        let refusal = ApiError::Refused(Message::AnswerTooLarge(1000)).error_response();
        assert_eq!(refusal.status(), 200);
        let text = actix_web::body::to_bytes(refusal.into_body())
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&text).unwrap(),
            r#"{"success":"False","message":"The answer would be larger than the 1000 bytes this server sends in one answer; ask for fewer replies with limit and offset."}"#
        );
    }
}
