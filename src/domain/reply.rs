//! A create.php request, validated. Everything checked here needs no
//! database; what does (the ticket, its status, its tasks) is checked inside
//! the write transaction.

use crate::messages::Message;
use std::fmt;

/// `ticket_replies.ticket_reply_type` values an agent writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyType {
    Internal,
    Public,
}

impl ReplyType {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyType::Internal => "Internal",
            ReplyType::Public => "Public",
        }
    }

    /// The agent form's `public_reply_type` (agent/post/ticket.php,
    /// add_ticket_reply): 0 or absent Internal, 1 Public, 2 Public with
    /// email, which replyd refuses because it sends no email.
    pub fn from_param(value: Option<&str>) -> Result<Self, Message> {
        let Some(raw) = value else {
            return Ok(ReplyType::Internal);
        };
        if raw.trim().is_empty() {
            return Ok(ReplyType::Internal);
        }
        match parse_whole_number(raw) {
            Some(0) => Ok(ReplyType::Internal),
            Some(1) => Ok(ReplyType::Public),
            Some(2) => Err(Message::PublicReplyWithEmail),
            // The value is not repeated back: say what is allowed.
            _ => Err(Message::PublicReplyType),
        }
    }
}

impl fmt::Display for ReplyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Time worked on a reply; stored as `HH:MM:SS` like the agent form's
/// `sprintf("%02d:%02d:%02d", $hours, $minutes, $seconds)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeWorked {
    hours: u16,
    minutes: u8,
    seconds: u8,
}

/// MariaDB's TIME column tops out at 838:59:59.
pub const MAX_HOURS: u64 = 838;

impl TimeWorked {
    /// Whole numbers only: hours 0–838, minutes and seconds 0–59. Absent or
    /// empty means 0 (the agent form sends empty fields as "").
    pub fn from_params(
        hours: Option<&str>,
        minutes: Option<&str>,
        seconds: Option<&str>,
    ) -> Result<Self, Message> {
        let part = |v: Option<&str>, max: u64| -> Option<u64> {
            match v {
                None => Some(0),
                Some(s) if s.trim().is_empty() => Some(0),
                Some(s) => parse_whole_number(s).filter(|n| *n <= max),
            }
        };
        match (part(hours, MAX_HOURS), part(minutes, 59), part(seconds, 59)) {
            (Some(h), Some(m), Some(s)) => Ok(TimeWorked {
                hours: h as u16,
                minutes: m as u8,
                seconds: s as u8,
            }),
            _ => Err(Message::TimeWorkedRange),
        }
    }
}

impl fmt::Display for TimeWorked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}:{:02}",
            self.hours, self.minutes, self.seconds
        )
    }
}

/// A non-negative whole number written in decimal digits (surrounding
/// whitespace allowed). Unlike `intval`, "1.5", "2x" and "-1" are refused.
fn parse_whole_number(s: &str) -> Option<u64> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(t.parse().unwrap_or(u64::MAX))
}

/// The status a reply moves the ticket to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// `status` absent or 0: leave the ticket's status as it is.
    Keep,
    /// A `ticket_statuses` id, still to be checked against the table.
    To(i64),
}

/// ITFlow's seeded status ids that carry behaviour.
pub const STATUS_NEW: i64 = 1;
pub const STATUS_RESOLVED: i64 = 4;
pub const STATUS_CLOSED: i64 = 5;

/// Where a request's named values come from (the API layer's parameters:
/// body first, then query string, for the legacy dialect).
pub trait Fields {
    fn field(&self, name: &str) -> Option<&str>;

    /// The value as PHP's `intval()` reads it.
    fn int_field(&self, name: &str) -> Option<i64> {
        self.field(name).map(crate::php::intval)
    }
}

/// A create.php request whose parameters are valid on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReply {
    pub ticket_id: i64,
    /// `client_id` parameter, 0 when absent.
    pub client_id: i64,
    /// The reply text (HTML allowed), None for a status-only call.
    pub text: Option<String>,
    pub reply_type: ReplyType,
    pub time_worked: TimeWorked,
    pub status: StatusChange,
}

impl NewReply {
    /// Validate create.php's parameters (body first, then query string).
    pub fn parse(p: &impl Fields) -> Result<Self, Message> {
        let ticket_id = p.int_field("ticket_id").unwrap_or(0);
        if ticket_id == 0 {
            return Err(Message::TicketIdRequired);
        }
        // ITFlow's handler tests `!empty($ticket_reply)` (so "0" is no
        // reply); replyd also treats a reply of only whitespace as none.
        let text = p
            .field("ticket_reply")
            .filter(|t| !t.trim().is_empty() && *t != "0")
            .map(str::to_owned);
        let status = match p.int_field("status").unwrap_or(0) {
            s if s > 0 => StatusChange::To(s),
            0 => StatusChange::Keep,
            s => {
                return Err(Message::StatusNotAnId(s));
            }
        };
        if text.is_none() && status == StatusChange::Keep {
            return Err(Message::NothingToDo);
        }
        let reply_type = ReplyType::from_param(p.field("public_reply_type"))?;
        let time_worked =
            TimeWorked::from_params(p.field("hours"), p.field("minutes"), p.field("seconds"))?;
        Ok(NewReply {
            ticket_id,
            client_id: p.int_field("client_id").unwrap_or(0),
            text,
            reply_type,
            time_worked,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form body's fields (the last of repeated keys wins).
    struct Form(Vec<(String, String)>);

    impl Fields for Form {
        fn field(&self, name: &str) -> Option<&str> {
            self.0
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    fn parse(body: &str) -> Result<NewReply, Message> {
        NewReply::parse(&Form(serde_urlencoded::from_str(body).unwrap()))
    }

    fn refusal(body: &str) -> String {
        match parse(body) {
            Err(m) => m.to_string(),
            other => panic!("expected a refusal for {body:?}, got {other:?}"),
        }
    }

    #[test]
    fn time_worked_is_hh_mm_ss() {
        let r = parse("ticket_id=1&ticket_reply=x&hours=1&minutes=2&seconds=3").unwrap();
        assert_eq!(r.time_worked.to_string(), "01:02:03");
        let r = parse("ticket_id=1&ticket_reply=x&hours=838&minutes=59&seconds=59").unwrap();
        assert_eq!(r.time_worked.to_string(), "838:59:59");
        let r = parse("ticket_id=1&ticket_reply=x&hours=&minutes=").unwrap();
        assert_eq!(r.time_worked.to_string(), "00:00:00");
        for bad in [
            "hours=839",
            "minutes=60",
            "seconds=60",
            "hours=1.5",
            "minutes=-1",
            "seconds=abc",
        ] {
            let m = refusal(&format!("ticket_id=1&ticket_reply=x&{bad}"));
            assert!(m.starts_with("hours, minutes and seconds"), "{bad}: {m}");
        }
    }

    #[test]
    fn reply_type_and_status() {
        assert_eq!(
            parse("ticket_id=1&ticket_reply=x").unwrap().reply_type,
            ReplyType::Internal
        );
        assert_eq!(
            parse("ticket_id=1&ticket_reply=x&public_reply_type=1")
                .unwrap()
                .reply_type,
            ReplyType::Public
        );
        assert!(
            refusal("ticket_id=1&ticket_reply=x&public_reply_type=2").contains("sends no email")
        );
        assert!(refusal("ticket_id=1&ticket_reply=x&public_reply_type=7").contains("must be 0"));
        let r = parse("ticket_id=1&status=4").unwrap();
        assert_eq!((r.status, r.text), (StatusChange::To(4), None));
        assert!(refusal("ticket_id=1&ticket_reply=%20%20").starts_with("Nothing to do"));
        assert!(refusal("ticket_id=1&ticket_reply=0").starts_with("Nothing to do"));
        assert!(refusal("ticket_id=1&status=-2").contains("not -2"));
        assert_eq!(
            refusal("ticket_id=0&ticket_reply=x"),
            "ticket_id is required."
        );
        assert_eq!(refusal("ticket_reply=x"), "ticket_id is required.");
    }
}
