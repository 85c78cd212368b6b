//! `--timeout` as one deadline for a whole command: every step runs under [`Deadline::bound`],
//! so a request the API server never answers ends the command at the deadline, naming that
//! request and the step, instead of whenever the request gives up (or never).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::ClusterTarget;
use crate::{Error, Result};

/// How long past the deadline a step may take to report its own timeout (a wait that ends at
/// the deadline then lists the pods that held it up, which says more than "timed out").
const REPORT_GRACE: Duration = Duration::from_secs(2);

/// How long a request sent before the deadline may still be unanswered at the deadline before it
/// counts as the one that held the command up (one sent a moment before is merely unlucky).
const STALLED_AFTER: Duration = Duration::from_millis(250);

/// A deadline that never comes yet can still be added to any `Instant` (about 30 years, as
/// tokio's own "far future").
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// `start + duration`, or a deadline that never comes when the sum does not fit the clock.
pub fn after(start: Instant, duration: Duration) -> Instant {
    start
        .checked_add(duration.min(FAR_FUTURE))
        .or_else(|| start.checked_add(FAR_FUTURE))
        .unwrap_or(start)
}

/// The deadline of a command and the `--timeout` it came from.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub at: Instant,
    pub timeout: Duration,
}

impl Deadline {
    /// `timeout` from `started`.
    pub fn new(started: Instant, timeout: Duration) -> Deadline {
        Deadline {
            at: after(started, timeout),
            timeout,
        }
    }

    /// Time left, zero once passed.
    pub fn left(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Runs `step` until it ends or the deadline stops it. A step stopped with a request
    /// still unanswered fails with [`Error::DeadlineExceeded`] naming that request; a step
    /// that is only waiting gets [`REPORT_GRACE`] to return its own, better explained, timeout.
    pub async fn bound<T>(
        &self,
        target: &ClusterTarget,
        step: &str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let exceeded = |in_flight| Error::DeadlineExceeded {
            after: self.timeout,
            step: step.to_string(),
            in_flight,
        };
        // A step that would start after the deadline does not start.
        if Instant::now() >= self.at {
            return Err(exceeded(Vec::new()));
        }
        tokio::pin!(work);
        if let Ok(result) = tokio::time::timeout_at(self.at + STALLED_AFTER, &mut work).await {
            return result;
        }
        let mut stalled = target.in_flight.sent_before(self.at);
        if stalled.is_empty() {
            if let Ok(result) = tokio::time::timeout_at(self.at + REPORT_GRACE, &mut work).await {
                return result;
            }
            stalled = target.in_flight.sent_before(Instant::now());
        }
        let now = Instant::now();
        let in_flight = stalled
            .into_iter()
            .map(|s| {
                format!(
                    "{} (unanswered for {:.1}s)",
                    s.what,
                    now.duration_since(s.at).as_secs_f64()
                )
            })
            .collect();
        Err(exceeded(in_flight))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(
            after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let far = after(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(10 * 365 * 24 * 60 * 60));
        assert_eq!(after(now, Duration::from_secs(u64::MAX)), far);
    }
}
