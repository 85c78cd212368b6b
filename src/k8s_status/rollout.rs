//! How far a Deployment or DaemonSet has rolled out, by the rule `kubectl rollout status` uses
//! (kubectl's `polymorphichelpers/rollout_status.go`): the controller has observed the latest
//! generation, every desired pod runs the new template, no old pod is left, and the new pods are
//! available. Zero desired pods is a complete rollout; whether zero is *enough* is the caller's
//! judgement (a MetalLB speaker scheduled nowhere announces nothing).

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use serde::Serialize;

/// The counts a rollout is judged on, in the terms `kubectl rollout status` uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    pub generation: i64,
    pub observed_generation: i64,
    pub desired: i32,
    pub updated: i32,
    pub available: i32,
    pub ready: i32,
    /// Pods of an older template still running (Deployments only).
    pub old: i32,
    /// The update strategy does not roll pods out by itself (DaemonSet `OnDelete`).
    pub on_delete: bool,
    /// The Deployment's Progressing condition says `ProgressDeadlineExceeded`.
    #[serde(skip)]
    pub deadline_exceeded: bool,
    /// Deployments wait for every updated pod to be available, DaemonSets for every desired one.
    #[serde(skip)]
    kind: Kind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    DaemonSet,
    Deployment,
}

/// Where a rollout stands; the first unmet step, in kubectl's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutState {
    /// The controller has not seen the latest spec yet.
    Unobserved,
    /// The Deployment gave up: its progress deadline passed.
    DeadlineExceeded,
    /// Fewer pods run the new template than are desired.
    Updating,
    /// Pods of the old template are still running.
    OldPodsRunning,
    /// New pods run but not all are available yet.
    Unavailable,
    Complete,
}

impl RolloutStatus {
    pub fn of_daemonset(ds: &DaemonSet) -> RolloutStatus {
        let status = ds.status.clone().unwrap_or_default();
        let on_delete = ds
            .spec
            .as_ref()
            .and_then(|s| s.update_strategy.as_ref())
            .and_then(|u| u.type_.as_deref())
            == Some("OnDelete");
        RolloutStatus {
            generation: ds.metadata.generation.unwrap_or_default(),
            observed_generation: status.observed_generation.unwrap_or_default(),
            desired: status.desired_number_scheduled,
            updated: status.updated_number_scheduled.unwrap_or_default(),
            available: status.number_available.unwrap_or_default(),
            ready: status.number_ready,
            old: 0,
            on_delete,
            deadline_exceeded: false,
            kind: Kind::DaemonSet,
        }
    }

    pub fn of_deployment(d: &Deployment) -> RolloutStatus {
        let status = d.status.clone().unwrap_or_default();
        // The API server defaults spec.replicas to 1.
        let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let updated = status.updated_replicas.unwrap_or_default();
        let deadline_exceeded = status.conditions.iter().flatten().any(|c| {
            c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        });
        RolloutStatus {
            generation: d.metadata.generation.unwrap_or_default(),
            observed_generation: status.observed_generation.unwrap_or_default(),
            desired,
            updated,
            available: status.available_replicas.unwrap_or_default(),
            ready: status.ready_replicas.unwrap_or_default(),
            old: (status.replicas.unwrap_or_default() - updated).max(0),
            on_delete: false,
            deadline_exceeded,
            kind: Kind::Deployment,
        }
    }

    /// kubectl's rule, step by step.
    pub fn state(&self) -> RolloutState {
        if self.observed_generation < self.generation {
            return RolloutState::Unobserved;
        }
        if self.deadline_exceeded {
            return RolloutState::DeadlineExceeded;
        }
        if self.updated < self.desired {
            return RolloutState::Updating;
        }
        if self.old > 0 {
            return RolloutState::OldPodsRunning;
        }
        let wanted = match self.kind {
            Kind::Deployment => self.updated,
            Kind::DaemonSet => self.desired,
        };
        if self.available < wanted {
            return RolloutState::Unavailable;
        }
        RolloutState::Complete
    }

    /// Nothing is left to wait for: the rollout is complete, or the controller saw the change and
    /// the strategy (`OnDelete`) will not replace pods by itself.
    pub fn is_complete(&self) -> bool {
        self.state() == RolloutState::Complete
            || (self.on_delete && self.observed_generation >= self.generation)
    }

    /// One line, like kubectl's progress messages.
    pub fn describe(&self) -> String {
        if self.observed_generation < self.generation {
            return format!(
                "waiting for the controller to observe generation {} (observed {})",
                self.generation, self.observed_generation
            );
        }
        let mut s = format!(
            "{} of {} pods updated, {} available, {} ready",
            self.updated, self.desired, self.available, self.ready
        );
        if self.old > 0 {
            s.push_str(&format!(", {} old pods still running", self.old));
        }
        if self.deadline_exceeded {
            s.push_str(", progress deadline exceeded");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(generation: i64, status: serde_json::Value) -> RolloutStatus {
        RolloutStatus::of_daemonset(
            &serde_json::from_value(json!({
                "metadata": {"name": "speaker", "generation": generation},
                "spec": {"selector": {}, "template": {}},
                "status": status
            }))
            .unwrap(),
        )
    }

    fn ds_status(desired: i32, updated: i32, ready: i32, available: i32) -> serde_json::Value {
        json!({"observedGeneration": 2, "desiredNumberScheduled": desired,
            "currentNumberScheduled": desired, "numberMisscheduled": 0, "numberReady": ready,
            "updatedNumberScheduled": updated, "numberAvailable": available})
    }

    fn deployment(generation: i64, replicas: i32, status: serde_json::Value) -> RolloutStatus {
        RolloutStatus::of_deployment(
            &serde_json::from_value(json!({
                "metadata": {"name": "controller", "generation": generation},
                "spec": {"replicas": replicas, "selector": {}, "template": {}},
                "status": status
            }))
            .unwrap(),
        )
    }

    #[test]
    fn daemonset_table() {
        use RolloutState::*;
        let cases = [
            (2, ds_status(3, 3, 3, 3), Complete),
            (3, ds_status(3, 3, 3, 3), Unobserved),
            (1, ds_status(3, 3, 3, 3), Complete),
            (2, ds_status(3, 2, 3, 3), Updating),
            (2, ds_status(3, 3, 3, 1), Unavailable),
            // Ready is not enough: kubectl waits for available (ready for minReadySeconds).
            (2, ds_status(3, 3, 3, 2), Unavailable),
            // Nothing desired, nothing to wait for.
            (2, ds_status(0, 0, 0, 0), Complete),
        ];
        for (generation, status, want) in cases {
            let s = ds(generation, status.clone());
            assert_eq!(s.state(), want, "generation {generation}, {status}");
            assert_eq!(s.is_complete(), want == Complete, "{status}");
        }
        let s = ds(2, ds_status(3, 2, 3, 3));
        assert_eq!(s.describe(), "2 of 3 pods updated, 3 available, 3 ready");
        assert_eq!(
            ds(3, ds_status(3, 3, 3, 3)).describe(),
            "waiting for the controller to observe generation 3 (observed 2)"
        );
    }

    #[test]
    fn on_delete_daemonsets_are_done_once_observed() {
        let on_delete = |generation| {
            let mut d: DaemonSet = serde_json::from_value(json!({
                "metadata": {"generation": generation},
                "spec": {"selector": {}, "template": {}, "updateStrategy": {"type": "OnDelete"}},
                "status": ds_status(3, 1, 3, 3)
            }))
            .unwrap();
            d.metadata.name = Some("kube-proxy".into());
            RolloutStatus::of_daemonset(&d)
        };
        assert_eq!(on_delete(2).state(), RolloutState::Updating);
        assert!(on_delete(2).is_complete());
        assert!(!on_delete(3).is_complete());
    }

    #[test]
    fn deployment_table() {
        use RolloutState::*;
        let status = |replicas: i32, updated: i32, available: i32| {
            json!({"observedGeneration": 1, "replicas": replicas, "updatedReplicas": updated,
                "readyReplicas": available, "availableReplicas": available})
        };
        let cases = [
            (1, 2, status(2, 2, 2), Complete),
            (2, 2, status(2, 2, 2), Unobserved),
            (1, 2, status(2, 1, 2), Updating),
            (1, 2, status(3, 2, 3), OldPodsRunning),
            (1, 2, status(2, 2, 1), Unavailable),
            // Scaled to zero: rolled out, with nothing running.
            (1, 0, status(0, 0, 0), Complete),
            // More updated pods than desired (scaled down mid-rollout): all must be available.
            (1, 1, status(2, 2, 1), Unavailable),
        ];
        for (generation, replicas, status, want) in cases {
            let s = deployment(generation, replicas, status.clone());
            assert_eq!(s.state(), want, "{generation} {replicas} {status}");
            assert_eq!(s.is_complete(), want == Complete);
        }
        let s = deployment(1, 2, status(3, 2, 3));
        assert_eq!(s.old, 1);
        assert_eq!(
            s.describe(),
            "2 of 2 pods updated, 3 available, 3 ready, 1 old pods still running"
        );
    }

    #[test]
    fn a_missed_progress_deadline_is_a_failed_rollout() {
        let s = deployment(
            1,
            1,
            json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
        );
        assert_eq!(s.state(), RolloutState::DeadlineExceeded);
        assert!(s.describe().ends_with("progress deadline exceeded"));
    }

    #[test]
    fn unrolled_deployment_is_not_complete() {
        let mut d = Deployment::default();
        d.metadata.generation = Some(2);
        assert_eq!(
            RolloutStatus::of_deployment(&d).state(),
            RolloutState::Unobserved
        );
    }

    fn reference(name: &str) -> Option<serde_json::Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/kube-api-v1.36")
            .join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(serde_json::from_str(&text).unwrap()),
            Err(_) => {
                eprintln!("skipping: {} is absent", path.display());
                None
            }
        }
    }

    #[test]
    fn recorded_metallb_workloads_are_rolled_out() {
        if let Some(v) = reference("metallb-controller-deployment-available.json") {
            let d: Deployment = serde_json::from_value(v).unwrap();
            assert_eq!(
                RolloutStatus::of_deployment(&d).state(),
                RolloutState::Complete
            );
        }
        if let Some(v) = reference("metallb-speaker-daemonset-ready.json") {
            let mut ds: DaemonSet = serde_json::from_value(v).unwrap();
            assert_eq!(
                RolloutStatus::of_daemonset(&ds).state(),
                RolloutState::Complete
            );
            let status = ds.status.as_mut().unwrap();
            status.number_available = Some(status.desired_number_scheduled - 1);
            assert_eq!(
                RolloutStatus::of_daemonset(&ds).state(),
                RolloutState::Unavailable
            );
        }
    }
}
