//! The benchmark's database limit and round-trip counter (used by
//! scripts/bench.sh; not part of the service).
//!
//! `bench_baseline run --url URL --scenario S --concurrency C --duration SECS
//!  [--pool-max N] [--ticket-id T] [--reply-id R] [--create-ticket-id T]`
//! issues exactly the SQL replyd issues for scenario S (the same query
//! builder, the same create transaction, the same pool settings), from C
//! concurrent tasks for SECS seconds, with no HTTP in between, and prints
//! `requests=.. rps=.. p50_ms=.. p99_ms=.. errors=..`. A read is only the
//! read query: with the key cache warm, replyd's key lookup costs nothing.
//!
//! `bench_baseline serve --url URL --scenario S --body-file F --workers W
//!  [--pool-max N] [--ticket-id T] [--reply-id R] [--create-ticket-id T]`
//! is the HTTP floor: actix-web with W workers, as replyd is built, whose
//! every request runs scenario S's SQL exactly as `run` does and answers
//! with the bytes of F (replyd's own answer): no parameters, key, JSON or
//! log line. It prints `listening on port P`. What separates replyd from
//! it is replyd's own work; what separates it from `run` is HTTP itself
//! (and the load generator on the same machine).
//!
//! `bench_baseline count-proxy --listen PORT --upstream HOST:PORT --stats PORT`
//! (0: any free port; the ports are printed as `listen=P stats=S`) forwards MariaDB connections and counts the commands clients send, by
//! kind; connecting to the stats port returns the counts so far.

use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};
use mysql_async::prelude::*;
use mysql_async::{Opts, Row};
use replyd::api::v2::read::PAGE_BYTES;
use replyd::db::build_pool;
use replyd::db::create::{Answer, CreateRequest, create};
use replyd::db::replies::{ReadDialect, ReadRequest, ReplyFilter, read_query};
use replyd::db::views::{ListRequest, list_query};
use replyd::domain::RequestMeta;
use replyd::domain::plan::WriteContext;
use replyd::domain::{
    Author, ClientScope, NewReply, Principal, ReplyType, StatusChange, TicketRef, TimeWorked,
};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "usage: bench_baseline run --url URL --scenario read-ticket|v2-read-ticket|read-reply|read-all|create-reply|create-status --concurrency C --duration SECS [--pool-max N] [--ticket-id T] [--reply-id R] [--create-ticket-id T]\n       bench_baseline serve --url URL --scenario S --body-file F --workers W [--pool-max N] [--ticket-id T] [--reply-id R] [--create-ticket-id T]\n       bench_baseline count-proxy --listen PORT --upstream HOST:PORT --stats PORT\n";

fn flags(args: &[String]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag}"))?;
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        out.insert(name.to_string(), value.clone());
    }
    Ok(out)
}

fn get<T: std::str::FromStr>(
    f: &HashMap<String, String>,
    name: &str,
    default: Option<T>,
) -> Result<T, String> {
    match f.get(name) {
        Some(v) => v.parse().map_err(|_| format!("--{name}: bad value {v}")),
        None => default.ok_or_else(|| format!("--{name} is required")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]).await,
        Some("serve") => serve(&args[1..]).await,
        Some("count-proxy") => count_proxy(&args[1..]).await,
        _ => Err("a command is needed".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("bench_baseline: {e}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Clone, Copy)]
enum Scenario {
    Read(ReplyFilter),
    /// v2's read by ticket: the ticket's first 50 replies, oldest first.
    ReadV2(i64),
    Create {
        ticket_id: i64,
        with_text: bool,
    },
}

/// The scenario, pool and schema both `run` and `serve` start from.
struct Setup {
    scenario: Scenario,
    pool: mysql_async::Pool,
    schema: Arc<replyd::db::schema::SchemaInfo>,
}

async fn setup(f: &HashMap<String, String>) -> Result<Setup, String> {
    let url: String = get(f, "url", None)?;
    let pool_max: usize = get(f, "pool-max", Some(32))?;
    let ticket_id: i64 = get(f, "ticket-id", Some(1))?;
    let reply_id: i64 = get(f, "reply-id", Some(1))?;
    let create_ticket_id: i64 = get(f, "create-ticket-id", Some(ticket_id))?;
    let scenario = match get::<String>(f, "scenario", None)?.as_str() {
        "read-ticket" => Scenario::Read(ReplyFilter::Ticket(ticket_id)),
        "v2-read-ticket" => Scenario::ReadV2(ticket_id),
        "read-reply" => Scenario::Read(ReplyFilter::Reply(reply_id)),
        "read-all" => Scenario::Read(ReplyFilter::All),
        "create-reply" => Scenario::Create {
            ticket_id: create_ticket_id,
            with_text: true,
        },
        "create-status" => Scenario::Create {
            ticket_id: create_ticket_id,
            with_text: false,
        },
        other => return Err(format!("unknown scenario {other}")),
    };
    let opts = Opts::from_url(&url).map_err(|e| e.to_string())?;
    let schema = Arc::new(
        replyd::db::schema::inspect(opts.clone())
            .await
            .map_err(|e| e.to_string())?,
    );
    let pool = build_pool(opts, pool_max);
    Ok(Setup {
        scenario,
        pool,
        schema,
    })
}

async fn run(args: &[String]) -> Result<(), String> {
    let f = flags(args)?;
    let concurrency: usize = get(&f, "concurrency", Some(1))?;
    let duration = Duration::from_secs_f64(get(&f, "duration", Some(5.0))?);
    let Setup {
        scenario,
        pool,
        schema,
    } = setup(&f).await?;

    // One request before the clock starts, so a broken setup fails loudly.
    one_request(&pool, &schema, scenario)
        .await
        .map_err(|e| format!("first request failed: {e}"))?;

    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let pool = pool.clone();
        let schema = schema.clone();
        let errors = errors.clone();
        let latencies = latencies.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(100_000);
            while Instant::now() < deadline {
                let t = Instant::now();
                if one_request(&pool, &schema, scenario).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                mine.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat = std::mem::take(&mut *latencies.lock().unwrap());
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        f64::from(lat[i]) / 1000.0
    };
    println!(
        "requests={} rps={:.1} p50_ms={:.3} p99_ms={:.3} errors={}",
        lat.len(),
        lat.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        errors.load(Ordering::Relaxed)
    );
    let _ = pool.disconnect().await;
    Ok(())
}

async fn serve(args: &[String]) -> Result<(), String> {
    let f = flags(args)?;
    let workers: usize = get(&f, "workers", None)?;
    let body_file: String = get(&f, "body-file", None)?;
    let body = Bytes::from(std::fs::read(&body_file).map_err(|e| format!("{body_file}: {e}"))?);
    let Setup {
        scenario,
        pool,
        schema,
    } = setup(&f).await?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let server = HttpServer::new(move || {
        let (pool, schema, body) = (pool.clone(), schema.clone(), body.clone());
        App::new().default_service(web::to(move || {
            let (pool, schema, body) = (pool.clone(), schema.clone(), body.clone());
            async move {
                match one_request(&pool, &schema, scenario).await {
                    Ok(()) => HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body),
                    Err(e) => HttpResponse::InternalServerError().body(e),
                }
            }
        }))
    })
    .disable_signals()
    .workers(workers)
    .listen(listener)
    .map_err(|e| e.to_string())?
    .run();
    println!("listening on port {port}");
    server.await.map_err(|e| e.to_string())
}

/// What replyd's database layer does for one request of `scenario`.
async fn one_request(
    pool: &mysql_async::Pool,
    schema: &replyd::db::schema::SchemaInfo,
    scenario: Scenario,
) -> Result<(), String> {
    match scenario {
        Scenario::Read(filter) => {
            let (sql, params) = read_query(&ReadRequest {
                dialect: ReadDialect::Replies,
                ticket_number: None,
                filter,
                reply_type: None,
                narrow_to_client: None,
                scope: ClientScope::AllClients,
                include_archived: false,
                limit: 50,
                offset: 0,
            });
            let mut conn = pool.get_conn().await.map_err(|e| e.to_string())?;
            let rows: Vec<Row> = conn.exec(sql, params).await.map_err(|e| e.to_string())?;
            std::hint::black_box(rows);
            Ok(())
        }
        Scenario::ReadV2(ticket_id) => {
            let request =
                ListRequest::first_of_ticket(ticket_id, ClientScope::AllClients, 50, PAGE_BYTES);
            let mut conn = pool.get_conn().await.map_err(|e| e.to_string())?;
            let (sql, params) = list_query(&request);
            let rows: Vec<Row> = conn.exec(sql, params).await.map_err(|e| e.to_string())?;
            std::hint::black_box(rows);
            Ok(())
        }
        Scenario::Create {
            ticket_id,
            with_text,
        } => {
            let principal = Principal::ClientKey {
                key_id: 1,
                key_name: "Bench key".into(),
                scope: ClientScope::AllClients,
            };
            let req = NewReply {
                ticket: TicketRef {
                    id: Some(ticket_id),
                    number: None,
                },
                client_id: 0,
                text: with_text.then(|| "bench reply".to_string()),
                reply_type: ReplyType::Internal,
                email: false,
                time_worked: TimeWorked::default(),
                status: if with_text {
                    StatusChange::Keep
                } else {
                    StatusChange::To(2)
                },
                author: Author::Key,
                created: None,
                attachments: Vec::new(),
            };
            let meta = RequestMeta {
                ip: "127.0.0.1".into(),
                user_agent: "bench_baseline".into(),
                path: "/api/v1/tickets/replies/create.php".into(),
            };
            let ctx = WriteContext {
                principal: &principal,
                legacy_author: 0,
                flavour: schema.flavour(),
                base_url: "",
                app_name: "ITFlow",
                email_replies: false,
            };
            create(
                pool,
                &ctx,
                CreateRequest::Replies(&req),
                replyd::db::create::Files {
                    uploads: None,
                    staged: &[],
                },
                &meta,
                Duration::from_secs(5),
                None,
                Answer::Insert(replyd::api::create::created_answer),
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
        }
    }
}

/// MySQL protocol command bytes worth naming.
fn command_name(byte: u8) -> &'static str {
    match byte {
        0x01 => "quit",
        0x03 => "query",
        0x0e => "ping",
        0x11 => "change_user",
        0x16 => "stmt_prepare",
        0x17 => "stmt_execute",
        0x19 => "stmt_close",
        0x1a => "stmt_reset",
        0x1f => "reset_connection",
        _ => "other",
    }
}

type Counts = Arc<Mutex<HashMap<&'static str, u64>>>;

async fn count_proxy(args: &[String]) -> Result<(), String> {
    let f = flags(args)?;
    let listen: u16 = get(&f, "listen", None)?;
    let stats: u16 = get(&f, "stats", None)?;
    let upstream: String = get(&f, "upstream", None)?;
    let counts: Counts = Arc::default();
    let stats_listener = TcpListener::bind(("127.0.0.1", stats))
        .await
        .map_err(|e| e.to_string())?;
    let stats_port = stats_listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .port();
    let stats_counts = counts.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = stats_listener.accept().await {
            let mut text: Vec<String> = stats_counts
                .lock()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            text.sort();
            let _ = s.write_all((text.join(" ") + "\n").as_bytes()).await;
        }
    });
    let listener = TcpListener::bind(("127.0.0.1", listen))
        .await
        .map_err(|e| e.to_string())?;
    // With port 0 the system picks: say which.
    let port_of = |l: &TcpListener| l.local_addr().map(|a| a.port()).unwrap_or(0);
    println!("listen={} stats={}", port_of(&listener), stats_port);
    loop {
        let (client, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let upstream = upstream.clone();
        let counts = counts.clone();
        tokio::spawn(async move {
            if let Ok(server) = TcpStream::connect(&upstream).await {
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let down = tokio::spawn(async move { tokio::io::copy(&mut sr, &mut cw).await });
                // Client to server: whole packets; a packet with sequence
                // id 0 starts a command.
                let mut header = [0u8; 4];
                let mut payload = Vec::new();
                while cr.read_exact(&mut header).await.is_ok() {
                    let len = usize::from(header[0])
                        | usize::from(header[1]) << 8
                        | usize::from(header[2]) << 16;
                    payload.resize(len, 0);
                    if cr.read_exact(&mut payload).await.is_err() {
                        break;
                    }
                    if header[3] == 0 && !payload.is_empty() {
                        *counts
                            .lock()
                            .unwrap()
                            .entry(command_name(payload[0]))
                            .or_default() += 1;
                    }
                    if sw.write_all(&header).await.is_err() || sw.write_all(&payload).await.is_err()
                    {
                        break;
                    }
                }
                let _ = sw.shutdown().await;
                down.abort();
            }
        });
    }
}
