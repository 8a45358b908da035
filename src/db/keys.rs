//! API-key lookup and the log row for a failed attempt
//! (ITFlow api/v1/validate_api_key.php and, for user-tied keys,
//! api/v1/enforce_api_rbac.php).

use crate::db::take;
use crate::domain::RequestMeta;
use crate::domain::flavour::{Flavour, KeyModel};
use crate::domain::principal::KeyUser;
use crate::domain::{ClientScope, Principal};
use crate::messages::Message;
use crate::php::truncate_bytes;
use mysql_async::{Pool, Row, prelude::*};
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
/// on its very next request, and a refused key (its user inactive, say) is
/// looked up again too. A remembered key is trusted until the earlier of
/// `ttl` after the lookup and its `api_key_expire`; a key deleted or changed
/// in `api_keys`, and for a user-tied key a change to its user's status,
/// role or client lists, therefore takes effect within `ttl`. A `ttl` of
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

    /// [`find_key`], answered from the cache when the key was found valid
    /// less than `ttl` ago.
    pub async fn find_key(
        &self,
        pool: &Pool,
        flavour: Flavour,
        secret: &str,
    ) -> Result<KeyLookup, mysql_async::Error> {
        if self.ttl.is_zero() {
            return Ok(find_key(pool, flavour, secret).await?.0);
        }
        let now = Instant::now();
        if let Some((principal, until)) = self.lock().get(secret)
            && *until > now
        {
            return Ok(KeyLookup::Found(principal.clone()));
        }
        let (lookup, expires_in) = find_key(pool, flavour, secret).await?;
        let KeyLookup::Found(principal) = &lookup else {
            // Forget a key that has stopped being valid.
            self.lock().remove(secret);
            return Ok(lookup);
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
        Ok(lookup)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Principal, Instant)>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the key lookup found.
#[derive(Debug)]
pub enum KeyLookup {
    /// No unexpired key with that secret.
    Unknown,
    /// The key exists but may not be used (HTTP 403, with ITFlow's message).
    Forbidden(Message),
    Found(Principal),
}

const CLIENT_KEY_SQL: &str = "SELECT api_key_id, api_key_name, api_key_secret, api_key_client_id, \
     TIMESTAMPDIFF(SECOND, NOW(), api_key_expire) \
     FROM api_keys WHERE api_key_secret = ? AND api_key_expire > NOW()";

/// The conditions that pick a user's allow rows and deny rows of
/// `user_client_permissions cp` (ITFlow functions/auth.php); before 2.4.6
/// (no `permission_type`) every row is an allow.
pub(crate) fn client_list_filters(permission_type: bool) -> (&'static str, &'static str) {
    if permission_type {
        (
            "AND cp.permission_type <> 'deny'",
            "AND cp.permission_type = 'deny'",
        )
    } else {
        ("", "AND FALSE")
    }
}

/// The client ids of a `GROUP_CONCAT` list.
pub(crate) fn client_ids(list: Option<String>) -> Vec<i64> {
    list.unwrap_or_default()
        .split(',')
        .filter_map(|id| id.trim().parse().ok())
        .collect()
}

/// The key, its user, the user's role, `module_support` level and client
/// lists, in one query.
fn user_key_sql(permission_type: bool) -> String {
    let (allow, deny) = client_list_filters(permission_type);
    format!(
        "SELECT k.api_key_id, k.api_key_name, k.api_key_secret, k.api_key_user_id, \
         u.user_id, u.user_name, u.user_type, u.user_status, u.user_archived_at IS NOT NULL, \
         COALESCE(r.role_is_admin, 0), \
         (SELECT MAX(p.user_role_permission_level) FROM modules m \
            JOIN user_role_permissions p ON p.module_id = m.module_id \
            WHERE m.module_name = 'module_support' AND p.user_role_id = u.user_role_id), \
         (SELECT GROUP_CONCAT(cp.client_id) FROM user_client_permissions cp WHERE cp.user_id = u.user_id {allow}), \
         (SELECT GROUP_CONCAT(cp.client_id) FROM user_client_permissions cp WHERE cp.user_id = u.user_id {deny}), \
         TIMESTAMPDIFF(SECOND, NOW(), k.api_key_expire) \
         FROM api_keys k \
         LEFT JOIN users u ON u.user_id = k.api_key_user_id \
         LEFT JOIN user_roles r ON r.role_id = u.user_role_id \
         WHERE k.api_key_secret = ? AND k.api_key_expire > NOW()"
    )
}

/// Find the unexpired key whose secret is exactly `secret`, and how long
/// until it expires.
///
/// ITFlow matches `api_key_secret = '$api_key'` under the column's
/// case-insensitive, pad-space collation; replyd then keeps only a row whose
/// secret is byte-for-byte equal, so `ABC` or `abc ` never pass for `abc`.
pub async fn find_key(
    pool: &Pool,
    flavour: Flavour,
    secret: &str,
) -> Result<(KeyLookup, Duration), mysql_async::Error> {
    let seconds = |s: i64| Duration::from_secs(s.max(0) as u64);
    let mut conn = pool.get_conn().await?;
    match flavour.key_model() {
        KeyModel::ClientScoped => {
            let rows: Vec<(i64, String, String, i64, i64)> =
                conn.exec(CLIENT_KEY_SQL, (secret,)).await?;
            let found = rows
                .into_iter()
                .find(|(_, _, s, _, _)| s.as_bytes() == secret.as_bytes());
            Ok(match found {
                None => (KeyLookup::Unknown, Duration::ZERO),
                Some((key_id, key_name, _, client_id, expires)) => {
                    let scope = if client_id == 0 {
                        ClientScope::AllClients
                    } else {
                        ClientScope::Client(client_id)
                    };
                    let principal = Principal::ClientKey {
                        key_id,
                        key_name,
                        scope,
                    };
                    (KeyLookup::Found(principal), seconds(expires))
                }
            })
        }
        KeyModel::UserTied { allow_deny_lists } => {
            let rows: Vec<Row> = conn.exec(user_key_sql(allow_deny_lists), (secret,)).await?;
            for row in rows {
                let key = UserKeyRow::from_row(row)?;
                if key.secret.as_bytes() == secret.as_bytes() {
                    let expires = seconds(key.expires_in);
                    return Ok((key.into_lookup(), expires));
                }
            }
            Ok((KeyLookup::Unknown, Duration::ZERO))
        }
    }
}

struct UserKeyRow {
    key_id: i64,
    key_name: String,
    secret: String,
    key_user_id: i64,
    user_id: Option<i64>,
    user_name: Option<String>,
    user_type: Option<i64>,
    user_status: Option<i64>,
    archived: Option<bool>,
    is_admin: i64,
    support_level: Option<i64>,
    allow: Option<String>,
    deny: Option<String>,
    expires_in: i64,
}

impl UserKeyRow {
    fn from_row(mut r: Row) -> Result<Self, mysql_async::Error> {
        Ok(UserKeyRow {
            key_id: take(&mut r, 0)?,
            key_name: take(&mut r, 1)?,
            secret: take(&mut r, 2)?,
            key_user_id: take(&mut r, 3)?,
            user_id: take(&mut r, 4)?,
            user_name: take(&mut r, 5)?,
            user_type: take(&mut r, 6)?,
            user_status: take(&mut r, 7)?,
            archived: take(&mut r, 8)?,
            is_admin: take(&mut r, 9)?,
            support_level: take(&mut r, 10)?,
            allow: take(&mut r, 11)?,
            deny: take(&mut r, 12)?,
            expires_in: take(&mut r, 13)?,
        })
    }

    /// enforce_api_rbac.php: the key must name a user that exists, is an
    /// agent (user_type 1), active (user_status 1) and not archived.
    fn into_lookup(self) -> KeyLookup {
        if self.key_user_id == 0 {
            return KeyLookup::Forbidden(Message::KeyNotTiedToUser);
        }
        let valid = self.user_id.is_some()
            && self.user_type == Some(1)
            && self.user_status == Some(1)
            && self.archived == Some(false);
        if !valid {
            return KeyLookup::Forbidden(Message::KeyUserInvalid);
        }
        let ids = client_ids;
        let is_admin = self.is_admin == 1;
        KeyLookup::Found(Principal::UserKey {
            key_id: self.key_id,
            key_name: self.key_name,
            user: KeyUser {
                user_id: self.key_user_id,
                name: self.user_name.unwrap_or_default(),
                is_admin,
                support_level: self.support_level.unwrap_or(0),
                scope: if is_admin {
                    ClientScope::AllClients
                } else {
                    ClientScope::from_lists(ids(self.allow), ids(self.deny))
                },
            },
        })
    }
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
