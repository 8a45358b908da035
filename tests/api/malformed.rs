//! A fixed corpus of malformed requests replayed over raw TCP against all
//! four endpoints, with and without a valid key: random bytes, invalid
//! UTF-8 in the query and the body, JSON of the wrong types, bodies too
//! large and too deep, odd methods and headers, and requests broken at the
//! HTTP level. For each: an answer within a bound, never a 5xx but 503;
//! JSON wherever the app answers; and no row written unless the request was
//! in fact valid and acknowledged (an unknown key's one `logs` row aside).
//!
//! The corpus is generated, not stored: from a fixed seed, so every run
//! replays the same bytes.
//!
//! Runs on the two fixtures (authentication and writes differ by key
//! generation); heavy, so not on ITFlow's dumps.

use crate::helpers::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ITFLOW_READ: &str = "/api/v1/ticket_replies/read.php";
const ITFLOW_CREATE: &str = "/api/v1/ticket_replies/create.php";
const ENDPOINTS: [&str; 4] = [READ, CREATE, ITFLOW_READ, ITFLOW_CREATE];
/// Smaller than the default so the over-limit bodies stay cheap.
const MAX_BODY: usize = 256 * 1024;

/// Who is expected to answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Level {
    /// replyd's handlers: a JSON answer.
    App,
    /// actix-http rejects it before any handler (a 4xx, possibly without a
    /// body), or it may: either a 4xx without JSON or a JSON answer.
    Http,
}

struct Case {
    name: String,
    bytes: Vec<u8>,
    level: Level,
}

/// xorshift64*: the corpus's fixed random bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A request with `Connection: close` and a Content-Length, unless the
/// headers given set the framing themselves.
fn request(method: &str, target: &[u8], headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nUser-Agent: replyd-malformed/1.0\r\n");
    let framed = headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    });
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    if !framed && (!body.is_empty() || method == "POST") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn corpus() -> Vec<Case> {
    let mut rng = Rng(0x1313_2026_0006_0001);
    let mut cases = Vec::new();
    let mut push =
        |name: String, bytes: Vec<u8>, level: Level| cases.push(Case { name, bytes, level });
    let form: &[(&str, &[u8])] = &[("Content-Type", b"application/x-www-form-urlencoded")];
    let json: &[(&str, &[u8])] = &[("Content-Type", b"application/json")];
    for path in ENDPOINTS {
        for (kname, key) in [
            ("no key", ""),
            ("valid key", GLOBAL_KEY),
            ("bad key", "nope"),
        ] {
            let q = |extra: &str| -> Vec<u8> {
                let mut t = format!("{path}?");
                if !key.is_empty() {
                    t.push_str(&format!("api_key={key}&"));
                }
                t.push_str(extra);
                t.into_bytes()
            };
            let ctx = |what: &str| format!("{path} {kname}: {what}");
            let k = |extra: &str| -> String {
                if key.is_empty() {
                    extra.to_string()
                } else {
                    format!("\"api_key\":\"{key}\",{extra}")
                }
            };

            // Random bytes as the body, labelled three ways.
            for (n, size) in [16usize, 700, 9000].into_iter().enumerate() {
                let ct: &[u8] = [
                    &b"application/x-www-form-urlencoded"[..],
                    b"application/json",
                    b"application/octet-stream",
                ][n];
                push(
                    ctx(&format!("{size} random bytes")),
                    request(
                        "POST",
                        &q("ticket_id=1&ticket_reply=random"),
                        &[("Content-Type", ct)],
                        &rng.bytes(size),
                    ),
                    Level::App,
                );
            }
            // Invalid UTF-8: percent-escaped in the query, raw in the body.
            push(
                ctx("%FF in the query"),
                request(
                    "GET",
                    &q("ticket_id=1%FF&ticket_reply=caf%E9&reply_id=%C3%28"),
                    &[],
                    b"",
                ),
                Level::App,
            );
            push(
                ctx("raw 0xFF in the query"),
                request(
                    "GET",
                    &[&q("ticket_id=1&x=")[..], b"\xff\xfe"].concat(),
                    &[],
                    b"",
                ),
                Level::Http,
            );
            push(
                ctx("raw 0xFF in a form body"),
                request(
                    "POST",
                    &q(""),
                    form,
                    b"ticket_id=1&ticket_reply=\xff\xfe\xfd",
                ),
                Level::App,
            );
            push(
                ctx("raw 0xFF in a JSON string"),
                request(
                    "POST",
                    &q(""),
                    json,
                    &[
                        &b"{\"ticket_id\":1,\"ticket_reply\":\""[..],
                        b"\xc3\x28\xff",
                        b"\"}",
                    ]
                    .concat(),
                ),
                Level::App,
            );
            // JSON of the wrong types.
            for body in [
                "[]".to_string(),
                "[1,2,3]".into(),
                "\"a string\"".into(),
                "42".into(),
                "null".into(),
                "true".into(),
                "{".into(),
                "{}".into(),
                format!("{{\"api_key\":[\"{key}\"],\"ticket_id\":1,\"ticket_reply\":\"x\"}}"),
                format!("{{\"api_key\":{{\"k\":\"{key}\"}},\"ticket_id\":1}}"),
                "{\"api_key\":12345,\"ticket_id\":1,\"ticket_reply\":\"x\"}".into(),
                "{\"api_key\":true,\"ticket_id\":1,\"ticket_reply\":\"x\"}".into(),
                "{\"api_key\":null,\"ticket_id\":1,\"ticket_reply\":\"x\"}".into(),
                format!("{{{}}}", k("\"ticket_id\":[1],\"ticket_reply\":\"x\"")),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":{\"a\":1},\"ticket_reply\":\"x\"")
                ),
                format!("{{{}}}", k("\"ticket_id\":\"abc\",\"ticket_reply\":\"x\"")),
                format!("{{{}}}", k("\"ticket_id\":1.5,\"ticket_reply\":\"x\"")),
                format!("{{{}}}", k("\"ticket_id\":1e400,\"ticket_reply\":\"x\"")),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":-99999999999999999999,\"ticket_reply\":\"x\"")
                ),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":99999999999999999999999,\"ticket_reply\":\"x\"")
                ),
                format!("{{{}}}", k("\"ticket_id\":1,\"ticket_reply\":12")),
                format!("{{{}}}", k("\"ticket_id\":1,\"ticket_reply\":[\"x\"]")),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":1,\"ticket_reply\":{\"a\":{\"b\":[1,{}]}}")
                ),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":1,\"public_reply_type\":[1],\"ticket_reply\":\"x\"")
                ),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":1,\"hours\":1e3,\"minutes\":-1,\"ticket_reply\":\"x\"")
                ),
                format!(
                    "{{{}}}",
                    k(
                        "\"ticket_id\":1,\"status\":\"4; DROP TABLE tickets\",\"ticket_reply\":\"x\""
                    )
                ),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":1,\"ticket_status\":99999999999,\"ticket_reply\":\"x\"")
                ),
                format!(
                    "{{{}}}",
                    k(
                        "\"ticket_id\":1,\"ticket_reply_time_worked\":\"999:99:99\",\"ticket_reply\":\"x\""
                    )
                ),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":1,\"ticket_reply\":\"\\u0000\\ud800\"")
                ),
                format!("{{{}}}", k("\"limit\":-1,\"offset\":\"x\",\"ticket_id\":1")),
                format!(
                    "{{{}}}",
                    k("\"ticket_id\":1,\"ticket_id\":[2],\"ticket_reply\":\"dup\"")
                ),
            ] {
                push(
                    ctx(&format!(
                        "JSON {}",
                        body.chars().take(60).collect::<String>()
                    )),
                    request("POST", path.as_bytes(), json, body.as_bytes()),
                    Level::App,
                );
            }
            // Too large: over max_body_bytes, announced and chunked.
            let big = format!(
                "api_key={key}&ticket_id=1&ticket_reply={}",
                "x".repeat(MAX_BODY + 10)
            );
            push(
                ctx("body over max_body_bytes"),
                request("POST", path.as_bytes(), form, big.as_bytes()),
                Level::App,
            );
            let mut chunked = Vec::new();
            for piece in big.as_bytes().chunks(32 * 1024) {
                chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                chunked.extend_from_slice(piece);
                chunked.extend_from_slice(b"\r\n");
            }
            chunked.extend_from_slice(b"0\r\n\r\n");
            push(
                ctx("chunked body over max_body_bytes"),
                request(
                    "POST",
                    path.as_bytes(),
                    &[form[0], ("Transfer-Encoding", b"chunked")],
                    &chunked,
                ),
                Level::App,
            );
            // Deep: 100 000 nested arrays, 40 000 nested objects.
            push(
                ctx("100k ["),
                request("POST", &q(""), json, "[".repeat(100_000).as_bytes()),
                Level::App,
            );
            let deep = format!("{{{}", k(&"\"a\":{".repeat(40_000)));
            push(
                ctx("40k nested objects"),
                request("POST", &q(""), json, deep.as_bytes()),
                Level::App,
            );
            // Odd methods.
            for method in [
                "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "TRACE", "HEAD", "FOO",
            ] {
                push(
                    ctx(method),
                    request(
                        method,
                        &q("ticket_id=1&ticket_reply=m"),
                        form,
                        b"ticket_reply=m",
                    ),
                    Level::App,
                );
            }
            // Odd headers.
            let valid_form = format!("api_key={key}&ticket_id=1&ticket_reply=hdr");
            for (what, headers) in [
                (
                    "two Content-Types",
                    vec![("Content-Type", &b"application/json"[..]), form[0]],
                ),
                (
                    "Content-Type garbage",
                    vec![("Content-Type", &b";;;=;charset=\"\xff/\xfe"[..])],
                ),
                (
                    "Content-Type latin1 JSON",
                    vec![("Content-Type", &b"application/json; charset=latin1"[..])],
                ),
                (
                    "Expect: 100-continue",
                    vec![form[0], ("Expect", &b"100-continue"[..])],
                ),
                (
                    "long User-Agent",
                    vec![form[0], ("User-Agent", "é".repeat(3000).as_bytes())],
                ),
                (
                    "User-Agent 0xFF",
                    vec![form[0], ("User-Agent", &b"\xff\xfe<script>"[..])],
                ),
                (
                    "X-Forwarded-For garbage",
                    vec![form[0], ("X-Forwarded-For", "x".repeat(500).as_bytes())],
                ),
                (
                    "X-Forwarded-For 0xFF",
                    vec![form[0], ("X-Forwarded-For", &b"\xff, 1.2.3.4"[..])],
                ),
            ] {
                // `Vec<(&str, &[u8])>` with owned values kept alive here.
                let headers: Vec<(&str, Vec<u8>)> =
                    headers.into_iter().map(|(k, v)| (k, v.to_vec())).collect();
                let refs: Vec<(&str, &[u8])> =
                    headers.iter().map(|(k, v)| (*k, v.as_slice())).collect();
                push(
                    ctx(what),
                    request("POST", path.as_bytes(), &refs, valid_form.as_bytes()),
                    Level::App,
                );
            }
            let mut ok_chunked = Vec::new();
            for piece in valid_form.as_bytes().chunks(7) {
                ok_chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                ok_chunked.extend_from_slice(piece);
                ok_chunked.extend_from_slice(b"\r\n");
            }
            ok_chunked.extend_from_slice(b"0\r\n\r\n");
            push(
                ctx("chunked form"),
                request(
                    "POST",
                    path.as_bytes(),
                    &[form[0], ("Transfer-Encoding", b"chunked")],
                    &ok_chunked,
                ),
                Level::App,
            );
            // Broken at the HTTP level: actix-http answers, or closes.
            push(
                ctx("bad chunk size"),
                request(
                    "POST",
                    path.as_bytes(),
                    &[form[0], ("Transfer-Encoding", b"chunked")],
                    b"zz\r\nabc\r\n0\r\n\r\n",
                ),
                Level::Http,
            );
            push(
                ctx("Content-Length and chunked"),
                request(
                    "POST",
                    path.as_bytes(),
                    &[
                        form[0],
                        ("Content-Length", b"3"),
                        ("Transfer-Encoding", b"chunked"),
                    ],
                    b"3\r\nabc\r\n0\r\n\r\n",
                ),
                Level::Http,
            );
            push(
                ctx("two Content-Lengths"),
                request(
                    "POST",
                    path.as_bytes(),
                    &[form[0], ("Content-Length", b"3"), ("Content-Length", b"5")],
                    b"abcde",
                ),
                Level::Http,
            );
            push(
                ctx("control character in Content-Type"),
                request(
                    "POST",
                    path.as_bytes(),
                    &[("Content-Type", b"\x01json")],
                    b"{}",
                ),
                Level::Http,
            );
            push(
                ctx("Content-Length garbage"),
                request(
                    "POST",
                    path.as_bytes(),
                    &[form[0], ("Content-Length", b"-1")],
                    b"",
                ),
                Level::Http,
            );
        }
    }
    // Broken request lines and header blocks, once.
    for (name, bytes) in [
        (
            "garbage request line",
            b"\x00\x01\x02 garbage\r\n\r\n".to_vec(),
        ),
        ("no version", format!("GET {READ}\r\n\r\n").into_bytes()),
        (
            "HTTP/9.9",
            format!("GET {READ} HTTP/9.9\r\nHost: x\r\n\r\n").into_bytes(),
        ),
        (
            "URI over 64 KiB",
            format!(
                "GET {READ}?api_key={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "k".repeat(70_000)
            )
            .into_bytes(),
        ),
        (
            "200 headers",
            format!(
                "GET {READ} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}\r\n",
                (0..200)
                    .map(|i| format!("X-H{i}: v\r\n"))
                    .collect::<String>()
            )
            .into_bytes(),
        ),
        (
            "header without a colon",
            format!("GET {READ} HTTP/1.1\r\nHost: x\r\nnot a header\r\nConnection: close\r\n\r\n")
                .into_bytes(),
        ),
        (
            "NUL in a header",
            format!("GET {READ} HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\nConnection: close\r\n\r\n")
                .into_bytes(),
        ),
    ] {
        cases.push(Case {
            name: name.to_string(),
            bytes,
            level: Level::Http,
        });
    }
    cases
}

/// What came back over the connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn decode_chunked(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap().trim(), 16).ok())
            .unwrap_or(0);
        b = &b[i + 2..];
        if size == 0 || b.len() < size {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
    out
}

/// Send `bytes`, read to EOF; None when the server closed without a byte.
/// Panics when nothing comes back within 10 s.
async fn exchange(port: u16, bytes: &[u8], name: &str) -> Option<Raw> {
    let work = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        // The server may answer (413, 400) and close before taking it all.
        let _ = s.write_all(bytes).await;
        let _ = s.shutdown().await;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        buf
    };
    let buf = tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .unwrap_or_else(|_| panic!("{name}: no answer within 10 s"));
    if buf.is_empty() {
        return None;
    }
    // Skip an interim `100 Continue`.
    let mut buf = &buf[..];
    while buf.starts_with(b"HTTP/1.1 100")
        && let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n")
    {
        buf = &buf[end + 4..];
    }
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "{name}: not an HTTP answer: {:?}",
                String::from_utf8_lossy(buf)
            )
        });
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{name}: bad status line: {head}"));
    let mut content_type = None;
    let mut chunked = false;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        if k.eq_ignore_ascii_case("content-type") {
            content_type = Some(v.trim().to_string());
        }
        if k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
    }
    let body = &buf[split + 4..];
    let body = if chunked {
        decode_chunked(body)
    } else {
        body.to_vec()
    };
    Some(Raw {
        status,
        content_type,
        body,
    })
}

/// Rows a refused request must leave alone (besides `logs`, counted apart).
async fn footprint(db: &TestDb, tables: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tables {
        out.push(format!("{t}: {}", db.count(t).await));
    }
    out.push(
        db.value(
            "SELECT GROUP_CONCAT(CONCAT_WS('|', ticket_id, ticket_status, ticket_updated_at, \
             ticket_first_response_at, ticket_resolved_at) ORDER BY ticket_id) FROM tickets",
        )
        .await
        .unwrap_or_default(),
    );
    out.push(format!(
        "logs other than failed keys: {}",
        db.count("logs WHERE NOT (log_type = 'API' AND log_action = 'Failed')")
            .await
    ));
    out
}

per_generation!(a_malformed_corpus_gets_json_4xx_no_5xx_and_writes_nothing: fixtures);
async fn a_malformed_corpus_gets_json_4xx_no_5xx_and_writes_nothing(generation: Generation) {
    let started = std::time::Instant::now();
    let app = spawn_app_with(generation, |s| s.max_body_bytes = MAX_BODY).await;
    let db = &app.db;
    let tables = db.write_tables().await;
    let cases = corpus();
    let mut problems = Vec::new();
    let (mut accepted, mut http_level, mut closed) = (0, 0, 0);
    for case in &cases {
        let before = footprint(db, &tables).await;
        let failed_keys = db
            .count("logs WHERE log_type = 'API' AND log_action = 'Failed'")
            .await;
        let max_reply: i64 = db
            .value("SELECT MAX(ticket_reply_id) FROM ticket_replies")
            .await
            .unwrap()
            .parse()
            .unwrap();
        let raw = exchange(app.port(), &case.bytes, &case.name).await;
        let name = &case.name;
        let Some(raw) = raw else {
            // Only actix-http may hang up without a word.
            if case.level == Level::App {
                problems.push(format!("{name}: connection closed without an answer"));
            }
            closed += 1;
            continue;
        };
        // BUG-CHECK: a 5xx other than 503 for client input is a replyd bug.
        if raw.status >= 500 && raw.status != 503 {
            problems.push(format!(
                "BUG {name}: HTTP {} {:?}",
                raw.status,
                String::from_utf8_lossy(&raw.body)
            ));
        }
        let json = raw.content_type.as_deref() == Some("application/json");
        let head = case.bytes.starts_with(b"HEAD ");
        let mut acked = false;
        if json && !head {
            match serde_json::from_slice::<serde_json::Value>(&raw.body) {
                Ok(v) if v["success"] == "False" => {}
                Ok(v) if v["success"] == "True" && raw.status == 200 => {
                    acked = v["data"][0]["insert_id"].as_u64().is_some_and(|id| id > 0);
                    accepted += 1;
                }
                other => problems.push(format!("{name}: JSON {other:?}")),
            }
        } else if case.level == Level::App && !(head && json) {
            problems.push(format!(
                "{name}: HTTP {} without JSON ({:?}): {:?}",
                raw.status,
                raw.content_type,
                String::from_utf8_lossy(&raw.body)
            ));
        } else if !json {
            http_level += 1;
            if !(400..500).contains(&raw.status) {
                problems.push(format!("{name}: HTTP-level answer {}", raw.status));
            }
        }
        // Nothing written, unless acknowledged; one failed-key log row for
        // an unknown key's 401.
        let after = footprint(db, &tables).await;
        let new_failed = db
            .count("logs WHERE log_type = 'API' AND log_action = 'Failed'")
            .await
            - failed_keys;
        // (A HEAD answer has no body to tell a missing key from a bad one.)
        let invalid_key =
            raw.status == 401 && (head || raw.body.windows(7).any(|w| w == b"invalid"));
        let missing_key_head = head && raw.status == 401 && new_failed == 0;
        if new_failed != i64::from(invalid_key) && !missing_key_head {
            problems.push(format!(
                "{name}: {new_failed} failed-key log rows (HTTP {})",
                raw.status
            ));
        }
        if acked {
            let n = db
                .count(&format!(
                    "ticket_replies WHERE ticket_reply_id > {max_reply}"
                ))
                .await;
            if n != 1 {
                problems.push(format!("{name}: acknowledged, {n} replies written"));
            }
        } else if after != before {
            problems.push(format!(
                "{name}: refused (HTTP {}) but wrote: {before:?} -> {after:?}",
                raw.status
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases failed:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
    eprintln!(
        "malformed corpus: {} cases ({accepted} valid after all, answered success True, {http_level} answered by actix-http without JSON, {closed} closed without an answer) in {:?}",
        cases.len(),
        started.elapsed()
    );
}
