//! Startup checks, `replyd --check`, and configuration sources, run as the
//! real binary where the contract is the command line.
//!
//! What startup and `--check` find depends on the schema: those tests run on
//! every generation (`--check`'s report of 2.6.7's version and optional
//! parts on ITFlow's 2.6.7 dump); the user-key check without roles on the
//! fixtures; where the configuration comes from, on the first-generation
//! fixture only (nothing there depends on the schema).

use crate::helpers::*;
use mysql_async::Opts;
use replyd::startup::Application;
use std::process::Command;

async fn build_error(db: &TestDb) -> String {
    match Application::build(test_settings(db)).await {
        Ok(_) => panic!("replyd started on a database it should refuse"),
        Err(e) => e.to_string(),
    }
}

per_generation!(refuses_to_start_without_a_needed_column);
async fn refuses_to_start_without_a_needed_column(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    db.exec_script("ALTER TABLE tickets DROP COLUMN ticket_first_response_at; DROP TABLE tasks")
        .await;
    let err = build_error(&db).await;
    assert!(
        err.contains(
            "lacks what replyd needs (column tickets.ticket_first_response_at, table tasks)"
        ),
        "{err}"
    );
}

per_generation!(refuses_user_tied_keys_without_roles: fixtures);
async fn refuses_user_tied_keys_without_roles(generation: Generation) {
    let db = TestDb::empty().await;
    db.exec_script(&generation.schema_sql()).await;
    db.exec_script(
        "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS api_key_user_id int(11) NOT NULL DEFAULT 0; \
         ALTER TABLE api_keys DROP COLUMN IF EXISTS api_key_client_id; \
         DROP TABLE IF EXISTS user_roles; \
         INSERT INTO settings (company_id, config_current_database_version) VALUES (1, '2.4.7')",
    )
    .await;
    let err = build_error(&db).await;
    assert!(err.contains("table user_roles"), "{err}");
}

per_generation!(check_reads_the_real_2_6_7_dump: [dump_2_6_7]);
async fn check_reads_the_real_2_6_7_dump(generation: Generation) {
    let db = TestDb::empty().await;
    db.exec_script(&generation.schema_sql()).await;
    db.exec_script(
        "INSERT INTO settings (company_id, config_current_database_version) VALUES (1, '2.6.7')",
    )
    .await;
    let r = run(replyd().arg("--check").env("REPLYD_DATABASE_URL", &db.url));
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "ITFlow database version: 2.6.7\nAPI keys: user-tied keys (api_keys.api_key_user_id)\noptional parts: ticket_history: yes, SLA clock: yes, client allow/deny lists: yes, email queue: yes\n"
        ),
        "{}",
        r.stdout
    );
}

fn replyd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replyd"));
    // Run where no config/replyd.toml exists, with no REPLYD_* inherited.
    cmd.current_dir(std::env::temp_dir());
    for (k, _) in std::env::vars() {
        if k.starts_with("REPLYD_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

per_generation!(check_reports_version_and_generation);
async fn check_reports_version_and_generation(generation: Generation) {
    let db = TestDb::seeded(generation).await;
    let r = run(replyd().arg("--check").env("REPLYD_DATABASE_URL", &db.url));
    assert!(r.ok, "{}", r.stderr);
    let keys = if db.user_keys {
        "user-tied keys (api_keys.api_key_user_id)"
    } else {
        "client-scoped keys (api_keys.api_key_client_id)"
    };
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", r.stdout);
    assert_eq!(lines[0], format!("database: {}", db.name));
    assert_eq!(lines[1], "ITFlow database version: 2.4.4");
    assert_eq!(lines[2], format!("API keys: {keys}"));
    assert!(
        lines[3].starts_with("optional parts: ticket_history: "),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[4],
        "schema: every table and column replyd needs is present"
    );
    if db.user_keys {
        assert_eq!(
            lines[3],
            "optional parts: ticket_history: yes, SLA clock: yes, client allow/deny lists: yes, email queue: yes"
        );
    }
}

#[tokio::test]
async fn check_fails_with_one_sentence_naming_the_fix() {
    let r = run(replyd().arg("--check"));
    assert!(!r.ok);
    assert_eq!(
        r.stderr,
        "replyd: no database configured: set database_url (env REPLYD_DATABASE_URL) or itflow_root (env REPLYD_ITFLOW_ROOT)\n"
    );
    let r = run(replyd().args(["--check", "--config", "/nonexistent/replyd.toml"]));
    assert!(!r.ok);
    assert_eq!(
        r.stderr,
        "replyd: config file /nonexistent/replyd.toml does not exist; pass an existing file to --config\n"
    );
    let r = run(replyd()
        .arg("--check")
        .env("REPLYD_DATABASE_URL", "mysql://root@127.0.0.1:1/x"));
    assert!(!r.ok);
    assert!(
        r.stderr.starts_with("replyd: cannot reach the database:"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let r = run(replyd()
        .arg("--check")
        .env("REPLYD_ITFLOW_ROOT", "/nonexistent"));
    assert!(!r.ok);
    assert!(
        r.stderr
            .contains("cannot read ITFlow's config file /nonexistent/config.php"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn reads_the_database_from_itflows_config_php() {
    let db = TestDb::seeded(Generation::ClientKeys).await;
    let opts = Opts::from_url(&db.url).unwrap();
    let root = std::env::temp_dir().join(format!("replyd-itflow-{}", db.name));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("config.php"),
        format!(
            "<?php\n$dbhost = '{}:{}';\n$dbusername = '{}';\n$dbpassword = '{}';\n$database = '{}';\n",
            opts.ip_or_hostname(),
            opts.tcp_port(),
            opts.user().unwrap_or("root"),
            opts.pass().unwrap_or(""),
            db.name
        ),
    )
    .unwrap();
    let r = run(replyd().arg("--check").env("REPLYD_ITFLOW_ROOT", &root));
    std::fs::remove_dir_all(&root).unwrap();
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("database: {}\n", db.name)),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn the_config_file_is_read_and_the_environment_wins() {
    let db = TestDb::seeded(Generation::ClientKeys).await;
    let file = std::env::temp_dir().join(format!("replyd-{}.toml", db.name));
    std::fs::write(
        &file,
        format!("database_url = \"{}\"\nmax_page_size = 10\n", db.url),
    )
    .unwrap();
    let r = run(replyd().arg("--check").arg("--config").arg(&file));
    assert!(r.ok, "{}", r.stderr);
    let r = run(replyd()
        .arg("--check")
        .arg("--config")
        .arg(&file)
        .env("REPLYD_DATABASE_URL", "mysql://root@127.0.0.1:1/x"));
    assert!(!r.ok, "the environment must override the file");
    std::fs::write(&file, "databse_url = \"typo\"\n").unwrap();
    let r = run(replyd().arg("--check").arg("--config").arg(&file));
    std::fs::remove_file(&file).unwrap();
    assert!(!r.ok);
    assert!(
        r.stderr.starts_with("replyd: invalid configuration:"),
        "{}",
        r.stderr
    );
}
