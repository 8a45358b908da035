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
    /// email (`email_replies`); the reply type and whether it is emailed.
    pub fn from_param(value: Option<&str>) -> Result<(Self, bool), Message> {
        let Some(raw) = value else {
            return Ok((ReplyType::Internal, false));
        };
        if raw.trim().is_empty() {
            return Ok((ReplyType::Internal, false));
        }
        match parse_whole_number(raw) {
            Some(0) => Ok((ReplyType::Internal, false)),
            Some(1) => Ok((ReplyType::Public, false)),
            Some(2) => Ok((ReplyType::Public, true)),
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// `status` absent or 0: leave the ticket's status as it is.
    Keep,
    /// A `ticket_statuses` id, still to be checked against the table.
    To(i64),
    /// A status name (`Resolved`, `on hold`), trimmed; matched
    /// case-insensitively against the active statuses inside the write
    /// transaction ([`crate::domain::status`]).
    Named(String),
}

/// ITFlow's seeded status ids that carry behaviour.
pub const STATUS_NEW: i64 = 1;
pub const STATUS_OPEN: i64 = 2;
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

    /// The value trimmed, None when absent or empty.
    fn text_field(&self, name: &str) -> Option<&str> {
        self.field(name).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// A ticket as agents and customers see it: `12`, or `TCK-12` with the
/// ticket's own prefix (compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketNumber {
    pub prefix: Option<String>,
    pub number: i64,
}

impl TicketNumber {
    /// The trailing digits are the number, anything before them the
    /// prefix. None when there are no trailing digits or the number is not
    /// a positive `int`.
    pub fn parse(raw: &str) -> Option<TicketNumber> {
        let t = raw.trim();
        let digits = t.len() - t.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, number) = t.split_at(t.len() - digits);
        let number: i64 = number
            .parse()
            .ok()
            .filter(|n| (1..=i64::from(i32::MAX)).contains(n))?;
        Some(TicketNumber {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            number,
        })
    }
}

/// The ticket a request names: `ticket_id`, `ticket_number`, or both (which
/// must then name the same ticket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub id: Option<i64>,
    pub number: Option<TicketNumber>,
}

impl TicketRef {
    /// `ticket_id` and `ticket_number` of `p`. None when neither is given;
    /// `Err(TicketNotFound)` when `ticket_number` cannot name any ticket.
    pub fn parse(p: &impl Fields) -> Result<Option<TicketRef>, Message> {
        let id = p.int_field("ticket_id").filter(|id| *id != 0);
        let number = match p.text_field("ticket_number") {
            None => None,
            Some(raw) => Some(TicketNumber::parse(raw).ok_or(Message::TicketNotFound)?),
        };
        Ok((id.is_some() || number.is_some()).then_some(TicketRef { id, number }))
    }

    /// The id when the request named the ticket by id alone.
    pub fn id_only(&self) -> Option<i64> {
        match self {
            TicketRef { id, number: None } => *id,
            _ => None,
        }
    }
}

/// A contact or an agent named by id, by email, or by both (which must
/// then name the same person). Emails are trimmed and compared
/// case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRef {
    pub id: Option<i64>,
    pub email: Option<String>,
}

impl PersonRef {
    /// The person named by the parameters `id` and `email`, None when
    /// neither is given (`0` is no one, as in ITFlow's columns). An id that
    /// is not a positive number still names someone, who does not exist:
    /// a request that meant a contact or an agent is never quietly written
    /// as the key's own reply.
    fn parse(p: &impl Fields, id: &str, email: &str) -> Option<PersonRef> {
        let id = p.text_field(id).filter(|v| *v != "0").map(|v| {
            parse_whole_number(v)
                .and_then(|n| i64::try_from(n).ok())
                .unwrap_or(-1)
        });
        let email = p.text_field(email).map(str::to_owned);
        (id.is_some() || email.is_some()).then_some(PersonRef { id, email })
    }

    /// Whether a row with `id` and `email` is the person named.
    pub fn matches(&self, id: i64, email: Option<&str>) -> bool {
        self.id.is_none_or(|want| want == id)
            && self.email.as_deref().is_none_or(|want| {
                email.is_some_and(|have| have.trim().to_lowercase() == want.trim().to_lowercase())
            })
    }
}

/// Who a reply is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// The key: its user, or for a first-generation key
    /// `legacy_author_user_id`.
    Key,
    /// An agent the key writes on behalf of (`author_user_id`,
    /// `author_email`).
    Agent(PersonRef),
    /// The customer: a contact of the ticket's client (`contact_id`,
    /// `contact_email`).
    Customer(PersonRef),
}

/// `created`: when a backdated reply was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// `YYYY-MM-DD HH:MM:SS` on the company's wall clock.
    Local(jiff::civil::DateTime),
    /// RFC 3339 with an offset.
    Instant(jiff::Timestamp),
}

impl Created {
    pub fn parse(raw: &str) -> Result<Created, Message> {
        let t = raw.trim();
        if let Ok(dt) = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", t) {
            return Ok(Created::Local(dt));
        }
        // RFC 3339's date-time: a full date, `T` (or a space), a time with
        // seconds; jiff's Timestamp parser then requires the offset (it
        // would also take ISO 8601's shorter forms, which are refused).
        let b = t.as_bytes();
        let full_date_time =
            b.len() > 19 && matches!(b[10], b'T' | b't' | b' ') && b[13] == b':' && b[16] == b':';
        match t.parse::<jiff::Timestamp>() {
            Ok(ts) if full_date_time => Ok(Created::Instant(ts)),
            _ => Err(Message::CreatedInvalid),
        }
    }

    /// The time on the company's wall clock (`tz`), in whole seconds.
    pub fn local(self, tz: &jiff::tz::TimeZone) -> jiff::civil::DateTime {
        let dt = match self {
            Created::Local(dt) => dt,
            Created::Instant(ts) => ts.to_zoned(tz.clone()).datetime(),
        };
        dt.with().subsec_nanosecond(0).build().unwrap_or(dt)
    }
}

/// A create.php request whose parameters are valid on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReply {
    pub ticket: TicketRef,
    /// `client_id` parameter, 0 when absent.
    pub client_id: i64,
    /// The reply text (HTML allowed), None for a status-only call.
    pub text: Option<String>,
    pub reply_type: ReplyType,
    /// `public_reply_type` 2: the reply is emailed as the agent UI's
    /// "Public + email" does (refused unless `email_replies` is on).
    pub email: bool,
    pub time_worked: TimeWorked,
    pub status: StatusChange,
    pub author: Author,
    pub created: Option<Created>,
    /// Files received with the request (set by the API layer, which stores
    /// them), in order.
    pub attachments: Vec<NewAttachment>,
}

/// A file received with a reply: its checked name and the name its stored
/// copy gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub name: crate::domain::attachment::AttachmentName,
    pub reference: String,
    pub size: u64,
}

impl NewReply {
    /// Validate create.php's parameters (body first, then query string).
    pub fn parse(p: &impl Fields) -> Result<Self, Message> {
        let ticket = TicketRef::parse(p)?.ok_or(Message::TicketIdRequired)?;
        // `markdown=1`: the reply is Markdown, stored as clean HTML.
        let markdown =
            crate::domain::markdown::flag(p.field("markdown")).ok_or(Message::MarkdownFlag)?;
        let text = p.field("ticket_reply").map(|t| {
            if markdown {
                crate::domain::markdown::to_html(t)
            } else {
                t.to_owned()
            }
        });
        // ITFlow's handler tests `!empty($ticket_reply)` (so "0" is no
        // reply); replyd also treats a reply of only whitespace as none.
        let text = text.filter(|t| !t.trim().is_empty() && t != "0");
        let agent = PersonRef::parse(p, "author_user_id", "author_email");
        let customer = PersonRef::parse(p, "contact_id", "contact_email");
        // A customer's reply refuses any status (before judging its value).
        let status_given = p.text_field("status").is_some_and(|s| s != "0");
        if customer.is_some() && status_given {
            return Err(Message::CustomerReplyWith("status"));
        }
        let status = Self::status(p)?;
        let created = p.text_field("created").map(Created::parse).transpose()?;
        if created.is_some() && text.is_none() {
            return Err(Message::CreatedNeedsReply);
        }
        let time_worked =
            TimeWorked::from_params(p.field("hours"), p.field("minutes"), p.field("seconds"))?;
        let author = match (customer, agent) {
            (Some(contact), agent) => {
                // What a customer's reply cannot carry, as the portal's
                // comment form (client/ticket.php) offers none of it.
                let refused = if agent.is_some() {
                    Some("author_user_id and author_email")
                } else if status != StatusChange::Keep {
                    Some("status")
                } else if p.text_field("public_reply_type").is_some() {
                    Some("public_reply_type")
                } else if time_worked != TimeWorked::default() {
                    Some("hours, minutes and seconds")
                } else {
                    None
                };
                if let Some(param) = refused {
                    return Err(Message::CustomerReplyWith(param));
                }
                if text.is_none() {
                    return Err(Message::CustomerReplyNeedsText);
                }
                Author::Customer(contact)
            }
            (None, Some(agent)) => Author::Agent(agent),
            (None, None) => Author::Key,
        };
        if text.is_none() && status == StatusChange::Keep {
            return Err(Message::NothingToDo);
        }
        let (reply_type, email) = ReplyType::from_param(p.field("public_reply_type"))?;
        Ok(NewReply {
            ticket,
            client_id: p.int_field("client_id").unwrap_or(0),
            text,
            reply_type,
            email,
            time_worked,
            status,
            author,
            created,
            attachments: Vec::new(),
        })
    }

    /// `status`: an id as `intval()` reads it (`4`, ` 4`), or a name.
    fn status(p: &impl Fields) -> Result<StatusChange, Message> {
        let Some(raw) = p.text_field("status") else {
            return Ok(StatusChange::Keep);
        };
        let numeric = raw
            .trim_start_matches(['+', '-'])
            .starts_with(|c: char| c.is_ascii_digit());
        if !numeric {
            return Ok(StatusChange::Named(raw.to_owned()));
        }
        match crate::php::intval(raw) {
            s if s > 0 => Ok(StatusChange::To(s)),
            0 => Ok(StatusChange::Keep),
            s => Err(Message::StatusNotAnId(s)),
        }
    }

    /// Whether the reply is the customer's.
    pub fn is_customer(&self) -> bool {
        matches!(self.author, Author::Customer(_))
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
        let r = parse("ticket_id=1&ticket_reply=x&public_reply_type=2").unwrap();
        assert_eq!((r.reply_type, r.email), (ReplyType::Public, true));
        let r = parse("ticket_id=1&ticket_reply=x&public_reply_type=1").unwrap();
        assert_eq!((r.reply_type, r.email), (ReplyType::Public, false));
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

    #[test]
    fn tickets_by_number() {
        let n = |raw: &str| TicketNumber::parse(raw);
        assert_eq!(
            n("12"),
            Some(TicketNumber {
                prefix: None,
                number: 12
            })
        );
        assert_eq!(
            n(" tck-12 "),
            Some(TicketNumber {
                prefix: Some("tck-".into()),
                number: 12
            })
        );
        for bad in ["TCK-", "12a", "0", "TCK-99999999999", ""] {
            assert_eq!(n(bad), None, "{bad}");
        }
        let r = parse("ticket_number=TCK-3&ticket_reply=x").unwrap();
        assert_eq!(
            (r.ticket.id, r.ticket.number.map(|n| n.number)),
            (None, Some(3))
        );
        assert_eq!(
            refusal("ticket_number=TCK-&ticket_reply=x"),
            Message::TicketNotFound.to_string()
        );
        assert_eq!(
            refusal("ticket_number=&ticket_reply=x"),
            "ticket_id is required."
        );
    }

    #[test]
    fn customers_agents_dates_and_status_names() {
        let r = parse("ticket_id=1&ticket_reply=x&contact_email=%20A@B.example%20").unwrap();
        assert_eq!(
            r.author,
            Author::Customer(PersonRef {
                id: None,
                email: Some("A@B.example".into())
            })
        );
        let r = parse("ticket_id=1&ticket_reply=x&author_user_id=4").unwrap();
        assert_eq!(
            r.author,
            Author::Agent(PersonRef {
                id: Some(4),
                email: None
            })
        );
        for (extra, param) in [
            ("status=4", "status"),
            ("status=Resolved", "status"),
            ("public_reply_type=1", "public_reply_type"),
            ("minutes=5", "hours, minutes and seconds"),
            (
                "author_email=a@b.example",
                "author_user_id and author_email",
            ),
        ] {
            let m = refusal(&format!("ticket_id=1&ticket_reply=x&contact_id=3&{extra}"));
            assert_eq!(m, Message::CustomerReplyWith(param).to_string(), "{extra}");
        }
        // An id that names no one still asks for a customer's reply (or an
        // agent's), which then finds no one; 0 names no one at all.
        let r = parse("ticket_id=1&ticket_reply=x&contact_id=abc").unwrap();
        assert_eq!(
            r.author,
            Author::Customer(PersonRef {
                id: Some(-1),
                email: None
            })
        );
        let r = parse("ticket_id=1&ticket_reply=x&author_user_id=-2").unwrap();
        assert_eq!(
            r.author,
            Author::Agent(PersonRef {
                id: Some(-1),
                email: None
            })
        );
        assert_eq!(
            parse("ticket_id=1&ticket_reply=x&contact_id=0")
                .unwrap()
                .author,
            Author::Key
        );
        assert_eq!(
            refusal("ticket_id=1&ticket_reply=x&contact_id=3&status=-1"),
            Message::CustomerReplyWith("status").to_string()
        );
        // What has no effect is no reason to refuse.
        assert!(parse("ticket_id=1&ticket_reply=x&contact_id=3&status=0&hours=0").is_ok());
        assert_eq!(
            refusal("ticket_id=1&contact_id=3"),
            Message::CustomerReplyNeedsText.to_string()
        );
        let r = parse("ticket_id=1&status=%20on%20hold").unwrap();
        assert_eq!(r.status, StatusChange::Named("on hold".into()));
        assert_eq!(
            parse("ticket_id=1&status=4abc").unwrap().status,
            StatusChange::To(4)
        );
        let r = parse("ticket_id=1&ticket_reply=x&created=2026-11-20%2009:30:00").unwrap();
        assert!(matches!(r.created, Some(Created::Local(_))));
        for at in [
            "2026-11-20T09:30:00Z",
            "2026-11-20%2009:30:00%2B01:00",
            "2026-11-20T09:30:00.250-05:00",
        ] {
            let r = parse(&format!("ticket_id=1&ticket_reply=x&created={at}")).unwrap();
            assert!(matches!(r.created, Some(Created::Instant(_))), "{at}");
        }
        for bad in [
            "2026-11-20T09:30:00",
            "yesterday",
            "2026-13-01 00:00:00",
            "2026-11-20",
        ] {
            let m = refusal(&format!("ticket_id=1&ticket_reply=x&created={bad}"));
            assert_eq!(m, Message::CreatedInvalid.to_string(), "{bad}");
        }
        assert_eq!(
            refusal("ticket_id=1&status=4&created=2026-11-20%2009:30:00"),
            Message::CreatedNeedsReply.to_string()
        );
    }

    #[test]
    fn markdown_replies_are_stored_as_clean_html() {
        let r = parse("ticket_id=1&ticket_reply=**Done**%3Cscript%3Ex()%3C/script%3E&markdown=1")
            .unwrap();
        assert_eq!(r.text.as_deref(), Some("<p><strong>Done</strong></p>"));
        let r = parse("ticket_id=1&ticket_reply=**Done**&markdown=true").unwrap();
        assert_eq!(r.text.as_deref(), Some("<p><strong>Done</strong></p>"));
        // Without it, the text is stored as sent.
        let r = parse("ticket_id=1&ticket_reply=**Done**&markdown=0").unwrap();
        assert_eq!(r.text.as_deref(), Some("**Done**"));
        // Markdown that cleans to nothing is no reply.
        assert_eq!(
            refusal("ticket_id=1&ticket_reply=%3Cscript%3Ex()%3C/script%3E&markdown=1"),
            Message::NothingToDo.to_string()
        );
        assert_eq!(
            refusal("ticket_id=1&ticket_reply=x&markdown=yes"),
            Message::MarkdownFlag.to_string()
        );
    }
}
