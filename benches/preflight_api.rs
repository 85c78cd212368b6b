//! Benchmark: `lbctl preflight` on a generated 1000-node, 5000-service kube-sim cluster.
//! Counts the API requests preflight makes (from kube-sim's request log) and compares its wall
//! time with `kubectl get nodes,services,configmaps,daemonsets -A -o json` on the same server
//! (hyperfine), i.e. with the cost of merely fetching the data. Prints Markdown for
//! docs/benchmarks.md.
//!
//!     cargo bench --bench preflight_api
//!
//! Needs kubectl and hyperfine on PATH. Sends no packets (`--no-probe`).

use std::fmt::Write as _;
use std::process::Command;

const NODES: usize = 1000;
const SERVICES: usize = 5000;
const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");

/// The generated cluster: kubeadm-like, IPVS without strictARP, one kube-proxy pod per node.
fn scenario() -> String {
    let mut y = String::from("serverVersion: v1.36.0\nobjects:\n");
    for ns in ["kube-system", "default", "apps"] {
        let _ = writeln!(
            y,
            "  - {{apiVersion: v1, kind: Namespace, metadata: {{name: {ns}}}}}"
        );
    }
    for i in 0..NODES {
        let (a, b) = (i / 250, i % 250);
        let _ = writeln!(
            y,
            "  - {{apiVersion: v1, kind: Node, metadata: {{name: node-{i}, labels: {{kubernetes.io/hostname: node-{i}}}}}, spec: {{podCIDR: 10.{}.{}.0/24, podCIDRs: [10.{}.{}.0/24]}}, status: {{addresses: [{{type: InternalIP, address: 172.20.{a}.{}}}], conditions: [{{type: Ready, status: \"True\"}}], nodeInfo: {{kubeletVersion: v1.36.0, osImage: Debian}}}}}}",
            100 + i / 256,
            i % 256,
            100 + i / 256,
            i % 256,
            b + 1
        );
    }
    y.push_str(
        "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: kube-proxy, namespace: kube-system}\n    data:\n      config.conf: |\n        apiVersion: kubeproxy.config.k8s.io/v1alpha1\n        kind: KubeProxyConfiguration\n        ipvs:\n          strictARP: false\n        mode: ipvs\n",
    );
    y.push_str(
        "  - apiVersion: apps/v1\n    kind: DaemonSet\n    metadata: {name: kube-proxy, namespace: kube-system, labels: {k8s-app: kube-proxy}}\n    spec:\n      selector: {matchLabels: {k8s-app: kube-proxy}}\n      template:\n        metadata: {labels: {k8s-app: kube-proxy}}\n        spec:\n          containers:\n            - name: kube-proxy\n              image: registry.k8s.io/kube-proxy:v1.36.0\n              command: [/usr/local/bin/kube-proxy, --config=/var/lib/kube-proxy/config.conf]\n              volumeMounts: [{name: kube-proxy, mountPath: /var/lib/kube-proxy}]\n          volumes: [{name: kube-proxy, configMap: {name: kube-proxy}}]\n",
    );
    for i in 0..NODES {
        let _ = writeln!(
            y,
            "  - {{apiVersion: v1, kind: Pod, metadata: {{name: kube-proxy-{i}, namespace: kube-system, labels: {{k8s-app: kube-proxy}}}}, spec: {{nodeName: node-{i}, containers: [{{name: kube-proxy, image: registry.k8s.io/kube-proxy:v1.36.0}}]}}, status: {{phase: Running, startTime: \"2026-11-20T08:05:00Z\"}}}}"
        );
    }
    for i in 0..SERVICES {
        let lb = i % 50 == 0;
        let _ = writeln!(
            y,
            "  - {{apiVersion: v1, kind: Service, metadata: {{name: svc-{i}, namespace: apps}}, spec: {{type: {}, ports: [{{port: 80}}], selector: {{app: svc-{i}}}}}}}",
            if lb { "LoadBalancer" } else { "ClusterIP" }
        );
    }
    y
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!(
            "preflight_api is a benchmark program: run it with `cargo bench --bench preflight_api`"
        );
        return;
    }
    for tool in ["kubectl", "hyperfine"] {
        if Command::new(tool).arg("--version").output().is_err() {
            eprintln!("skipping: {tool} is not on PATH");
            return;
        }
    }
    let scenario = kube_sim::Scenario::from_yaml(&scenario()).expect("generated scenario loads");
    let sim = kube_sim::SimBuilder::new(scenario)
        .spawn()
        .expect("kube-sim starts");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "admin").unwrap();
    let kc = kubeconfig.to_str().unwrap();
    let preflight = format!(
        "{LBCTL} --kubeconfig {kc} preflight --no-probe --pool 172.20.9.240-172.20.9.250 -o json"
    );
    let kubectl =
        format!("kubectl --kubeconfig {kc} get nodes,services,configmaps,daemonsets -A -o json");

    // Request count of one run.
    sim.clear_requests();
    let out = Command::new("sh")
        .args(["-c", &preflight])
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("preflight prints JSON");
    let requests = sim.requests();
    let mut by_path: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    by_path.sort();
    eprintln!("preflight requests:\n  {}", by_path.join("\n  "));
    assert_eq!(report["summary"]["total"], 31);

    let json = dir.path().join("hyperfine.json");
    // preflight exits 1 on this cluster (IPVS without strictARP): its verdict, not a failure.
    let status = Command::new("hyperfine")
        .args([
            "--ignore-failure",
            "--warmup",
            "2",
            "--runs",
            "10",
            "--style",
            "none",
            "--export-json",
        ])
        .arg(&json)
        .args([
            "-n",
            "lbctl preflight",
            &preflight,
            "-n",
            "kubectl get",
            &kubectl,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "hyperfine failed");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mean = |i: usize| results["results"][i]["mean"].as_f64().unwrap();
    let stddev = |i: usize| results["results"][i]["stddev"].as_f64().unwrap_or(0.0);
    println!("| cluster | API requests (preflight) | preflight s | kubectl get s | ratio |");
    println!("|---|---|---|---|---|");
    println!(
        "| {NODES} nodes, {SERVICES} services, {NODES} kube-proxy pods | {} | {:.3} ± {:.3} | {:.3} ± {:.3} | {:.2} |",
        requests.len(),
        mean(0),
        stddev(0),
        mean(1),
        stddev(1),
        mean(0) / mean(1)
    );
}
