//! v2 list parameters, each checked, every invalid one reported at once.
//! Parameters v2 does not know are ignored (a cache-buster, say).

use crate::db::views::{Cursor, Order};
use crate::error::{ApiError, FieldError};
use crate::messages::Message;
use jiff::Timestamp;

/// What a list asks for, valid.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub limit: u64,
    pub cursor: Option<Cursor>,
    pub order: Order,
    pub reply_type: Option<&'static str>,
    pub include_archived: bool,
    pub updated_since: Option<Timestamp>,
}

/// Replies on a page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u64 = 50;

/// `true`/`false` (also `1`/`0`).
pub fn boolean(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

impl ListParams {
    /// The list parameters of `query` (the last of repeated ones counts);
    /// `default_order` when `order` is absent; `max_limit` the server's
    /// page size.
    pub fn parse(query: &str, default_order: Order, max_limit: u64) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::BadRequest(Message::BodyUnreadable(e.to_string())))?;
        let get = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut errors = Vec::new();
        let mut check = |name: &str, ok: bool, message: Message| {
            if !ok {
                errors.push(FieldError::new(name, message));
            }
        };
        let limit = get("limit").map(|v| v.trim().parse::<u64>().ok());
        let limit = match limit {
            None => DEFAULT_LIMIT.min(max_limit),
            Some(n) => {
                let n = n.filter(|n| (1..=max_limit).contains(n));
                check("limit", n.is_some(), Message::LimitRange(max_limit));
                n.unwrap_or(1)
            }
        };
        let order = match get("order").map(|v| v.trim().to_ascii_lowercase()) {
            None => default_order,
            Some(v) if v == "asc" => Order::Asc,
            Some(v) if v == "desc" => Order::Desc,
            Some(_) => {
                check("order", false, Message::OrderValue);
                default_order
            }
        };
        let cursor = get("cursor").filter(|v| !v.trim().is_empty()).map(|raw| {
            // A cursor belongs to the order it was made for.
            let c = Cursor::decode(raw).filter(|c| c.order == order);
            check("cursor", c.is_some(), Message::CursorInvalid);
            c
        });
        let reply_type = get("type").map(|v| {
            let t = match v.trim().to_ascii_lowercase().as_str() {
                "internal" => Some("Internal"),
                "public" => Some("Public"),
                "client" => Some("Client"),
                _ => None,
            };
            check("type", t.is_some(), Message::TypeValue);
            t
        });
        let include_archived = get("include_archived").map(|v| {
            let b = boolean(v);
            check("include_archived", b.is_some(), Message::FieldNotBoolean);
            b.unwrap_or(false)
        });
        let updated_since = get("updated_since").map(|v| {
            let ts = rfc3339(v);
            check("updated_since", ts.is_some(), Message::UpdatedSinceInvalid);
            ts
        });
        if !errors.is_empty() {
            return Err(ApiError::InvalidFields(errors));
        }
        Ok(ListParams {
            limit,
            cursor: cursor.flatten(),
            order,
            reply_type: reply_type.flatten(),
            include_archived: include_archived.unwrap_or(false),
            updated_since: updated_since.flatten(),
        })
    }
}

/// An RFC 3339 date-time with its offset (`T` or a space between date and
/// time); ISO 8601's other forms are refused.
pub fn rfc3339(raw: &str) -> Option<Timestamp> {
    match crate::domain::Created::parse(raw).ok()? {
        crate::domain::Created::Instant(ts) => Some(ts),
        crate::domain::Created::Local(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(query: &str) -> Vec<String> {
        match ListParams::parse(query, Order::Asc, 100) {
            Err(ApiError::InvalidFields(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn every_invalid_parameter_is_listed() {
        assert_eq!(
            fields(
                "limit=0&order=up&type=x&include_archived=maybe&updated_since=yesterday&cursor=zz"
            ),
            [
                "limit",
                "order",
                "cursor",
                "type",
                "include_archived",
                "updated_since"
            ]
        );
        assert_eq!(fields("limit=101"), ["limit"]);
        let p = ListParams::parse("limit=100&order=DESC&type=Public", Order::Asc, 100).unwrap();
        assert_eq!(
            (p.limit, p.order, p.reply_type),
            (100, Order::Desc, Some("Public"))
        );
        let d = ListParams::parse("", Order::Desc, 20).unwrap();
        assert_eq!((d.limit, d.order), (20, Order::Desc));
    }

    #[test]
    fn a_cursor_keeps_its_order() {
        let asc = Cursor::new(Order::Asc, 5).encode();
        assert!(ListParams::parse(&format!("cursor={asc}"), Order::Asc, 50).is_ok());
        assert_eq!(fields(&format!("cursor={asc}&order=desc")), ["cursor"]);
    }
}
