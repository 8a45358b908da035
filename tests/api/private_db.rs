//! A private, throwaway MariaDB server (its own datadir, socket and port)
//! that a test may stop, freeze and start again, never touching the shared
//! test server.

use crate::process::{Signal, die_with_test, free_port, send_signal};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().find_map(|c| {
        let p = Path::new(c);
        if p.is_absolute() {
            return p.is_file().then(|| p.to_path_buf());
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(c))
                .find(|p| p.is_file())
        })
    })
}

pub struct PrivateMariaDb {
    dir: PathBuf,
    port: u16,
    mariadbd: PathBuf,
    child: Option<Child>,
    frozen: bool,
}

impl PrivateMariaDb {
    /// Install a datadir and start the server. None, with the reason
    /// printed, when MariaDB's server binaries are not installed (scripts/
    /// test.sh installs them; it sets REPLYD_REQUIRE_MARIADBD=1, which makes
    /// their absence a failure instead).
    pub async fn start() -> Option<PrivateMariaDb> {
        let mariadbd = find(&[
            "mariadbd",
            "/usr/sbin/mariadbd",
            "mysqld",
            "/usr/sbin/mysqld",
        ]);
        let install_db = find(&[
            "mariadb-install-db",
            "/usr/bin/mariadb-install-db",
            "mysql_install_db",
            "/usr/bin/mysql_install_db",
        ]);
        let (Some(mariadbd), Some(install_db)) = (mariadbd, install_db) else {
            let reason =
                "mariadbd or mariadb-install-db not found (apt-get install mariadb-server)";
            assert!(
                std::env::var("REPLYD_REQUIRE_MARIADBD").as_deref() != Ok("1"),
                "{reason}"
            );
            eprintln!("SKIPPED: {reason}");
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "replyd-test-mariadb.{}.{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(&install_db)
            .arg("--no-defaults")
            .arg("--user=root")
            .arg(format!("--datadir={}", dir.join("data").display()))
            // Its own tmpdir: a starting mariadbd deletes stray #sql* files
            // there, which in /tmp are the shared server's live temp tables.
            .arg(format!("--tmpdir={}", dir.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mariadb-install-db failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut db = PrivateMariaDb {
            dir,
            port: free_port(),
            mariadbd,
            child: None,
            frozen: false,
        };
        db.start_again().await;
        Some(db)
    }

    /// `mysql://root@127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// Start the server (again) on the same port and datadir; returns once
    /// it answers.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut cmd = Command::new(&self.mariadbd);
        let child = die_with_test(&mut cmd)
            .arg("--no-defaults")
            .arg("--user=root")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!(
                "--socket={}",
                self.dir.join("mariadbd.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("mariadbd.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.dir.join("error.log").display()
            ))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--port={}", self.port))
            .arg(format!("--tmpdir={}", self.dir.display()))
            .arg("--skip-name-resolve")
            .arg("--innodb-buffer-pool-size=32M")
            .arg("--innodb-flush-log-at-trx-commit=2")
            .arg("--character-set-server=utf8mb4")
            .arg("--collation-server=utf8mb4_general_ci")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let opts = mysql_async::Opts::from_url(&self.url()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Ok(conn)) =
                tokio::time::timeout(Duration::from_secs(2), mysql_async::Conn::new(opts.clone()))
                    .await
            {
                let _ = conn.disconnect().await;
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("mariadbd exited ({status}):\n{}", self.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "mariadbd did not answer within 60 s:\n{}",
                self.error_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stop the server cleanly (SIGTERM) and wait for it to exit.
    pub async fn stop(&mut self) {
        self.end_with(Signal::SIGTERM, Duration::from_secs(60))
            .await;
    }

    /// Kill the server (SIGKILL), as a crash or the OOM killer would, and
    /// wait for it to be gone. `start_again` runs InnoDB's crash recovery.
    pub async fn kill(&mut self) {
        self.end_with(Signal::SIGKILL, Duration::from_secs(30))
            .await;
    }

    /// Send `signal` to the (thawed) server and wait up to `limit` for it
    /// to exit.
    async fn end_with(&mut self, signal: Signal, limit: Duration) {
        self.thaw();
        let mut child = self.child.take().expect("running");
        send_signal(child.id(), signal);
        let deadline = Instant::now() + limit;
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "mariadbd still running {limit:?} after {signal:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Freeze the server (SIGSTOP): connections are accepted by the kernel
    /// but nothing answers, as with a hung or unreachable database.
    ///
    /// Returns once every thread of the server is stopped. The stop is not
    /// immediate: the kernel hands SIGSTOP to one thread, which must run to
    /// stop the others, and on a busy machine another thread can answer a
    /// query meanwhile.
    pub async fn freeze(&mut self) {
        let pid = self.child.as_ref().expect("running").id();
        send_signal(pid, Signal::SIGSTOP);
        self.frozen = true;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !all_threads_stopped(pid) {
            assert!(
                Instant::now() < deadline,
                "mariadbd did not stop within 30 s of SIGSTOP"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn thaw(&mut self) {
        if self.frozen {
            if let Some(c) = &self.child {
                send_signal(c.id(), Signal::SIGCONT);
            }
            self.frozen = false;
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        self.thaw();
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether every thread of `pid` is stopped (state `T` in
/// /proc/PID/task/TID/stat; the state follows the parenthesised command).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T'))
        })
    })
}
