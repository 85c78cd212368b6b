use std::ffi::OsString;
use std::io::IsTerminal;

use clap::{CommandFactory, FromArgMatches};
use colored::Colorize;

use lbctl::cli::{Cli, ColorChoice, OutputFormat};
use lbctl::output::{self, ErrorMessage, ErrorReport};
use lbctl::{ExitCode, commands};

fn main() {
    restore_sigpipe();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // First: help, errors and hints all name the program as the user ran it.
    lbctl::invocation::init(args.first().map(|a| a.as_os_str()));
    lbctl::panic_exit::install();
    // Read before clap parses, so that its errors and help follow `--color` and `-o json` too.
    let early = EarlyFlags::scan(&args, &Cli::command());
    let mut command = lbctl::cli::command().color(clap_color(early.color));
    let parsed = command
        .try_get_matches_from_mut(&args)
        .and_then(|mut matches| {
            // Taken first: building the Cli takes the subcommand out of the matches.
            let name = matches.subcommand_name().map(str::to_string);
            let cli =
                Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command))?;
            Ok((cli, name))
        });
    let (cli, name) = match parsed {
        Ok(parsed) => parsed,
        Err(mut err) => {
            if let Some(tip) = misplaced_option_tip(&err, &early, &command) {
                use clap::error::{ContextKind, ContextValue};
                err.insert(
                    ContextKind::Suggested,
                    ContextValue::StyledStrs(vec![tip.into()]),
                );
            }
            std::process::exit(clap_exit(&err, &early))
        }
    };
    output::init_color(cli.global.color);
    lbctl::verbose::set_level(cli.global.verbose);
    lbctl::progress::set_quiet(cli.global.quiet);
    let json = output::is_json(cli.global.output);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            let err = lbctl::Error::io("cannot start the async runtime", err);
            report_error(&err, json, name.as_deref());
            std::process::exit(err.exit_code().code());
        }
    };
    let code = match commands::block_on(&runtime, cli) {
        Ok(code) => code,
        Err(err) => {
            report_error(&err, json, name.as_deref());
            err.exit_code()
        }
    };
    std::process::exit(code.code());
}

/// Prints clap's help, version or usage error; a usage error under `-o json` is also one error
/// document on stdout. Returns the exit code.
fn clap_exit(err: &clap::Error, early: &EarlyFlags) -> i32 {
    // clap prints help/version on stdout with success, usage errors on stderr.
    let code = if err.use_stderr() {
        ExitCode::Usage
    } else {
        ExitCode::Ok
    };
    let _ = err.print();
    if code != ExitCode::Ok && output::is_json(early.output) {
        let message = clap_error_message(err);
        output::print_json(&ErrorReport::new(early.command.as_deref(), code, message));
    }
    code.code()
}

/// kubectl takes `-n` anywhere on the line; lbctl's options of one command come after that
/// command. For an option refused before the command although the command has it
/// (`lbctl -n ns doctor`), the tip to move it.
fn misplaced_option_tip(
    err: &clap::Error,
    early: &EarlyFlags,
    cmd: &clap::Command,
) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    if err.kind() != clap::error::ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(given)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let command = early.command.as_deref()?;
    let sub = cmd.find_subcommand(command)?;
    let flag = given.split('=').next().unwrap_or(given);
    let known =
        sub.get_arguments().any(
            |a| match (flag.strip_prefix("--"), flag.strip_prefix('-')) {
                (Some(long), _) => a.get_long() == Some(long),
                (None, Some(short)) => short
                    .chars()
                    .next()
                    .is_some_and(|c| a.get_short() == Some(c)),
                _ => false,
            },
        );
    known.then(|| {
        format!(
            "'{flag}' is an option of '{command}': put it after the command, e.g. '{}'",
            lbctl::invocation::command_line(&format!("{command} {flag} ..."))
        )
    })
}

/// The human lines on stderr and, under `-o json` when the command printed no document of its
/// own, the error document on stdout.
fn report_error(err: &lbctl::Error, json: bool, command: Option<&str>) {
    if let lbctl::Error::Interrupted { .. } = err {
        // The user stopped it: no "error:" label. On a terminal the line may hold a spinner,
        // which goes first.
        if std::io::stderr().is_terminal() {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{err}");
        // How far a writing command got, and that running it again continues.
        if let Some(hint) = err.hint() {
            eprintln!("{} {hint}", "hint:".cyan().bold());
        }
    } else {
        eprintln!("{} {err}", "error:".red().bold());
        if let Some(hint) = err.hint() {
            eprintln!("{} {hint}", "hint:".cyan().bold());
        }
    }
    if json && !output::document_printed() {
        output::print_json(&ErrorReport::of(command, err));
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`lbctl ... | head`) would panic.
/// A command-line tool should end quietly instead, as cat and kubectl do.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(line: &str) -> EarlyFlags {
        use clap::CommandFactory;
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        EarlyFlags::scan(&args, &Cli::command())
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
        let err = Cli::try_parse_from(["lbctl", "doctor", "--bogus"]).unwrap_err();
        let msg = clap_error_message(&err);
        assert_eq!(msg.message, "unexpected argument '--bogus' found");
        let hint = msg.hint.unwrap();
        assert!(hint.contains("Usage: lbctl doctor [OPTIONS]"), "{hint}");
        assert!(hint.contains("--help"), "{hint}");

        let err = Cli::try_parse_from(["lbctl", "-o", "yaml", "version"]).unwrap_err();
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
}
