//! `lbctl completions <shell>`: print a completion script generated from the CLI definition.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs};
use crate::{ExitCode, Result};

pub fn run(args: &CompletionsArgs) -> Result<ExitCode> {
    print!("{}", script(args.shell));
    Ok(ExitCode::Ok)
}

/// The completion script for one shell, exactly as committed under `completions/`.
pub fn script(shell: Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "lbctl", &mut buf);
    String::from_utf8(buf).expect("clap_complete writes UTF-8")
}

/// The file name under `completions/` for each shell, following each shell's convention.
pub fn file_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "lbctl.bash",
        Shell::Zsh => "_lbctl",
        Shell::Fish => "lbctl.fish",
        Shell::PowerShell => "_lbctl.ps1",
        Shell::Elvish => "lbctl.elv",
        _ => "lbctl.unknown",
    }
}

/// Every shell lbctl ships completions for.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::PowerShell,
    Shell::Elvish,
];
