//! Which nodes a pod may run on: nodeSelector, required node affinity, taints against
//! tolerations, and `spec.unschedulable`, as the scheduler and the DaemonSet controller judge them.

use serde_json::{Value, json};

use super::meta;

/// Whether `toleration` tolerates `taint` (the rules of `Toleration.ToleratesTaint`): an empty
/// effect matches every effect, an empty key with `Exists` matches every key, `Equal` (or no
/// operator) compares values.
pub fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let t_effect = meta::str_at(toleration, &["effect"]);
    if !t_effect.is_empty() && t_effect != meta::str_at(taint, &["effect"]) {
        return false;
    }
    let t_key = meta::str_at(toleration, &["key"]);
    if !t_key.is_empty() && t_key != meta::str_at(taint, &["key"]) {
        return false;
    }
    match meta::str_at(toleration, &["operator"]) {
        "Exists" => true,
        "" | "Equal" => meta::str_at(toleration, &["value"]) == meta::str_at(taint, &["value"]),
        _ => false,
    }
}

/// The node's taints that would keep `pod_spec` off it (NoSchedule and NoExecute; PreferNoSchedule
/// only steers the scheduler).
pub fn untolerated_taints<'a>(node: &'a Value, pod_spec: &Value) -> Vec<&'a Value> {
    let tolerations = pod_spec
        .get("tolerations")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    node.pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|taint| {
            matches!(meta::str_at(taint, &["effect"]), "NoSchedule" | "NoExecute")
                && !tolerations.iter().any(|t| tolerates(t, taint))
        })
        .collect()
}

/// Whether the node's labels (and name, for `matchFields`) satisfy the pod's `nodeSelector` and
/// required node affinity.
pub fn matches_node_selection(node: &Value, pod_spec: &Value) -> bool {
    if let Some(sel) = pod_spec.get("nodeSelector").and_then(Value::as_object)
        && !sel.iter().all(|(k, v)| meta::label(node, k) == v.as_str())
    {
        return false;
    }
    let terms = pod_spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array);
    match terms {
        // Terms are ORed; the requirements inside a term are ANDed.
        Some(terms) if !terms.is_empty() => terms.iter().any(|term| node_term_matches(node, term)),
        _ => true,
    }
}

fn node_term_matches(node: &Value, term: &Value) -> bool {
    let exprs = term.get("matchExpressions").and_then(Value::as_array);
    let fields = term.get("matchFields").and_then(Value::as_array);
    if exprs.is_none_or(Vec::is_empty) && fields.is_none_or(Vec::is_empty) {
        return false;
    }
    let labels_ok = exprs.into_iter().flatten().all(|e| {
        let have = meta::label(node, meta::str_at(e, &["key"]));
        requirement_matches(e, have)
    });
    let fields_ok = fields.into_iter().flatten().all(|e| {
        let have = match meta::str_at(e, &["key"]) {
            "metadata.name" => Some(meta::name(node)),
            _ => None,
        };
        requirement_matches(e, have)
    });
    labels_ok && fields_ok
}

fn requirement_matches(req: &Value, have: Option<&str>) -> bool {
    let values: Vec<&str> = req
        .get("values")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match meta::str_at(req, &["operator"]) {
        "In" => have.is_some_and(|h| values.contains(&h)),
        "NotIn" => have.is_none_or(|h| !values.contains(&h)),
        "Exists" => have.is_some(),
        "DoesNotExist" => have.is_none(),
        "Gt" => {
            matches!((have.and_then(number), values.first().and_then(|v| number(v))), (Some(h), Some(v)) if h > v)
        }
        "Lt" => {
            matches!((have.and_then(number), values.first().and_then(|v| number(v))), (Some(h), Some(v)) if h < v)
        }
        _ => false,
    }
}

/// Whether the node reports `Ready=True` (a node without conditions counts as ready, so short
/// scenarios need not spell them out).
pub fn node_is_ready(node: &Value) -> bool {
    match node.pointer("/status/conditions").and_then(Value::as_array) {
        Some(conds) => conds
            .iter()
            .find(|c| meta::str_at(c, &["type"]) == "Ready")
            .is_none_or(|c| meta::str_at(c, &["status"]) == "True"),
        None => true,
    }
}

/// The tolerations the DaemonSet controller adds to every daemon pod, so that daemons keep running
/// on unready, unreachable, pressured or cordoned nodes.
pub fn daemon_tolerations(pod_spec: &Value) -> Vec<Value> {
    let mut added = vec![
        json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}),
        json!({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}),
        json!({"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"}),
        json!({"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}),
        json!({"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"}),
        json!({"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}),
    ];
    if pod_spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        added.push(json!({"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}));
    }
    added
}

/// Whether a DaemonSet with this pod spec should run a pod on `node`
/// (`NodeShouldRunDaemonPod`: node selection and taints; cordoned nodes still run daemons).
pub fn daemon_should_run(node: &Value, pod_spec: &Value) -> bool {
    if !matches_node_selection(node, pod_spec) {
        return false;
    }
    let tainted = meta::at(node, &["spec", "taints"])
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    if !tainted {
        return true;
    }
    // Only the tolerations matter for taints: no copy of the whole pod spec.
    let mut tolerations = pod_spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    tolerations.extend(daemon_tolerations(pod_spec));
    untolerated_taints(node, &json!({"tolerations": tolerations})).is_empty()
}

/// Why the scheduler cannot place a pod on `node`, or None if it can.
pub fn unschedulable_reason(node: &Value, pod_spec: &Value) -> Option<String> {
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        let cordon = json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"});
        let tolerated = pod_spec
            .get("tolerations")
            .and_then(Value::as_array)
            .is_some_and(|ts| ts.iter().any(|t| tolerates(t, &cordon)));
        if !tolerated {
            return Some("node(s) were unschedulable".to_string());
        }
    }
    if !matches_node_selection(node, pod_spec) {
        return Some("node(s) didn't match Pod's node affinity/selector".to_string());
    }
    if let Some(taint) = untolerated_taints(node, pod_spec).first() {
        return Some(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            meta::str_at(taint, &["key"]),
            meta::str_at(taint, &["value"])
        ));
    }
    None
}

/// The scheduler's `FailedScheduling` message for a pod no node accepts, in the real format
/// (`0/3 nodes are available: 1 node(s) had untolerated taint {...}, 2 node(s) didn't match ...`).
pub fn failed_scheduling_message(nodes: &[&Value], pod_spec: &Value) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for node in nodes {
        if let Some(reason) = unschedulable_reason(node, pod_spec) {
            match counts.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, n)) => *n += 1,
                None => counts.push((reason, 1)),
            }
        }
    }
    counts.sort_by(|a, b| a.0.cmp(&b.0));
    let reasons: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let total = nodes.len();
    format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling.",
        reasons.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control_plane() -> Value {
        json!({"metadata": {"name": "cp1", "labels": {"kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": ""}},
               "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}})
    }

    fn worker(name: &str) -> Value {
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}}, "spec": {}})
    }

    #[test]
    fn toleration_rules() {
        let taint = json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"});
        assert!(
            tolerates(&json!({"operator": "Exists"}), &taint),
            "empty key + Exists tolerates all"
        );
        assert!(tolerates(
            &json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}),
            &taint
        ));
        assert!(
            tolerates(
                &json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}),
                &taint
            ),
            "empty effect matches all"
        );
        assert!(!tolerates(
            &json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoExecute"}),
            &taint
        ));
        assert!(!tolerates(
            &json!({"key": "node-role.kubernetes.io/master", "operator": "Exists"}),
            &taint
        ));
        assert!(
            tolerates(
                &json!({"key": "node-role.kubernetes.io/control-plane"}),
                &taint
            ),
            "Equal with empty values"
        );
        assert!(!tolerates(
            &json!({"key": "node-role.kubernetes.io/control-plane", "value": "x"}),
            &taint
        ));
    }

    #[test]
    fn daemon_without_tolerations_skips_control_plane() {
        let spec = json!({"containers": [{"name": "c"}]});
        assert!(!daemon_should_run(&control_plane(), &spec));
        assert!(daemon_should_run(&worker("w1"), &spec));
    }

    #[test]
    fn daemon_with_exists_toleration_runs_everywhere() {
        let spec = json!({"tolerations": [{"operator": "Exists"}]});
        assert!(daemon_should_run(&control_plane(), &spec));
    }

    #[test]
    fn daemon_respects_node_selector_and_runs_on_cordoned_nodes() {
        let spec = json!({"nodeSelector": {"kubernetes.io/os": "linux"}});
        let mut cordoned = worker("w2");
        cordoned["spec"]["unschedulable"] = json!(true);
        assert!(daemon_should_run(&cordoned, &spec));
        let windows =
            json!({"metadata": {"name": "win", "labels": {"kubernetes.io/os": "windows"}}});
        assert!(!daemon_should_run(&windows, &spec));
    }

    #[test]
    fn node_affinity_match_fields_pins_a_node() {
        let spec = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w1"]}]}]}}}});
        assert!(matches_node_selection(&worker("w1"), &spec));
        assert!(!matches_node_selection(&worker("w2"), &spec));
    }

    #[test]
    fn scheduler_skips_cordoned_and_tainted_nodes_with_real_message() {
        let spec = json!({"containers": [{"name": "c"}]});
        let mut cordoned = worker("w2");
        cordoned["spec"]["unschedulable"] = json!(true);
        assert_eq!(unschedulable_reason(&worker("w1"), &spec), None);
        assert!(unschedulable_reason(&cordoned, &spec).is_some());
        let cp = control_plane();
        let nodes = vec![&cp, &cordoned];
        assert_eq!(
            failed_scheduling_message(&nodes, &spec),
            "0/2 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn node_readiness() {
        assert!(node_is_ready(&worker("w1")));
        let down = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert!(!node_is_ready(&down));
    }
}
