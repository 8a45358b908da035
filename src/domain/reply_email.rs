//! The legacy dialect's `public_reply_type` 2: the agent UI's "Public +
//! email" reply (agent/post/ticket.php, add_ticket_reply, at ITFlow 2.4.4
//! and 2.6.7). The reply is Public, carries the author's signature, and the
//! emails the agent UI would queue go into `email_queue` for ITFlow's own
//! mail cron: to the ticket's contact when the address is valid, then to
//! every watcher. replyd never talks to a mail server.
//!
//! Pure functions, used by the planner (`plan_replies.rs`).

use crate::domain::NewReply;
use crate::domain::flavour::AgentEmail;
use crate::domain::plan::{MailRow, WriteContext};
use crate::domain::reply::NewAttachment;
use crate::domain::reply::STATUS_RESOLVED;
use crate::domain::snapshot::{MailSnapshot, Snapshot};
use crate::messages::Message;
use crate::php::{format_phone_number, is_valid_email, sanitize_input};

/// Refusals that need no database: `public_reply_type` 2 while
/// `email_replies` is off, or on a database without an email queue. The
/// rules the email follows here, when one is asked for.
pub fn check_request(
    req: &NewReply,
    ctx: &WriteContext<'_>,
) -> Result<Option<AgentEmail>, Message> {
    if !req.email {
        return Ok(None);
    }
    if !ctx.email_replies {
        return Err(Message::PublicReplyWithEmail);
    }
    ctx.flavour
        .agent_email()
        .map(Some)
        .ok_or(Message::PublicReplyNoEmailQueue)
}

/// The mail settings of `snap`, when they say mail is configured by this
/// ITFlow's own test; else the refusal naming the settings to set.
pub fn configured(snap: &Snapshot, rules: AgentEmail) -> Result<&MailSnapshot, Message> {
    let setting = rules.configured_by;
    snap.mail
        .as_ref()
        .filter(|m| setting.configured(m.smtp_host.as_deref(), m.provider.as_deref()))
        .ok_or(Message::PublicReplyMailNotConfigured(setting.settings()))
}

/// The reply as stored and emailed: the text, then the author's signature
/// with nothing between (the agent UI appends it raw; a NULL or missing
/// signature appends nothing).
pub fn signed(text: &str, m: &MailSnapshot) -> String {
    format!("{text}{}", m.signature.as_deref().unwrap_or(""))
}

/// What ITFlow's mail cron may attach: the reply's files in order, as long
/// as they fit in 10 MiB together (ITFlow 2.6.7 functions/files.php
/// `filterEmailableAttachments`, `MAX_EMAIL_ATTACHMENT_BYTES`), as
/// `addToMailQueue` stores the manifest: `json_encode` of
/// `[{"path":"uploads/tickets/<id>/<stored name>","name":<original name>}]`,
/// `''` for none.
pub fn manifest(ticket_id: i64, files: &[NewAttachment]) -> String {
    const MAX_EMAIL_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        path: String,
        name: &'a str,
    }
    let mut total = 0;
    let mut entries = Vec::new();
    for file in files {
        if file.size == 0 || total + file.size > MAX_EMAIL_ATTACHMENT_BYTES {
            continue;
        }
        total += file.size;
        entries.push(Entry {
            path: format!("uploads/tickets/{ticket_id}/{}", file.reference),
            name: &file.name.original,
        });
    }
    if entries.is_empty() {
        return String::new();
    }
    String::from_utf8(crate::php::to_json_bytes(&entries)).unwrap_or_default()
}

/// The ticket as the email shows it after the write.
pub struct TicketAfter<'a> {
    /// `ticket_status` after the write: 4 (Resolved) picks the "marked as
    /// solved" email.
    pub status: i64,
    /// Its `ticket_status_name` (None: no such row).
    pub status_name: Option<&'a str>,
    /// The stored reply (with the signature).
    pub reply: &'a str,
}

/// The agent UI's `email_queue` rows: the contact's first (when its
/// address passes the check), then one per watcher, unchecked, named by
/// its address, with the collaborator line.
pub fn mails(
    snap: &Snapshot,
    m: &MailSnapshot,
    after: &TicketAfter<'_>,
    base_url: &str,
) -> Vec<MailRow> {
    // Every value but the reply goes through sanitizeInput/escapeSql.
    let clean = |v: Option<&str>| sanitize_input(v.unwrap_or(""));
    let ticket = &snap.ticket;
    let prefix = sanitize_input(&ticket.prefix);
    let number = ticket.number;
    let subject = sanitize_input(&ticket.subject);
    let contact_name = clean(m.contact_name.as_deref());
    let contact_email = clean(m.contact_email.as_deref());
    let from_name = clean(m.from_name.as_deref());
    let from_email = clean(m.from_email.as_deref());
    let status_name = clean(after.status_name);
    let url_key = clean(m.url_key.as_deref());
    let company = clean(m.company_name.as_deref());
    let phone = sanitize_input(&format_phone_number(
        m.company_phone.as_deref().unwrap_or(""),
        m.company_phone_country_code.as_deref().unwrap_or(""),
    ));
    let base_url = sanitize_input(base_url);
    let id = ticket.id;
    let reply = after.reply;
    let link =
        format!("https://{base_url}/guest/guest_view_ticket.php?ticket_id={id}&url_key={url_key}");
    let (mail_subject, body) = if after.status == STATUS_RESOLVED {
        (
            format!("Ticket resolved - [{prefix}{number}] - {subject} | (pending closure)"),
            format!(
                "<i style='color: #808080'>##- Please type your reply above this line -##</i><br><br>Hello {contact_name},<br><br>Your ticket regarding {subject} has been marked as solved and is pending closure.<br><br>--------------------------------<br>{reply}<br>--------------------------------<br><br>If your request/issue is resolved, you can simply ignore this email. If you need further assistance, please reply or <a href='{link}'>re-open</a> to let us know! <br><br>Ticket: {prefix}{number}<br>Subject: {subject}<br>Status: {status_name}<br>Portal: <a href='{link}'>View ticket</a><br><br>--<br>{company} - Support<br>{from_email}<br>{phone}"
            ),
        )
    } else {
        (
            format!("Ticket update - [{prefix}{number}] - {subject}"),
            format!(
                "<i style='color: #808080'>##- Please type your reply above this line -##</i><br><br>Hello {contact_name},<br><br>Your ticket regarding {subject} has been updated.<br><br>--------------------------------<br>{reply}<br>--------------------------------<br><br>Ticket: {prefix}{number}<br>Subject: {subject}<br>Status: {status_name}<br>Portal: <a href='{link}'>View ticket</a><br><br>--<br>{company} - Support<br>{from_email}<br>{phone}"
            ),
        )
    };
    let mail = |recipient: String, recipient_name: String, content: String| MailRow {
        recipient,
        recipient_name,
        from: from_email.clone(),
        from_name: from_name.clone(),
        subject: mail_subject.clone(),
        content,
        attachments: String::new(),
    };
    let mut mails = Vec::with_capacity(1 + m.watchers.len());
    if is_valid_email(&contact_email) {
        mails.push(mail(contact_email, contact_name, body.clone()));
    }
    let watcher_body = format!(
        "{body}<br><br>----------------------------------------<br>YOU ARE A COLLABORATOR ON THIS TICKET"
    );
    for (_, email) in &m.watchers {
        let email = sanitize_input(email);
        mails.push(mail(email.clone(), email, watcher_body.clone()));
    }
    mails
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::flavour::EmailQueue;
    use crate::domain::plan::{WritePlan, summary};
    use crate::domain::snapshot::samples::{open_ticket, status, tess_key};
    use crate::domain::{
        Author, ClientScope, Flavour, Principal, ReplyType, StatusChange, TicketRef, TimeWorked,
        plan_replies,
    };

    /// The databases: ITFlow 2.4.4 (first-generation keys, no
    /// `email_attachments`, the SMTP host counts) and 2.6.7.
    fn v244() -> Flavour {
        Flavour::new(false, false, false, false).with_agent_email(Some(EmailQueue {
            attachments_column: false,
            smtp_host_column: true,
            signatures: true,
        }))
    }

    fn v267() -> Flavour {
        Flavour::new(true, true, false, true)
            .with_allow_deny_lists(true)
            .with_agent_email(Some(EmailQueue {
                attachments_column: true,
                smtp_host_column: true,
                signatures: true,
            }))
    }

    fn global_key() -> Principal {
        Principal::ClientKey {
            key_id: 1,
            key_name: "Global key".into(),
            scope: ClientScope::AllClients,
        }
    }

    fn emailed(text: Option<&str>, status: i64) -> NewReply {
        NewReply {
            ticket: TicketRef {
                id: Some(1),
                number: None,
            },
            client_id: 0,
            text: text.map(str::to_owned),
            reply_type: ReplyType::Public,
            email: true,
            time_worked: TimeWorked::default(),
            status: if status == 0 {
                StatusChange::Keep
            } else {
                StatusChange::To(status)
            },
            author: Author::Key,
            created: None,
            attachments: Vec::new(),
        }
    }

    /// Mail configured by the provider; contact Carla & Co; two watchers,
    /// one of them no address at all; a signature.
    fn mail() -> MailSnapshot {
        MailSnapshot {
            provider: Some("standard_smtp".into()),
            from_name: Some("MSP Support".into()),
            from_email: Some(" support@msp.example".into()),
            contact_name: Some("Carla <b>&</b> Co".into()),
            contact_email: Some("carla@acme.example".into()),
            url_key: Some("k3y".into()),
            company_name: Some("MSP Inc".into()),
            company_phone: Some("555.123.4567".into()),
            company_phone_country_code: Some("1".into()),
            watchers: vec![
                (Some("Wes".into()), "wes@acme.example".into()),
                (None, " not an address".into()),
            ],
            signature: Some("<p>-- Tess</p>".into()),
            ..MailSnapshot::default()
        }
    }

    fn snap_with(mail: Option<MailSnapshot>) -> Snapshot {
        Snapshot {
            mail,
            ..open_ticket()
        }
    }

    fn plan(
        principal: &Principal,
        flavour: Flavour,
        email_replies: bool,
        snap: Snapshot,
        req: &NewReply,
    ) -> Result<WritePlan, Message> {
        let ctx = WriteContext {
            principal,
            legacy_author: 0,
            flavour,
            base_url: "help.msp.example",
            app_name: "ITFlow",
            email_replies,
        };
        let mut snap = snap;
        if let StatusChange::To(s) = req.status {
            snap.requested_status = Some(status(s));
        }
        // The pre-check create() makes before connecting, then the plan.
        check_request(req, &ctx)?;
        plan_replies::plan(&snap, req, &ctx)
    }

    const HEAD: &str = "<i style='color: #808080'>##- Please type your reply above this line -##</i><br><br>Hello Carla & Co,<br><br>";

    #[test]
    fn the_agent_uis_emails() {
        let key = global_key();
        let p = plan(
            &key,
            v244(),
            true,
            snap_with(Some(mail())),
            &emailed(Some("<p>Fixed</p>"), 0),
        )
        .unwrap();
        // Public, signed, as a plain public reply otherwise.
        assert_eq!(
            summary(&p),
            "ticket[updated_at first_response_at] reply[Public 00:00:00 by 0] note[user 2] note[user 1] \
             log[Ticket/Reply: Global key (API) replied to ticket TCK-1 - Printer and was a Public reply] \
             mail[carla@acme.example] mail[wes@acme.example] mail[not an address]"
        );
        assert_eq!(p.reply.as_ref().unwrap().text, "<p>Fixed</p><p>-- Tess</p>");
        assert!(p.queue_without_attachments);
        let body = format!(
            "{HEAD}Your ticket regarding Printer has been updated.<br><br>--------------------------------<br><p>Fixed</p><p>-- Tess</p><br>--------------------------------<br><br>Ticket: TCK-1<br>Subject: Printer<br>Status: Open<br>Portal: <a href='https://help.msp.example/guest/guest_view_ticket.php?ticket_id=1&url_key=k3y'>View ticket</a><br><br>--<br>MSP Inc - Support<br>support@msp.example<br>(555) 123-4567"
        );
        let collaborator = format!(
            "{body}<br><br>----------------------------------------<br>YOU ARE A COLLABORATOR ON THIS TICKET"
        );
        let row = |to: &str, name: &str, content: &str| MailRow {
            recipient: to.into(),
            recipient_name: name.into(),
            from: "support@msp.example".into(),
            from_name: "MSP Support".into(),
            subject: "Ticket update - [TCK-1] - Printer".into(),
            content: content.into(),
            attachments: String::new(),
        };
        assert_eq!(
            p.mails,
            [
                row("carla@acme.example", "Carla & Co", &body),
                row("wes@acme.example", "wes@acme.example", &collaborator),
                row("not an address", "not an address", &collaborator),
            ]
        );
    }

    #[test]
    fn variants() {
        let key = global_key();
        let tess = tess_key();
        let subjects = |p: &WritePlan| -> Vec<String> {
            p.mails
                .iter()
                .map(|m| format!("{} {}", m.recipient, m.subject))
                .collect()
        };
        // Resolving: the "marked as solved" email, the status after the
        // write named.
        let p = plan(
            &tess,
            v267(),
            true,
            snap_with(Some(mail())),
            &emailed(Some("Done"), 4),
        )
        .unwrap();
        assert_eq!(
            subjects(&p)[0],
            "carla@acme.example Ticket resolved - [TCK-1] - Printer | (pending closure)"
        );
        let content = &p.mails[0].content;
        assert!(content.contains("Your ticket regarding Printer has been marked as solved and is pending closure.<br><br>--------------------------------<br>Done<p>-- Tess</p><br>"), "{content}");
        assert!(content.contains("please reply or <a href='https://help.msp.example/guest/guest_view_ticket.php?ticket_id=1&url_key=k3y'>re-open</a> to let us know! <br><br>Ticket: TCK-1<br>Subject: Printer<br>Status: Resolved<br>"), "{content}");
        assert!(!p.queue_without_attachments);
        // A reply on a ticket already resolved (no status sent) is the
        // resolved email too.
        let mut resolved = snap_with(Some(mail()));
        resolved.ticket.status = 4;
        resolved.ticket.resolved = true;
        resolved.current_status_name = Some("Resolved".into());
        let p = plan(&key, v244(), true, resolved, &emailed(Some("x"), 0)).unwrap();
        assert!(p.mails[0].subject.starts_with("Ticket resolved"));
        // On Hold: an update naming On Hold.
        let p = plan(
            &key,
            v244(),
            true,
            snap_with(Some(mail())),
            &emailed(Some("x"), 3),
        )
        .unwrap();
        assert!(p.mails[0].content.contains("<br>Status: On Hold<br>"));
        // No valid contact address: the watchers only.
        for address in [None, Some(""), Some("carla"), Some("carla @acme.example")] {
            let mut m = mail();
            m.contact_email = address.map(str::to_owned);
            let p = plan(
                &key,
                v244(),
                true,
                snap_with(Some(m)),
                &emailed(Some("x"), 0),
            )
            .unwrap();
            assert_eq!(
                subjects(&p),
                [
                    "wes@acme.example Ticket update - [TCK-1] - Printer",
                    "not an address Ticket update - [TCK-1] - Printer"
                ],
                "{address:?}"
            );
        }
        // Nobody to write to: the reply, no email.
        let mut m = mail();
        m.contact_email = None;
        m.watchers.clear();
        m.signature = None;
        let p = plan(
            &key,
            v244(),
            true,
            snap_with(Some(m)),
            &emailed(Some("x"), 0),
        )
        .unwrap();
        assert_eq!((p.mails.len(), p.reply.unwrap().text.as_str()), (0, "x"));
        // A status change alone: no email, nothing signed.
        let p = plan(
            &key,
            v244(),
            true,
            snap_with(Some(mail())),
            &emailed(None, 3),
        )
        .unwrap();
        assert_eq!((p.mails.len(), p.reply.is_none()), (0, true));
        // Only the SMTP host set: mail on 2.4.4, not on 2.6.7.
        let mut host_only = mail();
        host_only.provider = None;
        host_only.smtp_host = Some("smtp.msp.example".into());
        let p = plan(
            &key,
            v244(),
            true,
            snap_with(Some(host_only.clone())),
            &emailed(Some("x"), 0),
        );
        assert_eq!(p.unwrap().mails.len(), 3);
        let got = plan(
            &tess,
            v267(),
            true,
            snap_with(Some(host_only)),
            &emailed(Some("x"), 0),
        );
        assert_eq!(
            got,
            Err(Message::PublicReplyMailNotConfigured(
                "config_smtp_provider"
            ))
        );
    }

    #[test]
    fn refusals() {
        let key = global_key();
        let req = emailed(Some("x"), 0);
        let cases: Vec<(&str, Flavour, bool, Snapshot, Message)> = vec![
            (
                "email_replies off",
                v244(),
                false,
                snap_with(Some(mail())),
                Message::PublicReplyWithEmail,
            ),
            (
                "no email queue",
                Flavour::new(false, false, false, false),
                true,
                snap_with(None),
                Message::PublicReplyNoEmailQueue,
            ),
            (
                "2.4.4: neither host nor provider",
                v244(),
                true,
                snap_with(Some(MailSnapshot {
                    provider: Some(String::new()),
                    smtp_host: Some("0".into()),
                    ..mail()
                })),
                Message::PublicReplyMailNotConfigured("config_smtp_host or config_smtp_provider"),
            ),
            (
                "a closed ticket before the mail settings",
                v244(),
                true,
                {
                    let mut s = snap_with(None);
                    s.ticket.closed = true;
                    s
                },
                Message::TicketClosed,
            ),
        ];
        for (name, flavour, on, snap, message) in cases {
            assert_eq!(plan(&key, flavour, on, snap, &req), Err(message), "{name}");
        }
        // Without public_reply_type 2 nothing of this applies.
        let plain = NewReply {
            email: false,
            ..req
        };
        let p = plan(
            &key,
            Flavour::new(false, false, false, false),
            false,
            snap_with(None),
            &plain,
        );
        assert!(p.unwrap().mails.is_empty());
    }

    #[test]
    fn the_manifest_lists_what_fits_in_ten_mib_in_order() {
        use crate::domain::attachment::AttachmentName;
        let file = |name: &str, reference: &str, size: u64| NewAttachment {
            name: AttachmentName::parse(name).unwrap(),
            reference: reference.into(),
            size,
        };
        let mib = 1024 * 1024;
        let files = [
            file("Bericht ü.pdf", "a.pdf", 6 * mib),
            file("big.zip", "b.zip", 5 * mib),
            file("small.txt", "c.txt", 4 * mib),
        ];
        // The second would pass 10 MiB; the third still fits.
        assert_eq!(
            manifest(42, &files),
            r#"[{"path":"uploads\/tickets\/42\/a.pdf","name":"Bericht \u00fc.pdf"},{"path":"uploads\/tickets\/42\/c.txt","name":"small.txt"}]"#
        );
        assert_eq!(manifest(42, &[]), "");
    }
}
