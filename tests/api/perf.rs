//! Performance features: the API-key cache (expiry and revocation within
//! `key_cache_ttl_secs`), `replyd doctor`, and EXPLAIN proof that read.php's
//! queries use an index once the doctor's index exists.
//!
//! The doctor and the query plans depend on the schema's indexes: they run on
//! every generation. The key cache and the pool, whose lookups differ by
//! key generation but not between a fixture and ITFlow's dump, on the two
//! fixtures.

use crate::helpers::*;
use mysql_async::prelude::*;
use replyd::db::replies::{ReadDialect, ReadRequest, ReplyFilter, read_query};
use replyd::domain::ClientScope;
use std::process::Command;
use std::time::Duration;

fn read_ticket_1(key: &str) -> String {
    format!("{READ}?api_key={key}&ticket_id=1")
}

async fn delete_key(app: &TestApp, secret: &str) {
    app.db
        .exec_script(&format!(
            "DELETE FROM api_keys WHERE api_key_secret = '{secret}'"
        ))
        .await;
}

per_generation!(a_cached_key_answers_within_the_ttl_after_it_was_deleted: fixtures);
async fn a_cached_key_answers_within_the_ttl_after_it_was_deleted(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.key_cache_ttl_secs = 300).await;
    assert_eq!(app.get(&read_ticket_1(GLOBAL_KEY)).await.status, 200);
    delete_key(&app, GLOBAL_KEY).await;
    let answer = app.get(&read_ticket_1(GLOBAL_KEY)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json()["success"], "True");
}

per_generation!(a_deleted_key_stops_working_once_the_ttl_has_passed: fixtures);
async fn a_deleted_key_stops_working_once_the_ttl_has_passed(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.key_cache_ttl_secs = 1).await;
    assert_eq!(app.get(&read_ticket_1(GLOBAL_KEY)).await.status, 200);
    delete_key(&app, GLOBAL_KEY).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(app.get(&read_ticket_1(GLOBAL_KEY)).await.status, 401);
    // The failed attempt is logged as every failed attempt is.
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM logs WHERE log_action = 'Failed'")
            .await
            .as_deref(),
        Some("1")
    );
}

per_generation!(ttl_zero_sees_a_revocation_at_once: fixtures);
async fn ttl_zero_sees_a_revocation_at_once(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.key_cache_ttl_secs = 0).await;
    assert_eq!(app.get(&read_ticket_1(GLOBAL_KEY)).await.status, 200);
    delete_key(&app, GLOBAL_KEY).await;
    assert_eq!(app.get(&read_ticket_1(GLOBAL_KEY)).await.status, 401);
}

per_generation!(a_key_expired_in_the_table_stops_working_once_the_ttl_has_passed: fixtures);
async fn a_key_expired_in_the_table_stops_working_once_the_ttl_has_passed(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.key_cache_ttl_secs = 1).await;
    assert_eq!(app.get(&read_ticket_1(GLOBAL_KEY)).await.status, 200);
    app.db
        .exec_script(&format!(
            "UPDATE api_keys SET api_key_expire = '2020-01-01' WHERE api_key_secret = '{GLOBAL_KEY}'"
        ))
        .await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(app.get(&read_ticket_1(GLOBAL_KEY)).await.status, 401);
}

per_generation!(a_refused_key_is_not_remembered_so_a_new_key_works_at_once: fixtures);
async fn a_refused_key_is_not_remembered_so_a_new_key_works_at_once(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.key_cache_ttl_secs = 300).await;
    assert_eq!(
        app.get(&read_ticket_1("newkey0123456789")).await.status,
        401
    );
    app.db
        .exec_script(&format!(
            "INSERT INTO api_keys (api_key_name, api_key_secret, api_key_decrypt_hash, \
                 api_key_expire, {}) VALUES ('New key', 'newkey0123456789', '', '2099-12-31', {})",
            if app.db.user_keys {
                "api_key_user_id"
            } else {
                "api_key_client_id"
            },
            if app.db.user_keys { 1 } else { 0 }
        ))
        .await;
    assert_eq!(
        app.get(&read_ticket_1("newkey0123456789")).await.status,
        200
    );
}

per_generation!(a_cached_key_keeps_its_client_scope: fixtures);
async fn a_cached_key_keeps_its_client_scope(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.key_cache_ttl_secs = 300).await;
    let first = app.get(&format!("{READ}?api_key={ACME_KEY}")).await;
    let second = app.get(&format!("{READ}?api_key={ACME_KEY}")).await;
    assert_eq!(first.body, second.body);
    // A user allowed only Acme also sees tickets without a client.
    for row in second.json()["data"].as_array().unwrap() {
        let client = row["ticket_client_id"].as_str().unwrap();
        assert!(
            client == "1" || (app.db.user_keys && client == "0"),
            "{row}"
        );
    }
}

// ---- the pool ----

per_generation!(the_pool_reuses_a_returned_connection: fixtures);
async fn the_pool_reuses_a_returned_connection(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    let pool = replyd::db::build_pool(mysql_async::Opts::from_url(&db.url).unwrap(), 4);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut conn = pool.get_conn().await.unwrap();
        let id: u32 = conn
            .query_first("SELECT CONNECTION_ID()")
            .await
            .unwrap()
            .unwrap();
        ids.push(id);
        drop(conn);
        // Returning a connection to the pool happens in the background.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "every checkout opened a new connection: {ids:?}"
    );
    pool.disconnect().await.unwrap();
}

per_generation!(startup_leaves_the_pool_to_the_http_workers: fixtures);
/// mysql_async starts a pool's recycler (which takes back every returned
/// connection) on the runtime of the pool's first `get_conn`. Startup must
/// leave the pool alone, so that this is an HTTP worker and not the main
/// thread (a cross-thread wake-up per request; BENCHMARKS.md).
async fn startup_leaves_the_pool_to_the_http_workers(generation: Generation) {
    use std::sync::atomic::Ordering;
    let db = TestDb::seeded(generation).await;
    let settings = test_settings(&db);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = on_own_runtime(move || async move {
        let app = replyd::startup::Application::build(settings)
            .await
            .expect("replyd starts");
        let opened = app
            .state()
            .pool
            .metrics()
            .connection_count
            .load(Ordering::Relaxed);
        let _ = tx.send(opened);
        let handle = app.handle();
        let _ = tokio::join!(app.run_until_stopped(), handle.stop(true));
    });
    let opened = rx.await.expect("replyd starts");
    thread.join().unwrap();
    assert_eq!(opened, 0, "startup opened a pooled connection");
}

// ---- replyd doctor ----

fn doctor(db: &TestDb, apply: bool) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replyd"));
    cmd.current_dir(std::env::temp_dir());
    for (k, _) in std::env::vars() {
        if k.starts_with("REPLYD_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("doctor").env("REPLYD_DATABASE_URL", &db.url);
    if apply {
        cmd.arg("--apply");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const ALTER: &str = "ALTER TABLE `ticket_replies` ADD INDEX `replyd_ticket_reply_ticket_id` \
                     (`ticket_reply_ticket_id`, `ticket_reply_archived_at`);";

async fn index_count(db: &TestDb) -> i64 {
    db.value(
        "SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ticket_replies'",
    )
    .await
    .unwrap()
    .parse()
    .unwrap()
}

/// A database as before ITFlow 2.6.3: without the ticket index it added.
async fn without_itflows_index(db: &TestDb) {
    db.exec_script("ALTER TABLE ticket_replies DROP INDEX IF EXISTS ticket_reply_ticket_id")
        .await;
}

per_generation!(doctor_reports_the_missing_index_applies_it_only_when_asked_then_is_content);
async fn doctor_reports_the_missing_index_applies_it_only_when_asked_then_is_content(
    generation: Generation,
) {
    let db = TestDb::seeded(generation).await;
    without_itflows_index(&db).await;
    let before = index_count(&db).await;

    let (code, out, err) = doctor(&db, false);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(out.contains("missing indexes"), "{out}");
    assert!(out.contains(ALTER), "{out}");
    assert_eq!(
        index_count(&db).await,
        before,
        "doctor without --apply changed the schema"
    );

    let (code, out, err) = doctor(&db, true);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(&format!("added: {ALTER}")), "{out}");
    assert_eq!(index_count(&db).await, before + 1);

    let (code, out, err) = doctor(&db, false);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("every index replyd's queries need is present"),
        "{out}"
    );
    assert!(!out.contains("ALTER"), "{out}");
    let (code, out, _) = doctor(&db, true);
    assert_eq!(code, Some(0));
    assert!(!out.contains("added:"), "{out}");
    assert_eq!(index_count(&db).await, before + 1);
}

per_generation!(doctor_accepts_itflow_2_6_3s_own_unnamed_index);
async fn doctor_accepts_itflow_2_6_3s_own_unnamed_index(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    // What ITFlow's 2.6.3 migration runs.
    db.exec_script(
        "ALTER TABLE ticket_replies ADD INDEX (ticket_reply_ticket_id, ticket_reply_archived_at)",
    )
    .await;
    let (code, out, err) = doctor(&db, false);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("every index replyd's queries need is present"),
        "{out}"
    );
}

// ---- EXPLAIN ----

/// EXPLAIN of the exact statement replyd runs for `filter`: (table, type,
/// key, Extra) of each row of the plan, in order.
async fn plan(db: &TestDb, filter: ReplyFilter, scope: ClientScope) -> Vec<[String; 4]> {
    let (sql, params) = read_query(&ReadRequest {
        dialect: ReadDialect::Replies,
        ticket_number: None,
        filter,
        reply_type: None,
        narrow_to_client: None,
        scope,
        include_archived: false,
        limit: 50,
        offset: 0,
    });
    let mut conn = db.pool.get_conn().await.unwrap();
    let rows: Vec<mysql_async::Row> = conn.exec(format!("EXPLAIN {sql}"), params).await.unwrap();
    rows.into_iter()
        .map(|r| {
            let text = |name: &str| {
                r.get::<Option<String>, _>(name)
                    .flatten()
                    .unwrap_or_default()
            };
            [text("table"), text("type"), text("key"), text("Extra")]
        })
        .collect()
}

/// EXPLAIN of the exact statement replyd runs for `filter`: (type, key) of
/// the `ticket_replies` row of the plan.
async fn plan_for_replies(db: &TestDb, filter: ReplyFilter) -> (String, Option<String>) {
    let (sql, params) = read_query(&ReadRequest {
        dialect: ReadDialect::Replies,
        ticket_number: None,
        filter,
        reply_type: None,
        narrow_to_client: None,
        scope: ClientScope::AllClients,
        include_archived: false,
        limit: 50,
        offset: 0,
    });
    let mut conn = db.pool.get_conn().await.unwrap();
    let rows: Vec<mysql_async::Row> = conn.exec(format!("EXPLAIN {sql}"), params).await.unwrap();
    let row = rows
        .into_iter()
        .find(|r| r.get::<Option<String>, _>("table").flatten().as_deref() == Some("tr"))
        .expect("a plan row for ticket_replies (tr)");
    (
        row.get::<Option<String>, _>("type")
            .flatten()
            .unwrap_or_default(),
        row.get::<Option<String>, _>("key").flatten(),
    )
}

per_generation!(explain_read_queries_use_an_index_once_the_doctor_added_it);
async fn explain_read_queries_use_an_index_once_the_doctor_added_it(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    without_itflows_index(&db).await;
    // Enough replies, over many tickets, that a scan would be the costly plan.
    db.exec_script(
        "INSERT INTO ticket_replies (ticket_reply, ticket_reply_type, ticket_reply_by, \
         ticket_reply_ticket_id, ticket_reply_created_at) \
         SELECT CONCAT('bulk ', seq), 'Internal', 1, 100 + seq % 500, '2026-11-20 10:00:00' \
         FROM seq_1_to_5000; \
         INSERT INTO tickets (ticket_id, ticket_prefix, ticket_number, ticket_subject, ticket_details, \
         ticket_status, ticket_created_at, ticket_created_by, ticket_assigned_to, ticket_client_id, \
         ticket_contact_id) SELECT 100 + seq, 'TCK-', 100 + seq, 'Bulk', 'x', 2, \
         '2026-11-20 10:00:00', 1, 0, 1 + seq % 2, 0 FROM seq_0_to_499; \
         ANALYZE TABLE ticket_replies, tickets",
    )
    .await;

    // Without the index: a scan of the whole table, in primary key order
    // ("index") or not ("ALL").
    let (scan, key) = plan_for_replies(&db, ReplyFilter::Ticket(1)).await;
    assert!(
        scan == "ALL" || (scan == "index" && key.as_deref() == Some("PRIMARY")),
        "without the index read by ticket should scan ticket_replies: {scan} {key:?}"
    );

    let (code, out, err) = doctor(&db, true);
    assert_eq!(code, Some(0), "{out}{err}");
    db.exec_script("ANALYZE TABLE ticket_replies").await;

    let (kind, key) = plan_for_replies(&db, ReplyFilter::Ticket(1)).await;
    assert_eq!(
        (kind.as_str(), key.as_deref()),
        ("ref", Some("replyd_ticket_reply_ticket_id")),
        "read by ticket_id must look the ticket up in the index"
    );

    // The unfiltered first page, for every client or one: newest first
    // along the primary key, no sort of the whole table.
    for scope in [ClientScope::AllClients, ClientScope::Client(1)] {
        let steps = plan(&db, ReplyFilter::All, scope).await;
        assert_eq!(steps[0][0], "tr", "{steps:?}");
        assert_eq!(steps[0][2], "PRIMARY", "{steps:?}");
        assert!(
            steps.iter().all(|s| !s[3].contains("filesort")),
            "the first page sorts the table: {steps:?}"
        );
    }

    let (kind, key) = plan_for_replies(&db, ReplyFilter::Reply(3)).await;
    assert!(
        matches!(kind.as_str(), "const" | "eq_ref" | "ref" | "range"),
        "read by reply_id scans ticket_replies: {kind}"
    );
    assert_eq!(key.as_deref(), Some("PRIMARY"));
}

/// `replyd doctor` against a database that accepts the connection and never
/// answers gives up after `db_timeout_ms`, as startup and `--check` do.
#[tokio::test]
async fn doctor_gives_up_on_a_silent_database() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replyd"));
    cmd.current_dir(std::env::temp_dir());
    for (k, _) in std::env::vars() {
        if k.starts_with("REPLYD_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("doctor")
        .env(
            "REPLYD_DATABASE_URL",
            format!("mysql://root@127.0.0.1:{port}/x"),
        )
        .env("REPLYD_DB_TIMEOUT_MS", "300");
    let started = std::time::Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("replyd doctor still waiting on a silent database after 10 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(silent);
    assert_eq!(status.code(), Some(1), "{status:?}");
}
