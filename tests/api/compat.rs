//! The compatibility cases in compat-tests/cases/: each is a request, the
//! exact answer expected, and the database rows expected afterwards. The
//! `compat` test binary (tests/compat/main.rs) runs each case as its own
//! test, on each generation it applies to, directly, and through nginx on
//! the two fixture generations.

use crate::helpers::*;
use crate::nginx::Nginx;
use replyd::config::Settings;
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
    /// Settings overrides: any key of `replyd::config::Settings`, as in
    /// replyd.toml.
    #[serde(default)]
    settings: toml::Table,
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
    /// Checked only on this API-key generation ("client-keys" or
    /// "user-keys"); skipped on the other.
    #[serde(default)]
    generation: Option<String>,
    /// Checked only where the database has every one of these tables
    /// (say `ticket_history`); skipped elsewhere.
    #[serde(default)]
    tables: Vec<String>,
}

/// How a case's request reaches replyd.
pub enum Via<'a> {
    Direct,
    /// Through nginx (this binary), configured with nginx.conf.example.
    Nginx(&'a Path),
}

impl Case {
    /// Read and parse a case file.
    pub fn load(file: &Path) -> Result<Case, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let case: Case = toml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let keys = std::iter::once(&case.generation).chain(case.db.iter().map(|c| &c.generation));
        for key in keys.flatten() {
            if !matches!(key.as_str(), "client-keys" | "user-keys") {
                return Err(format!(
                    "{}: generation = {key:?}: \"client-keys\" or \"user-keys\"",
                    file.display()
                ));
            }
        }
        Ok(case)
    }

    /// Whether the case applies to `generation` (its `generation` key, when
    /// present, names the API-key generation it is for).
    pub fn applies_to(&self, generation: &Generation) -> bool {
        for_keys(self.generation.as_deref(), generation)
    }
}

/// Whether a `generation` key (None: every generation) admits `generation`.
fn for_keys(key: Option<&str>, generation: &Generation) -> bool {
    match key {
        None => true,
        Some("client-keys") => !generation.has_user_keys(),
        Some("user-keys") => generation.has_user_keys(),
        Some(other) => panic!("generation = {other:?}: \"client-keys\" or \"user-keys\""),
    }
}

/// `base` with the case's `settings` table laid over it, key by key, as a
/// replyd.toml would set them: any key of `Settings`, checked by its own
/// deserializer (an unknown key or a wrong type is an error).
pub fn apply_settings(base: &Settings, over: &toml::Table) -> Result<Settings, String> {
    let mut merged = serde_json::to_value(base).unwrap();
    let fields = merged.as_object_mut().unwrap();
    for (k, v) in over {
        fields.insert(k.clone(), serde_json::to_value(v).unwrap());
    }
    serde_json::from_value(merged).map_err(|e| format!("settings: {e}"))
}

pub async fn run_case(
    name: &str,
    case: Case,
    generation: Generation,
    via: &Via<'_>,
) -> Result<(), String> {
    assert!(
        case.applies_to(&generation),
        "{name} is not for {generation:?}"
    );
    let db = TestDb::seeded(generation.clone()).await;
    // Checked before replyd starts, so a bad table fails with its reason.
    let settings =
        apply_settings(&test_settings(&db), &case.settings).map_err(|e| format!("{name}: {e}"))?;
    if !case.seed.trim().is_empty() {
        db.exec_script(&case.seed).await;
    }
    let app = spawn_on(db, move |s| *s = settings).await;
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
        let mut applies = for_keys(check.generation.as_deref(), &generation);
        for t in &check.tables {
            applies = applies && app.db.has_table(t).await;
        }
        if !applies {
            continue;
        }
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
