//! The real replyd binary as a child process, for what only a process
//! shows: signals, its exit status, its log, systemd notifications.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use nix::sys::signal::Signal;

/// A free TCP port on 127.0.0.1 (free when this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Make `cmd`'s process get SIGKILL when the thread that started it ends,
/// so a test killed half-way leaves no server behind.
pub fn die_with_test(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no
    // memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        })
    }
}

pub fn send_signal(pid: u32, signal: Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
        .unwrap_or_else(|e| panic!("kill -{signal} {pid}: {e}"));
}

/// A running `replyd`, killed when dropped.
pub struct Replyd {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub address: String,
    log: Arc<Mutex<String>>,
}

impl Replyd {
    /// Start replyd on `database_url` on a free port with `env` set (and no
    /// other REPLYD_* or RUST_LOG from the caller); returns once /healthz
    /// answers.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> Replyd {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_replyd"));
        cmd.current_dir(std::env::temp_dir());
        for (k, _) in std::env::vars() {
            if k.starts_with("REPLYD_") || k == "RUST_LOG" || k.starts_with("NOTIFY_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("REPLYD_LISTEN", format!("127.0.0.1:{port}"))
            .env("REPLYD_DATABASE_URL", database_url)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = die_with_test(&mut cmd)
            .spawn()
            .expect("replyd binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut replyd = Replyd {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(replyd.url("/healthz")).send().await
                && r.status() == 200
            {
                return replyd;
            }
            if let Ok(Some(status)) = replyd.child.try_wait() {
                panic!("replyd exited ({status}) at startup:\n{}", replyd.log());
            }
            assert!(
                Instant::now() < deadline,
                "replyd did not answer /healthz within 30 s:\n{}",
                replyd.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.address, path_and_query)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: Signal) {
        send_signal(self.pid(), signal);
    }

    /// Everything replyd has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait up to `limit` for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then the exit status (panics after `limit`).
    pub async fn stop(&mut self, limit: Duration) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        match self.wait_exit(limit).await {
            Some(status) => status,
            None => panic!(
                "replyd still running {limit:?} after SIGTERM:\n{}",
                self.log()
            ),
        }
    }
}

impl Drop for Replyd {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
