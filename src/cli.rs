//! Command-line definitions only: no behaviour lives here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Get MetalLB working in L2 mode on bare-metal Kubernetes, and prove that it works.
#[derive(Debug, Parser)]
#[command(
    name = "lbctl",
    version,
    propagate_version = true,
    about,
    long_about = "lbctl prepares a Kubernetes cluster for MetalLB in L2 mode (kube-proxy IPVS + strictARP), \
installs MetalLB from manifests built into the binary, and checks that every address is really announced.\n\n\
Exit codes: 0 success, 1 a check failed or --check found changes, 2 bad usage or input, \
3 could not run (cluster unreachable, credentials, permission, timeout).",
    after_help = "Examples:\n  lbctl preflight --pool 192.168.10.240-192.168.10.250\n  lbctl enable-strictarp --dry-run\n  lbctl version -o json"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by every subcommand; they behave like kubectl's.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, a colon-separated list, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// How long to wait for a single API request before giving up, e.g. 30s or 1m (0 = no limit).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_request_timeout)]
    pub request_timeout: Option<Duration>,

    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,

    /// When to colour human output (auto: only on a terminal and when NO_COLOR is unset).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// More detail on stderr; repeat for more (-vv shows every API request).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Namespace MetalLB lives in.
    #[arg(
        long,
        global = true,
        value_name = "NAMESPACE",
        default_value = "metallb-system"
    )]
    pub metallb_namespace: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text (default).
    Human,
    /// One JSON document on stdout with a stable schema.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the lbctl version, the embedded MetalLB version and the server version.
    Version(VersionArgs),

    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  lbctl completions bash > /etc/bash_completion.d/lbctl\n  lbctl completions zsh > \"${fpath[1]}/_lbctl\"\n  lbctl completions fish > ~/.config/fish/completions/lbctl.fish"
    )]
    Completions(CompletionsArgs),

    /// Print the man page (roff) for lbctl or one of its subcommands.
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print only the client version; do not contact the cluster.
    #[arg(long)]
    pub client: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Subcommand whose page to print (default: the top-level page).
    pub subcommand: Option<String>,
}

/// Parses a kubectl-style request timeout: a bare number is seconds, otherwise a duration
/// such as `30s`, `1m30s` or `500ms`; `0` means no limit.
pub fn parse_request_timeout(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

/// Parses a duration such as `90s`, `5m`, `1h30m` or `500ms`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; use a value such as 30s, 5m or 1h".into());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("invalid duration {text:?} ({e}); use a value such as 30s, 5m or 1h"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_accept_kubectl_forms() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").unwrap_err().contains("30s"));
        assert!(parse_duration("").is_err());
    }
}
