//! v2's typed answers: a reply and a ticket as integrators read them.
//! Numbers are numbers, times RFC 3339 with the company's offset (ITFlow
//! stores wall-clock times in `settings.config_timezone`), reply types
//! lowercase.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::borrow::Cow;

/// A wall-clock time from ITFlow's tables, as RFC 3339 with the company's
/// offset at that time (`2026-11-20T09:30:00+01:00`). A time a DST change
/// repeats takes the earlier offset, one it skips moves on by the gap
/// (jiff's "compatible" rule, as most tz libraries). Written by hand: v2's answers
/// format two or three of these per reply.
pub fn rfc3339(tz: &TimeZone, dt: DateTime) -> String {
    let mut out = Vec::with_capacity(25);
    write_rfc3339(&mut out, tz, dt);
    String::from_utf8(out).expect("digits and punctuation")
}

/// [`rfc3339`], appended to `out` (without quotes).
pub fn write_rfc3339(out: &mut Vec<u8>, tz: &TimeZone, dt: DateTime) {
    // The instant, then the wall clock at it (a skipped time moves on).
    let (dt, offset_seconds) = match tz.to_ambiguous_timestamp(dt).compatible() {
        Ok(ts) => {
            let offset = tz.to_offset(ts);
            (offset.to_datetime(ts), offset.seconds())
        }
        Err(_) => (dt, 0),
    };
    let two = |out: &mut Vec<u8>, n: i32| {
        out.extend_from_slice(&[b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]);
    };
    let year = i32::from(dt.year());
    two(out, year / 100);
    two(out, year % 100);
    out.push(b'-');
    two(out, i32::from(dt.month()));
    out.push(b'-');
    two(out, i32::from(dt.day()));
    out.push(b'T');
    two(out, i32::from(dt.hour()));
    out.push(b':');
    two(out, i32::from(dt.minute()));
    out.push(b':');
    two(out, i32::from(dt.second()));
    out.push(if offset_seconds < 0 { b'-' } else { b'+' });
    let minutes = offset_seconds.abs() / 60;
    two(out, minutes / 60);
    out.push(b':');
    two(out, minutes % 60);
}

/// `ticket_reply_type` as v2 writes it: lowercase.
pub fn reply_type(stored: &[u8]) -> Cow<'static, str> {
    match stored {
        b"Internal" => Cow::Borrowed("internal"),
        b"Public" => Cow::Borrowed("public"),
        b"Client" => Cow::Borrowed("client"),
        other => Cow::Owned(String::from_utf8_lossy(other).to_lowercase()),
    }
}

/// A reply as read, borrowing its text from the database's answer: what
/// v2 writes (by hand, in one pass, as v1 does) and what [`ReplyView`]
/// documents (a test holds the two equal).
#[derive(Debug, Clone, Copy)]
pub struct ReplyRow<'a> {
    pub id: i64,
    pub ticket_id: i64,
    /// `ticket_reply_type` as stored.
    pub kind: &'a [u8],
    pub body: &'a [u8],
    pub time_worked_seconds: Option<i64>,
    pub created_at: Option<DateTime>,
    pub updated_at: Option<DateTime>,
    pub archived_at: Option<DateTime>,
    /// `ticket_reply_by`.
    pub by: i64,
    /// The user's or contact's name.
    pub name: Option<&'a [u8]>,
}

impl ReplyRow<'_> {
    fn author(&self) -> AuthorView {
        let kind = reply_type(self.kind);
        AuthorView::of(
            if kind == "client" { "Client" } else { "" },
            self.by,
            self.name.map(|n| String::from_utf8_lossy(n).into_owned()),
        )
    }

    /// The typed view.
    pub fn view(&self, tz: &TimeZone) -> ReplyView {
        let time = |t: Option<DateTime>| t.map(|t| rfc3339(tz, t));
        ReplyView {
            id: self.id,
            ticket_id: self.ticket_id,
            kind: reply_type(self.kind).into_owned(),
            body: String::from_utf8_lossy(self.body).into_owned(),
            time_worked_seconds: self.time_worked_seconds,
            author: self.author(),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
            archived_at: time(self.archived_at),
        }
    }

    /// The reply's JSON, as serde_json writes its [`ReplyView`].
    pub fn write_json(&self, out: &mut Vec<u8>, tz: &TimeZone) {
        use crate::php::json::{write_plain_json_bytes, write_plain_json_str};
        let mut int = itoa::Buffer::new();
        let time = |out: &mut Vec<u8>, t: Option<DateTime>| match t {
            Some(t) => {
                out.push(b'"');
                write_rfc3339(out, tz, t);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        };
        out.extend_from_slice(b"{\"id\":");
        out.extend_from_slice(int.format(self.id).as_bytes());
        out.extend_from_slice(b",\"ticket_id\":");
        out.extend_from_slice(int.format(self.ticket_id).as_bytes());
        out.extend_from_slice(b",\"type\":");
        write_plain_json_str(out, &reply_type(self.kind));
        out.extend_from_slice(b",\"body\":");
        write_plain_json_bytes(out, self.body);
        out.extend_from_slice(b",\"time_worked_seconds\":");
        match self.time_worked_seconds {
            Some(t) => out.extend_from_slice(int.format(t).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        let author = self.author();
        out.extend_from_slice(match author.kind {
            AuthorKind::User => b",\"author\":{\"kind\":\"user\",\"id\":".as_slice(),
            AuthorKind::Contact => b",\"author\":{\"kind\":\"contact\",\"id\":",
            AuthorKind::Api => b",\"author\":{\"kind\":\"api\",\"id\":",
        });
        match author.id {
            Some(id) => out.extend_from_slice(int.format(id).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"name\":");
        match (author.kind, self.name) {
            (AuthorKind::Api, _) | (_, None) => out.extend_from_slice(b"null"),
            (_, Some(name)) => write_plain_json_bytes(out, name),
        }
        out.extend_from_slice(b"},\"created_at\":");
        time(out, self.created_at);
        out.extend_from_slice(b",\"updated_at\":");
        time(out, self.updated_at);
        out.extend_from_slice(b",\"archived_at\":");
        time(out, self.archived_at);
        out.push(b'}');
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
    /// null only for a time MariaDB holds as zero (`0000-00-00 00:00:00`),
    /// which is no date.
    #[schema(format = DateTime, example = "2026-11-20T09:30:00+01:00")]
    pub created_at: Option<String>,
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
    /// null only for a zero time, as a reply's.
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
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
        let ny = TimeZone::get("America/St_Johns").unwrap();
        assert_eq!(rfc3339(&ny, winter), "2026-01-10T09:30:00-03:30");
        // Held to jiff's own formatting across a year's offsets.
        for tz in [tz, ny, TimeZone::get("Asia/Kolkata").unwrap()] {
            for day in (0..365).step_by(7) {
                let dt = winter + jiff::Span::new().days(day).minutes(day * 13);
                let jiff = tz
                    .to_zoned(dt)
                    .unwrap()
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string();
                assert_eq!(rfc3339(&tz, dt), jiff);
            }
        }
    }

    #[test]
    fn the_hand_written_json_is_the_views() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let at: DateTime = "2026-11-20 09:30:00".parse().unwrap();
        let base = ReplyRow {
            id: 12,
            ticket_id: 3,
            kind: b"Public",
            body: "<p>a/b \"q\" é 😀\n</p>".as_bytes(),
            time_worked_seconds: Some(900),
            created_at: Some(at),
            updated_at: None,
            archived_at: Some(at),
            by: 2,
            name: Some(b"Tess \"T\""),
        };
        let rows = [
            base,
            ReplyRow {
                kind: b"Client",
                time_worked_seconds: None,
                ..base
            },
            ReplyRow {
                kind: b"Internal",
                by: 0,
                name: None,
                ..base
            },
            ReplyRow {
                name: None,
                created_at: None,
                body: b"bad \xff",
                ..base
            },
        ];
        for row in rows {
            let mut out = Vec::new();
            row.write_json(&mut out, &tz);
            let view = serde_json::to_vec(&row.view(&tz)).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(view).unwrap()
            );
        }
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
