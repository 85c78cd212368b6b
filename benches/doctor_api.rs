//! Benchmark: the API cost of `lbctl doctor --no-probe` on generated kube-sim clusters with
//! MetalLB (10 nodes / 50 services and 1000 nodes / 5000 services): the number of API requests
//! per run (it must not grow with the cluster) and the wall time against one `kubectl get` of
//! the same object kinds as JSON. Prints a Markdown table (medians of 5 runs) for
//! docs/benchmarks.md.
//!
//!     cargo bench --bench doctor_api
//!
//! Needs `kubectl` on PATH. Everything runs on 127.0.0.1.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kube_sim::{Scenario, SimHandle};

const RUNS: usize = 5;
const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");
/// What doctor reads, as one kubectl command line (cluster-wide lists of the same kinds).
const KUBECTL_KINDS: &str = "namespaces,customresourcedefinitions,deployments,daemonsets,pods,secrets,nodes,validatingwebhookconfigurations,configurationstates,servicel2statuses,ipaddresspools,l2advertisements,services,events,endpointslices";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!(
            "doctor_api is a benchmark program: run it with `cargo bench --bench doctor_api`"
        );
        return;
    }
    if Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        eprintln!("skipping: kubectl is not installed");
        return;
    }
    println!(
        "| nodes | services | doctor requests | doctor wall s | kubectl get wall s | ratio |\n|---|---|---|---|---|---|"
    );
    for (nodes, services) in [(10, 50), (1000, 5000)] {
        bench(nodes, services);
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Waits until the simulated MetalLB has given the last Service its address.
fn settle(sim: &SimHandle, services: usize) {
    let last_ns = format!("app-{:03}", (services - 1) / 100);
    let last = format!("svc-{:05}", services - 1);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let svc = sim.get("v1", "Service", Some(&last_ns), &last);
        if svc.is_some_and(|s| s.pointer("/status/loadBalancer/ingress/0/ip").is_some()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the generated cluster never settled"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn timed(mut cmd: Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("the command runs");
    let wall = start.elapsed();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    wall
}

fn bench(nodes: usize, services: usize) {
    let sim = kube_sim::spawn(Scenario::generated(nodes, services, true)).expect("kube-sim starts");
    settle(&sim, services);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "admin").unwrap();
    let doctor = |kubeconfig: &Path| {
        let mut cmd = Command::new(LBCTL);
        cmd.arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["doctor", "--no-probe", "-o", "json"]);
        cmd
    };
    let kubectl = |kubeconfig: &Path| {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", KUBECTL_KINDS, "-A", "-o", "json"]);
        cmd
    };
    // One warm-up each (connection setup, the server's first encodings), then measured runs.
    timed(doctor(&kubeconfig));
    timed(kubectl(&kubeconfig));
    let mut requests = Vec::new();
    let mut doctor_walls = Vec::new();
    let mut kubectl_walls = Vec::new();
    for _ in 0..RUNS {
        sim.clear_requests();
        doctor_walls.push(timed(doctor(&kubeconfig)));
        requests.push(sim.requests().len());
        kubectl_walls.push(timed(kubectl(&kubeconfig)));
    }
    requests.dedup();
    let (d, k) = (median(doctor_walls), median(kubectl_walls));
    println!(
        "| {nodes} | {services} | {} | {:.2} | {:.2} | {:.2} |",
        requests
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        d.as_secs_f64(),
        k.as_secs_f64(),
        d.as_secs_f64() / k.as_secs_f64()
    );
}
