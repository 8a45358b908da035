//! GET /api/v1/tickets/replies/read.php

use crate::api::auth::authenticate;
use crate::api::params::Dialect;
use crate::db::{
    self,
    replies::{ReadDialect, ReadRequest, ReplyFilter, read_replies},
    text::{TextBuf, write_json_value},
};
use crate::error::ApiError;
use crate::php::json::write_json_str;
use crate::startup::AppState;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, http::Method, web};
use mysql_async::{Column, Value};

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let auth = authenticate(&req, payload, &state, Dialect::Replies, Method::GET, 1).await?;
    let p = &auth.params;
    let page = |name: &str, default: i64| -> Result<u64, ApiError> {
        let v = p.query_first_int(name).unwrap_or(default);
        u64::try_from(v)
            .map_err(|_| ApiError::Refused(format!("{name} must be 0 or more, not {v}.")))
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
    let request = ReadRequest {
        dialect: ReadDialect::Replies,
        filter,
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
    answer(&state, &request).await
}

/// Run a read and answer as read_output.php does (shared by both APIs).
pub async fn answer(state: &AppState, request: &ReadRequest) -> Result<HttpResponse, ApiError> {
    let mut output = ReadOutput::default();
    let count = db::within(
        state.settings.db_timeout(),
        read_replies(&state.pool, request, |row| {
            let columns = row.columns_ref();
            output.push_row(
                columns,
                (0..columns.len()).map(|i| row.as_ref(i).unwrap_or(&Value::NULL)),
            );
        }),
    )
    .await?;
    if count == 0 {
        return Err(ApiError::NoResource);
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(output.finish()))
}

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
struct ReadOutput {
    out: Vec<u8>,
    count: usize,
    /// What comes before each column's value, from the first row:
    /// `"column_name":` for the first column, `,"column_name":` for the
    /// others.
    keys: Vec<Vec<u8>>,
    text: TextBuf,
}

/// Room for `{"success":"True","count":N,"data":[` with any `usize` N.
const HEADER_ROOM: usize = 64;

impl Default for ReadOutput {
    fn default() -> Self {
        let mut out = Vec::with_capacity(32 * 1024);
        out.resize(HEADER_ROOM, 0);
        Self {
            out,
            count: 0,
            keys: Vec::new(),
            text: TextBuf::default(),
        }
    }
}

impl ReadOutput {
    fn push_row<'v>(&mut self, columns: &[Column], values: impl IntoIterator<Item = &'v Value>) {
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
        self.out.push(b'}');
    }

    /// The whole answer.
    fn finish(mut self) -> Bytes {
        let mut header = Vec::with_capacity(HEADER_ROOM);
        header.extend_from_slice(br#"{"success":"True","count":"#);
        header.extend_from_slice(itoa::Buffer::new().format(self.count).as_bytes());
        header.extend_from_slice(br#","data":["#);
        let start = HEADER_ROOM - header.len();
        self.out[start..HEADER_ROOM].copy_from_slice(&header);
        self.out.extend_from_slice(b"]}");
        Bytes::from(self.out).slice(start..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::php::to_json_bytes;
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
}
