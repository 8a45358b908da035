//! A property test of the scope rules (README, "API keys and permissions"):
//! random keys × tickets × endpoints on whichever key generation the run
//! uses. What a key reads is exactly the replies the rules let it see; a
//! write succeeds exactly when the rules allow it; a refused call writes no
//! row (but the `logs` row ITFlow writes for an unknown key).
//!
//! The oracle below is written from the README's rules and the database's
//! rows (keys, users, roles, client lists, tickets, replies), not from
//! replyd's code. One replyd and one database serve every case; the
//! expectations are computed from the database as it is before each case.
//!
//! Runs on the two fixtures, the scope rules of each key generation;
//! heavy, so not on ITFlow's dumps (read.rs, create.rs, user_keys.rs and the
//! compatibility cases check scope there).

use crate::helpers::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const ITFLOW_READ: &str = "/api/v1/ticket_replies/read.php";
const ITFLOW_CREATE: &str = "/api/v1/ticket_replies/create.php";
const UNKNOWN_KEY: &str = "nosuchkey0123456789";
/// About 2.5 s on the fixture schemas; every key meets every endpoint.
const CASES: u32 = 256;

const INVALID: &str =
    r#"{"success":"False","message":"Authentication failed. API key is invalid or has expired."}"#;
const NO_PERMISSION: &str = r#"{"success":"False","message":"The user linked to this API key does not have permission for this action."}"#;
const USER_INVALID: &str = r#"{"success":"False","message":"The user linked to this API key is inactive, archived, or invalid."}"#;
const NOT_TIED: &str = r#"{"success":"False","message":"This API key is not tied to a user and is no longer valid. Please recreate it."}"#;
const NO_WRITE_ACCESS: &str = r#"{"success":"False","message":"The user linked to this API key does not have access to the target client for this write."}"#;
const NO_RESOURCE: &str = r#"{"success":"False","message":"No resource (for this client and company) with the specified parameter(s)."}"#;
const NOT_FOUND: &str = r#"{"success":"False","message":"No ticket with the specified ticket_id (for this client and company)."}"#;
const CLOSED: &str = r#"{"success":"False","message":"This ticket is closed: it takes no more replies or status changes."}"#;
const TICKET_REQUIRED: &str = r#"{"success":"False","message":"ticket_id is required."}"#;
const ITFLOW_FAILURE: &str = r#"{"success":"False","message":"Auth success but insert query failed, ensure ALL required variables are provided (and aren't duplicates where applicable) and database schema is up-to-date. Turn on error logging and look for 'undefined index'."}"#;

/// Keys beyond the standard seed, so every rule has a key that exercises
/// it: on first-generation databases a key for Globex and one for a client
/// that does not exist; on user-key databases a role without support
/// access, a user with both an allow and a deny list, a user allowed
/// only Globex.
const EXTRA_CLIENT_KEYS: &str = "INSERT INTO api_keys (api_key_id, api_key_name, api_key_secret, \
     api_key_decrypt_hash, api_key_expire, api_key_client_id) VALUES \
     (20, 'Globex key', 'globexkey0123456789', '', '2099-12-31', 2), \
     (21, 'Ghost client key', 'ghostkey01234567890', '', '2099-12-31', 9)";
const EXTRA_USER_KEYS: &str = "INSERT INTO user_roles (role_id, role_name, role_is_admin) VALUES (4, 'No support', 0); \
     INSERT INTO user_role_permissions (user_role_id, module_id, user_role_permission_level) VALUES (4, 1, 2); \
     INSERT INTO users (user_id, user_name, user_email, user_password, user_type, user_status, \
       user_archived_at, user_role_id) VALUES \
       (9, 'Nora None', 'nora@example.com', 'x', 1, 1, NULL, 4), \
       (10, 'Bo Both', 'bo@example.com', 'x', 1, 1, NULL, 2), \
       (11, 'Gil Globex', 'gil@example.com', 'x', 1, 1, NULL, 2); \
     INSERT INTO user_client_permissions (user_id, client_id, permission_type) VALUES \
       (10, 1, 'allow'), (10, 9, 'allow'), (10, 2, 'deny'), (11, 2, 'allow'); \
     INSERT INTO api_keys (api_key_id, api_key_name, api_key_secret, api_key_decrypt_hash, \
       api_key_expire, api_key_user_id) VALUES \
       (20, 'No support key', 'nosupportkey01234', '', '2099-12-31', 9), \
       (21, 'Both lists key', 'bothlistskey01234', '', '2099-12-31', 10), \
       (22, 'Globex only key', 'globexonlykey0123', '', '2099-12-31', 11)";

/// Which clients' tickets a key may see.
#[derive(Debug, Clone)]
enum Scope {
    All,
    /// A first-generation key of one client.
    Client(i64),
    /// A user's lists: deny wins; a non-empty allow list limits, tickets
    /// without a client stay visible.
    Lists {
        allow: Vec<i64>,
        deny: Vec<i64>,
    },
}

impl Scope {
    fn sees(&self, client: i64) -> bool {
        match self {
            Scope::All => true,
            Scope::Client(c) => *c == client,
            Scope::Lists { allow, deny } => {
                !deny.contains(&client)
                    && (allow.is_empty() || client == 0 || allow.contains(&client))
            }
        }
    }
}

/// What authentication makes of a key.
#[derive(Debug, Clone)]
enum KeyState {
    /// Unknown or expired: 401, with a `logs` row.
    Invalid,
    /// Known but refused (403 with this body).
    Refused(&'static str),
    Valid {
        /// `module_support` level (3 for admins and first-generation keys).
        level: i64,
        scope: Scope,
        user_key: bool,
    },
}

async fn key_states(db: &TestDb) -> Vec<(String, KeyState)> {
    let mut keys = vec![(UNKNOWN_KEY.to_string(), KeyState::Invalid)];
    if !db.user_keys {
        for r in db
            .rows("SELECT api_key_secret, api_key_client_id, api_key_expire > NOW() FROM api_keys ORDER BY api_key_id")
            .await
        {
            let client: i64 = r[1].as_deref().unwrap().parse().unwrap();
            let state = if r[2].as_deref() != Some("1") {
                KeyState::Invalid
            } else {
                KeyState::Valid {
                    level: 3,
                    scope: if client == 0 {
                        Scope::All
                    } else {
                        Scope::Client(client)
                    },
                    user_key: false,
                }
            };
            keys.push((r[0].clone().unwrap(), state));
        }
        return keys;
    }
    let mut lists: HashMap<i64, (Vec<i64>, Vec<i64>)> = HashMap::new();
    for r in db
        .rows("SELECT user_id, client_id, permission_type FROM user_client_permissions")
        .await
    {
        let user: i64 = r[0].as_deref().unwrap().parse().unwrap();
        let client: i64 = r[1].as_deref().unwrap().parse().unwrap();
        let entry = lists.entry(user).or_default();
        if r[2].as_deref() == Some("deny") {
            entry.1.push(client);
        } else {
            entry.0.push(client);
        }
    }
    for r in db
        .rows(
            "SELECT k.api_key_secret, k.api_key_expire > NOW(), k.api_key_user_id, u.user_id IS NOT NULL, \
             u.user_type = 1 AND u.user_status = 1 AND u.user_archived_at IS NULL, \
             COALESCE(ro.role_is_admin, 0), \
             COALESCE((SELECT MAX(p.user_role_permission_level) FROM user_role_permissions p \
               JOIN modules m ON m.module_id = p.module_id \
               WHERE p.user_role_id = u.user_role_id AND m.module_name = 'module_support'), 0) \
             FROM api_keys k LEFT JOIN users u ON u.user_id = k.api_key_user_id \
             LEFT JOIN user_roles ro ON ro.role_id = u.user_role_id ORDER BY k.api_key_id",
        )
        .await
    {
        let flag = |i: usize| r[i].as_deref() == Some("1");
        let user: i64 = r[2].as_deref().unwrap_or("0").parse().unwrap();
        let state = if !flag(1) {
            KeyState::Invalid
        } else if user == 0 {
            KeyState::Refused(NOT_TIED)
        } else if !flag(3) || !flag(4) {
            KeyState::Refused(USER_INVALID)
        } else if flag(5) {
            KeyState::Valid {
                level: 3,
                scope: Scope::All,
                user_key: true,
            }
        } else {
            let (allow, deny) = lists.get(&user).cloned().unwrap_or_default();
            KeyState::Valid {
                level: r[6].as_deref().unwrap().parse().unwrap(),
                scope: if allow.is_empty() && deny.is_empty() {
                    Scope::All
                } else {
                    Scope::Lists { allow, deny }
                },
                user_key: true,
            }
        };
        keys.push((r[0].clone().unwrap(), state));
    }
    keys
}

#[derive(Debug, Clone, Copy)]
enum Filter {
    Reply(i64),
    Ticket(i64),
    All,
}

#[derive(Debug, Clone)]
enum Op {
    /// GET /api/v1/tickets/replies/read.php
    LegacyRead {
        filter: Filter,
        client_id: Option<i64>,
        include_archived: bool,
    },
    /// GET /api/v1/ticket_replies/read.php
    ItflowRead {
        filter: Filter,
        client_id: Option<i64>,
        include_archived: bool,
    },
    /// POST /api/v1/tickets/replies/create.php (form)
    LegacyCreate { ticket: i64, client_id: Option<i64> },
    /// POST /api/v1/ticket_replies/create.php (JSON)
    ItflowCreate { ticket: i64, client_id: Option<i64> },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    // Seeded tickets 1-5 (3 closed, 5 without a client), and ones that do
    // not exist; replies 1-7 (5 archived) and some the cases create.
    let ticket = prop::sample::select(vec![-1i64, 0, 1, 2, 3, 4, 5, 6, 99]);
    let reply = prop::sample::select(vec![0i64, 1, 2, 3, 4, 5, 6, 7, 8, 12, 40, 999]);
    let filter = prop_oneof![
        reply.prop_map(Filter::Reply),
        ticket.clone().prop_map(Filter::Ticket),
        Just(Filter::All),
    ];
    let client = proptest::option::of(prop::sample::select(vec![-1i64, 0, 1, 2, 9]));
    prop_oneof![
        (filter.clone(), client.clone(), any::<bool>()).prop_map(
            |(filter, client_id, include_archived)| Op::LegacyRead {
                filter,
                client_id,
                include_archived
            }
        ),
        (filter, client.clone(), any::<bool>()).prop_map(
            |(filter, client_id, include_archived)| Op::ItflowRead {
                filter,
                client_id,
                include_archived
            }
        ),
        (ticket.clone(), client.clone())
            .prop_map(|(ticket, client_id)| Op::LegacyCreate { ticket, client_id }),
        (ticket, client).prop_map(|(ticket, client_id)| Op::ItflowCreate { ticket, client_id }),
    ]
}

/// What the rules say a call gets.
#[derive(Debug, PartialEq)]
enum Expect {
    /// This exact answer, nothing written.
    Answer(u16, &'static str),
    /// 200 with exactly these replies (an empty set is "No resource").
    Read(BTreeSet<i64>),
    /// 200 `"success":"True"` and one new reply on the ticket.
    Created,
}

/// Rows of the tables a refused call must not touch, and the tickets.
async fn footprint(db: &TestDb, tables: &[&'static str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in tables {
        out.push((t.to_string(), db.count(t).await.to_string()));
    }
    out.push((
        "tickets".into(),
        db.value(
            "SELECT GROUP_CONCAT(CONCAT_WS('|', ticket_id, ticket_status, ticket_updated_at, \
             ticket_first_response_at, ticket_resolved_at) ORDER BY ticket_id) FROM tickets",
        )
        .await
        .unwrap_or_default(),
    ));
    out
}

struct Oracle {
    keys: Vec<(String, KeyState)>,
    /// Tables that exist here and that a refused call must leave alone.
    tables: Vec<&'static str>,
}

impl Oracle {
    async fn expect(&self, db: &TestDb, key: usize, op: &Op) -> Expect {
        let state = &self.keys[key].1;
        let write = matches!(op, Op::LegacyCreate { .. } | Op::ItflowCreate { .. });
        let (scope, user_key) = match state {
            KeyState::Invalid => return Expect::Answer(401, INVALID),
            KeyState::Refused(body) => return Expect::Answer(403, body),
            KeyState::Valid { level, .. } if *level < if write { 2 } else { 1 } => {
                return Expect::Answer(403, NO_PERMISSION);
            }
            KeyState::Valid {
                scope, user_key, ..
            } => (scope, *user_key),
        };
        // ticket_id -> (client, closed)
        let tickets: HashMap<i64, (i64, bool)> = db
            .rows("SELECT ticket_id, ticket_client_id, ticket_closed_at IS NOT NULL FROM tickets")
            .await
            .into_iter()
            .map(|r| {
                (
                    r[0].as_deref().unwrap().parse().unwrap(),
                    (
                        r[1].as_deref().unwrap().parse().unwrap(),
                        r[2].as_deref() == Some("1"),
                    ),
                )
            })
            .collect();
        match op {
            Op::LegacyRead {
                filter,
                client_id,
                include_archived,
            }
            | Op::ItflowRead {
                filter,
                client_id,
                include_archived,
            } => {
                // client_id narrows a read, except for a first-generation
                // key of one client (always) and, on ITFlow's endpoint,
                // for user-tied keys (ITFlow ignores it).
                let narrows = match (op, scope) {
                    (_, Scope::Client(_)) => false,
                    (Op::ItflowRead { .. }, _) => !user_key,
                    _ => true,
                };
                let narrow = client_id.filter(|c| *c > 0 && narrows);
                let mut ids = BTreeSet::new();
                for r in db
                    .rows("SELECT ticket_reply_id, ticket_reply_ticket_id, ticket_reply_archived_at IS NOT NULL FROM ticket_replies")
                    .await
                {
                    let id: i64 = r[0].as_deref().unwrap().parse().unwrap();
                    let ticket: i64 = r[1].as_deref().unwrap().parse().unwrap();
                    let Some((client, _)) = tickets.get(&ticket) else {
                        continue;
                    };
                    let matches = match filter {
                        Filter::Reply(x) => id == *x,
                        Filter::Ticket(x) => ticket == *x,
                        Filter::All => true,
                    };
                    if matches
                        && scope.sees(*client)
                        && narrow.is_none_or(|c| c == *client)
                        && (*include_archived || r[2].as_deref() != Some("1"))
                    {
                        ids.insert(id);
                    }
                }
                Expect::Read(ids)
            }
            Op::LegacyCreate { ticket, client_id } => {
                let requested = client_id.unwrap_or(0);
                if *ticket == 0 {
                    return Expect::Answer(200, TICKET_REQUIRED);
                }
                match tickets.get(ticket) {
                    Some((client, closed))
                        if scope.sees(*client) && (requested == 0 || requested == *client) =>
                    {
                        if *closed {
                            Expect::Answer(200, CLOSED)
                        } else {
                            Expect::Created
                        }
                    }
                    // One answer for unknown and other clients' tickets.
                    _ => Expect::Answer(200, NOT_FOUND),
                }
            }
            Op::ItflowCreate { ticket, client_id } => {
                let requested = client_id.unwrap_or(0);
                // A restricted user must be allowed the client the write
                // names (an allow list does not include "no client").
                if let (true, Scope::Lists { allow, deny }) = (user_key, scope)
                    && (deny.contains(&requested)
                        || (!allow.is_empty() && !allow.contains(&requested)))
                {
                    return Expect::Answer(403, NO_WRITE_ACCESS);
                }
                // A first-generation key of one client writes for it.
                let client_id = match scope {
                    Scope::Client(c) => *c,
                    _ => requested,
                };
                match tickets.get(ticket) {
                    // ITFlow's endpoint takes closed tickets too.
                    Some((client, _))
                        if *ticket != 0
                            && scope.sees(*client)
                            && (client_id == 0 || client_id == *client) =>
                    {
                        Expect::Created
                    }
                    _ => Expect::Answer(200, ITFLOW_FAILURE),
                }
            }
        }
    }
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

/// Run one case against replyd and check it.
async fn run_case(
    app: &TestApp,
    oracle: &Oracle,
    key: usize,
    op: &Op,
    text: &str,
    tally: &RefCell<BTreeMap<String, u32>>,
) -> Result<(), TestCaseError> {
    let db = &app.db;
    let secret = &oracle.keys[key].0;
    let expect = oracle.expect(db, key, op).await;
    let kind = match &expect {
        Expect::Answer(status, body) => format!("{status} {}", &body[29..body.len().min(60)]),
        Expect::Read(ids) if ids.is_empty() => "read: none".into(),
        Expect::Read(_) => "read: some".into(),
        Expect::Created => "created".into(),
    };
    *tally.borrow_mut().entry(kind).or_default() += 1;
    let before = footprint(db, &oracle.tables).await;
    let logs_before = db.count("logs").await;
    let max_reply: i64 = db
        .value("SELECT COALESCE(MAX(ticket_reply_id), 0) FROM ticket_replies")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let archived = |b: bool| if b { "&include_archived=1" } else { "" };
    let filter_query = |f: &Filter, reply_param: &str| match f {
        Filter::Reply(id) => format!("&{reply_param}={id}"),
        Filter::Ticket(id) => format!("&ticket_id={id}"),
        Filter::All => String::new(),
    };
    let client_query = |c: &Option<i64>| c.map(|c| format!("&client_id={c}")).unwrap_or_default();
    let answer = match op {
        Op::LegacyRead {
            filter,
            client_id,
            include_archived,
        } => {
            app.get(&format!(
                "{READ}?api_key={secret}&limit=1000{}{}{}",
                filter_query(filter, "reply_id"),
                client_query(client_id),
                archived(*include_archived)
            ))
            .await
        }
        Op::ItflowRead {
            filter,
            client_id,
            include_archived,
        } => {
            app.get(&format!(
                "{ITFLOW_READ}?api_key={secret}&limit=1000{}{}{}",
                filter_query(filter, "ticket_reply_id"),
                client_query(client_id),
                archived(*include_archived)
            ))
            .await
        }
        Op::LegacyCreate { ticket, client_id } => {
            app.post_form(
                CREATE,
                &format!(
                    "api_key={secret}&ticket_id={ticket}&ticket_reply={text}{}",
                    client_query(client_id)
                ),
            )
            .await
        }
        Op::ItflowCreate { ticket, client_id } => {
            let mut body =
                serde_json::json!({"api_key": secret, "ticket_id": ticket, "ticket_reply": text});
            if let Some(c) = client_id {
                body["client_id"] = (*c).into();
            }
            app.post_json(ITFLOW_CREATE, body).await
        }
    };
    let ctx = || format!("key {secret} {op:?}: expected {expect:?}, got {answer:?}");
    if answer.content_type != "application/json" {
        return Err(fail(format!("not JSON: {}", ctx())));
    }
    let new_replies = db
        .rows(&format!(
            "SELECT ticket_reply_id, ticket_reply_ticket_id, ticket_reply FROM ticket_replies WHERE ticket_reply_id > {max_reply}"
        ))
        .await;
    match &expect {
        Expect::Answer(status, body) => {
            if (answer.status, answer.body.as_str()) != (*status, *body) {
                return Err(fail(ctx()));
            }
        }
        Expect::Read(ids) => {
            if ids.is_empty() {
                if (answer.status, answer.body.as_str()) != (200, NO_RESOURCE) {
                    return Err(fail(ctx()));
                }
            } else {
                let v: serde_json::Value = serde_json::from_str(&answer.body)
                    .map_err(|e| fail(format!("{e}: {}", ctx())))?;
                let got: BTreeSet<i64> = v["data"]
                    .as_array()
                    .ok_or_else(|| fail(ctx()))?
                    .iter()
                    .map(|r| r["ticket_reply_id"].as_str().unwrap().parse().unwrap())
                    .collect();
                if answer.status != 200 || v["success"] != "True" || &got != ids {
                    return Err(fail(format!("replies {got:?}: {}", ctx())));
                }
                if v["count"] != ids.len() {
                    return Err(fail(format!("count: {}", ctx())));
                }
            }
        }
        Expect::Created => {
            let v: serde_json::Value =
                serde_json::from_str(&answer.body).map_err(|e| fail(format!("{e}: {}", ctx())))?;
            let (Op::LegacyCreate { ticket, .. } | Op::ItflowCreate { ticket, .. }) = op else {
                unreachable!()
            };
            let id = v["data"][0]["insert_id"].as_i64();
            let want = id.map(|id| {
                vec![vec![
                    Some(id.to_string()),
                    Some(ticket.to_string()),
                    Some(text.to_string()),
                ]]
            });
            if answer.status != 200 || v["success"] != "True" || want.as_ref() != Some(&new_replies)
            {
                return Err(fail(format!("written {new_replies:?}: {}", ctx())));
            }
            return Ok(());
        }
    }
    // Nothing but a successful create writes; an unknown key gets the one
    // `logs` row ITFlow writes for a failed key.
    if !new_replies.is_empty() {
        return Err(fail(format!("wrote replies {new_replies:?}: {}", ctx())));
    }
    let after = footprint(db, &oracle.tables).await;
    if after != before {
        return Err(fail(format!(
            "wrote rows {before:?} -> {after:?}: {}",
            ctx()
        )));
    }
    let logs = db.count("logs").await - logs_before;
    let want_logs = i64::from(matches!(expect, Expect::Answer(401, _)));
    if logs != want_logs {
        return Err(fail(format!(
            "{logs} logs rows, expected {want_logs}: {}",
            ctx()
        )));
    }
    Ok(())
}

per_generation!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] what_a_key_reads_and_writes_is_exactly_what_the_scope_rules_allow: fixtures);
async fn what_a_key_reads_and_writes_is_exactly_what_the_scope_rules_allow(generation: Generation) {
    let started = std::time::Instant::now();
    let db = TestDb::seeded(generation).await;
    db.exec_script(if db.user_keys {
        EXTRA_USER_KEYS
    } else {
        EXTRA_CLIENT_KEYS
    })
    .await;
    let tables = db.write_tables().await;
    let oracle = Oracle {
        keys: key_states(&db).await,
        tables,
    };
    let app = spawn_on(db, |_| {}).await;
    let keys = oracle.keys.len();
    // Valid keys three times as often: refusals need fewer cases.
    let weighted: Vec<usize> = (0..keys)
        .flat_map(|i| {
            let n = if matches!(oracle.keys[i].1, KeyState::Valid { .. }) {
                3
            } else {
                1
            };
            std::iter::repeat_n(i, n)
        })
        .collect();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        rng_seed: RngSeed::Fixed(13_2026),
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let n = Cell::new(0u32);
    let tally = RefCell::new(BTreeMap::new());
    let result = tokio::task::block_in_place(|| {
        runner.run(
            &(prop::sample::select(weighted), op_strategy()),
            |(key, op)| {
                n.set(n.get() + 1);
                let text = format!("scope-probe-{}", n.get());
                handle.block_on(run_case(&app, &oracle, key, &op, &text, &tally))
            },
        )
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "scope property: {CASES} cases over {keys} keys ({} runs with shrinking) in {:?}; expected outcomes: {:#?}",
        n.get(),
        started.elapsed(),
        tally.borrow()
    );
}
