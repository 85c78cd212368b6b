//! Pods the kubelet's admission rejects (`settings.podAdmissionFailures`, and pods that do not
//! tolerate a NoExecute taint of their node): a new pod on such a node ends Failed at once with
//! the kubelet's reason and `Pod was rejected: ...` message, and the kubelet records a Warning
//! event with the same reason.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::images;
use super::meta::{self, rfc3339};
use super::pods;
use super::settings::Rejection;
use super::world::Action;

/// The kubelet's rejection of a pod that does not tolerate a NoExecute taint of its node
/// (`generalFilter` in the kubelet's `lifecycle/predicate.go`).
pub fn taint_toleration() -> Rejection {
    Rejection {
        reason: "TaintToleration".into(),
        message: None,
    }
}

/// A Kubernetes quantity (`500m`, `4`, `8036732Ki`, `1.5Gi`) in base units, or in thousandths
/// with `milli` (how the kubelet reports CPU), rounded up as `Quantity.Value` rounds.
fn quantity(text: &str, milli: bool) -> i64 {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let factor: f64 = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        _ => 0.0,
    };
    let value = number.parse::<f64>().unwrap_or(0.0) * factor * if milli { 1e3 } else { 1.0 };
    value.ceil() as i64
}

/// What the kubelet says about a pod it rejects on `node` (the event's message; the pod's
/// status message adds `Pod was rejected: ` for the admission handlers that do).
fn message(rejection: &Rejection, pod: &Value, node: &Value) -> String {
    if let Some(message) = &rejection.message {
        return message.clone();
    }
    match rejection.reason.strip_prefix("OutOf") {
        Some(resource) => {
            let milli = resource == "cpu";
            let requested: i64 = if resource == "pods" {
                1
            } else {
                pods::containers(pod)
                    .iter()
                    .map(|c| quantity(meta::str_at(c, &["resources", "requests", resource]), milli))
                    .sum()
            };
            let capacity = quantity(
                meta::str_at(node, &["status", "allocatable", resource]),
                milli,
            );
            // The setting says the node is full: what is there is used.
            format!(
                "Node didn't have enough resource: {resource}, requested: {requested}, used: {capacity}, capacity: {capacity}"
            )
        }
        None => {
            let why = match rejection.reason.as_str() {
                "NodePorts" => "node(s) didn't have free ports for the requested pod ports",
                "TaintToleration" => "node(s) had taints that the pod didn't tolerate",
                _ => "node(s) didn't match Pod's node affinity/selector",
            };
            format!("Predicate {} failed: {why}", rejection.reason)
        }
    }
}

/// The status and event of a pod the kubelet on `node` rejects at `now`.
pub fn reject(pod: &Value, node: &Value, rejection: &Rejection, now: Timestamp) -> Vec<Action> {
    let said = message(rejection, pod, node);
    let status_message = if rejection.message.is_some() {
        said.clone()
    } else {
        format!("Pod was rejected: {said}")
    };
    let mut updated = pod.clone();
    let mut status = json!({
        "message": status_message,
        "phase": "Failed",
        "qosClass": super::pods::qos_class(pod),
        "reason": rejection.reason,
        "startTime": rfc3339(now),
    });
    // Conditions written by others (the scheduler's PodScheduled) are kept.
    if let Some(conditions) = pod.pointer("/status/conditions") {
        status["conditions"] = conditions.clone();
    }
    updated["status"] = status;
    let event = images::kubelet_event(
        pod,
        None,
        meta::name(node),
        "Warning",
        &rejection.reason,
        &said,
        now,
    );
    vec![Action::UpdateStatus(updated), event]
}

#[cfg(test)]
mod tests {
    use super::super::ClusterSettings;
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn quantities_in_base_and_milli_units() {
        assert_eq!(quantity("4", true), 4000);
        assert_eq!(quantity("500m", true), 500);
        assert_eq!(quantity("0.5", true), 500);
        assert_eq!(quantity("8036732Ki", false), 8_229_613_568);
        assert_eq!(quantity("1Gi", false), 1 << 30);
        assert_eq!(quantity("110", false), 110);
        assert_eq!(quantity("", true), 0);
    }

    fn pod(name: &str, node: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"nodeName": node, "restartPolicy": "Never",
                     "containers": [{"name": "check", "image": "busybox:1.37", "resources": {"requests": {"cpu": "100m", "memory": "16Mi"}}}]},
            "status": {"phase": "Pending", "qosClass": "Burstable"}})
    }

    #[test]
    fn pods_not_tolerating_a_no_execute_taint_are_rejected_by_the_kubelet() {
        let mut nodes = three_nodes();
        nodes[1]["spec"]["taints"] =
            json!([{"key": "maintenance", "value": "yes", "effect": "NoExecute"}]);
        nodes[2]["spec"]["taints"] = json!([{"key": "dedicated", "effect": "NoSchedule"}]);
        let (mut store, mut cluster) = booted(nodes, ClusterSettings::default());
        let mut tolerant = pod("tolerant", "w1");
        tolerant["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
        let pods = [pod("on-w1", "w1"), tolerant, pod("on-w2", "w2")].map(Action::Create);
        store.apply(pods.to_vec(), now());
        store.settle(&mut cluster, now(), 20);

        let st = &store.find("Pod", "default", "on-w1")["status"];
        assert_eq!(st["phase"], "Failed");
        assert_eq!(st["reason"], "TaintToleration");
        assert_eq!(
            st["message"],
            "Pod was rejected: Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"
        );
        // Tolerated, or only NoSchedule (the scheduler's business; nodeName bypasses it).
        for name in ["tolerant", "on-w2"] {
            assert_ne!(
                store.find("Pod", "default", name)["status"]["phase"],
                "Failed",
                "{name}"
            );
        }
    }

    #[test]
    fn new_pods_on_a_rejecting_node_fail_with_the_kubelets_reason() {
        let settings = ClusterSettings::from_settings(&json!({"podAdmissionFailures": {
            "w1": "OutOfcpu", "w2": "NodeAffinity"}}))
        .unwrap();
        let mut nodes = three_nodes();
        nodes[1]["status"]["allocatable"] = json!({"cpu": "2", "memory": "4Gi", "pods": "110"});
        let (mut store, mut cluster) = booted(nodes, settings);
        let pods = ["w1", "w2", "cp1"].map(|n| Action::Create(pod(&format!("on-{n}"), n)));
        store.apply(pods.to_vec(), now());
        store.settle(&mut cluster, now(), 20);

        let st = &store.find("Pod", "default", "on-w1")["status"];
        assert_eq!(st["phase"], "Failed");
        assert_eq!(st["reason"], "OutOfcpu");
        assert_eq!(
            st["message"],
            "Pod was rejected: Node didn't have enough resource: cpu, requested: 100, used: 2000, capacity: 2000"
        );
        assert_eq!(st["startTime"], meta::rfc3339(now()));
        assert_eq!(st["qosClass"], "Burstable");
        assert!(st.get("containerStatuses").is_none());
        let st = &store.find("Pod", "default", "on-w2")["status"];
        assert_eq!(
            st["message"],
            "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
        );
        assert_eq!(
            events(&store),
            [
                "OutOfcpu: Node didn't have enough resource: cpu, requested: 100, used: 2000, capacity: 2000",
                "NodeAffinity: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
            ]
        );
        let event = store.objects.iter().find(|o| o["kind"] == "Event").unwrap();
        assert_eq!(event["type"], "Warning");
        assert_eq!(
            event["source"],
            json!({"component": "kubelet", "host": "w1"})
        );
        assert_ne!(
            store.find("Pod", "default", "on-cp1")["status"]["phase"],
            "Failed"
        );
    }
}
