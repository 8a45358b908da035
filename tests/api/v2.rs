//! `/api/v2`: typed answers, every status code and header, Bearer keys
//! only, keyset pages without gaps or repeats while replies are added,
//! `updated_since`, idempotent creates under concurrency, and the same
//! database effects as the legacy create.

use crate::attachments::multipart;
use crate::helpers::*;
use serde_json::{Value, json};

const ACCOUNTANT_KEY: &str = "accountantkey0123";

/// A v2 answer: status, the headers tests look at, the body as JSON.
#[derive(Debug)]
struct V2 {
    status: u16,
    content_type: String,
    location: Option<String>,
    replayed: Option<String>,
    allow: Option<String>,
    www_authenticate: Option<String>,
    body: String,
}

impl V2 {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// A problem document with `status`; its JSON.
    #[track_caller]
    fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.content_type, "application/problem+json", "{self:?}");
        let p = self.json();
        assert_eq!(p["status"], status);
        assert_eq!(p["type"], "about:blank");
        assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
        p
    }

    #[track_caller]
    fn ok(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.content_type, "application/json", "{self:?}");
        self.json()
    }
}

async fn send(request: reqwest::RequestBuilder) -> V2 {
    let r = request.send().await.unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    V2 {
        status: r.status().as_u16(),
        content_type: header("content-type").unwrap_or_default(),
        location: header("location"),
        replayed: header("idempotent-replayed"),
        allow: header("allow"),
        www_authenticate: header("www-authenticate"),
        body: r.text().await.unwrap(),
    }
}

async fn get(app: &TestApp, key: &str, path: &str) -> V2 {
    send(app.client.get(app.url(path)).bearer_auth(key)).await
}

async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> V2 {
    send(app.client.post(app.url(path)).bearer_auth(key).json(&body)).await
}

fn ids(page: &Value) -> Vec<i64> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

/// Reply 1 of the seed, as v2 shows it (company zone UTC).
fn reply_1() -> Value {
    json!({
        "id": 1, "ticket_id": 1, "type": "internal", "body": "Checked the tray.",
        "time_worked_seconds": 600,
        "author": {"kind": "user", "id": 1, "name": "Oracle Admin"},
        "created_at": "2026-11-20T09:00:00+00:00", "updated_at": null, "archived_at": null
    })
}

per_generation!(reads_are_typed);
async fn reads_are_typed(generation: Generation) {
    let app = spawn_app(generation).await;
    let page = get(&app, GLOBAL_KEY, "/api/v2/tickets/1/replies")
        .await
        .ok(200);
    // Oldest first, the archived reply 5 left out.
    assert_eq!(ids(&page), [1, 2, 3, 6]);
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["data"][0], reply_1());
    // A customer's reply: the contact, no time.
    assert_eq!(
        page["data"][1]["author"],
        json!({"kind": "contact", "id": 1, "name": "Carla Contact"})
    );
    assert_eq!(page["data"][1]["type"], "client");
    assert_eq!(page["data"][1]["time_worked_seconds"], Value::Null);
    // Number or id, the same ticket.
    let by_number = get(&app, GLOBAL_KEY, "/api/v2/tickets/TCK-1/replies").await;
    assert_eq!(by_number.ok(200), page);
    assert_eq!(
        get(&app, GLOBAL_KEY, "/api/v2/replies/1").await.ok(200),
        reply_1()
    );
    // The bytes: escaping as serde_json's (UTF-8 and `/` as they are).
    let unicode = get(&app, GLOBAL_KEY, "/api/v2/replies/6").await;
    assert_eq!(
        unicode.body,
        r#"{"id":6,"ticket_id":1,"type":"internal","body":"Unicode é/ü \"quote\" <b>bold</b> & 'apos' 😀","time_worked_seconds":null,"author":{"kind":"user","id":1,"name":"Oracle Admin"},"created_at":"2026-11-20T12:00:00+00:00","updated_at":null,"archived_at":null}"#
    );
    // An archived reply by id, with its time.
    let archived = get(&app, GLOBAL_KEY, "/api/v2/replies/5").await.ok(200);
    assert_eq!(archived["archived_at"], "2026-11-21T08:00:00+00:00");

    let ticket = get(&app, GLOBAL_KEY, "/api/v2/tickets/tck-1").await.ok(200);
    let mut expected = json!({
        "id": 1, "reference": "TCK-1", "prefix": "TCK-", "number": 1,
        "subject": "Printer not working",
        "status": {"id": 2, "name": "Open"},
        "client": {"id": 1, "name": "Acme Corp"},
        "contact": {"id": 1, "name": "Carla Contact"},
        "assignee": {"id": 2, "name": "Tess Tech"},
        "created_at": "2026-11-20T08:00:00+00:00", "updated_at": null,
        "resolved_at": null, "closed_at": null,
        "replies_next_cursor": null
    });
    expected["replies"] = page["data"].clone();
    assert_eq!(ticket, expected);
    // A ticket of no client, no contact, no assignee.
    let t5 = get(&app, GLOBAL_KEY, "/api/v2/tickets/5").await.ok(200);
    assert_eq!(
        (&t5["client"], &t5["contact"], &t5["assignee"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    // Lists: type, order, include_archived.
    let public = get(
        &app,
        GLOBAL_KEY,
        "/api/v2/tickets/1/replies?type=public&order=desc",
    )
    .await;
    assert_eq!(ids(&public.ok(200)), [3]);
    let all = get(
        &app,
        GLOBAL_KEY,
        "/api/v2/tickets/1/replies?include_archived=true",
    )
    .await;
    assert_eq!(ids(&all.ok(200)), [1, 2, 3, 5, 6]);
    // A ticket without replies: an empty page, not a 404.
    let empty = get(&app, GLOBAL_KEY, "/api/v2/tickets/3/replies").await;
    assert_eq!(empty.ok(200), json!({"data": [], "next_cursor": null}));
    // Every reply in scope, newest first.
    let everything = get(&app, GLOBAL_KEY, "/api/v2/replies").await.ok(200);
    assert_eq!(ids(&everything), [7, 6, 4, 3, 2, 1]);
}

per_generation!(times_carry_the_company_offset: fixtures);
async fn times_carry_the_company_offset(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script("UPDATE settings SET config_timezone = 'Europe/Berlin'")
        .await;
    let reply = get(&app, GLOBAL_KEY, "/api/v2/replies/1").await.ok(200);
    assert_eq!(reply["created_at"], "2026-11-20T09:00:00+01:00");
}

per_generation!(keys_come_from_the_bearer_header_only: fixtures);
async fn keys_come_from_the_bearer_header_only(generation: Generation) {
    let app = spawn_app(generation).await;
    let path = "/api/v2/tickets/1/replies";
    let none = send(app.client.get(app.url(path))).await;
    none.problem(401);
    assert_eq!(none.www_authenticate.as_deref(), Some("Bearer"));
    // The v1 parameter is not a v2 key.
    let in_url = send(
        app.client
            .get(app.url(&format!("{path}?api_key={GLOBAL_KEY}"))),
    )
    .await;
    in_url.problem(401);
    // An unknown key: 401, logged as ITFlow logs a failed key.
    let logs = app.db.count("logs").await;
    get(&app, "nosuchkey0123456789", path).await.problem(401);
    assert_eq!(app.db.count("logs").await, logs + 1);
    get(&app, EXPIRED_KEY, path).await.problem(401);
}

per_generation!(out_of_scope_is_not_found: fixtures);
async fn out_of_scope_is_not_found(generation: Generation) {
    let app = spawn_app(generation).await;
    // Ticket 2 and reply 4 are Globex's; the Acme key cannot tell them
    // from tickets that do not exist.
    let unknown = get(&app, ACME_KEY, "/api/v2/tickets/99/replies").await;
    let problem = unknown.problem(404);
    for path in [
        "/api/v2/tickets/2/replies",
        "/api/v2/tickets/TCK-2/replies",
        "/api/v2/tickets/2",
    ] {
        assert_eq!(
            get(&app, ACME_KEY, path).await.problem(404),
            problem,
            "{path}"
        );
    }
    let no_reply = get(&app, ACME_KEY, "/api/v2/replies/99").await.problem(404);
    assert_eq!(
        get(&app, ACME_KEY, "/api/v2/replies/4").await.problem(404),
        no_reply
    );
    // Every reply in scope: Acme's (and, for a user-tied key, tickets of
    // no client, as ITFlow's client lists allow them), never Globex's.
    let all = ids(&get(&app, ACME_KEY, "/api/v2/replies").await.ok(200));
    assert!(all.ends_with(&[6, 3, 2, 1]) && !all.contains(&4), "{all:?}");
    // Writing is refused the same way, and writes nothing.
    let before = app.db.count("ticket_replies").await;
    let write = post(
        &app,
        ACME_KEY,
        "/api/v2/tickets/2/replies",
        json!({"body": "x"}),
    )
    .await;
    assert_eq!(write.problem(404), problem);
    assert_eq!(app.db.count("ticket_replies").await, before);
}

per_generation!(a_role_without_support_gets_403: [user_keys, dump_2_6_7]);
async fn a_role_without_support_gets_403(generation: Generation) {
    let app = spawn_app(generation).await;
    // The accountant's role may read tickets, not write them.
    get(&app, ACCOUNTANT_KEY, "/api/v2/replies/1").await.ok(200);
    let before = app.db.count("ticket_replies").await;
    let write = post(
        &app,
        ACCOUNTANT_KEY,
        "/api/v2/tickets/1/replies",
        json!({"body": "x"}),
    )
    .await;
    write.problem(403);
    assert_eq!(app.db.count("ticket_replies").await, before);
}

per_generation!(every_status_code_is_a_problem: fixtures);
async fn every_status_code_is_a_problem(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.max_body_bytes = 2048).await;
    let replies = "/api/v2/tickets/1/replies";
    let before = app.db.count("ticket_replies").await;
    // 405 with the methods the path serves.
    let delete = send(app.client.delete(app.url(replies)).bearer_auth(GLOBAL_KEY)).await;
    delete.problem(405);
    assert_eq!(delete.allow.as_deref(), Some("GET, HEAD, POST"));
    let put = send(
        app.client
            .put(app.url("/api/v2/replies/1"))
            .bearer_auth(GLOBAL_KEY),
    )
    .await;
    assert_eq!(put.allow.as_deref(), Some("GET, HEAD"));
    put.problem(405);
    // 404 for a path v2 does not have.
    get(&app, GLOBAL_KEY, "/api/v2/nothing").await.problem(404);
    // 415: a form is not v2's body.
    let form = send(
        app.client
            .post(app.url(replies))
            .bearer_auth(GLOBAL_KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("body=x"),
    )
    .await;
    form.problem(415);
    // 400: broken JSON, or not an object.
    let broken = send(
        app.client
            .post(app.url(replies))
            .bearer_auth(GLOBAL_KEY)
            .header("content-type", "application/json")
            .body("{\"body\":"),
    )
    .await;
    broken.problem(400);
    post(&app, GLOBAL_KEY, replies, json!(["body"]))
        .await
        .problem(400);
    // 413 past max_body_bytes.
    let big = post(&app, GLOBAL_KEY, replies, json!({"body": "x".repeat(4096)})).await;
    big.problem(413);
    // 422 lists every invalid field at once.
    let answer = post(
        &app,
        GLOBAL_KEY,
        replies,
        json!({"body": 1, "visibility": "loud", "time_worked": "1:99:00", "colour": "red"}),
    )
    .await;
    let invalid = answer.problem(422);
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["colour", "body", "visibility", "time_worked"]);
    assert_eq!(
        answer.body,
        r#"{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"4 fields are not valid; see errors.","errors":[{"field":"colour","message":"Not a field of this request."},{"field":"body","message":"Must be a string."},{"field":"visibility","message":"Must be internal, public or public_email."},{"field":"time_worked","message":"Must be whole seconds from 0 to 3020399, or HH:MM:SS (hours 0 to 838)."}]}"#
    );
    let list = get(&app, GLOBAL_KEY, "/api/v2/replies?limit=0&order=sideways").await;
    assert_eq!(list.problem(422)["errors"].as_array().unwrap().len(), 2);
    // A status the ticket cannot take: 422 on `status`.
    let status = post(&app, GLOBAL_KEY, replies, json!({"status": "Retired"})).await;
    assert_eq!(status.problem(422)["errors"][0]["field"], "status");
    // 409: ticket 3 is closed.
    post(
        &app,
        GLOBAL_KEY,
        "/api/v2/tickets/3/replies",
        json!({"body": "late"}),
    )
    .await
    .problem(409);
    assert_eq!(
        app.db.count("ticket_replies").await,
        before,
        "a refusal wrote"
    );
}

per_generation!(a_create_answers_201_with_location);
async fn a_create_answers_201_with_location(generation: Generation) {
    let app = spawn_app(generation.clone()).await;
    let created = post(
        &app,
        GLOBAL_KEY,
        "/api/v2/tickets/TCK-1/replies",
        json!({"body": "Ordered a roller.", "visibility": "public", "time_worked": 900}),
    )
    .await;
    let reply = created.ok(201);
    assert_eq!(created.location.as_deref(), Some("/api/v2/replies/8"));
    assert_eq!(
        get(&app, GLOBAL_KEY, "/api/v2/replies/8").await.ok(200),
        reply
    );
    assert_eq!(
        (
            &reply["type"],
            &reply["body"],
            &reply["time_worked_seconds"]
        ),
        (&json!("public"), &json!("Ordered a roller."), &json!(900))
    );
    // The same rows as the legacy create writes for the same request.
    let legacy = spawn_app(generation).await;
    legacy
        .create("ticket_id=1&ticket_reply=Ordered+a+roller.&public_reply_type=1&minutes=15")
        .await
        .assert(
            200,
            r#"{"success":"True","count":"1","data":[{"insert_id":8}]}"#,
        );
    let row = "SELECT ticket_reply, ticket_reply_type, ticket_reply_time_worked, ticket_reply_by, \
               ticket_reply_ticket_id FROM ticket_replies WHERE ticket_reply_id = 8";
    assert_eq!(app.db.rows(row).await, legacy.db.rows(row).await);
    let ticket =
        "SELECT ticket_status, ticket_first_response_at IS NULL FROM tickets WHERE ticket_id = 1";
    assert_eq!(app.db.rows(ticket).await, legacy.db.rows(ticket).await);
    assert_eq!(app.db.count("logs").await, legacy.db.count("logs").await);
}

per_generation!(markdown_and_a_status_only_change: fixtures);
async fn markdown_and_a_status_only_change(generation: Generation) {
    let app = spawn_app(generation).await;
    let md = post(
        &app,
        GLOBAL_KEY,
        "/api/v2/tickets/1/replies",
        json!({"body": "**done**", "body_format": "markdown"}),
    )
    .await
    .ok(201);
    assert_eq!(md["body"], "<p><strong>done</strong></p>");
    // Status only: 200 with the ticket.
    let resolved = post(
        &app,
        GLOBAL_KEY,
        "/api/v2/tickets/1/replies",
        json!({"status": "resolved"}),
    )
    .await;
    assert_eq!(resolved.location, None);
    let ticket = resolved.ok(200);
    assert_eq!(ticket["status"], json!({"id": 4, "name": "Resolved"}));
    assert!(ticket["resolved_at"].is_string(), "{ticket}");
    assert_eq!(ticket["replies"].as_array().unwrap().len(), 5);
}

per_generation!(pages_have_no_gaps_or_repeats_while_replies_are_added: fixtures);
async fn pages_have_no_gaps_or_repeats_while_replies_are_added(generation: Generation) {
    let app = spawn_app(generation).await;
    let add = async |n: usize| {
        post(
            &app,
            GLOBAL_KEY,
            "/api/v2/tickets/4/replies",
            json!({"body": format!("r{n}")}),
        )
        .await
        .ok(201)["id"]
            .as_i64()
            .unwrap()
    };
    let mut existing = Vec::new();
    for n in 0..7 {
        existing.push(add(n).await);
    }
    for order in ["asc", "desc"] {
        let at_start: Vec<i64> = {
            let all = get(
                &app,
                GLOBAL_KEY,
                &format!("/api/v2/tickets/4/replies?limit=100&order={order}"),
            )
            .await;
            ids(&all.ok(200))
        };
        let mut seen = Vec::new();
        let mut added = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v2/tickets/4/replies?limit=3&order={order}&cursor={c}"),
                None => format!("/api/v2/tickets/4/replies?limit=3&order={order}"),
            };
            let page = get(&app, GLOBAL_KEY, &path).await.ok(200);
            assert!(ids(&page).len() <= 3);
            seen.extend(ids(&page));
            // A reply arrives between every two pages.
            added.push(add(100 + seen.len()).await);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(unique, seen, "{order}: a repeat");
        for id in &at_start {
            assert!(seen.contains(id), "{order}: reply {id} was skipped");
        }
        let sorted = seen.windows(2).all(|w| {
            if order == "asc" {
                w[0] < w[1]
            } else {
                w[0] > w[1]
            }
        });
        assert!(sorted, "{order}: {seen:?}");
        if order == "desc" {
            assert_eq!(seen, at_start, "desc: only what was there");
        } else {
            // Oldest first reaches what was added on the way.
            assert!(seen.len() > at_start.len(), "asc: {seen:?}");
        }
    }
    // A cursor from another order, or made up: 422.
    get(&app, GLOBAL_KEY, "/api/v2/tickets/4/replies?cursor=bogus")
        .await
        .problem(422);
}

per_generation!(updated_since_finds_what_changed: fixtures);
async fn updated_since_finds_what_changed(generation: Generation) {
    let app = spawn_app(generation).await;
    let since = |at: &str| format!("/api/v2/replies?updated_since={}", at.replace('+', "%2B"));
    let page = get(&app, GLOBAL_KEY, &since("2026-11-20T11:00:00Z"))
        .await
        .ok(200);
    assert_eq!(ids(&page), [7, 6, 4, 3]);
    // The same instant with another offset.
    let page = get(&app, GLOBAL_KEY, &since("2026-11-20T12:00:00+01:00"))
        .await
        .ok(200);
    assert_eq!(ids(&page), [7, 6, 4, 3]);
    let path = format!("{}&include_archived=1", since("2026-11-20T11:00:00Z"));
    assert_eq!(
        ids(&get(&app, GLOBAL_KEY, &path).await.ok(200)),
        [7, 6, 5, 4, 3]
    );
    // An edit (the agent UI's) makes an old reply count as changed.
    let now = app
        .db
        .value("SELECT DATE_FORMAT(NOW(), '%Y-%m-%dT%H:%i:%sZ')")
        .await
        .unwrap();
    app.db
        .exec_script("UPDATE ticket_replies SET ticket_reply = 'edited' WHERE ticket_reply_id = 1")
        .await;
    let changed = get(&app, GLOBAL_KEY, &since(&now)).await.ok(200);
    assert_eq!(ids(&changed), [1]);
    assert!(changed["data"][0]["updated_at"].is_string());
    get(&app, GLOBAL_KEY, &since("2026-11-20"))
        .await
        .problem(422);
}

per_generation!(parallel_retries_with_one_key_write_once: fixtures);
async fn parallel_retries_with_one_key_write_once(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script(replyd::db::idempotency::CREATE_TABLE)
        .await;
    let before = app.db.count("ticket_replies").await;
    let body = json!({"body": "exactly once", "visibility": "internal"});
    let requests = (0..8).map(|_| {
        send(
            app.client
                .post(app.url("/api/v2/tickets/1/replies"))
                .bearer_auth(GLOBAL_KEY)
                .header("idempotency-key", "v2-parallel-1")
                .json(&body),
        )
    });
    let answers = futures_util::future::join_all(requests).await;
    assert_eq!(app.db.count("ticket_replies").await, before + 1);
    let first = answers[0].ok(201);
    for a in &answers {
        assert_eq!(a.ok(201), first);
        assert_eq!(a.location.as_deref(), Some("/api/v2/replies/8"));
    }
    let replays = answers
        .iter()
        .filter(|a| a.replayed.as_deref() == Some("true"))
        .count();
    assert_eq!(replays, 7);
    // The same key with another request: 422, nothing written.
    let other = send(
        app.client
            .post(app.url("/api/v2/tickets/1/replies"))
            .bearer_auth(GLOBAL_KEY)
            .header("idempotency-key", "v2-parallel-1")
            .json(&json!({"body": "something else"})),
    )
    .await;
    other.problem(422);
    assert_eq!(app.db.count("ticket_replies").await, before + 1);
}

per_generation!(files_come_as_multipart: [user_keys, dump_2_6_7]);
async fn files_come_as_multipart(generation: Generation) {
    let uploads = tempfile::tempdir().unwrap();
    let dir = uploads.path().to_path_buf();
    let app = spawn_app_with(generation, move |s| s.uploads_dir = Some(dir)).await;
    let (content_type, body) = multipart(&[
        ("body", None, b"See the log."),
        ("visibility", None, b"public"),
        ("attachments[]", Some("log.txt"), b"line 1\n"),
    ]);
    let created = send(
        app.client
            .post(app.url("/api/v2/tickets/1/replies"))
            .bearer_auth(GLOBAL_KEY)
            .header("content-type", content_type)
            .body(body),
    )
    .await;
    let reply = created.ok(201);
    assert_eq!(reply["type"], "public");
    let names = app
        .db
        .rows("SELECT ticket_attachment_name FROM ticket_attachments WHERE ticket_attachment_reply_id = 8")
        .await;
    assert_eq!(names, [[Some("log.txt".to_string())]]);
}

per_generation!(a_zero_time_is_null: fixtures);
async fn a_zero_time_is_null(generation: Generation) {
    let app = spawn_app(generation).await;
    // MariaDB keeps 0000-00-00 where the SQL mode allows it: no date, so
    // null rather than an invalid date-time.
    app.db
        .exec_script(
            "SET SESSION sql_mode = ''; \
             UPDATE ticket_replies SET ticket_reply_created_at = '0000-00-00 00:00:00' \
             WHERE ticket_reply_id = 1",
        )
        .await;
    let reply = get(&app, GLOBAL_KEY, "/api/v2/replies/1").await.ok(200);
    assert_eq!(reply["created_at"], Value::Null);
}
