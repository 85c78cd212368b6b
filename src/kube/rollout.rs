//! `kubectl rollout restart` and `kubectl rollout status` for DaemonSets and Deployments:
//! restart through the pod template annotation, then wait, watch-driven, with one deadline. When
//! a rollout is complete and why a pod is not ready are the pure rules of `crate::k8s_status`.

use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;

use super::client::ClusterTarget;
use super::errors::{Request, api_error};
pub use crate::k8s_status::RolloutStatus;
use crate::k8s_status::pod_problem;
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

impl Workload for DaemonSet {
    const RESOURCE: &'static str = "daemonsets";
    const KIND: &'static str = "DaemonSet";

    fn rollout(&self) -> RolloutStatus {
        RolloutStatus::of_daemonset(self)
    }
}

impl Workload for Deployment {
    const RESOURCE: &'static str = "deployments";
    const KIND: &'static str = "Deployment";

    fn rollout(&self) -> RolloutStatus {
        RolloutStatus::of_deployment(self)
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
    deadline: super::deadline::Deadline,
    mut progress: impl FnMut(&RolloutStatus),
) -> Result<RolloutStatus> {
    let api: Api<K> = Api::namespaced(target.client.clone(), namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut last: Option<RolloutStatus> = None;
    let mut stream = super::erased::watch(&api, config)
        .default_backoff()
        .applied_objects()
        .boxed();
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
    match tokio::time::timeout_at(deadline.at, watched).await {
        Ok(result) => result,
        // The command's --timeout, not what was left of it when the wait began.
        Err(_) => Err(Error::Timeout {
            what: format!("the rollout of {} {namespace}/{name}", K::KIND),
            after: deadline.timeout,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
