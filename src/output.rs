//! Output settings shared by every command: format and colour (`main` reads them early enough
//! to shape even the parser's own errors), and the `-o json` document of a run that failed.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::cli::{ColorChoice, OutputFormat};
use crate::{Error, ExitCode};

/// Decides whether human output is coloured: `always`/`never` win; `auto` colours only when
/// stdout is a terminal and `NO_COLOR` is unset or empty (https://no-color.org).
pub fn use_color(choice: ColorChoice, stdout_is_tty: bool, no_color: Option<&str>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_tty && no_color.is_none_or(str::is_empty),
    }
}

/// `n` and the noun that fits it: "1 address", "2 addresses".
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Applies the colour decision process-wide (the `colored` crate reads it).
pub fn init_color(choice: ColorChoice) {
    let no_color = std::env::var("NO_COLOR").ok();
    let on = use_color(choice, std::io::stdout().is_terminal(), no_color.as_deref());
    colored::control::set_override(on);
}

/// Set once a JSON document went to stdout, so that a failure after it adds no second one.
static DOCUMENT_PRINTED: AtomicBool = AtomicBool::new(false);

/// Prints a value as pretty JSON followed by a newline: the only thing on stdout in `-o json`.
/// A command that returns an error after printing its own document (enable-strictarp does)
/// must print it through here, so that `main` does not print an [`ErrorReport`] as well.
pub fn print_json<T: serde::Serialize>(value: &T) {
    println!("{}", to_json(value));
    DOCUMENT_PRINTED.store(true, Ordering::Relaxed);
}

/// A document as `-o json` prints it (pretty, no trailing newline), also for files that hold
/// one (doctor's bundle).
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain data structures cannot fail; a failure would be a bug worth seeing.
    serde_json::to_string_pretty(value).expect("report types serialise to JSON")
}

/// Whether [`print_json`] printed a document in this process.
pub fn document_printed() -> bool {
    DOCUMENT_PRINTED.load(Ordering::Relaxed)
}

/// Objects as one Kubernetes `List`, the document `kubectl get -o json` prints for several.
pub fn kube_list(items: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": { "resourceVersion": "" },
        "items": items,
    })
}

/// The `-o json` document of a run that stopped with an error (bad usage, kubeconfig,
/// unreachable cluster, a signal): the envelope of the check report (`schemaVersion`,
/// `command`, `tool`, `result`, `exitCode`) with an `error` instead of checks, the same
/// `{message, hint}` enable-strictarp's result carries. Documented in docs/checks.md.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    pub schema_version: u32,
    /// The subcommand, when the command line named one.
    pub command: Option<String>,
    pub tool: crate::report::Tool,
    /// Always `error`: a run that stopped before its result.
    pub result: &'static str,
    pub exit_code: i32,
    pub error: ErrorMessage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorMessage {
    /// What went wrong: the line stderr shows after `error:`.
    pub message: String,
    /// The next step, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ErrorReport {
    pub fn new(command: Option<&str>, exit_code: ExitCode, error: ErrorMessage) -> Self {
        ErrorReport {
            schema_version: crate::report::SCHEMA_VERSION,
            command: command.map(str::to_string),
            tool: crate::report::Tool::lbctl(),
            result: "error",
            exit_code: exit_code.code(),
            error,
        }
    }

    /// The document for an error a command returned.
    pub fn of(command: Option<&str>, err: &Error) -> Self {
        let message = ErrorMessage {
            message: err.to_string(),
            hint: err.hint(),
        };
        ErrorReport::new(command, err.exit_code(), message)
    }
}

/// True when the user asked for JSON.
pub fn is_json(format: OutputFormat) -> bool {
    format == OutputFormat::Json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_noun_that_fits() {
        assert_eq!(count(1u32, "address", "addresses"), "1 address");
        assert_eq!(count(0u32, "address", "addresses"), "0 addresses");
        assert_eq!(count(3u64, "probe", "probes"), "3 probes");
    }

    #[test]
    fn an_error_document_has_the_report_envelope() {
        let err = Error::usage_with_hint("bad pool", "use a-b");
        let doc = serde_json::to_value(ErrorReport::of(Some("install"), &err)).unwrap();
        assert_eq!(doc["schemaVersion"], crate::report::SCHEMA_VERSION);
        assert_eq!(doc["command"], "install");
        assert_eq!(doc["tool"]["name"], "lbctl");
        assert_eq!(doc["result"], "error");
        assert_eq!(doc["exitCode"], 2);
        assert_eq!(
            doc["error"],
            serde_json::json!({"message": "bad pool", "hint": "use a-b"})
        );
        let interrupted = Error::Interrupted {
            signal: crate::interrupt::Signal::Terminate,
            cleanup: None,
            progress: None,
        };
        let doc = serde_json::to_value(ErrorReport::of(None, &interrupted)).unwrap();
        assert_eq!(doc["exitCode"], 143);
        assert_eq!(doc["command"], serde_json::Value::Null);
        assert_eq!(
            doc["error"],
            serde_json::json!({"message": "interrupted by SIGTERM"})
        );
    }

    #[test]
    fn auto_colour_follows_tty_and_no_color() {
        assert!(use_color(ColorChoice::Auto, true, None));
        assert!(!use_color(ColorChoice::Auto, false, None));
        assert!(!use_color(ColorChoice::Auto, true, Some("1")));
        assert!(use_color(ColorChoice::Auto, true, Some("")));
        assert!(use_color(ColorChoice::Always, false, Some("1")));
        assert!(!use_color(ColorChoice::Never, true, None));
    }
}
