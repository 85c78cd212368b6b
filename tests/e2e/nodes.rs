//! `--nodes` end to end: the real binary starts node-check pods on both backends (kube-sim, and
//! the real control plane whose kubelets kube-sim's agent plays: its `pods/log` proxy calls the
//! agent's kubelets). The node logs are the real script's output, run with `sh` over fixture proc
//! trees, so the simulated kubelets and the script cannot drift apart. What only kube-sim can
//! show (its request log: which pods were created and deleted, in which order, "nothing was
//! contacted") is checked there; every test also asserts what both backends show (no node-check
//! pod is left behind).

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::node_facts::{TCP_7946, TCP_HEADER, UDP_7946, node_log};
use support::{Cluster, Sim, kubeadm_with, output_text};

/// Pods lbctl created (POST answered 201) and pods it deleted (DELETE of a named pod), from
/// kube-sim's request log.
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

/// The run created one node-check pod per node and removed each (kube-sim's request log shows
/// both), and none is left (on every backend).
fn assert_pods_created_and_removed(cluster: &Cluster, pods: usize) {
    if cluster.is_sim() {
        let (created, deleted) = pod_creates_and_deletes(cluster);
        assert_eq!((created, deleted.len()), (pods, pods));
    }
    assert_eq!(node_check_pods_left(cluster), Vec::<String>::new());
}

/// Node-check pods that exist now, in any namespace (`namespace/name`).
fn node_check_pods_left(cluster: &Cluster) -> Vec<String> {
    let pods: Vec<Value> = if cluster.is_sim() {
        cluster.sim().store().list("v1", "Pod", None)
    } else {
        let out = cluster
            .kubectl()
            .args(["get", "pods", "--all-namespaces", "-o", "json"])
            .args(["-l", "app.kubernetes.io/name=lbctl-node-check"])
            .output()
            .expect("running kubectl");
        assert!(out.status.success(), "{:?}", output_text(&out));
        let list: Value = serde_json::from_slice(&out.stdout).expect("kubectl's JSON");
        list["items"].as_array().cloned().unwrap_or_default()
    };
    pods.iter()
        .filter(|p| p["metadata"]["labels"]["app.kubernetes.io/name"] == "lbctl-node-check")
        .map(|p| {
            format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap_or_default(),
                p["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Changes a Node as a controller or `kubectl` would (spec and status).
fn edit_node(cluster: &Cluster, name: &str, edit: impl FnOnce(&mut Value)) {
    let mut node = cluster
        .get("v1", "Node", None, name)
        .unwrap_or_else(|| panic!("node {name}"));
    edit(&mut node);
    cluster.apply_object(node);
}

/// Reasons of the events about an object of `namespace` named `name`.
fn event_reasons(cluster: &Cluster, namespace: &str, name: &str) -> Vec<String> {
    let events: Vec<Value> = if cluster.is_sim() {
        cluster.sim().store().list("v1", "Event", Some(namespace))
    } else {
        let out = cluster
            .kubectl()
            .args(["get", "events", "-n", namespace, "-o", "json"])
            .output()
            .expect("running kubectl");
        assert!(out.status.success(), "{:?}", output_text(&out));
        let list: Value = serde_json::from_slice(&out.stdout).expect("kubectl's JSON");
        list["items"].as_array().cloned().unwrap_or_default()
    };
    events
        .iter()
        .filter(|e| e["involvedObject"]["name"] == name)
        .filter_map(|e| e["reason"].as_str().map(str::to_string))
        .collect()
}

fn json_of(output: &std::process::Output) -> Value {
    let (stdout, stderr) = output_text(output);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {stdout}\nstderr: {stderr}"))
}

/// A node ready for MetalLB L2 with IPVS and strictARP, before MetalLB is installed
/// (port 7946 free).
fn strict_node_log() -> String {
    node_log(
        "ipvs-strictarp-node",
        &[("net/tcp", TCP_HEADER.to_string())],
    )
}

/// The same node, but kube-proxy never applied strictARP: arp_ignore 0 everywhere.
fn lax_node_log() -> String {
    node_log(
        "ipvs-strictarp-node",
        &[
            ("net/tcp", TCP_HEADER.to_string()),
            ("sys/net/ipv4/conf/all/arp_ignore", "0\n".into()),
            ("sys/net/ipv4/conf/all/arp_announce", "0\n".into()),
        ],
    )
}

/// A node running MetalLB's speaker: 7946 in use for TCP and UDP.
fn speaker_node_log() -> String {
    node_log(
        "ipvs-strictarp-node",
        &[
            ("net/tcp", format!("{TCP_HEADER}{TCP_7946}")),
            ("net/udp", format!("{TCP_HEADER}{UDP_7946}")),
        ],
    )
}

/// `lbctl -o json preflight --nodes all --no-probe EXTRA...`: exit code and report.
fn preflight_nodes(cluster: &Cluster, extra: &[&str]) -> (Option<i32>, Value) {
    let out = cluster
        .lbctl()
        .args(["-o", "json", "preflight", "--nodes", "all", "--no-probe"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code(), json_of(&out))
}

fn checks_with_id<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

fn strictarp(cluster: &Cluster) {
    let out = cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
}

on_both_backends! {
fn every_node_passes_after_enable_strictarp(backend) {
    // The scenario's nodes booted with arp_ignore=0; the restarted kube-proxy sets the sysctls
    // (kube-sim's host effects), as on a real node.
    let sim = Sim::scenario("kubeadm-ipvs");
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    strictarp(&cluster);
    let junit = cluster.kubeconfig().with_file_name("nodes.xml");
    let out = cluster
        .lbctl()
        .args(["-o", "json", "preflight", "--nodes", "all", "--no-probe"])
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let report = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let lb201 = checks_with_id(&report, "LB201");
    let nodes: Vec<&str> = lb201.iter().map(|c| c["node"].as_str().unwrap()).collect();
    assert_eq!(nodes, ["cp1", "w1", "w2"]);
    for c in checks_with_id(&report, "LB200").iter().chain(&lb201) {
        assert_eq!(c["status"], "pass", "{c}");
    }
    assert!(
        lb201[0]["message"]
            .as_str()
            .unwrap()
            .contains("eth0: arp_ignore=1 arp_announce=2")
    );
    let summary: Vec<(&str, &str)> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["node"].as_str().unwrap(), n["status"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, [("cp1", "pass"), ("w1", "pass"), ("w2", "pass")]);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("name=\"LB201 w2 ARP sysctls for the kube-proxy mode\""),
        "{xml}"
    );
    assert_pods_created_and_removed(&cluster, 3);
}
}

on_both_backends! {
fn a_node_without_strict_arp_fails_by_name(backend) {
    // w2's sysctls stay as booted although kube-proxy restarts with strictARP (something on the
    // node resets them): the facts are served verbatim.
    let sim = Sim::scenario("kubeadm-ipvs")
        .setting(
            "nodeFacts",
            json!({ "*": strict_node_log(), "w2": lax_node_log() }),
        )
        .setting("hostEffects", json!(false));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    strictarp(&cluster);
    let junit = cluster.dir().join("nodes.xml");
    let out = cluster
        .lbctl()
        .args(["preflight", "--nodes", "all", "--no-probe", "--junit"])
        .arg(&junit)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<property name=\"nodes\" value=\"3 checked; fail on w2 (LB201)\"/>"),
        "{xml}"
    );
    assert!(stdout.contains("✔ LB201 w1 ARP sysctls"), "{stdout}");
    assert!(
        stdout.contains("✖ LB201 w2 ARP sysctls for the kube-proxy mode: IPVS mode needs arp_ignore>=1 and arp_announce=2 in force, found eth0: arp_ignore=0 arp_announce=0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("strictARP is on but kube-proxy has not applied it here"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nnodes: 3 checked; fail on w2 (LB201)\n"),
        "{stdout}"
    );

    // --ignore LB201 covers every node.
    let out = cluster
        .lbctl()
        .args([
            "preflight",
            "--nodes",
            "kubernetes.io/hostname in (w1,w2)",
            "--no-probe",
            "--ignore",
            "LB201",
        ])
        .output()
        .unwrap();
    let (stdout, _) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("! LB201 w2"), "{stdout}");
    assert!(
        !stdout.contains("LB201 cp1"),
        "the selector leaves cp1 out: {stdout}"
    );
}
}

on_both_backends! {
fn a_node_that_is_not_ready_is_an_error_without_a_pod(backend) {
    let sim = Sim::scenario("kubeadm-ipvs").setting("nodeFacts", json!({ "*": strict_node_log() }));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    edit_node(&cluster, "w2", |w2| {
        for c in w2["status"]["conditions"].as_array_mut().unwrap() {
            if c["type"] == "Ready" {
                c["status"] = json!("Unknown");
                c["reason"] = json!("NodeStatusUnknown");
                c["message"] = json!("Kubelet stopped posting node status.");
            }
        }
    });
    let (_, report) = preflight_nodes(&cluster, &[]);
    let lb200 = checks_with_id(&report, "LB200");
    let w2 = lb200.iter().find(|c| c["node"] == "w2").unwrap();
    assert_eq!(w2["status"], "error");
    assert_eq!(
        w2["message"],
        "node w2 could not be checked: the node is not Ready (Ready=Unknown; NodeStatusUnknown: Kubelet stopped posting node status.); no pod was started"
    );
    assert_eq!(w2["hint"], "kubectl describe node w2");
    assert!(
        lb200
            .iter()
            .filter(|c| c["node"] != "w2")
            .all(|c| c["status"] == "pass")
    );
    if cluster.is_sim() {
        let (created, deleted) = pod_creates_and_deletes(&cluster);
        assert_eq!((created, deleted.len()), (2, 2), "no pod for w2");
    }
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

on_both_backends! {
fn doctor_expects_the_speaker_on_port_7946(backend) {
    // w1's speaker is ready but nothing listens on 7946 (memberlist off): facts verbatim.
    let sim = Sim::scenario("metallb-healthy")
        .setting(
            "nodeFacts",
            json!({ "*": speaker_node_log(), "w1": strict_node_log() }),
        )
        .setting("hostEffects", json!(false));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let out = cluster
        .lbctl()
        .args(["-o", "json", "doctor", "--nodes", "all", "--no-probe"])
        .output()
        .unwrap();
    let report = json_of(&out);
    let lb206 = checks_with_id(&report, "LB206");
    let status: Vec<(&str, &str)> = lb206
        .iter()
        .map(|c| (c["node"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [("cp1", "pass"), ("w1", "warn"), ("w2", "pass")],
        "{report:#}"
    );
    assert!(
        lb206[1]["message"]
            .as_str()
            .unwrap()
            .contains("no speaker runs memberlist")
    );
    for c in checks_with_id(&report, "LB201") {
        assert_eq!(c["status"], "pass", "{c}");
    }
    // The node checks sit between kube-proxy's and MetalLB's.
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let first_node = ids.iter().position(|i| *i == "LB200").unwrap();
    assert_eq!(ids[first_node - 1], "LB112");
    assert_eq!(out.status.code(), Some(0), "{report:#}");

    // Without --nodes doctor is unchanged: no node checks.
    let out = cluster
        .lbctl()
        .args(["-o", "json", "doctor", "--no-probe"])
        .output()
        .unwrap();
    let report = json_of(&out);
    assert!(checks_with_id(&report, "LB201").is_empty());
    assert!(report.get("nodes").is_none());
}
}

/// kube-sim only: lbctl refuses the flags before it contacts any server, so the point is
/// kube-sim's empty request log; a real server could add nothing.
#[test]
fn a_bad_selector_is_a_usage_error_before_any_request_sim_only() {
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
    let out = cluster
        .lbctl()
        .args(["preflight", "--nodes", "role in (", "--no-probe"])
        .output()
        .unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unterminated list after \"in\": \"(\" has no closing \")\""),
        "{stderr}"
    );
    let out = cluster
        .lbctl()
        .args(["doctor", "--nodes", "all", "--node-timeout", "0"])
        .output()
        .unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--node-timeout must be longer than 0"),
        "{stderr}"
    );
    assert!(cluster.requests().is_empty(), "nothing is contacted");
}

on_both_backends! {
fn a_selector_matching_no_node_creates_nothing(backend) {
    let Some(cluster) = Sim::scenario("kubeadm-ipvs").on(backend) else {
        return;
    };
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
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

on_both_backends! {
fn a_pod_namespace_that_is_missing_or_restricted_creates_nothing(backend) {
    let sim = Sim::scenario("kubeadm-ipvs");
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    cluster.apply_object(json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "locked",
            "labels": { "pod-security.kubernetes.io/enforce": "restricted" }
        }
    }));
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    for (ns, want) in [
        (
            "nosuch",
            "--node-namespace nosuch: the namespace does not exist",
        ),
        (
            "locked",
            "--node-namespace locked enforces Pod Security level restricted",
        ),
    ] {
        let out = cluster
            .lbctl()
            .args([
                "doctor",
                "--nodes",
                "all",
                "--node-namespace",
                ns,
                "--no-probe",
            ])
            .output()
            .unwrap();
        let (_, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
        assert!(
            stderr.contains("pod-security.kubernetes.io/enforce=privileged"),
            "{stderr}"
        );
    }
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
    }
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

on_both_backends! {
fn missing_pod_permissions_stop_before_any_pod(backend) {
    let sim = Sim::scenario("kubeadm-ipvs").user(
        "reader",
        r#"
- { apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch] }
"#,
    );
    let Some(cluster) = sim.on(backend) else {
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
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
    }
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

on_both_backends! {
fn pods_that_time_out_are_deleted_and_reported_per_node(backend) {
    // The simulated kubelet never gets the pods going within the timeout; on w1 it cannot
    // even mount /lib/modules and says so in a warning event.
    let sim = Sim::scenario("kubeadm-ipvs")
        .setting("podReadyDelay", json!("1h"))
        .setting("missingHostPaths", json!(["/lib/modules@w1"]));
    let Some(cluster) = sim.on(backend) else {
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
        let message = c["message"].as_str().unwrap();
        assert!(message.contains("no result within 2s"), "{c}");
        // The reason: w1's from its pod's events, the others' from their container status.
        let reason = if c["node"] == "w1" {
            "FailedMount: MountVolume.SetUp failed for volume \"lib-modules\" : hostPath type check failed: /lib/modules is not a directory"
        } else {
            "the pod is Pending, its container waits: ContainerCreating"
        };
        assert!(message.ends_with(reason), "{c}");
    }
    assert_eq!(report["nodes"].as_array().unwrap().len(), 3);
    if cluster.is_sim() {
        let (created, deleted) = pod_creates_and_deletes(&cluster);
        assert_eq!(created, 3);
        assert_eq!(
            deleted.len(),
            3,
            "every created pod was deleted: {deleted:?}"
        );
    }
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

/// The rules of the Role in docs/node-checks.md, for a kube-sim user in `namespace`: the test
/// below holds the documentation to them.
fn documented_role(namespace: &str) -> String {
    let doc = std::fs::read_to_string(support::root().join("docs/node-checks.md")).unwrap();
    let role = doc
        .split("kind: Role\n")
        .nth(1)
        .and_then(|r| r.split("---").next())
        .expect("docs/node-checks.md has the Role");
    let rules: Vec<String> = role
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("- { apiGroups:"))
        .map(|l| format!("{}, namespaces: [{namespace}] }}", l.trim_end_matches(" }")))
        .collect();
    assert!(rules.len() >= 2, "{role}");
    rules.join("\n")
}

on_both_backends! {
fn the_documented_role_is_enough_and_a_timeout_says_what_the_pod_does(backend) {
    let rules = format!(
        r#"
- {{ apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch], namespaces: [kube-system, default] }}
- {{ apiGroups: ["*"], resources: [nodes, namespaces], verbs: [get, list, watch] }}
{}
"#,
        documented_role("lbctl")
    );
    // The namespace is the scenario's, so the Role can be made in it on the real server.
    let sim = kubeadm_with("  - { apiVersion: v1, kind: Namespace, metadata: { name: lbctl } }\n")
        .setting("podReadyDelay", json!("1h"))
        .user("jane", &rules);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let out = cluster
        .lbctl_as("jane")
        .args([
            "-o",
            "json",
            "preflight",
            "--nodes",
            "all",
            "--node-namespace",
            "lbctl",
        ])
        .args(["--node-timeout", "2s", "--no-probe"])
        .output()
        .unwrap();
    let report = json_of(&out);
    let lb200 = checks_with_id(&report, "LB200");
    assert_eq!(lb200.len(), 3, "{report:#}");
    for c in &lb200 {
        let message = c["message"].as_str().unwrap();
        assert!(
            message.contains("no result within 2s")
                && message.contains("its container waits: ContainerCreating"),
            "{message}"
        );
    }
    if cluster.is_sim() {
        let refused: Vec<String> = cluster
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/namespaces/lbctl/") && r.status == 403)
            .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
            .collect();
        assert!(refused.is_empty(), "{refused:?}");
    }
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

on_both_backends! {
/// lbctl may not read the namespace, so it cannot see that it enforces `restricted`: the API
/// server's Pod Security admission refuses every pod, and each node's LB200 quotes it.
fn a_namespace_that_rejects_privileged_pods_is_an_error_per_node_with_the_servers_reason(backend) {
    let rules = format!(
        r#"
- {{ apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch], namespaces: [kube-system, default] }}
- {{ apiGroups: [""], resources: [nodes], verbs: [get, list, watch] }}
{}
"#,
        documented_role("locked")
    );
    let sim = kubeadm_with(
        "  - { apiVersion: v1, kind: Namespace, metadata: { name: locked, labels: { pod-security.kubernetes.io/enforce: restricted } } }\n",
    )
    .setting("nodeFacts", json!({ "*": strict_node_log() }))
    .user("jane", &rules);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let out = cluster
        .lbctl_as("jane")
        .args(["-o", "json", "preflight", "--nodes", "all"])
        .args(["--node-namespace", "locked", "--no-probe"])
        .output()
        .unwrap();
    let report = json_of(&out);
    let lb200 = checks_with_id(&report, "LB200");
    assert_eq!(lb200.len(), 3, "{report:#}");
    for c in &lb200 {
        assert_eq!(c["status"], "error", "{c}");
        let message = c["message"].as_str().unwrap();
        let node = c["node"].as_str().unwrap();
        let prefix = format!(
            "node {node} could not be checked: the node-check pod was refused: pods \"lbctl-node-check-"
        );
        assert!(message.starts_with(&prefix), "{message}");
        assert!(
            message.ends_with(
                "\" is forbidden: violates PodSecurity \"restricted:latest\": host namespaces (hostNetwork=true), restricted volume types (volume \"lib-modules\" uses restricted volume type \"hostPath\")"
            ),
            "{message}"
        );
        assert!(
            c["hint"]
                .as_str()
                .unwrap()
                .contains("pod-security.kubernetes.io/enforce=privileged"),
            "{c}"
        );
    }
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

/// kube-sim only (an admission hook): a namespace created moments before lbctl runs has no
/// ServiceAccount `default` until kube-controller-manager makes it, and the real API server
/// refuses pods there until then, with the 403 below (recorded from v1.36). A real server's
/// controller cannot be held back on demand, so the refusals are kube-sim's.
#[test]
fn pods_refused_until_the_service_account_exists_are_created_again_sim_only() {
    use kube_sim::{AdmissionRequest, Operation, Status, Store};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let refusals = Arc::new(AtomicUsize::new(0));
    let counted = refusals.clone();
    let hook = Arc::new(move |req: &AdmissionRequest, _: &Store| {
        if req.operation != Operation::Create
            || req.resource != "pods"
            || req.namespace != "default"
            || counted.fetch_add(1, Ordering::SeqCst) >= 4
        {
            return Ok(());
        }
        let prefix = req.object.as_ref().unwrap()["metadata"]["generateName"]
            .as_str()
            .unwrap()
            .to_string();
        Err(Status::forbidden(
            "",
            "pods",
            &prefix,
            "error looking up service account default/default: serviceaccount \"default\" not found",
        ))
    });
    let sim = Sim::scenario("kubeadm-ipvs")
        .setting("nodeFacts", json!({ "*": strict_node_log() }))
        .admission(hook);
    let Some(cluster) = Cluster::sim_only("ServiceAccount not there yet", sim) else {
        return;
    };
    let (_, report) = preflight_nodes(&cluster, &[]);
    assert!(refusals.load(Ordering::SeqCst) > 4, "the hook refused pods");
    for c in checks_with_id(&report, "LB200") {
        assert_eq!(c["status"], "pass", "{c}");
    }
    let (created, deleted) = pod_creates_and_deletes(&cluster);
    assert_eq!((created, deleted.len()), (3, 3));

    // A ServiceAccount that never appears: the refusal, and how to make the account.
    let cluster = Cluster::sim_only(
        "ServiceAccount never there",
        Sim::scenario("kubeadm-ipvs").admission(Arc::new(|req: &AdmissionRequest, _: &Store| {
            if req.operation == Operation::Create && req.resource == "pods" {
                return Err(Status::forbidden(
                    "",
                    "pods",
                    "lbctl-node-check-",
                    "error looking up service account default/default: serviceaccount \"default\" not found",
                ));
            }
            Ok(())
        })),
    )
    .unwrap();
    let (_, report) = preflight_nodes(&cluster, &["--node-timeout", "2s"]);
    for c in checks_with_id(&report, "LB200") {
        assert_eq!(c["status"], "error", "{c}");
        assert!(
            c["message"].as_str().unwrap().ends_with(
                "the node-check pod was refused: pods \"lbctl-node-check-\" is forbidden: error looking up service account default/default: serviceaccount \"default\" not found"
            ),
            "{c}"
        );
        assert!(
            c["hint"]
                .as_str()
                .unwrap()
                .contains("kubectl -n default create serviceaccount default"),
            "{c}"
        );
    }
}

/// kube-sim only: the order of the requests is the point (a real server keeps no log of them).
#[test]
fn with_concurrency_1_each_pod_is_deleted_before_the_next_is_created_sim_only() {
    let sim = Sim::scenario("kubeadm-ipvs").setting("nodeFacts", json!({ "*": strict_node_log() }));
    let Some(cluster) = Cluster::sim_only("--node-concurrency 1", sim) else {
        return;
    };
    let (_, report) = preflight_nodes(&cluster, &["--node-concurrency", "1"]);
    assert_eq!(checks_with_id(&report, "LB200").len(), 3, "{report:#}");
    // Creates and deletes of node-check pods, in the order kube-sim served them.
    let order: String = cluster
        .requests()
        .iter()
        .filter_map(|r| match r.method.as_str() {
            "POST" if r.path.ends_with("/pods") && r.status == 201 => Some('C'),
            "DELETE" if r.path.contains("/pods/lbctl-node-check-") => Some('D'),
            _ => None,
        })
        .collect();
    assert_eq!(order, "CDCDCD");
}

on_both_backends! {
fn a_cordoned_node_with_a_no_execute_taint_is_still_checked(backend) {
    let sim = Sim::scenario("kubeadm-ipvs").setting("nodeFacts", json!({ "*": strict_node_log() }));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    // `kubectl cordon w2` plus a NoExecute taint, as node maintenance or a drain leaves it.
    edit_node(&cluster, "w2", |w2| {
        w2["spec"]["unschedulable"] = json!(true);
        w2["spec"]["taints"] = json!([
            { "key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule" },
            { "key": "maintenance", "value": "kernel", "effect": "NoExecute" },
        ]);
    });
    // The taint bites: a pod pinned to w2 that does not tolerate it never runs. The kubelet
    // rejects it (TaintToleration); on a real control plane the taint eviction controller may
    // delete it first (TaintManagerEviction; kube-sim has no such controller). Either leaves its
    // Warning or Normal event behind, also once the pod is gone.
    cluster.apply_object(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": "intolerant", "namespace": "default" },
        "spec": {
            "nodeName": "w2",
            "restartPolicy": "Never",
            "containers": [{ "name": "c", "image": "busybox:1.37" }]
        }
    }));
    let mut seen = Vec::new();
    let bitten = cluster.eventually(Duration::from_secs(10), |c| {
        seen = event_reasons(c, "default", "intolerant");
        seen.iter()
            .any(|r| r == "TaintToleration" || r == "TaintManagerEviction")
    });
    assert!(bitten, "events about the intolerant pod: {seen:?}");
    let intolerant = cluster.get("v1", "Pod", Some("default"), "intolerant");
    assert!(
        intolerant
            .as_ref()
            .is_none_or(|p| p["status"]["phase"] != "Running"),
        "{intolerant:?}"
    );

    let (_, report) = preflight_nodes(&cluster, &["--node-timeout", "5m"]);
    let lb201 = checks_with_id(&report, "LB201");
    let w2 = lb201
        .iter()
        .find(|c| c["node"] == "w2")
        .expect("w2 has a result");
    assert_eq!(w2["status"], "pass", "{w2}");
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

/// The real binary, spawned so a test can signal it (assert_cmd only runs to the end).
fn spawn_lbctl(cluster: &Cluster, args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_lbctl"))
        .env_remove("KUBECONFIG")
        .env("HOME", cluster.dir())
        .env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends SIGINT as a terminal's Ctrl-C does, then waits (up to 30 s) for the process to end:
/// its exit code and stderr.
fn interrupt(child: std::process::Child) -> (Option<i32>, String) {
    signal(child, libc::SIGINT)
}

/// Sends `signal`, then waits (up to 30 s) for the process to end: its exit code (None when the
/// signal killed it) and stderr.
fn signal(mut child: std::process::Child, signal: i32) -> (Option<i32>, String) {
    unsafe { libc::kill(child.id() as i32, signal) };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("lbctl did not stop after signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), output_text(&out).1)
}

on_both_backends! {
fn ctrl_c_deletes_the_pods_of_the_run(backend) {
    let sim = Sim::scenario("kubeadm-ipvs").setting("podReadyDelay", json!("1h"));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let child = spawn_lbctl(
        &cluster,
        &[
            "preflight",
            "--nodes",
            "all",
            "--node-timeout",
            "5m",
            "--no-probe",
        ],
    );
    let started = cluster.eventually(Duration::from_secs(30), |c| {
        node_check_pods_left(c).len() == 3
    });
    let (code, stderr) = interrupt(child);
    assert!(started, "three node-check pods were created");
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        stderr, "interrupted: deleted 3 node-check pod(s) in namespace default\n",
        "the cleanup is said once, without an error label"
    );
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
    if cluster.is_sim() {
        let (created, deleted) = pod_creates_and_deletes(&cluster);
        assert_eq!((created, deleted.len()), (3, 3));
    }
}
}

on_both_backends! {
/// SIGTERM (a CI runner cancelling the job, `kill`) and SIGHUP (the SSH session dropped) while
/// the privileged pods run are handled as Ctrl-C is: the pods are deleted, then lbctl exits
/// with 128 + the signal's number.
fn sigterm_and_sighup_delete_the_pods_of_the_run(backend) {
    let sim = Sim::scenario("kubeadm-ipvs").setting("podReadyDelay", json!("1h"));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    for (number, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        if cluster.is_sim() {
            cluster.clear_requests();
        }
        let child = spawn_lbctl(
            &cluster,
            &["doctor", "--nodes", "all", "--node-timeout", "5m", "--no-probe"],
        );
        let started = cluster.eventually(Duration::from_secs(30), |c| {
            node_check_pods_left(c).len() == 3
        });
        let (code, stderr) = signal(child, number);
        assert!(started, "{name}: three node-check pods were created");
        assert_eq!(code, Some(128 + number), "{name}: {stderr}");
        assert_eq!(
            stderr,
            format!("interrupted by {name}: deleted 3 node-check pod(s) in namespace default\n"),
        );
        assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new(), "{name}");
        if cluster.is_sim() {
            let (created, deleted) = pod_creates_and_deletes(&cluster);
            assert_eq!((created, deleted.len()), (3, 3), "{name}");
        }
    }
}
}

on_both_backends! {
/// Ctrl-C after the node stage (whose Ctrl-C handling once swallowed every later Ctrl-C) ends
/// the `--wait` loop at once.
fn ctrl_c_during_wait_after_the_node_stage_ends_the_run(backend) {
    use std::io::BufRead;
    // The workers' speakers never become ready: doctor keeps waiting for them.
    let sim = Sim::scenario("metallb-speakers-not-ready")
        .setting("nodeFacts", json!({ "*": speaker_node_log() }));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let mut child = spawn_lbctl(
        &cluster,
        &["doctor", "--nodes", "all", "--no-probe", "--wait", "5m"],
    );
    // Each round that leaves checks pending prints "waiting for ..." (stderr is no terminal).
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    while !first.starts_with("waiting for ") {
        first.clear();
        assert_ne!(stderr.read_line(&mut first).unwrap(), 0, "no wait round");
    }
    if cluster.is_sim() {
        let (created, deleted) = pod_creates_and_deletes(&cluster);
        assert_eq!((created, deleted.len()), (3, 3), "the node stage is over");
    }
    assert_eq!(
        node_check_pods_left(&cluster),
        Vec::<String>::new(),
        "the node stage is over"
    );
    let (code, _) = interrupt(child);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(code, Some(130), "{first}{rest}");
    assert!(rest.ends_with("interrupted\n"), "{first}{rest}");
    assert!(!rest.contains("error:"), "{rest}");
}
}

on_both_backends! {
fn pods_left_by_an_earlier_run_are_removed(backend) {
    let sim = Sim::scenario("kubeadm-ipvs").setting("nodeFacts", json!({ "*": strict_node_log() }));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    // A pod of a run that was killed after its pod ended.
    let mut old = serde_json::to_value(lbctl::facts::nodes::pod::manifest(
        "w1",
        "oldrun",
        "busybox:1.37",
        Duration::from_secs(60),
    ))
    .unwrap();
    old["metadata"]["name"] = json!("lbctl-node-check-old");
    old["metadata"]["namespace"] = json!("default");
    cluster.apply_object(old);
    assert!(cluster.eventually(Duration::from_secs(10), |c| {
        c.get("v1", "Pod", Some("default"), "lbctl-node-check-old")
            .is_some_and(|p| p["status"]["phase"] == "Succeeded")
    }));
    let out = cluster
        .lbctl()
        .args(["preflight", "--nodes", "all", "--no-probe"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(2), "{:?}", output_text(&out));
    if cluster.is_sim() {
        let (_, deleted) = pod_creates_and_deletes(&cluster);
        assert!(
            deleted.contains(&"lbctl-node-check-old".to_string()),
            "{deleted:?}"
        );
    }
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

on_both_backends! {
fn an_image_that_cannot_be_pulled_is_an_error_at_once(backend) {
    let sim = Sim::scenario("kubeadm-ipvs")
        .setting("nodeFacts", json!({ "*": strict_node_log() }))
        .setting(
            "imagePullFailures",
            json!(["registry.invalid/busybox:1.37@w1"]),
        );
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let started = std::time::Instant::now();
    let (_, report) = preflight_nodes(
        &cluster,
        &[
            "--node-image",
            "registry.invalid/busybox:1.37",
            "--node-timeout",
            "5m",
        ],
    );
    // Not a wait for the 5 minute timeout: the pull failure ends it.
    assert!(started.elapsed() < Duration::from_secs(60));
    let lb200 = checks_with_id(&report, "LB200");
    let w1 = lb200.iter().find(|c| c["node"] == "w1").unwrap();
    assert_eq!(w1["status"], "error", "{w1}");
    let message = w1["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "node w1 could not be checked: the node-check pod default/lbctl-node-check-"
        ),
        "{message}"
    );
    assert!(
        message.contains("cannot start: ErrImagePull")
            || message.contains("cannot start: ImagePullBackOff"),
        "{message}"
    );
    assert!(
        w1["hint"].as_str().unwrap().contains("--node-image"),
        "{w1}"
    );
    assert!(
        lb200
            .iter()
            .filter(|c| c["node"] != "w1")
            .all(|c| c["status"] == "pass")
    );
    assert_pods_created_and_removed(&cluster, 3);
}
}

on_both_backends! {
fn a_node_that_rejects_the_pod_is_an_error_naming_the_reason(backend) {
    let sim = Sim::scenario("kubeadm-ipvs")
        .setting("nodeFacts", json!({ "*": strict_node_log() }))
        .setting("podAdmissionFailures", json!({ "w2": "OutOfcpu" }));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (_, report) = preflight_nodes(&cluster, &["--node-timeout", "5m"]);
    let lb200 = checks_with_id(&report, "LB200");
    let w2 = lb200.iter().find(|c| c["node"] == "w2").unwrap();
    assert_eq!(w2["status"], "error", "{w2}");
    let message = w2["message"].as_str().unwrap();
    assert!(
        message.contains("the node refused the node-check pod"),
        "{message}"
    );
    assert!(message.contains("OutOfcpu"), "{message}");
    assert!(
        lb200
            .iter()
            .filter(|c| c["node"] != "w2")
            .all(|c| c["status"] == "pass")
    );
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}

on_both_backends! {
fn a_failed_script_or_a_cut_off_log_is_an_error_not_a_verdict(backend) {
    let full = strict_node_log();
    let cut = full[..full.len() / 2].to_string();
    let sim = Sim::scenario("kubeadm-ipvs").setting(
        "nodeFacts",
        json!({
            "*": full,
            "w1": { "log": "sh: exec: line 1: sh: not found\n", "exitCode": 127 },
            "w2": cut,
        }),
    );
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (_, report) = preflight_nodes(&cluster, &[]);
    let lb200 = checks_with_id(&report, "LB200");
    let message = |node: &str| {
        lb200.iter().find(|c| c["node"] == node).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        message("w1").contains(
            "the node-check script failed (exit code 127): sh: exec: line 1: sh: not found"
        ),
        "{}",
        message("w1")
    );
    assert!(
        message("w2").contains("it was cut off"),
        "{}",
        message("w2")
    );
    assert!(message("cp1").starts_with("checking node cp1 through a pod"));
    let failing: Vec<&str> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["status"] == "error")
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["w1", "w2"]);
}
}

on_both_backends! {
fn empty_logs_say_the_pod_printed_nothing_and_identical_skips_share_a_line(backend) {
    let sim = Sim::scenario("kubeadm-ipvs").setting("nodeFacts", json!({ "*": "" }));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (_, report) = preflight_nodes(&cluster, &[]);
    let lb200 = checks_with_id(&report, "LB200");
    assert_eq!(lb200.len(), 3, "{report:#}");
    for c in &lb200 {
        let message = c["message"].as_str().unwrap();
        assert!(
            message.contains("the pod printed nothing (its log is empty)"),
            "{message}"
        );
    }
    // JSON keeps one entry per node; the human report says each skip once for all nodes.
    assert_eq!(checks_with_id(&report, "LB201").len(), 3, "{report:#}");
    let out = cluster
        .lbctl()
        .args(["preflight", "--nodes", "all", "--no-probe"])
        .output()
        .unwrap();
    let (stdout, _) = output_text(&out);
    for id in ["LB201", "LB202", "LB206"] {
        let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(id)).collect();
        assert_eq!(lines.len(), 1, "{stdout}");
        assert!(
            lines[0].contains(&format!("{id} cp1, w1, w2 ")) && lines[0].contains("skipped:"),
            "{stdout}"
        );
    }
}
}

on_both_backends! {
/// Also runs on a user's cluster (LBCTL_E2E_KUBECONFIG): every selected node gets a result.
fn every_selected_node_gets_a_result(backend) {
    let sim = Sim::scenario("kubeadm-ipvs").setting("nodeFacts", json!({ "*": strict_node_log() }));
    let Some(cluster) = sim.generic_on(backend) else {
        return;
    };
    let (code, report) = preflight_nodes(&cluster, &["--node-timeout", "2m"]);
    assert!(matches!(code, Some(0 | 1 | 3)), "{report:#}");
    let nodes: Vec<&str> = report["nodes"]
        .as_array()
        .expect("a nodes summary")
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert!(!nodes.is_empty());
    let lb200 = checks_with_id(&report, "LB200");
    let checked: Vec<&str> = lb200.iter().map(|c| c["node"].as_str().unwrap()).collect();
    assert_eq!(checked, nodes, "one LB200 per node, in node order");
    for c in &lb200 {
        assert!(
            matches!(c["status"].as_str(), Some("pass" | "error")),
            "{c}"
        );
    }
    if cluster.is_sim() || cluster.is_real() {
        assert_eq!(nodes, ["cp1", "w1", "w2"]);
    }
    assert_eq!(node_check_pods_left(&cluster), Vec::<String>::new());
}
}
