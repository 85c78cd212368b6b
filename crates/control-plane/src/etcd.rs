//! One etcd per test process, shared by every cluster (each under its own key prefix).

use crate::bins::Binaries;
use crate::process::{self, Process};
use base64::Engine;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub(crate) struct Etcd {
    pub port: u16,
    pub log: PathBuf,
    pub started_in: Duration,
    process: Mutex<Process>,
}

static ETCD: OnceLock<Result<Etcd, String>> = OnceLock::new();
static ETCD_PID: AtomicI32 = AtomicI32::new(0);
static ETCD_DIR: OnceLock<(PathBuf, bool)> = OnceLock::new();

impl Etcd {
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.process.lock().unwrap_or_else(|e| e.into_inner()).pid()
    }

    /// An error when etcd has died since it started.
    pub(crate) fn check_alive(&self) -> Result<(), String> {
        let mut process = self.process.lock().unwrap_or_else(|e| e.into_inner());
        match process.exited() {
            None => Ok(()),
            Some(status) => Err(format!(
                "the shared etcd exited ({status}); the end of {}:\n{}",
                self.log.display(),
                process::tail(&self.log, 20)
            )),
        }
    }

    /// Deletes every key under `prefix` (a cluster's, after its API server is gone).
    pub(crate) fn delete_prefix(&self, prefix: &str) {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut end = prefix.as_bytes().to_vec();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let body = serde_json::json!({"key": b64.encode(prefix), "range_end": b64.encode(end)});
        let _ = process::http(
            self.port,
            "POST",
            "/v3/kv/deleterange",
            &body.to_string(),
            Duration::from_secs(5),
        );
    }
}

/// The process's etcd, started on first use; `true` when this call started it.
pub(crate) fn shared(
    bins: &Binaries,
    keep: bool,
    timeout: Duration,
) -> Result<(&'static Etcd, bool), String> {
    let mut started_now = false;
    let etcd = ETCD
        .get_or_init(|| {
            started_now = true;
            start(bins, keep, timeout)
        })
        .as_ref()
        .map_err(Clone::clone)?;
    if !started_now {
        etcd.check_alive()?;
    }
    Ok((etcd, started_now))
}

fn start(bins: &Binaries, keep: bool, timeout: Duration) -> Result<Etcd, String> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!(
        "{}{}-etcd",
        process::DIR_PREFIX,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if keep {
        let _ = std::fs::write(dir.join(process::KEEP_MARKER), "");
    }
    let _ = ETCD_DIR.set((dir.clone(), keep));
    // SAFETY: registering a plain extern "C" function.
    unsafe {
        libc::atexit(stop_at_exit);
    }
    let log = dir.join("etcd.log");
    let mut last_error = String::new();
    for _attempt in 0..5 {
        let port = process::free_port().map_err(|e| format!("no free port: {e}"))?;
        let peer_port = process::free_port().map_err(|e| format!("no free port: {e}"))?;
        let client_url = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        // This etcd is a small program around etcd's `embed` package: these five flags are
        // all it has (no --initial-cluster, no --name).
        let mut command = Command::new(bins.path("etcd"));
        command
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .arg("--unsafe-no-fsync");
        let child = process::spawn(command, &log)
            .map_err(|e| format!("cannot start {}: {e}", bins.path("etcd").display()))?;
        let mut etcd_process = Process { child };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = etcd_process.exited() {
                last_error = format!(
                    "etcd exited ({status}) before it was ready; the end of {}:\n{}",
                    log.display(),
                    process::tail(&log, 20)
                );
                break;
            }
            if let Ok((200, body)) =
                process::http(port, "GET", "/health", "", Duration::from_secs(1))
                && body.contains(r#""health":"true""#)
            {
                ETCD_PID.store(etcd_process.pid() as i32, Ordering::SeqCst);
                return Ok(Etcd {
                    port,
                    log,
                    started_in: started.elapsed(),
                    process: Mutex::new(etcd_process),
                });
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "etcd was not healthy after {timeout:?}; the end of {}:\n{}",
                    log.display(),
                    process::tail(&log, 20)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !process::bind_failed(&log) {
            break;
        }
        let _ = std::fs::remove_dir_all(dir.join("data"));
    }
    Err(last_error)
}

/// At exit (the test harness's `exit`), etcd goes and its directory with it. When the process
/// dies otherwise, PDEATHSIG kills etcd and the next run removes the directory.
extern "C" fn stop_at_exit() {
    let pid = ETCD_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    if let Some((dir, keep)) = ETCD_DIR.get() {
        if *keep {
            crate::say(&format!(
                "lbctl-cp: kept the shared etcd's directory {}",
                dir.display()
            ));
        } else {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
