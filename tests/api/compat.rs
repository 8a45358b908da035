//! Runs every case in compat-tests/cases/: each is a request, the exact
//! answer expected, and the database rows expected afterwards. The same
//! cases run through nginx in nginx.rs.

use crate::helpers::*;
use crate::nginx::Nginx;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    description: String,
    /// Only for this API-key generation: "client-keys" or "user-keys".
    #[serde(default)]
    generation: Option<String>,
    /// SQL run after the standard seed.
    #[serde(default)]
    seed: String,
    /// Settings overrides: `legacy_author_user_id`, `max_page_size`,
    /// `itflow_base_url`.
    #[serde(default)]
    settings: BTreeMap<String, toml::Value>,
    request: Request,
    response: Response,
    #[serde(default)]
    db: Vec<DbCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    method: String,
    path: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Response {
    status: u16,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DbCheck {
    sql: String,
    /// Every value as text; SQL NULL is written "NULL".
    rows: Vec<Vec<String>>,
}

/// How a case's request reaches replyd.
pub enum Via<'a> {
    Direct,
    /// Through nginx (this binary), configured with nginx.conf.example.
    Nginx(&'a Path),
}

pub async fn run_case(name: &str, case: Case, via: &Via<'_>) -> Result<(), String> {
    let db = TestDb::seeded(env_generation()).await;
    let generation = if db.user_keys {
        "user-keys"
    } else {
        "client-keys"
    };
    if case.generation.as_deref().is_some_and(|g| g != generation) {
        eprintln!(
            "{name}: for {} databases only, skipped",
            case.generation.unwrap()
        );
        return Ok(());
    }
    if !case.seed.trim().is_empty() {
        db.exec_script(&case.seed).await;
    }
    let app = spawn_on(db, |s| {
        for (k, v) in &case.settings {
            let int = || {
                v.as_integer()
                    .unwrap_or_else(|| panic!("{name}: {k} must be a number"))
            };
            match k.as_str() {
                "legacy_author_user_id" => s.legacy_author_user_id = int() as u32,
                "max_page_size" => s.max_page_size = int() as u64,
                "itflow_base_url" => s.itflow_base_url = v.as_str().map(str::to_string),
                other => panic!("{name}: unknown setting {other}"),
            }
        }
    })
    .await;
    let nginx = match via {
        Via::Direct => None,
        Via::Nginx(bin) => Some(Nginx::start(bin, app.port()).await),
    };
    let url = match &nginx {
        None => app.url(&case.request.path),
        Some(n) => n.url(&case.request.path),
    };
    let method = reqwest::Method::from_bytes(case.request.method.as_bytes()).unwrap();
    let mut req = app.client.request(method, url);
    if let Some(ct) = &case.request.content_type {
        req = req.header("content-type", ct);
    }
    for (k, v) in &case.request.headers {
        req = req.header(k, v);
    }
    if let Some(body) = case.request.body {
        req = req.body(body);
    }
    let answer = Answer::from(req.send().await.unwrap()).await;
    let mut failures = Vec::new();
    if (answer.status, answer.body.as_str())
        != (case.response.status, case.response.body.trim_end())
    {
        failures.push(format!(
            "answer\n  want {} {}\n  got  {} {}",
            case.response.status,
            case.response.body.trim_end(),
            answer.status,
            answer.body
        ));
    }
    if answer.content_type != "application/json" {
        failures.push(format!("content type {}", answer.content_type));
    }
    for check in &case.db {
        let got: Vec<Vec<String>> = app
            .db
            .rows(&check.sql)
            .await
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| v.unwrap_or_else(|| "NULL".into()))
                    .collect()
            })
            .collect();
        if got != check.rows {
            failures.push(format!(
                "{}\n  want {:?}\n  got  {:?}",
                check.sql, check.rows, got
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name} ({}):\n{}",
            case.description,
            failures.join("\n")
        ))
    }
}

/// Every case file, in order.
pub fn case_files() -> Vec<PathBuf> {
    let dir = repo_path("compat-tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the compatibility cases in {}",
        dir.display()
    );
    files
}

/// Run every case in `files`; panics listing the failures.
pub async fn run_cases(files: &[PathBuf], via: Via<'_>) {
    let mut failures = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let case: Case = toml::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(f) = run_case(&name, case, &via).await {
            failures.push(f);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
    eprintln!("{} compatibility cases passed", files.len());
}

#[tokio::test]
async fn compatibility_cases() {
    run_cases(&case_files(), Via::Direct).await;
}
