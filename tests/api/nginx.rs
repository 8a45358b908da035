//! nginx.conf.example in a real nginx: `nginx -t`, then requests end to end
//! (client → nginx → replyd → MariaDB).
//!
//! nginx is found through REPLYD_TEST_NGINX (scripts/test.sh installs nginx
//! and sets it; then a failure to run it fails the tests), else as `nginx`
//! in PATH or /usr/sbin/nginx; without one these tests print SKIPPED.
//!
//! Each test runs its own nginx (own prefix, pid file, logs and temp paths
//! in a temporary directory, a free port on 127.0.0.1, in the foreground)
//! with a server block that includes the example, stands in for ITFlow's PHP
//! with a `location ~ \.php$`, and a copy of the example whose only change
//! is replyd's port in `proxy_pass`.
//!
//! Every compatibility case also runs through nginx: in the `compat` test
//! binary (tests/compat/main.rs), as `<case>::<generation>::nginx`.
//!
//! logs.log_ip through nginx: on the two fixtures. nginx's own answers do
//! not depend on the schema: on the first-generation fixture only.

use crate::helpers::*;
use crate::process::{die_with_test, free_port};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The example's upstream, replaced by the test replyd's address.
const EXAMPLE_UPSTREAM: &str = "proxy_pass http://127.0.0.1:8091;";

pub fn nginx_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("REPLYD_TEST_NGINX") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "REPLYD_TEST_NGINX={} is not a file",
            p.display()
        );
        return Some(p);
    }
    let in_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
    });
    let found = in_path.or_else(|| {
        let p = PathBuf::from("/usr/sbin/nginx");
        p.is_file().then_some(p)
    });
    if found.is_none() {
        eprintln!("SKIPPED: nginx not found (apt-get install nginx, or set REPLYD_TEST_NGINX)");
    }
    found
}

fn example() -> String {
    std::fs::read_to_string(repo_path("nginx.conf.example")).unwrap()
}

/// A test nginx.conf in `dir` whose server block listens on `port` and
/// includes `include`.
fn write_config(dir: &Path, port: u16, include: &Path) -> PathBuf {
    for sub in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let d = dir.display();
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name itflow.test;
        # Stand-ins for ITFlow: PHP, and everything else.
        location ~ \.php$ {{ default_type text/plain; return 200 "ITFlow PHP\n"; }}
        location / {{ default_type text/plain; return 404 "ITFlow 404\n"; }}
        include {include};
    }}
}}
"#,
        include = include.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "replyd-test-nginx.{}.{tag}.{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `nginx -t` on `conf`: Ok, or nginx's complaint.
fn nginx_t(bin: &Path, dir: &Path, conf: &Path) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(dir.join("error.log"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// A running nginx in front of replyd on `replyd_port`.
pub struct Nginx {
    dir: PathBuf,
    child: Child,
    port: u16,
}

impl Nginx {
    pub async fn start(bin: &Path, replyd_port: u16) -> Nginx {
        let dir = temp_dir("run");
        let example = example();
        assert_eq!(
            example.matches(EXAMPLE_UPSTREAM).count(),
            4,
            "nginx.conf.example should proxy both v1 prefixes, /api/v2/ and /api/openapi.json to replyd with `{EXAMPLE_UPSTREAM}`"
        );
        let include = dir.join("replyd.conf");
        std::fs::write(
            &include,
            example.replace(
                EXAMPLE_UPSTREAM,
                &format!("proxy_pass http://127.0.0.1:{replyd_port};"),
            ),
        )
        .unwrap();
        let port = free_port();
        let conf = write_config(&dir, port, &include);
        if let Err(e) = nginx_t(bin, &dir, &conf) {
            panic!("nginx -t failed:\n{e}");
        }
        let mut cmd = Command::new(bin);
        cmd.arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = die_with_test(&mut cmd).spawn().expect("nginx starts");
        let mut nginx = Nginx { dir, child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited ({status}):\n{}", nginx.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen:\n{}",
                nginx.error_log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        nginx
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{path_and_query}", self.port)
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_example_passes_nginx_t_verbatim() {
    let Some(bin) = nginx_binary() else { return };
    let dir = temp_dir("t");
    let conf = write_config(&dir, free_port(), &repo_path("nginx.conf.example"));
    let result = nginx_t(&bin, &dir, &conf);
    std::fs::remove_dir_all(&dir).unwrap();
    let text = result.unwrap_or_else(|e| panic!("nginx -t failed:\n{e}"));
    assert!(text.contains("test is successful"), "{text}");
    assert!(!text.contains("[warn]"), "nginx -t warns:\n{text}");
}

/// A client whose connections come from 127.0.0.2, while nginx reaches
/// replyd from 127.0.0.1.
fn client_from_127_0_0_2() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .user_agent("nginx-e2e/1.0")
        .build()
        .unwrap()
}

per_generation!(logs_log_ip_is_the_clients_address_not_nginxs: fixtures);
async fn logs_log_ip_is_the_clients_address_not_nginxs(generation: Generation) {
    let Some(bin) = nginx_binary() else { return };
    let app = spawn_app(generation).await;
    let nginx = Nginx::start(&bin, app.port()).await;
    let client = client_from_127_0_0_2();
    // A forged X-Forwarded-For is replaced by nginx, not believed.
    let answer = Answer::from(
        client
            .post(nginx.url(CREATE))
            .header("X-Forwarded-For", "203.0.113.9")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply=through+nginx"
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    answer.assert(
        200,
        r#"{"success":"True","count":"1","data":[{"insert_id":8}]}"#,
    );
    let failed = Answer::from(
        client
            .get(nginx.url(&format!("{READ}?api_key=wrong")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(failed.status, 401);
    assert_eq!(
        app.db
            .rows("SELECT log_action, log_ip, log_user_agent FROM logs WHERE log_action IN ('Reply', 'Failed') ORDER BY log_id")
            .await,
        vec![
            vec![
                Some("Reply".into()),
                Some("127.0.0.2".into()),
                Some("nginx-e2e/1.0".into())
            ],
            vec![
                Some("Failed".into()),
                Some("127.0.0.2".into()),
                Some("nginx-e2e/1.0".into())
            ],
        ]
    );
    // The same client straight to replyd (not a trusted proxy): its own
    // address, the header ignored.
    client
        .get(app.url(&format!("{READ}?api_key=wrong")))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.db
            .value("SELECT log_ip FROM logs ORDER BY log_id DESC LIMIT 1")
            .await,
        Some("127.0.0.2".into())
    );
}

#[tokio::test]
async fn nginx_answers_json_for_its_own_errors_and_exposes_only_the_api() {
    let Some(bin) = nginx_binary() else { return };
    let app = spawn_app(Generation::ClientKeys).await;
    let nginx = Nginx::start(&bin, app.port()).await;
    let client = reqwest::Client::new();
    let post = |size: usize| {
        client
            .post(nginx.url(CREATE))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "api_key={GLOBAL_KEY}&ticket_id=1&ticket_reply={}",
                "x".repeat(size)
            ))
            .send()
    };
    // Over replyd's max_body_bytes: replyd's own JSON 413.
    Answer::from(post(1536 * 1024).await.unwrap()).await.assert(
        413,
        r#"{"success":"False","message":"Request body is larger than the 1048576 bytes this server accepts."}"#,
    );
    // Over nginx's client_max_body_size: nginx's JSON 413.
    Answer::from(post(3 * 1024 * 1024).await.unwrap())
        .await
        .assert(
            413,
            r#"{"success":"False","message":"Request body is too large."}"#,
        );
    // ITFlow keeps its other URLs; replyd's health and metrics are not
    // exposed.
    for (path, want) in [
        ("/agent/ticket.php", "ITFlow PHP\n"),
        ("/metrics", "ITFlow 404\n"),
        ("/healthz", "ITFlow 404\n"),
    ] {
        let text = client
            .get(nginx.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text, want, "{path}");
    }
    assert_eq!(app.db.count("ticket_replies").await, 7);

    // v2 goes through, its key in the header.
    let v2 = client
        .get(nginx.url("/api/v2/replies/1"))
        .bearer_auth(GLOBAL_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(v2.status(), 200);
    assert_eq!(v2.json::<serde_json::Value>().await.unwrap()["id"], 1);
    // So does the OpenAPI document, without a key.
    let doc = client
        .get(nginx.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    assert!(doc.text().await.unwrap() == replyd::api::openapi::json());

    // replyd down: nginx's JSON 503 (a problem document on v2).
    let down = Nginx::start(&bin, free_port()).await;
    let v2 = Answer::from(
        client
            .get(down.url("/api/v2/replies/1"))
            .bearer_auth(GLOBAL_KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (v2.status, v2.content_type.as_str()),
        (503, "application/problem+json")
    );
    assert_eq!(v2.json()["status"], 503);
    drop(down);

    // replyd down: nginx's JSON 503.
    let nowhere = Nginx::start(&bin, free_port()).await;
    Answer::from(
        client
            .get(nowhere.url(&format!("{READ}?api_key={GLOBAL_KEY}")))
            .send()
            .await
            .unwrap(),
    )
    .await
    .assert(
        503,
        r#"{"success":"False","message":"The replies API is unavailable; try again shortly."}"#,
    );
}
