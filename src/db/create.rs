//! A create, for either dialect: decide, then write, in one transaction.
//!
//! 1. Lock and read the ticket (`db/snapshot.rs`).
//! 2. The dialect's planner, a pure function, turns the snapshot and the
//!    request into a write plan or a refusal (`domain/plan_replies.rs`,
//!    `domain/plan_itflow.rs`).
//! 3. The one writer applies the plan (`db/writer.rs`).
//!
//! A refusal or failure drops the transaction uncommitted (rolled back);
//! the work and the COMMIT are each bounded by `limit`
//! ([`crate::db::write_then_commit`]).

use crate::db::snapshot::{SnapshotRequest, read_locked};
use crate::db::{write_then_commit, writer};
use crate::domain::plan::{Actor, WriteContext};
use crate::domain::plan_itflow::{self, ItflowReply};
use crate::domain::reply::STATUS_RESOLVED;
use crate::domain::{NewReply, ReplyType, RequestMeta, StatusChange, plan_replies};
use crate::error::ApiError;
use crate::messages::Message;
use mysql_async::{Pool, TxOpts};
use std::time::Duration;

/// A create request of either dialect.
#[derive(Debug, Clone, Copy)]
pub enum CreateRequest<'a> {
    /// `/api/v1/tickets/replies/create.php`.
    Replies(&'a NewReply),
    /// ITFlow's own `/api/v1/ticket_replies/create.php`.
    Itflow(&'a ItflowReply),
}

impl CreateRequest<'_> {
    /// What the planner of this request needs read.
    fn snapshot_request(&self, ctx: &WriteContext<'_>) -> SnapshotRequest {
        let author_user_id = Actor::user_id_of(ctx.principal, ctx.legacy_author);
        let flavour = ctx.flavour;
        match self {
            CreateRequest::Replies(r) => {
                let status = match r.status {
                    StatusChange::To(s) => s,
                    StatusChange::Keep => 0,
                };
                let public = r.text.is_some() && r.reply_type == ReplyType::Public;
                SnapshotRequest {
                    ticket_id: r.ticket_id,
                    author_user_id,
                    requested_status: status,
                    open_tasks: status == STATUS_RESOLVED,
                    sla: flavour.keeps_sla_clock() && (status != 0 || public),
                    mail: false,
                    contact: false,
                }
            }
            CreateRequest::Itflow(r) => SnapshotRequest {
                ticket_id: r.ticket_id,
                author_user_id,
                requested_status: r.status,
                open_tasks: false,
                sla: flavour.keeps_sla_clock() && (r.status != 0 || r.is_public()),
                mail: flavour.has_email_queue() && r.is_public(),
                contact: true,
            },
        }
    }
}

/// Write the reply and/or status change; the new reply's id, 0 for a
/// status-only call.
pub async fn create(
    pool: &Pool,
    ctx: &WriteContext<'_>,
    request: CreateRequest<'_>,
    meta: &RequestMeta,
    limit: Duration,
) -> Result<u64, ApiError> {
    // Refusals that need no database come before any connection.
    if let CreateRequest::Itflow(r) = request {
        r.check()?;
    }
    let needs = request.snapshot_request(ctx);
    write_then_commit(limit, async {
        // No connection: 503. Anything failing once the transaction is
        // open: 500.
        let mut tx = pool.start_transaction(TxOpts::default()).await?;
        let work = async {
            let snapshot = read_locked(&mut tx, &needs).await?;
            let plan = match request {
                CreateRequest::Replies(r) => match &snapshot {
                    Some(snap) => plan_replies::plan(snap, r, ctx)?,
                    None => return Err(Message::TicketNotFound.into()),
                },
                CreateRequest::Itflow(r) => plan_itflow::plan(snapshot.as_ref(), r, ctx)?,
            };
            Ok::<_, ApiError>(writer::write(&mut tx, &plan, meta).await?)
        };
        let insert_id = work.await.map_err(ApiError::in_transaction)?;
        Ok((tx, insert_id))
    })
    .await
}
