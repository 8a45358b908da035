//! Builds the application: pool, schema check, listener, HTTP server.

use crate::api;
use crate::config::{ConfigError, Settings};
use crate::db::{self, schema::SchemaError, schema::SchemaInfo};
use actix_web::{App, HttpServer, dev::Server, middleware::Logger, web};
use mysql_async::Pool;
use std::net::TcpListener;

/// Shared by every request.
pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    pub schema: SchemaInfo,
    /// ITFlow's base URL for links in queued emails.
    pub itflow_base_url: String,
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
