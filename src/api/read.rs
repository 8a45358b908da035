//! GET /api/v1/tickets/replies/read.php

use crate::api::auth::authenticate;
use crate::db::{
    self,
    replies::{ReadDialect, ReadRequest, ReplyFilter, TextRows, read_replies},
};
use crate::error::ApiError;
use crate::php::json::write_json_str;
use crate::startup::AppState;
use actix_web::{HttpRequest, HttpResponse, http::Method, web};

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let auth = authenticate(&req, payload, &state, Method::GET, 1).await?;
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
    let rows = db::within(
        state.settings.db_timeout(),
        read_replies(&state.pool, request),
    )
    .await?;
    if rows.rows.is_empty() {
        return Err(ApiError::NoResource);
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(read_output(&rows)))
}

/// ITFlow's read_output.php: `{"success":"True","count":N,"data":[...]}`,
/// `count` a number, each row an object in column order, as PHP's
/// `json_encode` writes it. Built by hand in one pass (the answer is the
/// bulk of a read's CPU time); the test below holds it to `to_json_bytes`.
fn read_output(rows: &TextRows) -> Vec<u8> {
    let mut out = Vec::with_capacity(json_size_hint(rows));
    out.extend_from_slice(br#"{"success":"True","count":"#);
    out.extend_from_slice(rows.rows.len().to_string().as_bytes());
    out.extend_from_slice(br#","data":["#);
    for (i, values) in rows.rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        for (j, (name, value)) in rows.columns.iter().zip(values).enumerate() {
            if j > 0 {
                out.push(b',');
            }
            write_json_str(&mut out, name);
            out.push(b':');
            match value {
                Some(v) => write_json_str(&mut out, v),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}

/// About how long the JSON for `rows` is: every value and name, quoted,
/// plus a little for escapes.
fn json_size_hint(rows: &TextRows) -> usize {
    let names: usize = rows.columns.iter().map(|c| c.len() + 4).sum();
    let values: usize = rows
        .rows
        .iter()
        .flatten()
        .map(|v| v.as_ref().map_or(4, |s| s.len() + s.len() / 8 + 3))
        .sum();
    64 + names * rows.rows.len() + values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::php::to_json_bytes;
    use serde::ser::{Serialize, SerializeMap, Serializer};

    /// The same answer through serde and `to_json_bytes`.
    struct ViaSerde<'a>(&'a TextRows);
    struct RowOut<'a>(&'a [String], &'a [Option<String>]);

    impl Serialize for ViaSerde<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(3))?;
            map.serialize_entry("success", "True")?;
            map.serialize_entry("count", &self.0.rows.len())?;
            let rows: Vec<RowOut<'_>> = self
                .0
                .rows
                .iter()
                .map(|v| RowOut(&self.0.columns, v))
                .collect();
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

    #[test]
    fn read_output_is_what_json_encode_gives() {
        let rows = TextRows {
            columns: vec![
                "ticket_reply_id".into(),
                "ticket_reply".into(),
                "x/y".into(),
            ],
            rows: vec![
                vec![
                    Some("6".into()),
                    Some("Unicode é/ü \"q\" <b>b</b> 😀\n".into()),
                    None,
                ],
                vec![Some("7".into()), Some(String::new()), Some("\u{1}".into())],
            ],
        };
        assert_eq!(
            String::from_utf8(read_output(&rows)).unwrap(),
            String::from_utf8(to_json_bytes(&ViaSerde(&rows))).unwrap()
        );
        let one = TextRows {
            columns: vec!["a".into()],
            rows: vec![vec![None]],
        };
        assert_eq!(
            read_output(&one),
            br#"{"success":"True","count":1,"data":[{"a":null}]}"#
        );
    }
}
