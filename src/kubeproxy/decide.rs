//! What `enable-strictarp` does once the plan and the pods' staleness are known: the whole
//! branching of the command, pure, so every branch has a test.

use super::plan::Plan;
use super::staleness::Staleness;

/// The flags that steer the decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub check: bool,
    pub dry_run: bool,
    pub no_restart: bool,
}

impl Flags {
    /// `--check` or `--dry-run`: show, write nothing.
    pub fn read_only(self) -> bool {
        self.check || self.dry_run
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Configured, and kube-proxy runs the current configuration.
    Nothing,
    /// Configured, but kube-proxy runs an older configuration: restart it.
    Restart,
    /// As [`Decision::Restart`], under `--check`/`--dry-run`.
    WouldRestart,
    /// As [`Decision::Restart`], under `--no-restart`: leave it, say so.
    LeaveStale,
    /// Write the planned change, then restart unless `--no-restart`.
    Write { restart: bool },
    /// As [`Decision::Write`], under `--check`/`--dry-run`.
    WouldWrite,
}

/// `stale` is only looked at when the plan is empty (a write restarts anyway).
pub fn decide(plan: &Plan, stale: Option<&Staleness>, flags: Flags) -> Decision {
    if !plan.is_empty() {
        return match flags {
            f if f.read_only() => Decision::WouldWrite,
            f => Decision::Write {
                restart: !f.no_restart,
            },
        };
    }
    match (stale, flags) {
        (None, _) => Decision::Nothing,
        (Some(_), f) if f.read_only() => Decision::WouldRestart,
        (Some(_), f) if f.no_restart => Decision::LeaveStale,
        (Some(_), _) => Decision::Restart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubeproxy::plan::plan;
    use crate::kubeproxy::staleness::PodStart;

    const HEAD: &str =
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n";

    fn planned(text: &str) -> Plan {
        plan(&format!("{HEAD}{text}"), None, None).unwrap()
    }

    fn stale() -> Staleness {
        Staleness {
            changed: "2026-01-01T00:00:00Z".parse().unwrap(),
            stale: vec![PodStart {
                name: "kp".into(),
                node: None,
                started_at: Some("2025-12-31T00:00:00Z".parse().unwrap()),
            }],
        }
    }

    const CHECK: Flags = Flags {
        check: true,
        dry_run: false,
        no_restart: false,
    };
    const DRY_RUN: Flags = Flags {
        check: false,
        dry_run: true,
        no_restart: false,
    };
    const NO_RESTART: Flags = Flags {
        check: false,
        dry_run: false,
        no_restart: true,
    };

    #[test]
    fn a_change_is_written_and_restarted_unless_told_otherwise() {
        let p = planned("mode: \"\"\n");
        let s = stale();
        for st in [None, Some(&s)] {
            assert_eq!(
                decide(&p, st, Flags::default()),
                Decision::Write { restart: true }
            );
            assert_eq!(
                decide(&p, st, NO_RESTART),
                Decision::Write { restart: false }
            );
            assert_eq!(decide(&p, st, CHECK), Decision::WouldWrite);
            assert_eq!(decide(&p, st, DRY_RUN), Decision::WouldWrite);
        }
    }

    #[test]
    fn a_configured_cluster_restarts_only_stale_pods() {
        let p = planned("mode: ipvs\nipvs:\n  strictARP: true\n");
        assert!(p.is_empty());
        for f in [Flags::default(), CHECK, DRY_RUN, NO_RESTART] {
            assert_eq!(decide(&p, None, f), Decision::Nothing, "{f:?}");
        }
        let s = stale();
        assert_eq!(decide(&p, Some(&s), Flags::default()), Decision::Restart);
        assert_eq!(decide(&p, Some(&s), CHECK), Decision::WouldRestart);
        assert_eq!(decide(&p, Some(&s), DRY_RUN), Decision::WouldRestart);
        assert_eq!(decide(&p, Some(&s), NO_RESTART), Decision::LeaveStale);
    }
}
