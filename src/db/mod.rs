//! Everything that speaks SQL. Every statement binds its values as
//! parameters; table and column names are fixed strings.

pub mod attachments;
pub mod create;
pub mod doctor;
pub mod idempotency;
pub mod keys;
pub mod replies;
pub mod schema;
pub mod snapshot;
pub mod text;
pub mod views;
pub mod writer;

use crate::error::ApiError;
use mysql_async::prelude::FromValue;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Row, Transaction};
use std::future::Future;
use std::time::Duration;

/// How long an idle connection stays open in the pool.
pub const POOL_IDLE_TTL: Duration = Duration::from_secs(60);

/// A pool for `opts`, holding at most `max` connections.
///
/// Idle connections are kept for [`POOL_IDLE_TTL`]: mysql_async's default
/// (no inactive TTL, minimum 0) closes every connection as it is returned,
/// so each request would open a new one and pay a connect and login. A
/// connection found dead when taken from the pool (the database restarted)
/// is replaced.
///
/// The pool's housekeeping task (mysql_async's recycler, which takes back
/// every connection a request returns) runs on the runtime that first asks
/// for a connection, so startup checks use connections of their own: the
/// first request, on an HTTP worker thread, starts it there, and with one
/// worker returning a connection never wakes another thread. Started on
/// the main thread, it cost a cross-thread wake-up per request and most of
/// the p99 latency at concurrency 32 (BENCHMARKS.md).
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

/// Runs database work with a deadline. Past `limit` the work is abandoned
/// (its connection is dropped, so an open transaction rolls back on the
/// server) and fails as an I/O timeout, which the API answers with 503: a
/// request never waits on an unreachable or frozen database for longer.
///
/// mysql_async has no connect timeout of its own; this bounds connecting,
/// waiting for a pooled connection and every statement alike.
pub async fn within<T, E>(limit: Duration, work: impl Future<Output = Result<T, E>>) -> Result<T, E>
where
    E: From<mysql_async::Error>,
{
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(timed_out(limit).into()),
    }
}

/// A write in two phases, each bounded by `limit`: `work` runs the
/// transaction up to, not including, its COMMIT and hands the transaction
/// back; then the COMMIT is sent.
///
/// Only the first phase may fail as "nothing was written" (a 503 past its
/// deadline: the transaction is dropped uncommitted and rolls back). Once
/// COMMIT has been sent, a failure, a lost connection or the deadline
/// cannot tell whether it was saved: that is always
/// [`ApiError::CommitFailed`], never a "try again" that would invite a
/// duplicate.
pub async fn write_then_commit<T>(
    limit: Duration,
    work: impl Future<Output = Result<(Transaction<'static>, T), ApiError>>,
) -> Result<T, ApiError> {
    write_then_commit_or(limit, work, drop).await
}

/// [`write_then_commit`], handing what `work` made to `unknown` when the
/// COMMIT's outcome is unknown (files that may belong to a saved write are
/// kept for startup to settle, not removed).
pub async fn write_then_commit_or<T>(
    limit: Duration,
    work: impl Future<Output = Result<(Transaction<'static>, T), ApiError>>,
    unknown: impl FnOnce(T),
) -> Result<T, ApiError> {
    let (tx, value) = within(limit, work).await?;
    match tokio::time::timeout(limit, tx.commit()).await {
        Ok(Ok(())) => Ok(value),
        Ok(Err(e)) => {
            unknown(value);
            Err(ApiError::CommitFailed(e))
        }
        Err(_) => {
            unknown(value);
            Err(ApiError::CommitFailed(timed_out(limit)))
        }
    }
}

/// `within`, for one of several steps sharing a deadline: `work` must end
/// by `until`, which is `limit` after the first step began.
pub async fn within_until<T, E>(
    until: tokio::time::Instant,
    limit: Duration,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: From<mysql_async::Error>,
{
    match tokio::time::timeout_at(until, work).await {
        Ok(result) => result,
        Err(_) => Err(timed_out(limit).into()),
    }
}

/// The error for database work abandoned after `limit`.
pub fn timed_out(limit: Duration) -> mysql_async::Error {
    let io = std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "no answer from the database within {} ms",
            limit.as_millis()
        ),
    );
    mysql_async::Error::Io(io.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[tokio::test]
    async fn work_past_the_deadline_is_a_503() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, ApiError>(())
        };
        let started = std::time::Instant::now();
        let err = within(Duration::from_millis(20), slow).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(matches!(err, ApiError::DatabaseUnavailable(_)), "{err:?}");
        let fast = async { Ok::<_, ApiError>(7) };
        assert_eq!(within(Duration::from_millis(20), fast).await.unwrap(), 7);
    }
}
