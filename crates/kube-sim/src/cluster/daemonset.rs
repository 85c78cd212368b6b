//! The DaemonSet controller: one pod per eligible node, rolling updates bounded by
//! `maxUnavailable`/`maxSurge`, and the status fields the real controller reports.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::meta;
use super::pods;
use super::scheduling;
use super::world::{Action, World};

const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

pub fn sync(world: &World, now: Timestamp) -> Vec<Action> {
    let mut actions = Vec::new();
    for ds in world.list("DaemonSet") {
        if !meta::is_terminating(ds) {
            sync_one(world, ds, now, &mut actions);
        }
    }
    actions
}

/// The template generation the API server records on the DaemonSet (falls back to
/// `metadata.generation` when the annotation is absent).
fn template_generation(ds: &Value) -> i64 {
    meta::annotation(ds, TEMPLATE_GENERATION)
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| meta::generation(ds))
}

/// Whether a pod runs the DaemonSet's current template (`IsPodUpdated`: the revision hash label,
/// or the legacy `pod-template-generation` label).
fn is_updated(pod: &Value, hash: &str, generation: i64) -> bool {
    meta::label(pod, "controller-revision-hash") == Some(hash)
        || meta::label(pod, "pod-template-generation") == Some(generation.to_string().as_str())
}

/// Scaled `maxUnavailable` / `maxSurge` (an int or a percentage of `total`, rounded up).
pub fn scaled(value: Option<&Value>, total: i64, default: i64, round_up: bool) -> i64 {
    match value {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(default),
        Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(pct) if round_up => (pct * total + 99) / 100,
            Some(pct) => pct * total / 100,
            None => s.parse().unwrap_or(default),
        },
        _ => default,
    }
}

fn sync_one(world: &World, ds: &Value, now: Timestamp, actions: &mut Vec<Action>) {
    let template = &ds["spec"]["template"];
    let pod_spec = &template["spec"];
    let hash = meta::template_hash(template);
    let generation = template_generation(ds);

    let mut by_node: HashMap<&str, Vec<&Value>> = HashMap::new();
    for pod in world.claim("Pod", ds, actions) {
        if !meta::is_terminating(pod) {
            by_node
                .entry(meta::str_at(pod, &["spec", "nodeName"]))
                .or_default()
                .push(pod);
        }
    }
    for pods in by_node.values_mut() {
        pods.sort_by_key(|p| {
            (
                meta::str_at(p, &["metadata", "creationTimestamp"]).to_string(),
                meta::name(p).to_string(),
            )
        });
    }

    let nodes = world.list("Node");
    let eligible: Vec<&Value> = nodes
        .iter()
        .filter(|n| scheduling::daemon_should_run(n, pod_spec))
        .collect();
    let desired = eligible.len() as i64;
    let strategy = &ds["spec"]["updateStrategy"];
    let rolling = meta::str_at(strategy, &["type"]) != "OnDelete";
    let max_surge = scaled(
        strategy.pointer("/rollingUpdate/maxSurge"),
        desired,
        0,
        true,
    );
    let mut max_unavailable = scaled(
        strategy.pointer("/rollingUpdate/maxUnavailable"),
        desired,
        1,
        true,
    );
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let min_ready = ds
        .pointer("/spec/minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);

    // Pods on nodes that should not run one go; eligible nodes without a pod get one.
    let eligible_names: HashSet<&str> = eligible.iter().map(|n| meta::name(n)).collect();
    for (node, pods) in &by_node {
        if !eligible_names.contains(node) {
            actions.extend(pods.iter().map(|p| Action::delete_of(p)));
        }
    }
    let mut unavailable = 0;
    let mut old_available: Vec<&Value> = Vec::new();
    let mut old_unavailable: Vec<&Value> = Vec::new();
    let mut surge_used = 0;
    for node in &eligible {
        let node_name = meta::name(node);
        let pods = by_node
            .get(node_name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (new, old): (Vec<&Value>, Vec<&Value>) =
            pods.iter().partition(|p| is_updated(p, &hash, generation));
        if let Some(failed) = pods.iter().find(|p| pods::phase(p) == "Failed") {
            actions.push(Action::delete_of(failed));
        }
        if pods.is_empty() {
            actions.push(Action::Create(daemon_pod(
                ds, template, &hash, generation, node_name,
            )));
            unavailable += 1;
            continue;
        }
        if !pods.iter().any(|p| pods::is_available(p, min_ready, now)) {
            unavailable += 1;
        }
        // Duplicates: keep one current pod.
        if new.len() > 1 {
            actions.extend(new[1..].iter().map(|p| Action::delete_of(p)));
        }
        if !rolling || old.is_empty() {
            continue;
        }
        match new.first() {
            // Surge: the new pod is up, the old ones can go.
            Some(n) if pods::is_available(n, min_ready, now) => {
                actions.extend(old.iter().map(|p| Action::delete_of(p)))
            }
            Some(_) => surge_used += 1,
            None => {
                for p in &old {
                    if pods::is_available(p, min_ready, now) {
                        old_available.push(p);
                    } else {
                        old_unavailable.push(p);
                    }
                }
            }
        }
    }
    if rolling {
        // Old pods that are not available anyway go first, then up to the unavailability budget;
        // with maxSurge the new pod starts beside the old one instead.
        actions.extend(old_unavailable.iter().map(|p| Action::delete_of(p)));
        if max_surge > 0 {
            for p in old_available
                .iter()
                .take((max_surge - surge_used).max(0) as usize)
            {
                let node = meta::str_at(p, &["spec", "nodeName"]);
                actions.push(Action::Create(daemon_pod(
                    ds, template, &hash, generation, node,
                )));
            }
        } else {
            let budget = (max_unavailable - unavailable).max(0) as usize;
            actions.extend(
                old_available
                    .iter()
                    .take(budget)
                    .map(|p| Action::delete_of(p)),
            );
        }
    }

    // Status, counted as storeDaemonSetStatus does (the oldest pod on each node speaks for it).
    let mut current = 0;
    let mut ready = 0;
    let mut available = 0;
    let mut updated = 0;
    for node in &eligible {
        let Some(pod) = by_node.get(meta::name(node)).and_then(|p| p.first()) else {
            continue;
        };
        current += 1;
        if pods::is_ready(pod) {
            ready += 1;
            if pods::is_available(pod, min_ready, now) {
                available += 1;
            }
        }
        if is_updated(pod, &hash, generation) {
            updated += 1;
        }
    }
    let misscheduled = by_node
        .keys()
        .filter(|node| !node.is_empty() && !eligible_names.contains(*node))
        .count();
    // Field presence follows the Go types: the last three are `omitempty`.
    let mut status = json!({
        "currentNumberScheduled": current,
        "desiredNumberScheduled": desired,
        "numberMisscheduled": misscheduled,
        "numberReady": ready,
        "observedGeneration": meta::generation(ds),
    });
    meta::insert_nonzero(&mut status, "updatedNumberScheduled", updated);
    meta::insert_nonzero(&mut status, "numberAvailable", available);
    meta::insert_nonzero(&mut status, "numberUnavailable", desired - available);
    if let Some(cc) = ds.pointer("/status/collisionCount") {
        status["collisionCount"] = cc.clone();
    }
    if ds.get("status") != Some(&status) {
        let mut out = ds.clone();
        out["status"] = status;
        actions.push(Action::UpdateStatus(out));
    }
}

/// A daemon pod pinned to `node` the way the controller does it: required node affinity on
/// `metadata.name`, the daemon tolerations, and the revision labels; bound directly (the default
/// scheduler would pick that node anyway).
fn daemon_pod(ds: &Value, template: &Value, hash: &str, generation: i64, node: &str) -> Value {
    let prefix = format!("{}-", meta::name(ds));
    let mut pod = pods::new_pod(
        ds,
        template,
        &prefix,
        &[
            ("controller-revision-hash", hash.to_string()),
            ("pod-template-generation", generation.to_string()),
        ],
    );
    let spec = &mut pod["spec"];
    let mut tolerations = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in scheduling::daemon_tolerations(spec) {
        if !tolerations.contains(&t) {
            tolerations.push(t);
        }
    }
    spec["tolerations"] = Value::Array(tolerations);
    spec["affinity"]["nodeAffinity"] = json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    ]}});
    spec["nodeName"] = json!(node);
    pod
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::testutil::*;

    fn kube_proxy() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system", "uid": "ds-uid", "generation": 1,
                         "annotations": {TEMPLATE_GENERATION: "1"}},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                     "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                  "spec": {"hostNetwork": true, "tolerations": [{"operator": "Exists"}],
                                           "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.36.0"}]}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}})
    }

    #[test]
    fn creates_one_pod_per_eligible_node_with_daemon_scheduling() {
        let world = World::new([three_nodes(), vec![kube_proxy()]].concat());
        let actions = sync(&world, now());
        let created = creates(&actions, "Pod");
        let mut nodes: Vec<&str> = created
            .iter()
            .map(|p| meta::str_at(p, &["spec", "nodeName"]))
            .collect();
        nodes.sort();
        assert_eq!(
            nodes,
            ["cp1", "w1", "w2"],
            "Exists toleration runs on the tainted control plane"
        );
        let pod = created[0];
        assert!(meta::name(pod).starts_with("kube-proxy-"));
        assert_eq!(meta::label(pod, "pod-template-generation"), Some("1"));
        assert!(meta::label(pod, "controller-revision-hash").is_some());
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "ds-uid");
        assert!(
            pod["spec"]["tolerations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["key"] == "node.kubernetes.io/unschedulable")
        );
        assert_eq!(
            pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                ["nodeSelectorTerms"][0]["matchFields"][0]["key"],
            "metadata.name"
        );
    }

    #[test]
    fn without_toleration_the_control_plane_is_skipped() {
        let mut ds = kube_proxy();
        ds["spec"]["template"]["spec"]["tolerations"] = json!([]);
        let world = World::new([three_nodes(), vec![ds]].concat());
        let actions = sync(&world, now());
        assert_eq!(creates(&actions, "Pod").len(), 2);
        let status = status_update(&actions, "DaemonSet").unwrap();
        assert_eq!(status["desiredNumberScheduled"], 2);
        assert_eq!(status["currentNumberScheduled"], 0);
        assert_eq!(status["numberUnavailable"], 2);
    }

    #[test]
    fn status_matches_the_real_shape_when_all_pods_ready() {
        let ds = kube_proxy();
        let hash = meta::template_hash(&ds["spec"]["template"]);
        let pods: Vec<Value> = ["cp1", "w1", "w2"]
            .iter()
            .map(|n| ready_pod(&ds, n, &hash))
            .collect();
        let world = World::new([three_nodes(), vec![ds], pods].concat());
        let actions = sync(&world, now());
        assert!(creates(&actions, "Pod").is_empty());
        assert_eq!(
            status_update(&actions, "DaemonSet").unwrap(),
            json!({"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 3, "numberMisscheduled": 0,
                   "numberReady": 3, "observedGeneration": 1, "updatedNumberScheduled": 3})
        );
    }

    #[test]
    fn changed_template_rolls_one_node_at_a_time() {
        let mut ds = kube_proxy();
        let old_hash = meta::template_hash(&ds["spec"]["template"]);
        let pods: Vec<Value> = ["cp1", "w1", "w2"]
            .iter()
            .map(|n| ready_pod(&ds, n, &old_hash))
            .collect();
        meta::set_annotation(
            &mut ds["spec"]["template"],
            "kubectl.kubernetes.io/restartedAt",
            "2026-11-25T10:00:00Z",
        );
        ds["metadata"]["generation"] = json!(2);
        ds["metadata"]["annotations"][TEMPLATE_GENERATION] = json!("2");
        let world = World::new([three_nodes(), vec![ds], pods].concat());
        let actions = sync(&world, now());
        assert_eq!(
            deletes(&actions).len(),
            1,
            "maxUnavailable 1: one old pod at a time"
        );
        let status = status_update(&actions, "DaemonSet").unwrap();
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(
            status.get("updatedNumberScheduled"),
            None,
            "omitempty when 0"
        );
        assert_eq!(status["numberReady"], 3);
    }

    #[test]
    fn no_deletion_while_a_node_is_already_unavailable() {
        let mut ds = kube_proxy();
        let old_hash = meta::template_hash(&ds["spec"]["template"]);
        let mut pods: Vec<Value> = ["cp1", "w1"]
            .iter()
            .map(|n| ready_pod(&ds, n, &old_hash))
            .collect();
        meta::set_annotation(
            &mut ds["spec"]["template"],
            "kubectl.kubernetes.io/restartedAt",
            "x",
        );
        ds["metadata"]["annotations"][TEMPLATE_GENERATION] = json!("2");
        let new_hash = meta::template_hash(&ds["spec"]["template"]);
        let mut pending = ready_pod(&ds, "w2", &new_hash);
        pending["status"] = json!({"phase": "Pending"});
        pods.push(pending);
        let world = World::new([three_nodes(), vec![ds], pods].concat());
        let actions = sync(&world, now());
        assert!(
            deletes(&actions).is_empty(),
            "w2's new pod is not ready yet: budget used"
        );
        assert_eq!(
            status_update(&actions, "DaemonSet").unwrap()["updatedNumberScheduled"],
            1
        );
    }

    #[test]
    fn orphans_matching_the_selector_are_adopted() {
        let ds = kube_proxy();
        let mut pod = ready_pod(&ds, "w1", "other");
        pod["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("ownerReferences");
        pod["metadata"]["labels"]["pod-template-generation"] = json!("1");
        let world = World::new([three_nodes(), vec![ds, pod]].concat());
        let actions = sync(&world, now());
        let adopted = actions.iter().find_map(|a| match a {
            Action::Update(p) if p["kind"] == "Pod" => Some(p),
            _ => None,
        });
        assert_eq!(
            adopted.unwrap()["metadata"]["ownerReferences"][0]["uid"],
            "ds-uid"
        );
        assert_eq!(
            creates(&actions, "Pod").len(),
            2,
            "w1 is covered by the adopted pod"
        );
        assert_eq!(
            status_update(&actions, "DaemonSet").unwrap()["updatedNumberScheduled"],
            1,
            "legacy generation label counts as updated"
        );
    }

    #[test]
    fn percentages_scale_up() {
        assert_eq!(scaled(Some(&json!("10%")), 3, 1, true), 1);
        assert_eq!(scaled(Some(&json!("25%")), 10, 1, true), 3);
        assert_eq!(scaled(Some(&json!("25%")), 10, 1, false), 2);
        assert_eq!(scaled(Some(&json!(2)), 10, 1, true), 2);
        assert_eq!(scaled(None, 10, 1, true), 1);
    }
}
