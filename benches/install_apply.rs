//! Benchmark: the apply phase of `lbctl install` against `kubectl apply --server-side -f` of the
//! same rendered YAML, each on a fresh kube-sim kubeadm cluster; and the requests lbctl sends
//! while it waits, for a fast and a slow cluster (watches: the count does not grow with the
//! wait; polling would). Prints Markdown tables (medians of 5 runs) for docs/benchmarks.md.
//!
//!     cargo bench --bench install_apply
//!
//! Needs `kubectl` on PATH for the comparison; everything runs on 127.0.0.1.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use kube_sim::{Scenario, SimHandle};
use serde_json::{Value, json};

const RUNS: usize = 5;
const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");

fn scenario(pod_ready_delay: &str) -> Scenario {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clusters/kubeadm-ipvs.yaml");
    let mut scenario = Scenario::from_file(&path).expect("kubeadm-ipvs scenario");
    scenario
        .settings
        .0
        .insert("podReadyDelay".into(), json!(pod_ready_delay));
    scenario
}

fn start(pod_ready_delay: &str, dir: &Path) -> (SimHandle, std::path::PathBuf) {
    let sim = kube_sim::spawn(scenario(pod_ready_delay)).expect("kube-sim starts");
    let kubeconfig = dir.join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "admin")
        .expect("kubeconfig");
    (sim, kubeconfig)
}

fn lbctl(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    Command::new(LBCTL)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("lbctl runs")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// One install: lbctl's own apply-phase time, and its requests by verb and kind of path.
fn lbctl_install(pod_ready_delay: &str) -> (f64, f64, BTreeMap<String, usize>) {
    let dir = tempfile::tempdir().unwrap();
    let (sim, kubeconfig) = start(pod_ready_delay, dir.path());
    let started = Instant::now();
    let out = lbctl(
        &kubeconfig,
        &[
            "-o",
            "json",
            "install",
            "--skip-preflight",
            "--pool",
            "192.168.77.240-192.168.77.250",
        ],
    );
    let total = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON outcome");
    let mut counts = BTreeMap::new();
    for r in sim.requests() {
        let dry = r.query.contains("dryRun=All");
        let watch =
            r.verb == "watch" || r.query.contains("watch=true") || r.query.contains("watch=1");
        let key = match (r.verb.as_str(), watch, dry) {
            (_, true, _) => "watch".to_string(),
            (v, _, true) => format!("{v} (dry run)"),
            (v, _, _) => v.to_string(),
        };
        *counts.entry(key).or_default() += 1;
    }
    (doc["applySeconds"].as_f64().unwrap(), total, counts)
}

/// `kubectl apply --server-side -f` of `lbctl install --dry-run`'s YAML on a fresh cluster.
fn kubectl_apply() -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, kubeconfig) = start("200ms", dir.path());
    let yaml = lbctl(&kubeconfig, &["install", "--dry-run"]).stdout;
    let file = dir.path().join("metallb.yaml");
    std::fs::write(&file, yaml).unwrap();
    let started = Instant::now();
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["apply", "--server-side", "--field-manager", "bench", "-f"])
        .arg(&file)
        .output()
        .expect("kubectl runs");
    let took = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!(
            "install_apply is a benchmark program: run it with `cargo bench --bench install_apply`"
        );
        return;
    }
    let have_kubectl = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok();

    let mut lbctl_apply = Vec::new();
    let mut lbctl_total = Vec::new();
    let mut kubectl = Vec::new();
    for _ in 0..RUNS {
        let (apply, total, _) = lbctl_install("200ms");
        lbctl_apply.push(apply);
        lbctl_total.push(total);
        if have_kubectl {
            kubectl.push(kubectl_apply());
        }
    }
    println!("| what (26 MetalLB objects, fresh kube-sim cluster) | median s |\n|---|---|");
    println!(
        "| lbctl install: apply phase (read own objects, namespace, CRDs until Established, RBAC, config, workloads) | {:.3} |",
        median(lbctl_apply)
    );
    if have_kubectl {
        println!(
            "| kubectl apply --server-side -f (same YAML, process start to exit) | {:.3} |",
            median(kubectl)
        );
    } else {
        println!("| kubectl apply --server-side -f | skipped: kubectl not installed |");
    }
    println!(
        "| lbctl install: whole command (waits, webhook, pool) | {:.3} |",
        median(lbctl_total)
    );

    println!("\n| pods ready after | requests by verb during one lbctl install |\n|---|---|");
    for delay in ["200ms", "3s"] {
        let (_, total, counts) = lbctl_install(delay);
        let text: Vec<String> = counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!(
            "| {delay} (install took {:.1}s) | {} |",
            total,
            text.join(", ")
        );
    }
}
