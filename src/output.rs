//! Output settings shared by every command: format and colour, read early enough to shape even
//! clap's own errors, and the `-o json` document of a run that failed.

use std::ffi::OsString;
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
    // Serialising plain data structures cannot fail; a failure would be a bug worth seeing.
    let text = serde_json::to_string_pretty(value).expect("report types serialise to JSON");
    println!("{text}");
    DOCUMENT_PRINTED.store(true, Ordering::Relaxed);
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

/// Output flags read from the raw command line before clap parses it: clap's own errors and
/// help must already follow `--color` and `-o json`, and they come before any parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyFlags {
    pub output: OutputFormat,
    pub color: ColorChoice,
    /// The subcommand the line names, if any.
    pub command: Option<String>,
}

impl EarlyFlags {
    /// Reads `-o/--output` and `--color` (`--output json`, `--output=json`, `-o json`, `-ojson`,
    /// `-o=json`, `-vo json`), skipping the values of other flags so that a value is never
    /// taken for the subcommand. `cmd` is lbctl's clap definition; flags after `--` are not
    /// flags. A value clap will refuse leaves the default (clap then reports it).
    pub fn scan(args: &[OsString], cmd: &clap::Command) -> EarlyFlags {
        let mut early = EarlyFlags {
            output: OutputFormat::Human,
            color: ColorChoice::Auto,
            command: None,
        };
        let mut sub: Option<&clap::Command> = None;
        // How a flag takes its value: None = no value; Some(true) = possibly the next word.
        let value_of = |sub: Option<&clap::Command>, found: &dyn Fn(&clap::Arg) -> bool| {
            let arg = sub
                .into_iter()
                .flat_map(|s| s.get_arguments())
                .chain(cmd.get_arguments())
                .find(|a| found(a))?;
            arg.get_action()
                .takes_values()
                .then_some(!arg.is_require_equals_set())
        };
        let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let (name, inline, long) = if let Some(long) = word.strip_prefix("--") {
                match long.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string()), true),
                    None => (long.to_string(), None, true),
                }
            } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
                // A cluster of short flags: the first that takes a value takes the rest.
                let mut found = None;
                for (i, c) in shorts.char_indices() {
                    let takes = value_of(sub, &|a: &clap::Arg| a.get_short() == Some(c));
                    if takes.is_some() {
                        let rest = &shorts[i + c.len_utf8()..];
                        let rest = rest.strip_prefix('=').unwrap_or(rest);
                        found = Some((c.to_string(), (!rest.is_empty()).then(|| rest.to_string())));
                        break;
                    }
                }
                match found {
                    Some((c, inline)) => (c, inline, false),
                    None => continue,
                }
            } else {
                if early.command.is_none()
                    && let Some(s) = cmd.find_subcommand(word.as_ref())
                {
                    early.command = Some(s.get_name().to_string());
                    sub = Some(s);
                }
                continue;
            };
            let takes = if long {
                value_of(sub, &|a: &clap::Arg| a.get_long() == Some(name.as_str()))
            } else {
                let c = name.chars().next();
                value_of(sub, &|a: &clap::Arg| a.get_short() == c)
            };
            let value = match (inline, takes) {
                (Some(v), _) => Some(v),
                (None, Some(true)) => words.next().map(|w| w.into_owned()),
                (None, _) => None,
            };
            let is = |long_name: &str, short: Option<&str>| {
                (long && name == long_name) || (!long && Some(name.as_str()) == short)
            };
            if let Some(value) = value {
                if is("output", Some("o")) {
                    early.output = match value.as_str() {
                        "json" => OutputFormat::Json,
                        _ => OutputFormat::Human,
                    };
                } else if is("color", None) {
                    early.color = match value.as_str() {
                        "always" => ColorChoice::Always,
                        "never" => ColorChoice::Never,
                        _ => ColorChoice::Auto,
                    };
                }
            }
        }
        early
    }
}

/// The colour setting for clap's errors and help: `--color` decides; under `auto` clap's own
/// detection already honours `NO_COLOR` and the terminal.
pub fn clap_color(choice: ColorChoice) -> clap::ColorChoice {
    match choice {
        ColorChoice::Auto => clap::ColorChoice::Auto,
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
    }
}

/// Message and hint of a clap usage error, from its plain rendering: the `error:` paragraph is
/// the message; its tips, the usage line and the pointer to `--help` are the hint.
pub fn clap_error_message(err: &clap::Error) -> ErrorMessage {
    let text = err.render().to_string();
    let mut message = Vec::new();
    let mut hint = Vec::new();
    for (i, paragraph) in text.trim().split("\n\n").enumerate() {
        let lines = paragraph.lines().map(str::trim).filter(|l| !l.is_empty());
        if i == 0 {
            message.extend(lines.map(|l| l.strip_prefix("error: ").unwrap_or(l).to_string()));
        } else {
            hint.extend(lines.map(str::to_string));
        }
    }
    ErrorMessage {
        message: message.join(" "),
        hint: (!hint.is_empty()).then(|| hint.join("; ")),
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

    fn scan(line: &str) -> EarlyFlags {
        use clap::CommandFactory;
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        EarlyFlags::scan(&args, &crate::cli::Cli::command())
    }

    #[test]
    fn early_flags_are_read_in_every_spelling_clap_accepts() {
        for line in [
            "lbctl -o json doctor",
            "lbctl doctor --output json",
            "lbctl doctor --output=json",
            "lbctl doctor -ojson",
            "lbctl doctor -o=json",
            "lbctl doctor -vo json",
            "lbctl doctor -vvojson",
        ] {
            let early = scan(line);
            assert_eq!(early.output, OutputFormat::Json, "{line}");
            assert_eq!(early.command.as_deref(), Some("doctor"), "{line}");
        }
        assert_eq!(scan("lbctl doctor").output, OutputFormat::Human);
        assert_eq!(scan("lbctl -o yaml doctor").output, OutputFormat::Human);
        assert_eq!(scan("lbctl --color never x").color, ColorChoice::Never);
        assert_eq!(
            scan("lbctl probe --color=always").color,
            ColorChoice::Always
        );
        assert_eq!(scan("lbctl --color").color, ColorChoice::Auto);
    }

    #[test]
    fn values_of_other_flags_are_not_taken_for_the_subcommand_or_the_format() {
        // `doctor` here is a context name, `json` a pool, `-o` after `--` no flag.
        let early = scan("lbctl --context doctor install --pool json");
        assert_eq!(early.command.as_deref(), Some("install"));
        assert_eq!(early.output, OutputFormat::Human);
        let early = scan("lbctl probe -i eth0 10.0.0.1 -- -o json");
        assert_eq!(early.command.as_deref(), Some("probe"));
        assert_eq!(early.output, OutputFormat::Human);
        // `--dry-run` takes its value only after `=`: the next word is the subcommand's.
        let early = scan("lbctl install --dry-run -o json");
        assert_eq!(early.output, OutputFormat::Json);
        assert_eq!(scan("lbctl --kubeconfig f").command, None);
    }

    #[test]
    fn clap_errors_become_a_message_and_a_hint() {
        use clap::Parser;
        let err = crate::cli::Cli::try_parse_from(["lbctl", "doctor", "--bogus"]).unwrap_err();
        let msg = clap_error_message(&err);
        assert_eq!(msg.message, "unexpected argument '--bogus' found");
        let hint = msg.hint.unwrap();
        assert!(hint.contains("Usage: lbctl doctor [OPTIONS]"), "{hint}");
        assert!(hint.contains("--help"), "{hint}");

        let err = crate::cli::Cli::try_parse_from(["lbctl", "-o", "yaml", "version"]).unwrap_err();
        let msg = clap_error_message(&err);
        assert!(
            msg.message.starts_with("invalid value 'yaml' for"),
            "{msg:?}"
        );
        assert!(
            msg.message.contains("[possible values: human, json]"),
            "{msg:?}"
        );
        assert!(!msg.message.contains('\n'), "{msg:?}");
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
