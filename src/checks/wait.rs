//! `--wait DURATION`: re-run checks whose facts can still change until one deadline, showing
//! progress on stderr (a spinner on a terminal, plain lines otherwise).

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use tokio::time::Instant;

use super::model::Check;

/// How often facts are gathered again while waiting.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// Receives progress while waiting.
pub trait Progress {
    /// Called after each round that left checks pending; `left` is the time to the deadline.
    fn pending(&mut self, pending: &[&Check], left: Duration);
    /// Called often between rounds so a spinner can move.
    fn tick(&mut self) {}
    /// Called once at the end.
    fn finish(&mut self) {}
}

/// Runs `round` until no check is pending (see [`Check::still_pending`]) or `wait` has passed.
/// Without `wait` it runs exactly once. Checks still pending at the deadline keep their status
/// and say that waiting ran out. A round also returns what it judged (`T`, its facts); the last
/// round's is returned with its checks.
pub async fn run_until<R, Fut, T>(
    wait: Option<Duration>,
    interval: Duration,
    progress: &mut dyn Progress,
    mut round: R,
) -> (Vec<Check>, T)
where
    R: FnMut() -> Fut,
    Fut: Future<Output = (Vec<Check>, T)>,
{
    let start = Instant::now();
    loop {
        let (mut checks, judged) = round().await;
        let Some(wait) = wait else {
            return (checks, judged);
        };
        let pending: Vec<&Check> = checks.iter().filter(|c| c.still_pending()).collect();
        let elapsed = start.elapsed();
        if pending.is_empty() {
            progress.finish();
            return (checks, judged);
        }
        if elapsed >= wait {
            progress.finish();
            let waited = crate::error::shown(wait);
            for c in checks.iter_mut().filter(|c| c.still_pending()) {
                c.message = format!(
                    "{} (still {} when --wait {waited} ran out)",
                    c.message, c.status
                );
            }
            return (checks, judged);
        }
        let left = wait - elapsed;
        progress.pending(&pending, left);
        let next = Instant::now() + interval.min(left);
        while Instant::now() < next {
            tokio::time::sleep(Duration::from_millis(100).min(next - Instant::now())).await;
            progress.tick();
        }
    }
}

/// Progress on stderr: a spinner on a terminal, plain lines otherwise (logs, CI), nothing
/// under `-q`.
pub fn on_stderr() -> Box<dyn Progress> {
    let err = std::io::stderr();
    if !crate::progress::show(crate::progress::Line::Progress) {
        Box::new(Silent)
    } else if err.is_terminal() {
        Box::new(SpinnerProgress::new(err))
    } else {
        Box::new(PlainProgress { out: err })
    }
}

fn pending_ids(pending: &[&Check]) -> String {
    pending
        .iter()
        .map(|c| c.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn seconds(left: Duration) -> String {
    format!("{}s", left.as_secs() + u64::from(left.subsec_millis() > 0))
}

/// `-q`: the rounds run, nothing is shown.
pub struct Silent;

impl Progress for Silent {
    fn pending(&mut self, _: &[&Check], _: Duration) {}
}

/// One line per round, for logs and CI.
pub struct PlainProgress<W: Write> {
    pub out: W,
}

impl<W: Write> Progress for PlainProgress<W> {
    fn pending(&mut self, pending: &[&Check], left: Duration) {
        let _ = writeln!(
            self.out,
            "waiting for {} ({} left)",
            pending_ids(pending),
            seconds(left)
        );
    }
}

/// A spinner redrawn in place on a terminal.
pub struct SpinnerProgress<W: Write> {
    pub out: W,
    frame: usize,
    line: String,
}

impl<W: Write> SpinnerProgress<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            frame: 0,
            line: String::new(),
        }
    }
    fn draw(&mut self) {
        const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
        let frame = FRAMES[self.frame % FRAMES.len()];
        // \r + erase-line keeps the spinner on one line.
        let _ = write!(self.out, "\r\x1b[2K{frame} {}", self.line);
        let _ = self.out.flush();
    }
}

impl<W: Write> Progress for SpinnerProgress<W> {
    fn pending(&mut self, pending: &[&Check], left: Duration) {
        self.line = format!(
            "waiting for {} ({} left)",
            pending_ids(pending),
            seconds(left)
        );
        self.draw();
    }
    fn tick(&mut self) {
        self.frame += 1;
        self.draw();
    }
    fn finish(&mut self) {
        if !self.line.is_empty() {
            let _ = write!(self.out, "\r\x1b[2K");
            let _ = self.out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::model::{Check, Status};

    fn check(status: Status, can_become_true: bool) -> Check {
        Check {
            id: "LB120".into(),
            title: "t".into(),
            area: "a".into(),
            status,
            message: "not ready".into(),
            hint: None,
            docs: String::new(),
            ignored: false,
            node: None,
            can_become_true,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reruns_until_the_check_passes() {
        let mut rounds = 0;
        let mut out = Vec::new();
        let (checks, ()) = {
            let mut progress = PlainProgress { out: &mut out };
            run_until(
                Some(Duration::from_secs(60)),
                Duration::from_millis(10),
                &mut progress,
                || {
                    rounds += 1;
                    let status = if rounds < 3 {
                        Status::Fail
                    } else {
                        Status::Pass
                    };
                    async move { (vec![check(status, true)], ()) }
                },
            )
            .await
        };
        assert_eq!(rounds, 3);
        assert_eq!(checks[0].status, Status::Pass);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("waiting for LB120 ("), "{text}");
    }

    #[tokio::test]
    async fn gives_up_at_the_deadline_and_says_so() {
        let mut rounds = 0;
        let mut progress = PlainProgress { out: Vec::new() };
        let (checks, ()) = run_until(
            Some(Duration::from_millis(50)),
            Duration::from_millis(20),
            &mut progress,
            || {
                rounds += 1;
                async { (vec![check(Status::Fail, true)], ()) }
            },
        )
        .await;
        assert!(rounds >= 2);
        assert_eq!(checks[0].status, Status::Fail);
        assert!(
            checks[0]
                .message
                .contains("still fail when --wait 50ms ran out")
        );
    }

    #[tokio::test]
    async fn static_failures_and_no_wait_run_once() {
        for wait in [None, Some(Duration::from_secs(60))] {
            let mut rounds = 0;
            let mut progress = PlainProgress { out: Vec::new() };
            let (checks, ()) = run_until(wait, Duration::from_millis(1), &mut progress, || {
                rounds += 1;
                async { (vec![check(Status::Fail, false)], ()) }
            })
            .await;
            assert_eq!(rounds, 1);
            assert_eq!(checks[0].message, "not ready");
            assert!(progress.out.is_empty());
        }
    }

    #[test]
    fn spinner_redraws_in_place_and_clears() {
        let mut spinner = SpinnerProgress::new(Vec::new());
        let c = check(Status::Error, true);
        spinner.pending(&[&c], Duration::from_millis(1500));
        spinner.tick();
        spinner.finish();
        let text = String::from_utf8(spinner.out).unwrap();
        assert!(
            text.contains("\r\x1b[2K| waiting for LB120 (2s left)"),
            "{text:?}"
        );
        assert!(text.contains("\r\x1b[2K/ waiting"));
        assert!(text.ends_with("\r\x1b[2K"));
    }
}
