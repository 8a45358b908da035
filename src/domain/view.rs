//! v2's typed answers: a reply and a ticket as integrators read them.
//! Numbers are numbers, times RFC 3339 with the company's offset (ITFlow
//! stores wall-clock times in `settings.config_timezone`), reply types
//! lowercase.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Serialize;

/// A wall-clock time from ITFlow's tables, as RFC 3339 with the company's
/// offset at that time (`2026-11-20T09:30:00+01:00`).
pub fn rfc3339(tz: &TimeZone, dt: DateTime) -> String {
    match tz.to_zoned(dt) {
        Ok(zoned) => zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        // Outside jiff's range (year 0000 and the like): as UTC.
        Err(_) => format!("{}Z", dt.strftime("%Y-%m-%dT%H:%M:%S")),
    }
}

/// Who wrote a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthorKind {
    /// An agent (`users`).
    User,
    /// A customer (`contacts`): a `Client` reply.
    Contact,
    /// An API key with no user (first-generation keys write user 0).
    Api,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuthorView {
    pub kind: AuthorKind,
    /// The user's or contact's id; null for `api`.
    pub id: Option<i64>,
    /// Their name; null when they no longer exist.
    pub name: Option<String>,
}

impl AuthorView {
    /// ITFlow keeps the contact's id in `ticket_reply_by` for `Client`
    /// replies and the user's otherwise (0: no user).
    pub fn of(reply_type: &str, by: i64, name: Option<String>) -> AuthorView {
        let kind = match reply_type {
            "Client" => AuthorKind::Contact,
            _ if by == 0 => AuthorKind::Api,
            _ => AuthorKind::User,
        };
        AuthorView {
            kind,
            id: (kind != AuthorKind::Api).then_some(by),
            name: name.filter(|_| kind != AuthorKind::Api),
        }
    }
}

/// A reply (`GET /api/v2/replies/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReplyView {
    pub id: i64,
    pub ticket_id: i64,
    /// `internal`, `public` or `client`.
    #[serde(rename = "type")]
    #[schema(example = "public", pattern = "^(internal|public|client)$")]
    pub kind: String,
    /// The reply's HTML, as stored.
    pub body: String,
    /// null when the reply carries no time (customers' replies).
    pub time_worked_seconds: Option<i64>,
    pub author: AuthorView,
    #[schema(format = DateTime, example = "2026-11-20T09:30:00+01:00")]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
    #[schema(format = DateTime)]
    pub archived_at: Option<String>,
}

/// Something a ticket points at, with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NamedRef {
    pub id: i64,
    /// null when the row it names is gone.
    pub name: Option<String>,
}

/// A ticket (`GET /api/v2/tickets/{ticket}`), without its replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TicketView {
    pub id: i64,
    /// The ticket's prefix and number as agents see it (`TCK-12`).
    #[schema(example = "TCK-12")]
    pub reference: String,
    pub prefix: Option<String>,
    pub number: i64,
    pub subject: String,
    pub status: NamedRef,
    /// null for a ticket of no client.
    pub client: Option<NamedRef>,
    pub contact: Option<NamedRef>,
    pub assignee: Option<NamedRef>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
    #[schema(format = DateTime)]
    pub resolved_at: Option<String>,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
}

/// A page of replies. `next_cursor` is null on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplyPage {
    pub data: Vec<ReplyView>,
    pub next_cursor: Option<String>,
}

/// A ticket with the first page of its replies (oldest first);
/// `replies_next_cursor` continues with `GET
/// /api/v2/tickets/{ticket}/replies?cursor=...`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketWithReplies {
    #[serde(flatten)]
    pub ticket: TicketView,
    pub replies: Vec<ReplyView>,
    pub replies_next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_the_company_offset() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let winter: DateTime = "2026-01-10 09:30:00".parse().unwrap();
        let summer: DateTime = "2026-07-10 09:30:00".parse().unwrap();
        assert_eq!(rfc3339(&tz, winter), "2026-01-10T09:30:00+01:00");
        assert_eq!(rfc3339(&tz, summer), "2026-07-10T09:30:00+02:00");
        assert_eq!(rfc3339(&TimeZone::UTC, winter), "2026-01-10T09:30:00+00:00");
    }

    #[test]
    fn authors_by_reply_type() {
        let user = AuthorView::of("Public", 3, Some("Ann".into()));
        assert_eq!((user.kind, user.id), (AuthorKind::User, Some(3)));
        let contact = AuthorView::of("Client", 7, Some("Bob".into()));
        assert_eq!((contact.kind, contact.id), (AuthorKind::Contact, Some(7)));
        let api = AuthorView::of("Internal", 0, None);
        assert_eq!((api.kind, api.id, api.name), (AuthorKind::Api, None, None));
    }
}
