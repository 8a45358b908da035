//! Shared by the crash probes (crash.rs, db_crash.rs): a concurrent load of
//! create calls on both create endpoints, every reply text unique, and a
//! check of the database against what was acknowledged: every acknowledged
//! reply present with its rows, no reply without them, no row and no ticket
//! change without a reply.

use crate::helpers::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub const ITFLOW_CREATE: &str = "/api/v1/ticket_replies/create.php";
pub const ITFLOW_READ: &str = "/api/v1/ticket_replies/read.php";
/// Tickets that stay open under the load (3 is closed).
const TICKETS: [i64; 4] = [1, 2, 4, 5];
/// The longest a load task keeps sending.
const LOAD_LIMIT: Duration = Duration::from_secs(45);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// POST /api/v1/tickets/replies/create.php
    Legacy,
    /// POST /api/v1/ticket_replies/create.php
    Itflow,
}

/// One create call as sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub text: String,
    pub endpoint: Endpoint,
    pub ticket: i64,
    pub public: bool,
    /// `HH:MM:SS`
    pub time_worked: String,
    /// 2 (Open) or 3 (On Hold): statuses that keep the ticket open.
    pub status: Option<i64>,
}

/// What came back: an HTTP answer, or no answer at all.
#[derive(Debug, Clone)]
pub enum Reply {
    Answer {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Connection refused or reset, timeout: the outcome is unknown.
    NoAnswer(String),
}

#[derive(Debug, Clone)]
pub struct Record {
    pub sent: Sent,
    pub reply: Reply,
    pub started: Instant,
    pub finished: Instant,
}

impl Record {
    /// The insert_id of an acknowledged write: HTTP 200, `"success":"True"`.
    pub fn acked(&self) -> Option<u64> {
        let Reply::Answer {
            status: 200, body, ..
        } = &self.reply
        else {
            return None;
        };
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        (v["success"] == "True").then(|| v["data"][0]["insert_id"].as_u64())?
    }

    /// A refusal (HTTP 200, `"success":"False"`): nothing may have been
    /// written. Other failures (503, 500, no answer) may or may not have
    /// written.
    pub fn refused(&self) -> bool {
        matches!(&self.reply, Reply::Answer { status: 200, body, .. }
            if body.starts_with(r#"{"success":"False""#))
    }
}

/// The request a load task sends as its `i`-th call: both endpoints,
/// Public and Internal, time worked, a status change every fifth call.
fn request(tag: &str, task: usize, i: usize) -> Sent {
    let endpoint = if (task + i).is_multiple_of(2) {
        Endpoint::Legacy
    } else {
        Endpoint::Itflow
    };
    Sent {
        text: format!("probe {tag} {task:02}-{i:04} é😀 <b>x</b>"),
        endpoint,
        ticket: TICKETS[(task * 7 + i) % TICKETS.len()],
        public: i.is_multiple_of(3),
        time_worked: format!("{:02}:{:02}:{:02}", i % 3, (i * 7) % 60, task % 60),
        status: (i % 5 == 4).then_some(if (i / 5).is_multiple_of(2) { 3 } else { 2 }),
    }
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The request's path and body, with its content type.
fn encode(sent: &Sent) -> (&'static str, &'static str, String) {
    match sent.endpoint {
        Endpoint::Legacy => {
            let (h, m, s) = {
                let p: Vec<&str> = sent.time_worked.split(':').collect();
                (p[0], p[1], p[2])
            };
            let mut body = format!(
                "api_key={GLOBAL_KEY}&ticket_id={}&ticket_reply={}&public_reply_type={}&hours={h}&minutes={m}&seconds={s}",
                sent.ticket,
                form_escape(&sent.text),
                u8::from(sent.public)
            );
            if let Some(st) = sent.status {
                body.push_str(&format!("&status={st}"));
            }
            (CREATE, "application/x-www-form-urlencoded", body)
        }
        Endpoint::Itflow => {
            let mut v = serde_json::json!({
                "api_key": GLOBAL_KEY,
                "ticket_id": sent.ticket,
                "ticket_reply": sent.text,
                "ticket_reply_type": if sent.public { "Public" } else { "Internal" },
                "ticket_reply_time_worked": sent.time_worked,
            });
            if let Some(st) = sent.status {
                v["ticket_status"] = st.into();
            }
            (ITFLOW_CREATE, "application/json", v.to_string())
        }
    }
}

/// Send one create call to `address`; never panics on a transport error.
pub async fn send(client: &reqwest::Client, address: &str, sent: &Sent) -> Reply {
    let (path, content_type, body) = encode(sent);
    let r = client
        .post(format!("{address}{path}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await;
    match r {
        Ok(r) => {
            let status = r.status().as_u16();
            let content_type = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            match r.text().await {
                Ok(body) => Reply::Answer {
                    status,
                    content_type,
                    body,
                },
                Err(e) => Reply::NoAnswer(format!("reading the body: {e}")),
            }
        }
        Err(e) => Reply::NoAnswer(e.to_string()),
    }
}

/// A client opening a connection per request, so a killed server shows on
/// the next call, bounded so no call hangs the test.
pub fn load_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// Concurrent tasks sending create calls until stopped or done.
pub struct Load {
    stop: Arc<AtomicBool>,
    address: Arc<Mutex<String>>,
    acked: Arc<AtomicUsize>,
    handles: Vec<JoinHandle<Vec<Record>>>,
}

impl Load {
    /// `tasks` tasks, each sending calls to `address` until `per_task` were
    /// answered
    /// (changeable with `set_address`); `tag` makes the texts unique.
    pub fn start(address: &str, tag: &str, tasks: usize, per_task: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let address = Arc::new(Mutex::new(address.to_string()));
        let acked = Arc::new(AtomicUsize::new(0));
        let handles = (0..tasks)
            .map(|task| {
                let (stop, address, acked) = (stop.clone(), address.clone(), acked.clone());
                let tag = tag.to_string();
                tokio::spawn(async move {
                    let client = load_client();
                    let mut records = Vec::new();
                    // Calls that got no answer (replyd down) do not count
                    // towards `per_task`; the deadline bounds the task.
                    let deadline = Instant::now() + LOAD_LIMIT;
                    let mut answered = 0;
                    for i in 0.. {
                        if answered >= per_task
                            || stop.load(Ordering::Relaxed)
                            || Instant::now() > deadline
                        {
                            break;
                        }
                        let sent = request(&tag, task, i);
                        let to = address.lock().unwrap().clone();
                        let started = Instant::now();
                        let reply = send(&client, &to, &sent).await;
                        let record = Record {
                            sent,
                            reply,
                            started,
                            finished: Instant::now(),
                        };
                        if record.acked().is_some() {
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        if matches!(record.reply, Reply::NoAnswer(_)) {
                            // replyd is down: don't spin.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        } else {
                            answered += 1;
                            if record.acked().is_none() {
                                // The database is down: don't spin either.
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                        }
                        records.push(record);
                    }
                    records
                })
            })
            .collect();
        Load {
            stop,
            address,
            acked,
            handles,
        }
    }

    pub fn set_address(&self, address: &str) {
        *self.address.lock().unwrap() = address.to_string();
    }

    pub fn acked(&self) -> usize {
        self.acked.load(Ordering::Relaxed)
    }

    /// Wait until `n` calls in all were acknowledged (panics after `limit`).
    pub async fn wait_acked(&self, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.acked() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} create calls acknowledged within {limit:?}",
                self.acked()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop sending (calls in flight finish) and return every record.
    pub async fn stop(self) -> Vec<Record> {
        self.stop.store(true, Ordering::Relaxed);
        self.finish().await
    }

    /// Let every task send all its calls, then return every record.
    pub async fn finish(self) -> Vec<Record> {
        let mut all = Vec::new();
        for h in self.handles {
            all.extend(h.await.unwrap());
        }
        all
    }
}

/// What the database held before the load.
pub struct Baseline {
    max_reply: i64,
    max_log: i64,
    max_notification: i64,
    max_history: Option<i64>,
    email_queue: Option<i64>,
    /// ticket_id -> (prefix+number, subject, client, created_by,
    /// assigned_to, status, first response at)
    tickets: HashMap<i64, TicketInfo>,
    status_names: HashMap<i64, String>,
    actor_id: i64,
    actor_name: String,
}

#[derive(Clone)]
struct TicketInfo {
    number: String,
    subject: String,
    client: String,
    created_by: i64,
    assigned_to: i64,
    status: i64,
    first_response: Option<String>,
}

async fn max_id(db: &TestDb, table: &str, column: &str) -> i64 {
    db.value(&format!("SELECT COALESCE(MAX({column}), 0) FROM {table}"))
        .await
        .unwrap()
        .parse()
        .unwrap()
}

fn int(v: &Option<String>) -> i64 {
    v.as_deref().unwrap_or("0").parse().unwrap()
}

impl Baseline {
    pub async fn take(db: &TestDb) -> Baseline {
        let mut tickets = HashMap::new();
        for r in db
            .rows(
                "SELECT ticket_id, CONCAT(COALESCE(ticket_prefix, ''), ticket_number), ticket_subject, \
                 ticket_client_id, ticket_created_by, ticket_assigned_to, ticket_status, \
                 ticket_first_response_at FROM tickets",
            )
            .await
        {
            tickets.insert(
                int(&r[0]),
                TicketInfo {
                    number: r[1].clone().unwrap(),
                    subject: r[2].clone().unwrap(),
                    client: r[3].clone().unwrap(),
                    created_by: int(&r[4]),
                    assigned_to: int(&r[5]),
                    status: int(&r[6]),
                    first_response: r[7].clone(),
                },
            );
        }
        let status_names = db
            .rows("SELECT ticket_status_id, ticket_status_name FROM ticket_statuses")
            .await
            .into_iter()
            .map(|r| (int(&r[0]), r[1].clone().unwrap()))
            .collect();
        // The global key writes as its user (user-tied keys), else as
        // legacy_author_user_id 0, a user who does not exist: "<key> (API)".
        let (actor_id, actor_name) = if db.user_keys {
            (
                1,
                db.value("SELECT user_name FROM users WHERE user_id = 1")
                    .await
                    .unwrap(),
            )
        } else {
            (0, "Global key (API)".to_string())
        };
        let has_history = db.has_table("ticket_history").await;
        Baseline {
            max_reply: max_id(db, "ticket_replies", "ticket_reply_id").await,
            max_log: max_id(db, "logs", "log_id").await,
            max_notification: max_id(db, "notifications", "notification_id").await,
            max_history: if has_history {
                Some(max_id(db, "ticket_history", "ticket_history_id").await)
            } else {
                None
            },
            email_queue: if db.has_table("email_queue").await {
                Some(db.count("email_queue").await)
            } else {
                None
            },
            tickets,
            status_names,
            actor_id,
            actor_name,
        }
    }
}

type Multiset = BTreeMap<Vec<String>, i64>;

fn add(set: &mut Multiset, row: Vec<String>) {
    *set.entry(row).or_default() += 1;
}

fn rows_to_multiset(rows: Vec<Vec<Option<String>>>) -> Multiset {
    let mut set = Multiset::new();
    for r in rows {
        add(
            &mut set,
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect(),
        );
    }
    set
}

/// The rows in `a` missing from `b` (with multiplicity).
fn missing(a: &Multiset, b: &Multiset) -> Vec<String> {
    a.iter()
        .filter_map(|(k, n)| {
            let m = b.get(k).copied().unwrap_or(0);
            (m < *n).then(|| format!("{}x {k:?}", n - m))
        })
        .collect()
}

/// A summary of a load's answers, for the test's output.
pub fn summary(records: &[Record]) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for r in records {
        let key = match &r.reply {
            Reply::Answer { status, .. } if r.acked().is_some() => format!("{status} acknowledged"),
            Reply::Answer { status, body, .. } => {
                format!("{status} {}", body.chars().take(90).collect::<String>())
            }
            Reply::NoAnswer(_) => "no answer".to_string(),
        };
        *by.entry(key).or_default() += 1;
    }
    format!("{} calls: {by:#?}", records.len())
}

/// Check the database against the records; panics listing every problem.
/// Returns how many replies were found.
pub async fn check_consistency(db: &TestDb, base: &Baseline, records: &[Record]) -> usize {
    let mut problems: Vec<String> = Vec::new();
    let by_text: HashMap<&str, &Record> =
        records.iter().map(|r| (r.sent.text.as_str(), r)).collect();
    assert_eq!(by_text.len(), records.len(), "reply texts are unique");

    let replies = db
        .rows(&format!(
            "SELECT ticket_reply_id, ticket_reply, ticket_reply_type, ticket_reply_time_worked, \
             ticket_reply_by, ticket_reply_ticket_id, ticket_reply_created_at \
             FROM ticket_replies WHERE ticket_reply_id > {} ORDER BY ticket_reply_id",
            base.max_reply
        ))
        .await;
    let mut present: HashMap<&str, i64> = HashMap::new();
    // Per ticket, in id order (the ticket row is locked from the first
    // statement to COMMIT, so id order is commit order on one ticket).
    let mut per_ticket: BTreeMap<i64, Vec<(&Record, String)>> = BTreeMap::new();
    let mut expected = Multiset::new();
    let mut expected_notes = Multiset::new();
    let mut expected_history = Multiset::new();
    let key = "Global key";
    for r in &replies {
        let id = int(&r[0]);
        let text = r[1].as_deref().unwrap_or("");
        let Some(rec) = by_text.get(text) else {
            problems.push(format!("reply {id} was never sent: {r:?}"));
            continue;
        };
        let s = &rec.sent;
        present.insert(rec.sent.text.as_str(), id);
        let kind = if s.public { "Public" } else { "Internal" };
        let got = (
            r[2].clone().unwrap_or_default(),
            r[3].clone().unwrap_or_default(),
            int(&r[4]),
            int(&r[5]),
        );
        let want = (
            kind.to_string(),
            s.time_worked.clone(),
            base.actor_id,
            s.ticket,
        );
        if got != want {
            problems.push(format!(
                "reply {id} ({text}): (type, time, by, ticket) {got:?}, sent {want:?}"
            ));
        }
        if rec.refused() {
            problems.push(format!(
                "reply {id} ({text}) was written although the call was refused: {:?}",
                rec.reply
            ));
        }
        if let Some(acked) = rec.acked()
            && acked != id as u64
        {
            problems.push(format!(
                "reply {text} acknowledged as {acked} but stored as {id}"
            ));
        }
        let at = r[6].clone().unwrap();
        per_ticket.entry(s.ticket).or_default().push((rec, at));
    }
    for rec in records {
        if let Some(id) = rec.acked()
            && !present.contains_key(rec.sent.text.as_str())
        {
            problems.push(format!(
                "acknowledged reply {id} ({}) is missing",
                rec.sent.text
            ));
        }
    }

    // The rows each present reply brings, from the code's rules
    // (src/db/create.rs, src/db/create_itflow.rs).
    let actor = &base.actor_name;
    let mut final_status: HashMap<i64, i64> = HashMap::new();
    let mut first_response: HashMap<i64, Option<String>> = HashMap::new();
    for (ticket, list) in &per_ticket {
        let t = &base.tickets[ticket];
        let (number, subject, client) = (&t.number, &t.subject, &t.client);
        let mut status = t.status;
        let mut first = t.first_response.clone();
        for (rec, at) in list {
            let s = &rec.sent;
            let kind = if s.public { "Public" } else { "Internal" };
            let log = |set: &mut Multiset, ty: &str, action: &str, d: String, entity: i64| {
                add(
                    set,
                    vec![
                        ty.into(),
                        action.into(),
                        d,
                        at.clone(),
                        client.clone(),
                        base.actor_id.to_string(),
                        entity.to_string(),
                    ],
                )
            };
            let modern_texts = db.user_keys || s.endpoint == Endpoint::Itflow;
            if modern_texts {
                log(
                    &mut expected,
                    "Ticket",
                    "Reply",
                    format!("Added a {kind} reply to ticket {number} - {subject} via API ({key})"),
                    *ticket,
                );
                log(
                    &mut expected,
                    "API",
                    "Success",
                    format!("Added a {kind} reply to ticket {number} via API ({key})"),
                    0,
                );
            } else {
                log(
                    &mut expected,
                    "Ticket",
                    "Reply",
                    format!(
                        "{actor} replied to ticket {number} - {subject} and was a {kind} reply"
                    ),
                    *ticket,
                );
            }
            if s.endpoint == Endpoint::Legacy {
                if t.assigned_to != 0 && t.assigned_to != base.actor_id {
                    add(
                        &mut expected_notes,
                        vec![
                            format!(
                                "{actor} updated Ticket {number} - Subject: {subject} that is assigned to you"
                            ),
                            t.assigned_to.to_string(),
                            at.clone(),
                            client.clone(),
                        ],
                    );
                }
                if t.created_by != 0 && t.created_by != base.actor_id {
                    add(
                        &mut expected_notes,
                        vec![
                            format!(
                                "{actor} updated Ticket {number} - Subject: {subject} that you opened"
                            ),
                            t.created_by.to_string(),
                            at.clone(),
                            client.clone(),
                        ],
                    );
                }
            }
            if let Some(new) = s.status {
                let history = match s.endpoint {
                    Endpoint::Legacy => db.user_keys,
                    Endpoint::Itflow => true,
                } && base.max_history.is_some();
                if new != status && history {
                    let name = &base.status_names[&new];
                    add(
                        &mut expected_history,
                        vec![
                            name.clone(),
                            format!("Status set to {name} via the API ({key})"),
                            at.clone(),
                            ticket.to_string(),
                        ],
                    );
                }
                status = new;
            }
            if s.public && first.is_none() {
                first = Some(at.clone());
            }
        }
        final_status.insert(*ticket, status);
        first_response.insert(*ticket, first);
    }

    let actual = rows_to_multiset(
        db.rows(&format!(
            "SELECT log_type, log_action, log_description, log_created_at, log_client_id, \
             log_user_id, log_entity_id FROM logs WHERE log_id > {}",
            base.max_log
        ))
        .await,
    );
    for m in missing(&expected, &actual) {
        problems.push(format!("logs row missing: {m}"));
    }
    for m in missing(&actual, &expected) {
        problems.push(format!("logs row without its reply: {m}"));
    }
    let actual = rows_to_multiset(
        db.rows(&format!(
            "SELECT notification, notification_user_id, notification_timestamp, notification_client_id \
             FROM notifications WHERE notification_id > {}",
            base.max_notification
        ))
        .await,
    );
    for m in missing(&expected_notes, &actual) {
        problems.push(format!("notifications row missing: {m}"));
    }
    for m in missing(&actual, &expected_notes) {
        problems.push(format!("notifications row without its reply: {m}"));
    }
    if let Some(max) = base.max_history {
        let actual = rows_to_multiset(
            db.rows(&format!(
                "SELECT ticket_history_status, ticket_history_description, ticket_history_created_at, \
                 ticket_history_ticket_id FROM ticket_history WHERE ticket_history_id > {max}"
            ))
            .await,
        );
        for m in missing(&expected_history, &actual) {
            problems.push(format!("ticket_history row missing: {m}"));
        }
        for m in missing(&actual, &expected_history) {
            problems.push(format!("ticket_history row without its reply: {m}"));
        }
    }
    if let Some(n) = base.email_queue {
        let now = db.count("email_queue").await;
        if now != n {
            problems.push(format!(
                "email_queue went from {n} to {now} rows (mail is not configured)"
            ));
        }
    }
    // No ticket change without its reply: each ticket's status is the one
    // its last reply asked for, and its first response the first public
    // reply's time.
    for (id, t) in &base.tickets {
        let row = db
            .rows(&format!(
                "SELECT ticket_status, ticket_first_response_at FROM tickets WHERE ticket_id = {id}"
            ))
            .await;
        let status = int(&row[0][0]);
        let want_status = final_status.get(id).copied().unwrap_or(t.status);
        if status != want_status {
            problems.push(format!(
                "ticket {id}: status {status}, but its replies leave it at {want_status}"
            ));
        }
        let want_first = first_response
            .get(id)
            .cloned()
            .unwrap_or_else(|| t.first_response.clone());
        if row[0][1] != want_first {
            problems.push(format!(
                "ticket {id}: first response at {:?}, its replies say {want_first:?}",
                row[0][1]
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} consistency problem(s):\n{}\n\n{}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        summary(records)
    );
    replies.len()
}
