//! /healthz and /readyz. What /readyz checks is the schema: those tests
//! run on every generation; the method check on the fixtures only.

use crate::helpers::*;

const UP: &str = r#"{"success":"True","status":"up"}"#;
const READY: &str = r#"{"success":"True","status":"ready"}"#;

per_generation!(healthz_and_readyz_answer_when_all_is_well);
async fn healthz_and_readyz_answer_when_all_is_well(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get("/healthz").await.assert(200, UP);
    app.get("/readyz").await.assert(200, READY);
    // Not under the API prefix, and no key needed.
    app.get("/api/v1/healthz")
        .await
        .assert(404, r#"{"success":"False","message":"No such endpoint."}"#);
    let head = app.client.head(app.url("/readyz")).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

per_generation!(only_get_and_head_are_served: fixtures);
async fn only_get_and_head_are_served(generation: Generation) {
    let app = spawn_app(generation).await;
    let get_only =
        r#"{"success":"False","message":"Can only send GET requests to this endpoint."}"#;
    for path in ["/healthz", "/readyz", "/metrics"] {
        app.post_form(path, "").await.assert(405, get_only);
    }
}

per_generation!(readyz_fails_when_the_schema_is_no_longer_understood);
async fn readyz_fails_when_the_schema_is_no_longer_understood(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get("/readyz").await.assert(200, READY);
    // ITFlow upgraded under replyd, say: a column replyd needs is gone.
    app.db
        .exec_script("ALTER TABLE tickets DROP COLUMN ticket_first_response_at")
        .await;
    app.get("/readyz").await.assert(
        503,
        r#"{"success":"False","message":"Not ready: the database's schema is not one replyd serves; run replyd --check."}"#,
    );
    // The process itself is fine.
    app.get("/healthz").await.assert(200, UP);
}

per_generation!(readyz_fails_when_itflow_was_upgraded_under_replyd: [user_keys, dump_2_6_7]);
async fn readyz_fails_when_itflow_was_upgraded_under_replyd(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get("/readyz").await.assert(200, READY);
    // A part replyd decided about at startup (its Flavour) is gone: what it
    // writes would no longer be what this ITFlow writes.
    app.db.exec_script("DROP TABLE ticket_history").await;
    app.get("/readyz").await.assert(
        503,
        r#"{"success":"False","message":"Not ready: the database's ITFlow version changed since replyd started; restart replyd."}"#,
    );
    app.get("/healthz").await.assert(200, UP);
}
