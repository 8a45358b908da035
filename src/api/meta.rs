//! Who sent a request, for `logs`: client IP, user agent, path (the
//! domain's [`RequestMeta`], read from the HTTP request).

pub use crate::domain::RequestMeta;
use crate::php::sanitize_input;
use actix_web::HttpRequest;
use std::net::IpAddr;

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

/// The peer address; behind a trusted proxy, the client that proxy saw, as
/// nginx's realip module finds it with `real_ip_recursive on`: the
/// `X-Forwarded-For` entries of every header line, in order, read from the
/// right, skipping trusted proxies; the first other entry is the client.
/// When every entry is a trusted proxy, the left-most one; an entry that is
/// not an IP address ends the walk at the last address believed. (ITFlow's
/// getIP() takes the first entry, which any client can forge.)
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return String::new();
    };
    if !trusted_proxies.contains(&peer) {
        return peer.to_string();
    }
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Ok(ip) = entry.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !trusted_proxies.contains(&ip) {
            break;
        }
    }
    client.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip_of(peer: &str, xff: &[&str]) -> String {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for x in xff {
            req = req.append_header(("X-Forwarded-For", *x));
        }
        let trusted = [IpAddr::from([127, 0, 0, 1]), IpAddr::from([10, 0, 0, 1])];
        client_ip(&req.to_http_request(), &trusted)
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        assert_eq!(ip_of("127.0.0.1:5000", &["203.0.113.9"]), "203.0.113.9");
        assert_eq!(ip_of("127.0.0.1:5000", &[]), "127.0.0.1");
        assert_eq!(ip_of("127.0.0.1:5000", &["not-an-ip"]), "127.0.0.1");
        assert_eq!(ip_of("192.0.2.7:5000", &["203.0.113.9"]), "192.0.2.7");
    }

    #[test]
    fn the_client_is_the_right_most_entry_that_is_not_a_trusted_proxy() {
        // A forged left-most entry is not believed.
        assert_eq!(
            ip_of("127.0.0.1:5000", &["198.51.100.1, 203.0.113.9"]),
            "203.0.113.9"
        );
        assert_eq!(
            ip_of("127.0.0.1:5000", &["203.0.113.9, 10.0.0.1"]),
            "203.0.113.9"
        );
        // Across header lines, in order: the last line is the nearest hop.
        assert_eq!(
            ip_of("127.0.0.1:5000", &["198.51.100.1", "203.0.113.9"]),
            "203.0.113.9"
        );
        assert_eq!(
            ip_of("127.0.0.1:5000", &["198.51.100.1", "203.0.113.9, 10.0.0.1"]),
            "203.0.113.9"
        );
        // Only trusted proxies: the left-most.
        assert_eq!(
            ip_of("127.0.0.1:5000", &["10.0.0.1, 127.0.0.1"]),
            "10.0.0.1"
        );
        // Garbage ends the walk at the last address believed.
        assert_eq!(
            ip_of("127.0.0.1:5000", &["203.0.113.9, junk, 10.0.0.1"]),
            "10.0.0.1"
        );
    }
}
