//! The simulated clock: real time that can be paused and advanced by tests.

use jiff::{SignedDuration, Timestamp};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    start: Timestamp,
    /// Simulated time accumulated while paused segments and `advance` calls happened.
    elapsed: Duration,
    /// `Some` while running: real time since then counts as simulated time.
    running_since: Option<Instant>,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock {
            state: Mutex::new(ClockState {
                start: Timestamp::now(),
                elapsed: Duration::ZERO,
                running_since: Some(Instant::now()),
            }),
        }
    }
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let running = state
            .running_since
            .map(|since| since.elapsed())
            .unwrap_or_default();
        let total = SignedDuration::try_from(state.elapsed + running).unwrap_or_default();
        state.start.saturating_add(total).unwrap_or(state.start)
    }

    pub fn pause(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(since) = state.running_since.take() {
            state.elapsed += since.elapsed();
        }
    }

    pub fn resume(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.running_since.is_none() {
            state.running_since = Some(Instant::now());
        }
    }

    pub fn advance(&self, by: Duration) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).elapsed += by;
    }
}
