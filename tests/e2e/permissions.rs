//! One truth per command: the permissions in `lbctl::permissions` (rendered in
//! docs/permissions.md) cover every request the command makes (kube-sim's request log), a user
//! bound to exactly the documented Role/ClusterRole can run it (both backends: the real API
//! server's RBAC is the judge), and the same user minus one rule is refused before any write.

use crate::support::{self, Cluster, Sim, output_text};
use lbctl::permissions::{self, Command, Namespaces};
use serde_json::{Value, json};

const POOL: &str = "192.168.77.240-192.168.77.250";

/// The rules of `command`'s documented roles (docs/permissions.md) as kube-sim user rules: the
/// ClusterRole's without namespaces, each Role's in its namespace.
pub(crate) fn documented_rules(command: Command) -> Vec<Value> {
    let docs = std::fs::read_to_string(support::root().join("docs/permissions.md")).unwrap();
    let marker = format!("<!-- rbac: {} -->\n```yaml\n", command.name());
    let start = docs.find(&marker).expect("the command's block") + marker.len();
    let block = &docs[start..start + docs[start..].find("```").unwrap()];
    let mut rules = Vec::new();
    for doc in block.split("---\n") {
        let role: Value = serde_saphyr::from_str(doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
        let namespaces = match role["kind"].as_str() {
            Some("ClusterRole") => json!([]),
            Some("Role") => json!([role["metadata"]["namespace"]]),
            other => panic!("unexpected kind {other:?}"),
        };
        for rule in role["rules"].as_array().unwrap() {
            let mut rule = rule.clone();
            rule["namespaces"] = namespaces.clone();
            rules.push(rule);
        }
    }
    rules
}

/// `rules` less the one for `resource` in `namespace` (`None`: the ClusterRole's).
pub(crate) fn without(
    mut rules: Vec<Value>,
    resource: &str,
    namespace: Option<&str>,
) -> Vec<Value> {
    let before = rules.len();
    rules.retain(|r| {
        let ns = r["namespaces"].as_array().unwrap().first().cloned();
        !(r["resources"][0] == resource && ns.as_ref().and_then(Value::as_str) == namespace)
    });
    assert_eq!(rules.len(), before - 1, "one rule for {resource} removed");
    rules
}

fn with_user(sim: Sim, name: &str, rules: &[Value]) -> Sim {
    // JSON is YAML.
    sim.user(name, &Value::from(rules.to_vec()).to_string())
}

fn run(cmd: &mut assert_cmd::Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = output_text(&out);
    (out.status.code(), format!("{stdout}\n{stderr}"))
}

/// kubeadm with iptables and MetalLB's namespace made by an admin (a Role needs its namespace).
fn kubeadm_with_metallb_namespace() -> Sim {
    let base = std::fs::read_to_string(support::scenario_path("kubeadm-iptables")).unwrap();
    Sim::yaml(&format!(
        "{}\n  - {{ apiVersion: v1, kind: Namespace, metadata: {{ name: metallb-system }} }}\n",
        base.trim_end()
    ))
}

/// (verb, group, resource, namespace) of a logged API request; `None` for `/version` and the
/// self-reviews every user may create.
fn requested(r: &kube_sim::LoggedRequest) -> Option<(String, String, String, Option<String>)> {
    if r.verb.is_empty() || r.path.ends_with("reviews") {
        return None;
    }
    let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let (group, mut rest) = match segments.first() {
        Some(&"api") => ("", &segments[2..]),
        Some(&"apis") => (segments[1], &segments[3..]),
        _ => return None,
    };
    let mut namespace = None;
    if rest.len() >= 3 && rest[0] == "namespaces" {
        namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    let resource = match rest {
        [resource, _, sub, ..] => format!("{resource}/{sub}"),
        [resource, ..] => resource.to_string(),
        [] => return None,
    };
    Some((r.verb.clone(), group.to_string(), resource, namespace))
}

/// Every request kube-sim logged since the last clear is in `command`'s list (a need for every
/// namespace covers each one).
fn assert_covered(cluster: &Cluster, command: Command) {
    let list = permissions::list(command, &Namespaces::default());
    let mut missing: Vec<String> = Vec::new();
    for r in cluster.requests() {
        let Some((verb, group, resource, namespace)) = requested(&r) else {
            continue;
        };
        let covered = list.iter().any(|e| {
            let p = &e.permission;
            p.verb == verb
                && p.group == group
                && p.resource == resource
                && (p.namespace.is_none() || p.namespace == namespace)
        });
        let line = format!(
            "{verb} {resource}.{group} in {namespace:?} ({} {})",
            r.method, r.path
        );
        if !covered && !missing.contains(&line) {
            missing.push(line);
        }
    }
    assert!(
        missing.is_empty(),
        "{} requested what its list (src/permissions/mod.rs) lacks:\n{}",
        command.name(),
        missing.join("\n")
    );
    cluster.clear_requests();
}

fn admin_ok(cluster: &Cluster, args: &[&str]) {
    let (code, out) = run(cluster.lbctl().args(args));
    assert_eq!(code, Some(0), "admin {args:?}: {out}");
}

#[test]
fn enable_strictarp_requests_only_what_its_list_holds_sim_only() {
    let Some(cluster) = Cluster::sim_only("coverage", Sim::scenario("kubeadm-ipvs")) else {
        return;
    };
    cluster.clear_requests();
    admin_ok(&cluster, &["enable-strictarp", "--timeout", "60s"]);
    cluster.after_pods_started("kube-system", "k8s-app=kube-proxy");
    admin_ok(&cluster, &["enable-strictarp", "--check"]);
    admin_ok(&cluster, &["enable-strictarp", "--revert", "--no-restart"]);
    // Configured again without a restart: the next run finds stale pods and restarts them.
    admin_ok(&cluster, &["enable-strictarp", "--no-restart"]);
    admin_ok(&cluster, &["enable-strictarp", "--timeout", "60s"]);
    admin_ok(
        &cluster,
        &["enable-strictarp", "--revert", "--timeout", "60s"],
    );
    assert_covered(&cluster, Command::EnableStrictarp);

    // Without a kube-proxy DaemonSet it looks for what replaces it.
    let Some(cilium) = Cluster::sim_only("coverage", Sim::scenario("cilium")) else {
        return;
    };
    cilium.clear_requests();
    admin_ok(&cilium, &["enable-strictarp"]);
    assert_covered(&cilium, Command::EnableStrictarp);
}

#[test]
fn install_doctor_preflight_and_uninstall_request_only_what_their_lists_hold_sim_only() {
    let Some(cluster) = Cluster::sim_only("coverage", Sim::scenario("kubeadm-iptables")) else {
        return;
    };
    cluster.clear_requests();
    let install = ["install", "--no-probe", "--timeout", "60s", "--pool", POOL];
    admin_ok(&cluster, &install);
    // Again, with MetalLB's CRDs and objects in place (the pools are read, objects compared).
    admin_ok(&cluster, &install);
    assert_covered(&cluster, Command::Install);

    let (_, out) = run(cluster
        .lbctl()
        .args(["preflight", "--no-probe", "--pool", POOL]));
    assert!(!out.contains("auth can-i"), "{out}");
    assert_covered(&cluster, Command::Preflight);
    run(cluster
        .lbctl()
        .args(["preflight", "--no-probe", "--nodes", "all"]));
    assert_covered(&cluster, Command::PreflightNodes);
    admin_ok(&cluster, &["doctor", "--no-probe"]);
    assert_covered(&cluster, Command::Doctor);
    run(cluster
        .lbctl()
        .args(["doctor", "--no-probe", "--nodes", "all"]));
    assert_covered(&cluster, Command::DoctorNodes);
    let bundle = cluster.dir().join("coverage.tar.gz");
    admin_ok(
        &cluster,
        &["doctor", "--no-probe", "--bundle", bundle.to_str().unwrap()],
    );
    assert_covered(&cluster, Command::DoctorBundle);

    admin_ok(&cluster, &["uninstall", "--timeout", "60s"]);
    assert_covered(&cluster, Command::Uninstall);
}

#[test]
fn explain_requests_only_what_its_lists_hold_sim_only() {
    let Some(cluster) = Cluster::sim_only("coverage", Sim::scenario("metallb-healthy")) else {
        return;
    };
    cluster.clear_requests();
    admin_ok(&cluster, &["explain", "web", "-n", "default", "--no-probe"]);
    admin_ok(&cluster, &["explain", "--all"]);
    assert_covered(&cluster, Command::Explain);
    admin_ok(
        &cluster,
        &[
            "explain",
            "web",
            "-n",
            "default",
            "--no-probe",
            "--nodes",
            "all",
        ],
    );
    assert_covered(&cluster, Command::ExplainNodes);
}

on_both_backends! {
/// enable-strictarp (and --revert) as a user with exactly its documented roles; the same user
/// without `list pods` in kube-system (needed to tell stale kube-proxy pods) is refused by the
/// pre-check before anything is written.
fn enable_strictarp_runs_with_exactly_its_documented_roles(backend) {
    let rules = documented_rules(Command::EnableStrictarp);
    let sim = with_user(Sim::scenario("kubeadm-ipvs"), "proxy-admin", &rules);
    let sim = with_user(sim, "no-pods", &without(rules, "pods", Some("kube-system")));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, out) = run(cluster.lbctl_as("no-pods").args(["enable-strictarp"]));
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("kubectl auth can-i list pods -n kube-system"), "{out}");
    let cm = cluster.get("v1", "ConfigMap", Some("kube-system"), "kube-proxy").unwrap();
    assert!(
        cm["data"]["config.conf"].as_str().unwrap().contains("strictARP: false"),
        "nothing was written"
    );

    let as_admin = |args: &[&str]| {
        let (code, out) = run(cluster.lbctl_as("proxy-admin").args(args));
        assert_eq!(code, Some(0), "{args:?}: {out}");
    };
    as_admin(&["enable-strictarp", "--timeout", "60s"]);
    cluster.after_pods_started("kube-system", "k8s-app=kube-proxy");
    as_admin(&["enable-strictarp", "--check"]);
    as_admin(&["enable-strictarp", "--revert", "--timeout", "60s"]);
}
}

on_both_backends! {
/// install, preflight, doctor (with and without --nodes) and uninstall, each as a user with
/// exactly its documented roles; install without its ConfigMap rule in MetalLB's namespace,
/// and uninstall without its CRD rule, are refused before their first write.
fn every_metallb_command_runs_with_exactly_its_documented_roles(backend) {
    let mut sim = kubeadm_with_metallb_namespace();
    for (user, command) in [
        ("installer", Command::Install),
        ("preflighter", Command::Preflight),
        ("node-preflighter", Command::PreflightNodes),
        ("doctor", Command::Doctor),
        ("node-doctor", Command::DoctorNodes),
        ("uninstaller", Command::Uninstall),
    ] {
        sim = with_user(sim, user, &documented_rules(command));
    }
    let install_rules = documented_rules(Command::Install);
    sim = with_user(sim, "installer-no-cm", &without(install_rules, "configmaps", Some("metallb-system")));
    let uninstall_rules = documented_rules(Command::Uninstall);
    sim = with_user(
        sim,
        "uninstaller-no-crds",
        &without(uninstall_rules, "customresourcedefinitions", None),
    );
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let install = ["install", "--no-probe", "--timeout", "90s", "--pool", POOL];

    let (code, out) = run(cluster.lbctl_as("installer-no-cm").args(install));
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("configmaps -n metallb-system"), "{out}");
    assert!(
        cluster
            .get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "ipaddresspools.metallb.io")
            .is_none(),
        "nothing was written before the missing permission was found"
    );

    let (code, out) = run(cluster.lbctl_as("installer").args(install));
    assert_eq!(code, Some(0), "{out}");

    // The read-only commands end as they do for the admin, and every check could run (`?` is
    // the symbol of `error`).
    for (user, args) in [
        ("preflighter", vec!["preflight", "--no-probe", "--pool", POOL]),
        ("node-preflighter", vec!["preflight", "--no-probe", "--nodes", "all"]),
        ("doctor", vec!["doctor", "--no-probe"]),
        ("node-doctor", vec!["doctor", "--no-probe", "--nodes", "all"]),
    ] {
        let (admin_code, admin_out) = run(cluster.lbctl().args(&args));
        let (code, out) = run(cluster.lbctl_as(user).args(&args));
        assert_eq!(code, admin_code, "{user} {args:?}: {out}\nadmin: {admin_out}");
        assert_ne!(code, Some(3), "{user} {args:?}: {out}");
        assert!(!out.contains("  ? LB"), "a check could not run: {user} {args:?}: {out}");
    }

    let (code, out) = run(cluster.lbctl_as("uninstaller-no-crds").args(["uninstall", "--timeout", "60s"]));
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("customresourcedefinitions"), "{out}");
    assert!(
        cluster
            .get("metallb.io/v1beta1", "IPAddressPool", Some("metallb-system"), "default")
            .is_some(),
        "nothing was deleted"
    );
    let (code, out) = run(cluster.lbctl_as("uninstaller").args(["uninstall", "--timeout", "120s"]));
    assert_eq!(code, Some(0), "{out}");
}
}

on_both_backends! {
/// Issue 14 item 6: on a cluster whose kube-proxy still lacks strictARP, install (and
/// `preflight --for install`) ask only for install's own permissions; enable-strictarp's are
/// that command's business. Before, a user with exactly install's documented roles was refused
/// with "(for enable-strictarp)".
fn install_asks_only_for_its_own_permissions_while_strictarp_is_off(backend) {
    let base = std::fs::read_to_string(support::scenario_path("kubeadm-ipvs")).unwrap();
    let sim = Sim::yaml(&format!(
        "{}\n  - {{ apiVersion: v1, kind: Namespace, metadata: {{ name: metallb-system }} }}\n",
        base.trim_end()
    ));
    let sim = with_user(sim, "installer", &documented_rules(Command::Install));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, out) = run(cluster.lbctl_as("installer").args([
        "preflight", "--for", "install", "--no-probe", "--pool", POOL,
    ]));
    assert!(out.contains("LB104"), "{out}");
    assert!(!out.contains("for enable-strictarp"), "{out}");
    assert!(!out.contains("  ? LB"), "a check could not run: {out}");
    assert_ne!(code, Some(3), "{out}");

    let (code, out) = run(cluster.lbctl_as("installer").args([
        "install", "--no-probe", "--timeout", "90s", "--pool", POOL,
    ]));
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("for enable-strictarp"), "{out}");
    // The advice that kube-proxy needs strictARP stays.
    assert!(out.contains("LB111") || out.contains("strictARP"), "{out}");
}
}

on_both_backends! {
/// explain (with and without --nodes, and --all) as users with exactly its documented roles
/// gives the admin's answer.
fn explain_runs_with_exactly_its_documented_roles(backend) {
    let sim = with_user(Sim::scenario("metallb-healthy"), "explainer", &documented_rules(Command::Explain));
    let sim = with_user(sim, "node-explainer", &documented_rules(Command::ExplainNodes));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    for (user, args) in [
        ("explainer", vec!["explain", "web", "-n", "default", "--no-probe"]),
        ("explainer", vec!["explain", "--all"]),
        ("node-explainer", vec!["explain", "web", "-n", "default", "--no-probe", "--nodes", "all"]),
    ] {
        let (admin_code, admin_out) = run(cluster.lbctl().args(&args));
        let (code, out) = run(cluster.lbctl_as(user).args(&args));
        assert_eq!(code, admin_code, "{user} {args:?}: {out}\nadmin: {admin_out}");
        assert_eq!(code, Some(0), "{user} {args:?}: {out}");
    }
}
}

on_both_backends! {
/// `preflight --for doctor|uninstall|enable-strictarp` judges exactly that command's one list
/// (before, `--for` took only `install`): a user bound to its documented roles passes LB104,
/// which lists every permission it checked; minus one rule, LB104 fails and names it.
fn preflight_for_a_command_judges_exactly_its_documented_permissions(backend) {
    let mut sim = Sim::scenario("metallb-healthy");
    for (user, command) in [
        ("doctor", Command::Doctor),
        ("uninstaller", Command::Uninstall),
        ("strictarp", Command::EnableStrictarp),
    ] {
        sim = with_user(sim, user, &documented_rules(command));
    }
    let fewer = without(documented_rules(Command::Doctor), "secrets", Some("metallb-system"));
    sim = with_user(sim, "doctor-without-secrets", &fewer);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let lb104 = |user: &str, command: &str| {
        let args = ["-o", "json", "preflight", "--no-probe", "--for", command];
        let (code, out) = run(cluster.lbctl_as(user).args(args));
        let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let check = doc["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|c| c["id"] == "LB104"))
            .cloned()
            .unwrap_or_else(|| panic!("no LB104: {doc}"));
        (code, check)
    };
    for (user, command) in [
        ("doctor", "doctor"),
        ("uninstaller", "uninstall"),
        ("strictarp", "enable-strictarp"),
    ] {
        let (_, check) = lb104(user, command);
        assert_eq!(check["status"], "pass", "{user} --for {command}: {check}");
        let message = check["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("permissions {command} needs (checked: ")),
            "{user} --for {command}: {check}"
        );
    }
    let (code, check) = lb104("doctor-without-secrets", "doctor");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(check["message"].as_str().unwrap().contains("secrets"), "{check}");
    assert_eq!(code, Some(1), "{check}");
}
}
