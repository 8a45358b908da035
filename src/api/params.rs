//! Request parameters read as ITFlow's PHP reads them: the query string
//! (`$_GET`) and the body (`$_POST`).
//!
//! Two dialects. replyd's own `/api/v1/tickets/replies/` reads a body that
//! is a JSON object as JSON whatever its Content-Type, and any other body as
//! an urlencoded form, refusing bodies it cannot parse ([`Params::parse`]).
//! ITFlow 2.6's own `/api/v1/ticket_replies/` reads exactly what ITFlow's PHP
//! reads ([`Params::itflow`]): `$_GET` as PHP builds it from the query string
//! (`a[]=1` is an array, `a.b` and `a b` are `a_b`), and `$_POST` replaced by
//! `json_decode(body, true)` (ITFlow api/v1/validate_api_key.php), so a body
//! that is not a JSON object carries no parameters at all.

use crate::error::{ApiError, Message};
use crate::php::intval;
use std::borrow::Cow;
use std::collections::HashMap;

/// Which API's rules read the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// replyd's own `/api/v1/tickets/replies/`.
    #[default]
    Replies,
    /// ITFlow 2.6's own `/api/v1/ticket_replies/`.
    TicketReplies,
}

/// A request parameter as PHP holds it (ITFlow dialect only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhpValue {
    /// A string (JSON numbers and booleans as PHP turns them into one:
    /// `true` is "1", `false` is "").
    Text(String),
    /// An array: `a[]=1` or `a[k]=1` in the query string (never empty), a
    /// JSON array or object in the body.
    Array { empty: bool },
}

impl PhpValue {
    /// PHP `intval()`: an array is 1, or 0 when empty.
    pub fn intval(&self) -> i64 {
        match self {
            PhpValue::Text(s) => intval(s),
            PhpValue::Array { empty } => i64::from(!empty),
        }
    }

    /// PHP `empty()`: "", "0" and an empty array.
    pub fn is_empty(&self) -> bool {
        match self {
            PhpValue::Text(s) => s.is_empty() || s == "0",
            PhpValue::Array { empty } => *empty,
        }
    }

    /// PHP's `(string)` cast: an array is the text "Array" (with a warning).
    pub fn to_php_string(&self) -> Cow<'_, str> {
        match self {
            PhpValue::Text(s) => Cow::Borrowed(s),
            PhpValue::Array { .. } => Cow::Borrowed("Array"),
        }
    }

    /// The text, for the PHP functions that throw a TypeError (an HTTP 500
    /// in ITFlow) when given an array (`strtolower`,
    /// `mysqli_real_escape_string`): replyd answers a JSON 400 naming
    /// `name` instead.
    pub fn text(&self, name: &'static str) -> Result<&str, ApiError> {
        match self {
            PhpValue::Text(s) => Ok(s),
            PhpValue::Array { .. } => Err(ApiError::BadRequest(Message::ParameterNotScalar(
                name.into(),
            ))),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Params {
    /// replyd's own dialect: the query string, then the body.
    query: HashMap<String, String>,
    body: HashMap<String, String>,
    /// ITFlow's dialect: `$_GET` and `$_POST` (empty in the other dialect,
    /// as `query` and `body` are in this one).
    get: HashMap<String, PhpValue>,
    post: HashMap<String, PhpValue>,
    dialect: Dialect,
}

impl Params {
    /// Parse a raw query string and a raw body by `dialect`'s rules.
    pub fn parse_for(dialect: Dialect, query_string: &str, body: &[u8]) -> Result<Self, ApiError> {
        match dialect {
            Dialect::Replies => Self::parse(query_string, body),
            Dialect::TicketReplies => Ok(Self::itflow(query_string, body)),
        }
    }

    /// replyd's own dialect: a raw query string and a raw body; a body that
    /// is neither a JSON object nor a form is refused.
    pub fn parse(query_string: &str, body: &[u8]) -> Result<Self, ApiError> {
        Ok(Self {
            query: parse_form(query_string.as_bytes()),
            body: parse_body(body)?,
            ..Self::default()
        })
    }

    /// replyd's own dialect, with a multipart/form-data body's text parts as
    /// the body's fields.
    pub fn with_fields(query_string: &str, fields: HashMap<String, String>) -> Self {
        Self {
            query: parse_form(query_string.as_bytes()),
            body: fields,
            ..Self::default()
        }
    }

    /// ITFlow's dialect: `$_GET` from the query string as PHP parses it, and
    /// `$_POST = json_decode(body, true)` (ITFlow api/v1/validate_api_key.php):
    /// a body that is not a JSON object (a form, broken JSON, a JSON array,
    /// text that is not UTF-8) gives no parameters, never an error.
    pub fn itflow(query_string: &str, body: &[u8]) -> Self {
        let post = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(map)) => php_json_members(map),
            _ => {
                if !body.iter().all(u8::is_ascii_whitespace) {
                    log::info!(
                        "request body ignored: not a JSON object, so it carries no parameters \
                         on ITFlow's own endpoints (json_decode gives none)"
                    );
                }
                HashMap::new()
            }
        };
        Self {
            get: parse_php_query(query_string.as_bytes()),
            post,
            dialect: Dialect::TicketReplies,
            ..Self::default()
        }
    }

    /// The API key, where the dialect reads it: replyd's own, the body
    /// else the query string; ITFlow's, `$_POST['api_key']` if set, else
    /// `$_GET['api_key']` (validate_api_key.php), an array read as the
    /// text "Array" as its escapeSql() casts it.
    pub fn api_key(&self) -> Option<Cow<'_, str>> {
        match self.dialect {
            Dialect::Replies => self.body_first("api_key").map(Cow::Borrowed),
            Dialect::TicketReplies => self
                .post("api_key")
                .or_else(|| self.get("api_key"))
                .map(PhpValue::to_php_string),
        }
    }

    /// ITFlow's dialect: `$_GET[key]`; None when not set (PHP `isset`).
    pub fn get(&self, key: &str) -> Option<&PhpValue> {
        self.get.get(key)
    }

    /// ITFlow's dialect: `$_POST[key]`, the JSON body's member; None when
    /// absent or null (PHP `isset`).
    pub fn post(&self, key: &str) -> Option<&PhpValue> {
        self.post.get(key)
    }

    /// From the body, else the query string (ITFlow's `api_key`: the body
    /// wins; create.php's parameters).
    pub fn body_first(&self, key: &str) -> Option<&str> {
        self.body
            .get(key)
            .or_else(|| self.query.get(key))
            .map(String::as_str)
    }

    /// From the query string, else the body (validate_api_key.php's
    /// `limit` / `offset`; read.php's filters).
    pub fn query_first(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .or_else(|| self.body.get(key))
            .map(String::as_str)
    }

    /// `intval()` of a body-first parameter; None when absent (PHP `isset`).
    pub fn body_first_int(&self, key: &str) -> Option<i64> {
        self.body_first(key).map(intval)
    }

    /// `intval()` of a query-first parameter; None when absent.
    pub fn query_first_int(&self, key: &str) -> Option<i64> {
        self.query_first(key).map(intval)
    }
}

/// json_decode's members as PHP values: null is absent (`isset` is false),
/// booleans are "1" / "", arrays and objects are arrays.
fn php_json_members(map: serde_json::Map<String, serde_json::Value>) -> HashMap<String, PhpValue> {
    let mut out = HashMap::with_capacity(map.len());
    for (key, value) in map {
        let value = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => PhpValue::Text(s),
            serde_json::Value::Number(n) => PhpValue::Text(n.to_string()),
            serde_json::Value::Bool(b) => PhpValue::Text(if b { "1" } else { "" }.to_string()),
            serde_json::Value::Array(a) => PhpValue::Array {
                empty: a.is_empty(),
            },
            serde_json::Value::Object(o) => PhpValue::Array {
                empty: o.is_empty(),
            },
        };
        out.insert(key, value);
    }
    out
}

/// PHP's `$_GET` (main/php_variables.c, `php_default_treat_data` and
/// `php_register_variable_ex`): pairs split on `&`, names and values
/// url-decoded (`+` is a space); a name is cut at a NUL byte and loses its
/// leading spaces; `.` and ` ` in it become `_`; `name[...]` with a closing
/// `]` is an array, a `[` without one becomes `_`; a later pair of the same
/// name replaces an earlier one.
fn parse_php_query(query: &[u8]) -> HashMap<String, PhpValue> {
    let mut out = HashMap::new();
    for pair in query.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let mut name = php_url_decode(name);
        if let Some(nul) = name.iter().position(|&b| b == 0) {
            name.truncate(nul);
        }
        let start = name.iter().position(|&b| b != b' ').unwrap_or(name.len());
        let name = &name[start..];
        let mut var = Vec::with_capacity(name.len());
        let mut is_array = false;
        for (i, &b) in name.iter().enumerate() {
            match b {
                b' ' | b'.' => var.push(b'_'),
                b'[' => {
                    let rest = &name[i + 1..];
                    if rest.contains(&b']') {
                        is_array = true;
                    } else {
                        // Not an index: the `[` and any ` . [` after it are `_`.
                        var.push(b'_');
                        var.extend(rest.iter().map(|&c| match c {
                            b' ' | b'.' | b'[' => b'_',
                            c => c,
                        }));
                    }
                    break;
                }
                b => var.push(b),
            }
        }
        if var.is_empty() {
            continue;
        }
        let value = if is_array {
            PhpValue::Array { empty: false }
        } else {
            PhpValue::Text(String::from_utf8_lossy(&php_url_decode(value)).into_owned())
        };
        out.insert(String::from_utf8_lossy(&var).into_owned(), value);
    }
    out
}

/// PHP `urldecode()`: `+` is a space, `%` and two hex digits a byte, any
/// other `%` kept as it is.
fn php_url_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// `a=1&b=x+y`: percent-decoded, `+` as space, the last of repeated keys
/// wins (PHP's `$_GET`).
fn parse_form(bytes: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn parse_body(body: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::BadRequest(Message::BodyNotUtf8))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return parse_json_object(text);
    }
    parse_form_strict(text)
}

/// A form body, refusing percent-escapes that decode to bytes that are not
/// UTF-8 (serde_urlencoded would replace them silently).
fn parse_form_strict(text: &str) -> Result<HashMap<String, String>, ApiError> {
    let decode = |part: &str| -> Result<String, ApiError> {
        let spaced = part.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| ApiError::BadRequest(Message::BodyNotUtf8))
    };
    let mut out = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(key)?, decode(value)?);
    }
    Ok(out)
}

fn parse_json_object(text: &str) -> Result<HashMap<String, String>, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::BadRequest(Message::BodyNotJson(e.to_string())))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::BadRequest(Message::BodyNotObject));
    };
    let mut out = HashMap::with_capacity(map.len());
    for (key, value) in map {
        let text = match value {
            // PHP: isset() is false for null, so the parameter is absent.
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            // PHP casts true to "1" and false to "".
            serde_json::Value::Bool(b) => if b { "1" } else { "" }.to_string(),
            // Files, as `[{"name": ..., "data": <base64>}]`
            // (api/attachments.rs reads the array from its JSON text).
            attachments @ serde_json::Value::Array(_) if key == "attachments" => {
                attachments.to_string()
            }
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(ApiError::BadRequest(Message::ParameterNotScalar(key)));
            }
        };
        out.insert(key, text);
    }
    Ok(out)
}

/// The legacy dialect's fields for the domain: body first, then query.
impl crate::domain::reply::Fields for Params {
    fn field(&self, name: &str) -> Option<&str> {
        self.body_first(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_form_follow_php() {
        let p = Params::parse("a=1&a=2&s=x+y%2Fz&e=", b"b=3&a=9").unwrap();
        assert_eq!(p.query_first("a"), Some("2"));
        assert_eq!(p.body_first("a"), Some("9"));
        assert_eq!(p.query_first("s"), Some("x y/z"));
        assert_eq!(p.query_first("e"), Some(""));
        assert_eq!(p.body_first("b"), Some("3"));
        assert_eq!(p.query_first("missing"), None);
    }

    #[test]
    fn json_object_bodies_are_read_whatever_the_content_type() {
        let p = Params::parse(
            "",
            br#" {"ticket_id": 5, "s": "x", "n": null, "t": true, "f": false, "x": 1.5}"#,
        )
        .unwrap();
        assert_eq!(p.body_first("ticket_id"), Some("5"));
        assert_eq!(p.body_first_int("ticket_id"), Some(5));
        assert_eq!(p.body_first("n"), None);
        assert_eq!(p.body_first("t"), Some("1"));
        assert_eq!(p.body_first("f"), Some(""));
        assert_eq!(p.body_first_int("x"), Some(1));
    }

    #[test]
    fn bad_bodies_are_refused() {
        assert!(matches!(
            Params::parse("", b"{oops"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            Params::parse("", b"[1,2]"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            Params::parse("", b"a=\xff"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            Params::parse("", br#"{"a":[1]}"#),
            Err(ApiError::BadRequest(_))
        ));
        assert!(Params::parse("", b"").unwrap().body.is_empty());
    }

    /// What PHP puts in `$_GET` for each query string (the name rules
    /// checked against ITFlow 2.6.7's read.php on php-fpm 8.2).
    #[test]
    fn itflow_query_is_php_get() {
        let text = |s: &str| Some(PhpValue::Text(s.to_string()));
        let array = Some(PhpValue::Array { empty: false });
        let cases: &[(&str, &str, Option<PhpValue>)] = &[
            ("ticket_id=5", "ticket_id", text("5")),
            ("ticket_id[]=3", "ticket_id", array.clone()),
            ("ticket_id%5B%5D=3", "ticket_id", array.clone()),
            ("ticket_id[x]y=3", "ticket_id", array.clone()),
            ("ticket_id=5&ticket_id[]=3", "ticket_id", array.clone()),
            ("ticket_id[]=3&ticket_id=5", "ticket_id", text("5")),
            ("ticket.id=5", "ticket_id", text("5")),
            ("ticket%20id=5", "ticket_id", text("5")),
            ("%20ticket_id=5", "ticket_id", text("5")),
            ("ticket[id=5", "ticket_id", text("5")),
            ("ticket[reply.id=5", "ticket_reply_id", text("5")),
            ("ticket_id[=5", "ticket_id_", text("5")),
            ("ticket_id[=5", "ticket_id", None),
            ("ticket_id]=5", "ticket_id", None),
            ("tic%00ket_id=5", "tic", text("5")),
            ("ticket_id=5%00x", "ticket_id", text("5\0x")),
            ("ticket_reply_id", "ticket_reply_id", text("")),
            ("s=a+b%2Fc%zz%", "s", text("a b/c%zz%")),
            ("[]=1&=2", "", None),
        ];
        for (query, name, want) in cases {
            let p = Params::itflow(query, b"");
            assert_eq!(p.get(name), want.as_ref(), "{query} -> $_GET[{name}]");
        }
    }

    #[test]
    fn itflow_body_is_json_decode_or_nothing() {
        let p = Params::itflow(
            "api_key=q&ticket_id=9",
            br#"{"api_key":"b","ticket_id":[5],"e":[],"o":{},"n":null,"t":true,"f":false,"x":2}"#,
        );
        assert_eq!(p.api_key().as_deref(), Some("b"));
        assert_eq!(p.post("ticket_id").map(PhpValue::intval), Some(1));
        assert_eq!(p.post("e").map(PhpValue::intval), Some(0));
        assert!(p.post("o").unwrap().is_empty());
        assert_eq!(p.post("n"), None);
        assert_eq!(p.post("t"), Some(&PhpValue::Text("1".into())));
        assert_eq!(p.post("f"), Some(&PhpValue::Text("".into())));
        assert_eq!(p.post("x").map(PhpValue::intval), Some(2));
        assert_eq!(p.get("ticket_id").map(PhpValue::intval), Some(9));
        // No body member named api_key (or a null one): the query's.
        assert_eq!(
            Params::itflow("api_key=q", br#"{"api_key":null}"#)
                .api_key()
                .as_deref(),
            Some("q")
        );
        assert_eq!(
            Params::itflow("api_key[]=q", b"").api_key().as_deref(),
            Some("Array")
        );
        // Anything json_decode does not turn into an array of members.
        for body in [
            &b"api_key=b&ticket_id=1"[..],
            b"{oops",
            b"[1,2]",
            b"\"text\"",
            b"{\"api_key\":\"\xff\"}",
            b"",
        ] {
            let p = Params::itflow("", body);
            assert!(p.post.is_empty() && p.api_key().is_none(), "{body:?}");
        }
        assert!(matches!(
            Params::itflow("type[]=x", b"")
                .get("type")
                .unwrap()
                .text("type"),
            Err(ApiError::BadRequest(Message::ParameterNotScalar(n))) if n == "type"
        ));
    }
}
