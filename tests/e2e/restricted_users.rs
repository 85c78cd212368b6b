//! Every command as a user who holds only what the docs say it needs, on both backends: the real
//! API server's RBAC (SelfSubjectRulesReviews, escalation prevention) is the judge, kube-sim
//! must agree with it.

use crate::support;

use support::{Cluster, Sim, output_text};

const POOL: &str = "192.168.77.240-192.168.77.250";

/// Read access as docs/preflight.md lists it (what `view` plus nodes and CRDs covers).
const READER: &str = r#"
- { apiGroups: [""], resources: [nodes, namespaces, services, pods, configmaps, events], verbs: [get, list, watch] }
- { apiGroups: [apps], resources: [daemonsets, deployments, replicasets], verbs: [get, list, watch] }
- { apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [get, list, watch] }
- { apiGroups: [networking.k8s.io], resources: [servicecidrs], verbs: [get, list, watch] }
- { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch] }
- { apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [get, list, watch] }
- { apiGroups: [metallb.io], resources: [ipaddresspools, l2advertisements, configurationstates, servicel2statuses], verbs: [get, list, watch] }
"#;

/// docs/doctor.md: read access, `list secrets` and the dry-run pool create in MetalLB's namespace.
const DOCTOR_EXTRA: &str = r#"
- { apiGroups: [""], resources: [secrets], verbs: [get, list], namespaces: [metallb-system] }
- { apiGroups: [metallb.io], resources: [ipaddresspools], verbs: [create], namespaces: [metallb-system] }
"#;

/// docs/checks.md LB104, enable-strictarp's part.
const STRICTARP: &str = r#"
- { apiGroups: [""], resources: [configmaps], verbs: [get, update], namespaces: [kube-system] }
- { apiGroups: [apps], resources: [daemonsets], verbs: [get, patch, list, watch], namespaces: [kube-system] }
- { apiGroups: [""], resources: [pods], verbs: [list, watch], namespaces: [kube-system] }
"#;

fn user(sim: Sim, name: &str, parts: &[&str]) -> Sim {
    sim.user(name, &parts.concat())
}

fn run(cmd: &mut assert_cmd::Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = output_text(&out);
    (out.status.code(), format!("{stdout}\n{stderr}"))
}

fn installed(cluster: &Cluster) {
    let (code, out) =
        run(cluster
            .lbctl()
            .args(["install", "--no-probe", "--timeout", "60s", "--pool", POOL]));
    assert_eq!(code, Some(0), "admin install: {out}");
}

on_both_backends! {
fn preflight_with_read_access_reads_everything(backend) {
    let sim = user(Sim::scenario("kubeadm-iptables"), "reader", &[READER]);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, out) = run(cluster
        .lbctl_as("reader")
        .args(["preflight", "--no-probe", "--pool", POOL]));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("✔ LB103"), "{out}");
    // The reader may not install: said as a warning, which is no failure.
    assert!(out.contains("! LB104"), "{out}");
}
}

on_both_backends! {
fn doctor_with_its_documented_access_passes(backend) {
    let sim = user(
        Sim::scenario("kubeadm-iptables"),
        "auditor",
        &[READER, DOCTOR_EXTRA],
    );
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    installed(&cluster);
    let (code, out) = run(cluster.lbctl_as("auditor").args(["doctor", "--no-probe"]));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("✔ LB409"), "the dry-run pool create passed: {out}");
}
}

on_both_backends! {
fn doctor_without_secrets_names_the_permission(backend) {
    let sim = user(Sim::scenario("kubeadm-iptables"), "viewer", &[READER]);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    installed(&cluster);
    let (code, out) = run(cluster.lbctl_as("viewer").args(["doctor", "--no-probe"]));
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("kubectl auth can-i list secrets -n metallb-system"),
        "{out}"
    );
}
}

on_both_backends! {
fn enable_strictarp_with_its_documented_access_works(backend) {
    let sim = user(Sim::scenario("kubeadm-ipvs"), "proxy-admin", &[STRICTARP]);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, out) = run(cluster.lbctl_as("proxy-admin").args(["enable-strictarp"]));
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(cluster
        .lbctl_as("proxy-admin")
        .args(["enable-strictarp", "--check"]));
    assert_eq!(code, Some(0), "{out}");
}
}

on_both_backends! {
fn a_user_without_rights_gets_exit_3_and_the_missing_permission(backend) {
    let sim = user(
        Sim::scenario("kubeadm-ipvs"),
        "nobody",
        &["- { apiGroups: [\"\"], resources: [namespaces], verbs: [get] }\n"],
    );
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, out) = run(cluster.lbctl_as("nobody").args(["enable-strictarp"]));
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("daemonsets"), "{out}");
    let cm = cluster
        .get("v1", "ConfigMap", Some("kube-system"), "kube-proxy")
        .unwrap();
    assert!(
        cm["data"]["config.conf"]
            .as_str()
            .unwrap()
            .contains("strictARP: false"),
        "nothing was written"
    );
}
}

/// docs/checks.md LB104, install's part, plus what RBAC's escalation prevention asks of whoever
/// creates roles: `escalate` and `bind` on them (else the user must hold every right they grant).
const INSTALLER: &str = r#"
- { apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [get, list, watch, create, patch] }
- { apiGroups: [""], resources: [namespaces], verbs: [get, list, watch, create, patch] }
- { apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles, clusterrolebindings, roles, rolebindings], verbs: [get, list, watch, create, patch, escalate, bind] }
- { apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [get, list, watch, create, patch] }
- { apiGroups: ["", apps, metallb.io], resources: [serviceaccounts, services, secrets, configmaps, deployments, daemonsets, ipaddresspools, l2advertisements], verbs: [get, list, watch, create, patch], namespaces: [metallb-system] }
- { apiGroups: [""], resources: [pods, events], verbs: [get, list, watch], namespaces: [metallb-system] }
"#;

on_both_backends! {
/// The namespace exists already: an admin created it to bind the installer's rights there (a Role
/// cannot exist in a namespace that does not).
fn install_with_its_documented_access_works(backend) {
    let base = std::fs::read_to_string(support::scenario_path("kubeadm-iptables")).unwrap();
    let scenario = format!(
        "{}\n  - {{ apiVersion: v1, kind: Namespace, metadata: {{ name: metallb-system }} }}\n",
        base.trim_end()
    );
    let sim = user(Sim::yaml(&scenario), "installer", &[READER, INSTALLER]);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, out) = run(cluster.lbctl_as("installer").args([
        "install", "--no-probe", "--timeout", "60s", "--pool", POOL,
    ]));
    assert_eq!(code, Some(0), "{out}");
}
}

on_both_backends! {
/// A user who may delete only inside MetalLB's namespace: uninstall names what is missing and
/// deletes nothing (not even the pools it could delete), exit 3.
fn uninstall_checks_every_permission_before_deleting_anything(backend) {
    let rules = r#"
- { apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch] }
- { apiGroups: ["*"], resources: ["*"], verbs: [delete], namespaces: [metallb-system] }
"#;
    let sim = user(Sim::scenario("kubeadm-iptables"), "ns-admin", &[rules]);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    installed(&cluster);
    let (code, out) = run(cluster.lbctl_as("ns-admin").args(["uninstall", "--timeout", "30s"]));
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("validatingwebhookconfigurations"), "{out}");
    assert!(out.contains("customresourcedefinitions"), "{out}");
    assert!(
        cluster
            .get("metallb.io/v1beta1", "IPAddressPool", Some("metallb-system"), "default")
            .is_some(),
        "a pool was deleted before the permissions were checked"
    );
    let doctor = cluster.lbctl().args(["doctor", "--no-probe"]).output().unwrap();
    assert_eq!(doctor.status.code(), Some(0), "{:?}", output_text(&doctor));
}
}

on_both_backends! {
/// A user who may read everything but write nothing: install names the missing permissions and
/// exits 3 (could not run), as README's exit codes say, and writes nothing.
fn install_without_its_permissions_is_exit_3_naming_them(backend) {
    let sim = user(Sim::scenario("kubeadm-iptables"), "reader", &[READER]);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, out) = run(cluster.lbctl_as("reader").args([
        "install", "--no-probe", "--timeout", "60s", "--pool", POOL,
    ]));
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("LB104"), "{out}");
    assert!(out.contains("customresourcedefinitions"), "{out}");
    assert!(!out.contains("Fix the failed checks"), "{out}");
    assert!(
        cluster.get("v1", "Namespace", None, "metallb-system").is_none(),
        "nothing was written"
    );
}
}
