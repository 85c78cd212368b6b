//! Deadlines from user durations. Adding a duration to an `Instant` panics on overflow, so
//! every deadline is computed here, saturating.

use std::time::Duration;

use tokio::time::Instant;

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
