//! `lbctl doctor` end to end: the real binary against clusters with MetalLB installed (the
//! generated `metallb-*` fixtures), healthy and broken in the ways MetalLB's troubleshooting
//! guide lists, on both backends: kube-sim, and the real control plane with kube-sim's agent as
//! nodes and MetalLB. Each case compares the human, JSON and JUnit reports with reviewed
//! snapshots (one per case, the same on both backends) and checks the exit code, the failing
//! check and its hint. What only kube-sim can show (its request log) is checked there. ARP
//! probing is always off here (`--no-probe`): these tests never send packets on the machine's
//! interfaces; the ARP checks run in network namespaces in tests/netns_doctor.rs.

use crate::support;

use assert_cmd::Command;
use kube_sim::Scenario;
use serde_json::{Value, json};
use support::{Backend, Cluster, Sim};

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

/// A cluster of the shared harness, on either backend.
struct Env {
    cluster: Cluster,
}

struct Run {
    code: i32,
    human: String,
    json: Value,
    json_text: String,
    junit: String,
    filters: insta::Settings,
}

impl Env {
    /// `scenario` on `backend`; None when that backend cannot run here. kube-sim even when
    /// `LBCTL_E2E_KUBECONFIG` names a cluster: every case needs its scenario's layout (and some
    /// edit kube-proxy's ConfigMap or delete MetalLB's controller pod).
    fn on(scenario: Scenario, backend: Backend) -> Option<Env> {
        let sim = Sim::new(scenario);
        let cluster = match backend {
            Backend::KubeSim => Some(sim.start()),
            Backend::Real => sim.on(backend),
        };
        cluster.map(|cluster| Env { cluster })
    }

    /// `scenario` on kube-sim only (the test needs its request log).
    fn sim_only(test: &str, scenario: Scenario) -> Option<Env> {
        Cluster::sim_only(test, Sim::new(scenario)).map(|cluster| Env { cluster })
    }

    fn lbctl(&self, user: &str, args: &[&str]) -> Command {
        let mut cmd = self.cluster.lbctl_as(user);
        cmd.args(["doctor", "--no-probe"]).args(args);
        cmd
    }

    /// Runs doctor in every report format (their exit codes must agree); the snapshots filter
    /// what names the backend rather than the case: the same case gives the same reports on both.
    fn run(&self, user: &str, args: &[&str]) -> Run {
        let junit_path = self.cluster.dir().join("doctor.xml");
        let out = support::in_every_format(|| self.lbctl(user, args), &junit_path);
        Run {
            code: out.code,
            human: out.human,
            json: serde_json::from_str(&out.json).expect("stdout is one JSON document"),
            json_text: out.json,
            junit: out.junit,
            filters: support::report_filters(&self.cluster, user),
        }
    }
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
    run.filters.bind(|| {
        insta::assert_snapshot!(format!("{name}_human"), run.human);
        insta::assert_snapshot!(format!("{name}_json"), run.json_text);
        insta::assert_snapshot!(format!("{name}_junit"), run.junit);
    });
}

fn has_ingress(cluster: &Cluster, name: &str) -> bool {
    cluster
        .get("v1", "Service", Some("default"), name)
        .is_some_and(|s| s.pointer("/status/loadBalancer/ingress/0/ip").is_some())
}

fn ready_controller(cluster: &Cluster) -> bool {
    cluster
        .get(
            "apps/v1",
            "Deployment",
            Some("metallb-system"),
            "controller",
        )
        .is_some_and(|d| d.pointer("/status/availableReplicas") == Some(&json!(1)))
}

on_both_backends! {
fn healthy_installation_passes_everything(backend) {
    let Some(env) = Env::on(scenario("metallb-healthy"), backend) else {
        return;
    };
    env.cluster.settle(|c| has_ingress(c, "web") && ready_controller(c));
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
}

/// The request count is the point: kube-sim only.
#[test]
fn requests_are_a_fixed_set_whatever_the_cluster_holds_sim_only() {
    let Some(env) = Env::sim_only(
        "requests_are_a_fixed_set_whatever_the_cluster_holds_sim_only",
        scenario("metallb-healthy"),
    ) else {
        return;
    };
    env.cluster
        .settle(|c| has_ingress(c, "web") && ready_controller(c));
    let count = |env: &Env| {
        env.cluster.sim().clear_requests();
        env.lbctl("admin", &["-o", "json"]).output().unwrap();
        env.cluster.sim().requests()
    };
    let before = count(&env);
    for i in 0..5 {
        env.cluster.sim().apply_object(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("more-{i}"), "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}
        }));
        env.cluster.sim().apply_object(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("extra-{i}"), "labels": {"kubernetes.io/os": "linux"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }));
    }
    env.cluster.settle(|c| has_ingress(c, "more-4"));
    let after = count(&env);
    assert_eq!(after.len(), before.len());
    // The one write is the dry-run create, which stores nothing.
    let writes: Vec<_> = after.iter().filter(|r| r.method != "GET").collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].query.contains("dryRun=All"), "{writes:?}");
}

on_both_backends! {
fn webhook_without_endpoints(backend) {
    let Some(env) = Env::on(scenario("metallb-webhook-no-endpoints"), backend) else {
        return;
    };
    env.cluster.settle(|c| {
        c.get("v1", "Secret", Some("metallb-system"), "memberlist")
            .is_some()
    });
    let run = env.run("admin", &[]);
    snapshots("webhook_no_endpoints", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB404", "fail", "logs deployment/controller");
    assert_check(&run, "LB407", "fail", "no ready endpoints");
    assert_check(&run, "LB409", "skip", "skipped: LB407 failed");
}
}

on_both_backends! {
fn ca_bundle_missing(backend) {
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
    let Some(env) = Env::on(s, backend) else {
        return;
    };
    env.cluster.settle(|c| has_ingress(c, "web") && ready_controller(c));
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
}

on_both_backends! {
fn pool_in_the_wrong_namespace(backend) {
    let Some(env) = Env::on(scenario("metallb-pool-wrong-namespace"), backend) else {
        return;
    };
    env.cluster.settle(ready_controller);
    let run = env.run("admin", &[]);
    snapshots("pool_wrong_namespace", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB412", "fail", "which MetalLB ignores");
    assert_check(&run, "LB412", "fail", "delete ipaddresspool");
    assert_check(&run, "LB501", "fail", "no AllocationFailed event");
}
}

on_both_backends! {
fn pool_without_l2advertisement(backend) {
    let Some(env) = Env::on(scenario("metallb-pool-without-l2advertisement"), backend) else {
        return;
    };
    env.cluster.settle(|c| has_ingress(c, "web") && ready_controller(c));
    let run = env.run("admin", &[]);
    snapshots("pool_without_l2advertisement", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB413", "fail", "| kubectl apply -f -");
    assert_check(&run, "LB502", "fail", "assigned but nobody announces");
}
}

on_both_backends! {
fn exhausted_pool_with_a_pending_service(backend) {
    let Some(env) = Env::on(scenario("metallb-pending-services"), backend) else {
        return;
    };
    env.cluster.settle(ready_controller);
    let run = env.run("admin", &[]);
    snapshots("exhausted_pool", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB414", "fail", "wait for an address");
    assert_check(&run, "LB501", "fail", "AllocationFailed:");
    assert_check(&run, "LB501", "fail", "the pool is exhausted (LB414)");
}
}

on_both_backends! {
fn speaker_missing_on_a_node(backend) {
    let Some(env) = Env::on(scenario("metallb-speakers-not-ready"), backend) else {
        return;
    };
    // Service default/web has an address that nobody announces.
    env.cluster.settle(|c| has_ingress(c, "web") && ready_controller(c));
    let run = env.run("admin", &[]);
    snapshots("speakers_not_ready", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB405", "fail", "rollout status daemonset/speaker");
    assert_check(&run, "LB406", "skip", "skipped: LB405 failed");
}
}

on_both_backends! {
fn configuration_state_invalid(backend) {
    let mut s = scenario("metallb-healthy");
    s.settings.0.insert(
        "metallb".into(),
        json!({"configInvalid": "pool lan: overlaps with pool lab"}),
    );
    let Some(env) = Env::on(s, backend) else {
        return;
    };
    env.cluster.settle(|c| {
        c.get(
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
}

on_both_backends! {
fn kube_proxy_config_changed_but_not_restarted(backend) {
    // kubeadm's strictARP: false at start; then someone edits the ConfigMap by hand to
    // strictARP: true and never restarts kube-proxy.
    let mut s = scenario("metallb-healthy");
    for cm in objects(&mut s, "ConfigMap", "kube-proxy") {
        let conf = cm["data"]["config.conf"].as_str().unwrap();
        assert!(conf.contains("strictARP: true"));
        cm["data"]["config.conf"] = json!(conf.replace("strictARP: true", "strictARP: false"));
    }
    let Some(env) = Env::on(s, backend) else {
        return;
    };
    env.cluster.settle(|c| has_ingress(c, "web") && ready_controller(c));
    edit_after_kube_proxy_started(&env.cluster, |conf| {
        conf.replace("strictARP: false", "strictARP: true")
    });
    let run = env.run("admin", &[]);
    snapshots("kube_proxy_not_restarted", &run);
    assert_eq!(run.code, 1);
    assert_check(&run, "LB111", "pass", "strictARP: true");
    assert_check(&run, "LB112", "fail", "config changed but not active");
    assert_check(
        &run,
        "LB112",
        "fail",
        "rollout restart daemonset/kube-proxy",
    );
}
}

/// Edits kube-proxy's `config.conf` as `kubectl edit` does (a replace), in a later second than
/// every kube-proxy pod's start (times in the API have whole seconds).
fn edit_after_kube_proxy_started(cluster: &Cluster, edit: impl Fn(&str) -> String) {
    cluster.after_pods_started("kube-system", "k8s-app=kube-proxy");
    let mut cm = cluster
        .get("v1", "ConfigMap", Some("kube-system"), "kube-proxy")
        .unwrap();
    cm["data"]["config.conf"] = json!(edit(cm["data"]["config.conf"].as_str().unwrap()));
    cluster
        .kubectl()
        .args(["replace", "-f", "-"])
        .write_stdin(cm.to_string())
        .assert()
        .success();
}

on_both_backends! {
fn ignore_and_fail_on_change_the_exit_code_only(backend) {
    let Some(env) = Env::on(scenario("metallb-pool-without-l2advertisement"), backend) else {
        return;
    };
    env.cluster.settle(|c| has_ingress(c, "web") && ready_controller(c));
    let run = env.run("admin", &["--ignore", "lb413,LB502"]);
    assert_eq!(run.code, 0);
    assert_check(&run, "LB413", "warn", "(ignored fail: --ignore LB413)");
    let run = env.run(
        "admin",
        &["--ignore", "lb413,LB502", "--fail-on", "warning"],
    );
    assert_eq!(run.code, 1);
}
}

on_both_backends! {
fn wait_returns_once_metallb_serves(backend) {
    // A scenario's MetalLB has been serving for a while; its controller then restarts, and the
    // new pod takes seconds to become ready: no webhook endpoint until then.
    let mut s = scenario("metallb-healthy");
    s.settings.0.insert("podReadyDelay".into(), json!("5s"));
    let Some(env) = Env::on(s, backend) else {
        return;
    };
    env.cluster.settle(|c| has_ingress(c, "web") && ready_controller(c));
    env.cluster
        .kubectl()
        .args(["-n", "metallb-system", "delete", "pod"])
        .args(["-l", "app=metallb,component=controller"])
        .assert()
        .success();
    let out = env.lbctl("admin", &["-o", "json"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "without --wait: {text}");
    let doc: Value = serde_json::from_str(&text).expect("stdout is one JSON document");
    let failed: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        failed.contains(&"LB404") || failed.contains(&"LB407"),
        "the controller or its webhook endpoint should be missing: {failed:?}"
    );
    // --wait keeps gathering until MetalLB serves again.
    let out = env.lbctl("admin", &["--wait", "1m"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
}

on_both_backends! {
fn bad_flags_are_usage_errors_before_any_request(backend) {
    let Some(env) = Env::on(scenario("metallb-healthy"), backend) else {
        return;
    };
    if env.cluster.is_sim() {
        env.cluster.clear_requests();
    }
    let out = env.lbctl("admin", &["--ignore", "LB999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check ID"));
    assert!(
        out.stdout.is_empty(),
        "a usage error reports nothing: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    if env.cluster.is_sim() {
        assert!(env.cluster.requests().is_empty());
    }
    let out = env.lbctl("admin", &["--wait", "soon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
}

on_both_backends! {
fn a_forbidden_dry_run_is_an_error_naming_the_permission(backend) {
    let mut s = scenario("metallb-healthy");
    s.users.insert(
        "viewer".into(),
        serde_json::from_value(json!({"rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}
        ]}))
        .unwrap(),
    );
    let Some(env) = Env::on(s, backend) else {
        return;
    };
    env.cluster.settle(|c| has_ingress(c, "web") && ready_controller(c));
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
}

on_both_backends! {
fn install_then_doctor_wait_is_the_ci_gate(backend) {
    let Some(env) = Env::on(scenario("kubeadm-nftables"), backend) else {
        return;
    };
    let install = |args: &[&str]| {
        env.cluster
            .lbctl()
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
    env.cluster.apply_object(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}
    }));
    // MetalLB announces only a Service with a serving endpoint; this one has no selector, so
    // its endpoint is written by hand.
    env.cluster.apply_object(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-manual", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.1.9"], "nodeName": "w1", "conditions": {"ready": true}}],
        "ports": [{"port": 80, "protocol": "TCP"}]
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
}

/// `-q` silences progress only: doctor's report is its result, the same in every format; with
/// `--bundle` the archive is written and only its "wrote" line goes.
#[test]
fn quiet_prints_the_same_report_sim_only() {
    let Some(env) = Env::sim_only(
        "quiet_prints_the_same_report_sim_only",
        scenario("metallb-healthy"),
    ) else {
        return;
    };
    env.cluster
        .settle(|c| has_ingress(c, "web") && ready_controller(c));
    for format in [&[][..], &["-o", "json"]] {
        let plain = env.lbctl("admin", format).output().unwrap();
        let quiet = env.lbctl("admin", format).arg("-q").output().unwrap();
        assert_eq!(
            plain.status.code(),
            Some(0),
            "{:?}",
            support::output_text(&plain)
        );
        assert_eq!(quiet.status.code(), plain.status.code());
        let (plain, quiet) = (
            support::output_text(&plain).0,
            support::output_text(&quiet).0,
        );
        assert!(plain.contains("LB401"), "{plain}");
        assert_eq!(quiet, plain, "{format:?}");
    }

    let archive = env.cluster.dir().join("quiet.tar.gz");
    let plain = env
        .lbctl("admin", &[])
        .arg("--bundle")
        .arg(&archive)
        .output()
        .unwrap();
    let (plain, _) = support::output_text(&plain);
    let (report, wrote) = plain
        .rsplit_once("bundle: wrote ")
        .expect("the bundle line");
    assert!(wrote.contains("everything was collected"), "{wrote}");
    std::fs::remove_file(&archive).unwrap();
    let quiet = env
        .lbctl("admin", &["--quiet", "--bundle"])
        .arg(&archive)
        .output()
        .unwrap();
    let (stdout, stderr) = support::output_text(&quiet);
    assert_eq!(quiet.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(stdout, report);
    assert!(!stderr.contains("bundle:"), "{stderr}");
    assert!(archive.exists());
}
