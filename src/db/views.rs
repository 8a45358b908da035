//! v2's reads: replies and tickets as typed views ([`crate::domain::view`]),
//! paged by key (the reply id), never by offset: a page continues after
//! the last id the client saw, so replies added meanwhile cause no gaps or
//! repeats.

use crate::db::snapshot::{TicketMatch, find_ticket};
use crate::db::take;
use crate::domain::view::{NamedRef, ReplyRow, TicketView, rfc3339};
use crate::domain::{ClientScope, TicketNumber, TicketRef};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use mysql_async::prelude::*;
use mysql_async::{Row, Value};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The order of a list, by reply id (the order replies were written in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

/// Which replies a v2 list holds.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub scope: ClientScope,
    /// One ticket's replies, or every reply in scope.
    pub ticket_id: Option<i64>,
    /// One reply.
    pub reply_id: Option<i64>,
    pub include_archived: bool,
    /// `Internal`, `Public` or `Client`.
    pub reply_type: Option<&'static str>,
    /// Written or changed at or after this company wall-clock time.
    pub updated_since: Option<DateTime>,
    /// The cursor: the last reply id of the page before.
    pub after: Option<i64>,
    pub order: Order,
    pub limit: u64,
    /// A page ends early once its replies' text passes this many bytes
    /// (at least one reply is always taken): memory per request stays
    /// bounded whatever the rows hold.
    pub byte_budget: usize,
}

impl ListRequest {
    /// The first `limit` replies of ticket `id`, oldest first, archived
    /// ones left out (the ticket view's; v2's read by ticket by default).
    pub fn first_of_ticket(
        id: i64,
        scope: ClientScope,
        limit: u64,
        byte_budget: usize,
    ) -> ListRequest {
        ListRequest {
            scope,
            ticket_id: Some(id),
            reply_id: None,
            include_archived: false,
            reply_type: None,
            updated_since: None,
            after: None,
            order: Order::Asc,
            limit,
            byte_budget,
        }
    }

    /// The one reply `id`, archived or not.
    pub fn one_reply(id: i64, scope: ClientScope, byte_budget: usize) -> ListRequest {
        ListRequest {
            scope,
            ticket_id: None,
            reply_id: Some(id),
            include_archived: true,
            reply_type: None,
            updated_since: None,
            after: None,
            order: Order::Asc,
            limit: 1,
            byte_budget,
        }
    }
}

/// A reply's columns, then its author's name as agent/ticket.php shows it.
const SELECT: &str = "SELECT STRAIGHT_JOIN tr.ticket_reply_id, tr.ticket_reply_ticket_id, \
     tr.ticket_reply_type, tr.ticket_reply, TIME_TO_SEC(tr.ticket_reply_time_worked), \
     tr.ticket_reply_created_at, tr.ticket_reply_updated_at, tr.ticket_reply_archived_at, \
     tr.ticket_reply_by, \
     CASE WHEN tr.ticket_reply_type = 'Client' THEN c.contact_name ELSE u.user_name END \
     FROM ticket_replies tr \
     JOIN tickets t ON t.ticket_id = tr.ticket_reply_ticket_id \
     LEFT JOIN users u ON u.user_id = tr.ticket_reply_by AND tr.ticket_reply_type <> 'Client' \
     LEFT JOIN contacts c ON c.contact_id = tr.ticket_reply_by AND tr.ticket_reply_type = 'Client'";

/// The statement for `req` (one row more than `limit`, to know whether a
/// page follows).
pub fn list_query(req: &ListRequest) -> (String, Vec<Value>) {
    let mut sql = String::with_capacity(SELECT.len() + 300);
    sql.push_str(SELECT);
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if let Some(id) = req.ticket_id {
        conditions.push("tr.ticket_reply_ticket_id = ?".into());
        params.push(id.into());
    }
    if let Some(id) = req.reply_id {
        conditions.push("tr.ticket_reply_id = ?".into());
        params.push(id.into());
    }
    if let Some((condition, ids)) = req.scope.sql_condition("t.ticket_client_id") {
        conditions.push(condition);
        params.extend(ids.into_iter().map(Value::from));
    }
    if !req.include_archived {
        conditions.push("tr.ticket_reply_archived_at IS NULL".into());
    }
    if let Some(kind) = req.reply_type {
        conditions.push("tr.ticket_reply_type = ?".into());
        params.push(kind.into());
    }
    if let Some(since) = req.updated_since {
        conditions
            .push("(tr.ticket_reply_created_at >= ? OR tr.ticket_reply_updated_at >= ?)".into());
        let since = since.strftime("%Y-%m-%d %H:%M:%S").to_string();
        params.extend([since.clone().into(), since.into()]);
    }
    if let Some(after) = req.after {
        conditions.push(match req.order {
            Order::Asc => "tr.ticket_reply_id > ?".into(),
            Order::Desc => "tr.ticket_reply_id < ?".into(),
        });
        params.push(after.into());
    }
    for (i, condition) in conditions.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        sql.push_str(condition);
    }
    sql.push_str(match req.order {
        Order::Asc => " ORDER BY tr.ticket_reply_id ASC LIMIT ?",
        Order::Desc => " ORDER BY tr.ticket_reply_id DESC LIMIT ?",
    });
    params.push(req.limit.saturating_add(1).into());
    (sql, params)
}

/// A DATETIME value (binary or text protocol).
fn civil(value: &Value) -> Option<DateTime> {
    match value {
        Value::Date(y, mo, d, h, mi, s, _) => DateTime::new(
            i16::try_from(*y).ok()?,
            i8::try_from(*mo).ok()?,
            i8::try_from(*d).ok()?,
            i8::try_from(*h).ok()?,
            i8::try_from(*mi).ok()?,
            i8::try_from(*s).ok()?,
            0,
        )
        .ok(),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn time_of(tz: &TimeZone, row: &Row, i: usize) -> Option<String> {
    row.as_ref(i).and_then(civil).map(|dt| rfc3339(tz, dt))
}

/// A whole number (binary or text protocol), None for NULL.
fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::UInt(n) => i64::try_from(*n).ok(),
        Value::Bytes(b) => {
            let t = std::str::from_utf8(b).ok()?;
            // TIME_TO_SEC may answer a DECIMAL (`600.000000`).
            t.split('.').next()?.parse().ok()
        }
        _ => None,
    }
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

/// A row of [`SELECT`], borrowed.
fn reply_row(row: &Row) -> Result<ReplyRow<'_>, mysql_async::Error> {
    let value = |i: usize| row.as_ref(i).unwrap_or(&Value::NULL);
    let missing = |what: &str| mysql_async::Error::Other(format!("a reply without {what}").into());
    Ok(ReplyRow {
        id: int(value(0)).ok_or_else(|| missing("an id"))?,
        ticket_id: int(value(1)).ok_or_else(|| missing("a ticket"))?,
        kind: bytes(value(2)).unwrap_or_default(),
        body: bytes(value(3)).unwrap_or_default(),
        time_worked_seconds: int(value(4)),
        created_at: civil(value(5)),
        updated_at: civil(value(6)),
        archived_at: civil(value(7)),
        by: int(value(8)).unwrap_or(0),
        name: bytes(value(9)),
    })
}

/// How a page ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageEnd {
    /// Replies written.
    pub count: usize,
    /// The last one's id.
    pub last_id: Option<i64>,
    /// Whether more follow.
    pub more: bool,
}

impl PageEnd {
    /// The cursor continuing after this page, when more follow.
    pub fn next_cursor(&self, order: Order) -> Option<String> {
        self.last_id
            .filter(|_| self.more)
            .map(|id| Cursor::new(order, id).encode())
    }
}

/// Writes a page of `req` to `out` as JSON objects separated by commas
/// (v2's reply, [`ReplyRow::write_json`]), each straight from the
/// database's answer as it arrives.
pub async fn write_page<Q: Queryable>(
    q: &mut Q,
    req: &ListRequest,
    tz: &TimeZone,
    out: &mut Vec<u8>,
) -> Result<PageEnd, mysql_async::Error> {
    let (sql, params) = list_query(req);
    let mut result = q.exec_iter(sql, params).await?;
    let start = out.len();
    let mut end = PageEnd::default();
    while let Some(row) = result.next().await? {
        let full = out.len() - start >= req.byte_budget;
        if end.count as u64 >= req.limit || (full && end.count > 0) {
            end.more = true;
            break;
        }
        let reply = reply_row(&row)?;
        if end.count > 0 {
            out.push(b',');
        }
        reply.write_json(out, tz);
        end.count += 1;
        end.last_id = Some(reply.id);
    }
    // The rows left (at most one, or the rest of a page over budget) are
    // read off the connection and dropped.
    result.drop_result().await?;
    Ok(end)
}

/// The one reply `id` (in `scope`) as JSON, None when there is none.
pub async fn reply_json<Q: Queryable>(
    q: &mut Q,
    id: i64,
    scope: ClientScope,
    tz: &TimeZone,
) -> Result<Option<Vec<u8>>, mysql_async::Error> {
    let mut out = Vec::with_capacity(1024);
    let request = ListRequest::one_reply(id, scope, usize::MAX);
    let end = write_page(q, &request, tz, &mut out).await?;
    Ok((end.count > 0).then_some(out))
}

/// The company's time zone (`settings.config_timezone`), UTC when unset or
/// unknown.
pub async fn company_tz<Q: Queryable>(q: &mut Q) -> Result<TimeZone, mysql_async::Error> {
    let name: Option<Option<String>> = q
        .query_first("SELECT config_timezone FROM settings WHERE company_id = 1")
        .await?;
    Ok(name
        .flatten()
        .and_then(|n| TimeZone::get(&n).ok())
        .unwrap_or(TimeZone::UTC))
}

/// The company's time zone, read at most once a minute.
#[derive(Default)]
pub struct TzCache(Mutex<Option<(Instant, TimeZone)>>);

const TZ_TTL: Duration = Duration::from_secs(60);

impl TzCache {
    pub fn fresh(&self) -> Option<TimeZone> {
        let cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < TZ_TTL)
            .map(|(_, tz)| tz.clone())
    }

    pub fn keep(&self, tz: &TimeZone) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), tz.clone()));
    }
}

/// How a v2 path names a ticket: digits are its id; anything else
/// (`TCK-12`, `#12`) its number with the prefix agents see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketKey {
    Id(i64),
    Number(TicketNumber),
}

impl TicketKey {
    pub fn parse(raw: &str) -> Option<TicketKey> {
        let t = raw.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return t.parse().ok().filter(|id| *id > 0).map(TicketKey::Id);
        }
        let t = t.strip_prefix('#').unwrap_or(t);
        TicketNumber::parse(t).map(TicketKey::Number)
    }

    /// As the create's request names it.
    pub fn as_ref(&self) -> TicketRef {
        match self {
            TicketKey::Id(id) => TicketRef {
                id: Some(*id),
                number: None,
            },
            TicketKey::Number(n) => TicketRef {
                id: None,
                number: Some(n.clone()),
            },
        }
    }
}

/// The ticket `key` names inside `scope`.
pub async fn find<Q: Queryable>(
    q: &mut Q,
    key: &TicketKey,
    scope: &ClientScope,
) -> Result<TicketMatch, mysql_async::Error> {
    match key {
        TicketKey::Id(id) => {
            let client: Option<i64> = q
                .exec_first(
                    "SELECT ticket_client_id FROM tickets WHERE ticket_id = ?",
                    (id,),
                )
                .await?;
            Ok(match client {
                Some(client) if scope.allows(client) => TicketMatch::One(*id),
                _ => TicketMatch::None,
            })
        }
        TicketKey::Number(_) => find_ticket(q, &key.as_ref(), scope).await,
    }
}

/// The ticket `id` (already found in scope).
pub async fn ticket<Q: Queryable>(
    q: &mut Q,
    id: i64,
    tz: &TimeZone,
) -> Result<Option<TicketView>, mysql_async::Error> {
    let row: Option<Row> = q
        .exec_first(
            "SELECT t.ticket_id, t.ticket_prefix, t.ticket_number, t.ticket_subject, \
             t.ticket_status, s.ticket_status_name, t.ticket_client_id, cl.client_name, \
             t.ticket_contact_id, co.contact_name, t.ticket_assigned_to, u.user_name, \
             t.ticket_created_at, t.ticket_updated_at, t.ticket_resolved_at, t.ticket_closed_at \
             FROM tickets t \
             LEFT JOIN ticket_statuses s ON s.ticket_status_id = t.ticket_status \
             LEFT JOIN clients cl ON cl.client_id = t.ticket_client_id \
             LEFT JOIN contacts co ON co.contact_id = t.ticket_contact_id \
             LEFT JOIN users u ON u.user_id = t.ticket_assigned_to \
             WHERE t.ticket_id = ?",
            (id,),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let named = |row: &mut Row, i: usize| -> Result<Option<NamedRef>, mysql_async::Error> {
        let id: i64 = take(row, i)?;
        let name: Option<String> = take(row, i + 1)?;
        Ok((id != 0).then_some(NamedRef { id, name }))
    };
    let prefix: Option<String> = take(&mut row, 1)?;
    let number: i64 = take(&mut row, 2)?;
    Ok(Some(TicketView {
        id: take(&mut row, 0)?,
        reference: format!("{}{number}", prefix.as_deref().unwrap_or_default()),
        prefix,
        number,
        subject: take(&mut row, 3)?,
        status: NamedRef {
            id: take(&mut row, 4)?,
            name: take(&mut row, 5)?,
        },
        client: named(&mut row, 6)?,
        contact: named(&mut row, 8)?,
        assignee: named(&mut row, 10)?,
        created_at: time_of(tz, &row, 12),
        updated_at: time_of(tz, &row, 13),
        resolved_at: time_of(tz, &row, 14),
        closed_at: time_of(tz, &row, 15),
    }))
}

/// The ticket `id` with the first `limit` of its replies (oldest first,
/// archived ones left out) and the cursor continuing them, as JSON (a
/// [`crate::domain::view::TicketWithReplies`]).
pub async fn ticket_json<Q: Queryable>(
    q: &mut Q,
    id: i64,
    scope: &ClientScope,
    limit: u64,
    byte_budget: usize,
    tz: &TimeZone,
) -> Result<Option<Vec<u8>>, mysql_async::Error> {
    let Some(ticket) = self::ticket(q, id, tz).await? else {
        return Ok(None);
    };
    let request = ListRequest::first_of_ticket(id, scope.clone(), limit, byte_budget);
    let mut out = serde_json::to_vec(&ticket).expect("plain data");
    // The ticket's members, then its replies (`#[serde(flatten)]`).
    out.pop();
    out.extend_from_slice(b",\"replies\":[");
    let end = write_page(q, &request, tz, &mut out).await?;
    out.extend_from_slice(b"],\"replies_next_cursor\":");
    write_cursor(&mut out, end.next_cursor(Order::Asc));
    out.push(b'}');
    Ok(Some(out))
}

/// A cursor as JSON (null for none).
pub fn write_cursor(out: &mut Vec<u8>, cursor: Option<String>) {
    match cursor {
        Some(c) => crate::php::json::write_plain_json_str(out, &c),
        None => out.extend_from_slice(b"null"),
    }
}

/// An opaque position in a list: the order and the last id seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub order: Order,
    pub after: i64,
}

impl Cursor {
    pub fn new(order: Order, after: i64) -> Cursor {
        Cursor { order, after }
    }

    /// `a123` / `d123`, base64url without padding: opaque to clients.
    pub fn encode(&self) -> String {
        use base64::Engine;
        let tag = match self.order {
            Order::Asc => 'a',
            Order::Desc => 'd',
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{tag}{}", self.after))
    }

    pub fn decode(raw: &str) -> Option<Cursor> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw.trim())
            .ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let order = match text.as_bytes().first()? {
            b'a' => Order::Asc,
            b'd' => Order::Desc,
            _ => return None,
        };
        let after: i64 = text[1..].parse().ok().filter(|id| *id >= 0)?;
        Some(Cursor { order, after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for c in [Cursor::new(Order::Asc, 0), Cursor::new(Order::Desc, 987654)] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        for bad in ["", "x", "eDE", "!!", "ZC0x"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn tickets_by_id_or_number() {
        assert_eq!(TicketKey::parse("12"), Some(TicketKey::Id(12)));
        assert_eq!(TicketKey::parse("0"), None);
        let n = |p: Option<&str>, number| {
            Some(TicketKey::Number(TicketNumber {
                prefix: p.map(str::to_owned),
                number,
            }))
        };
        assert_eq!(TicketKey::parse("TCK-12"), n(Some("TCK-"), 12));
        assert_eq!(TicketKey::parse("#12"), n(None, 12));
        assert_eq!(TicketKey::parse("abc"), None);
    }
}
