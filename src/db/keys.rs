//! API-key lookup and the log row for a failed attempt
//! (ITFlow api/v1/validate_api_key.php).

use crate::api::meta::RequestMeta;
use crate::domain::{ClientScope, Principal};
use crate::php::truncate_bytes;
use mysql_async::{Pool, prelude::*};

/// The unexpired key whose secret is exactly `secret`.
///
/// ITFlow matches `api_key_secret = '$api_key'` under the column's
/// case-insensitive, pad-space collation; replyd then keeps only a row whose
/// secret is byte-for-byte equal, so `ABC` or `abc ` never pass for `abc`.
pub async fn find_key(pool: &Pool, secret: &str) -> Result<Option<Principal>, mysql_async::Error> {
    let rows: Vec<(i64, String, String, i64)> = pool
        .get_conn()
        .await?
        .exec(
            "SELECT api_key_id, api_key_name, api_key_secret, api_key_client_id \
             FROM api_keys WHERE api_key_secret = ? AND api_key_expire > NOW()",
            (secret,),
        )
        .await?;
    Ok(rows
        .into_iter()
        .find(|(_, _, s, _)| s.as_bytes() == secret.as_bytes())
        .map(|(key_id, key_name, _, client_id)| Principal::ClientKey {
            key_id,
            key_name,
            scope: if client_id == 0 {
                ClientScope::AllClients
            } else {
                ClientScope::Client(client_id)
            },
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
