//! The check model shared by `preflight` and `doctor`: what a check is, how its result is
//! judged under `--ignore` and `--fail-on`, and how a run of checks maps to an exit code.
//!
//! Checks are plain specifications over a facts type `F`; [`run_checks`] evaluates them in
//! order, skipping a check whose dependency did not pass, so every rule stays a pure function.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

use crate::ExitCode;

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// Not applicable or not evaluated; the message says why.
    Skip,
    /// Could not be evaluated because an input could not be read (permission, unreachable source).
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check's rule decided: the status plus what the user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// What was found (for a skip: why it was skipped; for an error: what could not be read).
    pub message: String,
    /// The next step, preferably a command.
    pub hint: Option<String>,
}

impl Outcome {
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Status::Pass, message, None)
    }
    pub fn warn(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Status::Warn, message, Some(hint.into()))
    }
    pub fn fail(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Status::Fail, message, Some(hint.into()))
    }
    pub fn skip(reason: impl Into<String>) -> Self {
        Self::new(Status::Skip, reason, None)
    }
    pub fn error(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Status::Error, message, Some(hint.into()))
    }
    fn new(status: Status, message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            status,
            message: message.into(),
            hint,
        }
    }
}

/// A check as reported: identity, result and where to read more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable identifier such as `LB104`.
    pub id: String,
    pub title: String,
    /// Grouping for human output and the JUnit classname, e.g. `kube-proxy`.
    pub area: String,
    pub status: Status,
    pub message: String,
    pub hint: Option<String>,
    /// `docs/checks.md#lb104`.
    pub docs: String,
    /// True when `--ignore` turned this check's failure or error into a warning.
    pub ignored: bool,
    /// The node a node check (LB2xx) judged, when `--nodes` checked the nodes through pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// True when `--wait` may re-run this check because its facts can still change.
    #[serde(skip)]
    pub can_become_true: bool,
}

impl Check {
    /// True when the check did not pass and could still pass on a later run (`--wait`).
    pub fn still_pending(&self) -> bool {
        self.can_become_true && matches!(self.status, Status::Fail | Status::Error)
    }
}

/// The docs anchor of a check ID: `docs/checks.md#lb104`.
pub fn docs_anchor(id: &str) -> String {
    format!("docs/checks.md#{}", id.to_ascii_lowercase())
}

/// A rule over facts of type `F`.
pub struct CheckSpec<F> {
    pub id: &'static str,
    pub title: &'static str,
    pub area: &'static str,
    /// Checks that must pass (or warn) for this one to be evaluated.
    pub depends_on: &'static [&'static str],
    /// Whether the facts behind this check can change while `--wait` is waiting
    /// (a rollout finishing, a pod becoming ready), as opposed to static configuration.
    pub can_become_true: bool,
    pub rule: fn(&F) -> Outcome,
}

/// Results so far, for dependencies: ID -> (status, message).
type Done = HashMap<&'static str, (Status, String)>;

/// Evaluates `specs` in order. A check whose dependency failed, errored or was skipped is
/// skipped with that reason (a dependency must appear earlier in the list).
pub fn run_checks<F>(specs: &[CheckSpec<F>], facts: &F) -> Vec<Check> {
    let mut done = Done::new();
    specs
        .iter()
        .map(|spec| evaluate(spec, facts, &mut done, &Done::new()))
        .collect()
}

/// Like [`run_checks`], but the checks in `per_node` run once for every node: `select` switches
/// the facts to that node first. Node checks are tagged with the node's name and reported in
/// the place of their spec, one per node in the order given. A check that is not per node but
/// depends on one sees it as passed only when it passed (or warned) on every node.
pub fn run_checks_per_node<F, N>(
    specs: &[CheckSpec<F>],
    facts: &mut F,
    per_node: &[&str],
    nodes: &[(String, N)],
    select: impl Fn(&mut F, &N),
) -> Vec<Check> {
    let mut shared = Done::new();
    let mut node_done: Vec<Done> = nodes.iter().map(|_| Done::new()).collect();
    let mut out = Vec::new();
    for spec in specs {
        if !per_node.contains(&spec.id) {
            out.push(evaluate(spec, facts, &mut shared, &Done::new()));
            continue;
        }
        let mut overall = (Status::Pass, String::new());
        for ((name, node), done) in nodes.iter().zip(node_done.iter_mut()) {
            select(facts, node);
            let mut check = evaluate(spec, facts, done, &shared);
            if matches!(overall.0, Status::Pass | Status::Warn)
                && !matches!(check.status, Status::Pass | Status::Warn)
            {
                overall = (check.status, check.message.clone());
            }
            check.node = Some(name.clone());
            out.push(check);
        }
        shared.insert(spec.id, overall);
    }
    out
}

/// Evaluates one spec; dependencies are looked up in `done`, then in `fallback`.
fn evaluate<F>(spec: &CheckSpec<F>, facts: &F, done: &mut Done, fallback: &Done) -> Check {
    let blocked = spec.depends_on.iter().find_map(|dep| {
        match done.get(dep).or_else(|| fallback.get(dep)) {
            Some((Status::Pass | Status::Warn, _)) => None,
            // A skip passes its own reason on, so chains read "skipped: --local ..." not
            // "skipped: LB104 was skipped".
            Some((Status::Skip, reason)) if reason.starts_with("skipped: ") => Some(reason.clone()),
            Some((Status::Skip, reason)) => Some(format!("skipped: {dep} was skipped ({reason})")),
            Some((status, _)) => Some(format!("skipped: {dep} {}", past_tense(*status))),
            None => Some(format!("skipped: {dep} was not evaluated")),
        }
    });
    let outcome = match blocked {
        Some(reason) => Outcome::skip(reason),
        None => (spec.rule)(facts),
    };
    done.insert(spec.id, (outcome.status, outcome.message.clone()));
    Check {
        id: spec.id.to_string(),
        title: spec.title.to_string(),
        area: spec.area.to_string(),
        status: outcome.status,
        message: outcome.message,
        hint: outcome.hint,
        docs: docs_anchor(spec.id),
        ignored: false,
        node: None,
        can_become_true: spec.can_become_true,
    }
}

fn past_tense(status: Status) -> &'static str {
    match status {
        Status::Pass => "passed",
        Status::Warn => "warned",
        Status::Fail => "failed",
        Status::Skip => "was skipped",
        Status::Error => "could not run",
    }
}

/// Which results make the run fail (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Warnings also give exit code 1.
    Warning,
    /// Only failures give exit code 1 (default).
    #[default]
    Fail,
}

/// Why `--ignore ID` cannot apply: the ID belongs to another command's checks (say which), or
/// to none.
fn not_run(item: &str, id: &str, known_ids: &[&str]) -> crate::Error {
    let mut owners = Vec::new();
    if crate::checks::preflight::ids().contains(&id) {
        owners.push(crate::invocation::command_line("preflight"));
    }
    if crate::checks::doctor::ids().contains(&id) {
        owners.push(crate::invocation::command_line("doctor"));
    }
    let listed = known_ids.join(", ");
    let hint = format!("this command runs {listed}; see docs/checks.md for every check");
    match owners.as_slice() {
        [] => crate::Error::usage_with_hint(
            format!("--ignore: unknown check ID {}", crate::error::shorten(item)),
            format!("check IDs look like LB104; {hint}"),
        ),
        owners => crate::Error::usage_with_hint(
            format!(
                "--ignore {item}: {id} is a check of {}, which this command does not run, so there is nothing to ignore",
                owners.join(" and ")
            ),
            hint,
        ),
    }
}

/// How results are judged: `--ignore` and `--fail-on`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Upper-cased check IDs whose failures and errors become warnings.
    pub ignore: BTreeSet<String>,
    pub fail_on: FailOn,
}

impl Policy {
    /// Builds a policy from `--ignore` values (each may hold a comma-separated list).
    /// Unknown IDs are a usage error so that a typo does not silently ignore nothing.
    pub fn new<S: AsRef<str>>(
        ignore: &[S],
        fail_on: FailOn,
        known_ids: &[&str],
    ) -> crate::Result<Self> {
        let mut set = BTreeSet::new();
        for item in ignore
            .iter()
            .flat_map(|s| s.as_ref().split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let id = item.to_ascii_uppercase();
            if id != "ALL" && !known_ids.iter().any(|k| k.eq_ignore_ascii_case(&id)) {
                return Err(not_run(item, &id, known_ids));
            }
            set.insert(id);
        }
        Ok(Self {
            ignore: set,
            fail_on,
        })
    }

    fn ignores(&self, id: &str) -> bool {
        self.ignore.contains("ALL") || self.ignore.contains(&id.to_ascii_uppercase())
    }

    /// Turns ignored failures and errors into warnings, recording that they were ignored.
    pub fn apply(&self, checks: &mut [Check]) {
        for check in checks {
            if matches!(check.status, Status::Fail | Status::Error) && self.ignores(&check.id) {
                check.message = format!(
                    "{} (ignored {}: --ignore {})",
                    check.message, check.status, check.id
                );
                check.status = Status::Warn;
                check.ignored = true;
            }
        }
    }

    /// The exit code for a judged run (after [`Policy::apply`]):
    /// any `fail` gives 1; otherwise any `error` gives 3 (the verdict is incomplete, so it
    /// cannot be a success); otherwise warnings give 1 only with `--fail-on warning`; else 0.
    /// Skips never change the code.
    pub fn exit_code(&self, checks: &[Check]) -> ExitCode {
        let has = |s: Status| checks.iter().any(|c| c.status == s);
        if has(Status::Fail) {
            ExitCode::Failed
        } else if has(Status::Error) {
            ExitCode::CannotRun
        } else if has(Status::Warn) && self.fail_on == FailOn::Warning {
            ExitCode::Failed
        } else {
            ExitCode::Ok
        }
    }
}

/// Counts per status, in the order reports show them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
    /// Of the warnings, how many are ignored failures or errors.
    pub ignored: usize,
}

impl Summary {
    pub fn of(checks: &[Check]) -> Self {
        let mut s = Summary {
            total: checks.len(),
            ..Default::default()
        };
        for c in checks {
            match c.status {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
                Status::Error => s.error += 1,
            }
            if c.ignored {
                s.ignored += 1;
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Facts {
        api: bool,
        mode: &'static str,
    }

    fn specs() -> Vec<CheckSpec<Facts>> {
        vec![
            CheckSpec {
                id: "LB101",
                title: "API reachable",
                area: "cluster",
                depends_on: &[],
                can_become_true: true,
                rule: |f| {
                    if f.api {
                        Outcome::pass("reachable")
                    } else {
                        Outcome::error("cannot reach the API", "check kubectl cluster-info")
                    }
                },
            },
            CheckSpec {
                id: "LB104",
                title: "strictARP",
                area: "kube-proxy",
                depends_on: &["LB101"],
                can_become_true: false,
                rule: |f| match f.mode {
                    "ipvs" => Outcome::fail("strictARP is off", "lbctl enable-strictarp"),
                    "warn" => Outcome::warn("odd", "look"),
                    _ => Outcome::pass("not needed"),
                },
            },
            CheckSpec {
                id: "LB105",
                title: "after strictARP",
                area: "kube-proxy",
                depends_on: &["LB104"],
                can_become_true: false,
                rule: |_| Outcome::pass("fine"),
            },
            CheckSpec {
                id: "LB200",
                title: "unknown dependency",
                area: "node",
                depends_on: &["LB999"],
                can_become_true: false,
                rule: |_| Outcome::pass("never"),
            },
        ]
    }

    fn statuses(checks: &[Check]) -> Vec<(&str, Status)> {
        checks.iter().map(|c| (c.id.as_str(), c.status)).collect()
    }

    #[test]
    fn dependencies_skip_with_the_reason() {
        let checks = run_checks(
            &specs(),
            &Facts {
                api: false,
                mode: "ipvs",
            },
        );
        assert_eq!(
            statuses(&checks),
            vec![
                ("LB101", Status::Error),
                ("LB104", Status::Skip),
                ("LB105", Status::Skip),
                ("LB200", Status::Skip)
            ]
        );
        assert_eq!(checks[1].message, "skipped: LB101 could not run");
        assert_eq!(checks[2].message, "skipped: LB101 could not run");
        assert_eq!(checks[3].message, "skipped: LB999 was not evaluated");
        assert_eq!(checks[1].docs, "docs/checks.md#lb104");

        let checks = run_checks(
            &specs(),
            &Facts {
                api: true,
                mode: "ipvs",
            },
        );
        assert_eq!(checks[2].message, "skipped: LB104 failed");
        assert_eq!(checks[1].hint.as_deref(), Some("lbctl enable-strictarp"));

        // A warning does not block dependants.
        let checks = run_checks(
            &specs(),
            &Facts {
                api: true,
                mode: "warn",
            },
        );
        assert_eq!(checks[2].status, Status::Pass);
    }

    #[test]
    fn per_node_checks_run_once_per_node_in_their_place() {
        // LB104 and LB105 run per node; "mode" is the node's own fact.
        let mut facts = Facts {
            api: true,
            mode: "",
        };
        let nodes = [("w1".to_string(), "ok"), ("w2".to_string(), "ipvs")];
        let checks = run_checks_per_node(
            &specs(),
            &mut facts,
            &["LB104", "LB105"],
            &nodes,
            |f, mode| f.mode = mode,
        );
        let got: Vec<(&str, Option<&str>, Status)> = checks
            .iter()
            .map(|c| (c.id.as_str(), c.node.as_deref(), c.status))
            .collect();
        assert_eq!(
            got,
            vec![
                ("LB101", None, Status::Pass),
                ("LB104", Some("w1"), Status::Pass),
                ("LB104", Some("w2"), Status::Fail),
                ("LB105", Some("w1"), Status::Pass),
                ("LB105", Some("w2"), Status::Skip),
                ("LB200", None, Status::Skip),
            ]
        );
        // A node's dependency is its own result, not another node's.
        assert_eq!(checks[4].message, "skipped: LB104 failed");

        // A shared check depending on a per-node one waits for every node.
        let mut shared_dep = specs();
        shared_dep[2].depends_on = &["LB104"];
        let checks = run_checks_per_node(&shared_dep, &mut facts, &["LB104"], &nodes, |f, m| {
            f.mode = m
        });
        assert_eq!(checks[3].id, "LB105");
        assert_eq!(checks[3].message, "skipped: LB104 failed");
    }

    #[test]
    fn ignore_is_case_insensitive_and_recorded() {
        let mut checks = run_checks(
            &specs(),
            &Facts {
                api: true,
                mode: "ipvs",
            },
        );
        let policy = Policy::new(
            &["lb104, lb200"],
            FailOn::Fail,
            &["LB101", "LB104", "LB200"],
        )
        .unwrap();
        assert_eq!(policy.exit_code(&checks), ExitCode::Failed);
        policy.apply(&mut checks);
        assert_eq!(checks[1].status, Status::Warn);
        assert!(checks[1].ignored);
        assert!(
            checks[1]
                .message
                .ends_with("(ignored fail: --ignore LB104)")
        );
        // Skips are not touched by --ignore.
        assert_eq!(checks[3].status, Status::Skip);
        assert!(!checks[3].ignored);
        assert_eq!(policy.exit_code(&checks), ExitCode::Ok);
        assert_eq!(Summary::of(&checks).ignored, 1);
    }

    #[test]
    fn unknown_ignore_ids_are_usage_errors() {
        let err = Policy::new(&["LB10"], FailOn::Fail, &["LB101"]).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(err.to_string().contains("LB10"));
        // A real check of another command says whose it is.
        let err = Policy::new(&["lb301"], FailOn::Fail, &["LB101"]).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(
            err.to_string()
                .contains("LB301 is a check of lbctl preflight, which this command does not run"),
            "{err}"
        );
        let all = Policy::new(&["all"], FailOn::Fail, &["LB101"]).unwrap();
        assert!(all.ignores("lb101"));
    }

    #[test]
    fn exit_codes_follow_the_documented_rule() {
        let mk = |status: Status| Check {
            id: "LB1".into(),
            title: String::new(),
            area: "a".into(),
            status,
            message: String::new(),
            hint: None,
            docs: String::new(),
            ignored: false,
            node: None,
            can_become_true: false,
        };
        let default = Policy::default();
        let strict = Policy {
            fail_on: FailOn::Warning,
            ..Policy::default()
        };
        let cases: &[(&[Status], ExitCode, ExitCode)] = &[
            (&[], ExitCode::Ok, ExitCode::Ok),
            (&[Status::Pass, Status::Skip], ExitCode::Ok, ExitCode::Ok),
            (
                &[Status::Pass, Status::Warn],
                ExitCode::Ok,
                ExitCode::Failed,
            ),
            (
                &[Status::Fail, Status::Error],
                ExitCode::Failed,
                ExitCode::Failed,
            ),
            (
                &[Status::Error, Status::Warn],
                ExitCode::CannotRun,
                ExitCode::CannotRun,
            ),
            (&[Status::Skip], ExitCode::Ok, ExitCode::Ok),
        ];
        for (statuses, want_default, want_strict) in cases {
            let checks: Vec<Check> = statuses.iter().map(|s| mk(*s)).collect();
            assert_eq!(default.exit_code(&checks), *want_default, "{statuses:?}");
            assert_eq!(strict.exit_code(&checks), *want_strict, "{statuses:?}");
        }
    }

    #[test]
    fn summary_counts_each_status() {
        let checks = run_checks(
            &specs(),
            &Facts {
                api: true,
                mode: "ipvs",
            },
        );
        let s = Summary::of(&checks);
        assert_eq!((s.total, s.pass, s.fail, s.skip), (4, 1, 1, 2));
    }

    #[test]
    fn pending_checks_are_failed_or_errored_and_can_change() {
        let checks = run_checks(
            &specs(),
            &Facts {
                api: false,
                mode: "ipvs",
            },
        );
        assert!(checks[0].still_pending());
        assert!(!checks[1].still_pending());
    }
}
