//! Ctrl-C for the whole run. `main` runs the command under [`run`], the one SIGINT listener of
//! the process: Ctrl-C ends the command at once (exit 130, "interrupted"), whatever it waits
//! for. A stage with objects in the cluster takes a [`Cleanup`] guard first; while one is held,
//! Ctrl-C only tells the stage, which removes its objects and returns [`Error::Interrupted`]
//! itself, and a second Ctrl-C ends at once. Tokio installs the SIGINT handler for good on the
//! first listener, so a listener inside a stage alone would leave Ctrl-C ignored after it.

use std::future::Future;
use std::sync::LazyLock;

use tokio::sync::watch;

use crate::{Error, Result};

struct State {
    /// Set once Ctrl-C came.
    interrupted: watch::Sender<bool>,
    /// How many [`Cleanup`] guards are alive.
    guards: watch::Sender<usize>,
}

static STATE: LazyLock<State> = LazyLock::new(|| State {
    interrupted: watch::Sender::new(false),
    guards: watch::Sender::new(0),
});

/// Held by a stage that must clean up on Ctrl-C; see [`Cleanup::interrupted`].
pub struct Cleanup {
    interrupted: watch::Receiver<bool>,
}

/// Takes a guard: until it is dropped, Ctrl-C waits for the stage to clean up.
pub fn cleanup_guard() -> Cleanup {
    STATE.guards.send_modify(|n| *n += 1);
    Cleanup {
        interrupted: STATE.interrupted.subscribe(),
    }
}

impl Cleanup {
    /// Resolves once Ctrl-C came (at once if it already had).
    pub async fn interrupted(&mut self) {
        // The sender lives in a static, so the channel never closes.
        let _ = self.interrupted.wait_for(|i| *i).await;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        STATE.guards.send_modify(|n| *n -= 1);
    }
}

/// Runs `work` until it ends or Ctrl-C ends it; see the module documentation.
pub async fn run<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let interrupted = || Error::Interrupted { cleanup: None };
    tokio::pin!(work);
    tokio::select! {
        biased;
        result = &mut work => return result,
        signal = tokio::signal::ctrl_c() => {
            // No handler could be installed: run without Ctrl-C handling rather than not at all.
            if signal.is_err() {
                return work.await;
            }
        }
    }
    STATE.interrupted.send_replace(true);
    let mut guards = STATE.guards.subscribe();
    // `biased`: the stage drops its guard and returns its own Interrupted in the same poll, so
    // `work` ends before the guard count is seen at zero and its cleanup message is kept.
    tokio::select! {
        biased;
        result = &mut work => result,
        _ = guards.wait_for(|n| *n == 0) => Err(interrupted()),
        _ = tokio::signal::ctrl_c() => Err(interrupted()),
    }
}
