//! The one runner behind every command that runs checks (preflight, doctor, install's
//! pre-check): gather facts, judge them (once per node with `--nodes`), let the command read the
//! results its own way, apply `--ignore`/`--fail-on`, and repeat while `--wait` lasts.
//! Gathering is the command's (a closure), so the runner itself does no I/O.

use std::future::Future;
use std::time::Duration;

use super::model::{Check, CheckSpec, Policy, run_checks, run_checks_per_node};
use super::wait::{self, Progress};
use crate::ExitCode;
use crate::facts::doctor::DoctorFacts;
use crate::facts::{NodeState, PreflightFacts};

/// Facts whose node checks can judge any one node (`--nodes`).
pub trait NodeFacts {
    /// Switches the facts to `node`, for the checks that run once per node.
    fn select_node(&mut self, node: &NodeState);
}

impl NodeFacts for PreflightFacts {
    fn select_node(&mut self, node: &NodeState) {
        self.node = node.clone();
    }
}

impl NodeFacts for DoctorFacts {
    fn select_node(&mut self, node: &NodeState) {
        self.preflight.node = node.clone();
    }
}

/// What a command runs: its checks and how it reads them.
pub struct Suite<F> {
    pub specs: Vec<CheckSpec<F>>,
    /// The checks `--nodes` runs once per node.
    pub per_node: &'static [&'static str],
    /// The command's own reading of the results, before the policy (install turns some
    /// failures into advice); `None` for the checks as they are.
    pub adjust: Option<fn(&mut [Check])>,
}

impl<F> Suite<F> {
    pub fn new(specs: Vec<CheckSpec<F>>, per_node: &'static [&'static str]) -> Self {
        Self {
            specs,
            per_node,
            adjust: None,
        }
    }

    /// The IDs `--ignore` accepts for this suite.
    pub fn ids(&self) -> Vec<&'static str> {
        self.specs.iter().map(|s| s.id).collect()
    }
}

/// How one run is judged.
pub struct Run<'a> {
    pub policy: &'a Policy,
    /// `--wait`: re-run checks that can still become true until this has passed.
    pub wait: Option<Duration>,
    /// `--nodes`: every selected node, read once before the checks (pods do not run again
    /// while `--wait` waits, so their checks are final).
    pub nodes: Option<&'a [(String, NodeState)]>,
}

/// The judged checks, their exit code and the facts of the last round.
pub struct Judged<F> {
    pub checks: Vec<Check>,
    pub exit_code: ExitCode,
    pub facts: F,
}

/// Gathers with `gather` and judges, until no check is pending or `--wait` has passed.
pub async fn run<F, G, Fut>(
    suite: &Suite<F>,
    run: Run<'_>,
    progress: &mut dyn Progress,
    mut gather: G,
) -> Judged<F>
where
    F: NodeFacts,
    G: FnMut() -> Fut,
    Fut: Future<Output = F>,
{
    let (policy, nodes) = (run.policy, run.nodes);
    let (checks, facts) = wait::run_until(run.wait, wait::RETRY_INTERVAL, progress, || {
        let facts = gather();
        async move {
            let mut facts = facts.await;
            let checks = judge(suite, policy, &mut facts, nodes);
            (checks, facts)
        }
    })
    .await;
    Judged {
        exit_code: policy.exit_code(&checks),
        checks,
        facts,
    }
}

/// One round: the checks over `facts` (per node with `nodes`), then the suite's reading and
/// the policy.
pub fn judge<F: NodeFacts>(
    suite: &Suite<F>,
    policy: &Policy,
    facts: &mut F,
    nodes: Option<&[(String, NodeState)]>,
) -> Vec<Check> {
    let mut checks = match nodes {
        None => run_checks(&suite.specs, facts),
        Some(nodes) => {
            let mut checks =
                run_checks_per_node(&suite.specs, facts, suite.per_node, nodes, F::select_node);
            for c in checks.iter_mut().filter(|c| c.node.is_some()) {
                c.can_become_true = false;
            }
            checks
        }
    };
    if let Some(adjust) = suite.adjust {
        adjust(&mut checks);
    }
    policy.apply(&mut checks);
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::model::{Outcome, Status};
    use crate::checks::wait::PlainProgress;

    /// A node's "fact" is its name; the cluster check passes from the second round.
    struct Facts {
        round: usize,
        node: NodeState,
    }

    impl NodeFacts for Facts {
        fn select_node(&mut self, node: &NodeState) {
            self.node = node.clone();
        }
    }

    fn suite() -> Suite<Facts> {
        Suite::new(
            vec![
                CheckSpec {
                    id: "LB101",
                    title: "cluster",
                    area: "cluster",
                    depends_on: &[],
                    can_become_true: true,
                    rule: |f| match f.round {
                        0 => Outcome::error("not yet", "wait"),
                        _ => Outcome::pass("up"),
                    },
                },
                CheckSpec {
                    id: "LB200",
                    title: "node",
                    area: "node",
                    depends_on: &[],
                    can_become_true: true,
                    rule: |f| match &f.node {
                        NodeState::NotRead { reason } if reason == "bad" => {
                            Outcome::fail("bad node", "fix it")
                        }
                        _ => Outcome::pass("fine"),
                    },
                },
            ],
            &["LB200"],
        )
    }

    fn not_read(reason: &str) -> NodeState {
        NodeState::NotRead {
            reason: reason.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_cluster_and_keeps_the_last_facts() {
        let policy = Policy::default();
        let mut rounds = 0;
        let mut progress = PlainProgress { out: Vec::new() };
        let run = Run {
            policy: &policy,
            wait: Some(Duration::from_secs(30)),
            nodes: None,
        };
        let judged = super::run(&suite(), run, &mut progress, || {
            rounds += 1;
            let round = rounds - 1;
            async move {
                Facts {
                    round,
                    node: not_read("ok"),
                }
            }
        })
        .await;
        assert_eq!(judged.facts.round, 1);
        assert_eq!(judged.exit_code, ExitCode::Ok);
        assert!(judged.checks.iter().all(|c| c.status == Status::Pass));
    }

    #[test]
    fn per_node_checks_are_final_and_the_policy_applies_after_the_adjustment() {
        let mut suite = suite();
        // An adjustment that makes node failures errors; --ignore LB200 then makes them warnings.
        suite.adjust = Some(|checks| {
            for c in checks.iter_mut().filter(|c| c.status == Status::Fail) {
                c.status = Status::Error;
            }
        });
        let nodes = [
            ("w1".to_string(), not_read("ok")),
            ("w2".to_string(), not_read("bad")),
        ];
        let mut facts = Facts {
            round: 1,
            node: not_read("ok"),
        };
        let plain = judge(&suite, &Policy::default(), &mut facts, Some(&nodes));
        let got: Vec<(Option<&str>, Status, bool)> = plain
            .iter()
            .map(|c| (c.node.as_deref(), c.status, c.can_become_true))
            .collect();
        assert_eq!(
            got,
            [
                (None, Status::Pass, true),
                (Some("w1"), Status::Pass, false),
                (Some("w2"), Status::Error, false),
            ]
        );
        let policy = Policy::new(&["LB200"], Default::default(), &suite.ids()).unwrap();
        let ignored = judge(&suite, &policy, &mut facts, Some(&nodes));
        assert_eq!(ignored[2].status, Status::Warn);
        assert!(ignored[2].ignored);
    }
}
