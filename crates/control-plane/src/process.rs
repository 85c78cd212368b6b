//! Child processes that cannot outlive the test process, their logs, and what dead test
//! processes left behind.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock};
use std::time::Duration;

/// Directory names start with this, then `<pid>-`: `$TMPDIR/lbctl-cp-<pid>-<n>`.
pub(crate) const DIR_PREFIX: &str = "lbctl-cp-";
/// A file of this name in a directory keeps it from being cleaned up.
pub(crate) const KEEP_MARKER: &str = "KEEP";

type Request = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `command` with stdout and stderr appended to `log`, from the spawner thread.
///
/// Every child gets `PR_SET_PDEATHSIG(SIGKILL)`. The kernel sends that signal when the
/// *thread* that forked the child exits, not the process, and test threads exit after each
/// test: so all children are forked by one thread that lives as long as the process (it
/// waits on a channel for the next command). When the test process dies, however it dies,
/// that thread dies with it and the kernel kills every child.
pub(crate) fn spawn(mut command: Command, log: &Path) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let file = fs::OpenOptions::new().create(true).append(true).open(log)?;
    command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl and getppid are async-signal-safe; nothing is allocated.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent died between fork and prctl: the signal will never come.
            if libc::getppid() != parent {
                return Err(io::Error::other("the test process exited"));
            }
            Ok(())
        });
    }
    let sender = SPAWNER.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("lbctl-cp-spawner".into())
            .spawn(move || {
                // The sender lives in a static, so this loop only ends with the process.
                for (mut command, reply) in receiver {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("cannot start the control plane's spawner thread");
        Mutex::new(sender)
    });
    let (reply, answer) = mpsc::channel();
    sender
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((command, reply))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

/// A running component: killed (SIGKILL) and reaped when dropped.
pub(crate) struct Process {
    pub child: Child,
}

impl Process {
    /// `Some(status)` once the process has exited.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of a log file (or why it could not be read).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// A port that was free a moment ago (the caller retries when it is taken in between).
pub(crate) fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether a component's log says it could not bind its port.
pub(crate) fn bind_failed(log: &Path) -> bool {
    tail(log, 40).contains("address already in use")
}

pub(crate) fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// A plain HTTP/1.0 request to 127.0.0.1 (for etcd): status code and body.
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    // No half-close: Go's HTTP server takes the client's EOF for a cancelled request.
    stream.flush()?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not an HTTP response: {response:.80}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Removes (once per process) `$TMPDIR/lbctl-cp-<pid>-*` directories and unpacking leftovers
/// `lbctl-k8s-*.tmp-<pid>-*` of test processes that are gone, unless they hold a `KEEP` file.
pub(crate) fn remove_leftovers_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        remove_leftovers();
    });
}

/// [`remove_leftovers_once`] now; returns what it removed.
pub(crate) fn remove_leftovers() -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return removed;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = owning_pid(&name) else {
            continue;
        };
        let path = entry.path();
        if pid == me || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if !path.is_dir() || path.join(KEEP_MARKER).exists() || !owned_by_me(&path) {
            continue;
        }
        if fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The pid encoded in `lbctl-cp-<pid>-...` or `lbctl-k8s-<hex>.tmp-<pid>-...`.
fn owning_pid(name: &str) -> Option<u32> {
    let rest = if let Some(rest) = name.strip_prefix(DIR_PREFIX) {
        rest
    } else if name.starts_with("lbctl-k8s-") {
        name.split_once(".tmp-")?.1
    } else {
        return None;
    };
    rest.split('-').next()?.parse().ok()
}

fn owned_by_me(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    fs::symlink_metadata(path)
        .map(|m| m.uid() == me)
        .unwrap_or(false)
}

/// Resident memory of a process in bytes (from `/proc/<pid>/status`).
pub(crate) fn rss_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_in_directory_names() {
        assert_eq!(owning_pid("lbctl-cp-1234-7"), Some(1234));
        assert_eq!(owning_pid("lbctl-cp-1234-etcd"), Some(1234));
        assert_eq!(owning_pid("lbctl-k8s-0123456789ab.tmp-99-abcd"), Some(99));
        assert_eq!(owning_pid("lbctl-k8s-0123456789ab"), None);
        assert_eq!(owning_pid("lbctl-cp-x-1"), None);
        assert_eq!(owning_pid("other"), None);
    }
}
