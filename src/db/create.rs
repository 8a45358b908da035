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

use crate::db::idempotency::{self, Claim, Claimed, Stored};
use crate::db::snapshot::{SnapshotRequest, TicketMatch, find_ticket, read_locked, read_statuses};
use crate::db::{views, write_then_commit_or, writer};
use crate::domain::flavour::MailSetting;
use crate::domain::plan::{Actor, WriteContext, WritePlan};
use crate::domain::plan_itflow::{self, ItflowReply};
use crate::domain::reply::{STATUS_OPEN, STATUS_RESOLVED};
use crate::domain::status::StatusEntry;
use crate::domain::{
    Author, ClientScope, NewReply, ReplyType, RequestMeta, StatusChange, plan_replies, reply_email,
    status,
};
use crate::error::ApiError;
use crate::messages::Message;
use crate::uploads::{PlacedFile, StagedFile, Uploads};
use mysql_async::prelude::Queryable;
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

/// What a legacy-dialect request needs read, once its ticket is found by
/// number and its status by name (both read inside the transaction, before
/// the ticket is locked); and the status list read for a name.
async fn replies_request<Q: Queryable>(
    q: &mut Q,
    r: &NewReply,
    ctx: &WriteContext<'_>,
) -> Result<(SnapshotRequest, Vec<StatusEntry>), ApiError> {
    let ticket_id = match r.ticket.id_only() {
        Some(id) => id,
        None => match find_ticket(q, &r.ticket, ctx.principal.scope()).await? {
            TicketMatch::One(id) => id,
            TicketMatch::None => return Err(Message::TicketNotFound.into()),
            TicketMatch::Several => return Err(Message::TicketNumberAmbiguous.into()),
        },
    };
    let (statuses, status) = match &r.status {
        StatusChange::To(s) => (Vec::new(), *s),
        StatusChange::Keep => (Vec::new(), 0),
        StatusChange::Named(name) => {
            let statuses = read_statuses(q).await?;
            let id = status::find_by_name(&statuses, name).unwrap_or(0);
            (statuses, id)
        }
    };
    let named_status = matches!(r.status, StatusChange::Named(_));
    let (customer, agent) = match &r.author {
        Author::Key => (None, None),
        Author::Customer(contact) => (Some(contact.clone()), None),
        Author::Agent(agent) => (None, Some((agent.clone(), ctx.flavour.agent_lists()))),
    };
    // A customer's reply moves the ticket to Open.
    let status = if customer.is_some() {
        STATUS_OPEN
    } else {
        status
    };
    let public = r.text.is_some() && r.reply_type == ReplyType::Public;
    let flavour = ctx.flavour;
    // public_reply_type 2 (checked before: email_replies is on and the
    // database has an email queue).
    let email = flavour
        .agent_email()
        .filter(|_| r.email && ctx.email_replies);
    // A customer's reply: the portal's email to the assigned agent, where
    // ITFlow has an email queue.
    let assignee_email = flavour.agent_email().filter(|_| customer.is_some());
    let request = SnapshotRequest {
        ticket_id,
        author_user_id: Actor::user_id_of(ctx.principal, ctx.legacy_author),
        requested_status: status,
        // Counted to refuse resolving, and to list the names a status may
        // be set to.
        open_tasks: status == STATUS_RESOLVED || named_status,
        sla: flavour.keeps_sla_clock() && (status != 0 || public),
        // The assigned agent's email of a customer's reply; the agent UI's
        // email of a public reply with email.
        mail: assignee_email.is_some() || email.is_some(),
        smtp_host: email
            .or(assignee_email)
            .is_some_and(|e| e.configured_by == MailSetting::SmtpHostOrProvider),
        signature: email.is_some_and(|e| e.signatures),
        contact: email.is_some(),
        customer,
        agent,
    };
    Ok((request, statuses))
}

/// What ITFlow's own create needs read.
fn itflow_request(r: &ItflowReply, ctx: &WriteContext<'_>) -> SnapshotRequest {
    let flavour = ctx.flavour;
    SnapshotRequest {
        ticket_id: r.ticket_id,
        author_user_id: Actor::user_id_of(ctx.principal, ctx.legacy_author),
        requested_status: r.status,
        open_tasks: false,
        sla: flavour.keeps_sla_clock() && (r.status != 0 || r.is_public()),
        mail: flavour.has_email_queue() && r.is_public(),
        contact: true,
        ..SnapshotRequest::default()
    }
}

/// The files a create brings: received under temporary names, in the
/// order of the request's attachments.
#[derive(Clone, Copy)]
pub struct Files<'a> {
    pub uploads: Option<&'a Uploads>,
    pub staged: &'a [StagedFile],
}

/// The answer a write gets (kept with it, in its transaction, for an
/// `Idempotency-Key`).
#[derive(Clone, Copy)]
pub enum Answer {
    /// Made from the new reply's id alone (v1: create_output.php's).
    Insert(fn(u64) -> Stored),
    /// v2: the new reply as `GET /api/v2/replies/{id}` shows it (201), or
    /// for a status-only change the ticket with the first `replies` of its
    /// replies (200); read inside the transaction, so exactly what was
    /// written.
    View { replies: u64, byte_budget: usize },
}

impl Answer {
    async fn make<Q: Queryable>(
        self,
        q: &mut Q,
        insert_id: u64,
        ticket_id: i64,
    ) -> Result<Stored, ApiError> {
        let (replies, byte_budget) = match self {
            Answer::Insert(answer) => return Ok(answer(insert_id)),
            Answer::View {
                replies,
                byte_budget,
            } => (replies, byte_budget),
        };
        let tz = views::company_tz(q).await?;
        // The ticket is the request's own, already found in its scope.
        let scope = ClientScope::AllClients;
        let json = |status: u16, body: Vec<u8>| Stored {
            status,
            content_type: "application/json".into(),
            body,
        };
        if insert_id > 0 {
            let reply = views::reply_json(q, insert_id as i64, scope, &tz).await?;
            return Ok(json(201, reply.unwrap_or_default()));
        }
        let ticket = views::ticket_json(q, ticket_id, &scope, replies, byte_budget, &tz).await?;
        Ok(json(200, ticket.unwrap_or_default()))
    }
}

/// What a create did.
pub enum Created {
    /// Wrote; the answer.
    Written(Stored),
    /// The same request with the same `Idempotency-Key` was answered
    /// before: that answer; nothing was written.
    Replayed(Stored),
}

/// Write the reply and/or status change, and make its answer. With an
/// `Idempotency-Key` (`claim`), the key is claimed in the transaction
/// before the ticket is locked, and the answer kept in it before COMMIT
/// ([`crate::db::idempotency`]). The files get their final names only once
/// COMMIT succeeded ([`crate::uploads`]).
#[allow(clippy::too_many_arguments)]
pub async fn create(
    pool: &Pool,
    ctx: &WriteContext<'_>,
    request: CreateRequest<'_>,
    files: Files<'_>,
    meta: &RequestMeta,
    limit: Duration,
    claim: Option<&Claim>,
    answer: Answer,
) -> Result<Created, ApiError> {
    // Refusals that need no database come before any connection.
    match request {
        CreateRequest::Itflow(r) => r.check()?,
        CreateRequest::Replies(r) => {
            reply_email::check_request(r, ctx)?;
        }
    }
    let done = write_then_commit_or(
        limit,
        async {
            // No connection: 503. Anything failing once the transaction is
            // open: 500.
            let mut tx = pool.start_transaction(TxOpts::default()).await?;
            let work = async {
                if let Some(claim) = claim
                    && let Claimed::Replay(answer) = idempotency::claim(&mut tx, claim).await?
                {
                    return Ok(Done::Replayed(answer));
                }
                let (needs, statuses) = match request {
                    CreateRequest::Replies(r) => replies_request(&mut tx, r, ctx).await?,
                    CreateRequest::Itflow(r) => (itflow_request(r, ctx), Vec::new()),
                };
                let mut snapshot = read_locked(&mut tx, &needs).await?;
                if let Some(snap) = &mut snapshot {
                    snap.statuses = statuses;
                }
                let plan = match request {
                    CreateRequest::Replies(r) => match &snapshot {
                        Some(snap) => plan_replies::plan(snap, r, ctx)?,
                        None => return Err(Message::TicketNotFound.into()),
                    },
                    CreateRequest::Itflow(r) => plan_itflow::plan(snapshot.as_ref(), r, ctx)?,
                };
                let insert_id = writer::write(&mut tx, &plan, meta).await?;
                let placed = place(files, &plan)?;
                let answer = answer.make(&mut tx, insert_id, plan.ticket_id).await?;
                if let Some(claim) = claim {
                    idempotency::record(&mut tx, claim, &answer).await?;
                }
                Ok::<_, ApiError>(Done::Written(answer, placed))
            };
            let done = work.await.map_err(ApiError::in_transaction)?;
            Ok((tx, done))
        },
        |done: Done| {
            if let Done::Written(_, placed) = done {
                // Saved or not, nobody knows: startup settles them by their rows.
                placed.into_iter().for_each(PlacedFile::keep);
            }
        },
    )
    .await?;
    let (answer, placed) = match done {
        Done::Written(answer, placed) => (answer, placed),
        Done::Replayed(answer) => return Ok(Created::Replayed(answer)),
    };
    for file in placed {
        // A failure here leaves the file under its temporary name, which
        // the next start finishes (its row is committed).
        if let Err(e) = file.finish() {
            log::error!("naming a committed attachment: {e}");
        }
    }
    Ok(Created::Written(answer))
}

/// What the transaction did, before COMMIT.
enum Done {
    Written(Stored, Vec<PlacedFile>),
    Replayed(Stored),
}

/// Move the plan's files into the ticket's folder under temporary names.
fn place(files: Files<'_>, plan: &WritePlan) -> Result<Vec<PlacedFile>, ApiError> {
    if plan.attachments.is_empty() {
        return Ok(Vec::new());
    }
    let uploads = files
        .uploads
        .ok_or(ApiError::Refused(Message::UploadsNotConfigured))?;
    let references: Vec<String> = plan
        .attachments
        .iter()
        .map(|a| a.reference.clone())
        .collect();
    uploads
        .place(plan.ticket_id, files.staged, &references)
        .map_err(ApiError::Upload)
}
