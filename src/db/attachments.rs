//! `ticket_attachments`: the rows behind a reply's files.

use crate::db::take;
use crate::domain::ClientScope;
use mysql_async::{Pool, Row, prelude::*};
use std::collections::{HashMap, HashSet};

/// Which of `(ticket_id, reference)` have a committed `ticket_attachments`
/// row.
pub async fn committed(
    pool: &Pool,
    candidates: &[(i64, String)],
) -> Result<HashSet<(i64, String)>, mysql_async::Error> {
    let mut conn = pool.get_conn().await?;
    let mut found = HashSet::new();
    for (ticket_id, reference) in candidates {
        let row: Option<i64> = conn
            .exec_first(
                "SELECT ticket_attachment_id FROM ticket_attachments \
                 WHERE ticket_attachment_ticket_id = ? AND ticket_attachment_reference_name = ?",
                (ticket_id, reference),
            )
            .await?;
        if row.is_some() {
            found.insert((*ticket_id, reference.clone()));
        }
    }
    Ok(found)
}

/// An attachment a key may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    pub ticket_id: i64,
    pub name: String,
    pub reference: String,
}

/// The attachment `id`, when its ticket is inside `scope`.
pub async fn find(
    pool: &Pool,
    id: i64,
    scope: &ClientScope,
) -> Result<Option<AttachmentFile>, mysql_async::Error> {
    let mut conn = pool.get_conn().await?;
    let row: Option<Row> = conn
        .exec_first(
            "SELECT a.ticket_attachment_ticket_id, a.ticket_attachment_name, \
             a.ticket_attachment_reference_name, t.ticket_client_id \
             FROM ticket_attachments a JOIN tickets t ON t.ticket_id = a.ticket_attachment_ticket_id \
             WHERE a.ticket_attachment_id = ?",
            (id,),
        )
        .await?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let client_id: i64 = take(&mut row, 3)?;
    if !scope.allows(client_id) {
        return Ok(None);
    }
    Ok(Some(AttachmentFile {
        ticket_id: take(&mut row, 0)?,
        name: take(&mut row, 1)?,
        reference: take(&mut row, 2)?,
    }))
}

/// One attachment of a reply, as a read lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAttachment {
    pub id: i64,
    pub ticket_id: i64,
    pub name: String,
    pub reference: String,
    pub created_at: String,
}

/// The attachments of the replies a read lists (the read's own statement
/// as a derived table, so exactly that page), by reply id, in id order.
pub async fn of_page(
    pool: &Pool,
    req: &crate::db::replies::ReadRequest,
) -> Result<HashMap<i64, Vec<ListedAttachment>>, mysql_async::Error> {
    let (page, params) = crate::db::replies::read_query(req);
    let sql = format!(
        "SELECT a.ticket_attachment_reply_id, a.ticket_attachment_id, a.ticket_attachment_ticket_id, \
         a.ticket_attachment_name, a.ticket_attachment_reference_name, \
         DATE_FORMAT(a.ticket_attachment_created_at, '%Y-%m-%d %H:%i:%s') \
         FROM ticket_attachments a \
         WHERE a.ticket_attachment_reply_id IN (SELECT page.ticket_reply_id FROM ({page}) page) \
         ORDER BY a.ticket_attachment_id"
    );
    let mut conn = pool.get_conn().await?;
    let rows: Vec<(i64, i64, i64, String, String, String)> = conn.exec(sql, params).await?;
    let mut by_reply: HashMap<i64, Vec<ListedAttachment>> = HashMap::new();
    for (reply, id, ticket_id, name, reference, created_at) in rows {
        by_reply.entry(reply).or_default().push(ListedAttachment {
            id,
            ticket_id,
            name,
            reference,
            created_at,
        });
    }
    Ok(by_reply)
}
