//! `lbctl enable-strictarp` end to end: the real binary on both backends (kube-sim, and a real
//! control plane whose DaemonSet controller rolls kube-proxy out, with kube-sim's agent as the
//! kubelets). What only kube-sim can show (its request log: "nothing was written") is checked
//! there, next to a backend-neutral check (resourceVersions unchanged).
//!
//! `kubeadm_apply_then_nothing_to_do` also runs against a user's kubeadm-like cluster when
//! `LBCTL_E2E_KUBECONFIG` is set (it changes that cluster's kube-proxy!).

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube_sim::{AdmissionRequest, Operation, Store};
use serde_json::{Value, json};
use support::{Backend, Cluster, Sim, output_text};

/// The scenario on `backend` (None: the backend cannot run here).
fn scenario_on(name: &str, backend: Backend) -> Option<Cluster> {
    Sim::scenario(name).on(backend)
}

/// The cluster is one of our scenarios (kube-sim or the real control plane), not a user's
/// cluster from `LBCTL_E2E_KUBECONFIG`, so the scenario's layout can be asserted.
fn knows_scenario(cluster: &Cluster) -> bool {
    cluster.is_sim() || cluster.is_real()
}

fn configmap(cluster: &Cluster, name: &str) -> Value {
    cluster
        .get("v1", "ConfigMap", Some("kube-system"), name)
        .unwrap_or_else(|| panic!("ConfigMap kube-system/{name}"))
}

fn kube_proxy_config(cluster: &Cluster) -> Value {
    configmap(cluster, "kube-proxy")
}

fn kube_proxy_daemonset(cluster: &Cluster) -> Value {
    cluster
        .get("apps/v1", "DaemonSet", Some("kube-system"), "kube-proxy")
        .expect("DaemonSet kube-system/kube-proxy")
}

/// The kube-proxy DaemonSet once its controller has counted every pod ready, so that only lbctl
/// could change its resourceVersion from here (the real controller's last status update may land
/// after the scenario counts as started).
fn settled_kube_proxy_daemonset(cluster: &Cluster) -> Value {
    let settled = |ds: &Value| {
        let st = &ds["status"];
        let desired = &st["desiredNumberScheduled"];
        st["observedGeneration"] == ds["metadata"]["generation"]
            && desired.as_i64().is_some_and(|d| d > 0)
            && ["numberReady", "numberAvailable", "updatedNumberScheduled"]
                .iter()
                .all(|k| &st[*k] == desired)
    };
    let done = cluster.eventually(Duration::from_secs(30), |c| {
        settled(&kube_proxy_daemonset(c))
    });
    let ds = kube_proxy_daemonset(cluster);
    assert!(done, "kube-proxy never became ready: {}", ds["status"]);
    ds
}

fn restarted_at(ds: &Value) -> Option<String> {
    ds["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
        .as_str()
        .map(str::to_string)
}

fn resource_version(obj: &Value) -> Value {
    obj["metadata"]["resourceVersion"].clone()
}

/// The kube-proxy pods as the API server has them now: (name, node, startTime).
fn kube_proxy_pods(cluster: &Cluster) -> Vec<(String, String, Option<jiff::Timestamp>)> {
    let out = cluster
        .kubectl()
        .args([
            "get",
            "pods",
            "-n",
            "kube-system",
            "-l",
            "k8s-app=kube-proxy",
            "-o",
            "json",
        ])
        .output()
        .expect("running kubectl");
    assert!(
        out.status.success(),
        "kubectl get pods: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("kubectl's JSON");
    let mut pods: Vec<_> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["status"]["startTime"]
                    .as_str()
                    .map(|t| t.parse().expect("an RFC 3339 startTime")),
            )
        })
        .collect();
    pods.sort();
    pods
}

/// The server's gitVersion, as `/version` reports it.
fn server_git_version(cluster: &Cluster) -> String {
    let out = cluster
        .kubectl()
        .args(["get", "--raw", "/version"])
        .output()
        .expect("running kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("/version is JSON");
    v["gitVersion"].as_str().expect("gitVersion").to_string()
}

fn config_text(cm: &Value, key: &str) -> String {
    cm["data"][key].as_str().unwrap_or_default().to_string()
}

fn run(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let output = cmd.output().expect("running lbctl");
    let (out, err) = output_text(&output);
    (output.status.code().unwrap_or(-1), out, err)
}

fn is_configmap_put(r: &kube_sim::LoggedRequest) -> bool {
    r.method == "PUT" && r.path.ends_with("/configmaps/kube-proxy")
}

on_both_backends! {
fn kubeadm_apply_then_nothing_to_do(backend) {
    let Some(cluster) = Sim::scenario("kubeadm-iptables").generic_on(backend) else {
        return;
    };
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("ConfigMap kube-system/kube-proxy, key config.conf"),
        "{out}"
    );
    assert!(out.contains("rollout complete"), "{out}");
    if knows_scenario(&cluster) {
        assert!(
            out.contains("-  strictARP: false\n+  strictARP: true"),
            "{out}"
        );
        assert!(out.contains("-mode: \"\"\n+mode: \"ipvs\""), "{out}");
        // Both backends serve v1.36: switching into IPVS warns about the deprecation and names
        // the version the server reports.
        let version = server_git_version(&cluster);
        assert!(version.starts_with("v1.36."), "{version}");
        assert!(
            err.contains("deprecated since Kubernetes 1.35") && err.contains(&version),
            "{err}"
        );
        let cm = kube_proxy_config(&cluster);
        let text = config_text(&cm, "config.conf");
        assert!(text.contains("  strictARP: true\n") && text.contains("\nmode: \"ipvs\"\n"));
        // The other key and the rest of the text are untouched; the old text is kept.
        assert!(config_text(&cm, "kubeconfig.conf").contains("kind: Config"));
        let previous = cm["metadata"]["annotations"]["lbctl.io/previous-config"]
            .as_str()
            .unwrap();
        assert_eq!(
            text.replace("strictARP: true", "strictARP: false")
                .replace("mode: \"ipvs\"", "mode: \"\""),
            previous
        );
        assert!(restarted_at(&kube_proxy_daemonset(&cluster)).is_some());
    }
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let before = (
        resource_version(&kube_proxy_config(&cluster)),
        resource_version(&kube_proxy_daemonset(&cluster)),
        kube_proxy_pods(&cluster),
    );

    // A second run changes nothing and writes nothing.
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("already configured"), "{out}");
    assert!(out.contains("nothing written, nothing restarted"), "{out}");
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0, "{out}");
    if cluster.is_sim() {
        assert_eq!(cluster.writes(), vec![], "a second run must not write");
    }
    let after = (
        resource_version(&kube_proxy_config(&cluster)),
        resource_version(&kube_proxy_daemonset(&cluster)),
        kube_proxy_pods(&cluster),
    );
    assert_eq!(after, before, "a second run must change nothing");
}
}

on_both_backends! {
/// The whole cycle on the DaemonSet controller of each backend: enable (a rollout that really
/// replaces every kube-proxy pod), `--check` passes, `--revert` (another real rollout), and
/// `--check` then wants the change again.
fn enable_check_revert_check_replaces_the_pods(backend) {
    let Some(cluster) = scenario_on("kubeadm-iptables", backend) else {
        return;
    };
    let original = config_text(&kube_proxy_config(&cluster), "config.conf");
    let pods_at_start = kube_proxy_pods(&cluster);
    assert_eq!(pods_at_start.len(), 3, "one kube-proxy per node: {pods_at_start:?}");
    assert!(restarted_at(&kube_proxy_daemonset(&cluster)).is_none());

    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("rollout complete: 3 of 3 pods updated"), "{out}");
    let enabled_at = restarted_at(&kube_proxy_daemonset(&cluster))
        .expect("the restart annotation is set");
    let enabled_cm = kube_proxy_config(&cluster);
    assert!(config_text(&enabled_cm, "config.conf").contains("strictARP: true"));
    let pods_enabled = assert_replaced(&pods_at_start, &kube_proxy_pods(&cluster), &enabled_at);

    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0, "enabled and every pod restarted:\nstdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("already configured"), "{out}");

    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--revert", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("rollout complete: 3 of 3 pods updated"), "{out}");
    let reverted_at = restarted_at(&kube_proxy_daemonset(&cluster))
        .expect("the restart annotation is set");
    assert_ne!(reverted_at, enabled_at, "--revert restarts kube-proxy again");
    assert!(reverted_at > enabled_at, "{reverted_at} after {enabled_at}");
    assert_eq!(config_text(&kube_proxy_config(&cluster), "config.conf"), original);
    assert_replaced(&pods_enabled, &kube_proxy_pods(&cluster), &reverted_at);

    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 1, "reverted: the change is needed again:\nstdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("+  strictARP: true"), "{out}");
}
}

/// Every pod of `before` is gone, one new pod runs per node, started no earlier than the
/// restart (`restartedAt` and `startTime` are both RFC 3339 in whole seconds, truncated, as
/// kubectl and the kubelet write them). Returns `after`.
fn assert_replaced(
    before: &[(String, String, Option<jiff::Timestamp>)],
    after: &[(String, String, Option<jiff::Timestamp>)],
    restarted_at: &str,
) -> Vec<(String, String, Option<jiff::Timestamp>)> {
    let restarted: jiff::Timestamp = restarted_at.parse().expect("restartedAt is RFC 3339");
    assert_eq!(
        after.len(),
        before.len(),
        "before: {before:?}\nafter: {after:?}"
    );
    for (name, node, started) in after {
        assert!(
            !before.iter().any(|(old, _, _)| old == name),
            "pod {name} was not replaced: {after:?}"
        );
        let started = started.unwrap_or_else(|| panic!("pod {name} has not started"));
        assert!(
            started >= restarted,
            "pod {name} on {node} started at {started}, before the restart at {restarted}"
        );
        if let Some((_, _, Some(old_start))) = before.iter().find(|(_, n, _)| n == node) {
            assert!(
                started >= *old_start,
                "pod {name} on {node}: {started} < {old_start}"
            );
        }
    }
    let mut nodes: Vec<&String> = after.iter().map(|(_, n, _)| n).collect();
    nodes.dedup();
    assert_eq!(nodes.len(), after.len(), "one pod per node: {after:?}");
    after.to_vec()
}

on_both_backends! {
fn check_and_dry_run_write_nothing(backend) {
    let Some(cluster) = scenario_on("kubeadm-iptables", backend) else {
        return;
    };
    let before = kube_proxy_config(&cluster);
    let ds_before = settled_kube_proxy_daemonset(&cluster);
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("+  strictARP: true"), "{out}");
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--dry-run"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing written"), "{out}");
    let (code, out, _) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--dry-run", "-o", "json"]));
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).expect("one JSON document on stdout");
    assert_eq!(doc["kind"], "EnableStrictARPResult");
    assert_eq!(doc["outcome"], "wouldChange");
    assert_eq!(doc["written"], false);
    assert_eq!(doc["location"]["kind"], "configMap");
    assert_eq!(doc["location"]["key"], "config.conf");
    assert_eq!(doc["changes"].as_array().unwrap().len(), 2);
    assert!(doc["diff"].as_str().unwrap().contains("+  strictARP: true"));
    if cluster.is_sim() {
        assert_eq!(
            cluster.writes(),
            vec![],
            "--check and --dry-run must not write"
        );
    }
    assert_eq!(
        resource_version(&kube_proxy_config(&cluster)),
        resource_version(&before)
    );
    assert_eq!(
        resource_version(&kube_proxy_daemonset(&cluster)),
        resource_version(&ds_before)
    );
}
}

on_both_backends! {
fn eks_layout_inserts_strict_arp(backend) {
    let Some(cluster) = scenario_on("eks", backend) else {
        return;
    };
    let before = configmap(&cluster, "kube-proxy-config");
    let old = config_text(&before, "config");
    assert!(!old.contains("strictARP"));
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("ConfigMap kube-system/kube-proxy-config, key config"),
        "{out}"
    );
    assert!(out.contains("rollout complete"), "{out}");
    let after = configmap(&cluster, "kube-proxy-config");
    let new = config_text(&after, "config");
    assert!(new.contains("strictARP: true"), "{new}");
    // Every line of the old text is still there, in order, except the mode line.
    let kept: Vec<&str> = old.lines().filter(|l| !l.starts_with("mode:")).collect();
    let remaining: Vec<&str> = new
        .lines()
        .filter(|l| !l.starts_with("mode:") && !l.contains("strictARP"))
        .collect();
    assert_eq!(kept, remaining);
}
}

on_both_backends! {
fn flags_only_k3s_prints_instructions(backend) {
    let Some(cluster) = scenario_on("k3s", backend) else {
        return;
    };
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("k3s") && out.contains("/etc/rancher/k3s/config.yaml"),
        "{out}"
    );
    assert!(out.contains("ipvs-strict-arp=true"), "{out}");
    assert!(
        out.contains("--proxy-mode=ipvs"),
        "the flags read from the node annotation are shown: {out}"
    );
    let (code, _, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 1);
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "-o", "json"]));
    assert_eq!(code, 3);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["outcome"], "flagsOnly");
    assert_eq!(doc["location"]["distribution"], "k3s");
    if cluster.is_sim() {
        assert_eq!(cluster.writes(), vec![]);
    }
    // Nothing of kube-proxy's exists to write to; the flags stay on the nodes.
    assert!(cluster.get("apps/v1", "DaemonSet", Some("kube-system"), "kube-proxy").is_none());
}
}

on_both_backends! {
fn no_kube_proxy_with_cilium_needs_nothing(backend) {
    let Some(cluster) = scenario_on("cilium", backend) else {
        return;
    };
    let cilium_before = resource_version(&configmap(&cluster, "cilium-config"));
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("Cilium") && out.contains("strict ARP is not needed"),
        "{out}"
    );
    let (code, _, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0);
    if cluster.is_sim() {
        assert_eq!(cluster.writes(), vec![]);
    }
    assert_eq!(resource_version(&configmap(&cluster, "cilium-config")), cilium_before);
    assert!(cluster.get("v1", "ConfigMap", Some("kube-system"), "kube-proxy").is_none());
}
}

/// `--timeout` is a deadline for the whole command: a ConfigMap update the server never
/// answers ends the run at the deadline, naming the request and the step (before, `--timeout`
/// bounded only the rollout wait, and the run waited for the request's own timeout).
#[test]
fn timeout_ends_a_stalled_configmap_update_at_the_deadline_sim_only() {
    let Some(cluster) = Cluster::sim_only(
        "timeout_ends_a_stalled_configmap_update_at_the_deadline_sim_only",
        Sim::scenario("kubeadm-iptables"),
    ) else {
        return;
    };
    cluster.sim().inject(kube_sim::Fault::latency(
        "PUT",
        "/api/v1/namespaces/kube-system/configmaps/kube-proxy",
        Duration::from_secs(60),
        1,
    ));
    let started = std::time::Instant::now();
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "4s"]));
    let took = started.elapsed();
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(took < Duration::from_secs(15), "took {took:?}:\n{err}");
    assert!(
        err.contains("in step updating the kube-proxy ConfigMap")
            && err.contains("configmaps kube-system/kube-proxy"),
        "{err}"
    );
}

/// On the first update of the ConfigMap, someone else edits another key: the update fails
/// with a real 409, lbctl re-reads, re-plans and keeps that edit. kube-sim only: the concurrent
/// edit is made by an admission hook at exactly the right moment.
#[test]
fn conflict_is_retried_and_concurrent_edit_survives_sim_only() {
    let fired = Arc::new(AtomicBool::new(false));
    let once = fired.clone();
    let hook = Arc::new(move |req: &AdmissionRequest, store: &Store| {
        if req.operation == Operation::Update
            && req.resource == "configmaps"
            && req.name == "kube-proxy"
            && !once.swap(true, Ordering::SeqCst)
        {
            let mut cm = store
                .get("v1", "ConfigMap", Some("kube-system"), "kube-proxy")
                .unwrap();
            cm["data"]["kubeconfig.conf"] = json!("# edited concurrently\n");
            store.update(cm).expect("concurrent edit");
        }
        Ok(())
    });
    let Some(cluster) = Cluster::sim_only(
        "conflict_is_retried_and_concurrent_edit_survives_sim_only",
        Sim::scenario("kubeadm-iptables").admission(hook),
    ) else {
        return;
    };
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp", "--no-restart"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("409 Conflict") && out.contains("re-planning"),
        "{out}"
    );
    let puts: Vec<u16> = cluster
        .requests()
        .iter()
        .filter(|r| is_configmap_put(r))
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, vec![409, 200]);
    let cm = kube_proxy_config(&cluster);
    assert_eq!(
        config_text(&cm, "kubeconfig.conf"),
        "# edited concurrently\n"
    );
    assert!(config_text(&cm, "config.conf").contains("strictARP: true"));
    assert!(
        out.contains("not active until kube-proxy restarts"),
        "{out}"
    );
    // kube-proxy was not restarted, so a later run restarts it and says why.
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 1, "pods older than the config need a restart: {out}");
    assert!(
        out.contains("started before the configuration last changed"),
        "{out}"
    );
}

/// A user who may read kube-proxy's configuration and restart it, but not update the ConfigMap.
const READER: &str = r#"
- { apiGroups: [""], resources: [configmaps], verbs: [get, list], namespaces: [kube-system] }
- { apiGroups: ["apps"], resources: [daemonsets], verbs: [get, list, watch, patch], namespaces: [kube-system] }
- { apiGroups: [""], resources: [nodes, pods], verbs: [get, list] }
- { apiGroups: ["authorization.k8s.io"], resources: [selfsubjectaccessreviews], verbs: [create] }
"#;

on_both_backends! {
fn forbidden_user_gets_exit_3_and_nothing_is_written(backend) {
    let reader = READER;
    let Some(cluster) =
        Sim::scenario("kubeadm-iptables").user("reader", reader).on(backend) else {
        return;
    };
    let cm_before = resource_version(&kube_proxy_config(&cluster));
    let ds_before = resource_version(&settled_kube_proxy_daemonset(&cluster));
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let (code, out, err) = run(cluster.lbctl_as("reader").args(["enable-strictarp"]));
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains("cannot update configmaps in namespace \"kube-system\""),
        "{err}"
    );
    assert!(
        err.contains("kubectl auth can-i update configmaps -n kube-system"),
        "{err}"
    );
    if cluster.is_sim() {
        assert_eq!(
            cluster.writes(),
            vec![],
            "nothing may be written without every permission"
        );
    }
    assert_eq!(resource_version(&kube_proxy_config(&cluster)), cm_before);
    assert_eq!(resource_version(&kube_proxy_daemonset(&cluster)), ds_before);
}
}

on_both_backends! {
fn revert_restores_the_exact_text(backend) {
    let Some(cluster) = scenario_on("kubeadm-iptables", backend) else {
        return;
    };
    let original = config_text(&kube_proxy_config(&cluster), "config.conf");
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let (code, out, err) =
        run(cluster
            .lbctl()
            .args(["enable-strictarp", "--revert", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("stay until the nodes reboot"), "{out}");
    let cm = kube_proxy_config(&cluster);
    assert_eq!(config_text(&cm, "config.conf"), original);
    assert!(
        cm["metadata"]["annotations"]
            .get("lbctl.io/previous-config")
            .is_none()
    );
    // Nothing left to revert.
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--revert"]));
    assert_eq!(code, 0);
    assert!(out.contains("nothing to revert"), "{out}");
    assert_eq!(resource_version(&kube_proxy_config(&cluster)), resource_version(&cm));
}
}

on_both_backends! {
fn rollout_timeout_exits_3_with_what_was_observed(backend) {
    let Some(cluster) =
        Sim::scenario("kubeadm-iptables")
            .setting("podsNeverReady", json!(["kube-system/kube-proxy"])).on(backend) else {
        return;
    };
    let started = std::time::Instant::now();
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "2s"]));
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        err.contains(
            "timed out after 2s waiting for the rollout of DaemonSet kube-system/kube-proxy"
        ),
        "{err}"
    );
    assert!(
        err.contains("last observed:") && err.contains("available"),
        "{err}"
    );
    assert!(err.contains("--revert"), "{err}");
    // Every kube-proxy pod (all replaced: none was available to keep) is named with its node.
    let named: Vec<&str> = err
        .lines()
        .filter(|l| {
            l.starts_with("  pod kube-proxy-")
                && l.ends_with(": Running, not ready: containers with unready status: [kube-proxy]")
        })
        .collect();
    assert_eq!(named.len(), 3, "{err}");
    // The config change itself was written before the wait.
    assert!(config_text(&kube_proxy_config(&cluster), "config.conf").contains("strictARP: true"));
}
}

on_both_backends! {
fn nftables_needs_an_explicit_mode(backend) {
    let Some(cluster) = scenario_on("kubeadm-nftables", backend) else {
        return;
    };
    let before = resource_version(&kube_proxy_config(&cluster));
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let (code, _, err) = run(cluster.lbctl().args(["enable-strictarp", "--dry-run"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("nftables") && err.contains("--mode ipvs"),
        "{err}"
    );
    let (code, out, _) =
        run(cluster
            .lbctl()
            .args(["enable-strictarp", "--dry-run", "--mode", "keep"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("+  strictARP: true") && !out.contains("+mode"),
        "{out}"
    );
    if cluster.is_sim() {
        assert_eq!(cluster.writes(), vec![]);
    }
    assert_eq!(resource_version(&kube_proxy_config(&cluster)), before);

    // Applied, --mode keep says what kube-proxy runs: nftables, not IPVS.
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--mode", "keep", "--timeout", "60s"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("kube-proxy runs nftables mode"), "{out}");
    assert!(!out.contains("runs IPVS"), "{out}");
}
}

on_both_backends! {
fn no_restart_then_next_run_restarts_and_says_why(backend) {
    let Some(cluster) = scenario_on("kubeadm-iptables", backend) else {
        return;
    };
    let pods_before = kube_proxy_pods(&cluster);
    cluster.after_pods_started("kube-system", "k8s-app=kube-proxy");
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--no-restart"]));
    assert_eq!(code, 0, "{out}");
    assert!(restarted_at(&kube_proxy_daemonset(&cluster)).is_none());
    assert_eq!(kube_proxy_pods(&cluster), pods_before, "--no-restart restarts nothing");
    let (code, out, err) =
        run(cluster
            .lbctl()
            .args(["enable-strictarp", "-o", "json", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["outcome"], "restarted");
    assert_eq!(doc["written"], false);
    assert!(
        doc["restartReason"]
            .as_str()
            .unwrap()
            .contains("started before the configuration last changed")
    );
    assert_eq!(doc["rollout"]["updated"], doc["rollout"]["desired"]);
    let restarted = restarted_at(&kube_proxy_daemonset(&cluster)).expect("restarted");
    assert_replaced(&pods_before, &kube_proxy_pods(&cluster), &restarted);
    // Now every pod runs the current configuration: nothing more to do.
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0, "{out}");
}
}

on_both_backends! {
fn unparsable_config_is_refused_with_exit_2(backend) {
    let Some(cluster) = scenario_on("kubeadm-iptables", backend) else {
        return;
    };
    let mut cm = kube_proxy_config(&cluster);
    cm["data"]["config.conf"] = json!(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs: [\n"
    );
    let broken = cluster.apply_object(cm);
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let (code, _, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not valid YAML") && err.contains("hint:"),
        "{err}"
    );
    if cluster.is_sim() {
        assert_eq!(cluster.writes(), vec![]);
    }
    assert_eq!(
        resource_version(&kube_proxy_config(&cluster)),
        resource_version(&broken)
    );
}
}

const PROXY_DAEMONSET: &str = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy";
const PROXY_CONFIGMAP: &str = "/api/v1/namespaces/kube-system/configmaps/kube-proxy";
const ACCESS_REVIEWS: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// kube-sim with kube-proxy's pods started in an earlier second than anything lbctl writes.
fn faulty_sim(test: &str) -> Option<Cluster> {
    let cluster = Cluster::sim_only(test, Sim::scenario("kubeadm-iptables"))?;
    cluster.after_pods_started("kube-system", "k8s-app=kube-proxy");
    cluster.clear_requests();
    Some(cluster)
}

fn statuses(cluster: &Cluster, method: &str, path: &str) -> Vec<u16> {
    cluster
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .map(|r| r.status)
        .collect()
}

/// The second run (no faults) finishes the job and `--check` then finds nothing to do.
fn rerun_converges(cluster: &Cluster) {
    cluster.sim().clear_faults();
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(config_text(&kube_proxy_config(cluster), "config.conf").contains("strictARP: true"));
}

/// One failed restart patch is retried: the run succeeds (issue 14, item 4).
#[test]
fn restart_patch_server_error_is_retried_sim_only() {
    let Some(cluster) = faulty_sim("restart_patch_server_error_is_retried_sim_only") else {
        return;
    };
    cluster
        .sim()
        .inject(kube_sim::Fault::status("PATCH", PROXY_DAEMONSET, 500, 1));
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(statuses(&cluster, "PATCH", PROXY_DAEMONSET), vec![500, 200]);
    assert!(out.contains("failed the restart patch"), "{out}");
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0, "{out}");
}

/// The restart patch keeps failing after the ConfigMap was written: exit 3 naming what was
/// written, what was not and how to continue; running again restarts (issue 14, item 4).
#[test]
fn restart_patch_failing_for_good_then_rerun_restarts_sim_only() {
    let Some(cluster) = faulty_sim("restart_patch_failing_for_good_then_rerun_restarts_sim_only")
    else {
        return;
    };
    for code in [500, 502] {
        cluster
            .sim()
            .inject(kube_sim::Fault::status("PATCH", PROXY_DAEMONSET, code, 50));
        let (exit, out, err) = run(cluster.lbctl().args(["enable-strictarp"]));
        assert_eq!(exit, 3, "stdout:\n{out}\nstderr:\n{err}");
        assert!(
            err.contains("could not restart DaemonSet kube-system/kube-proxy")
                && err.contains(&format!("(HTTP {code})")),
            "{err}"
        );
        // The first run wrote the ConfigMap; the second only had kube-proxy left to restart.
        assert_eq!(
            err.contains("the configuration change in ConfigMap kube-system/kube-proxy is written"),
            code == 500,
            "{err}"
        );
        assert!(err.contains("run `lbctl enable-strictarp` again"), "{err}");
        assert!(restarted_at(&kube_proxy_daemonset(&cluster)).is_none());
        let (exit, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
        assert_eq!(
            exit, 1,
            "kube-proxy still runs the old configuration: {out}"
        );
        assert!(out.contains("needs a restart"), "{out}");
        cluster.sim().clear_faults();
    }
    rerun_converges(&cluster);
    assert!(restarted_at(&kube_proxy_daemonset(&cluster)).is_some());
}

/// The ConfigMap update fails for good: nothing is written, exit 3; a rerun succeeds. One
/// failure alone is retried.
#[test]
fn configmap_update_failures_then_rerun_sim_only() {
    let Some(cluster) = faulty_sim("configmap_update_failures_then_rerun_sim_only") else {
        return;
    };
    let before = config_text(&kube_proxy_config(&cluster), "config.conf");
    cluster
        .sim()
        .inject(kube_sim::Fault::status("PUT", PROXY_CONFIGMAP, 500, 50));
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("ConfigMap kube-system/kube-proxy"), "{err}");
    assert_eq!(
        config_text(&kube_proxy_config(&cluster), "config.conf"),
        before
    );
    assert!(restarted_at(&kube_proxy_daemonset(&cluster)).is_none());
    cluster.sim().clear_faults();
    cluster.clear_requests();
    cluster
        .sim()
        .inject(kube_sim::Fault::status("PUT", PROXY_CONFIGMAP, 503, 1));
    cluster
        .sim()
        .inject(kube_sim::Fault::status("PUT", PROXY_CONFIGMAP, 500, 1));
    rerun_converges(&cluster);
}

/// `--revert` after a run whose restart failed restores the text and restarts kube-proxy.
#[test]
fn revert_after_a_failed_restart_sim_only() {
    let Some(cluster) = faulty_sim("revert_after_a_failed_restart_sim_only") else {
        return;
    };
    let original = config_text(&kube_proxy_config(&cluster), "config.conf");
    cluster
        .sim()
        .inject(kube_sim::Fault::status("PATCH", PROXY_DAEMONSET, 500, 50));
    let (code, _, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 3, "{err}");
    cluster.sim().clear_faults();
    let (code, out, err) =
        run(cluster
            .lbctl()
            .args(["enable-strictarp", "--revert", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        config_text(&kube_proxy_config(&cluster), "config.conf"),
        original
    );
    assert!(restarted_at(&kube_proxy_daemonset(&cluster)).is_some());
    rerun_converges(&cluster);
}

/// Starts `lbctl args`, sends SIGINT (as a terminal's Ctrl-C) once `ready` holds, and returns
/// the exit code.
fn interrupt_when(cluster: &Cluster, args: &[&str], ready: impl FnMut(&Cluster) -> bool) -> i32 {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lbctl"))
        .env_remove("KUBECONFIG")
        .env("HOME", cluster.dir())
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting lbctl");
    let reached = cluster.eventually(Duration::from_secs(20), ready);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let code = child.wait().expect("lbctl ends").code().unwrap_or(-1);
    assert!(reached, "the phase was never reached");
    code
}

/// Ctrl-C before anything is written (while the permissions are checked), and after the
/// ConfigMap write while kube-proxy is restarted: exit 130, and a rerun finishes the job
/// (issue 14, item 4's matrix). The request in flight is slowed down so Ctrl-C lands in it.
#[test]
fn interrupted_runs_converge_on_rerun_sim_only() {
    for (method, path) in [("POST", ACCESS_REVIEWS), ("PATCH", PROXY_DAEMONSET)] {
        let Some(cluster) = faulty_sim("interrupted_runs_converge_on_rerun_sim_only") else {
            return;
        };
        let slow = kube_sim::Fault::latency(method, path, Duration::from_secs(5), 10);
        cluster.sim().inject(slow);
        let code = interrupt_when(&cluster, &["enable-strictarp"], |c| {
            // The step before the slow request has been answered.
            c.requests().iter().any(|r| match method {
                "POST" => r.method == "GET" && r.path == PROXY_CONFIGMAP,
                _ => r.method == "PUT" && r.path == PROXY_CONFIGMAP && r.status == 200,
            })
        });
        assert_eq!(code, 130, "Ctrl-C during {method} {path}");
        if method == "POST" {
            assert_eq!(
                cluster.writes(),
                vec![],
                "nothing is written before the permissions"
            );
        }
        rerun_converges(&cluster);
    }
}

// A restart that changes no pod (updateStrategy OnDelete) is not reported done: exit 3 naming
// the DaemonSet and the pods that still run the old configuration (issue 14, item 3).
on_both_backends! {
fn a_restart_that_replaces_no_pod_is_a_failure(backend) {
    let Some(cluster) = scenario_on("kubeadm-iptables", backend) else {
        return;
    };
    let out = cluster
        .kubectl()
        .args(["-n", "kube-system", "patch", "daemonset", "kube-proxy", "--type", "merge", "-p",
            r#"{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}"#])
        .output()
        .expect("running kubectl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    cluster.after_pods_started("kube-system", "k8s-app=kube-proxy");
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"]));
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(!out.contains("[done]"), "{out}");
    assert!(
        err.contains("DaemonSet kube-system/kube-proxy reports its rollout complete, but 3 of its pods still run the configuration from before"),
        "{err}"
    );
    assert!(err.contains("OnDelete"), "{err}");
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 1, "{out}");
}
}

/// `-q`: a dry run and a check keep their plan, diff and verdict; a run that writes prints only
/// its verdict (and its warnings and notes); a failure its error and hint; exit codes as without.
#[test]
fn quiet_keeps_the_plan_of_a_dry_run_and_the_verdict_of_a_write_sim_only() {
    let reader = READER;
    let sim = Sim::scenario("kubeadm-iptables").user("reader", reader);
    let Some(cluster) = Cluster::sim_only(
        "quiet_keeps_the_plan_of_a_dry_run_and_the_verdict_of_a_write_sim_only",
        sim,
    ) else {
        return;
    };
    let progress = [
        "[locate]",
        "[permissions]",
        "[apply]",
        "[restart]",
        "[wait]",
    ];
    let assert_no_progress = |out: &str| {
        for tag in progress {
            assert!(!out.contains(tag), "{tag} under -q:\n{out}");
        }
    };
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp", "--dry-run"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("[locate]"), "{out}");
    let (code, quiet, err) = run(cluster
        .lbctl()
        .args(["-q", "enable-strictarp", "--dry-run"]));
    assert_eq!(code, 0, "stdout:\n{quiet}\nstderr:\n{err}");
    assert_no_progress(&quiet);
    // Everything but the locate step is the dry run's result: notes, plan, diff, verdict.
    let result: String = out
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("[locate]"))
        .collect();
    assert_eq!(quiet, result);
    assert!(
        quiet.contains("-  strictARP: false\n+  strictARP: true"),
        "{quiet}"
    );
    assert!(err.contains("deprecated since Kubernetes 1.35"), "{err}");

    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "-q", "--check"]));
    assert_eq!(code, 1, "{out}");
    assert_no_progress(&out);
    assert!(
        out.contains("[check] changes needed; nothing written."),
        "{out}"
    );

    let (code, out, err) = run(cluster.lbctl_as("reader").args(["enable-strictarp", "-q"]));
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    // The plan's note stays (a note is advice); its steps do not.
    assert_no_progress(&out);
    assert!(!out.contains("[plan]"), "{out}");
    assert!(
        err.contains("error: ")
            && err.contains("cannot update configmaps in namespace \"kube-system\""),
        "{err}"
    );
    assert!(
        err.contains("hint: ")
            && err.contains("kubectl auth can-i update configmaps -n kube-system"),
        "{err}"
    );

    // --no-restart: the write is the last thing done, so its line is the verdict.
    cluster.after_pods_started("kube-system", "k8s-app=kube-proxy");
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "-q", "--no-restart"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    // Only notes besides the verdict (the plan's, and what --no-restart leaves to do).
    let (verdict, notes): (Vec<&str>, Vec<&str>) =
        out.lines().partition(|l| !l.starts_with("note: "));
    assert_eq!(verdict.len(), 1, "{out}");
    assert!(
        verdict[0].starts_with("[apply] updated ConfigMap kube-system/kube-proxy"),
        "{out}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("note: --no-restart:")),
        "{out}"
    );

    let (code, out, err) =
        run(cluster
            .lbctl()
            .args(["enable-strictarp", "-q", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(out, "[done] kube-proxy now runs IPVS with strictARP.\n");
    assert!(restarted_at(&kube_proxy_daemonset(&cluster)).is_some());
}
