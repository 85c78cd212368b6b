//! One file per subcommand. Each gathers facts, calls the pure rules, then renders or applies.

pub mod completions;
pub mod doctor;
pub mod enable_strictarp;
pub mod explain;
pub mod install;
pub mod man;
pub mod preflight;
pub mod probe;
pub mod uninstall;
pub mod version;

use crate::cli::{Cli, Command};
use crate::{Error, ExitCode, Result};

/// The text of a `--config` file. A file that cannot be read is bad input (exit 2), like a file
/// that does not parse, for every command that takes one.
pub(crate) fn read_config(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::usage_with_hint(
            format!("cannot read --config {}: {e}", path.display()),
            "pass a YAML file with IPAddressPool documents",
        )
    })
}

/// Runs the parsed command line on `runtime` until it ends or a signal stops it
/// (`interrupt::run`). Not generic on purpose: the async state machines of every command are
/// then compiled once, here in the library, instead of again in the binary that polls them
/// (a release build without this compiled them twice: slower and a larger binary).
pub fn block_on(runtime: &tokio::runtime::Runtime, cli: Cli) -> Result<ExitCode> {
    runtime.block_on(crate::interrupt::run(run(cli)))
}

/// Runs the parsed command line and returns the exit code to use.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let global = cli.resolved_global()?;
    match cli.command {
        Command::Version(args) => version::run(&global, &args).await,
        Command::EnableStrictarp(args) => enable_strictarp::run(&global, &args).await,
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
        Command::Doctor(args) => doctor::run(&global, &args).await,
        Command::Explain(args) => explain::run(&global, &args).await,
        Command::Install(args) => install::run(&global, &args).await,
        Command::Uninstall(args) => uninstall::run(&global, &args).await,
        Command::Preflight(args) => preflight::run(&global, &args).await,
        Command::Probe(args) => probe::run(&global, &args).await,
    }
}
