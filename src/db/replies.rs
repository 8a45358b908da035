//! read.php's one query.

use crate::db::text::to_php_text;
use crate::domain::ClientScope;
use mysql_async::{Pool, Row, Value, prelude::*};

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

#[derive(Debug, Clone, Copy)]
pub struct ReadRequest {
    pub filter: ReplyFilter,
    pub scope: ClientScope,
    pub include_archived: bool,
    pub limit: u64,
    pub offset: u64,
}

/// Rows as PHP's `mysqli_fetch_assoc` gives them: names in select order,
/// every value a string or NULL.
#[derive(Debug, Default)]
pub struct TextRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
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

/// read.php's statement for `req`: the SQL text and its parameters. replyd
/// runs exactly this; so does the benchmark's no-HTTP baseline.
pub fn read_query(req: &ReadRequest) -> (String, Vec<Value>) {
    let mut sql = String::with_capacity(SELECT.len() + 200);
    sql.push_str(SELECT);
    let mut conditions: Vec<&str> = Vec::with_capacity(3);
    let mut params: Vec<Value> = Vec::with_capacity(5);
    match req.filter {
        ReplyFilter::Reply(id) => {
            conditions.push("tr.ticket_reply_id = ?");
            params.push(id.into());
        }
        ReplyFilter::Ticket(id) => {
            conditions.push("tr.ticket_reply_ticket_id = ?");
            params.push(id.into());
        }
        ReplyFilter::All => {}
    }
    if let Some(client_id) = req.scope.client_id() {
        conditions.push("t.ticket_client_id = ?");
        params.push(client_id.into());
    }
    if !req.include_archived {
        conditions.push("tr.ticket_reply_archived_at IS NULL");
    }
    for (i, condition) in conditions.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        sql.push_str(condition);
    }
    sql.push_str(" ORDER BY tr.ticket_reply_id DESC LIMIT ? OFFSET ?");
    params.push(req.limit.into());
    params.push(req.offset.into());
    (sql, params)
}

/// Newest first (the agent UI's order), one page: one round trip (plus a
/// prepare the first time a connection sees this statement text).
pub async fn read_replies(pool: &Pool, req: &ReadRequest) -> Result<TextRows, mysql_async::Error> {
    let (sql, params) = read_query(req);
    let rows: Vec<Row> = pool.get_conn().await?.exec(sql, params).await?;
    let mut out = TextRows::default();
    if let Some(first) = rows.first() {
        out.columns = first
            .columns_ref()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect();
    }
    out.rows = rows
        .into_iter()
        .map(|row| {
            let columns = row.columns();
            row.unwrap()
                .into_iter()
                .zip(columns.iter())
                .map(|(v, c)| to_php_text(v, c))
                .collect()
        })
        .collect();
    Ok(out)
}
