//! Who sent a request, for `logs`: client IP, user agent, path.

use crate::php::sanitize_input;
use actix_web::HttpRequest;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    /// `logs.log_ip`.
    pub ip: String,
    /// `logs.log_user_agent`, as ITFlow's `sanitizeInput()` leaves it, cut
    /// to the column's 250 characters.
    pub user_agent: String,
    /// The path without the query string (which may hold the key).
    pub path: String,
}

impl RequestMeta {
    pub fn from_request(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Self {
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .map(|v| sanitize_input(&String::from_utf8_lossy(v.as_bytes())))
            .unwrap_or_default();
        RequestMeta {
            ip: client_ip(req, trusted_proxies),
            user_agent: user_agent.chars().take(250).collect(),
            path: sanitize_input(req.path()),
        }
    }
}

/// The peer address; behind a trusted proxy, the first `X-Forwarded-For`
/// entry (ITFlow's getIP() with CONST_GET_IP_METHOD = HTTP_X_FORWARDED_FOR),
/// used only when it is a valid IP address.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return String::new();
    };
    if trusted_proxies.contains(&peer) {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|first| first.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip.to_string();
        }
    }
    peer.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip_of(peer: &str, xff: Option<&str>) -> String {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(x) = xff {
            req = req.insert_header(("X-Forwarded-For", x));
        }
        let trusted = [IpAddr::from([127, 0, 0, 1])];
        client_ip(&req.to_http_request(), &trusted)
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        assert_eq!(
            ip_of("127.0.0.1:5000", Some("203.0.113.9, 10.0.0.1")),
            "203.0.113.9"
        );
        assert_eq!(ip_of("127.0.0.1:5000", None), "127.0.0.1");
        assert_eq!(ip_of("127.0.0.1:5000", Some("not-an-ip")), "127.0.0.1");
        assert_eq!(ip_of("192.0.2.7:5000", Some("203.0.113.9")), "192.0.2.7");
    }
}
