//! GET read.php: filters, order, scope, paging, row shape and escaping.
//!
//! Every test runs on every generation: the rows, their columns and the
//! key's scope all come from the schema.

use crate::helpers::*;
use replyd::messages::Message;

/// One reply row as replyd (and ITFlow's read_output.php) writes it; `text`
/// is given already JSON-escaped, `None` values are JSON null.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row(
    id: u32,
    text: &str,
    kind: &str,
    time: Option<&str>,
    created: &str,
    archived: Option<&str>,
    by: u32,
    ticket: (u32, &str, u32),
    by_name: Option<&str>,
) -> String {
    let s = |v: Option<&str>| v.map_or("null".to_string(), |v| format!("\"{v}\""));
    let (ticket_id, subject, client) = ticket;
    format!(
        "{{\"ticket_reply_id\":\"{id}\",\"ticket_reply\":\"{text}\",\"ticket_reply_type\":\"{kind}\",\
\"ticket_reply_time_worked\":{},\"ticket_reply_created_at\":\"{created}\",\"ticket_reply_updated_at\":null,\
\"ticket_reply_archived_at\":{},\"ticket_reply_by\":\"{by}\",\"ticket_reply_ticket_id\":\"{ticket_id}\",\
\"ticket_prefix\":\"TCK-\",\"ticket_number\":\"{ticket_id}\",\"ticket_subject\":\"{subject}\",\
\"ticket_client_id\":\"{client}\",\"ticket_reply_by_name\":{}}}",
        s(time),
        s(archived),
        s(by_name)
    )
}

pub(crate) const T1: (u32, &str, u32) = (1, "Printer not working", 1);
const T2: (u32, &str, u32) = (2, "VPN down", 2);
const T5: (u32, &str, u32) = (5, "Internal tooling", 0);
const UNICODE: &str = r#"Unicode \u00e9\/\u00fc \"quote\" <b>bold<\/b> & 'apos' \ud83d\ude00"#;

fn r1() -> String {
    row(
        1,
        "Checked the tray.",
        "Internal",
        Some("00:10:00"),
        "2026-11-20 09:00:00",
        None,
        1,
        T1,
        Some("Oracle Admin"),
    )
}
fn r2() -> String {
    row(
        2,
        "Still jamming, thanks",
        "Client",
        None,
        "2026-11-20 10:00:00",
        None,
        1,
        T1,
        Some("Carla Contact"),
    )
}
fn r3() -> String {
    row(
        3,
        r"<p>Replaced the roller.<\/p>",
        "Public",
        Some("00:05:00"),
        "2026-11-20 11:00:00",
        None,
        2,
        T1,
        Some("Tess Tech"),
    )
}
fn r4() -> String {
    row(
        4,
        "Tunnel restarted.",
        "Public",
        Some("00:00:00"),
        "2026-11-20 11:30:00",
        None,
        2,
        T2,
        Some("Tess Tech"),
    )
}
fn r5() -> String {
    row(
        5,
        "Old note",
        "Internal",
        Some("00:01:00"),
        "2026-11-20 11:45:00",
        Some("2026-11-21 08:00:00"),
        1,
        T1,
        Some("Oracle Admin"),
    )
}
fn r6() -> String {
    row(
        6,
        UNICODE,
        "Internal",
        None,
        "2026-11-20 12:00:00",
        None,
        1,
        T1,
        Some("Oracle Admin"),
    )
}
fn r7() -> String {
    row(
        7,
        "Tooling note",
        "Internal",
        Some("01:00:00"),
        "2026-11-20 12:30:00",
        None,
        1,
        T5,
        Some("Oracle Admin"),
    )
}

fn ok(rows: &[String]) -> String {
    format!(
        "{{\"success\":\"True\",\"count\":{},\"data\":[{}]}}",
        rows.len(),
        rows.join(",")
    )
}

fn none() -> String {
    format!(
        "{{\"success\":\"False\",\"message\":\"{}\"}}",
        Message::NoResource
    )
}

per_generation!(lists_a_tickets_replies_newest_first_without_archived);
async fn lists_a_tickets_replies_newest_first_without_archived(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&ticket_id=1"))
        .await
        .assert(200, &ok(&[r6(), r3(), r2(), r1()]));
}

per_generation!(one_reply_by_reply_id_with_php_json_escaping);
async fn one_reply_by_reply_id_with_php_json_escaping(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=6"))
        .await
        .assert(200, &ok(&[r6()]));
}

per_generation!(reply_id_wins_over_ticket_id_and_zero_is_present);
async fn reply_id_wins_over_ticket_id_and_zero_is_present(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!(
        "{READ}?api_key={GLOBAL_KEY}&reply_id=4&ticket_id=1"
    ))
    .await
    .assert(200, &ok(&[r4()]));
    // PHP isset(): reply_id=0 (or empty) is present and matches nothing.
    app.get(&format!(
        "{READ}?api_key={GLOBAL_KEY}&reply_id=0&ticket_id=1"
    ))
    .await
    .assert(200, &none());
    app.get(&format!(
        "{READ}?api_key={GLOBAL_KEY}&reply_id=&ticket_id=1"
    ))
    .await
    .assert(200, &none());
}

per_generation!(without_filters_lists_everything_in_scope_newest_first);
async fn without_filters_lists_everything_in_scope_newest_first(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}"))
        .await
        .assert(200, &ok(&[r7(), r6(), r4(), r3(), r2(), r1()]));
}

per_generation!(archived_replies_only_with_include_archived);
async fn archived_replies_only_with_include_archived(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=5"))
        .await
        .assert(200, &none());
    app.get(&format!(
        "{READ}?api_key={GLOBAL_KEY}&ticket_id=1&include_archived=1"
    ))
    .await
    .assert(200, &ok(&[r6(), r5(), r3(), r2(), r1()]));
}

per_generation!(a_client_key_sees_only_its_clients_replies);
async fn a_client_key_sees_only_its_clients_replies(generation: Generation) {
    let app = spawn_app(generation).await;
    if app.db.user_keys {
        // A user allowed only Acme still sees tickets without a client
        // (ITFlow's clientScopeSql keeps client 0), but never Globex's, and
        // client_id narrows within what the user may see.
        app.get(&format!("{READ}?api_key={ACME_KEY}"))
            .await
            .assert(200, &ok(&[r7(), r6(), r3(), r2(), r1()]));
        app.get(&format!("{READ}?api_key={ACME_KEY}&ticket_id=5"))
            .await
            .assert(200, &ok(&[r7()]));
        for q in ["ticket_id=2", "reply_id=4", "client_id=2"] {
            app.get(&format!("{READ}?api_key={ACME_KEY}&{q}"))
                .await
                .assert(200, &none());
        }
        return;
    }
    app.get(&format!("{READ}?api_key={ACME_KEY}"))
        .await
        .assert(200, &ok(&[r6(), r3(), r2(), r1()]));
    // Globex's ticket and reply, and the client-less ticket, are invisible.
    for q in ["ticket_id=2", "reply_id=4", "ticket_id=5"] {
        app.get(&format!("{READ}?api_key={ACME_KEY}&{q}"))
            .await
            .assert(200, &none());
    }
    // A client key cannot widen or move its scope with client_id.
    app.get(&format!("{READ}?api_key={ACME_KEY}&client_id=2"))
        .await
        .assert(200, &ok(&[r6(), r3(), r2(), r1()]));
}

per_generation!(a_global_key_narrows_with_client_id);
async fn a_global_key_narrows_with_client_id(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&client_id=2"))
        .await
        .assert(200, &ok(&[r4()]));
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&client_id=0"))
        .await
        .assert(200, &ok(&[r7(), r6(), r4(), r3(), r2(), r1()]));
}

per_generation!(limit_and_offset_page_and_are_clamped);
async fn limit_and_offset_page_and_are_clamped(generation: Generation) {
    let app = spawn_app_with(generation, |s| s.max_page_size = 3).await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&limit=2&offset=1"))
        .await
        .assert(200, &ok(&[r6(), r4()]));
    // limit above max_page_size is clamped to it.
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&limit=100"))
        .await
        .assert(200, &ok(&[r7(), r6(), r4()]));
    // intval(): "2abc" is 2.
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&limit=2abc&offset=4"))
        .await
        .assert(200, &ok(&[r2(), r1()]));
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&offset=50"))
        .await
        .assert(200, &none());
}

per_generation!(negative_limit_or_offset_is_refused);
async fn negative_limit_or_offset_is_refused(generation: Generation) {
    let app = spawn_app(generation).await;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&limit=-1"))
        .await
        .assert(
            200,
            r#"{"success":"False","message":"limit must be 0 or more, not -1."}"#,
        );
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&offset=-5"))
        .await
        .assert(
            200,
            r#"{"success":"False","message":"offset must be 0 or more, not -5."}"#,
        );
}

per_generation!(query_parameters_use_php_parsing);
async fn query_parameters_use_php_parsing(generation: Generation) {
    let app = spawn_app(generation).await;
    // Repeated keys: the last wins; intval() leniency on ids.
    app.get(&format!(
        "{READ}?api_key={GLOBAL_KEY}&ticket_id=1&ticket_id=2"
    ))
    .await
    .assert(200, &ok(&[r4()]));
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=%206xyz"))
        .await
        .assert(200, &ok(&[r6()]));
}

per_generation!(columns_added_by_later_itflow_versions_are_returned_too);
async fn columns_added_by_later_itflow_versions_are_returned_too(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script(
            "ALTER TABLE ticket_replies ADD COLUMN ticket_reply_extra DECIMAL(5,2) DEFAULT 1.50",
        )
        .await;
    let a = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1"))
        .await;
    assert_eq!(a.status, 200);
    let expected = r1().replace(
        "\"ticket_reply_ticket_id\":\"1\",",
        "\"ticket_reply_ticket_id\":\"1\",\"ticket_reply_extra\":\"1.50\",",
    );
    assert_eq!(a.body, ok(&[expected]));
}

per_generation!(values_are_strings_as_mariadb_formats_them);
async fn values_are_strings_as_mariadb_formats_them(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script(
            "UPDATE ticket_replies SET ticket_reply_time_worked = '838:59:59', \
             ticket_reply_updated_at = '2026-01-02 03:04:05' WHERE ticket_reply_id = 1",
        )
        .await;
    let a = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1"))
        .await;
    let v = a.json();
    let row = &v["data"][0];
    assert_eq!(row["ticket_reply_time_worked"], "838:59:59");
    assert_eq!(row["ticket_reply_updated_at"], "2026-01-02 03:04:05");
    assert_eq!(row["ticket_reply_id"], "1");
    assert_eq!(v["count"], 1);
}

per_generation!(later_column_types_read_as_mariadbs_text_protocol_sends_them);
async fn later_column_types_read_as_mariadbs_text_protocol_sends_them(generation: Generation) {
    let app = spawn_app(generation).await;
    app.db
        .exec_script(
            "ALTER TABLE ticket_replies \
             ADD COLUMN x_zerofill INT(5) ZEROFILL DEFAULT 42, \
             ADD COLUMN x_ms DATETIME(3) DEFAULT '2026-01-02 03:04:05.678', \
             ADD COLUMN x_big BIGINT UNSIGNED DEFAULT 18446744073709551615, \
             ADD COLUMN x_year YEAR DEFAULT 2026, \
             ADD COLUMN x_date DATE DEFAULT '2026-01-02', \
             ADD COLUMN x_dec DECIMAL(5,2) DEFAULT -1.50, \
             ADD COLUMN x_time TIME(2) DEFAULT '-01:02:03.45', \
             ADD COLUMN x_tiny TINYINT DEFAULT -7",
        )
        .await;
    let read = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=1"))
        .await
        .json();
    let text = app
        .db
        .rows("SELECT x_zerofill, x_ms, x_big, x_year, x_date, x_dec, x_time, x_tiny FROM ticket_replies WHERE ticket_reply_id = 1")
        .await
        .remove(0);
    let names = [
        "x_zerofill",
        "x_ms",
        "x_big",
        "x_year",
        "x_date",
        "x_dec",
        "x_time",
        "x_tiny",
    ];
    for (name, want) in names.iter().zip(text) {
        assert_eq!(read["data"][0][name].as_str(), want.as_deref(), "{name}");
    }
}

per_generation!(an_answer_past_max_answer_bytes_is_refused_and_smaller_ones_are_unchanged);
async fn an_answer_past_max_answer_bytes_is_refused_and_smaller_ones_are_unchanged(
    generation: Generation,
) {
    let app = spawn_app_with(generation, |s| s.max_answer_bytes = 100_000).await;
    // Three replies of 40 KB on ticket 1: 120 KB of answer.
    app.db
        .exec_script(
            "INSERT INTO ticket_replies (ticket_reply, ticket_reply_type, ticket_reply_by, \
             ticket_reply_ticket_id, ticket_reply_created_at) \
             SELECT REPEAT('forty kilobytes ', 2500), 'Internal', 1, 1, '2026-11-22 10:00:00' \
             FROM seq_1_to_3",
        )
        .await;
    let refused = r#"{"success":"False","message":"The answer would be larger than the 100000 bytes this server sends in one answer; ask for fewer replies with limit and offset."}"#;
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&ticket_id=1"))
        .await
        .assert(200, refused);
    app.get(&format!(
        "/api/v1/ticket_replies/read.php?api_key={GLOBAL_KEY}&ticket_id=1"
    ))
    .await
    .assert(200, refused);
    // Fewer at a time fit, and small answers are the same bytes as ever.
    let two = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&ticket_id=1&limit=2"))
        .await;
    assert_eq!(two.status, 200);
    assert_eq!(two.json()["count"], 2);
    app.get(&format!(
        "{READ}?api_key={GLOBAL_KEY}&ticket_id=1&limit=4&offset=3"
    ))
    .await
    .assert(200, &ok(&[r6(), r3(), r2(), r1()]));
    app.get(&format!("{READ}?api_key={GLOBAL_KEY}&reply_id=6"))
        .await
        .assert(200, &ok(&[r6()]));
}
