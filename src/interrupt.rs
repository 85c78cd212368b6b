//! Stop signals for the whole run: SIGINT (Ctrl-C), SIGTERM (`kill`, systemd, a CI job's
//! cancel) and SIGHUP (the terminal closed). `main` runs the command under [`run`], the one
//! listener of the process: a signal ends the command at once with 128 + its number ("interrupted"),
//! whatever it waits for. A stage with objects in the cluster takes a [`Cleanup`] guard first;
//! while one is held, a signal only tells the stage, which removes its objects and returns
//! [`Error::Interrupted`] itself, and a second signal ends at once. Tokio installs a signal's
//! handler for good on its first listener, so a listener inside a stage alone would leave the
//! signal ignored after it: all three are listened to here, for the whole run.

use std::future::Future;
use std::sync::LazyLock;

use tokio::sync::watch;

use crate::error::StepProgress;
use crate::{Error, ExitCode, Result};

/// A signal that stops lbctl the way Ctrl-C does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, a service manager, a CI runner cancelling the job.
    Terminate,
    /// SIGHUP: the terminal or SSH session went away.
    Hangup,
}

impl Signal {
    /// Every signal [`run`] listens for.
    pub const ALL: [Signal; 3] = [Signal::Interrupt, Signal::Terminate, Signal::Hangup];

    /// The name users see in `kill -l` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }

    /// 128 + the signal's number, as shells report a command the signal ended.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Signal::Interrupt => ExitCode::Interrupted,
            Signal::Terminate => ExitCode::Terminated,
            Signal::Hangup => ExitCode::HungUp,
        }
    }

    /// What ended the run, for the message: Ctrl-C keeps its familiar "interrupted".
    pub fn describe(self) -> String {
        match self {
            Signal::Interrupt => "interrupted".to_string(),
            other => format!("interrupted by {}", other.name()),
        }
    }

    #[cfg(unix)]
    fn kind(self) -> tokio::signal::unix::SignalKind {
        use tokio::signal::unix::SignalKind;
        match self {
            Signal::Interrupt => SignalKind::interrupt(),
            Signal::Terminate => SignalKind::terminate(),
            Signal::Hangup => SignalKind::hangup(),
        }
    }
}

struct State {
    /// The first stop signal, once one came.
    interrupted: watch::Sender<Option<Signal>>,
    /// How many [`Cleanup`] guards are alive.
    guards: watch::Sender<usize>,
}

static STATE: LazyLock<State> = LazyLock::new(|| State {
    interrupted: watch::Sender::new(None),
    guards: watch::Sender::new(0),
});

/// Held by a stage that must clean up on a stop signal; see [`Cleanup::interrupted`].
pub struct Cleanup {
    interrupted: watch::Receiver<Option<Signal>>,
}

/// Takes a guard: until it is dropped, a stop signal waits for the stage to clean up.
pub fn cleanup_guard() -> Cleanup {
    STATE.guards.send_modify(|n| *n += 1);
    Cleanup {
        interrupted: STATE.interrupted.subscribe(),
    }
}

impl Cleanup {
    /// Resolves with the signal once one came (at once if it already had).
    pub async fn interrupted(&mut self) -> Signal {
        let signal = match self.interrupted.wait_for(Option::is_some).await {
            Ok(signal) => *signal,
            // The sender lives in a static, so the channel never closes.
            Err(_) => None,
        };
        match signal {
            Some(signal) => signal,
            None => std::future::pending().await,
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        STATE.guards.send_modify(|n| *n -= 1);
    }
}

/// The process's signal listeners. One that cannot be installed is left out: lbctl then runs
/// without handling that signal rather than not at all.
struct Listeners {
    #[cfg(unix)]
    streams: Vec<(Signal, tokio::signal::unix::Signal)>,
}

impl Listeners {
    fn install() -> Listeners {
        #[cfg(unix)]
        {
            let streams = Signal::ALL
                .iter()
                .filter_map(|&s| Some((s, tokio::signal::unix::signal(s.kind()).ok()?)))
                .collect();
            Listeners { streams }
        }
        #[cfg(not(unix))]
        Listeners {}
    }

    /// The next stop signal; never resolves when none can be received.
    #[cfg(unix)]
    async fn next(&mut self) -> Signal {
        if self.streams.is_empty() {
            return std::future::pending().await;
        }
        let receivers = self.streams.iter_mut().map(|(signal, stream)| {
            Box::pin(async move {
                match stream.recv().await {
                    Some(()) => *signal,
                    // The runtime is shutting down: no more signals will come.
                    None => std::future::pending().await,
                }
            })
        });
        futures::future::select_all(receivers).await.0
    }

    /// Elsewhere only Ctrl-C exists.
    #[cfg(not(unix))]
    async fn next(&mut self) -> Signal {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}

/// How far a writing command got, for the message of a signal that stops it there.
static PROGRESS: std::sync::Mutex<Option<StepProgress>> = std::sync::Mutex::new(None);

/// Records the step a writing command (install, uninstall) enters: a signal then says what was
/// done and what was not, as a failed write does (the step itself is dropped, not asked).
pub fn entering(progress: Option<StepProgress>) {
    *PROGRESS.lock().unwrap_or_else(|e| e.into_inner()) = progress;
}

fn progress() -> Option<Box<StepProgress>> {
    PROGRESS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .map(Box::new)
}

/// Runs `work` until it ends or a stop signal ends it; see the module documentation.
pub async fn run<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let interrupted = |signal| Error::Interrupted {
        signal,
        cleanup: None,
        progress: progress(),
    };
    // Installed before `work` starts, so that no signal is missed (and none kills the process
    // the default way) once the command runs.
    let mut listeners = Listeners::install();
    tokio::pin!(work);
    let signal = tokio::select! {
        biased;
        result = &mut work => return result,
        signal = listeners.next() => signal,
    };
    STATE.interrupted.send_replace(Some(signal));
    let mut guards = STATE.guards.subscribe();
    // `biased`: the stage drops its guard and returns its own Interrupted in the same poll, so
    // `work` ends before the guard count is seen at zero and its cleanup message is kept.
    tokio::select! {
        biased;
        result = &mut work => result,
        _ = guards.wait_for(|n| *n == 0) => Err(interrupted(signal)),
        // A second signal: the user does not want to wait for the cleanup.
        second = listeners.next() => Err(interrupted(second)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!(Signal::Interrupt.exit_code().code(), 128 + libc::SIGINT);
        assert_eq!(Signal::Terminate.exit_code().code(), 128 + libc::SIGTERM);
        assert_eq!(Signal::Hangup.exit_code().code(), 128 + libc::SIGHUP);
    }

    #[test]
    fn ctrl_c_keeps_its_short_message_and_others_name_the_signal() {
        assert_eq!(Signal::Interrupt.describe(), "interrupted");
        assert_eq!(Signal::Terminate.describe(), "interrupted by SIGTERM");
        assert_eq!(Signal::Hangup.describe(), "interrupted by SIGHUP");
    }
}
