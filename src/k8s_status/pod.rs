//! When a pod counts as ready, and a one-line reason when it does not.

use k8s_openapi::api::core::v1::Pod;

/// The condition `kind` of the pod, if it reports one.
fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == kind))
}

/// Ready and not being deleted: a terminating pod still reports Ready until it stops, but it
/// is on its way out and will not serve for long.
pub fn pod_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

/// `pod NAME on NODE: reason` for a pod that is not ready, or `None` when it is. The reason is
/// the first that explains it: terminating, unschedulable (the scheduler's message), a waiting
/// container (CrashLoopBackOff, ImagePullBackOff, ... with its message), else the phase and the
/// Ready condition's message.
pub fn pod_problem(pod: &Pod) -> Option<String> {
    if pod_ready(pod) {
        return None;
    }
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("unscheduled");
    Some(format!("pod {name} on {node}: {}", reason(pod)))
}

fn with_message(reason: &str, message: Option<&str>) -> String {
    match message {
        Some(m) if !m.is_empty() => format!("{reason}: {m}"),
        _ => reason.to_string(),
    }
}

fn reason(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "terminating".into();
    }
    if let Some(c) = condition(pod, "PodScheduled")
        .filter(|c| c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
    {
        return with_message("Unschedulable", c.message.as_deref());
    }
    let status = pod.status.as_ref();
    let waiting = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .find_map(|c| c.state.as_ref().and_then(|s| s.waiting.as_ref()));
    if let Some(w) = waiting {
        return with_message(
            w.reason.as_deref().unwrap_or("Waiting"),
            w.message.as_deref(),
        );
    }
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    match condition(pod, "Ready").and_then(|c| c.message.as_deref()) {
        Some(m) => format!("{phase}, not ready: {m}"),
        None => format!("{phase}, not ready"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "speaker-abc"},
            "spec": {"nodeName": "w1", "containers": []},
            "status": status
        }))
        .unwrap()
    }

    fn waiting(reason: &str, message: Option<&str>) -> serde_json::Value {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "c", "image": "x", "imageID": "", "ready": false,
                "restartCount": 4, "state": {"waiting": {"reason": reason, "message": message}}}]})
    }

    #[test]
    fn ready_needs_the_condition_and_no_deletion() {
        let ready =
            pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}));
        assert!(pod_ready(&ready));
        assert_eq!(pod_problem(&ready), None);
        let mut leaving = ready.clone();
        leaving.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                "2026-01-01T00:00:00Z".parse().unwrap(),
            ));
        assert!(!pod_ready(&leaving));
        assert_eq!(
            pod_problem(&leaving).unwrap(),
            "pod speaker-abc on w1: terminating"
        );
        assert!(
            !pod_ready(&pod(json!({"phase": "Running"}))),
            "no Ready condition yet"
        );
    }

    #[test]
    fn problems_name_the_first_reason_that_explains_them() {
        let cases = [
            (
                waiting("CrashLoopBackOff", Some("back-off 40s")),
                "CrashLoopBackOff: back-off 40s",
            ),
            (waiting("ImagePullBackOff", None), "ImagePullBackOff"),
            (waiting("ErrImagePull", Some("")), "ErrImagePull"),
            (
                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                    "reason": "Unschedulable", "message": "0/3 nodes are available: 3 node(s) had untolerated taint"}]}),
                "Unschedulable: 0/3 nodes are available: 3 node(s) had untolerated taint",
            ),
            (
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False",
                    "message": "containers with unready status: [speaker]"}]}),
                "Running, not ready: containers with unready status: [speaker]",
            ),
            (json!({}), "Pending, not ready"),
        ];
        for (status, want) in cases {
            assert_eq!(
                pod_problem(&pod(status)).unwrap(),
                format!("pod speaker-abc on w1: {want}")
            );
        }
        let mut unscheduled = pod(json!({"phase": "Pending"}));
        unscheduled.spec.as_mut().unwrap().node_name = None;
        assert_eq!(
            pod_problem(&unscheduled).unwrap(),
            "pod speaker-abc on unscheduled: Pending, not ready"
        );
    }
}
