//! v2's reads: a ticket's replies, every reply in the key's scope, one
//! reply, a ticket with its replies. Out of scope and missing look the
//! same (404).

use super::auth::{Bearer, Read};
use super::problem::V2Error;
use super::query::ListParams;
use crate::db::snapshot::TicketMatch;
use crate::db::views::{self, ListRequest, Order, TicketKey};
use crate::db::within;
use crate::error::ApiError;
use crate::messages::Message;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use jiff::tz::TimeZone;
use mysql_async::Conn;

/// A page of replies ends early once their text passes this many bytes
/// (1 MiB; `next_cursor` continues): memory per request stays bounded.
pub const PAGE_BYTES: usize = 1024 * 1024;

/// A 200 with JSON written by hand.
fn json_bytes(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// A connection and the company's time zone (cached for a minute).
async fn connect(state: &AppState) -> Result<(Conn, TimeZone), ApiError> {
    let mut conn = state.pool.get_conn().await?;
    let tz = match state.tz.fresh() {
        Some(tz) => tz,
        None => {
            let tz = views::company_tz(&mut conn).await?;
            state.tz.keep(&tz);
            tz
        }
    };
    Ok((conn, tz))
}

/// How a path names a ticket; a 404 when it names none.
pub(super) fn ticket_key(raw: &str) -> Result<TicketKey, ApiError> {
    TicketKey::parse(raw).ok_or_else(|| Message::TicketNotFound.into())
}

/// The ticket `ticket` names, inside the key's scope.
async fn find_ticket(
    conn: &mut Conn,
    ticket: &TicketKey,
    key: &Bearer<Read>,
) -> Result<i64, ApiError> {
    match views::find(conn, ticket, key.principal.scope()).await? {
        TicketMatch::One(id) => Ok(id),
        TicketMatch::None => Err(Message::TicketNotFound.into()),
        TicketMatch::Several => Err(Message::TicketNumberAmbiguous.into()),
    }
}

/// `GET /api/v2/tickets/{ticket}/replies` (oldest first unless `order`).
#[utoipa::path(
    get,
    path = "/api/v2/tickets/{ticket}/replies",
    tag = "v2",
    operation_id = "v2_list_ticket_replies",
    summary = "A ticket's replies",
    description = "Oldest first unless `order`; a page ends early once its replies' text passes 1 MiB (`next_cursor` continues).",
    params(
        ("ticket" = String, Path, example = "1", description = "The ticket: its id (`12`; all digits is always an id), or its number as agents see it (`TCK-12`, the prefix in any case; `#12` whatever the prefix)"),
        crate::api::openapi::ListQuery,
    ),
    responses(
        (status = 200, description = "A page of replies", body = crate::domain::view::ReplyPage),
        (status = 400, description = "A query string that cannot be read", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in the key's scope (missing and out of scope look the same)", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A ticket number that names several tickets (use the id)", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters, every one listed in `errors`", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn ticket_replies(
    key: Bearer<Read>,
    ticket: web::Path<String>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, V2Error> {
    let params = ListParams::parse(req.query_string(), Order::Asc, state.settings.max_page_size)?;
    let ticket = ticket_key(&ticket)?;
    let work = async {
        let (mut conn, tz) = connect(&state).await?;
        // By id: the page straight away (one round trip; its query keeps to
        // the key's scope), and the ticket looked up only when the page is
        // empty, to tell a ticket without replies from no ticket.
        let ticket_id = match ticket {
            TicketKey::Id(id) => id,
            TicketKey::Number(_) => find_ticket(&mut conn, &ticket, &key).await?,
        };
        let (page, count) = page(&mut conn, &key, &params, Some(ticket_id), &tz).await?;
        if matches!(ticket, TicketKey::Id(_)) && count == 0 {
            find_ticket(&mut conn, &ticket, &key).await?;
        }
        Ok::<_, ApiError>(page)
    };
    let page = within(state.settings.db_timeout(), work).await?;
    Ok(json_bytes(page))
}

/// `GET /api/v2/replies`: every reply in the key's scope (newest first
/// unless `order`); with `updated_since`, what changed since.
#[utoipa::path(
    get,
    path = "/api/v2/replies",
    tag = "v2",
    operation_id = "v2_list_replies",
    summary = "Every reply the key may see",
    description = "Newest first unless `order`; with `updated_since`, what changed since. A page ends early once its replies' text passes 1 MiB (`next_cursor` continues).",
    params(crate::api::openapi::ListQuery),
    responses(
        (status = 200, description = "A page of replies", body = crate::domain::view::ReplyPage),
        (status = 400, description = "A query string that cannot be read", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters, every one listed in `errors`", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn all_replies(
    key: Bearer<Read>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, V2Error> {
    let params = ListParams::parse(
        req.query_string(),
        Order::Desc,
        state.settings.max_page_size,
    )?;
    let work = async {
        let (mut conn, tz) = connect(&state).await?;
        Ok::<_, ApiError>(page(&mut conn, &key, &params, None, &tz).await?.0)
    };
    let page = within(state.settings.db_timeout(), work).await?;
    Ok(json_bytes(page))
}

/// A list's answer: `{"data":[...],"next_cursor":...}`, written as the
/// rows arrive.
async fn page(
    conn: &mut Conn,
    key: &Bearer<Read>,
    params: &ListParams,
    ticket_id: Option<i64>,
    tz: &TimeZone,
) -> Result<(Vec<u8>, usize), ApiError> {
    let request = ListRequest {
        scope: key.principal.scope().clone(),
        ticket_id,
        reply_id: None,
        include_archived: params.include_archived,
        reply_type: params.reply_type,
        updated_since: params
            .updated_since
            .map(|ts| ts.to_zoned(tz.clone()).datetime()),
        after: params.cursor.map(|c| c.after),
        order: params.order,
        limit: params.limit,
        byte_budget: PAGE_BYTES,
    };
    let mut out = Vec::with_capacity(16 * 1024);
    out.extend_from_slice(b"{\"data\":[");
    let end = views::write_page(conn, &request, tz, &mut out).await?;
    out.extend_from_slice(b"],\"next_cursor\":");
    views::write_cursor(&mut out, end.next_cursor(params.order));
    out.push(b'}');
    Ok((out, end.count))
}

/// `GET /api/v2/replies/{reply_id}`.
#[utoipa::path(
    get,
    path = "/api/v2/replies/{reply_id}",
    tag = "v2",
    operation_id = "v2_get_reply",
    summary = "One reply",
    params(
        ("reply_id" = String, Path, example = "1", description = "The reply's id"),
    ),
    responses(
        (status = 200, description = "The reply", body = crate::domain::view::ReplyView),
        (status = 404, description = "No such reply in the key's scope (missing and out of scope look the same)", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn reply(
    key: Bearer<Read>,
    reply_id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, V2Error> {
    let Some(id) = reply_id.trim().parse::<i64>().ok().filter(|id| *id > 0) else {
        return Err(ApiError::no_resource().into());
    };
    let work = async {
        let (mut conn, tz) = connect(&state).await?;
        let scope = key.principal.scope().clone();
        views::reply_json(&mut conn, id, scope, &tz)
            .await?
            .ok_or_else(ApiError::no_resource)
    };
    let reply = within(state.settings.db_timeout(), work).await?;
    Ok(json_bytes(reply))
}

/// `GET /api/v2/tickets/{ticket}`: the ticket with its first replies
/// (`limit`, oldest first).
#[utoipa::path(
    get,
    path = "/api/v2/tickets/{ticket}",
    tag = "v2",
    operation_id = "v2_get_ticket",
    summary = "A ticket with its first replies",
    description = "The ticket, and its first `limit` replies oldest first (`replies_next_cursor` continues with the ticket's replies).",
    params(
        ("ticket" = String, Path, example = "1", description = "The ticket: its id (`12`; all digits is always an id), or its number as agents see it (`TCK-12`, the prefix in any case; `#12` whatever the prefix)"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "Replies shown, 1 to `max_page_size` (default 1000); default 50"),
    ),
    responses(
        (status = 200, description = "The ticket", body = crate::domain::view::TicketWithReplies),
        (status = 400, description = "A query string that cannot be read", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in the key's scope (missing and out of scope look the same)", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A ticket number that names several tickets (use the id)", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters, every one listed in `errors`", body = crate::api::v2::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn ticket(
    key: Bearer<Read>,
    ticket: web::Path<String>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, V2Error> {
    let params = ListParams::parse(req.query_string(), Order::Asc, state.settings.max_page_size)?;
    let ticket = ticket_key(&ticket)?;
    let work = async {
        let (mut conn, tz) = connect(&state).await?;
        let id = find_ticket(&mut conn, &ticket, &key).await?;
        let scope = key.principal.scope();
        views::ticket_json(&mut conn, id, scope, params.limit, PAGE_BYTES, &tz)
            .await?
            .ok_or_else(|| ApiError::from(Message::TicketNotFound))
    };
    let ticket = within(state.settings.db_timeout(), work).await?;
    Ok(json_bytes(ticket))
}
