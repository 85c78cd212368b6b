//! One file per subcommand. Each gathers facts, calls the pure rules, then renders or applies.

pub mod completions;
pub mod doctor;
pub mod enable_strictarp;
pub mod install;
pub mod man;
pub mod preflight;
pub mod probe;
pub mod uninstall;
pub mod version;

use crate::cli::{Cli, Command};
use crate::{ExitCode, Result};

/// Runs the parsed command line and returns the exit code to use.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let global = cli.global;
    match cli.command {
        Command::Version(args) => version::run(&global, &args).await,
        Command::EnableStrictarp(args) => enable_strictarp::run(&global, &args).await,
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
        Command::Doctor(args) => doctor::run(&global, &args).await,
        Command::Install(args) => install::run(&global, &args).await,
        Command::Uninstall(args) => uninstall::run(&global, &args).await,
        Command::Preflight(args) => preflight::run(&global, &args).await,
        Command::Probe(args) => probe::run(&global, &args).await,
    }
}
