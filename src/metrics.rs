//! Prometheus metrics, served at `GET /metrics` in the OpenMetrics text
//! format (Prometheus' own exposition standard, scraped natively): requests
//! by endpoint and status, latency, requests in flight, authentication
//! failures, and database pool use read from the pool at each scrape.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds: replies are a few milliseconds; the top
/// buckets catch requests waiting on the database (`db_timeout_ms`).
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Why authentication failed.
#[derive(Debug, Clone, Copy)]
pub enum AuthFailure {
    /// No `api_key` parameter.
    Missing,
    /// Unknown or expired key.
    Invalid,
    /// A known key refused by its user's status or role (HTTP 403).
    Refused,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabel {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Every metric replyd keeps; one per process, shared by all workers.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabel, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    auth_failures: Family<ReasonLabel, Counter>,
}

impl Metrics {
    /// Metrics for a server whose database pool is `pool` (at most
    /// `pool_max` connections).
    pub fn new(pool: &mysql_async::Pool, pool_max: usize) -> Self {
        let mut registry = Registry::with_prefix("replyd");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by endpoint and status code",
            requests.clone(),
        );
        let latency: Family<EndpointLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from receiving a request to answering it, by endpoint",
            Unit::Seconds,
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being handled now",
            in_flight.clone(),
        );
        let auth_failures = Family::<ReasonLabel, Counter>::default();
        // Every series exists from the start, so rate() works from the
        // first failure on.
        for reason in ["missing", "invalid", "refused"] {
            let _ = auth_failures.get_or_create(&ReasonLabel { reason });
        }
        registry.register(
            "auth_failures",
            "Requests refused for a missing, unknown or expired API key, or a key refused for its user or role",
            auth_failures.clone(),
        );
        registry.register_collector(Box::new(PoolCollector {
            pool: pool.metrics(),
            max: pool_max,
        }));
        Metrics {
            registry,
            requests,
            latency,
            in_flight,
            auth_failures,
        }
    }

    /// A request started; the guard counts it as in flight until dropped.
    pub fn start_request(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    /// A request to `endpoint` was answered with `status` after `elapsed`.
    pub fn observe(&self, endpoint: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, status })
            .inc();
        self.latency
            .get_or_create(&EndpointLabel { endpoint })
            .observe(elapsed.as_secs_f64());
    }

    pub fn auth_failed(&self, why: AuthFailure) {
        let reason = match why {
            AuthFailure::Missing => "missing",
            AuthFailure::Invalid => "invalid",
            AuthFailure::Refused => "refused",
        };
        self.auth_failures
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Everything, as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Counts a request as in flight while alive (also when its future is
/// dropped unfinished, as at a forced shutdown).
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The database pool's own counters, read at each scrape.
#[derive(Debug)]
struct PoolCollector {
    pool: Arc<mysql_async::Metrics>,
    max: usize,
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let get = |v: &std::sync::atomic::AtomicUsize| v.load(Ordering::Relaxed) as i64;
        let in_use = get(&self.pool.connections_in_use);
        let idle = get(&self.pool.connections_in_pool);
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "db_pool_connections",
            "Open database connections: in_use by a request, or idle in the pool.",
            None,
            gauge.metric_type(),
        )?;
        for (state, value) in [("in_use", in_use), ("idle", idle)] {
            ConstGauge::new(value).encode(family.encode_family(&StateLabel { state })?)?;
        }
        let max = ConstGauge::new(self.max as i64);
        max.encode(encoder.encode_descriptor(
            "db_pool_max_connections",
            "Most database connections the pool opens (db_pool_max).",
            None,
            max.metric_type(),
        )?)?;
        let waiting = ConstGauge::new(get(&self.pool.active_wait_requests));
        waiting.encode(encoder.encode_descriptor(
            "db_pool_waiting",
            "Requests waiting for a database connection.",
            None,
            waiting.metric_type(),
        )?)?;
        let failed = ConstCounter::new(self.pool.create_failed.load(Ordering::Relaxed) as u64);
        failed.encode(encoder.encode_descriptor(
            "db_connect_failures",
            "Attempts to open a database connection that failed.",
            None,
            failed.metric_type(),
        )?)?;
        Ok(())
    }
}
