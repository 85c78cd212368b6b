//! `kubectl rollout restart` and `kubectl rollout status` for DaemonSets and Deployments:
//! restart through the pod template annotation, then wait, watch-driven, with one deadline.

use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::ClusterTarget;
use super::errors::{Request, api_error};
use crate::{Error, Result};

/// The pod template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// A workload kind lbctl can restart and wait for.
pub trait Workload:
    kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
    + Clone
    + Debug
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// `daemonsets` / `deployments`, for permission errors.
    const RESOURCE: &'static str;
    /// `DaemonSet` / `Deployment`, for messages.
    const KIND: &'static str;
    fn rollout(&self) -> RolloutStatus;
}

/// How far a rollout is, in the terms `kubectl rollout status` uses.
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
}

impl RolloutStatus {
    /// The controller saw the latest spec, every pod runs the new template and is available.
    pub fn is_complete(&self) -> bool {
        self.observed_generation >= self.generation
            && (self.on_delete
                || (self.updated >= self.desired
                    && self.available >= self.desired
                    && self.old == 0))
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
        s
    }
}

impl Workload for DaemonSet {
    const RESOURCE: &'static str = "daemonsets";
    const KIND: &'static str = "DaemonSet";

    fn rollout(&self) -> RolloutStatus {
        let status = self.status.clone().unwrap_or_default();
        let on_delete = self
            .spec
            .as_ref()
            .and_then(|s| s.update_strategy.as_ref())
            .and_then(|u| u.type_.as_deref())
            == Some("OnDelete");
        RolloutStatus {
            generation: self.metadata.generation.unwrap_or_default(),
            observed_generation: status.observed_generation.unwrap_or_default(),
            desired: status.desired_number_scheduled,
            updated: status.updated_number_scheduled.unwrap_or_default(),
            available: status.number_available.unwrap_or_default(),
            ready: status.number_ready,
            old: 0,
            on_delete,
        }
    }
}

impl Workload for Deployment {
    const RESOURCE: &'static str = "deployments";
    const KIND: &'static str = "Deployment";

    fn rollout(&self) -> RolloutStatus {
        let status = self.status.clone().unwrap_or_default();
        let desired = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let updated = status.updated_replicas.unwrap_or_default();
        RolloutStatus {
            generation: self.metadata.generation.unwrap_or_default(),
            observed_generation: status.observed_generation.unwrap_or_default(),
            desired,
            updated,
            available: status.available_replicas.unwrap_or_default(),
            ready: status.ready_replicas.unwrap_or_default(),
            old: (status.replicas.unwrap_or_default() - updated).max(0),
            on_delete: false,
        }
    }
}

/// The value `kubectl rollout restart` writes: RFC 3339 in whole seconds, truncated (as Go's
/// `time.Now().Format(time.RFC3339)`), never later than the restart itself.
pub fn restart_value(at: jiff::Timestamp) -> String {
    jiff::Timestamp::from_second(at.as_second())
        .unwrap_or(at)
        .to_string()
}

/// The strategic merge patch `kubectl rollout restart` sends.
pub fn restart_patch(at: &str) -> serde_json::Value {
    serde_json::json!({
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}
    })
}

/// A restart value other than `previous`. Within the second of the previous restart the value
/// would be the same, the patch would change nothing and no pod would restart (kubectl fails
/// then: "if restart has already been triggered within the past second, please wait"), so this
/// waits for the next second instead.
async fn fresh_restart_value(previous: Option<&str>) -> String {
    for _ in 0..3 {
        let now = jiff::Timestamp::now();
        let value = restart_value(now);
        if previous != Some(value.as_str()) {
            return value;
        }
        let into_second = u64::try_from(now.subsec_nanosecond()).unwrap_or(0);
        let rest = Duration::from_nanos(1_000_000_000u64.saturating_sub(into_second));
        tokio::time::sleep(rest + Duration::from_millis(1)).await;
    }
    restart_value(jiff::Timestamp::now())
}

/// Restarts the workload's pods as `kubectl rollout restart` does; returns the patched object.
/// `previous` is the restart annotation the caller last saw on the workload's pod template.
pub async fn restart<K: Workload>(
    target: &ClusterTarget,
    namespace: &str,
    name: &str,
    previous: Option<&str>,
) -> Result<K> {
    let api: Api<K> = Api::namespaced(target.client.clone(), namespace);
    let patch = restart_patch(&fresh_restart_value(previous).await);
    api.patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .map_err(|e| {
            api_error(
                e,
                Request {
                    verb: "patch",
                    resource: K::RESOURCE,
                    namespace: Some(namespace),
                },
                &target.server,
                &target.context,
            )
        })
}

/// Waits, following a watch, until the rollout is complete or `timeout` passes. `progress` is
/// called whenever the observed status changes. On timeout the error carries what was seen.
pub async fn wait<K: Workload>(
    target: &ClusterTarget,
    namespace: &str,
    name: &str,
    timeout: Duration,
    mut progress: impl FnMut(&RolloutStatus),
) -> Result<RolloutStatus> {
    let api: Api<K> = Api::namespaced(target.client.clone(), namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut last: Option<RolloutStatus> = None;
    let mut stream = watcher(api, config)
        .default_backoff()
        .applied_objects()
        .boxed();
    let deadline = crate::deadline::after(tokio::time::Instant::now(), timeout);
    let watched = async {
        while let Some(item) = stream.next().await {
            match item {
                Ok(obj) => {
                    let status = obj.rollout();
                    if last.as_ref() != Some(&status) {
                        progress(&status);
                        last = Some(status.clone());
                    }
                    if status.is_complete() {
                        return Ok(status);
                    }
                }
                Err(watcher::Error::InitialListFailed(kube::Error::Api(s)))
                | Err(watcher::Error::WatchStartFailed(kube::Error::Api(s)))
                    if s.code == 401 || s.code == 403 =>
                {
                    return Err(api_error(
                        kube::Error::Api(s),
                        Request {
                            verb: "watch",
                            resource: K::RESOURCE,
                            namespace: Some(namespace),
                        },
                        &target.server,
                        &target.context,
                    ));
                }
                // Other watch errors are retried with backoff until the deadline.
                Err(_) => {}
            }
        }
        Err(Error::Unreachable {
            server: target.server.clone(),
            reason: "the watch stream ended".into(),
        })
    };
    match tokio::time::timeout_at(deadline, watched).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout {
            what: format!("the rollout of {} {namespace}/{name}", K::KIND),
            after: timeout,
            detail: Some(match &last {
                Some(s) => format!("last observed: {}", s.describe()),
                None => "the workload was never observed".into(),
            }),
        }),
    }
}

/// Why pods matching `selector` are not ready: `pod (node): reason`, at most `limit` lines.
pub async fn pod_problems(
    target: &ClusterTarget,
    namespace: &str,
    selector: &str,
    limit: usize,
) -> Vec<String> {
    let api: Api<Pod> = Api::namespaced(target.client.clone(), namespace);
    let Ok(pods) = api.list(&ListParams::default().labels(selector)).await else {
        return Vec::new();
    };
    pods.items
        .iter()
        .filter_map(pod_problem)
        .take(limit)
        .collect()
}

/// A one-line reason for a pod that is not ready, or `None` when it is.
pub fn pod_problem(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    if ready {
        return None;
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_else(|| "unscheduled".into());
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .find_map(|c| c.state.as_ref().and_then(|s| s.waiting.as_ref()))
        .map(|w| {
            let reason = w.reason.clone().unwrap_or_else(|| "Waiting".into());
            match &w.message {
                Some(m) if !m.is_empty() => format!("{reason}: {m}"),
                _ => reason,
            }
        });
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    let not_ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.message.clone())
        .map(|m| format!("{phase}, not ready: {m}"))
        .unwrap_or_else(|| format!("{phase}, not ready"));
    Some(format!(
        "pod {name} on {node}: {}",
        waiting.unwrap_or(not_ready)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(generation: i64, status: serde_json::Value) -> DaemonSet {
        serde_json::from_value(json!({
            "metadata": {"name": "kube-proxy", "generation": generation},
            "spec": {"selector": {}, "template": {}},
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn daemonset_rollout_needs_observed_generation_updated_and_available() {
        let full = json!({"observedGeneration": 2, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
            "numberMisscheduled": 0, "numberReady": 3, "updatedNumberScheduled": 3, "numberAvailable": 3});
        assert!(ds(2, full.clone()).rollout().is_complete());
        assert!(!ds(3, full.clone()).rollout().is_complete());
        let mut partial = full.clone();
        partial["updatedNumberScheduled"] = json!(2);
        let s = ds(2, partial).rollout();
        assert!(!s.is_complete());
        assert_eq!(s.describe(), "2 of 3 pods updated, 3 available, 3 ready");
        let mut unavailable = full;
        unavailable["numberAvailable"] = json!(1);
        assert!(!ds(2, unavailable).rollout().is_complete());
    }

    #[test]
    fn deployment_rollout_waits_for_old_pods() {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"generation": 1},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 3}
        }))
        .unwrap();
        let s = d.rollout();
        assert_eq!(s.old, 1);
        assert!(!s.is_complete());
    }

    #[test]
    fn restart_patch_matches_kubectl() {
        let at: jiff::Timestamp = "2026-11-25T09:40:00.923Z".parse().unwrap();
        assert_eq!(
            restart_value(at),
            "2026-11-25T09:40:00Z",
            "truncated, as Go formats it"
        );
        assert_eq!(
            restart_patch(&restart_value(at)),
            json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-25T09:40:00Z"}}}}})
        );
    }

    #[tokio::test]
    async fn a_second_restart_within_the_same_second_gets_a_new_value() {
        let first = fresh_restart_value(None).await;
        let second = fresh_restart_value(Some(&first)).await;
        assert_ne!(first, second);
        assert!(second > first, "{second} after {first}");
        let later = fresh_restart_value(Some("2020-01-01T00:00:00Z")).await;
        assert!(
            later >= second,
            "no wait when the previous restart is older"
        );
    }

    #[test]
    fn pod_problems_name_the_waiting_reason() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "kube-proxy-abc"},
            "spec": {"nodeName": "node-1", "containers": []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{"name": "kube-proxy", "image": "x", "imageID": "", "ready": false, "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}}]}
        }))
        .unwrap();
        assert_eq!(
            pod_problem(&pod).unwrap(),
            "pod kube-proxy-abc on node-1: CrashLoopBackOff: back-off 40s"
        );
    }
}
