//! replyd: ITFlow's ticket replies API as a sidecar that shares ITFlow's
//! MariaDB database. See README.md.

pub mod api;
pub mod commands;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod messages;
pub mod metrics;
pub mod observe;
pub mod php;
pub mod ratelimit;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod systemd;
pub mod uploads;

/// mimalloc instead of glibc's malloc, for every binary built on this
/// library (replyd, the benchmark baseline, the tests): a read answer
/// allocates and frees hundreds of small values, and under glibc's malloc
/// that was about a sixth of replyd's CPU time in `perf` (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
