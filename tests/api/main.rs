//! One integration test binary: every test starts replyd on 127.0.0.1:0
//! against its own scratch database on a real MariaDB, and talks to it over
//! real HTTP.

mod auth;
mod compat;
mod create;
mod grants;
mod health;
mod helpers;
mod large_read;
mod logging;
mod metrics;
mod nginx;
mod outage;
mod perf;
mod private_db;
mod process;
mod read;
mod shutdown;
mod startup;
mod systemd;
mod user_keys;
