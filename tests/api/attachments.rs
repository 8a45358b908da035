//! Attachments (issue "Attachments, email ... and Markdown"): the three
//! ways of sending files, what is stored on disk and in
//! `ticket_attachments`, every refusal leaving no file and no row, a
//! rollback leaving no file, the download endpoint's scope, and the
//! settling of what a crash left.

use crate::helpers::*;
use serde_json::json;
use std::path::{Path, PathBuf};

const ATTACHMENT: &str = "/api/v1/tickets/replies/attachment.php";

fn created(id: u64) -> String {
    format!(r#"{{"success":"True","count":"1","data":[{{"insert_id":{id}}}]}}"#)
}

/// The refusal with `message` (already JSON-escaped but for `/`, which
/// PHP's json_encode escapes).
fn refused(message: &str) -> String {
    let message = message.replace('/', "\\/");
    format!(r#"{{"success":"False","message":"{message}"}}"#)
}

/// A multipart/form-data body: `(name, filename, data)` parts.
pub(crate) fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "replyd-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// An app with ITFlow's uploads folder in a scratch directory.
async fn app_with_uploads(generation: Generation) -> (TestApp, tempfile::TempDir) {
    app_with(generation, |_| {}).await
}

async fn app_with(
    generation: Generation,
    f: impl FnOnce(&mut replyd::config::Settings),
) -> (TestApp, tempfile::TempDir) {
    let uploads = tempfile::tempdir().unwrap();
    let dir = uploads.path().to_path_buf();
    let app = spawn_app_with(generation, move |s| {
        s.uploads_dir = Some(dir);
        f(s)
    })
    .await;
    (app, uploads)
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `(name, reference, ticket, reply)` of every `ticket_attachments` row.
async fn attachment_rows(app: &TestApp) -> Vec<Vec<Option<String>>> {
    app.db
        .rows(
            "SELECT ticket_attachment_name, ticket_attachment_reference_name, \
             ticket_attachment_ticket_id, ticket_attachment_reply_id FROM ticket_attachments \
             ORDER BY ticket_attachment_id",
        )
        .await
}

/// A reference name as ITFlow 2.6.7 makes them: 32 characters of
/// `[A-Za-z0-9_-]` and the lowercased extension.
fn is_reference(name: &str, extension: &str) -> bool {
    let Some((random, ext)) = name.split_once('.') else {
        return false;
    };
    random.len() == 32
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && ext == extension
}

fn stored(dir: &Path, ticket: i64, reference: &str) -> PathBuf {
    dir.join("tickets").join(ticket.to_string()).join(reference)
}

const PDF: &[u8] = b"%PDF-1.4 a small report";
const JPG: &[u8] = b"\xff\xd8\xff\xe0 not really a jpeg";

per_generation!(multipart_files_are_stored_as_itflow_stores_them: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn multipart_files_are_stored_as_itflow_stores_them(generation: Generation) {
    let (app, uploads) = app_with_uploads(generation).await;
    let (content_type, body) = multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"See attached"),
        ("attachments[]", Some("Report.PDF"), PDF),
        ("file[]", Some("x.php.jpg"), JPG),
    ]);
    app.post_raw(CREATE, &content_type, body)
        .await
        .assert(200, &created(8));
    let rows = attachment_rows(&app).await;
    assert_eq!(rows.len(), 2);
    let (pdf, jpg) = (rows[0][1].clone().unwrap(), rows[1][1].clone().unwrap());
    assert_eq!(rows[0][0].as_deref(), Some("Report.PDF"));
    assert_eq!(rows[1][0].as_deref(), Some("x.php.jpg"));
    assert!(
        is_reference(&pdf, "pdf") && is_reference(&jpg, "jpg"),
        "{rows:?}"
    );
    for row in &rows {
        assert_eq!(
            (row[2].as_deref(), row[3].as_deref()),
            (Some("1"), Some("8"))
        );
    }
    assert_eq!(std::fs::read(stored(uploads.path(), 1, &pdf)).unwrap(), PDF);
    assert_eq!(std::fs::read(stored(uploads.path(), 1, &jpg)).unwrap(), JPG);
    // Nothing else: no temporary file left behind.
    let mut expected = vec![format!("tickets/1/{pdf}"), format!("tickets/1/{jpg}")];
    expected.sort();
    assert_eq!(files_under(uploads.path()), expected);
    // The reply itself is the agent UI's.
    assert_eq!(
        app.db
            .value("SELECT ticket_reply FROM ticket_replies WHERE ticket_reply_id = 8")
            .await
            .as_deref(),
        Some("See attached")
    );

    // Read back: each row lists its reply's files.
    let listed = app
        .get(&format!(
            "{READ}?api_key={GLOBAL_KEY}&ticket_id=1&limit=2&include_attachments=1"
        ))
        .await;
    assert_eq!(listed.status, 200);
    let json = listed.json();
    let created_at = app
        .db
        .value("SELECT DATE_FORMAT(ticket_attachment_created_at, '%Y-%m-%d %H:%i:%s') FROM ticket_attachments LIMIT 1")
        .await
        .unwrap();
    assert_eq!(
        json["data"][0]["attachments"],
        json!([
            {"id": "1", "name": "Report.PDF", "size": PDF.len().to_string(), "created_at": created_at},
            {"id": "2", "name": "x.php.jpg", "size": JPG.len().to_string(), "created_at": created_at},
        ])
    );
    assert_eq!(json["data"][1]["attachments"], json!([]));
    // Without the parameter, rows are as before.
    let plain = app
        .get(&format!("{READ}?api_key={GLOBAL_KEY}&ticket_id=1&limit=1"))
        .await;
    assert!(plain.json()["data"][0].get("attachments").is_none());

    // Download: the bytes, typed by extension, as an attachment under the
    // original name.
    let r = app
        .client
        .get(app.url(&format!(
            "{ATTACHMENT}?api_key={GLOBAL_KEY}&attachment_id=1"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"Report.PDF\""
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
}

per_generation!(json_and_form_attachments_are_base64: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn json_and_form_attachments_are_base64(generation: Generation) {
    use base64::Engine;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let (app, uploads) = app_with_uploads(generation).await;
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "json",
               "attachments": [{"name": "notes.txt", "data": b64(b"hello")}]}),
    )
    .await
    .assert(200, &created(8));
    // WHMCS: the JSON array, base64-encoded, in a form field.
    let field = b64(json!([{"name": "photo.PNG", "data": b64(b"png bytes")}])
        .to_string()
        .as_bytes());
    let form = format!(
        "ticket_id=1&ticket_reply=form&attachments={}",
        field
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    app.create(&form).await.assert(200, &created(9));
    let rows = attachment_rows(&app).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0][0].as_deref(), rows[0][3].as_deref()),
        (Some("notes.txt"), Some("8"))
    );
    assert_eq!(
        (rows[1][0].as_deref(), rows[1][3].as_deref()),
        (Some("photo.PNG"), Some("9"))
    );
    let txt = rows[0][1].clone().unwrap();
    let png = rows[1][1].clone().unwrap();
    assert!(is_reference(&txt, "txt") && is_reference(&png, "png"));
    assert_eq!(
        std::fs::read(stored(uploads.path(), 1, &txt)).unwrap(),
        b"hello"
    );
    assert_eq!(
        std::fs::read(stored(uploads.path(), 1, &png)).unwrap(),
        b"png bytes"
    );
    assert_eq!(files_under(uploads.path()).len(), 2);
}

per_generation!(every_refusal_leaves_no_file_and_no_row: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn every_refusal_leaves_no_file_and_no_row(generation: Generation) {
    let (app, uploads) = app_with(generation, |s| s.max_attachment_bytes = 64).await;
    let allowed = "jpg, jpeg, gif, png, webp, pdf, txt, md, doc, docx, odt, csv, xls, xlsx, ods, pptx, odp, zip, tar, gz, xml, msg, json, wav, mp3, ogg, mov, mp4, av1, ovpn";
    let extension = format!("Attachments must be files of these types: {allowed}.");
    let name = "Attachment names must not be empty, longer than 255 characters, or contain /, \\\\, .., NUL or control characters.";
    // (what, fields, file name, file data, status, answer)
    type Case<'a> = (&'a str, &'a str, &'a str, &'a [u8], u16, String);
    let cases: Vec<Case> = vec![
        (
            "a PHP file",
            "ticket_id=1&ticket_reply=x",
            "x.php",
            b"<?php",
            200,
            refused(&extension),
        ),
        (
            "no extension",
            "ticket_id=1&ticket_reply=x",
            "README",
            b"x",
            200,
            refused(&extension),
        ),
        (
            "path traversal",
            "ticket_id=1&ticket_reply=x",
            "../../x.pdf",
            PDF,
            200,
            refused(name),
        ),
        (
            "a separator",
            "ticket_id=1&ticket_reply=x",
            "a\\\\b.pdf",
            PDF,
            200,
            refused(name),
        ),
        (
            "an empty file",
            "ticket_id=1&ticket_reply=x",
            "empty.txt",
            b"",
            200,
            refused("Attachments must not be empty files."),
        ),
        (
            "too large",
            "ticket_id=1&ticket_reply=x",
            "big.txt",
            &[b'a'; 65],
            413,
            refused("Each attachment must be at most 64 bytes (max_attachment_bytes)."),
        ),
        (
            "without a reply",
            "ticket_id=1&status=3",
            "a.txt",
            b"a",
            200,
            refused("Attachments belong to a reply: send them with ticket_reply."),
        ),
        (
            "a closed ticket",
            "ticket_id=3&ticket_reply=x",
            "a.txt",
            b"a",
            200,
            refused("This ticket is closed: it takes no more replies or status changes."),
        ),
        (
            "another client's ticket",
            "ticket_id=2&ticket_reply=x&client_id=1",
            "a.txt",
            b"a",
            200,
            refused("No ticket with the specified ticket_id (for this client and company)."),
        ),
    ];
    for (what, fields, filename, data, status, answer) in cases {
        let mut parts: Vec<(&str, Option<&str>, &[u8])> =
            vec![("api_key", None, GLOBAL_KEY.as_bytes())];
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(fields).unwrap();
        for (k, v) in &pairs {
            parts.push((k.as_str(), None, v.as_bytes()));
        }
        parts.push(("attachments[]", Some(filename), data));
        let (content_type, body) = multipart(&parts);
        let got = app.post_raw(CREATE, &content_type, body).await;
        assert_eq!(
            (got.status, got.body.as_str()),
            (status, answer.as_str()),
            "{what}"
        );
        assert_eq!(files_under(uploads.path()), Vec::<String>::new(), "{what}");
        assert_eq!(app.db.count("ticket_attachments").await, 0, "{what}");
        assert_eq!(app.db.count("ticket_replies").await, 7, "{what}");
    }
    // Broken base64 in a JSON body.
    let got = app
        .post_json(
            CREATE,
            json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "x",
                   "attachments": [{"name": "a.txt", "data": "!!not base64!!"}]}),
        )
        .await;
    assert_eq!(got.status, 200);
    assert!(
        got.body.contains("attachments must be a JSON array"),
        "{}",
        got.body
    );
    assert_eq!(files_under(uploads.path()), Vec::<String>::new());
    assert_eq!(app.db.count("ticket_attachments").await, 0);
}

per_generation!(a_multipart_body_has_its_own_limit: [user_keys, dump_2_6_7]);
async fn a_multipart_body_has_its_own_limit(generation: Generation) {
    let (app, uploads) = app_with(generation, |s| {
        s.max_body_bytes = 1024;
        s.max_upload_bytes = 4096;
    })
    .await;
    // Larger than max_body_bytes, within max_upload_bytes: accepted.
    let data = vec![b'a'; 2000];
    let (content_type, body) = multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"x"),
        ("attachments[]", Some("a.txt"), &data),
    ]);
    app.post_raw(CREATE, &content_type, body)
        .await
        .assert(200, &created(8));
    let data = vec![b'a'; 5000];
    let (content_type, body) = multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"x"),
        ("attachments[]", Some("b.txt"), &data),
    ]);
    app.post_raw(CREATE, &content_type, body).await.assert(
        413,
        &refused("A multipart request body must be at most 4096 bytes (max_upload_bytes)."),
    );
    assert_eq!(files_under(uploads.path()).len(), 1);
    assert_eq!(app.db.count("ticket_attachments").await, 1);
}

per_generation!(without_an_uploads_folder_attachments_are_refused: [user_keys, dump_2_6_7]);
async fn without_an_uploads_folder_attachments_are_refused(generation: Generation) {
    let app = spawn_app(generation.clone()).await;
    let (content_type, body) = multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"x"),
        ("attachments[]", Some("a.txt"), b"a"),
    ]);
    app.post_raw(CREATE, &content_type, body).await.assert(
        200,
        &refused("Attachments need ITFlow's uploads folder: set itflow_root (or uploads_dir) in replyd's configuration."),
    );
    // A folder replyd cannot write to.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let app = spawn_app_with(generation, |s| s.uploads_dir = Some(file)).await;
    let (content_type, body) = multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"x"),
        ("attachments[]", Some("a.txt"), b"a"),
    ]);
    app.post_raw(CREATE, &content_type, body).await.assert(
        200,
        &refused("ITFlow's uploads folder is not writable by replyd: give replyd's user write access to uploads_dir (by default <itflow_root>/uploads)."),
    );
    assert_eq!(app.db.count("ticket_replies").await, 7);
}

per_generation!(a_database_without_ticket_attachments_refuses_files: [client_keys]);
async fn a_database_without_ticket_attachments_refuses_files(generation: Generation) {
    let (app, uploads) = app_with_uploads(generation).await;
    assert!(!app.db.has_table("ticket_attachments").await);
    let (content_type, body) = multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"x"),
        ("attachments[]", Some("a.txt"), b"a"),
    ]);
    app.post_raw(CREATE, &content_type, body).await.assert(
        200,
        &refused("This ITFlow database has no ticket_attachments table, so replies cannot carry attachments."),
    );
    assert_eq!(files_under(uploads.path()), Vec::<String>::new());
    assert_eq!(app.db.count("ticket_replies").await, 7);
}

per_generation!(a_failed_write_rolls_back_and_leaves_no_file: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn a_failed_write_rolls_back_and_leaves_no_file(generation: Generation) {
    let (app, uploads) = app_with_uploads(generation).await;
    // The second row cannot be inserted: its name is too long for the
    // column (strict mode), after the reply and the first row were.
    app.db
        .exec_script(
            "SET SESSION sql_mode = 'STRICT_ALL_TABLES'; \
             ALTER TABLE ticket_attachments MODIFY ticket_attachment_name varchar(8) NOT NULL",
        )
        .await;
    let (content_type, body) = multipart(&[
        ("api_key", None, GLOBAL_KEY.as_bytes()),
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"x"),
        ("attachments[]", Some("a.txt"), b"a"),
        ("attachments[]", Some("a-much-longer-name.txt"), b"b"),
    ]);
    let got = app.post_raw(CREATE, &content_type, body).await;
    assert_eq!(got.status, 500, "{}", got.body);
    assert_eq!(files_under(uploads.path()), Vec::<String>::new());
    assert_eq!(app.db.count("ticket_attachments").await, 0);
    assert_eq!(app.db.count("ticket_replies").await, 7);
}

per_generation!(downloads_only_to_keys_that_may_read_the_ticket: [user_keys, dump_2_4_4, dump_2_6_7]);
async fn downloads_only_to_keys_that_may_read_the_ticket(generation: Generation) {
    let (app, _uploads) = app_with_uploads(generation).await;
    // Ticket 2 is Globex's.
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 2, "ticket_reply": "x",
               "attachments": [{"name": "globex.txt", "data": "c2VjcmV0"}]}),
    )
    .await
    .assert(200, &created(8));
    let not_found =
        refused("No attachment with the specified attachment_id (for this client and company).");
    for (key, id) in [
        (ACME_KEY, "1"),
        (GLOBAL_KEY, "2"),
        (GLOBAL_KEY, "0"),
        (GLOBAL_KEY, "x"),
    ] {
        app.get(&format!("{ATTACHMENT}?api_key={key}&attachment_id={id}"))
            .await
            .assert(200, &not_found);
    }
    let r = app
        .get(&format!(
            "{ATTACHMENT}?api_key={GLOBAL_KEY}&attachment_id=1"
        ))
        .await;
    assert_eq!((r.status, r.body.as_str()), (200, "secret"));
    app.get(&format!("{ATTACHMENT}?attachment_id=1"))
        .await
        .assert(401, &refused("Authentication failed. API key is missing."));
    // A file gone from disk.
    let reference = app
        .db
        .value("SELECT ticket_attachment_reference_name FROM ticket_attachments")
        .await
        .unwrap();
    std::fs::remove_file(stored(_uploads.path(), 2, &reference)).unwrap();
    app.get(&format!(
        "{ATTACHMENT}?api_key={GLOBAL_KEY}&attachment_id=1"
    ))
    .await
    .assert(
        200,
        &refused("The attachment's file is missing from ITFlow's uploads folder."),
    );
}

per_generation!(startup_settles_what_a_crash_left: [user_keys, dump_2_6_7]);
async fn startup_settles_what_a_crash_left(generation: Generation) {
    let uploads = tempfile::tempdir().unwrap();
    let tickets = uploads.path().join("tickets");
    std::fs::create_dir_all(tickets.join("1")).unwrap();
    // Committed before the crash: its row exists, its final rename did not
    // happen. Not committed: no row. And a staged upload never placed.
    std::fs::write(
        tickets.join("1/.replyd-tmp-committedcommittedcommitted01.pdf"),
        b"c",
    )
    .unwrap();
    std::fs::write(
        tickets.join("1/.replyd-tmp-abandonedabandonedabandoned012.pdf"),
        b"a",
    )
    .unwrap();
    std::fs::write(tickets.join(".replyd-tmp-staged"), b"s").unwrap();
    std::fs::write(tickets.join("1/kept.pdf"), b"k").unwrap();
    let db = TestDb::seeded(generation).await;
    db.exec_script(
        "INSERT INTO ticket_attachments (ticket_attachment_name, ticket_attachment_reference_name, \
         ticket_attachment_ticket_id, ticket_attachment_reply_id) \
         VALUES ('c.pdf', 'committedcommittedcommitted01.pdf', 1, 1)",
    )
    .await;
    let dir = uploads.path().to_path_buf();
    let _app = spawn_on(db, move |s| s.uploads_dir = Some(dir)).await;
    assert_eq!(
        files_under(uploads.path()),
        vec![
            "tickets/1/committedcommittedcommitted01.pdf".to_string(),
            "tickets/1/kept.pdf".to_string()
        ]
    );
}

per_generation!(no_file_touches_the_disk_before_the_key_is_checked: [user_keys, dump_2_6_7]);
async fn no_file_touches_the_disk_before_the_key_is_checked(generation: Generation) {
    let (app, uploads) = app_with_uploads(generation).await;
    let logs_before = app.db.count("logs").await;
    for (key, status, message) in [
        (None, 401, "Authentication failed. API key is missing."),
        (
            Some("wrongkey"),
            401,
            "Authentication failed. API key is invalid or has expired.",
        ),
    ] {
        let mut parts: Vec<(&str, Option<&str>, &[u8])> = Vec::new();
        if let Some(key) = key {
            parts.push(("api_key", None, key.as_bytes()));
        }
        parts.push(("ticket_id", None, b"1"));
        parts.push(("ticket_reply", None, b"x"));
        parts.push(("attachments[]", Some("a.txt"), b"a"));
        // A key after the files comes too late.
        parts.push(("api_key", None, GLOBAL_KEY.as_bytes()));
        let (content_type, body) = multipart(&parts);
        app.post_raw(CREATE, &content_type, body)
            .await
            .assert(status, &refused(message));
        assert_eq!(files_under(uploads.path()), Vec::<String>::new());
    }
    // The invalid key was logged once, as ITFlow logs a failed attempt.
    assert_eq!(app.db.count("logs").await, logs_before + 1);
    // In the query string, the key comes first.
    let (content_type, body) = multipart(&[
        ("ticket_id", None, b"1"),
        ("ticket_reply", None, b"x"),
        ("attachments[]", Some("a.txt"), b"a"),
    ]);
    app.post_raw(
        &format!("{CREATE}?api_key={GLOBAL_KEY}"),
        &content_type,
        body,
    )
    .await
    .assert(200, &created(8));
}

per_generation!(an_emailed_reply_lists_its_files_on_the_queued_mail: [user_keys, dump_2_6_7]);
async fn an_emailed_reply_lists_its_files_on_the_queued_mail(generation: Generation) {
    let (app, _uploads) = app_with(generation, |s| s.email_replies = true).await;
    app.db
        .exec_script(
            "UPDATE settings SET config_smtp_provider = 'smtp', \
             config_ticket_from_email = 'help@msp.example', config_ticket_from_name = 'Help'",
        )
        .await;
    app.post_json(
        CREATE,
        json!({"api_key": GLOBAL_KEY, "ticket_id": 1, "ticket_reply": "Report attached",
               "public_reply_type": 2,
               "attachments": [{"name": "Bericht ü.pdf", "data": "JVBERi0="}]}),
    )
    .await
    .assert(200, &created(8));
    let reference = app
        .db
        .value("SELECT ticket_attachment_reference_name FROM ticket_attachments")
        .await
        .unwrap();
    // addToMailQueue's manifest: json_encode of path and original name.
    let manifest =
        format!(r#"[{{"path":"uploads\/tickets\/1\/{reference}","name":"Bericht \u00fc.pdf"}}]"#);
    assert_eq!(
        app.db
            .rows("SELECT email_recipient, email_attachments FROM email_queue ORDER BY email_id")
            .await,
        vec![vec![Some("carla@acme.example".to_string()), Some(manifest)]]
    );
}
