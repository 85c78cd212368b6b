//! Progress lines of long-running commands: one line per finished step with its duration.
//! Human output goes to stdout; with `-o json` the lines go to stderr so stdout stays one
//! JSON document.
//!
//! `-q/--quiet` silences progress, never results or problems; [`Line`] and [`shown`] are that
//! rule, and every command asks them instead of deciding for itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use colored::Colorize;

/// What a line of output is, as far as `-q` is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// What is happening or about to happen: step lines and headlines of install, uninstall
    /// and enable-strictarp, spinners, `--wait` rounds, doctor's "bundle: wrote ..." line.
    /// Scripts and CI logs can do without them: `-q` drops them.
    Progress,
    /// What the user asked for or must act on: check reports, diffs and objects of a dry run,
    /// every error, warning, note and hint, and the one verdict line of a writing command.
    /// Always shown.
    Result,
}

/// The rule of `-q`: results always, progress only when not quiet.
pub fn shown(line: Line, quiet: bool) -> bool {
    line == Line::Result || !quiet
}

static QUIET: AtomicBool = AtomicBool::new(false);

/// `-q` from the command line (`main` sets it once, before any command runs).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// True when `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether a line of this kind is printed in this run.
pub fn show(line: Line) -> bool {
    shown(line, quiet())
}

pub struct Progress {
    to_stderr: bool,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        Progress { to_stderr: json }
    }

    fn emit(&self, kind: Line, line: &str) {
        use std::io::Write;
        if !show(kind) {
            return;
        }
        // A closed pipe (`| head`) must not turn into a panic; the work goes on regardless.
        let _ = if self.to_stderr {
            writeln!(std::io::stderr(), "{line}")
        } else {
            writeln!(std::io::stdout(), "{line}")
        };
    }

    /// A headline: what is about to happen.
    pub fn say(&self, line: &str) {
        self.emit(Line::Progress, line);
    }

    /// What the command did (or, for a dry run, would do): kept under `-q`.
    pub fn verdict(&self, line: &str) {
        self.emit(Line::Result, line);
    }

    /// A finished step: `  ✓ label  detail  (1.2s)`.
    pub fn step(&self, label: &str, detail: &str, took: Duration) {
        self.emit(Line::Progress, &step_line(label, detail, took));
    }

    /// A step a dry run would take: what the user asked to see, so kept under `-q`.
    pub fn would(&self, label: &str, detail: &str) {
        self.emit(Line::Result, &step_line(label, detail, Duration::ZERO));
    }

    /// A wait that is starting, so a slow step never looks like a hang.
    pub fn waiting(&self, label: &str, what: &str) {
        self.emit(
            Line::Progress,
            &format!("  {} {label:<24} waiting: {what}", "…".cyan()),
        );
    }

    /// A detail line under the previous step.
    pub fn detail(&self, line: &str) {
        self.emit(Line::Progress, &format!("      {line}"));
    }

    /// A detail that is a result, kept under `-q`: a warning or hint, what a dry run would
    /// change, an object lbctl added on its own.
    pub fn finding(&self, line: &str) {
        self.emit(Line::Result, &format!("      {line}"));
    }
}

fn step_line(label: &str, detail: &str, took: Duration) -> String {
    let took = format!("({:.1}s)", took.as_secs_f64());
    format!("  {} {label:<24} {detail} {}", "✓".green(), took.dimmed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_drops_progress_and_keeps_results() {
        assert!(shown(Line::Progress, false));
        assert!(shown(Line::Result, false));
        assert!(!shown(Line::Progress, true));
        assert!(shown(Line::Result, true));
    }
}
