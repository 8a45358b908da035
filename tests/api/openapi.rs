//! The OpenAPI document: the committed `openapi.json` is what the code
//! makes, and `GET /api/openapi.json` serves it. The document does not
//! depend on the schema: one fixture generation is enough for the HTTP test.
//! (scripts/schemathesis.sh checks live answers against it.)

use crate::helpers::*;
use replyd::api::openapi;

const REGENERATE: &str = "regenerate with cargo run -q -- openapi > openapi.json";

#[test]
fn committed_openapi_json_is_what_the_code_makes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let committed = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}; {REGENERATE}"));
    let made = openapi::json();
    if committed != made {
        let first = committed
            .lines()
            .zip(made.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(made.lines().count()));
        panic!(
            "openapi.json differs from the document the code makes (first at line {}: \
             committed {:?}, made {:?}); {REGENERATE}",
            first + 1,
            committed.lines().nth(first).unwrap_or("<end of file>"),
            made.lines().nth(first).unwrap_or("<end of document>"),
        );
    }
}

#[test]
fn the_document_describes_every_v1_endpoint_and_both_key_schemes() {
    let doc: serde_json::Value = serde_json::from_str(openapi::json()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "replyd");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["type"], "apiKey");
    assert_eq!(schemes["api_key"]["in"], "query");
    use replyd::api::*;
    for (path, method) in [
        (READ_PATH, "get"),
        (CREATE_PATH, "post"),
        (ATTACHMENT_PATH, "get"),
        (ITFLOW_READ_PATH, "get"),
        (ITFLOW_CREATE_PATH, "post"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the document");
        // v1 takes either scheme.
        assert_eq!(
            op["security"],
            serde_json::json!([{"bearer": []}, {"api_key": []}]),
            "{path}"
        );
        for status in ["200", "401", "403", "405", "413", "500", "503"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} lacks {status}"
            );
        }
        // Every v1 failure is the JSON envelope (the 401 too: ITFlow's is
        // empty, replyd's is not).
        assert_eq!(
            op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/V1Failure",
            "{path}"
        );
    }
}

#[test]
fn the_document_describes_every_v2_operation_with_problems_and_bearer_only() {
    let doc: serde_json::Value = serde_json::from_str(openapi::json()).unwrap();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v2/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            seen += 1;
            assert_eq!(
                op["security"],
                serde_json::json!([{"bearer": []}]),
                "{method} {path}: v2 takes the key from Authorization: Bearer only"
            );
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(name) => {
                        let name = name.rsplit('/').next().unwrap();
                        &doc["components"]["responses"][name]
                    }
                    None => response,
                };
                assert!(
                    response["headers"]["RateLimit-Remaining"].is_object(),
                    "{method} {path} {status}: no RateLimit headers"
                );
                if status.starts_with(['4', '5']) {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
            for status in ["401", "403", "429", "500", "503"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} lacks {status}"
                );
            }
        }
    }
    // The five of src/api/v2/mod.rs.
    assert_eq!(seen, 5, "v2 operations in the document");
}

per_generation!(the_document_is_served_without_a_key: fixtures);
async fn the_document_is_served_without_a_key(generation: Generation) {
    let app = spawn_app(generation).await;
    let answer = app.get("/api/openapi.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    assert!(
        answer.body == openapi::json(),
        "GET /api/openapi.json is not the document replyd openapi prints"
    );
    let head = app
        .client
        .head(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    app.post_form("/api/openapi.json", "").await.assert(
        405,
        r#"{"success":"False","message":"Can only send GET requests to this endpoint."}"#,
    );
}
