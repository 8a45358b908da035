//! The OpenAPI 3.1 document of both APIs, made from the code: each
//! operation is described by the `#[utoipa::path]` beside its handler, and
//! the shapes below are those the handlers write. Served at
//! `GET /api/openapi.json`, printed by `replyd openapi`, and committed as
//! `openapi.json` (a test compares the two).

use actix_web::HttpResponse;
use std::sync::OnceLock;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Server};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "replyd",
        version = env!("CARGO_PKG_VERSION"),
        description = "Ticket replies for ITFlow. v1 keeps ITFlow's own API shapes (`{\"success\":\"True\"|\"False\",...}`, every value a string, refusals as HTTP 200) in two dialects: replyd's `/api/v1/tickets/replies/` and ITFlow 2.6's `/api/v1/ticket_replies/`. v2 is typed JSON with proper statuses and RFC 9457 problem documents.",
    ),
    paths(
        crate::api::read::handle,
        crate::api::create::handle,
        crate::api::attachment::handle,
        crate::api::ticket_replies::read,
        crate::api::ticket_replies::create,
        crate::api::v2::read::ticket_replies,
        crate::api::v2::create::handle,
        crate::api::v2::read::ticket,
        crate::api::v2::read::reply,
        crate::api::v2::read::all_replies,
        serve,
    ),
    components(schemas(
        V1Failure,
        V1ReadSuccess,
        V1Row,
        V1Attachment,
        V1CreateSuccess,
        V1InsertId,
        V1CreateParams,
        V1ItflowCreateParams,
        crate::api::v2::problem::Problem,
        crate::error::FieldError,
        V2NewReply,
        ListOrder,
        ReplyType,
    )),
    modifiers(&Security, &V2Common),
    tags(
        (name = "v1", description = "replyd's own ITFlow-style endpoints (`/api/v1/tickets/replies/`)"),
        (name = "v1 ITFlow", description = "ITFlow 2.6's own endpoints (`/api/v1/ticket_replies/`), as ITFlow answers them"),
        (name = "v2", description = "replyd's own API: typed JSON, RFC 9457 problems, Bearer keys only, keyset paging"),
        (name = "meta", description = "This document"),
    ),
)]
pub struct ApiDoc;

/// The security schemes, and the relative server.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.servers = Some(vec![Server::new("/")]);
        openapi.info.license = None;
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <key>`, an ITFlow API key (`api_keys.api_key_secret`). The only way v2 takes a key.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "v1 only: the key as ITFlow's `api_key` parameter (query string, or the body where the endpoint reads one); it wins over a Bearer header.",
            ))),
        );
    }
}

/// The document as served and committed: pretty JSON, a trailing newline.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the document serialises");
        text.push('\n');
        text
    })
}

/// `GET /api/openapi.json`: the document, to anyone (it holds no secret).
#[utoipa::path(
    get,
    summary = "This OpenAPI document",
    description = "No key needed.",
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    security(()),
    responses(
        (status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object),
        (status = 405, description = "Any method but GET and HEAD", content_type = "application/json", body = V1Failure),
    ),
)]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json())
}

/// A success: the string `"True"`, as ITFlow writes it.
#[derive(ToSchema)]
pub enum True {
    True,
}

/// A failure: the string `"False"`.
#[derive(ToSchema)]
pub enum False {
    False,
}

/// v1's every failure, a refusal (HTTP 200) or an error (4xx/5xx):
/// `{"success":"False","message":...}`.
#[derive(ToSchema)]
#[allow(dead_code)] // a shape for the document; the answers are written by error.rs
pub struct V1Failure {
    #[schema(inline)]
    success: False,
    /// What went wrong, for a person to read.
    #[schema(
        example = "No resource (for this client and company) with the specified parameter(s)."
    )]
    message: String,
}

/// A read's rows (read_output.php).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct V1ReadSuccess {
    #[schema(inline)]
    success: True,
    /// The number of rows in `data` (a number, unlike create's).
    count: u64,
    data: Vec<V1Row>,
}

/// HTTP 200 of a read: its rows, or a refusal ("No resource" when nothing
/// matches).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum V1ReadAnswer {
    Rows(V1ReadSuccess),
    Refused(V1Failure),
}

/// One reply: every `ticket_replies` column of the database in table order
/// (which columns depends on ITFlow's version), then the ticket's and the
/// author's; every value a string as MariaDB formats it, or null.
/// `attachments` only with `include_attachments` on replyd's own read.
pub struct V1Row;

/// The columns every supported ITFlow version has.
const V1_ROW_COLUMNS: [(&str, &str); 14] = [
    ("ticket_reply_id", "the reply's id"),
    ("ticket_reply", "the reply's HTML"),
    ("ticket_reply_type", "`Internal`, `Public` or `Client`"),
    ("ticket_reply_time_worked", "`HH:MM:SS`"),
    (
        "ticket_reply_created_at",
        "`YYYY-MM-DD HH:MM:SS`, the company's clock",
    ),
    ("ticket_reply_updated_at", "`YYYY-MM-DD HH:MM:SS`"),
    ("ticket_reply_archived_at", "`YYYY-MM-DD HH:MM:SS`"),
    (
        "ticket_reply_by",
        "the user's id (a contact's for `Client` replies)",
    ),
    ("ticket_reply_ticket_id", "the ticket's id"),
    ("ticket_prefix", "the ticket's prefix (`TCK-`)"),
    ("ticket_number", "the ticket's number"),
    ("ticket_subject", "the ticket's subject"),
    ("ticket_client_id", "the ticket's client (0: none)"),
    ("ticket_reply_by_name", "the author's name"),
];

fn string_or_null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

impl PartialSchema for V1Row {
    fn schema() -> RefOr<Schema> {
        let mut row = ObjectBuilder::new()
            .description(Some(
                "A reply: every `ticket_replies` column of the database in table order (which columns depends on ITFlow's version), then the ticket's and the author's; every value a string as MariaDB formats it, or null.",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for (name, description) in V1_ROW_COLUMNS {
            row = row.property(name, string_or_null().description(Some(description)));
        }
        row = row.required("ticket_reply_id");
        let other_columns = string_or_null()
            .description(Some("Any other column of the database's `ticket_replies`"));
        let row = row
            .property(
                "attachments",
                ArrayBuilder::new()
                    .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        V1Attachment::name(),
                    )))
                    .description(Some(
                        "replyd's own read.php with `include_attachments=1` only: the reply's files",
                    )),
            )
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(
                Schema::Object(other_columns.build()),
            ))));
        RefOr::T(Schema::Object(row.build()))
    }
}

impl ToSchema for V1Row {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((V1Attachment::name().into(), V1Attachment::schema()));
    }
}

/// A reply's file, every value a string.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct V1Attachment {
    /// `ticket_attachments.ticket_attachment_id`: attachment.php's `attachment_id`.
    id: String,
    /// The original name.
    name: String,
    /// Bytes on disk; null when the file is missing.
    size: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS`
    created_at: String,
}

/// A create's success (create_output.php): `count` is the string "1".
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct V1CreateSuccess {
    #[schema(inline)]
    success: True,
    #[schema(inline)]
    count: One,
    #[schema(min_items = 1, max_items = 1)]
    data: Vec<V1InsertId>,
}

/// The string `"1"`.
#[derive(ToSchema)]
pub enum One {
    #[serde(rename = "1")]
    One,
}

/// The new reply's `ticket_reply_id`; 0 for a status-only call.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct V1InsertId {
    insert_id: u64,
}

/// HTTP 200 of a create: written (or replayed), or refused (nothing
/// written).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum V1CreateAnswer {
    Created(V1CreateSuccess),
    Refused(V1Failure),
}

/// replyd's own create.php: its parameters, in a JSON object or a
/// urlencoded form alike (and the query string). Integers are read with
/// PHP's `intval()`; in a form every value is a string.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct V1CreateParams {
    /// The ticket; this or `ticket_number` is required.
    ticket_id: Option<i64>,
    /// The ticket by number: `12`, or `TCK-12` with the ticket's own prefix.
    ticket_number: Option<String>,
    /// The reply (HTML allowed); at least one of a non-blank reply and a
    /// `status` is needed.
    ticket_reply: Option<String>,
    /// 0 or absent: Internal; 1: Public; 2: Public with email (when
    /// `email_replies` is on).
    #[schema(minimum = 0, maximum = 2)]
    public_reply_type: Option<i64>,
    /// `1` or `true`: `ticket_reply` is Markdown, stored as clean HTML.
    #[schema(value_type = Option<String>)]
    markdown: Option<String>,
    /// Time worked, 0-838.
    #[schema(minimum = 0, maximum = 838)]
    hours: Option<i64>,
    #[schema(minimum = 0, maximum = 59)]
    minutes: Option<i64>,
    #[schema(minimum = 0, maximum = 59)]
    seconds: Option<i64>,
    /// The status to move the ticket to: a `ticket_statuses` id or its
    /// name; absent or 0: unchanged.
    status: Option<String>,
    /// Must be the ticket's client.
    client_id: Option<i64>,
    /// The reply is this contact's (the customer's).
    contact_id: Option<i64>,
    contact_email: Option<String>,
    /// The reply is written on behalf of this agent (an admin's key, or a
    /// key for every client).
    author_user_id: Option<i64>,
    author_email: Option<String>,
    /// A backdated reply: `YYYY-MM-DD HH:MM:SS` on the company's clock, or
    /// RFC 3339 with an offset.
    created: Option<String>,
    /// JSON: an array of `{"name", "data": <base64>}`; a form: that array
    /// as JSON, base64-encoded.
    #[schema(value_type = Option<Value>)]
    attachments: Option<String>,
    /// The key, when not sent as `Authorization: Bearer`.
    api_key: Option<String>,
}

/// replyd's own create.php as `multipart/form-data`: the parameters as
/// ordinary parts (`api_key` before the files), files as parts named
/// `attachments[]` or `file[]`. At least one part (RFC 2046: a multipart
/// body without parts is malformed, a 400).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct V1CreateMultipart {
    #[schema(inline)]
    #[serde(flatten)]
    params: V1CreateParams,
    /// Files attached to the reply.
    #[serde(rename = "attachments[]")]
    #[schema(schema_with = files)]
    files: Option<Vec<Vec<u8>>>,
}

/// ITFlow 2.6's create.php: a JSON object (nothing else carries
/// parameters).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct V1ItflowCreateParams {
    /// Required (a missing one is ITFlow's generic failure).
    ticket_id: Option<i64>,
    /// Required.
    ticket_reply: Option<String>,
    /// `Internal` (default) or `Public`, any case; anything else becomes
    /// Internal.
    ticket_reply_type: Option<String>,
    /// `HH:MM:SS`; anything malformed becomes `00:00:00`.
    ticket_reply_time_worked: Option<String>,
    /// A `ticket_statuses` id.
    ticket_status: Option<i64>,
    /// The ticket's client (else the query string's); a restricted user
    /// must be allowed it.
    client_id: Option<i64>,
    /// The key, when neither in the query string nor sent as
    /// `Authorization: Bearer`.
    api_key: Option<String>,
}

/// v2 lists: by reply id, ascending or descending.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ListOrder {
    Asc,
    Desc,
}

/// The parameters of v2's lists (`GET /api/v2/tickets/{ticket}/replies`,
/// `GET /api/v2/replies`), as `api/v2/query.rs` reads them.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // A description only: `ListParams` reads the query.
pub struct ListQuery {
    /// Replies on a page, 1 to `max_page_size` (default 1000); default 50
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
    /// `next_cursor` of the page before (for the same `order`)
    cursor: Option<String>,
    /// By reply id
    order: Option<ListOrder>,
    /// Only replies of this type (any case)
    #[param(rename = "type")]
    kind: Option<ReplyType>,
    /// Include archived replies (`true`/`false`, `1`/`0`); default false
    include_archived: Option<bool>,
    /// Only replies created, updated or archived at or after this RFC 3339 time (with its offset)
    #[param(format = DateTime)]
    updated_since: Option<String>,
}

/// A reply's type.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ReplyType {
    Internal,
    Public,
    Client,
}

/// v2's new reply: at least a non-blank `body` or a `status`. Unknown
/// fields are refused (422), as is every invalid field, all at once.
#[derive(ToSchema)]
#[schema(example = json!({
    "body": "<p>Replaced the toner.</p>",
    "visibility": "public",
    "time_worked": "0:15:00",
    "status": "On Hold"
}))]
#[allow(dead_code)]
pub struct V2NewReply {
    /// The reply, HTML (or Markdown with `body_format`).
    body: Option<String>,
    #[schema(inline)]
    body_format: Option<BodyFormat>,
    /// Default `internal`; `public_email` also queues the agent UI's email
    /// (when the server's `email_replies` is on).
    #[schema(inline)]
    visibility: Option<Visibility>,
    #[schema(schema_with = time_worked)]
    time_worked: Option<String>,
    /// The status to move the ticket to: a `ticket_statuses` id, or its
    /// name (any case).
    #[schema(schema_with = id_or_name)]
    status: Option<String>,
    /// The reply is written on behalf of this agent (an admin's key, or a
    /// first-generation key for every client).
    #[schema(minimum = 1)]
    author_user_id: Option<u64>,
    author_email: Option<String>,
    /// The reply is this contact's (the customer's); no `status`,
    /// `visibility`, `time_worked` or `author_*` with it.
    #[schema(minimum = 1)]
    contact_id: Option<u64>,
    contact_email: Option<String>,
    /// A backdated reply (with `body`): RFC 3339 with an offset, or
    /// `YYYY-MM-DD HH:MM:SS` on the company's clock; not in the future,
    /// not before the ticket.
    #[schema(example = "2026-11-20T09:30:00+01:00")]
    created: Option<String>,
    /// Files (with `body`).
    attachments: Option<Vec<V2NewAttachment>>,
}

/// `body`'s format.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum BodyFormat {
    /// Stored as sent (the default).
    Html,
    /// Rendered to clean HTML.
    Markdown,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Visibility {
    Internal,
    Public,
    PublicEmail,
}

/// Files of a multipart body: parts of any type.
fn files() -> Schema {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .content_media_type("application/octet-stream"),
        )
        .description(Some("Files attached to the reply (`file[]` too on v1)"))
        .into()
}

/// `time_worked`: whole seconds, or `H:MM:SS`; at most 838:59:59.
fn time_worked() -> Schema {
    let seconds = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(3020399));
    let clock = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(
            "^([0-7]?[0-9]?[0-9]|8[0-2][0-9]|83[0-8]):[0-5]?[0-9]:[0-5]?[0-9]$",
        ))
        .examples(["1:30:00"]);
    OneOfBuilder::new()
        .item(seconds)
        .item(clock)
        .description(Some(
            "Time worked: whole seconds, or `H:MM:SS`; at most 838:59:59",
        ))
        .into()
}

/// `status`: a `ticket_statuses` id, or its name (any case).
fn id_or_name() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("[^0-9 ]"))
                .examples(["Resolved"]),
        )
        .description(Some(
            "The status to move the ticket to: a `ticket_statuses` id, or its name (any case)",
        ))
        .into()
}

/// A file sent in JSON.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct V2NewAttachment {
    /// The file's name; its extension must be one ITFlow accepts.
    #[schema(example = "notes.txt", min_length = 1, max_length = 255)]
    name: String,
    /// The file's bytes, base64.
    #[schema(content_encoding = "base64")]
    data: String,
}

/// v2's new reply as `multipart/form-data`: the fields as text parts
/// (`attachments` as that JSON array's text), files as `attachments[]`
/// parts. At least one part (RFC 2046: a multipart body without parts is
/// malformed, a 400).
#[derive(ToSchema)]
#[schema(min_properties = 1)]
#[allow(dead_code)]
pub struct V2NewReplyMultipart {
    body: Option<String>,
    body_format: Option<String>,
    visibility: Option<String>,
    time_worked: Option<String>,
    status: Option<String>,
    author_user_id: Option<String>,
    author_email: Option<String>,
    contact_id: Option<String>,
    contact_email: Option<String>,
    created: Option<String>,
    /// Files attached to the reply.
    #[serde(rename = "attachments[]")]
    #[schema(schema_with = files)]
    files: Option<Vec<Vec<u8>>>,
}

/// What every v2 operation may answer besides its own statuses, and the
/// rate-limit headers on every v2 answer.
struct V2Common;

const RATE_LIMIT_HEADERS: [(&str, &str); 3] = [
    ("RateLimit-Limit", "Requests the key may make in the window"),
    ("RateLimit-Remaining", "Requests left in the window"),
    ("RateLimit-Reset", "Seconds until the window resets"),
];

/// A response every v2 operation may give.
struct Common {
    status: &'static str,
    /// Its name under `components/responses`.
    name: &'static str,
    description: &'static str,
    /// A header of its own: name and description.
    header: Option<(&'static str, &'static str)>,
}

const V2_COMMON: [Common; 5] = [
    Common {
        status: "401",
        name: "V2Unauthorized",
        description: "No `Authorization: Bearer` key, or an unknown or expired one",
        header: Some(("WWW-Authenticate", "`Bearer`")),
    },
    Common {
        status: "403",
        name: "V2Forbidden",
        description: "A user-tied key whose user is inactive, archived, or whose role may not do this",
        header: None,
    },
    Common {
        status: "429",
        name: "V2TooManyRequests",
        description: "The key's rate limit is spent",
        header: Some((
            "Retry-After",
            "Seconds until a request is let through again",
        )),
    },
    Common {
        status: "500",
        name: "V2ServerError",
        description: "The database failed (nothing written), or a create's COMMIT failed (may or may not be saved: retry with the same Idempotency-Key)",
        header: None,
    },
    Common {
        status: "503",
        name: "V2Unavailable",
        description: "The database cannot be reached in time (nothing written; try again), or the uploads folder cannot be written",
        header: None,
    },
];

fn integer_header(description: &str) -> utoipa::openapi::Header {
    utoipa::openapi::HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ))
        .description(Some(description))
        .build()
}

impl Modify for V2Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        let header_ref = |name: &str| RefOr::Ref(Ref::new(format!("#/components/headers/{name}")));
        for (name, description) in RATE_LIMIT_HEADERS {
            components
                .headers
                .insert(name.into(), RefOr::T(integer_header(description)));
        }
        for Common {
            name,
            description,
            header: extra,
            ..
        } in V2_COMMON
        {
            let mut response = ResponseBuilder::new().description(description).content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(
                        crate::api::v2::problem::Problem::name(),
                    )))
                    .build(),
            );
            if let Some((header, description)) = extra {
                let schema = if header == "Retry-After" {
                    integer_header(description)
                } else {
                    utoipa::openapi::HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .description(Some(description))
                        .build()
                };
                response = response.header(header, schema);
            }
            let mut response = response.build();
            for (header, _) in RATE_LIMIT_HEADERS {
                response.headers.insert(header.into(), header_ref(header));
            }
            components.responses.insert(name.into(), RefOr::T(response));
        }
        // Unknown fields are refused (422).
        if let Some(RefOr::T(Schema::Object(new_reply))) =
            components.schemas.get_mut(V2NewReply::name().as_ref())
        {
            new_reply.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with(crate::api::v2::PREFIX) {
                continue;
            }
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        for (header, _) in RATE_LIMIT_HEADERS {
                            response.headers.insert(header.into(), header_ref(header));
                        }
                    }
                }
                for Common { status, name, .. } in V2_COMMON {
                    op.responses
                        .responses
                        .entry(status.into())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
}
