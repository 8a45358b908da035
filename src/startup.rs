//! Builds the application: pool, schema check, listener, HTTP server.

use crate::api;
use crate::config::{ConfigError, Settings};
use crate::db::{self, schema::SchemaError, schema::SchemaInfo};
use actix_web::{App, HttpServer, dev::Server, middleware::Logger, web};
use mysql_async::{Opts, Pool};
use std::net::TcpListener;
use std::time::Duration;

/// Shared by every request.
pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    pub schema: SchemaInfo,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
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

/// The startup schema check, bounded by `db_timeout_ms` (mysql_async has no
/// connect timeout; an unreachable host would otherwise take minutes).
async fn inspect_bounded(opts: Opts, limit: Duration) -> Result<SchemaInfo, SchemaError> {
    match tokio::time::timeout(limit, db::schema::inspect(opts)).await {
        Ok(result) => result,
        Err(_) => Err(SchemaError::Connect(db::timed_out(limit))),
    }
}

impl Application {
    /// Connect, check the schema and bind; `listen` may use port 0.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let opts = settings.database_opts()?;
        let schema = inspect_bounded(opts.clone(), settings.db_timeout()).await?;
        let pool = db::build_pool(opts, settings.db_pool_max);
        log::info!(
            "database `{}`: ITFlow database version {}, {}",
            schema.database,
            schema.itflow_version,
            schema.key_generation
        );
        let listen_err = |source| StartupError::Listen {
            addr: settings.listen.clone(),
            source,
        };
        let listener = TcpListener::bind(&settings.listen).map_err(listen_err)?;
        let port = listener.local_addr().map_err(listen_err)?.port();
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            settings: settings.clone(),
            schema,
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
    let schema = inspect_bounded(settings.database_opts()?, settings.db_timeout()).await?;
    Ok(format!(
        "database: {}\nITFlow database version: {}\nAPI keys: {}\nschema: every table and column replyd needs is present\n",
        schema.database, schema.itflow_version, schema.key_generation
    ))
}
