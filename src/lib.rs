//! replyd: ITFlow's ticket replies API as a sidecar that shares ITFlow's
//! MariaDB database. See README.md.

pub mod api;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod observe;
pub mod php;
pub mod shutdown;
pub mod startup;
pub mod systemd;
