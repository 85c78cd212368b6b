//! Whether the running kube-proxy pods use the current configuration. kube-proxy reads its
//! configuration only at start, so a pod that started before the ConfigMap last changed runs an
//! older one. One rule for `enable-strictarp` (restart or not) and check LB112.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};

/// When a kube-proxy pod last read its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodStart {
    pub name: String,
    pub node: Option<String>,
    /// The latest start of a running container, else the pod's start; `None` while the pod has
    /// not started (it reads the current configuration when it does).
    pub started_at: Option<Timestamp>,
}

impl PodStart {
    /// `name on node`, for messages.
    pub fn describe(&self) -> String {
        match &self.node {
            Some(n) => format!("{} on {n}", self.name),
            None => self.name.clone(),
        }
    }
}

pub fn pod_start(p: &Pod) -> PodStart {
    let status = p.status.as_ref();
    // A restarted container re-reads the configuration too: take the latest start.
    let container_start = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
        .map(|t| t.0)
        .max();
    PodStart {
        name: p.metadata.name.clone().unwrap_or_default(),
        node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
        started_at: container_start.or_else(|| status?.start_time.as_ref().map(|t| t.0)),
    }
}

/// When the ConfigMap last changed, as far as the API tells: the newest managedFields time (the
/// server stamps one on every write), else its creation (some tools strip managedFields; the
/// configuration was at least set then). A creation later than every managedFields time only
/// comes from managedFields written by hand, which then say more than the creation.
pub fn last_change(cm: &ConfigMap) -> Option<Timestamp> {
    let managed = cm
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.time.as_ref().map(|t| t.0))
        .max();
    managed.or_else(|| cm.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// A pod runs an older configuration when it started before the change. API times are whole
/// seconds, so a start in the change's own second counts as current (a restart right after a
/// change must not look stale). A pod that has not started yet will read the current one.
pub fn is_stale(pod: &PodStart, changed: Timestamp) -> bool {
    pod.started_at.is_some_and(|s| s < changed)
}

/// The pods that run a configuration older than `changed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    pub changed: Timestamp,
    pub stale: Vec<PodStart>,
}

impl Staleness {
    /// `None` when every pod runs the current configuration (or the change time is unknown).
    pub fn of(pods: &[PodStart], changed: Option<Timestamp>) -> Option<Staleness> {
        let changed = changed?;
        let stale: Vec<PodStart> = pods
            .iter()
            .filter(|p| is_stale(p, changed))
            .cloned()
            .collect();
        (!stale.is_empty()).then_some(Staleness { changed, stale })
    }

    /// Why kube-proxy needs a restart, in one line.
    pub fn reason(&self) -> String {
        let names: Vec<&str> = self.stale.iter().map(|p| p.name.as_str()).collect();
        format!(
            "{} kube-proxy pod(s) started before the configuration last changed ({}): {}",
            names.len(),
            self.changed,
            names.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn started(name: &str, t: Option<&str>) -> PodStart {
        PodStart {
            name: name.into(),
            node: None,
            started_at: t.map(at),
        }
    }

    #[test]
    fn pods_older_than_the_change_are_stale_and_named() {
        let pods = [
            started("kp-a", Some("2026-11-25T09:00:00Z")),
            started("kp-b", Some("2026-11-25T10:05:00Z")),
        ];
        let s = Staleness::of(&pods, Some(at("2026-11-25T10:00:00Z"))).unwrap();
        assert_eq!(
            s.reason(),
            "1 kube-proxy pod(s) started before the configuration last changed (2026-11-25T10:00:00Z): kp-a"
        );
        assert_eq!(Staleness::of(&pods[1..], Some(s.changed)), None);
        assert_eq!(Staleness::of(&pods, None), None, "unknown change time");
    }

    #[test]
    fn same_second_and_not_started_pods_are_current() {
        let changed = at("2026-11-25T10:00:00Z");
        assert!(!is_stale(
            &started("same", Some("2026-11-25T10:00:00Z")),
            changed
        ));
        assert!(!is_stale(&started("pending", None), changed));
    }

    #[test]
    fn a_restarted_container_counts_from_its_own_start() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "kp"},
            "spec": {"nodeName": "n1", "containers": []},
            "status": {"startTime": "2026-01-01T00:00:00Z", "containerStatuses": [{
                "name": "kube-proxy", "image": "x", "imageID": "", "ready": true, "restartCount": 1,
                "state": {"running": {"startedAt": "2026-01-02T00:00:00Z"}}}]}
        }))
        .unwrap();
        let p = pod_start(&pod);
        assert_eq!(p.started_at, Some(at("2026-01-02T00:00:00Z")));
        assert_eq!(p.describe(), "kp on n1");
        let pending: Pod = serde_json::from_value(json!({"metadata": {"name": "kp"}})).unwrap();
        assert_eq!(pod_start(&pending).started_at, None);
    }

    #[test]
    fn last_change_is_the_newest_managed_time_else_the_creation() {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubeadm", "time": "2026-01-01T00:00:00Z"}, {"manager": "kubectl-edit", "time": "2026-06-01T00:00:00Z"}]
        }}))
        .unwrap();
        assert_eq!(last_change(&cm), Some(at("2026-06-01T00:00:00Z")));
        let recreated: ConfigMap = serde_json::from_value(json!({"metadata": {
            "creationTimestamp": "2026-09-01T00:00:00Z",
            "managedFields": [{"manager": "kubeadm", "time": "2026-06-01T00:00:00Z"}]
        }}))
        .unwrap();
        assert_eq!(last_change(&recreated), Some(at("2026-06-01T00:00:00Z")));
        let stripped: ConfigMap = serde_json::from_value(
            json!({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"}}),
        )
        .unwrap();
        assert_eq!(last_change(&stripped), Some(at("2026-01-01T00:00:00Z")));
    }
}
