//! `lbctl enable-strictarp` end to end: the real binary against kube-sim scenarios.
//!
//! `kubeadm_apply_then_nothing_to_do` also runs against a real kubeadm-like cluster when
//! `LBCTL_E2E_KUBECONFIG` is set (it changes that cluster's kube-proxy!); every other test
//! needs kube-sim and says that it skips.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube_sim::{AdmissionRequest, Operation, Store};
use serde_json::{Value, json};
use support::{Cluster, Sim, output_text};

fn kube_proxy_config(cluster: &Cluster) -> Value {
    cluster
        .sim()
        .get("v1", "ConfigMap", Some("kube-system"), "kube-proxy")
        .expect("ConfigMap kube-system/kube-proxy")
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

#[test]
fn kubeadm_apply_then_nothing_to_do() {
    let cluster = Cluster::start(Sim::scenario("kubeadm-iptables"));
    let (code, out, err) = run(cluster
        .lbctl()
        .args(["enable-strictarp", "--timeout", "60s"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("ConfigMap kube-system/kube-proxy, key config.conf"),
        "{out}"
    );
    assert!(out.contains("rollout complete"), "{out}");
    if cluster.is_sim() {
        assert!(
            out.contains("-  strictARP: false\n+  strictARP: true"),
            "{out}"
        );
        assert!(out.contains("-mode: \"\"\n+mode: \"ipvs\""), "{out}");
        // kube-sim serves v1.36: switching into IPVS warns about the deprecation.
        assert!(
            err.contains("deprecated since Kubernetes 1.35") && err.contains("v1.36.0"),
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
        let ds = cluster
            .sim()
            .get("apps/v1", "DaemonSet", Some("kube-system"), "kube-proxy")
            .unwrap();
        assert!(
            ds["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
                .is_string()
        );
        cluster.clear_requests();
    }

    // A second run changes nothing and writes nothing.
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("already configured"), "{out}");
    assert!(out.contains("nothing written, nothing restarted"), "{out}");
    let (code, _, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0);
    if cluster.is_sim() {
        assert_eq!(cluster.writes(), vec![], "a second run must not write");
    }
}

#[test]
fn check_and_dry_run_write_nothing() {
    let Some(cluster) = Cluster::sim_only(
        "check_and_dry_run_write_nothing",
        Sim::scenario("kubeadm-iptables"),
    ) else {
        return;
    };
    let before = kube_proxy_config(&cluster);
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
    assert_eq!(
        cluster.writes(),
        vec![],
        "--check and --dry-run must not write"
    );
    assert_eq!(
        kube_proxy_config(&cluster)["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
}

#[test]
fn eks_layout_inserts_strict_arp() {
    let Some(cluster) = Cluster::sim_only("eks_layout_inserts_strict_arp", Sim::scenario("eks"))
    else {
        return;
    };
    let before = cluster
        .sim()
        .get("v1", "ConfigMap", Some("kube-system"), "kube-proxy-config")
        .unwrap();
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
    let after = cluster
        .sim()
        .get("v1", "ConfigMap", Some("kube-system"), "kube-proxy-config")
        .unwrap();
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

#[test]
fn flags_only_k3s_prints_instructions() {
    let Some(cluster) =
        Cluster::sim_only("flags_only_k3s_prints_instructions", Sim::scenario("k3s"))
    else {
        return;
    };
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
    assert_eq!(cluster.writes(), vec![]);
}

#[test]
fn no_kube_proxy_with_cilium_needs_nothing() {
    let Some(cluster) = Cluster::sim_only(
        "no_kube_proxy_with_cilium_needs_nothing",
        Sim::scenario("cilium"),
    ) else {
        return;
    };
    let (code, out, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("Cilium") && out.contains("strict ARP is not needed"),
        "{out}"
    );
    let (code, _, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0);
    assert_eq!(cluster.writes(), vec![]);
}

/// On the first update of the ConfigMap, someone else edits another key: the update fails
/// with a real 409, lbctl re-reads, re-plans and keeps that edit.
#[test]
fn conflict_is_retried_and_concurrent_edit_survives() {
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
        "conflict_is_retried_and_concurrent_edit_survives",
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

#[test]
fn forbidden_user_gets_exit_3_and_nothing_is_written() {
    let reader = r#"
- { apiGroups: [""], resources: [configmaps], verbs: [get, list], namespaces: [kube-system] }
- { apiGroups: ["apps"], resources: [daemonsets], verbs: [get, list, watch, patch], namespaces: [kube-system] }
- { apiGroups: [""], resources: [nodes, pods], verbs: [get, list] }
- { apiGroups: ["authorization.k8s.io"], resources: [selfsubjectaccessreviews], verbs: [create] }
"#;
    let Some(cluster) = Cluster::sim_only(
        "forbidden_user_gets_exit_3_and_nothing_is_written",
        Sim::scenario("kubeadm-iptables").user("reader", reader),
    ) else {
        return;
    };
    let (code, out, err) = run(cluster.lbctl_as("reader").args(["enable-strictarp"]));
    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains("cannot update configmaps/kube-proxy in namespace \"kube-system\""),
        "{err}"
    );
    assert!(
        err.contains("kubectl auth can-i update configmaps/kube-proxy -n kube-system"),
        "{err}"
    );
    assert_eq!(
        cluster.writes(),
        vec![],
        "nothing may be written without every permission"
    );
}

#[test]
fn revert_restores_the_exact_text() {
    let Some(cluster) = Cluster::sim_only(
        "revert_restores_the_exact_text",
        Sim::scenario("kubeadm-iptables"),
    ) else {
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
}

#[test]
fn rollout_timeout_exits_3_with_what_was_observed() {
    let Some(cluster) = Cluster::sim_only(
        "rollout_timeout_exits_3_with_what_was_observed",
        Sim::scenario("kubeadm-iptables")
            .setting("podsNeverReady", json!(["kube-system/kube-proxy"])),
    ) else {
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
    // The config change itself was written before the wait.
    assert!(config_text(&kube_proxy_config(&cluster), "config.conf").contains("strictARP: true"));
}

#[test]
fn nftables_needs_an_explicit_mode() {
    let Some(cluster) = Cluster::sim_only(
        "nftables_needs_an_explicit_mode",
        Sim::scenario("kubeadm-nftables"),
    ) else {
        return;
    };
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
    assert_eq!(cluster.writes(), vec![]);
}

#[test]
fn no_restart_then_next_run_restarts_and_says_why() {
    let Some(cluster) = Cluster::sim_only(
        "no_restart_then_next_run_restarts_and_says_why",
        Sim::scenario("kubeadm-iptables"),
    ) else {
        return;
    };
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--no-restart"]));
    assert_eq!(code, 0, "{out}");
    let ds = cluster
        .sim()
        .get("apps/v1", "DaemonSet", Some("kube-system"), "kube-proxy")
        .unwrap();
    assert!(
        ds["spec"]["template"]["metadata"]["annotations"]
            .get("kubectl.kubernetes.io/restartedAt")
            .is_none()
    );
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
    // Now every pod runs the current configuration: nothing more to do.
    let (code, out, _) = run(cluster.lbctl().args(["enable-strictarp", "--check"]));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn unparsable_config_is_refused_with_exit_2() {
    let Some(cluster) = Cluster::sim_only(
        "unparsable_config_is_refused_with_exit_2",
        Sim::scenario("kubeadm-iptables"),
    ) else {
        return;
    };
    let mut cm = kube_proxy_config(&cluster);
    cm["data"]["config.conf"] = json!(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs: [\n"
    );
    cluster.sim().apply_object(cm);
    cluster.clear_requests();
    let (code, _, err) = run(cluster.lbctl().args(["enable-strictarp"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not valid YAML") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(cluster.writes(), vec![]);
}
