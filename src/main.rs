use replyd::commands::{check, doctor};
use replyd::config::Settings;
use replyd::startup::Application;
use replyd::{shutdown, systemd};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: replyd [--config PATH] [--check]\n\
       replyd doctor [--apply] [--config PATH]\n\
       replyd openapi\n\
  --config PATH  configuration file (default: config/replyd.toml if present)\n\
  --check        check configuration and database, print what was found, exit\n\
  doctor         list indexes replyd's queries need that the database lacks,\n\
                 with the ALTER TABLE for each (exit 0: none missing, 3: some missing),\n\
                 and whether replyd's table for Idempotency-Key exists (optional)\n\
  doctor --apply add them, and create that table (the only command that changes the schema)\n\
  openapi        print the OpenAPI document (as served at /api/openapi.json and\n\
                 committed as openapi.json) and exit\n";

/// `replyd doctor` when indexes are missing.
const EXIT_INDEXES_MISSING: u8 = 3;

struct Args {
    config: Option<PathBuf>,
    check: bool,
    doctor: bool,
    apply: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        config: None,
        check: false,
        doctor: false,
        apply: false,
    };
    let mut it = std::env::args().skip(1).peekable();
    if it.peek().map(String::as_str) == Some("doctor") {
        it.next();
        args.doctor = true;
    }
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--apply" if args.doctor => args.apply = true,
            "--config" => {
                args.config = Some(it.next().ok_or("--config needs a path")?.into());
            }
            "--check" => args.check = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "-V" | "--version" => {
                println!("replyd {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.doctor && args.check {
        return Err("doctor and --check do not go together".into());
    }
    Ok(args)
}

#[actix_web::main]
async fn main() -> ExitCode {
    // Needs no configuration: the document is the code's.
    if std::env::args().skip(1).eq(["openapi"]) {
        print!("{}", replyd::api::openapi::json());
        return ExitCode::SUCCESS;
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprint!("replyd: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("replyd: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.doctor {
        return match doctor(&settings, args.apply).await {
            Ok(outcome) => {
                print!("{}", outcome.report);
                if outcome.still_missing == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(EXIT_INDEXES_MISSING)
                }
            }
            Err(e) => {
                eprintln!("replyd: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.check {
        return match check(&settings).await {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("replyd: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("replyd: {e}");
            return ExitCode::FAILURE;
        }
    };
    actix_web::rt::spawn(shutdown::stop_on_signals(app.handle(), app.state()));
    if let Some(timeout) = systemd::watchdog_timeout() {
        actix_web::rt::spawn(systemd::watchdog(app.local_addr(), timeout));
    }
    log::info!("listening on port {}", app.port());
    systemd::notify(sd_notify::NotifyState::Ready);
    match app.run_until_stopped().await {
        Ok(()) => {
            log::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("replyd: {e}");
            ExitCode::FAILURE
        }
    }
}
