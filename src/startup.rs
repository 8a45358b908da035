//! Builds the application: pool, schema check, listener, HTTP server.

use crate::api;
use crate::config::{ConfigError, Settings};
use crate::db::{self, schema::SchemaError, schema::SchemaInfo};
use crate::metrics::Metrics;
use crate::observe::observe;
pub use crate::state::AppState;
use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, middleware::from_fn, web};
use mysql_async::{Conn, Opts};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// How long closing the pool may take once the server has stopped.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

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
    local_addr: SocketAddr,
    server: Server,
    state: web::Data<AppState>,
}

/// The startup schema check, bounded by `db_timeout_ms` (mysql_async has no
/// connect timeout; an unreachable host would otherwise take minutes).
pub(crate) async fn inspect_bounded(
    opts: Opts,
    limit: Duration,
) -> Result<SchemaInfo, SchemaError> {
    match tokio::time::timeout(limit, db::schema::inspect(opts)).await {
        Ok(result) => result,
        Err(_) => Err(SchemaError::Connect(db::timed_out(limit))),
    }
}

/// Settle the attachments a crash left under temporary names: committed
/// ones get their final names, the rest are removed ([`crate::uploads`]).
async fn recover_uploads(
    pool: &mysql_async::Pool,
    uploads: &crate::uploads::Uploads,
    schema: &SchemaInfo,
    limit: Duration,
) {
    let pending = uploads.pending();
    let committed: std::collections::HashSet<(i64, String)> =
        if pending.is_empty() || !schema.features.attachments {
            Default::default()
        } else {
            match db::within(limit, db::attachments::committed(pool, &pending)).await {
                Ok(found) => found,
                Err(e) => {
                    // Unsure which are committed: leave them for the next
                    // start rather than remove a committed file.
                    log::warn!("attachments left by a crash were not settled: {e}");
                    return;
                }
            }
        };
    match uploads.recover(|ticket, reference| committed.contains(&(ticket, reference.to_owned()))) {
        Ok((0, 0)) => {}
        Ok((finished, removed)) => log::info!(
            "attachments left by an earlier stop: {finished} committed and finished, {removed} removed"
        ),
        Err(e) => log::warn!("settling attachments left by an earlier stop: {e}"),
    }
}

impl Application {
    /// Connect, check the schema and bind; `listen` may use port 0.
    ///
    /// The server does not watch for signals itself: call
    /// [`crate::shutdown::stop_on_signals`] with [`Application::handle`]
    /// (as `main` does), or stop it through the handle.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let opts = settings.database_opts()?;
        let schema = inspect_bounded(opts.clone(), settings.db_timeout()).await?;
        let pool = db::build_pool(opts.clone(), settings.db_pool_max);
        log::info!(
            "database `{}`: ITFlow database version {}, {}; {}",
            schema.database,
            schema.itflow_version,
            schema.key_generation,
            schema.features
        );
        warn_missing_indexes(opts, settings.db_timeout()).await;
        if let Some(uploads) = settings.uploads() {
            recover_uploads(&pool, &uploads, &schema, settings.db_timeout()).await;
        }
        let listen_err = |source| StartupError::Listen {
            addr: settings.listen.clone(),
            source,
        };
        let listener = TcpListener::bind(&settings.listen).map_err(listen_err)?;
        let local_addr = listener.local_addr().map_err(listen_err)?;
        let state = web::Data::new(AppState {
            metrics: Metrics::new(&pool, settings.db_pool_max),
            itflow_base_url: settings.base_url(),
            itflow_app_name: settings.app_name(),
            uploads: settings.uploads(),
            pool,
            settings: settings.clone(),
            flavour: schema.flavour(),
            schema,
            keys: db::keys::KeyCache::new(Duration::from_secs(settings.key_cache_ttl_secs)),
            tz: Default::default(),
            rate_limits: crate::ratelimit::RateLimits::from_settings(&settings),
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                // The access log line and request metrics (src/observe.rs).
                .wrap(from_fn(observe))
                .configure(api::configure)
                .default_service(web::to(api::not_found))
        })
        .disable_signals()
        .workers(settings.worker_threads())
        .max_connections(settings.connections_per_worker())
        // Graceful stop: in-flight requests get this long to finish.
        .shutdown_timeout(settings.shutdown_timeout_secs)
        .listen(listener)
        .map_err(listen_err)?
        .run();
        Ok(Self {
            local_addr,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the server: `handle().stop(true)` stops accepting and lets
    /// in-flight requests finish (up to `shutdown_timeout_secs`).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The state every request shares (settings, pool, metrics).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serve until the server is stopped, then close the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let pool = self.state.pool.clone();
        drop(self.state);
        match tokio::time::timeout(POOL_CLOSE_TIMEOUT, pool.disconnect()).await {
            Ok(Ok(())) => log::info!("database pool closed"),
            Ok(Err(e)) => log::warn!("closing the database pool: {e}"),
            Err(_) => log::warn!(
                "closing the database pool took over {} s; exiting anyway",
                POOL_CLOSE_TIMEOUT.as_secs()
            ),
        }
        result
    }
}

/// Missing indexes slow replyd down but do not stop it: say so at startup.
///
/// On a connection of its own, not the pool's: the pool's first use must be
/// a request, on a worker thread (see `db::build_pool`).
async fn warn_missing_indexes(opts: Opts, limit: Duration) {
    let check = async {
        let mut conn = Conn::new(opts).await?;
        let missing = db::doctor::missing_indexes(&mut conn).await;
        let _ = conn.disconnect().await;
        missing
    };
    let missing = db::within(limit, check).await;
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
