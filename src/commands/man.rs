//! `lbctl man [SUBCOMMAND]` (hidden): print a roff man page generated from the CLI definition.

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::{Error, ExitCode, Result};

pub fn run(args: &ManArgs) -> Result<ExitCode> {
    let page = match &args.subcommand {
        None => page(&Cli::command()),
        Some(name) => {
            let root = Cli::command();
            let sub = root.find_subcommand(name).ok_or_else(|| {
                Error::usage_with_hint(
                    format!("unknown subcommand {name:?}"),
                    format!(
                        "run `{}` to list the subcommands",
                        crate::invocation::command_line("--help")
                    ),
                )
            })?;
            page(&sub.clone().name(format!("lbctl-{name}")))
        }
    };
    print!("{page}");
    Ok(ExitCode::Ok)
}

/// Renders one command's man page.
pub fn page(cmd: &clap::Command) -> String {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .expect("rendering to memory cannot fail");
    String::from_utf8(buf).expect("clap_mangen writes UTF-8")
}

/// Every page lbctl ships: the top-level one and one per visible subcommand, with file names.
pub fn all_pages() -> Vec<(String, String)> {
    let root = Cli::command();
    let mut pages = vec![("lbctl.1".to_string(), page(&root))];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("lbctl-{}", sub.get_name());
        pages.push((format!("{name}.1"), page(&sub.clone().name(name.clone()))));
    }
    pages
}
