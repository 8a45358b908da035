//! Per-key rate limits on `/api/v2` (`rate_limit_per_second`,
//! `rate_limit_burst`): a keyed GCRA limiter from the `governor` crate, one
//! bucket per API key (by the SHA-256 of its token, so no secret is kept in
//! clear) or, without a key, per client address.
//!
//! The buckets live in this process's memory: N replicas allow N times the
//! rate (README.md, "Rate limits (v2)"). Memory stays bounded: buckets
//! that have filled up again are dropped every [`PRUNE_EVERY`] checks, and
//! at most [`MAX_TRACKED`] are kept; past that, new keys share one bucket
//! until pruning makes room.

use crate::config::Settings;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Most buckets kept at once (about 100 bytes each).
pub const MAX_TRACKED: usize = 100_000;
/// Idle buckets are dropped once every this many checks.
pub const PRUNE_EVERY: u64 = 1024;

/// Whose requests share a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// An API key, by the SHA-256 of its token.
    Key([u8; 32]),
    /// A request without a key, by its client's address.
    Client(IpAddr),
    /// Every new key while [`MAX_TRACKED`] buckets are already kept.
    Overflow,
}

impl Bucket {
    /// The bucket of a request carrying `token`.
    pub fn key(token: &str) -> Bucket {
        Bucket::Key(Sha256::digest(token.as_bytes()).into())
    }
}

/// governor's DashMap store, holding at most `cap` buckets: a key not
/// already in it while it is full is measured against [`Bucket::Overflow`].
#[derive(Debug)]
pub struct CappedStore {
    map: DashMapStateStore<Bucket>,
    cap: usize,
}

impl StateStore for CappedStore {
    type Key = Bucket;

    fn measure_and_replace<T, F, E>(&self, key: &Bucket, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if self.map.len() >= self.cap && !self.map.contains_key(key) {
            return self.map.measure_and_replace(&Bucket::Overflow, f);
        }
        self.map.measure_and_replace(key, f)
    }
}

impl ShrinkableKeyedStateStore<Bucket> for CappedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&self.map, drop_below)
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&self.map)
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Where a bucket stands, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// `RateLimit-Limit`: the burst.
    pub limit: u32,
    /// `RateLimit-Remaining`: whole requests that would pass now.
    pub remaining: u32,
    /// `RateLimit-Reset`: seconds until the bucket is full again, rounded
    /// up; 0 when it is full.
    pub reset: u64,
}

/// A request over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// `Retry-After`: seconds until one request would pass, rounded up, at
    /// least 1.
    pub retry_after: u64,
    pub standing: Standing,
}

/// The limiter every v2 request goes through (in `AppState` when limits
/// are on).
pub struct RateLimits<C: Clock = DefaultClock> {
    limiter: RateLimiter<Bucket, CappedStore, C, StateInformationMiddleware>,
    burst: u32,
    /// How long one request takes to come back into a bucket.
    interval: Duration,
    checks: AtomicU64,
}

impl RateLimits {
    /// The limiter for `settings`; None when either setting is 0 (off).
    pub fn from_settings(settings: &Settings) -> Option<RateLimits> {
        RateLimits::with_clock(
            settings.rate_limit_per_second,
            settings.rate_limit_burst,
            MAX_TRACKED,
            DefaultClock::default(),
        )
    }
}

impl<C: Clock> RateLimits<C> {
    /// `per_second` requests a second, `burst` at once, at most `cap`
    /// buckets; None when either number is 0.
    pub fn with_clock(per_second: u32, burst: u32, cap: usize, clock: C) -> Option<Self> {
        let quota =
            Quota::per_second(NonZeroU32::new(per_second)?).allow_burst(NonZeroU32::new(burst)?);
        let store = CappedStore {
            map: DashMapStateStore::default(),
            cap: cap.max(1),
        };
        Some(RateLimits {
            limiter: RateLimiter::new(quota, store, clock),
            burst,
            // governor's own floor: a cell weighs at least 1 ns.
            interval: quota.replenish_interval().max(Duration::from_nanos(1)),
            checks: AtomicU64::new(0),
        })
    }

    /// Takes one request from `bucket`: its standing after it, or how long
    /// to wait when the bucket is empty.
    pub fn check(&self, bucket: &Bucket) -> Result<Standing, Limited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        match self.limiter.check_key(bucket) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity().min(self.burst);
                // The bucket is full again once the requests it lacks have
                // come back, one each `interval` (an upper bound: the
                // snapshot counts whole requests only, so at most one
                // interval too long).
                let missing = self.burst - remaining;
                Ok(Standing {
                    limit: self.burst,
                    remaining,
                    reset: ceil_secs(self.interval * missing),
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                // One request back after `wait`; the other burst - 1 follow.
                let full = wait + self.interval * (self.burst - 1);
                Err(Limited {
                    retry_after: ceil_secs(wait).max(1),
                    standing: Standing {
                        limit: self.burst,
                        remaining: 0,
                        reset: ceil_secs(full),
                    },
                })
            }
        }
    }

    /// Drops the buckets that have filled up again (no different from a
    /// new one) and gives back their memory.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// How many buckets are kept.
    pub fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn limits(per_second: u32, burst: u32, cap: usize) -> RateLimits<FakeRelativeClock> {
        RateLimits::with_clock(per_second, burst, cap, FakeRelativeClock::default()).unwrap()
    }

    #[test]
    fn zero_turns_the_limits_off() {
        let clock = FakeRelativeClock::default;
        assert!(RateLimits::with_clock(0, 40, 10, clock()).is_none());
        assert!(RateLimits::with_clock(20, 0, 10, clock()).is_none());
        assert!(RateLimits::with_clock(20, 40, 10, clock()).is_some());
    }

    #[test]
    fn a_burst_then_429_then_one_a_second() {
        let l = limits(1, 3, 10);
        let key = Bucket::key("secret");
        let standings: Vec<Standing> = (0..3).map(|_| l.check(&key).unwrap()).collect();
        assert_eq!(
            standings,
            vec![
                Standing {
                    limit: 3,
                    remaining: 2,
                    reset: 1
                },
                Standing {
                    limit: 3,
                    remaining: 1,
                    reset: 2
                },
                Standing {
                    limit: 3,
                    remaining: 0,
                    reset: 3
                },
            ]
        );
        assert_eq!(
            l.check(&key),
            Err(Limited {
                retry_after: 1,
                standing: Standing {
                    limit: 3,
                    remaining: 0,
                    reset: 3
                },
            })
        );
        l.limiter.clock().advance(Duration::from_millis(400));
        let limited = l.check(&key).unwrap_err();
        assert_eq!(limited.retry_after, 1);
        assert_eq!(limited.standing.reset, 3);
        l.limiter.clock().advance(Duration::from_millis(600));
        assert_eq!(l.check(&key).unwrap().remaining, 0);
        // Another key has a bucket of its own.
        assert_eq!(l.check(&Bucket::key("other")).unwrap().remaining, 2);
        // Full again after three quiet seconds.
        l.limiter.clock().advance(Duration::from_secs(3));
        assert_eq!(l.check(&key).unwrap().remaining, 2);
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let l = limits(1000, 1, 10);
        let key = Bucket::Client(IpAddr::from([127, 0, 0, 1]));
        l.check(&key).unwrap();
        let limited = l.check(&key).unwrap_err();
        assert_eq!(limited.retry_after, 1);
        assert_eq!(limited.standing.reset, 1);
    }

    #[test]
    fn buckets_are_capped_and_pruned() {
        let l = limits(1, 2, 3);
        for i in 0..10 {
            l.check(&Bucket::key(&i.to_string())).unwrap_or_else(|e| {
                // Past the cap, new keys share the overflow bucket.
                assert!(i >= 3, "{i}: {e:?}");
                e.standing
            });
        }
        // Three keys and the shared overflow bucket.
        assert_eq!(l.tracked(), 4);
        // A key already kept keeps its own bucket.
        assert_eq!(l.check(&Bucket::key("0")).unwrap().remaining, 0);
        l.limiter.clock().advance(Duration::from_secs(5));
        l.prune();
        assert_eq!(l.tracked(), 0);
        assert_eq!(l.check(&Bucket::key("9")).unwrap().remaining, 1);
    }

    #[test]
    fn pruning_runs_every_so_many_checks() {
        let l = limits(1_000_000, 1, MAX_TRACKED);
        for i in 0..PRUNE_EVERY - 1 {
            l.check(&Bucket::key(&i.to_string())).unwrap();
        }
        assert_eq!(l.tracked() as u64, PRUNE_EVERY - 1);
        l.limiter.clock().advance(Duration::from_secs(1));
        l.check(&Bucket::key("last")).unwrap();
        assert_eq!(l.tracked(), 1);
    }
}
