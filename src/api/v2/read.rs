//! v2's reads: a ticket's replies, every reply in the key's scope, one
//! reply, a ticket with its replies. Out of scope and missing look the
//! same (404).

use super::auth::{Bearer, Read};
use super::problem::V2Error;
use super::query::ListParams;
use crate::db::snapshot::TicketMatch;
use crate::db::views::{self, Cursor, ListRequest, Order, TicketKey};
use crate::db::within;
use crate::domain::view::ReplyPage;
use crate::error::ApiError;
use crate::messages::Message;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use jiff::tz::TimeZone;
use mysql_async::Conn;
use serde::Serialize;

/// A page of replies ends early once their text passes this many bytes
/// (1 MiB; `next_cursor` continues): memory per request stays bounded.
pub const PAGE_BYTES: usize = 1024 * 1024;

pub fn json(status: actix_web::http::StatusCode, value: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(serde_json::to_vec(value).unwrap_or_default())
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

/// The ticket a path names, inside the key's scope.
async fn find_ticket(conn: &mut Conn, raw: &str, key: &Bearer<Read>) -> Result<i64, ApiError> {
    let Some(ticket) = TicketKey::parse(raw) else {
        return Err(Message::TicketNotFound.into());
    };
    match views::find(conn, &ticket, key.principal.scope()).await? {
        TicketMatch::One(id) => Ok(id),
        TicketMatch::None => Err(Message::TicketNotFound.into()),
        TicketMatch::Several => Err(Message::TicketNumberAmbiguous.into()),
    }
}

/// `GET /api/v2/tickets/{ticket}/replies` (oldest first unless `order`).
pub async fn ticket_replies(
    key: Bearer<Read>,
    ticket: web::Path<String>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, V2Error> {
    let params = ListParams::parse(req.query_string(), Order::Asc, state.settings.max_page_size)?;
    let work = async {
        let (mut conn, tz) = connect(&state).await?;
        // By id: the page straight away (one round trip; its query keeps to
        // the key's scope), and the ticket looked up only when the page is
        // empty, to tell a ticket without replies from no ticket.
        let by_id = match TicketKey::parse(&ticket) {
            Some(TicketKey::Id(id)) => Some(id),
            _ => None,
        };
        let ticket_id = match by_id {
            Some(id) => id,
            None => find_ticket(&mut conn, &ticket, &key).await?,
        };
        let page = page(&mut conn, &key, &params, Some(ticket_id), &tz).await?;
        if by_id.is_some() && page.data.is_empty() {
            find_ticket(&mut conn, &ticket, &key).await?;
        }
        Ok::<_, ApiError>(page)
    };
    let page = within(state.settings.db_timeout(), work).await?;
    Ok(json(actix_web::http::StatusCode::OK, &page))
}

/// `GET /api/v2/replies`: every reply in the key's scope (newest first
/// unless `order`); with `updated_since`, what changed since.
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
        page(&mut conn, &key, &params, None, &tz).await
    };
    let page = within(state.settings.db_timeout(), work).await?;
    Ok(json(actix_web::http::StatusCode::OK, &page))
}

async fn page(
    conn: &mut Conn,
    key: &Bearer<Read>,
    params: &ListParams,
    ticket_id: Option<i64>,
    tz: &TimeZone,
) -> Result<ReplyPage, ApiError> {
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
    let (data, more) = views::read_page(conn, &request, tz).await?;
    let next_cursor = more
        .then(|| {
            data.last()
                .map(|r| Cursor::new(params.order, r.id).encode())
        })
        .flatten();
    Ok(ReplyPage { data, next_cursor })
}

/// `GET /api/v2/replies/{reply_id}`.
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
        let request = ListRequest::one_reply(id, key.principal.scope().clone(), PAGE_BYTES);
        let (mut replies, _) = views::read_page(&mut conn, &request, &tz).await?;
        replies.pop().ok_or_else(ApiError::no_resource)
    };
    let reply = within(state.settings.db_timeout(), work).await?;
    Ok(json(actix_web::http::StatusCode::OK, &reply))
}

/// `GET /api/v2/tickets/{ticket}`: the ticket with its first replies
/// (`limit`, oldest first).
pub async fn ticket(
    key: Bearer<Read>,
    ticket: web::Path<String>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, V2Error> {
    let params = ListParams::parse(req.query_string(), Order::Asc, state.settings.max_page_size)?;
    let work = async {
        let (mut conn, tz) = connect(&state).await?;
        let id = find_ticket(&mut conn, &ticket, &key).await?;
        let scope = key.principal.scope();
        views::ticket_with_replies(&mut conn, id, scope, params.limit, PAGE_BYTES, &tz)
            .await?
            .ok_or_else(|| ApiError::from(Message::TicketNotFound))
    };
    let ticket = within(state.settings.db_timeout(), work).await?;
    Ok(json(actix_web::http::StatusCode::OK, &ticket))
}
