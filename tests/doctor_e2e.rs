//! `lbctl doctor` end to end: the real binary against kube-sim scenarios with MetalLB installed
//! (the generated `metallb-*` fixtures), healthy and broken in the ways MetalLB's
//! troubleshooting guide lists. Each case compares the human, JSON and JUnit reports with
//! reviewed snapshots and checks the exit code, the failing check and its hint. ARP probing is
//! always off here (`--no-probe`): these tests never send packets on the machine's interfaces;
//! the ARP checks run in network namespaces in tests/netns_doctor.rs.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use kube_sim::{Scenario, SimHandle};
use serde_json::{Value, json};

fn scenario(name: &str) -> Scenario {
    let path = support::scenario_path(name);
    Scenario::from_file(&path).expect("fixture loads")
}

/// The objects of `scenario` matching `kind`/`name`, to edit before the server starts.
fn objects<'a>(s: &'a mut Scenario, kind: &str, name: &str) -> Vec<&'a mut Value> {
    s.objects
        .iter_mut()
        .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .collect()
}

/// kube-sim (always: the snapshots are kube-sim's cluster) from the shared harness.
struct Env {
    cluster: support::Cluster,
}

struct Run {
    code: i32,
    human: String,
    json: Value,
    json_text: String,
    junit: String,
}

impl Env {
    fn new(scenario: Scenario) -> Env {
        Env {
            cluster: support::Sim::new(scenario).start(),
        }
    }

    fn sim(&self) -> &SimHandle {
        self.cluster.sim()
    }

    fn kubeconfig(&self, user: &str) -> PathBuf {
        self.cluster.kubeconfig_for(user)
    }

    fn lbctl(&self, user: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("lbctl").unwrap();
        cmd.env_remove("KUBECONFIG")
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_CTYPE")
            .arg("--kubeconfig")
            .arg(self.kubeconfig(user))
            .args(["--color", "never", "doctor", "--no-probe"])
            .args(args);
        cmd
    }

    /// Waits until the simulated controllers have settled what the scenario describes.
    fn settle(&self, ready: impl Fn(&SimHandle) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready(self.sim()) {
            assert!(Instant::now() < deadline, "the scenario never settled");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs doctor in every report format (their exit codes must agree).
    fn run(&self, user: &str, args: &[&str]) -> Run {
        let junit_path = self.cluster.dir().join("doctor.xml");
        let out = support::in_every_format(|| self.lbctl(user, args), &junit_path);
        let redact = |text: &str| stable(&text.replace(&self.sim().url(), "https://[server]"));
        let json_text = redact(&out.json);
        Run {
            code: out.code,
            human: redact(&out.human),
            json: serde_json::from_str(&json_text).expect("stdout is one JSON document"),
            json_text,
            junit: redact(&out.junit),
        }
    }
}

/// Replaces generated name suffixes (pods, ReplicaSets) and JUnit timings.
fn stable(text: &str) -> String {
    let rules = [
        // Pods listed by generated name come in an order that changes with the names.
        (
            r"\((kube-proxy-[a-z0-9]{5} on [a-z0-9]+(, )?)+\)",
            "(the kube-proxy pods)",
        ),
        (
            r"\b(controller|speaker|kube-proxy)-[a-z0-9]{5,10}(-[a-z0-9]{5})?\b",
            "$1-[id]",
        ),
        (r#"time="[0-9.]+""#, r#"time="[t]""#),
    ];
    rules.iter().fold(text.to_string(), |acc, (pattern, to)| {
        regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&acc, *to)
            .into_owned()
    })
}

fn check<'a>(run: &'a Run, id: &str) -> &'a Value {
    run.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {}", run.json_text))
}

/// The check has `status` and its hint (or message, for skips) contains `text`.
fn assert_check(run: &Run, id: &str, status: &str, text: &str) {
    let c = check(run, id);
    assert_eq!(c["status"], status, "{c:#}");
    let said = format!(
        "{} {}",
        c["message"].as_str().unwrap_or_default(),
        c["hint"].as_str().unwrap_or_default()
    );
    assert!(said.contains(text), "{id}: {said:?} lacks {text:?}");
}

fn snapshots(name: &str, run: &Run) {
    insta::assert_snapshot!(format!("{name}_human"), run.human);
    insta::assert_snapshot!(format!("{name}_json"), run.json_text);
    insta::assert_snapshot!(format!("{name}_junit"), run.junit);
}

fn has_ingress(sim: &SimHandle, name: &str) -> bool {
    sim.get("v1", "Service", Some("default"), name)
        .is_some_and(|s| s.pointer("/status/loadBalancer/ingress/0/ip").is_some())
}

fn ready_controller(sim: &SimHandle) -> bool {
    sim.get(
        "apps/v1",
        "Deployment",
        Some("metallb-system"),
        "controller",
    )
    .is_some_and(|d| d.pointer("/status/availableReplicas") == Some(&json!(1)))
}

#[test]
fn healthy_installation_passes_everything() {
    let env = Env::new(scenario("metallb-healthy"));
    env.settle(|s| has_ingress(s, "web") && ready_controller(s));
    let run = env.run("admin", &[]);
    snapshots("healthy", &run);
    assert_eq!(run.code, 0);
    for c in run.json["checks"].as_array().unwrap() {
        let want = if c["area"] == "arp" { "skip" } else { "pass" };
        assert_eq!(c["status"], want, "{c:#}");
    }
    assert!(
        run.human.ends_with("result: pass (exit 0)\n"),
        "{}",
        run.human
    );
}

#[test]
fn requests_are_a_fixed_set_whatever_the_cluster_holds() {
    let env = Env::new(scenario("metallb-healthy"));
    env.settle(|s| has_ingress(s, "web") && ready_controller(s));
    let count = |env: &Env| {
        env.sim().clear_requests();
        env.lbctl("admin", &["-o", "json"]).output().unwrap();
        env.sim().requests()
    };
    let before = count(&env);
    for i in 0..5 {
        env.sim().apply_object(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("more-{i}"), "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}
        }));
        env.sim().apply_object(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("extra-{i}"), "labels": {"kubernetes.io/os": "linux"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }));
    }
    env.settle(|s| has_ingress(s, "more-4"));
    let after = count(&env);
    assert_eq!(after.len(), before.len());
    // The one write is the dry-run create, which stores nothing.
    let writes: Vec<_> = after.iter().filter(|r| r.method != "GET").collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].query.contains("dryRun=All"), "{writes:?}");
}

#[test]
fn webhook_without_endpoints() {
    let env = Env::new(scenario("metallb-webhook-no-endpoints"));
    env.settle(|s| {
        s.get("v1", "Secret", Some("metallb-system"), "memberlist")
            .is_some()
    });
    let run = env.run("admin", &[]);
    snapshots("webhook_no_endpoints", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB404", "fail", "logs deployment/controller");
    assert_check(&run, "LB407", "fail", "no ready endpoints");
    assert_check(&run, "LB409", "skip", "skipped: LB407 failed");
}

#[test]
fn ca_bundle_missing() {
    // The controller never generates its certificate, and the webhook configuration carries no
    // caBundle (as after a client-side `kubectl apply` of the manifest).
    let mut s = scenario("metallb-healthy");
    for config in objects(
        &mut s,
        "ValidatingWebhookConfiguration",
        "metallb-webhook-configuration",
    ) {
        for hook in config["webhooks"].as_array_mut().unwrap() {
            hook["clientConfig"]
                .as_object_mut()
                .unwrap()
                .remove("caBundle");
        }
    }
    s.settings
        .0
        .insert("metallb".into(), json!({"caBundleInjected": false}));
    let env = Env::new(s);
    env.settle(ready_controller);
    let run = env.run("admin", &[]);
    snapshots("ca_bundle_missing", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB408", "fail", "caBundle missing in");
    assert_check(
        &run,
        "LB408",
        "fail",
        "rollout restart deployment/controller",
    );
    assert_check(&run, "LB409", "fail", "x509");
}

#[test]
fn pool_in_the_wrong_namespace() {
    let env = Env::new(scenario("metallb-pool-wrong-namespace"));
    env.settle(ready_controller);
    let run = env.run("admin", &[]);
    snapshots("pool_wrong_namespace", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB412", "fail", "which MetalLB ignores");
    assert_check(&run, "LB412", "fail", "delete ipaddresspool");
    assert_check(&run, "LB501", "fail", "no AllocationFailed event");
}

#[test]
fn pool_without_l2advertisement() {
    let env = Env::new(scenario("metallb-pool-without-l2advertisement"));
    env.settle(|s| has_ingress(s, "web") && ready_controller(s));
    let run = env.run("admin", &[]);
    snapshots("pool_without_l2advertisement", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB413", "fail", "| kubectl apply -f -");
    assert_check(&run, "LB502", "fail", "assigned but nobody announces");
}

#[test]
fn exhausted_pool_with_a_pending_service() {
    let env = Env::new(scenario("metallb-pending-services"));
    env.settle(ready_controller);
    let run = env.run("admin", &[]);
    snapshots("exhausted_pool", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB414", "fail", "wait for an address");
    assert_check(&run, "LB501", "fail", "AllocationFailed:");
    assert_check(&run, "LB501", "fail", "the pool is exhausted (LB414)");
}

#[test]
fn speaker_missing_on_a_node() {
    let env = Env::new(scenario("metallb-speakers-not-ready"));
    env.settle(ready_controller);
    let run = env.run("admin", &[]);
    snapshots("speakers_not_ready", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB405", "fail", "rollout status daemonset/speaker");
    assert_check(&run, "LB406", "skip", "skipped: LB405 failed");
}

#[test]
fn configuration_state_invalid() {
    let mut s = scenario("metallb-healthy");
    s.settings.0.insert(
        "metallb".into(),
        json!({"configInvalid": "pool lan: overlaps with pool lab"}),
    );
    let env = Env::new(s);
    env.settle(|s| {
        s.get(
            "metallb.io/v1beta1",
            "ConfigurationState",
            Some("metallb-system"),
            "controller",
        )
        .is_some_and(|c| c["status"]["result"] == "Invalid")
    });
    let run = env.run("admin", &[]);
    snapshots("configuration_invalid", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB411", "fail", "pool lan: overlaps with pool lab");
    assert_check(&run, "LB411", "fail", "get configurationstates");
}

#[test]
fn kube_proxy_config_changed_but_not_restarted() {
    let mut s = scenario("metallb-healthy");
    for cm in objects(&mut s, "ConfigMap", "kube-proxy") {
        // Edited after every kube-proxy pod started, and never rolled out.
        for entry in cm["metadata"]["managedFields"].as_array_mut().unwrap() {
            entry["time"] = json!("2026-11-24T12:00:00Z");
        }
    }
    let env = Env::new(s);
    env.settle(ready_controller);
    let run = env.run("admin", &[]);
    snapshots("kube_proxy_not_restarted", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB112", "fail", "config changed but not active");
    assert_check(
        &run,
        "LB112",
        "fail",
        "rollout restart daemonset/kube-proxy",
    );
}

#[test]
fn ignore_and_fail_on_change_the_exit_code_only() {
    let env = Env::new(scenario("metallb-pool-without-l2advertisement"));
    env.settle(|s| has_ingress(s, "web") && ready_controller(s));
    let run = env.run("admin", &["--ignore", "lb413,LB502"]);
    assert_eq!(run.code, 0);
    assert_check(&run, "LB413", "warn", "(ignored fail: --ignore LB413)");
    let run = env.run(
        "admin",
        &["--ignore", "lb413,LB502", "--fail-on", "warning"],
    );
    assert_eq!(run.code, 1);
}

#[test]
fn wait_returns_once_metallb_serves() {
    let env = Env::new(scenario("metallb-healthy"));
    // Right after start the controller is not ready yet; --wait keeps gathering.
    let out = env.lbctl("admin", &["--wait", "1m"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bad_flags_are_usage_errors_before_any_request() {
    let env = Env::new(scenario("metallb-healthy"));
    env.sim().clear_requests();
    let out = env.lbctl("admin", &["--ignore", "LB999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check ID"));
    assert!(env.sim().requests().is_empty());
    let out = env.lbctl("admin", &["--wait", "soon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_forbidden_dry_run_is_an_error_naming_the_permission() {
    let mut s = scenario("metallb-healthy");
    s.users.insert(
        "viewer".into(),
        serde_json::from_value(json!({"rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}
        ]}))
        .unwrap(),
    );
    let env = Env::new(s);
    env.settle(|s| has_ingress(s, "web") && ready_controller(s));
    let run = env.run("viewer", &[]);
    assert_eq!(run.code, 3);
    assert_check(
        &run,
        "LB409",
        "error",
        "kubectl auth can-i create ipaddresspools.metallb.io -n metallb-system",
    );
    assert_eq!(run.json["summary"]["error"], 1);
}

#[test]
fn install_then_doctor_wait_is_the_ci_gate() {
    let env = Env::new(scenario("kubeadm-nftables"));
    let install = |args: &[&str]| {
        let mut cmd = Command::cargo_bin("lbctl").unwrap();
        cmd.arg("--kubeconfig")
            .arg(env.kubeconfig("admin"))
            .args([
                "install",
                "--no-probe",
                "--pool",
                "192.168.77.240-192.168.77.250",
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let out = install(&["--timeout", "60s"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.sim().apply_object(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}
    }));
    // Right after install, doctor waits for the service's address and announcement.
    let out = env.lbctl("admin", &["--wait", "2m"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the 1 assigned service is announced by a node"),
        "{text}"
    );
}
