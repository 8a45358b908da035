//! Builds the application: pool, schema check, listener, HTTP server.

use crate::api;
use crate::config::{ConfigError, Settings};
use crate::db::{self, schema::SchemaError, schema::SchemaInfo};
use actix_web::{App, HttpServer, dev::Server, middleware::Logger, web};
use mysql_async::Pool;
use std::net::TcpListener;
use std::time::Duration;

/// Shared by every request.
pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    pub schema: SchemaInfo,
    /// ITFlow's base URL for links in queued emails.
    pub itflow_base_url: String,
    /// Recently seen valid API keys (`key_cache_ttl_secs`).
    pub keys: db::keys::KeyCache,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("checking or adding indexes failed: {0}")]
    Indexes(#[source] mysql_async::Error),
    #[error("cannot listen on {addr}: {source}; change listen (env REPLYD_LISTEN)")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
}

impl Application {
    /// Connect, check the schema and bind; `listen` may use port 0.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let opts = settings.database_opts()?;
        let schema = db::schema::inspect(opts.clone()).await?;
        let pool = db::build_pool(opts, settings.db_pool_max);
        log::info!(
            "database `{}`: ITFlow database version {}, {}; {}",
            schema.database,
            schema.itflow_version,
            schema.key_generation,
            schema.features
        );
        warn_missing_indexes(&pool).await;
        let listen_err = |source| StartupError::Listen {
            addr: settings.listen.clone(),
            source,
        };
        let listener = TcpListener::bind(&settings.listen).map_err(listen_err)?;
        let port = listener.local_addr().map_err(listen_err)?.port();
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            itflow_base_url: settings.base_url(),
            settings: settings.clone(),
            schema,
            keys: db::keys::KeyCache::new(Duration::from_secs(settings.key_cache_ttl_secs)),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                // %U is the path without the query string, which may carry
                // the API key.
                .wrap(Logger::new("%a \"%m %U\" %s %b %Dms"))
                .configure(api::configure)
                .default_service(web::to(api::not_found))
        })
        .listen(listener)
        .map_err(listen_err)?
        .run();
        Ok(Self { port, server, pool })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serve until the server stops (SIGINT/SIGTERM), then close the pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Err(e) = self.pool.disconnect().await {
            log::warn!("closing the database pool: {e}");
        }
        result
    }
}

/// `replyd --check`: what startup would find, as text.
pub async fn check(settings: &Settings) -> Result<String, StartupError> {
    let schema = db::schema::inspect(settings.database_opts()?).await?;
    Ok(format!(
        "database: {}\nITFlow database version: {}\nAPI keys: {}\noptional parts: {}\nschema: every table and column replyd needs is present\n",
        schema.database, schema.itflow_version, schema.key_generation, schema.features
    ))
}

/// Missing indexes slow replyd down but do not stop it: say so at startup.
async fn warn_missing_indexes(pool: &Pool) {
    let missing = match pool.get_conn().await {
        Ok(mut conn) => db::doctor::missing_indexes(&mut conn).await,
        Err(e) => Err(e),
    };
    match missing {
        Ok(missing) => {
            for index in missing {
                log::warn!(
                    "index missing on {}.{}: {} is slow on a large database; `replyd doctor` shows the fix",
                    index.table,
                    index.columns[0],
                    index.used_by
                );
            }
        }
        Err(e) => log::warn!("could not check indexes: {e}"),
    }
}

/// What `replyd doctor` found (and, with `apply`, did).
pub struct DoctorOutcome {
    pub report: String,
    /// Indexes still missing afterwards.
    pub still_missing: usize,
}

/// `replyd doctor [--apply]`: check the database as startup does, then list
/// the indexes replyd's queries need that it lacks; with `apply`, add them.
/// Nothing else ever changes the schema.
pub async fn doctor(settings: &Settings, apply: bool) -> Result<DoctorOutcome, StartupError> {
    let opts = settings.database_opts()?;
    let schema = db::schema::inspect(opts.clone()).await?;
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .map_err(StartupError::Indexes)?;
    let result = async {
        let mut report = format!(
            "database: {}\nITFlow database version: {}\n",
            schema.database, schema.itflow_version
        );
        if apply {
            for index in db::doctor::apply(&mut conn).await? {
                report.push_str(&format!("added: {};\n", index.alter_table()));
            }
        }
        let missing = db::doctor::missing_indexes(&mut conn).await?;
        report.push_str(&db::doctor::report(&missing));
        Ok(DoctorOutcome {
            report,
            still_missing: missing.len(),
        })
    }
    .await
    .map_err(StartupError::Indexes);
    let _ = conn.disconnect().await;
    result
}
