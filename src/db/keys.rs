//! API-key lookup and the log row for a failed attempt
//! (ITFlow api/v1/validate_api_key.php).

use crate::api::meta::RequestMeta;
use crate::domain::{ClientScope, Principal};
use crate::php::truncate_bytes;
use mysql_async::{Pool, prelude::*};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys remembered at once; past this, expired entries are dropped,
/// and if none are, the whole cache is emptied (it refills on demand).
const MAX_CACHED_KEYS: usize = 10_000;

/// Valid keys seen recently, so that a client polling with the same key does
/// not cost a key lookup on every request.
///
/// Only keys that were found valid are remembered: an unknown or expired key
/// is looked up (and logged) every time, so a key added to `api_keys` works
/// on its very next request. A remembered key is trusted until the earlier
/// of `ttl` after the lookup and its `api_key_expire`; a key deleted or
/// changed in `api_keys` therefore keeps working at most `ttl`. A `ttl` of
/// zero turns the cache off (every request looks its key up).
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The unexpired key whose secret is exactly `secret`, from the cache
    /// when it was found valid less than `ttl` ago, else from the database.
    pub async fn find_key(
        &self,
        pool: &Pool,
        secret: &str,
    ) -> Result<Option<Principal>, mysql_async::Error> {
        if self.ttl.is_zero() {
            return Ok(find_key(pool, secret).await?.map(|(p, _)| p));
        }
        let now = Instant::now();
        if let Some((principal, until)) = self.lock().get(secret)
            && *until > now
        {
            return Ok(Some(principal.clone()));
        }
        let Some((principal, expires_in)) = find_key(pool, secret).await? else {
            // Forget a key that has stopped being valid.
            self.lock().remove(secret);
            return Ok(None);
        };
        let until = now + self.ttl.min(expires_in);
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_KEYS && !entries.contains_key(secret) {
            entries.retain(|_, (_, t)| *t > now);
            if entries.len() >= MAX_CACHED_KEYS {
                entries.clear();
            }
        }
        entries.insert(secret.to_owned(), (principal.clone(), until));
        Ok(Some(principal))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Principal, Instant)>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The unexpired key whose secret is exactly `secret`, and how long until it
/// expires.
///
/// ITFlow matches `api_key_secret = '$api_key'` under the column's
/// case-insensitive, pad-space collation; replyd then keeps only a row whose
/// secret is byte-for-byte equal, so `ABC` or `abc ` never pass for `abc`.
pub async fn find_key(
    pool: &Pool,
    secret: &str,
) -> Result<Option<(Principal, Duration)>, mysql_async::Error> {
    let rows: Vec<(i64, String, String, i64, i64)> = pool
        .get_conn()
        .await?
        .exec(
            "SELECT api_key_id, api_key_name, api_key_secret, api_key_client_id, \
             TIMESTAMPDIFF(SECOND, NOW(), api_key_expire) \
             FROM api_keys WHERE api_key_secret = ? AND api_key_expire > NOW()",
            (secret,),
        )
        .await?;
    Ok(rows
        .into_iter()
        .find(|(_, _, s, _, _)| s.as_bytes() == secret.as_bytes())
        .map(|(key_id, key_name, _, client_id, expires_in)| {
            let principal = Principal::ClientKey {
                key_id,
                key_name,
                scope: if client_id == 0 {
                    ClientScope::AllClients
                } else {
                    ClientScope::Client(client_id)
                },
            };
            (principal, Duration::from_secs(expires_in.max(0) as u64))
        }))
}

/// The `logs` row validate_api_key.php writes for an unknown or expired key.
pub async fn log_failed_key(pool: &Pool, meta: &RequestMeta) -> Result<(), mysql_async::Error> {
    let description = format!("Incorrect or expired key (endpoint: {})", meta.path);
    pool.get_conn()
        .await?
        .exec_drop(
            "INSERT INTO logs (log_type, log_action, log_description, log_ip, log_user_agent) \
             VALUES ('API', 'Failed', ?, ?, ?)",
            (
                truncate_bytes(&description, 1000),
                &meta.ip,
                &meta.user_agent,
            ),
        )
        .await
}
