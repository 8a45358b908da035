//! Everything that speaks SQL. Every statement binds its values as
//! parameters; table and column names are fixed strings.

pub mod create;
pub mod keys;
pub mod replies;
pub mod schema;
pub mod text;

use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use std::time::Duration;

/// How long an idle connection stays open in the pool.
const IDLE_CONNECTION_TTL: Duration = Duration::from_secs(60);

/// A pool for `opts`, holding at most `max` connections.
///
/// Idle connections are kept for [`IDLE_CONNECTION_TTL`]: mysql_async's
/// default (no inactive TTL, minimum 0) closes every connection as it is
/// returned, so each request would open a new one. A connection found dead
/// when taken from the pool (the database restarted) is replaced.
///
/// `reset_connection` is off: replyd leaves no session state behind (every
/// transaction ends in COMMIT or ROLLBACK, no variables or temporary tables),
/// and a reset would cost a round trip and drop the cached prepared
/// statements on every checkout.
pub fn build_pool(opts: Opts, max: usize) -> Pool {
    let constraints = PoolConstraints::new(0, max.max(1)).expect("0 <= max");
    let pool_opts = PoolOpts::default()
        .with_constraints(constraints)
        .with_inactive_connection_ttl(IDLE_CONNECTION_TTL)
        .with_reset_connection(false);
    Pool::new(OptsBuilder::from_opts(opts).pool_opts(pool_opts))
}
