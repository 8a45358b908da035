//! Safe retries of a create (`Idempotency-Key`), kept in replyd's own
//! table `replyd_idempotency`, which only `replyd doctor --apply` creates.
//!
//! The record is written inside the create's own transaction: the key is
//! claimed with an INSERT before the ticket is locked, and the answer
//! stored before COMMIT. So a record exists exactly when its reply was
//! committed: a refusal, a 503 or a COMMIT whose outcome is unknown leaves
//! none (or one whose reply exists), and a retry either replays the
//! committed answer or runs afresh. A second request with the same key
//! while the first is in flight waits on the first's row lock (its INSERT
//! blocks), then replays what the first committed, or runs itself when the
//! first wrote nothing.

use crate::error::ApiError;
use crate::messages::Message;
use mysql_async::prelude::*;

/// replyd's table (never one of ITFlow's).
pub const TABLE: &str = "replyd_idempotency";

/// How long an answer is kept; older records are ignored and deleted when
/// their key is used again.
pub const TTL_HOURS: u32 = 24;

/// What `replyd doctor --apply` runs.
pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS `replyd_idempotency` (\
     `idempotency_api_key_id` INT NOT NULL, \
     `idempotency_key` VARBINARY(255) NOT NULL, \
     `idempotency_request_hash` BINARY(32) NOT NULL, \
     `idempotency_status` SMALLINT UNSIGNED NOT NULL, \
     `idempotency_content_type` VARCHAR(100) NOT NULL, \
     `idempotency_body` MEDIUMBLOB NOT NULL, \
     `idempotency_created_at` DATETIME NOT NULL, \
     PRIMARY KEY (`idempotency_api_key_id`, `idempotency_key`)\
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

/// Longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A request's claim on a key: whose (the API key's id, so two clients'
/// keys never collide), which key, and the request's fingerprint.
#[derive(Debug, Clone)]
pub struct Claim {
    pub api_key_id: i64,
    pub key: String,
    pub request_hash: [u8; 32],
}

/// A kept answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What claiming found.
pub enum Claimed {
    /// The key is this request's now (inside its transaction).
    New,
    /// The same request was answered before: its answer.
    Replay(Stored),
}

/// MariaDB's "duplicate entry" and "table doesn't exist".
const DUPLICATE_KEY: u16 = 1062;
const NO_SUCH_TABLE: u16 = 1146;

fn server_code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

/// An `Idempotency-Key` header's value: 1 to 255 visible ASCII characters.
pub fn valid_key(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_KEY_LEN && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Claim `claim`'s key in the transaction `q`, before anything else is
/// locked. Another request's uncommitted claim makes the INSERT wait for it
/// (bounded by the create's deadline).
pub async fn claim<Q: Queryable>(q: &mut Q, claim: &Claim) -> Result<Claimed, ApiError> {
    match insert(q, claim).await {
        Ok(()) => return Ok(Claimed::New),
        Err(e) if server_code(&e) == Some(DUPLICATE_KEY) => {}
        Err(e) if server_code(&e) == Some(NO_SUCH_TABLE) => {
            return Err(ApiError::Refused(Message::IdempotencyNotEnabled));
        }
        Err(e) => return Err(e.into()),
    }
    // The duplicate key check left a shared lock on the committed row; every
    // request waiting for it holds one, so reading it takes no more (an
    // exclusive lock here would deadlock two waiters).
    let row: Option<KeptRow> = q
        .exec_first(
            format!(
                "SELECT idempotency_request_hash, idempotency_status, idempotency_content_type, \
                 idempotency_body, \
                 idempotency_created_at <= UTC_TIMESTAMP() - INTERVAL {TTL_HOURS} HOUR \
                 FROM {TABLE} WHERE idempotency_api_key_id = ? AND idempotency_key = ? \
                 LOCK IN SHARE MODE"
            ),
            (claim.api_key_id, claim.key.as_bytes()),
        )
        .await?;
    match row {
        Some((_, _, _, _, true)) | None => {
            // Expired (or gone meanwhile): forgotten, the key is free.
            q.exec_drop(
                format!(
                    "DELETE FROM {TABLE} WHERE idempotency_api_key_id = ? AND idempotency_key = ?"
                ),
                (claim.api_key_id, claim.key.as_bytes()),
            )
            .await?;
            insert(q, claim).await?;
            Ok(Claimed::New)
        }
        Some((hash, status, content_type, body, false)) => {
            if hash != claim.request_hash {
                return Err(ApiError::Unprocessable(Message::IdempotencyKeyReused));
            }
            Ok(Claimed::Replay(Stored {
                status,
                content_type,
                body,
            }))
        }
    }
}

/// A record: request hash, status, content type, body, expired.
type KeptRow = (Vec<u8>, u16, String, Vec<u8>, bool);

async fn insert<Q: Queryable>(q: &mut Q, claim: &Claim) -> Result<(), mysql_async::Error> {
    q.exec_drop(
        format!(
            "INSERT INTO {TABLE} (idempotency_api_key_id, idempotency_key, \
             idempotency_request_hash, idempotency_status, idempotency_content_type, \
             idempotency_body, idempotency_created_at) \
             VALUES (?, ?, ?, 0, '', '', UTC_TIMESTAMP())"
        ),
        (
            claim.api_key_id,
            claim.key.as_bytes(),
            &claim.request_hash[..],
        ),
    )
    .await
}

/// Keep `answer` as the claimed key's, in the same transaction as the
/// write it answers.
pub async fn record<Q: Queryable>(
    q: &mut Q,
    claim: &Claim,
    answer: &Stored,
) -> Result<(), mysql_async::Error> {
    q.exec_drop(
        format!(
            "UPDATE {TABLE} SET idempotency_status = ?, idempotency_content_type = ?, \
             idempotency_body = ? WHERE idempotency_api_key_id = ? AND idempotency_key = ?"
        ),
        (
            answer.status,
            &answer.content_type,
            &answer.body,
            claim.api_key_id,
            claim.key.as_bytes(),
        ),
    )
    .await
}

/// Whether the connection's database has the table.
pub async fn table_exists<Q: Queryable>(q: &mut Q) -> Result<bool, mysql_async::Error> {
    let found: Option<String> = q
        .exec_first(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (TABLE,),
        )
        .await?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert!(valid_key("a"));
        assert!(valid_key("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(valid_key(&"k".repeat(255)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(256)));
        assert!(!valid_key("a b"));
        assert!(!valid_key("é"));
    }
}
