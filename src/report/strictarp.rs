//! The result of `lbctl enable-strictarp`: the `-o json` document and the human steps.

use colored::Colorize;
use serde::Serialize;

use crate::diff;
use crate::kube::rollout::{self, RolloutStatus};
use crate::kubeproxy::config::{ProxyMode, ProxySettings};
use crate::kubeproxy::edit::Change;
use crate::kubeproxy::locate::{ConfigMapKey, DAEMONSET, FlagsOnly, Location, NAMESPACE};
use crate::kubeproxy::revert::PREVIOUS_CONFIG;
use crate::kubeproxy::update::Retry;
use crate::progress::{self, Line};

/// What the run did or would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StrictArpResult {
    /// Already configured and kube-proxy runs the current configuration: nothing was done.
    AlreadyConfigured,
    /// The configuration was changed (and kube-proxy restarted unless `--no-restart`).
    Changed,
    /// `--dry-run` or `--check` found a change to make; nothing was written.
    WouldChange,
    /// The configuration was right but kube-proxy ran an older one: restarted.
    Restarted,
    /// `--dry-run`/`--check`: the configuration is right but kube-proxy needs a restart.
    WouldRestart,
    /// `--revert` restored the previous text.
    Reverted,
    /// `--revert` with `--dry-run`/`--check`: the previous text would be restored.
    WouldRevert,
    /// `--revert` found nothing lbctl had replaced.
    NothingToRevert,
    /// kube-proxy is configured by flags; lbctl printed the steps instead.
    FlagsOnly,
    /// No kube-proxy: strict ARP is not needed.
    NotNeeded,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorDoc {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The `-o json` document (stable schema: fields are only ever added).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub outcome: StrictArpResult,
    pub server_version: Option<String>,
    pub location: Option<Location>,
    pub before: Option<ProxySettings>,
    pub changes: Vec<Change>,
    /// Unified diff of the configuration text (empty when nothing changes).
    pub diff: String,
    pub written: bool,
    pub restarted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Steps for the user (flags-only kube-proxy).
    pub instructions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
}

impl Default for Report {
    fn default() -> Report {
        Report {
            api_version: "lbctl.io/v1alpha1",
            kind: "EnableStrictARPResult",
            outcome: StrictArpResult::AlreadyConfigured,
            server_version: None,
            location: None,
            before: None,
            changes: Vec::new(),
            diff: String::new(),
            written: false,
            restarted: false,
            restart_reason: None,
            rollout: None,
            warnings: Vec::new(),
            notes: Vec::new(),
            instructions: Vec::new(),
            error: None,
        }
    }
}

/// Human output, step by step like kubeadm; silent in JSON mode (the report says it all).
/// Which lines `-q` keeps follows [`crate::progress::Line`].
pub struct Ui {
    pub json: bool,
    /// `--dry-run` or `--check`: the plan and its diff are what the user asked for.
    pub read_only: bool,
}

impl Ui {
    fn shows(&self, line: Line) -> bool {
        !self.json && progress::show(line)
    }

    /// The plan's lines are the result of a read-only run, progress of one that applies it.
    fn plan_line(&self) -> Line {
        if self.read_only {
            Line::Result
        } else {
            Line::Progress
        }
    }

    fn print_step(&self, line: Line, tag: &str, message: &str) {
        if self.shows(line) {
            println!("{} {message}", format!("[{tag}]").cyan());
        }
    }

    /// A step under way: progress.
    pub fn step(&self, tag: &str, message: impl AsRef<str>) {
        self.print_step(Line::Progress, tag, message.as_ref());
    }

    /// A line of the plan (`[plan]`).
    pub fn plan(&self, message: impl AsRef<str>) {
        self.print_step(self.plan_line(), "plan", message.as_ref());
    }

    /// The one line that says what the run did (or would do): kept under `-q`.
    pub fn verdict(&self, tag: &str, message: impl AsRef<str>) {
        self.print_step(Line::Result, tag, message.as_ref());
    }

    pub fn warn(&self, message: &str) {
        if self.shows(Line::Result) {
            eprintln!("{} {message}", "warning:".yellow().bold());
        }
    }

    pub fn note(&self, message: &str) {
        if self.shows(Line::Result) {
            println!("{} {message}", "note:".dimmed());
        }
    }

    pub fn diff(&self, text: &str) {
        if self.shows(self.plan_line()) && !text.is_empty() {
            print!("{}", diff::colorize(text));
        }
    }
}

impl Ui {
    /// Lines for the user to follow, indented under the step that introduced them.
    pub fn instructions(&self, lines: &[String]) {
        if self.shows(Line::Result) {
            lines
                .iter()
                .flat_map(|line| line.lines())
                .for_each(|l| println!("    {l}"));
        }
    }

    pub fn error(&self, message: &str) {
        if self.shows(Line::Result) {
            eprintln!("{} {message}", "error:".red().bold());
        }
    }
}

/// The unified diff of one key's text.
pub fn config_diff(key: &ConfigMapKey, before: &str, after: &str, label: &str) -> String {
    let name = format!("{}/{} {}", key.namespace, key.name, key.key);
    diff::unified(
        before,
        after,
        &format!("{name} (current)"),
        &format!("{name} ({label})"),
    )
}

/// `field: from -> to; ...`
pub fn describe_changes(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, c.from, c.to))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What kube-proxy runs after the change: strictARP is only what matters in IPVS mode.
pub fn runs_line(mode: &ProxyMode) -> String {
    match mode {
        ProxyMode::Ipvs => "runs IPVS with strictARP".to_string(),
        other => format!(
            "runs {other} mode, with ipvs.strictARP: true set for a later move to IPVS ({other} mode puts no LoadBalancer address on a node interface, so it needs no strictARP)"
        ),
    }
}

/// Reverting leaves what kube-proxy already did to the nodes.
pub const SYSCTLS_STAY: &str = "the ARP sysctls kube-proxy already set on the nodes (net.ipv4.conf.all.arp_ignore=1, arp_announce=2) stay until the nodes reboot or they are reset by hand";

/// The steps' own lines, kept here so the command reads as the order of the steps.
impl Ui {
    pub fn located(&self, key: &ConfigMapKey) {
        self.step(
            "locate",
            format!(
                "kube-proxy reads --config={}: ConfigMap {}/{}, key {}",
                key.config_path, key.namespace, key.name, key.key
            ),
        );
    }

    pub fn flags_only(&self, flags: &FlagsOnly) {
        let seen = match &flags.source {
            Some(source) => format!(
                "flags read from {source}: --proxy-mode={} --ipvs-strict-arp={}",
                flags.proxy_mode.as_deref().unwrap_or("(not set: iptables)"),
                flags
                    .strict_arp
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "(not set: false)".into())
            ),
            None => "its flags are not visible through the API".into(),
        };
        self.step(
            "locate",
            format!(
                "kube-proxy on {} is configured by command-line flags, not a ConfigMap ({seen})",
                flags.distribution.name()
            ),
        );
    }

    /// `last`: nothing follows the write (`--no-restart`), so this line is the verdict.
    pub fn written(&self, key: &ConfigMapKey, resource_version: Option<&str>, last: bool) {
        let resource_version = resource_version.unwrap_or_default();
        let line = if last { Line::Result } else { Line::Progress };
        self.print_step(line, "apply", &format!(
            "updated ConfigMap {}/{} (resourceVersion {resource_version}); the replaced text is kept in annotation {PREVIOUS_CONFIG} (undo: {})",
            key.namespace, key.name, crate::invocation::command_line("enable-strictarp --revert")
        ));
    }

    pub fn retrying(&self, key: &ConfigMapKey, retry: Retry) {
        let (ns, name) = (&key.namespace, &key.name);
        self.step("apply", match retry {
            Retry::Conflict { attempt } => format!("ConfigMap {ns}/{name} changed since it was read (409 Conflict); re-reading and re-planning (attempt {attempt}/5)"),
            Retry::ServerError { code, attempt } => format!("the API server failed the update of ConfigMap {ns}/{name} (HTTP {code}); re-reading and trying again (attempt {attempt})"),
        });
    }

    pub fn restart_retrying(&self, code: u16, attempt: usize) {
        self.step("restart", format!("the API server failed the restart patch of DaemonSet {NAMESPACE}/{DAEMONSET} (HTTP {code}); trying again (attempt {attempt})"));
    }

    pub fn restarted(&self, timeout: std::time::Duration) {
        self.step(
            "restart",
            format!(
                "restarted DaemonSet {NAMESPACE}/{DAEMONSET} (pod template annotation {})",
                rollout::RESTARTED_AT
            ),
        );
        self.step(
            "wait",
            format!(
                "waiting up to {} for the rollout",
                crate::error::shown(timeout)
            ),
        );
    }

    pub fn nothing_to_revert(&self, key: &ConfigMapKey) {
        self.verdict("revert", format!(
            "nothing to revert: ConfigMap {}/{} has no {PREVIOUS_CONFIG} annotation (lbctl did not change it, or it was reverted already)",
            key.namespace, key.name
        ));
    }

    pub fn restored(&self, key: &ConfigMapKey) {
        self.step(
            "apply",
            format!(
                "restored the previous text of ConfigMap {}/{} key {}",
                key.namespace, key.name, key.key
            ),
        );
    }
}
