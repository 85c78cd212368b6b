use std::io::IsTerminal;

use clap::{CommandFactory, FromArgMatches};
use colored::Colorize;

use lbctl::cli::Cli;
use lbctl::output::{self, EarlyFlags, ErrorReport};
use lbctl::{ExitCode, commands};

fn main() {
    restore_sigpipe();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Read before clap parses, so that its errors and help follow `--color` and `-o json` too.
    let early = EarlyFlags::scan(&args, &Cli::command());
    let mut command = Cli::command().color(output::clap_color(early.color));
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
        Err(err) => std::process::exit(clap_exit(&err, &early)),
    };
    output::init_color(cli.global.color);
    lbctl::verbose::set_level(cli.global.verbose);
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
    let code = match runtime.block_on(lbctl::interrupt::run(commands::run(cli))) {
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
        let message = output::clap_error_message(err);
        output::print_json(&ErrorReport::new(early.command.as_deref(), code, message));
    }
    code.code()
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
