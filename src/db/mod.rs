//! Everything that speaks SQL. Every statement binds its values as
//! parameters; table and column names are fixed strings.

pub mod create;
pub mod create_itflow;
pub mod doctor;
pub mod keys;
pub mod replies;
pub mod schema;
pub mod sla;
pub mod text;

use mysql_async::prelude::FromValue;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Row};

/// How long a connection may sit idle in the pool before it is closed.
pub const POOL_IDLE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// A pool for `opts`, holding at most `max` connections.
///
/// Idle connections are kept (up to `max`) and closed after about
/// `POOL_IDLE_TTL` unused, down to none, so an idle replyd holds no
/// connections. (With mysql_async's default idle TTL of zero, a pool whose
/// minimum is 0 closes every connection as soon as it is returned, and each
/// query then pays a fresh connect and login.)
///
/// `reset_connection` is off: replyd leaves no session state behind (every
/// transaction ends in COMMIT or ROLLBACK, no variables or temporary tables),
/// and a reset would cost a round trip and drop the cached prepared
/// statements on every checkout.
pub fn build_pool(opts: Opts, max: usize) -> Pool {
    let constraints = PoolConstraints::new(0, max.max(1)).expect("0 <= max");
    let pool_opts = PoolOpts::default()
        .with_constraints(constraints)
        .with_inactive_connection_ttl(POOL_IDLE_TTL)
        .with_reset_connection(false);
    Pool::new(OptsBuilder::from_opts(opts).pool_opts(pool_opts))
}

/// Column `i` of `row` as `T`, or an error naming the column.
pub(crate) fn take<T: FromValue>(row: &mut Row, i: usize) -> Result<T, mysql_async::Error> {
    match row.take_opt::<T, usize>(i) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(mysql_async::Error::Other(
            format!("column {i} of a query: {e}").into(),
        )),
        None => Err(mysql_async::Error::Other(
            format!("column {i} missing from a query").into(),
        )),
    }
}
