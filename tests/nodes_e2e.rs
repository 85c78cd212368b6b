//! `--nodes` end to end: the real binary starts node-check pods on kube-sim (or a real
//! cluster from LBCTL_E2E_KUBECONFIG where a test needs no sim control). The node logs kube-sim
//! serves are the real script's output, run with `sh` over fixture proc trees, so the sim and
//! the script cannot drift apart.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Cluster, Sim, output_text};

/// Pods lbctl created (POST answered 201) and pods it deleted (DELETE of a named pod).
fn pod_creates_and_deletes(cluster: &Cluster) -> (usize, Vec<String>) {
    let requests = cluster.requests();
    let created = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/pods") && r.status == 201)
        .count();
    let mut deleted: Vec<String> = requests
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.contains("/pods/lbctl-node-check-"))
        .map(|r| r.path.rsplit('/').next().unwrap().to_string())
        .collect();
    deleted.sort();
    deleted.dedup();
    (created, deleted)
}

fn node_check_pods_left(cluster: &Cluster) -> Vec<String> {
    cluster
        .sim()
        .store()
        .list("v1", "Pod", None)
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app.kubernetes.io/name"] == "lbctl-node-check")
        .map(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn json_of(output: &std::process::Output) -> Value {
    let (stdout, stderr) = output_text(output);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {stdout}\nstderr: {stderr}"))
}

#[test]
fn a_bad_selector_is_a_usage_error_before_any_request() {
    let Some(cluster) = Cluster::sim_only("bad selector", Sim::scenario("kubeadm-ipvs")) else {
        return;
    };
    let out = cluster
        .lbctl()
        .args(["preflight", "--nodes", "role in worker", "--no-probe"])
        .output()
        .unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--nodes \"role in worker\""), "{stderr}");
    assert!(cluster.requests().is_empty(), "nothing is contacted");
}

#[test]
fn a_selector_matching_no_node_creates_nothing() {
    let cluster = Cluster::start(Sim::scenario("kubeadm-ipvs"));
    for command in ["preflight", "doctor"] {
        let out = cluster
            .lbctl()
            .args([command, "--nodes", "lbctl.io/no-such-label=x", "--no-probe"])
            .output()
            .unwrap();
        let (_, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(stderr.contains("no node matches"), "{stderr}");
        assert!(
            stderr.contains("kubectl get nodes --show-labels"),
            "{stderr}"
        );
    }
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
    }
}

#[test]
fn missing_pod_permissions_stop_before_any_pod() {
    let sim = Sim::scenario("kubeadm-ipvs").user(
        "reader",
        r#"
- { apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch] }
"#,
    );
    let Some(cluster) = Cluster::sim_only("missing permissions", sim) else {
        return;
    };
    let out = cluster
        .lbctl_as("reader")
        .args([
            "preflight",
            "--nodes",
            "all",
            "--node-namespace",
            "lbctl-checks",
            "--no-probe",
        ])
        .output()
        .unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot create pods in namespace \"lbctl-checks\""),
        "{stderr}"
    );
    assert!(stderr.contains("delete pods"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
}

#[test]
fn pods_that_time_out_are_deleted_and_reported_per_node() {
    // The simulated kubelet never gets the pods going within the timeout.
    let sim = Sim::scenario("kubeadm-ipvs").setting("podReadyDelay", json!("1h"));
    let Some(cluster) = Cluster::sim_only("timeout cleanup", sim) else {
        return;
    };
    let out = cluster
        .lbctl()
        .args([
            "-o",
            "json",
            "preflight",
            "--nodes",
            "all",
            "--node-timeout",
            "2s",
            "--no-probe",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    // LB111 fails (IPVS without strictARP): a failure outranks the errors.
    assert_eq!(out.status.code(), Some(1), "{:?}", output_text(&out));
    let report = json_of(&out);
    let lb200: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "LB200")
        .collect();
    let nodes: Vec<&str> = lb200.iter().map(|c| c["node"].as_str().unwrap()).collect();
    assert_eq!(nodes, ["cp1", "w1", "w2"]);
    for c in &lb200 {
        assert_eq!(c["status"], "error", "{c}");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("no result within 2s"),
            "{c}"
        );
    }
    assert_eq!(report["nodes"].as_array().unwrap().len(), 3);
    let (created, deleted) = pod_creates_and_deletes(&cluster);
    assert_eq!(created, 3);
    assert_eq!(
        deleted.len(),
        3,
        "every created pod was deleted: {deleted:?}"
    );
    assert!(node_check_pods_left(&cluster).is_empty());
}
