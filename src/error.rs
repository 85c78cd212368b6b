//! Typed errors, each carrying what a user needs to act, and their mapping to exit codes.

use std::path::PathBuf;
use std::time::Duration;

/// Process exit codes, the same for every command and output format (the README's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitCode {
    /// Success; checks passed.
    Ok = 0,
    /// A check failed, or `--check` found changes to make.
    Failed = 1,
    /// Bad usage or input.
    Usage = 2,
    /// Could not run: cluster unreachable, credentials, permission, timeout.
    CannotRun = 3,
    /// SIGHUP: 128 + 1, as shells report a command the signal ended.
    HungUp = 129,
    /// Ctrl-C: 128 + SIGINT.
    Interrupted = 130,
    /// SIGTERM: 128 + 15.
    Terminated = 143,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Everything that can stop a command. The message says what happened; [`Error::hint`] the next step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid flags, arguments or input files.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },

    #[error("cannot read kubeconfig {path}: {reason}")]
    KubeconfigRead { path: PathBuf, reason: String },

    /// `--kubeconfig FILE` names a file that does not exist.
    #[error("kubeconfig {} does not exist", path.display())]
    KubeconfigNotFound { path: PathBuf },

    #[error("no kubeconfig found: {reason}")]
    KubeconfigMissing { reason: String },

    #[error("invalid kubeconfig: {reason}")]
    KubeconfigInvalid { reason: String },

    #[error("cannot reach the Kubernetes API at {server}: {reason}")]
    Unreachable { server: String, reason: String },

    /// A request outlived `--request-timeout` (or the client's default read timeout).
    #[error("the Kubernetes API at {server} did not answer in time ({action})")]
    RequestTimeout { server: String, action: String },

    #[error("the API server rejected the credentials of context {context:?}: {message}")]
    Unauthorized { context: String, message: String },

    /// A permission lbctl needs is missing; the fields name it the way RBAC does.
    #[error(
        "permission denied: cannot {verb} {resource}{}",
        namespace_suffix(namespace)
    )]
    Forbidden {
        verb: String,
        resource: String,
        namespace: Option<String>,
        message: String,
    },

    /// Permissions a command checked before writing and found missing (nothing was written).
    #[error("permission denied: cannot {}", missing.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; cannot "))]
    PermissionsMissing {
        missing: Vec<crate::permissions::Permission>,
    },

    #[error("timed out after {} waiting for {what}", shown(*after))]
    Timeout {
        what: String,
        after: Duration,
        detail: Option<String>,
    },

    /// The API answered with an error status lbctl cannot recover from.
    #[error("{action}: {message}{}", http_code(*code))]
    Api {
        action: String,
        code: u16,
        message: String,
    },

    /// The server kept failing an idempotent write after its retries. `progress` says, once
    /// the command filled it in, which steps were done and which were not.
    #[error("{object}: the API server failed the write {attempts} times: {message} (HTTP {code})")]
    WriteFailed {
        object: String,
        attempts: usize,
        code: u16,
        message: String,
        progress: Option<Box<StepProgress>>,
    },

    /// The command's `--timeout` passed; `in_flight` names the requests still unanswered.
    #[error(
        "timed out after {} (--timeout) in step {step}{}",
        shown(*after),
        if in_flight.is_empty() { String::new() } else { format!(": no answer yet to {}", in_flight.join("; ")) }
    )]
    DeadlineExceeded {
        after: Duration,
        step: String,
        in_flight: Vec<String>,
    },

    /// Server-side apply found fields of `object` owned by another manager with other values.
    #[error("{object}: fields are owned by another manager: {message}")]
    Conflict { object: String, message: String },

    /// MetalLB's webhook never accepted a pool before the deadline; the diagnosis says why.
    #[error("MetalLB's webhook did not become ready within {}: {summary}", shown(*after))]
    WebhookNotReady {
        after: Duration,
        summary: String,
        hint: String,
    },

    /// MetalLB's webhook answered and rejected an object of the plan.
    #[error("MetalLB rejected {object}: {message}")]
    Rejected { object: String, message: String },

    /// Something lbctl cannot do on this cluster, explained.
    #[error("{message}")]
    Unsupported {
        message: String,
        hint: Option<String>,
    },

    /// A pool's text was rejected (exit 2).
    #[error("invalid pool: {0}")]
    Pool(#[from] crate::net::pool::PoolError),

    /// Raw sockets need CAP_NET_RAW (exit 3).
    #[error("cannot open a raw socket on interface {interface}: {reason}")]
    RawSocket { interface: String, reason: String },

    /// Ctrl-C, SIGTERM or SIGHUP; `cleanup` says what lbctl removed from the cluster first, if anything.
    #[error("{}{}", signal.describe(), cleanup.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Interrupted {
        signal: crate::interrupt::Signal,
        cleanup: Option<String>,
        /// How far a writing command got (install, uninstall), as a failed write says it.
        progress: Option<Box<StepProgress>>,
    },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// How far a command that writes step by step got, for the message of a write that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProgress {
    /// The subcommand to run again (`install`); shown as the user runs lbctl.
    pub command: &'static str,
    pub done: Vec<String>,
    /// The step the failed write belonged to (partly done).
    pub stopped_in: String,
    pub not_started: Vec<String>,
}

impl StepProgress {
    /// "Done: namespace, CRDs. Not done: RBAC and config (stopped there), pools."
    pub fn describe(&self) -> String {
        let done = if self.done.is_empty() {
            "nothing".to_string()
        } else {
            self.done.join(", ")
        };
        let mut not = vec![format!("{} (stopped there)", self.stopped_in)];
        not.extend(self.not_started.iter().cloned());
        format!("Done: {done}. Not done: {}.", not.join(", "))
    }

    /// What was done, and that running the command again continues.
    pub fn rerun(&self) -> String {
        format!(
            "{} What was done stays; run the command again (`{}`): it continues where this run stopped",
            self.describe(),
            crate::invocation::command_line(self.command)
        )
    }
}

/// A duration as messages show it: `1.1s` is `1s 100ms`, not `1s 140ms 736us 794ns` (a
/// deadline's remainder is measured to the nanosecond); from 10 s on, whole seconds.
pub fn shown(d: std::time::Duration) -> humantime::FormattedDuration {
    let ms = d.as_millis() as u64;
    let rounded = if ms >= 10_000 {
        (ms + 500) / 1000 * 1000
    } else if ms >= 1000 {
        (ms + 50) / 100 * 100
    } else {
        ms
    };
    humantime::format_duration(Duration::from_millis(rounded))
}

/// Code 0 stands for a failure without an HTTP answer, which has no code to show.
fn http_code(code: u16) -> String {
    match code {
        0 => String::new(),
        code => format!(" (HTTP {code})"),
    }
}

fn namespace_suffix(namespace: &Option<String>) -> String {
    match namespace {
        Some(ns) => format!(" in namespace {ns:?}"),
        None => " (cluster-wide)".to_string(),
    }
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Adds how far the command got to a failed write; other errors are returned as they are.
    pub fn with_progress(self, progress: Option<StepProgress>) -> Self {
        match (self, progress) {
            (
                Error::WriteFailed {
                    object,
                    attempts,
                    code,
                    message,
                    progress: None,
                },
                Some(progress),
            ) => Error::WriteFailed {
                object,
                attempts,
                code,
                message,
                progress: Some(Box::new(progress)),
            },
            (other, _) => other,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage { .. } | Error::Pool(_) | Error::Rejected { .. } => ExitCode::Usage,
            Error::Interrupted { signal, .. } => signal.exit_code(),
            // Listed one by one, so a new variant must choose its exit code.
            Error::KubeconfigRead { .. }
            | Error::KubeconfigNotFound { .. }
            | Error::KubeconfigMissing { .. }
            | Error::KubeconfigInvalid { .. }
            | Error::Unreachable { .. }
            | Error::RequestTimeout { .. }
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::PermissionsMissing { .. }
            | Error::Timeout { .. }
            | Error::Api { .. }
            | Error::WriteFailed { .. }
            | Error::DeadlineExceeded { .. }
            | Error::Conflict { .. }
            | Error::WebhookNotReady { .. }
            | Error::Unsupported { .. }
            | Error::RawSocket { .. }
            | Error::Io { .. } => ExitCode::CannotRun,
        }
    }

    /// The next step for the user, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. } | Error::Unsupported { hint, .. } => hint.clone(),
            Error::KubeconfigMissing { .. } => Some(
                "pass --kubeconfig FILE, set KUBECONFIG, or create ~/.kube/config".to_string(),
            ),
            Error::KubeconfigNotFound { .. } => Some(
                "pass the path of an existing kubeconfig with --kubeconfig FILE (or KUBECONFIG); without either, ~/.kube/config is read".into(),
            ),
            Error::KubeconfigRead { .. } | Error::KubeconfigInvalid { .. } => Some(
                "check the file with `kubectl config view`; pick a context with --context".into(),
            ),
            Error::Unreachable { .. } => Some(
                "check that the cluster is up and that `kubectl cluster-info` works with the same kubeconfig and context".into(),
            ),
            Error::RequestTimeout { .. } => Some(
                "the server is slow or the network drops packets: allow more time per request with --request-timeout (e.g. --request-timeout 2m, 0 for no limit), and check `kubectl cluster-info` with the same kubeconfig".into(),
            ),
            Error::Unauthorized { .. } => {
                Some("refresh the credentials of this context, or choose another with --context".into())
            }
            Error::Forbidden {
                verb,
                resource,
                namespace,
                ..
            } => Some(format!(
                "ask a cluster admin for this permission; check it with `{}`",
                crate::permissions::can_i(verb, resource, namespace.as_deref())
            )),
            Error::PermissionsMissing { missing } => Some(format!(
                "nothing was written. Ask a cluster admin for {}; check with: {}",
                if missing.len() == 1 { "this permission" } else { "these permissions" },
                missing.iter().map(|p| format!("`{}`", p.can_i())).collect::<Vec<_>>().join(", ")
            )),
            Error::Timeout { detail, .. } => detail.clone(),
            Error::WebhookNotReady { hint, .. } => Some(hint.clone()),
            Error::WriteFailed { progress: None, .. } => Some(
                "what was written before it stays; run the command again: every write is an idempotent apply, so it continues where this run stopped".into(),
            ),
            Error::WriteFailed { progress: Some(p), .. }
            | Error::Interrupted { progress: Some(p), .. } => Some(p.rerun()),
            Error::DeadlineExceeded { in_flight, .. } => Some(if in_flight.is_empty() {
                "give the command more time with a longer --timeout; what was done stays, and running it again continues".into()
            } else {
                "the API server did not answer in time: check it (`kubectl get --raw /readyz`) or give the command more time with a longer --timeout; what was done stays, and running it again continues".into()
            }),
            Error::Conflict { .. } => Some(
                "another tool (Helm, kubectl apply) manages this object; re-run with --force-conflicts to take the fields over, or remove the other installation first".into(),
            ),
            Error::Rejected { .. } => Some(
                "fix the pool or advertisement (see the webhook's message); `kubectl -n <namespace> get ipaddresspools` lists pools it may overlap".into(),
            ),
            Error::Pool(err) => Some(err.hint()),
            Error::RawSocket { .. } => Some(
                "ARP probing needs CAP_NET_RAW: run as root, or grant it once with `sudo setcap cap_net_raw+ep $(command -v lbctl)`".into(),
            ),
            Error::Api { .. } | Error::Io { .. } | Error::Interrupted { progress: None, .. } => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The most characters of a user's input that a message repeats.
const SHOWN: usize = 60;

/// `text` quoted for a message, cut to its start and its length when it is long: a pasted
/// 10,000-character pool must not fill the terminal.
pub fn shorten(text: &str) -> String {
    match cut(text) {
        None => format!("{text:?}"),
        Some((start, count)) => format!("{start:?}... ({count} characters)"),
    }
}

/// [`shorten`] without the quotes, for pieces of input shown inside other text.
pub fn clip(text: &str) -> String {
    match cut(text) {
        None => text.to_string(),
        Some((start, count)) => format!("{start}... ({count} characters)"),
    }
}

fn cut(text: &str) -> Option<(String, usize)> {
    let count = text.chars().count();
    (count > SHOWN).then(|| (text.chars().take(SHOWN).collect(), count))
}

/// A YAML parser error as a sentence: its size limits (guards against YAML bombs) say which
/// limit the file broke, not the parser's internal name for it.
pub fn yaml_problem(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::budget::BudgetBreach;
    let mut inner = err;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let serde_saphyr::Error::Budget { breach, .. } = inner else {
        return err.to_string();
    };
    let limit = |what: &str| {
        format!(
            "it has {what}, more than lbctl reads from one file (a guard against YAML bombs); split the file or remove what it repeats"
        )
    };
    match breach {
        BudgetBreach::Documents { documents } => limit(&format!("{documents} documents")),
        BudgetBreach::Depth { depth } => limit(&format!("mappings and lists nested {depth} deep")),
        BudgetBreach::Nodes { nodes } => limit(&format!("{nodes} values")),
        BudgetBreach::Events { events } => limit(&format!("{events} YAML events")),
        BudgetBreach::Aliases { aliases } => limit(&format!("{aliases} aliases (*name)")),
        BudgetBreach::Anchors { anchors } => limit(&format!("{anchors} anchors (&name)")),
        BudgetBreach::MergeKeys { merge_keys } => limit(&format!("{merge_keys} merge keys (<<)")),
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => {
            limit(&format!("{aliases} aliases of {anchors} anchors"))
        }
        BudgetBreach::ScalarBytes { total_scalar_bytes } => {
            limit(&format!("{total_scalar_bytes} bytes of values"))
        }
        _ => limit("more structure than allowed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_messages_are_rounded() {
        let d = |ms| shown(Duration::from_millis(ms)).to_string();
        assert_eq!(shown(Duration::new(1, 140_736_794)).to_string(), "1s 100ms");
        assert_eq!(d(250), "250ms");
        assert_eq!(d(12_600), "13s");
        assert_eq!(d(4000), "4s");
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        assert_eq!(shorten("10.0.0.1"), "\"10.0.0.1\"");
        let long = "1".repeat(10_000);
        let shown = shorten(&long);
        assert!(shown.len() < 100, "{shown}");
        assert!(shown.ends_with("... (10000 characters)"), "{shown}");
        assert_eq!(clip("/33"), "/33");
        assert!(clip(&long).starts_with("1111"));
    }

    #[test]
    fn yaml_limits_are_named_not_debug_printed() {
        let bomb = "---\n".repeat(2000);
        let err = serde_saphyr::from_str_multiple::<serde_json::Value, Vec<_>>(&bomb).unwrap_err();
        let text = yaml_problem(&err);
        assert!(text.contains("documents, more than lbctl reads"), "{text}");
        assert!(!text.contains("Documents"), "{text}");
    }

    #[test]
    fn usage_errors_exit_2_and_everything_else_3() {
        assert_eq!(Error::usage("bad").exit_code(), ExitCode::Usage);
        let forbidden = Error::Forbidden {
            verb: "update".into(),
            resource: "configmaps".into(),
            namespace: Some("kube-system".into()),
            message: "denied".into(),
        };
        assert_eq!(forbidden.exit_code(), ExitCode::CannotRun);
        assert_eq!(
            forbidden.to_string(),
            "permission denied: cannot update configmaps in namespace \"kube-system\""
        );
        assert!(
            forbidden
                .hint()
                .unwrap()
                .contains("kubectl auth can-i update configmaps -n kube-system")
        );
    }

    #[test]
    fn a_failed_write_says_how_far_the_command_got_and_that_a_rerun_continues() {
        let failed = || Error::WriteFailed {
            object: "Deployment metallb-system/controller".into(),
            attempts: 4,
            code: 500,
            message: "etcd leader changed".into(),
            progress: None,
        };
        let progress = StepProgress {
            command: "uninstall",
            done: vec!["pools and advertisements".into()],
            stopped_in: "controller and speaker".into(),
            not_started: vec!["namespace".into()],
        };
        let err = failed().with_progress(Some(progress));
        assert_eq!(err.exit_code(), ExitCode::CannotRun);
        assert_eq!(
            err.hint().unwrap(),
            "Done: pools and advertisements. Not done: controller and speaker (stopped there), namespace. What was done stays; run the command again (`lbctl uninstall`): it continues where this run stopped"
        );
        let plain = failed().with_progress(None);
        assert!(plain.hint().unwrap().contains("run the command again"));
        let other = Error::usage("bad").with_progress(None);
        assert!(matches!(other, Error::Usage { .. }));
    }
}
