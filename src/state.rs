//! What every request shares: the pool, the settings, what startup learned
//! about the database, the key cache and the metrics.

use crate::config::Settings;
use crate::db::{self, schema::SchemaInfo};
use crate::domain::plan::WriteContext;
use crate::domain::{Flavour, Principal};
use crate::metrics::Metrics;
use mysql_async::Pool;

/// Shared by every request.
pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    pub schema: SchemaInfo,
    /// What differs between ITFlow versions, from `schema`.
    pub flavour: Flavour,
    /// ITFlow's base URL for links in queued emails.
    pub itflow_base_url: String,
    /// ITFlow's `$config_app_name`, for email subjects.
    pub itflow_app_name: String,
    /// ITFlow's uploads folder (`uploads_dir`, else `<itflow_root>/uploads`).
    pub uploads: Option<crate::uploads::Uploads>,
    /// Recently seen valid API keys (`key_cache_ttl_secs`).
    pub keys: db::keys::KeyCache,
    pub metrics: Metrics,
    /// The company's time zone for v2's times, read at most once a minute.
    pub tz: db::views::TzCache,
    /// `/api/v2`'s per-key rate limits; None when they are off.
    pub rate_limits: Option<crate::ratelimit::RateLimits>,
}

impl AppState {
    /// What a create's planner needs besides the ticket and the request.
    pub fn write_context<'a>(&'a self, principal: &'a Principal) -> WriteContext<'a> {
        WriteContext {
            principal,
            legacy_author: self.settings.legacy_author_user_id,
            flavour: self.flavour,
            base_url: &self.itflow_base_url,
            app_name: &self.itflow_app_name,
            email_replies: self.settings.email_replies,
        }
    }
}
