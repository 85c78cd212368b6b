use std::io::IsTerminal;

use clap::Parser;
use colored::Colorize;

use lbctl::cli::Cli;
use lbctl::{ExitCode, commands};

fn main() {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version on stdout with success, usage errors on stderr.
            let code = if err.use_stderr() {
                ExitCode::Usage.code()
            } else {
                ExitCode::Ok.code()
            };
            let _ = err.print();
            std::process::exit(code);
        }
    };
    lbctl::output::init_color(cli.global.color);
    lbctl::verbose::set_level(cli.global.verbose);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!(
                "{} cannot start the async runtime: {err}",
                "error:".red().bold()
            );
            std::process::exit(ExitCode::CannotRun.code());
        }
    };
    let code = match runtime.block_on(lbctl::interrupt::run(commands::run(cli))) {
        Ok(code) => code,
        Err(err @ lbctl::Error::Interrupted { .. }) => {
            // The user stopped it: no "error:" label. On a terminal the line may hold a
            // spinner, which goes first.
            if std::io::stderr().is_terminal() {
                eprint!("\r\x1b[2K");
            }
            eprintln!("{err}");
            err.exit_code()
        }
        Err(err) => {
            eprintln!("{} {err}", "error:".red().bold());
            if let Some(hint) = err.hint() {
                eprintln!("{} {hint}", "hint:".cyan().bold());
            }
            err.exit_code()
        }
    };
    std::process::exit(code.code());
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
