//! spawn_app(generation): a fresh database (fixture DDL or a real ITFlow dump, then the
//! seed), replyd started on it, and a client for it.

use mysql_async::prelude::*;
use mysql_async::{Opts, Pool};
use replyd::config::Settings;
use replyd::startup::Application;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub const GLOBAL_KEY: &str = "globalkey0123456789";
pub const ACME_KEY: &str = "acmekey0123456789";
pub const EXPIRED_KEY: &str = "expiredkey0123456";
pub const READ: &str = "/api/v1/tickets/replies/read.php";
pub const CREATE: &str = "/api/v1/tickets/replies/create.php";

/// The MariaDB server tests use (no database in the URL).
pub fn server_url() -> String {
    std::env::var("REPLYD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
        .trim_end_matches('/')
        .to_string()
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A database schema the tests run on: the project's fixture DDL for each
/// API-key generation, or one of ITFlow's real schema dumps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Generation {
    /// compat-tests/fixtures/schema.sql: first-generation keys
    /// (`api_keys.api_key_client_id`, ITFlow up to 2.4.6).
    ClientKeys,
    /// schema.sql plus schema-user-keys.sql: ITFlow 2.4.7–2.6.7's changes,
    /// user-tied keys (`api_keys.api_key_user_id`).
    UserKeys,
    /// An ITFlow schema dump (see [`Generation::dump_2_4_4`] and
    /// [`Generation::dump_2_6_7`]).
    Dump(PathBuf),
}

/// Where ITFlow's real schema dumps live: `../shared/itflow-schema/`
/// beside the checkout.
pub fn dumps_dir() -> PathBuf {
    repo_path("../shared/itflow-schema")
}

/// The dumps must be there (scripts/test.sh under CI sets this): a missing
/// dump fails the test instead of skipping it.
fn dumps_required() -> bool {
    std::env::var_os("REPLYD_REQUIRE_DUMPS").is_some_and(|v| v == "1")
        || std::env::var_os("CI").is_some_and(|v| v == "true")
}

impl Generation {
    /// ITFlow 2.4.4's dump (first-generation keys), when present.
    pub fn dump_2_4_4() -> Option<Generation> {
        Generation::dump("legacy-keys-2.4.4.sql")
    }

    /// ITFlow 2.6.7's dump (user-tied keys), when present.
    pub fn dump_2_6_7() -> Option<Generation> {
        Generation::dump("user-keys-2.6.7.sql")
    }

    /// `../shared/itflow-schema/<file>`, or None with a note when it is
    /// missing (a panic when the dumps are required).
    fn dump(file: &str) -> Option<Generation> {
        let path = dumps_dir().join(file);
        if path.is_file() {
            return Some(Generation::Dump(path));
        }
        assert!(
            !dumps_required(),
            "{} is missing: CI (CI=true or REPLYD_REQUIRE_DUMPS=1) runs every test on ITFlow's dumps",
            path.display()
        );
        eprintln!(
            "SKIPPED on ITFlow's dump: {} not found (put ITFlow's schema dumps in ../shared/itflow-schema/)",
            path.display()
        );
        None
    }

    /// Every generation under test: both fixtures, then ITFlow's 2.4.4 and
    /// 2.6.7 dumps when they are present.
    #[allow(dead_code)] // the compat binary's (tests/compat/main.rs)
    pub fn all() -> Vec<Generation> {
        let mut all = vec![Generation::ClientKeys, Generation::UserKeys];
        all.extend(Generation::dump_2_4_4());
        all.extend(Generation::dump_2_6_7());
        all
    }

    /// A short name, as test names use it: `client_keys`, `user_keys`,
    /// `dump_2_4_4`, `dump_2_6_7` (another dump: its file stem).
    #[allow(dead_code)] // the compat binary's
    pub fn label(&self) -> String {
        match self {
            Generation::ClientKeys => "client_keys".into(),
            Generation::UserKeys => "user_keys".into(),
            Generation::Dump(path) => {
                let stem = path.file_stem().unwrap().to_string_lossy();
                match stem.as_ref() {
                    "legacy-keys-2.4.4" => "dump_2_4_4".into(),
                    "user-keys-2.6.7" => "dump_2_6_7".into(),
                    other => format!("dump_{}", other.replace(['-', '.'], "_")),
                }
            }
        }
    }

    /// Whether the schema has user-tied API keys (`api_keys.api_key_user_id`,
    /// ITFlow 2.4.7+).
    pub fn has_user_keys(&self) -> bool {
        match self {
            Generation::ClientKeys => false,
            Generation::UserKeys => true,
            Generation::Dump(_) => self.schema_sql().contains("`api_key_user_id`"),
        }
    }

    /// The schema's DDL.
    pub fn schema_sql(&self) -> String {
        match self {
            Generation::ClientKeys => fixture("schema.sql"),
            Generation::UserKeys => fixture("schema.sql") + &fixture("schema-user-keys.sql"),
            Generation::Dump(path) => std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
        }
    }
}

/// `per_generation!(name)` turns `async fn name(generation: Generation)`
/// (a test body taking the generation it runs on) into one test per
/// generation: `name::client_keys`, `name::user_keys`, `name::dump_2_4_4`,
/// `name::dump_2_6_7`. The dump tests skip, with a note, only when
/// `../shared/itflow-schema/` lacks the dump (and fail then under CI).
///
/// - `per_generation!(name: fixtures)`: the two fixture generations only;
/// - `per_generation!(name: [user_keys, dump_2_6_7])`: the generations
///   listed, for a test that applies to some only;
/// - a leading attribute replaces the default `#[tokio::test]`:
///   `per_generation!(#[tokio::test(flavor = "multi_thread")] name)`.
///
/// ```ignore
/// per_generation!(an_accountant_may_read_but_not_create: [user_keys, dump_2_6_7]);
/// async fn an_accountant_may_read_but_not_create(generation: Generation) {
///     let app = spawn_app(generation).await;
///     ...
/// }
/// ```
macro_rules! per_generation {
    (@one [$m:meta] $name:ident client_keys) => {
        #[$m]
        async fn client_keys() {
            super::$name($crate::helpers::Generation::ClientKeys).await
        }
    };
    (@one [$m:meta] $name:ident user_keys) => {
        #[$m]
        async fn user_keys() {
            super::$name($crate::helpers::Generation::UserKeys).await
        }
    };
    (@one [$m:meta] $name:ident dump_2_4_4) => {
        #[$m]
        async fn dump_2_4_4() {
            if let Some(g) = $crate::helpers::Generation::dump_2_4_4() {
                super::$name(g).await
            }
        }
    };
    (@one [$m:meta] $name:ident dump_2_6_7) => {
        #[$m]
        async fn dump_2_6_7() {
            if let Some(g) = $crate::helpers::Generation::dump_2_6_7() {
                super::$name(g).await
            }
        }
    };
    (@mod [$m:meta] $name:ident [$($gen:ident),+]) => {
        mod $name {
            $( $crate::helpers::per_generation!(@one [$m] $name $gen); )+
        }
    };
    (#[$m:meta] $name:ident) => {
        per_generation!(@mod [$m] $name [client_keys, user_keys, dump_2_4_4, dump_2_6_7]);
    };
    (#[$m:meta] $name:ident: fixtures) => {
        per_generation!(@mod [$m] $name [client_keys, user_keys]);
    };
    (#[$m:meta] $name:ident: [$($gen:ident),+ $(,)?]) => {
        per_generation!(@mod [$m] $name [$($gen),+]);
    };
    ($name:ident $($rest:tt)*) => {
        per_generation!(#[tokio::test] $name $($rest)*);
    };
}
pub(crate) use per_generation;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("compat-tests/fixtures/{name}"))).unwrap()
}

/// A scratch database, dropped when this value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: Pool,
    /// The schema has user-tied API keys (ITFlow 2.4.7+).
    pub user_keys: bool,
    /// The server's URL (no database).
    server: String,
}

impl TestDb {
    /// Create an empty database with a unique name.
    pub async fn empty() -> TestDb {
        TestDb::empty_on(&server_url()).await
    }

    /// Create an empty database with a unique name on the server at `server`.
    pub async fn empty_on(server: &str) -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "replyd_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let server = server.trim_end_matches('/').to_string();
        let mut admin = mysql_async::Conn::new(Opts::from_url(&server).unwrap())
            .await
            .expect("test MariaDB server reachable (set REPLYD_TEST_DATABASE_URL)");
        admin
            .query_drop(format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            ))
            .await
            .unwrap();
        admin.disconnect().await.unwrap();
        let url = format!("{server}/{name}");
        let pool = Pool::new(Opts::from_url(&url).unwrap());
        TestDb {
            name,
            url,
            pool,
            user_keys: false,
            server,
        }
    }

    /// `generation`'s schema plus the standard seed and the keys of its
    /// generation.
    pub async fn seeded(generation: Generation) -> TestDb {
        TestDb::seeded_on(&server_url(), generation).await
    }

    /// `generation`'s schema plus the standard seed and the keys of its
    /// generation, on the server at `server`.
    pub async fn seeded_on(server: &str, generation: Generation) -> TestDb {
        let mut db = TestDb::empty_on(server).await;
        let user_keys = generation.has_user_keys();
        db.exec_script(&generation.schema_sql()).await;
        db.user_keys = db
            .value(&format!(
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' \
                 AND TABLE_NAME = 'api_keys' AND COLUMN_NAME = 'api_key_user_id'",
                db.name
            ))
            .await
            .as_deref()
            == Some("1");
        assert_eq!(
            db.user_keys, user_keys,
            "API-key generation of {generation:?}"
        );
        db.exec_script(&fixture("seed.sql")).await;
        db.exec_script(&fixture(if db.user_keys {
            "seed-user-keys.sql"
        } else {
            "seed-client-keys.sql"
        }))
        .await;
        db
    }

    /// Run a multi-statement SQL script.
    pub async fn exec_script(&self, sql: &str) {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.query_drop(sql).await.unwrap();
    }

    /// Rows of a query, every value as text (NULL as None), over the text
    /// protocol as PHP's mysqli would see them.
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut conn = self.pool.get_conn().await.unwrap();
        let rows: Vec<mysql_async::Row> = conn.query(sql).await.unwrap();
        rows.into_iter()
            .map(|r| {
                r.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(b) => Some(String::from_utf8(b).unwrap()),
                        other => Some(other.as_sql(true)),
                    })
                    .collect()
            })
            .collect()
    }

    /// One value of a one-row, one-column query.
    pub async fn value(&self, sql: &str) -> Option<String> {
        self.rows(sql).await.remove(0).remove(0)
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.value(&format!("SELECT COUNT(*) FROM {table}"))
            .await
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Whether this database has `table`.
    pub async fn has_table(&self, table: &str) -> bool {
        self.value(&format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{table}'",
            self.name
        ))
        .await
        .as_deref()
            == Some("1")
    }

    /// The tables a create may write that this database has, of
    /// `ticket_replies`, `notifications`, `ticket_history`, `email_queue`
    /// and `sla_history`.
    pub async fn write_tables(&self) -> Vec<&'static str> {
        let mut tables = vec!["ticket_replies", "notifications"];
        for t in ["ticket_history", "email_queue", "sla_history"] {
            if self.has_table(t).await {
                tables.push(t);
            }
        }
        tables
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let server = self.server.clone();
        // Drop runs inside the test's runtime, which this blocks: drop the
        // database from a thread with its own runtime and its own connection
        // (the pool's connections belong to the blocked runtime).
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            // Bounded: a test may leave its server stopped or frozen.
            let drop_db = async move {
                if let Ok(mut c) = mysql_async::Conn::new(Opts::from_url(&server).unwrap()).await {
                    let _ = c
                        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                        .await;
                    let _ = c.disconnect().await;
                }
            };
            rt.block_on(async move {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(10), drop_db).await;
            });
        })
        .join()
        .unwrap();
    }
}

pub struct TestApp {
    /// First, so that it is dropped first: replyd stops before its
    /// database is dropped.
    _server: AppThread,
    pub address: String,
    pub port: u16,
    pub db: TestDb,
    pub client: reqwest::Client,
}

/// replyd serving on a thread and runtime of its own; stopped, and its
/// database connections closed, when dropped. (Spawned on the test's
/// runtime instead, the server and its pool would outlive the test, each
/// pool holding its idle connections to the shared server until the test
/// binary exits.)
struct AppThread {
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for AppThread {
    fn drop(&mut self) {
        // Sends the command at once; the app's runtime carries it out.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Settings for a test app on `db`: port 0, everything else default.
pub fn test_settings(db: &TestDb) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        database_url: Some(db.url.clone()),
        ..Settings::default()
    }
}

/// Start replyd on a freshly seeded database of `generation`.
pub async fn spawn_app(generation: Generation) -> TestApp {
    spawn_app_with(generation, |_| {}).await
}

/// Start replyd on a freshly seeded database of `generation`, with settings
/// adjusted by `f`.
pub async fn spawn_app_with(generation: Generation, f: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::seeded(generation).await;
    spawn_on(db, f).await
}

/// Runs `work` on a thread of its own with a current-thread runtime, as
/// replyd's main thread runs (the server then lives as long as `work`).
pub fn on_own_runtime<F, Fut>(work: F) -> std::thread::JoinHandle<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work())
    })
}

pub async fn spawn_on(db: TestDb, f: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&db);
    f(&mut settings);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = on_own_runtime(move || async move {
        match Application::build(settings).await {
            Ok(app) => {
                let _ = tx.send(Ok((app.port(), app.handle())));
                let _ = app.run_until_stopped().await;
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    });
    let (port, handle) = match rx.await.unwrap() {
        Ok(started) => started,
        Err(e) => panic!("replyd starts: {e:?}"),
    };
    let address = format!("http://127.0.0.1:{port}");
    TestApp {
        _server: AppThread {
            handle,
            thread: Some(thread),
        },
        address,
        port,
        db,
        client: reqwest::Client::builder()
            .user_agent("replyd-tests/1.0")
            .build()
            .unwrap(),
    }
}

/// What a response was: status, content type, body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub async fn from(r: reqwest::Response) -> Answer {
        Answer {
            status: r.status().as_u16(),
            content_type: r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
            body: r.text().await.unwrap(),
        }
    }

    /// Assert status, JSON content type and exact body bytes.
    #[track_caller]
    pub fn assert(&self, status: u16, body: &str) {
        assert_eq!(
            (self.status, self.body.as_str()),
            (status, body),
            "unexpected answer: {self:?}"
        );
        assert_eq!(self.content_type, "application/json");
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

impl TestApp {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.address, path_and_query)
    }

    pub async fn get(&self, path_and_query: &str) -> Answer {
        Answer::from(
            self.client
                .get(self.url(path_and_query))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// POST a form body (application/x-www-form-urlencoded).
    pub async fn post_form(&self, path_and_query: &str, body: &str) -> Answer {
        self.post_raw(
            path_and_query,
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
        )
        .await
    }

    /// POST a JSON body.
    pub async fn post_json(&self, path_and_query: &str, body: serde_json::Value) -> Answer {
        self.post_raw(
            path_and_query,
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path_and_query: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        Answer::from(
            self.client
                .post(self.url(path_and_query))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Create a reply with the global key (form body).
    pub async fn create(&self, form: &str) -> Answer {
        self.post_form(CREATE, &format!("api_key={GLOBAL_KEY}&{form}"))
            .await
    }
}
