//! `-v` / `-vv`, as kubectl's `-v`: what lbctl uses and does, on stderr only (stdout stays the
//! report, so `-o json` still parses). `-v` names the kubeconfig, context, server and user and
//! times the main steps; `-vv` adds one line per API request (`crate::kube::request_log`).
//! Never print credentials or Secret data here.

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

static LEVEL: AtomicU8 = AtomicU8::new(0);

/// The level from the command line (the number of `-v`).
pub fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

/// True when `-v` was given at least `level` times.
pub fn enabled(level: u8) -> bool {
    level > 0 && LEVEL.load(Ordering::Relaxed) >= level
}

/// One line on stderr when `-v` was given at least `level` times.
pub fn say(level: u8, line: impl FnOnce() -> String) {
    if enabled(level) {
        use std::io::Write;
        // A closed stderr must not stop the command.
        let _ = writeln!(std::io::stderr(), "{}", line());
    }
}

/// `-v`: a finished step and how long it took.
pub fn step(what: &str, took: Duration) {
    say(1, || format!("{what}: done in {}", millis(took)));
}

/// `-v`: says a step starts, runs it and says when it ended and how long it took.
pub async fn timed<F: Future>(what: &str, work: F) -> F::Output {
    say(1, || format!("{what}..."));
    let start = Instant::now();
    let out = work.await;
    step(what, start.elapsed());
    out
}

/// kubectl's way of writing durations in its request log: `12 milliseconds`.
pub fn millis(took: Duration) -> String {
    format!("{} milliseconds", took.as_millis())
}
