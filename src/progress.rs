//! Progress lines of long-running commands: one line per finished step with its duration.
//! Human output goes to stdout; with `-o json` the lines go to stderr so stdout stays one
//! JSON document.

use std::time::Duration;

use colored::Colorize;

pub struct Progress {
    to_stderr: bool,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        Progress { to_stderr: json }
    }

    fn emit(&self, line: &str) {
        use std::io::Write;
        // A closed pipe (`| head`) must not turn into a panic; the work goes on regardless.
        let _ = if self.to_stderr {
            writeln!(std::io::stderr(), "{line}")
        } else {
            writeln!(std::io::stdout(), "{line}")
        };
    }

    /// A plain sentence (headline, verdict).
    pub fn say(&self, line: &str) {
        self.emit(line);
    }

    /// A finished step: `  ✓ label  detail  (1.2s)`.
    pub fn step(&self, label: &str, detail: &str, took: Duration) {
        let took = format!("({:.1}s)", took.as_secs_f64());
        self.emit(&format!(
            "  {} {label:<24} {detail} {}",
            "✓".green(),
            took.dimmed()
        ));
    }

    /// A wait that is starting, so a slow step never looks like a hang.
    pub fn waiting(&self, label: &str, what: &str) {
        self.emit(&format!("  {} {label:<24} waiting: {what}", "…".cyan()));
    }

    /// A detail line under the previous step.
    pub fn detail(&self, line: &str) {
        self.emit(&format!("      {line}"));
    }
}
