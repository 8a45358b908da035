//! GET /api/v1/tickets/replies/read.php

use crate::api::auth::authenticate;
use crate::db::{
    self,
    replies::{ReadRequest, ReplyFilter, TextRows, read_replies},
};
use crate::error::ApiError;
use crate::php::to_json_bytes;
use crate::startup::AppState;
use actix_web::{HttpRequest, HttpResponse, http::Method, web};
use serde::ser::{Serialize, SerializeMap, Serializer};

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let auth = authenticate(&req, payload, &state, Method::GET).await?;
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
        filter,
        scope: auth
            .principal
            .scope()
            .narrowed_to(p.query_first_int("client_id").unwrap_or(0)),
        include_archived: p.query_first_int("include_archived").unwrap_or(0) != 0,
        limit,
        offset,
    };
    let rows = db::within(
        state.settings.db_timeout(),
        read_replies(&state.pool, &request),
    )
    .await?;
    if rows.rows.is_empty() {
        return Err(ApiError::NoResource);
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(to_json_bytes(&ReadOutput(&rows))))
}

/// ITFlow's read_output.php: `{"success":"True","count":N,"data":[...]}`,
/// `count` a number, each row an object in column order.
struct ReadOutput<'a>(&'a TextRows);

struct RowOut<'a> {
    columns: &'a [String],
    values: &'a [Option<String>],
}

impl Serialize for ReadOutput<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("success", "True")?;
        map.serialize_entry("count", &self.0.rows.len())?;
        let rows: Vec<RowOut<'_>> = self
            .0
            .rows
            .iter()
            .map(|values| RowOut {
                columns: &self.0.columns,
                values,
            })
            .collect();
        map.serialize_entry("data", &rows)?;
        map.end()
    }
}

impl Serialize for RowOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.columns.len()))?;
        for (name, value) in self.columns.iter().zip(self.values) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}
