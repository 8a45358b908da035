//! One integration test binary: every test starts replyd on 127.0.0.1:0
//! against its own scratch database on a real MariaDB, and talks to it over
//! real HTTP. The compatibility cases run in their own binary,
//! tests/compat/main.rs.

mod attachments;
mod auth;
mod commit_phase;
mod crash;
mod create;
mod db_crash;
mod email_replies;
mod every_side;
mod grants;
mod health;
mod helpers;
mod idempotency;
mod large_read;
mod logging;
mod malformed;
mod metrics;
mod nginx;
mod openapi;
mod outage;
mod perf;
mod private_db;
mod probe_load;
mod process;
mod rate_limits;
mod read;
mod scope_props;
mod shutdown;
mod slow_clients;
mod startup;
mod systemd;
mod timezones;
mod user_keys;
mod v2;
