//! Authentication, the method check, bodies, and the failed-key log row.
//!
//! Key lookup and the `logs` row depend on the schema: those tests run on
//! every generation. Unknown paths and bodies refused before any key is
//! looked up run on the two fixtures.

use crate::helpers::*;

const MISSING: &str =
    r#"{"success":"False","message":"Authentication failed. API key is missing."}"#;
const INVALID: &str =
    r#"{"success":"False","message":"Authentication failed. API key is invalid or has expired."}"#;
const GET_ONLY: &str =
    r#"{"success":"False","message":"Can only send GET requests to this endpoint."}"#;
const POST_ONLY: &str =
    r#"{"success":"False","message":"Can only send POST requests to this endpoint."}"#;

per_generation!(a_missing_key_is_401_and_writes_nothing);
async fn a_missing_key_is_401_and_writes_nothing(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?ticket_id=1"))
        .await
        .assert(401, MISSING);
    app.post_form(CREATE, "ticket_id=1&ticket_reply=x")
        .await
        .assert(401, MISSING);
    assert_eq!(app.db.count("logs").await, 0);
    assert_eq!(app.db.count("ticket_replies").await, 7);
}

per_generation!(an_unknown_key_is_401_and_logged_as_itflow_does);
async fn an_unknown_key_is_401_and_logged_as_itflow_does(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key=nope&ticket_id=1"))
        .await
        .assert(401, INVALID);
    assert_eq!(
        app.db
            .rows("SELECT log_type, log_action, log_description, log_ip, log_user_agent, log_client_id, log_user_id, log_entity_id FROM logs")
            .await,
        vec![vec![
            Some("API".into()),
            Some("Failed".into()),
            Some("Incorrect or expired key (endpoint: /api/v1/tickets/replies/read.php)".into()),
            Some("127.0.0.1".into()),
            Some("replyd-tests/1.0".into()),
            Some("0".into()),
            Some("0".into()),
            Some("0".into()),
        ]]
    );
}

per_generation!(an_empty_key_is_looked_up_and_refused);
async fn an_empty_key_is_looked_up_and_refused(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key="))
        .await
        .assert(401, INVALID);
    assert_eq!(app.db.count("logs").await, 1);
}

per_generation!(an_expired_key_is_refused);
async fn an_expired_key_is_refused(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key={EXPIRED_KEY}"))
        .await
        .assert(401, INVALID);
    app.post_form(
        CREATE,
        &format!("api_key={EXPIRED_KEY}&ticket_id=1&ticket_reply=x"),
    )
    .await
    .assert(401, INVALID);
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(app.db.count("logs").await, 2);
    // A key expiring today is expired: api_key_expire must be after NOW().
    app.db
        .exec_script("UPDATE api_keys SET api_key_expire = CURDATE() WHERE api_key_id = 1")
        .await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}"))
        .await
        .assert(401, INVALID);
}

per_generation!(keys_match_exactly_not_by_collation);
async fn keys_match_exactly_not_by_collation(generation: Generation) {
    let app = spawn_app(generation).await;
    let upper = GLOBAL_KEY.to_uppercase();
    app.get(&format!("{READ}?api_key={upper}"))
        .await
        .assert(401, INVALID);
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}%20x"))
        .await
        .assert(401, INVALID);
    // Surrounding whitespace is trimmed, as ITFlow's sanitizeInput() does.
    let a = app
        .get(&format!("{READ}?api_key=%20{GLOBAL_KEY}%20&reply_id=1"))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
}

per_generation!(the_body_key_wins_over_the_query_key);
async fn the_body_key_wins_over_the_query_key(generation: Generation) {
    let app = spawn_app(generation).await;
    let a = app
        .post_form(
            &format!("{CREATE}?api_key=nope"),
            &format!("api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply=x"),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    app.post_form(
        &format!("{CREATE}?api_key={GLOBAL_KEY}"),
        "api_key=nope&ticket_id=1&ticket_reply=x",
    )
    .await
    .assert(401, INVALID);
    // The key may come from the query string of a POST.
    let a = app
        .post_form(
            &format!("{CREATE}?api_key={GLOBAL_KEY}"),
            "ticket_id=1&ticket_reply=y",
        )
        .await;
    assert_eq!(
        a.body,
        r#"{"success":"True","count":"1","data":[{"insert_id":9}]}"#
    );
}

per_generation!(wrong_methods_are_405_after_authentication);
async fn wrong_methods_are_405_after_authentication(generation: Generation) {
    let app = spawn_app(generation).await;
    app.post_form(&format!("{READ}?api_key={GLOBAL_KEY}"), "")
        .await
        .assert(405, GET_ONLY);
    app.get(&format!(
        "{CREATE}?api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply=x"
    ))
    .await
    .assert(405, POST_ONLY);
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = app
            .client
            .request(
                method.clone(),
                app.url(&format!("{READ}?api_key={GLOBAL_KEY}")),
            )
            .send()
            .await
            .unwrap();
        Answer::from(r).await.assert(405, GET_ONLY);
        let r = app
            .client
            .request(
                method.clone(),
                app.url(&format!("{CREATE}?api_key={GLOBAL_KEY}")),
            )
            .send()
            .await
            .unwrap();
        Answer::from(r).await.assert(405, POST_ONLY);
        // Authentication still comes first.
        let r = app
            .client
            .request(method, app.url(READ))
            .send()
            .await
            .unwrap();
        Answer::from(r).await.assert(401, MISSING);
    }
    let r = app
        .client
        .head(app.url(&format!("{READ}?api_key={GLOBAL_KEY}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(app.db.count("ticket_replies").await, 7);
}

per_generation!(unknown_paths_get_a_json_404: fixtures);
async fn unknown_paths_get_a_json_404(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get("/api/v1/tickets/replies/delete.php")
        .await
        .assert(404, r#"{"success":"False","message":"No such endpoint."}"#);
}

per_generation!(the_client_ip_comes_from_x_forwarded_for_only_behind_a_trusted_proxy);
async fn the_client_ip_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
    generation: Generation,
) {
    let app = spawn_app(generation.clone()).await;
    let r = app
        .client
        .get(app.url(&format!("{READ}?api_key=bad")))
        // Two header lines, as a chain of proxies may send them: the client
        // is the right-most entry that is not a trusted proxy (nginx's
        // realip), never a forgeable left-most one.
        .header("X-Forwarded-For", "198.51.100.1")
        .header("X-Forwarded-For", "203.0.113.7, 127.0.0.1")
        .header("User-Agent", "<b>Agent</b> 007 ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        app.db.rows("SELECT log_ip, log_user_agent FROM logs").await,
        vec![vec![Some("203.0.113.7".into()), Some("Agent 007".into())]]
    );

    let untrusting = spawn_app_with(generation, |s| s.trusted_proxies.clear()).await;
    untrusting
        .client
        .get(untrusting.url(&format!("{READ}?api_key=bad")))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(
        untrusting
            .db
            .value("SELECT log_ip FROM logs")
            .await
            .as_deref(),
        Some("127.0.0.1")
    );
}

per_generation!(bodies_that_are_neither_json_nor_form_get_a_clear_400: fixtures);
async fn bodies_that_are_neither_json_nor_form_get_a_clear_400(generation: Generation) {
    let app = spawn_app(generation).await;
    let a = app
        .post_raw(CREATE, "application/json", b"{\"api_key\": ".to_vec())
        .await;
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body
            .starts_with(r#"{"success":"False","message":"Request body is not valid JSON"#),
        "{a:?}"
    );
    app.post_raw(CREATE, "application/x-www-form-urlencoded", b"api_key=\xff\xfe".to_vec())
        .await
        .assert(400, r#"{"success":"False","message":"Request body is not valid UTF-8 text; send a JSON object or a form."}"#);
    // A percent-escape that is not UTF-8 is refused, not replaced.
    app.post_raw(
        CREATE,
        "application/x-www-form-urlencoded",
        format!("api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply=caf%E9").into_bytes(),
    )
    .await
    .assert(400, r#"{"success":"False","message":"Request body is not valid UTF-8 text; send a JSON object or a form."}"#);
    app.post_raw(CREATE, "application/json", br#"[1,2]"#.to_vec())
        .await
        .assert(
            400,
            r#"{"success":"False","message":"Request body must be a JSON object of parameters."}"#,
        );
    assert_eq!(app.db.count("ticket_replies").await, 7);
    assert_eq!(app.db.count("logs").await, 0);
}

per_generation!(bodies_over_max_body_bytes_get_a_413: fixtures);
async fn bodies_over_max_body_bytes_get_a_413(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.max_body_bytes = 64).await;
    let body = format!(
        "api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply={}",
        "x".repeat(100)
    );
    app.post_form(CREATE, &body)
        .await
        .assert(413, r#"{"success":"False","message":"Request body is larger than the 64 bytes this server accepts."}"#);
    assert_eq!(app.db.count("ticket_replies").await, 7);
}

// ---- Authorization: Bearer ----

const ATTACHMENT: &str = "/api/v1/tickets/replies/attachment.php";
const ITFLOW_READ: &str = "/api/v1/ticket_replies/read.php";
const ITFLOW_CREATE: &str = "/api/v1/ticket_replies/create.php";

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let mut request = app.client.request(method, app.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    Answer::from(request.send().await.unwrap()).await
}

per_generation!(a_bearer_key_works_on_every_v1_endpoint);
async fn a_bearer_key_works_on_every_v1_endpoint(generation: Generation) {
    let app = spawn_app(generation).await;
    let bearer = format!("Bearer {GLOBAL_KEY}");
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let read = send(
        &app,
        get.clone(),
        &format!("{READ}?reply_id=1"),
        Some(&bearer),
        None,
    )
    .await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json()["success"], "True", "{read:?}");
    let read = send(
        &app,
        get.clone(),
        &format!("{ITFLOW_READ}?ticket_reply_id=1"),
        Some(&bearer),
        None,
    )
    .await;
    assert_eq!(read.json()["success"], "True", "{read:?}");
    // Authenticated (past the 401): the dialect's refusal, which depends
    // on the schema and the uploads folder.
    let file = send(
        &app,
        get,
        &format!("{ATTACHMENT}?attachment_id=999"),
        Some(&bearer),
        None,
    )
    .await;
    assert_eq!(file.status, 200, "{file:?}");
    assert_eq!(file.json()["success"], "False", "{file:?}");
    let created = send(
        &app,
        post.clone(),
        CREATE,
        Some(&bearer),
        Some(r#"{"ticket_id":1,"ticket_reply":"by bearer"}"#),
    )
    .await;
    created.assert(
        200,
        r#"{"success":"True","count":"1","data":[{"insert_id":8}]}"#,
    );
    // The scheme in any case.
    let created = send(
        &app,
        post,
        ITFLOW_CREATE,
        Some(&format!("bEARER   {GLOBAL_KEY}")),
        Some(r#"{"ticket_id":1,"ticket_reply":"by bearer too"}"#),
    )
    .await;
    created.assert(
        200,
        r#"{"success":"True","count":"1","data":[{"insert_id":9}]}"#,
    );
    assert_eq!(app.db.count("ticket_replies").await, 9);
    assert_eq!(
        app.db
            .value("SELECT COUNT(*) FROM logs WHERE log_action = 'Failed'")
            .await
            .as_deref(),
        Some("0")
    );
}

per_generation!(a_malformed_authorization_header_is_no_key);
async fn a_malformed_authorization_header_is_no_key(generation: Generation) {
    let app = spawn_app(generation).await;
    for value in [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        &format!("Basic {GLOBAL_KEY}"),
        GLOBAL_KEY,
        "",
    ] {
        let answer = send(
            &app,
            reqwest::Method::GET,
            &format!("{READ}?reply_id=1"),
            Some(value),
            None,
        )
        .await;
        answer.assert(401, MISSING);
    }
    assert_eq!(app.db.count("logs").await, 0);
}

per_generation!(an_unknown_bearer_key_is_401_and_logged_as_an_api_key_is);
async fn an_unknown_bearer_key_is_401_and_logged_as_an_api_key_is(generation: Generation) {
    let app = spawn_app(generation).await;
    send(
        &app,
        reqwest::Method::POST,
        CREATE,
        Some("Bearer nope"),
        Some(r#"{"ticket_id":1,"ticket_reply":"x"}"#),
    )
    .await
    .assert(401, INVALID);
    assert_eq!(
        app.db
            .rows("SELECT log_type, log_action, log_description, log_ip, log_user_agent FROM logs")
            .await,
        vec![vec![
            Some("API".into()),
            Some("Failed".into()),
            Some("Incorrect or expired key (endpoint: /api/v1/tickets/replies/create.php)".into()),
            Some("127.0.0.1".into()),
            Some("replyd-tests/1.0".into()),
        ]]
    );
    assert_eq!(app.db.count("ticket_replies").await, 7);
}

per_generation!(the_api_key_parameter_wins_over_the_header);
async fn the_api_key_parameter_wins_over_the_header(generation: Generation) {
    let app = spawn_app(generation).await;
    let get = reqwest::Method::GET;
    // A valid parameter, a wrong header: the parameter is used.
    let answer = send(
        &app,
        get.clone(),
        &format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1"),
        Some("Bearer nope"),
        None,
    )
    .await;
    assert_eq!(answer.json()["success"], "True", "{answer:?}");
    // A wrong parameter, a valid header: refused, as ITFlow's PHP would.
    send(
        &app,
        get,
        &format!("{ITFLOW_READ}?api_key=nope&ticket_reply_id=1"),
        Some(&format!("Bearer {GLOBAL_KEY}")),
        None,
    )
    .await
    .assert(401, INVALID);
    assert_eq!(app.db.count("logs").await, 1);
}
