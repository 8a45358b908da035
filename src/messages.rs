//! Every message a client can read, in one place: each is a variant, and
//! its text is here and nowhere else. `error.rs` decides the HTTP status
//! and writes the envelope; the README's lists can be compared with this
//! file at a glance. Texts marked ITFlow are ITFlow's own wording, byte for
//! byte.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    // --- Authentication and permissions ---
    /// ITFlow (api/v1/validate_api_key.php).
    KeyMissing,
    /// ITFlow (api/v1/validate_api_key.php): unknown or expired key.
    KeyInvalid,
    /// ITFlow (api/v1/enforce_api_rbac.php): a user-tied-generation key
    /// without a user.
    KeyNotTiedToUser,
    /// ITFlow (api/v1/enforce_api_rbac.php).
    KeyUserInvalid,
    /// ITFlow (api/v1/enforce_api_rbac.php): the role's level is too low.
    NoPermission,
    /// ITFlow (api/v1/enforce_api_rbac.php): a write naming a client the
    /// user may not access.
    NoAccessToTargetClient,
    /// ITFlow (require_get_method.php / require_post_method.php).
    WrongMethod(&'static str),

    // --- Requests replyd cannot read ---
    BodyNotUtf8,
    /// The JSON parser's own description of the error.
    BodyNotJson(String),
    BodyNotObject,
    /// A parameter that is an array or an object.
    ParameterNotScalar(String),
    BodyUnreadable(String),
    BodyTooLarge(usize),
    BodyTimeout(u128),
    NoRoute,

    // --- Refusals (HTTP 200, success "False"; nothing written) ---
    /// ITFlow (read_output.php): nothing matches.
    NoResource,
    /// ITFlow (create_output.php): its one failure message for a create.
    ItflowCreateFailed,
    TicketIdRequired,
    NothingToDo,
    StatusNotAnId(i64),
    PublicReplyWithEmail,
    /// `public_reply_type` 2 on a database without `email_queue`.
    PublicReplyNoEmailQueue,
    /// `public_reply_type` 2 while ITFlow's mail settings are empty: the
    /// settings that would configure it.
    PublicReplyMailNotConfigured(&'static str),
    PublicReplyType,
    MarkdownFlag,
    TimeWorkedRange,
    NegativePaging(&'static str, i64),
    TicketNotFound,
    TicketClosed,
    StatusNotSettable(i64),
    ResolveWithOpenTasks,
    AnswerTooLarge(u64),
    /// `ticket_number` matches several tickets in the key's scope.
    TicketNumberAmbiguous,
    /// The names of the statuses the ticket may be set to now.
    StatusNameNotAccepted(Vec<String>),
    CreatedInvalid,
    CreatedNeedsReply,
    CreatedInFuture,
    CreatedBeforeTicket,
    /// A parameter a customer's reply cannot carry.
    CustomerReplyWith(&'static str),
    CustomerReplyNeedsText,
    /// HTTP 403: this key may not name another author.
    AuthorNotPermitted,
    AuthorNotAgent,

    // --- Attachments ---
    AttachmentName,
    AttachmentExtension,
    AttachmentEmpty,
    /// HTTP 413: one file over `max_attachment_bytes`.
    AttachmentTooLarge(u64),
    /// HTTP 413: a multipart body over `max_upload_bytes`.
    UploadTooLarge(usize),
    AttachmentsMalformed,
    AttachmentsNeedReply,
    AttachmentsNotStored,
    UploadsNotConfigured,
    UploadsNotWritable,
    AttachmentNotFound,
    AttachmentFileMissing,
    /// HTTP 500: the disk failed while storing; nothing was written.
    UploadFailed,

    // --- Idempotency-Key ---
    /// HTTP 400: not 1 to 255 visible ASCII characters.
    IdempotencyKeyInvalid,
    /// HTTP 422: the key was used for another request.
    IdempotencyKeyReused,
    /// replyd's table is missing (`replyd doctor --apply` creates it).
    IdempotencyNotEnabled,

    // --- v2 (problem documents; field errors name the field) ---
    /// HTTP 422: how many fields are invalid (each listed in `errors`).
    InvalidFields(usize),
    /// HTTP 405: the methods the path serves.
    MethodNotAllowed(&'static str),
    /// HTTP 429: seconds until the key may send again.
    RateLimited(u64),
    /// HTTP 415: v2's create takes JSON, or multipart with files.
    MediaTypeNotJson,
    /// A field v2 does not know.
    FieldUnknown,
    /// A required field that is missing or empty.
    FieldRequired,
    FieldNotText,
    FieldNotBoolean,
    /// `limit`: 1 to the server's page size.
    LimitRange(u64),
    CursorInvalid,
    OrderValue,
    TypeValue,
    UpdatedSinceInvalid,
    BodyFormatValue,
    VisibilityValue,
    TimeWorkedValue,
    StatusValue,
    PersonIdValue,
    /// A customer's reply (`contact_id`/`contact_email`) with a field it
    /// cannot carry.
    CustomerReplyCannotSet,
    /// `created` or `attachments` without `body`.
    NeedsBody,
    /// Neither `body` nor `status`.
    BodyOrStatus,

    // --- The server's own trouble ---
    AnswerFile,
    MetricsForbidden,
    NotReady(String),
    DatabaseUnavailable,
    DatabaseFailed,
    CommitFailed,
}

impl Message {
    /// The text of a message that carries no value.
    fn fixed(&self) -> Option<&'static str> {
        use Message::*;
        Some(match self {
            KeyMissing => "Authentication failed. API key is missing.",
            KeyInvalid => "Authentication failed. API key is invalid or has expired.",
            KeyNotTiedToUser => {
                "This API key is not tied to a user and is no longer valid. Please recreate it."
            }
            KeyUserInvalid => "The user linked to this API key is inactive, archived, or invalid.",
            NoPermission => {
                "The user linked to this API key does not have permission for this action."
            }
            NoAccessToTargetClient => {
                "The user linked to this API key does not have access to the target client for this write."
            }
            BodyNotUtf8 => "Request body is not valid UTF-8 text; send a JSON object or a form.",
            BodyNotObject => "Request body must be a JSON object of parameters.",
            NoRoute => "No such endpoint.",
            NoResource => {
                "No resource (for this client and company) with the specified parameter(s)."
            }
            ItflowCreateFailed => {
                "Auth success but insert query failed, ensure ALL required variables are provided (and aren't duplicates where applicable) and database schema is up-to-date. Turn on error logging and look for 'undefined index'."
            }
            TicketIdRequired => "ticket_id is required.",
            NothingToDo => {
                "Nothing to do: send ticket_reply (the reply text), status (a ticket status id), or both."
            }
            PublicReplyWithEmail => {
                "public_reply_type 2 (public reply with email) is not available: this API sends no email. Use public_reply_type 1 to post a public reply without email."
            }
            PublicReplyNoEmailQueue => {
                "public_reply_type 2 (public reply with email) is not available: this ITFlow database has no email queue (table email_queue). Use public_reply_type 1 to post a public reply without email."
            }
            PublicReplyType => "public_reply_type must be 0 (internal reply) or 1 (public reply).",
            MarkdownFlag => "markdown must be 1 or true (ticket_reply is Markdown), or 0 or false.",
            TimeWorkedRange => {
                "hours, minutes and seconds must be whole numbers: hours 0 to 838, minutes and seconds 0 to 59."
            }
            TicketNotFound => {
                "No ticket with the specified ticket_id (for this client and company)."
            }
            TicketClosed => "This ticket is closed: it takes no more replies or status changes.",
            ResolveWithOpenTasks => {
                "status 4 (Resolved) is not available while the ticket has tasks that are not completed."
            }
            TicketNumberAmbiguous => {
                "ticket_number matches more than one ticket; send ticket_id instead."
            }
            CreatedInvalid => {
                "created must be YYYY-MM-DD HH:MM:SS in the company's time zone, or RFC 3339 with an offset (2026-11-20T09:30:00+01:00)."
            }
            CreatedNeedsReply => "created is the time of a reply: send it with ticket_reply.",
            CreatedInFuture => "created is in the future: a reply can be backdated, not postdated.",
            CreatedBeforeTicket => "created is before the ticket was created.",
            CustomerReplyNeedsText => {
                "A customer's reply (contact_id or contact_email) needs ticket_reply, the reply text."
            }
            AuthorNotPermitted => {
                "author_user_id and author_email need an admin's API key, or a key for all clients."
            }
            AuthorNotAgent => {
                "author_user_id or author_email does not name an active agent with access to this ticket's client."
            }
            AttachmentName => {
                "Attachment names must not be empty, longer than 255 characters, or contain /, \\, .., NUL or control characters."
            }
            AttachmentEmpty => "Attachments must not be empty files.",
            AttachmentsMalformed => {
                "attachments must be a JSON array of {\"name\": ..., \"data\": <base64>} objects (in a form field: that array, base64-encoded)."
            }
            AttachmentsNeedReply => "Attachments belong to a reply: send them with ticket_reply.",
            AttachmentsNotStored => {
                "This ITFlow database has no ticket_attachments table, so replies cannot carry attachments."
            }
            UploadsNotConfigured => {
                "Attachments need ITFlow's uploads folder: set itflow_root (or uploads_dir) in replyd's configuration."
            }
            UploadsNotWritable => {
                "ITFlow's uploads folder is not writable by replyd: give replyd's user write access to uploads_dir (by default <itflow_root>/uploads)."
            }
            AttachmentNotFound => {
                "No attachment with the specified attachment_id (for this client and company)."
            }
            AttachmentFileMissing => {
                "The attachment's file is missing from ITFlow's uploads folder."
            }
            UploadFailed => "Storing an attachment failed; nothing was written.",
            IdempotencyKeyInvalid => {
                "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID, say)."
            }
            IdempotencyKeyReused => {
                "This Idempotency-Key was used for a different request in the last 24 hours; send a new key with a new request."
            }
            IdempotencyNotEnabled => {
                "Idempotency-Key is not enabled on this server: its table replyd_idempotency is missing; run `replyd doctor --apply` to create it, or send the request without Idempotency-Key."
            }
            AnswerFile => {
                "The answer could not be prepared; try again, or ask for fewer replies with limit and offset."
            }
            MediaTypeNotJson => {
                "Send the body as application/json, or as multipart/form-data when it carries files."
            }
            FieldUnknown => "Not a field of this request.",
            FieldRequired => "Required.",
            FieldNotText => "Must be a string.",
            FieldNotBoolean => "Must be true or false.",
            CursorInvalid => {
                "Not a cursor this server gave out for this list; start again without cursor."
            }
            OrderValue => "Must be asc or desc.",
            TypeValue => "Must be internal, public or client.",
            UpdatedSinceInvalid => {
                "Must be an RFC 3339 date-time with an offset (2026-11-20T09:30:00+01:00)."
            }
            BodyFormatValue => "Must be html or markdown.",
            VisibilityValue => "Must be internal, public or public_email.",
            TimeWorkedValue => {
                "Must be whole seconds from 0 to 3020399, or HH:MM:SS (hours 0 to 838)."
            }
            StatusValue => "Must be a ticket status id (a positive number) or a status name.",
            PersonIdValue => "Must be a positive whole number.",
            CustomerReplyCannotSet => {
                "A customer's reply (contact_id or contact_email) sets no status, visibility, time worked or author."
            }
            NeedsBody => "Needs body: it belongs to a reply.",
            BodyOrStatus => "Send body (the reply), status, or both.",
            MetricsForbidden => {
                "Metrics are served only to the addresses in replyd's metrics_allow setting."
            }
            DatabaseUnavailable => "The database is unavailable; try again shortly.",
            DatabaseFailed => "Internal error while talking to the database; nothing was written.",
            CommitFailed => {
                "The database failed while committing; check before retrying, the write may or may not have been saved."
            }
            _ => return None,
        })
    }

    /// The text of a message that carries a value.
    fn fmt_with_value(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Message::*;
        match self {
            WrongMethod(method) => write!(f, "Can only send {method} requests to this endpoint."),
            BodyNotJson(e) => write!(
                f,
                "Request body is not valid JSON ({e}); send a JSON object or a form."
            ),
            ParameterNotScalar(name) => write!(
                f,
                "Parameter {name} must be a string or a number, not an array or object."
            ),
            BodyUnreadable(e) => write!(f, "Could not read the request body: {e}"),
            BodyTooLarge(limit) => write!(
                f,
                "Request body is larger than the {limit} bytes this server accepts."
            ),
            BodyTimeout(ms) => write!(f, "The request body did not arrive within {ms} ms."),
            StatusNotAnId(s) => write!(f, "status must be a ticket status id, not {s}."),
            PublicReplyMailNotConfigured(settings) => write!(
                f,
                "public_reply_type 2 (public reply with email) needs ITFlow's mail settings: set {settings} (ITFlow: Admin, Settings, Mail), or use public_reply_type 1 to post a public reply without email."
            ),
            NegativePaging(name, v) => write!(f, "{name} must be 0 or more, not {v}."),
            StatusNotSettable(s) => write!(
                f,
                "status {s} cannot be set: send the id of an active ticket status other than 1 (New) and 5 (Closed)."
            ),
            AnswerTooLarge(limit) => write!(
                f,
                "The answer would be larger than the {limit} bytes this server sends in one answer; ask for fewer replies with limit and offset."
            ),
            NotReady(reason) => write!(f, "Not ready: {reason}"),
            AttachmentExtension => write!(
                f,
                "Attachments must be files of these types: {}.",
                crate::domain::attachment::ALLOWED_EXTENSIONS.join(", ")
            ),
            AttachmentTooLarge(limit) => write!(
                f,
                "Each attachment must be at most {limit} bytes (max_attachment_bytes)."
            ),
            UploadTooLarge(limit) => write!(
                f,
                "A multipart request body must be at most {limit} bytes (max_upload_bytes)."
            ),
            StatusNameNotAccepted(names) if names.is_empty() => f.write_str(
                "status must name a status this ticket can be set to now, and there is none.",
            ),
            StatusNameNotAccepted(names) => write!(
                f,
                "status must name a status this ticket can be set to now: {}.",
                names.join(", ")
            ),
            CustomerReplyWith(param) => write!(
                f,
                "{param} cannot be sent with contact_id or contact_email: a customer's reply sets no status, reply type, time worked or author."
            ),
            InvalidFields(1) => f.write_str("One field is not valid; see errors."),
            InvalidFields(n) => write!(f, "{n} fields are not valid; see errors."),
            MethodNotAllowed(allow) => write!(f, "This path serves {allow} only."),
            RateLimited(seconds) => write!(
                f,
                "Too many requests with this API key; try again in {seconds} s."
            ),
            LimitRange(max) => write!(f, "Must be a whole number from 1 to {max}."),
            // Every other message is fixed().
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fixed() {
            Some(text) => f.write_str(text),
            None => self.fmt_with_value(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Message::*;

    #[test]
    fn every_message_has_a_text() {
        let all = [
            KeyMissing,
            KeyInvalid,
            KeyNotTiedToUser,
            KeyUserInvalid,
            NoPermission,
            NoAccessToTargetClient,
            WrongMethod("GET"),
            BodyNotUtf8,
            BodyNotJson("x".into()),
            BodyNotObject,
            ParameterNotScalar("x".into()),
            BodyUnreadable("x".into()),
            BodyTooLarge(1),
            BodyTimeout(1),
            NoRoute,
            NoResource,
            ItflowCreateFailed,
            TicketIdRequired,
            NothingToDo,
            StatusNotAnId(-1),
            PublicReplyWithEmail,
            PublicReplyNoEmailQueue,
            PublicReplyMailNotConfigured("config_smtp_provider"),
            PublicReplyType,
            MarkdownFlag,
            TimeWorkedRange,
            NegativePaging("limit", -1),
            TicketNotFound,
            TicketClosed,
            StatusNotSettable(9),
            ResolveWithOpenTasks,
            AnswerTooLarge(1),
            TicketNumberAmbiguous,
            StatusNameNotAccepted(vec!["Open".into()]),
            StatusNameNotAccepted(vec![]),
            CreatedInvalid,
            CreatedNeedsReply,
            CreatedInFuture,
            CreatedBeforeTicket,
            CustomerReplyWith("status"),
            CustomerReplyNeedsText,
            AuthorNotPermitted,
            AuthorNotAgent,
            AttachmentName,
            AttachmentExtension,
            AttachmentEmpty,
            AttachmentTooLarge(1),
            UploadTooLarge(1),
            AttachmentsMalformed,
            AttachmentsNeedReply,
            AttachmentsNotStored,
            UploadsNotConfigured,
            UploadsNotWritable,
            AttachmentNotFound,
            AttachmentFileMissing,
            UploadFailed,
            IdempotencyKeyInvalid,
            IdempotencyKeyReused,
            IdempotencyNotEnabled,
            AnswerFile,
            MetricsForbidden,
            NotReady("x".into()),
            DatabaseUnavailable,
            DatabaseFailed,
            CommitFailed,
            InvalidFields(1),
            InvalidFields(2),
            MethodNotAllowed("GET"),
            RateLimited(1),
            MediaTypeNotJson,
            FieldUnknown,
            FieldRequired,
            FieldNotText,
            FieldNotBoolean,
            LimitRange(50),
            CursorInvalid,
            OrderValue,
            TypeValue,
            UpdatedSinceInvalid,
            BodyFormatValue,
            VisibilityValue,
            TimeWorkedValue,
            StatusValue,
            PersonIdValue,
            CustomerReplyCannotSet,
            NeedsBody,
            BodyOrStatus,
        ];
        for message in all {
            let text = message.to_string();
            assert!(text.len() > 8, "{message:?}: {text:?}");
        }
    }
}
