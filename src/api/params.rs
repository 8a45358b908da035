//! Request parameters read as ITFlow's PHP reads them: the query string
//! (`$_GET`) and the body (`$_POST`). ITFlow's v1 decodes every body as JSON
//! (validate_api_key.php: `json_decode(file_get_contents('php://input'))`);
//! replyd reads a body that is a JSON object as JSON whatever its
//! Content-Type, and any other body as an urlencoded form.

use crate::error::ApiError;
use crate::php::intval;
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct Params {
    query: HashMap<String, String>,
    body: HashMap<String, String>,
}

impl Params {
    /// Parse a raw query string and a raw body.
    pub fn parse(query_string: &str, body: &[u8]) -> Result<Self, ApiError> {
        Ok(Self {
            query: parse_form(query_string.as_bytes()),
            body: parse_body(body)?,
        })
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

/// `a=1&b=x+y`: percent-decoded, `+` as space, the last of repeated keys
/// wins (PHP's `$_GET`).
fn parse_form(bytes: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn parse_body(body: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        ApiError::BadBody(
            "Request body is not valid UTF-8 text; send a JSON object or a form.".into(),
        )
    })?;
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
            .map_err(|_| {
                ApiError::BadBody(
                    "Request body is not valid UTF-8 text; send a JSON object or a form.".into(),
                )
            })
    };
    let mut out = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(key)?, decode(value)?);
    }
    Ok(out)
}

fn parse_json_object(text: &str) -> Result<HashMap<String, String>, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ApiError::BadBody(format!(
            "Request body is not valid JSON ({e}); send a JSON object or a form."
        ))
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::BadBody(
            "Request body must be a JSON object of parameters.".into(),
        ));
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
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(ApiError::BadBody(format!(
                    "Parameter {key} must be a string or a number, not an array or object."
                )));
            }
        };
        out.insert(key, text);
    }
    Ok(out)
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
            Err(ApiError::BadBody(_))
        ));
        assert!(matches!(
            Params::parse("", b"[1,2]"),
            Err(ApiError::BadBody(_))
        ));
        assert!(matches!(
            Params::parse("", b"a=\xff"),
            Err(ApiError::BadBody(_))
        ));
        assert!(matches!(
            Params::parse("", br#"{"a":[1]}"#),
            Err(ApiError::BadBody(_))
        ));
        assert!(Params::parse("", b"").unwrap().body.is_empty());
    }
}
