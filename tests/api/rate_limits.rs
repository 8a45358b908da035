//! `/api/v2`'s per-key rate limits: the `RateLimit-*` headers on every v2
//! answer, the 429 problem with `Retry-After`, one bucket per key, nothing
//! with the limits off, and nothing ever on v1.
//!
//! The limits do not depend on the schema beyond the key lookup: the two
//! fixtures (both key generations). Only 429 or not is asserted of v2's
//! statuses (tests/api/v2.rs has the rest), and nothing depends on timing
//! beyond requests a few milliseconds apart against a refill of one a
//! second.

use crate::helpers::*;
use reqwest::header::HeaderMap;

const REPLIES: &str = "/api/v2/tickets/1/replies";

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// A `RateLimit-*` (or other) header as a number; it must be there.
    #[track_caller]
    fn number(&self, name: &str) -> u64 {
        let value = self
            .header(name)
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers));
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}: {value:?} is not a whole number"))
    }

    fn has_rate_limit_headers(&self) -> bool {
        ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]
            .iter()
            .any(|h| self.headers.contains_key(*h))
    }
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, key: Option<&str>) -> Reply {
    let mut request = app.client.request(method, app.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let r = request.send().await.unwrap();
    Reply {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

async fn get(app: &TestApp, path: &str, key: Option<&str>) -> Reply {
    send(app, reqwest::Method::GET, path, key).await
}

async fn limited_app(generation: Generation, per_second: u32, burst: u32) -> TestApp {
    spawn_app_with(generation, |s| {
        s.rate_limit_per_second = per_second;
        s.rate_limit_burst = burst;
    })
    .await
}

per_generation!(rate_limit_headers_on_every_v2_answer: fixtures);
async fn rate_limit_headers_on_every_v2_answer(generation: Generation) {
    let app = limited_app(generation, 1, 10).await;
    let first = get(&app, REPLIES, Some(GLOBAL_KEY)).await;
    assert_ne!(first.status, 429, "{}", first.body);
    assert_eq!(first.number("ratelimit-limit"), 10);
    assert_eq!(first.number("ratelimit-remaining"), 9);
    assert!((1..=10).contains(&first.number("ratelimit-reset")));
    let second = get(&app, REPLIES, Some(GLOBAL_KEY)).await;
    let third = get(&app, REPLIES, Some(GLOBAL_KEY)).await;
    assert_eq!(third.number("ratelimit-limit"), 10);
    // One a second comes back: a few milliseconds apart, each takes one.
    assert!(second.number("ratelimit-remaining") < 9);
    assert!(third.number("ratelimit-remaining") < second.number("ratelimit-remaining"));
    assert!((2..=10).contains(&third.number("ratelimit-reset")));
    // A path v2 does not serve (404) and a method it does not take (405)
    // count and say so too.
    let no_route = get(&app, "/api/v2/nothing/here", Some(GLOBAL_KEY)).await;
    assert_eq!(no_route.status, 404);
    assert_eq!(no_route.number("ratelimit-limit"), 10);
    assert!(no_route.number("ratelimit-remaining") < 10);
    let wrong_method = send(&app, reqwest::Method::DELETE, REPLIES, Some(GLOBAL_KEY)).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.number("ratelimit-limit"), 10);
    assert!(wrong_method.number("ratelimit-remaining") < 10);
    // Without a key: the client address's bucket, full to begin with.
    let anonymous = get(&app, REPLIES, None).await;
    assert_ne!(anonymous.status, 429);
    assert_eq!(anonymous.number("ratelimit-remaining"), 9);
}

per_generation!(rate_limit_exhausted_is_429_with_retry_after_and_a_problem: fixtures);
async fn rate_limit_exhausted_is_429_with_retry_after_and_a_problem(generation: Generation) {
    let app = limited_app(generation, 1, 3).await;
    // A full bucket lets the burst through.
    for _ in 0..3 {
        let r = get(&app, REPLIES, Some(GLOBAL_KEY)).await;
        assert_ne!(r.status, 429, "{}", r.body);
    }
    // Then, a few milliseconds later, a request is refused (allowing for
    // one that a stalled machine let through on the refill).
    let mut refused = None;
    for _ in 0..5 {
        let r = get(&app, REPLIES, Some(GLOBAL_KEY)).await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("a 429 once the burst is spent");
    assert!(refused.number("retry-after") >= 1);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    let problem: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(problem["status"], 429);
    assert_eq!(problem["title"], "Too Many Requests");
    assert!(problem["detail"].as_str().unwrap().contains("try again"));
    // The 429 carries the headers too.
    assert_eq!(refused.number("ratelimit-limit"), 3);
    assert_eq!(refused.number("ratelimit-remaining"), 0);
    assert!((1..=3).contains(&refused.number("ratelimit-reset")));
}

per_generation!(rate_limit_buckets_are_per_key: fixtures);
async fn rate_limit_buckets_are_per_key(generation: Generation) {
    let app = limited_app(generation, 1, 2).await;
    let mut refused = false;
    for _ in 0..6 {
        refused |= get(&app, REPLIES, Some(GLOBAL_KEY)).await.status == 429;
    }
    assert!(refused, "GLOBAL_KEY's bucket runs out");
    // Another key, and a request without any, have buckets of their own.
    let other = get(&app, REPLIES, Some(ACME_KEY)).await;
    assert_ne!(other.status, 429, "{}", other.body);
    assert_eq!(other.number("ratelimit-remaining"), 1);
    let anonymous = get(&app, REPLIES, None).await;
    assert_ne!(anonymous.status, 429, "{}", anonymous.body);
    assert_eq!(anonymous.number("ratelimit-remaining"), 1);
}

per_generation!(rate_limit_zero_turns_limits_and_headers_off: fixtures);
async fn rate_limit_zero_turns_limits_and_headers_off(generation: Generation) {
    for (per_second, burst) in [(0, 3), (1, 0)] {
        let app = limited_app(generation.clone(), per_second, burst).await;
        for _ in 0..10 {
            let r = get(&app, REPLIES, Some(GLOBAL_KEY)).await;
            assert_ne!(r.status, 429, "{per_second}/{burst}: {}", r.body);
            assert!(!r.has_rate_limit_headers(), "{:?}", r.headers);
        }
    }
}

per_generation!(rate_limit_never_applies_to_v1: fixtures);
async fn rate_limit_never_applies_to_v1(generation: Generation) {
    let app = limited_app(generation, 1, 2).await;
    let query = format!("{READ}?api_key={GLOBAL_KEY}&ticket_id=1");
    for _ in 0..6 {
        let r = get(&app, &query, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.has_rate_limit_headers(), "{:?}", r.headers);
        assert!(r.header("retry-after").is_none());
        // With the key as Bearer too.
        let r = get(&app, &format!("{READ}?ticket_id=1"), Some(GLOBAL_KEY)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.has_rate_limit_headers(), "{:?}", r.headers);
    }
    // v1 took nothing from the key's v2 bucket.
    let v2 = get(&app, REPLIES, Some(GLOBAL_KEY)).await;
    assert_eq!(v2.number("ratelimit-remaining"), 1);
}
