//! The one query behind both read endpoints.

use crate::db::{within, within_until};
use crate::domain::{ClientScope, TicketNumber};
use mysql_async::{Pool, Row, Value, prelude::*};
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Which replies read.php lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyFilter {
    /// `reply_id`: that one reply.
    Reply(i64),
    /// `ticket_id`: every reply on the ticket.
    Ticket(i64),
    /// Neither: every reply in scope.
    All,
}

/// Which API's read.php is answered: they differ in order, paging of a
/// single reply, and how the author's name is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadDialect {
    /// `/api/v1/tickets/replies/read.php`: newest first.
    Replies,
    /// ITFlow 2.6's own `/api/v1/ticket_replies/read.php`: oldest first, a
    /// single reply by id with `LIMIT 1`, and `COALESCE(user, contact)` as
    /// the author's name.
    TicketReplies,
}

#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub dialect: ReadDialect,
    pub filter: ReplyFilter,
    /// The legacy dialect's `ticket_number`: only that ticket's replies.
    pub ticket_number: Option<TicketNumber>,
    /// `Internal`, `Public` or `Client` (ITFlow's `type` filter).
    pub reply_type: Option<&'static str>,
    pub scope: ClientScope,
    /// A `client_id` parameter narrowing the read further.
    pub narrow_to_client: Option<i64>,
    pub include_archived: bool,
    pub limit: u64,
    pub offset: u64,
}

/// Every `ticket_replies` column in table order (`tr.*`, so columns later
/// ITFlow versions add come along), then the ticket's prefix, number,
/// subject and client, and the author's name: the user for Internal/Public
/// replies, the contact for Client replies (ITFlow stores the contact id in
/// `ticket_reply_by` for those; agent/ticket.php shows the same names).
///
/// STRAIGHT_JOIN keeps `ticket_replies` the first table: the page is then
/// read newest first along the primary key (or the ticket index) and stops
/// after `limit` rows. Left to itself, once the ticket index exists MariaDB
/// starts from `tickets` and sorts every reply in the table for the
/// unfiltered first page (0.8 s a request at 10^5 replies).
const SELECT: &str = "SELECT STRAIGHT_JOIN tr.*, t.ticket_prefix, t.ticket_number, t.ticket_subject, t.ticket_client_id, \
     CASE WHEN tr.ticket_reply_type = 'Client' THEN c.contact_name \
          WHEN tr.ticket_reply_type IN ('Internal', 'Public') THEN u.user_name END AS ticket_reply_by_name \
     FROM ticket_replies tr \
     JOIN tickets t ON t.ticket_id = tr.ticket_reply_ticket_id \
     LEFT JOIN users u ON u.user_id = tr.ticket_reply_by AND tr.ticket_reply_type <> 'Client' \
     LEFT JOIN contacts c ON c.contact_id = tr.ticket_reply_by AND tr.ticket_reply_type = 'Client'";

/// ITFlow api/v1/ticket_replies/read.php's select: the same columns, the
/// author named by `COALESCE(u.user_name, c.contact_name)` (STRAIGHT_JOIN for
/// the same reason as above).
const SELECT_TICKET_REPLIES: &str = "SELECT STRAIGHT_JOIN tr.*, t.ticket_prefix, t.ticket_number, t.ticket_subject, t.ticket_client_id, \
     COALESCE(u.user_name, c.contact_name) AS ticket_reply_by_name \
     FROM ticket_replies tr \
     JOIN tickets t ON t.ticket_id = tr.ticket_reply_ticket_id \
     LEFT JOIN users u ON tr.ticket_reply_type != 'Client' AND u.user_id = tr.ticket_reply_by \
     LEFT JOIN contacts c ON tr.ticket_reply_type = 'Client' AND c.contact_id = tr.ticket_reply_by";

/// The read statement for `req`: the SQL text and its parameters. replyd
/// runs exactly this; so does the benchmark's no-HTTP baseline.
pub fn read_query(req: &ReadRequest) -> (String, Vec<Value>) {
    let select = match req.dialect {
        ReadDialect::Replies => SELECT,
        ReadDialect::TicketReplies => SELECT_TICKET_REPLIES,
    };
    let mut sql = String::with_capacity(select.len() + 200);
    sql.push_str(select);
    let mut conditions: Vec<String> = Vec::with_capacity(4);
    let mut params: Vec<Value> = Vec::with_capacity(5);
    match req.filter {
        ReplyFilter::Reply(id) => {
            conditions.push("tr.ticket_reply_id = ?".into());
            params.push(id.into());
        }
        ReplyFilter::Ticket(id) => {
            conditions.push("tr.ticket_reply_ticket_id = ?".into());
            params.push(id.into());
        }
        ReplyFilter::All => {}
    }
    // The ticket looked up by number first (the subquery is read once),
    // so the replies are still read along the ticket index.
    if let Some(n) = &req.ticket_number {
        conditions.push(
            "tr.ticket_reply_ticket_id IN (SELECT ticket_id FROM tickets WHERE ticket_number = ? \
             AND (? IS NULL OR LOWER(COALESCE(ticket_prefix, '')) = LOWER(?)))"
                .into(),
        );
        params.extend([
            n.number.into(),
            n.prefix.clone().into(),
            n.prefix.clone().into(),
        ]);
    }
    if let Some((condition, ids)) = req.scope.sql_condition("t.ticket_client_id") {
        conditions.push(condition);
        params.extend(ids.into_iter().map(Value::from));
    }
    if let Some(client_id) = req.narrow_to_client {
        conditions.push("t.ticket_client_id = ?".into());
        params.push(client_id.into());
    }
    if !req.include_archived {
        conditions.push("tr.ticket_reply_archived_at IS NULL".into());
    }
    if let Some(kind) = req.reply_type {
        conditions.push("tr.ticket_reply_type = ?".into());
        params.push(kind.into());
    }
    for (i, condition) in conditions.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        sql.push_str(condition);
    }
    match (req.dialect, req.filter) {
        (ReadDialect::TicketReplies, ReplyFilter::Reply(_)) => sql.push_str(" LIMIT 1"),
        (dialect, _) => {
            sql.push_str(if dialect == ReadDialect::Replies {
                " ORDER BY tr.ticket_reply_id DESC LIMIT ? OFFSET ?"
            } else {
                " ORDER BY tr.ticket_reply_id ASC LIMIT ? OFFSET ?"
            });
            params.push(req.limit.into());
            params.push(req.offset.into());
        }
    }
    (sql, params)
}

/// Runs `req` (one page: one round trip, plus a prepare the first time a
/// connection sees this statement text) and hands each row to `each_row` as
/// it arrives, so a page is never held whole. Returns how many rows there
/// were; an error from `each_row` stops the read.
///
/// `deadline` bounds each wait on the database, never what `each_row` does:
/// getting a connection and running the statement until its first answer,
/// then each wait for the next row. A large answer may take as long as the
/// client and `each_row` need; only a database that stops answering for
/// `deadline` fails it (see `db::within`).
///
/// A row already received is taken without arming a timer (most rows of a
/// page come in the same few socket reads).
pub async fn read_replies<E>(
    pool: &Pool,
    req: &ReadRequest,
    deadline: Duration,
    mut each_row: impl AsyncFnMut(Row) -> Result<(), E>,
) -> Result<usize, E>
where
    E: From<mysql_async::Error>,
{
    let (sql, params) = read_query(req);
    // Connecting (or waiting for a pooled connection) and the statement's
    // first answer share one deadline.
    let until = tokio::time::Instant::now() + deadline;
    let mut conn = within_until(until, deadline, pool.get_conn()).await?;
    let mut result = within_until(until, deadline, conn.exec_iter(sql, params)).await?;
    let mut count = 0;
    loop {
        let mut next = pin!(result.next());
        let row = match poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx))).await {
            Poll::Ready(row) => row?,
            Poll::Pending => within(deadline, next).await?,
        };
        let Some(row) = row else { break };
        count += 1;
        each_row(row).await?;
    }
    // Nothing is left to read (no round trip); as for_each_and_drop.
    within(deadline, result.drop_result()).await?;
    Ok(count)
}
