//! `lbctl install` and `lbctl uninstall` end to end: the real binary against a kubeadm-like
//! cluster on both backends (kube-sim, and the real control plane with kube-sim's agent as nodes
//! and MetalLB, whose webhook refuses calls until the controller serves). What only kube-sim can
//! show (its request log: "nothing was written", "every write is an apply") is checked there.

use crate::support;

use serde_json::{Value, json};
use support::{Cluster, Sim, kubeadm_with, output_text};

const POOL: &str = "192.168.77.240-192.168.77.250";
const NS: &str = "metallb-system";

fn kubeadm() -> Sim {
    Sim::scenario("kubeadm-ipvs")
}

const NAMESPACE: &str =
    "  - { apiVersion: v1, kind: Namespace, metadata: { name: metallb-system } }\n";

/// The ipaddresspools CRD.
fn crd(cluster: &Cluster) -> Option<Value> {
    get(
        cluster,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "ipaddresspools.metallb.io",
    )
}

fn metallb_setting(sim: Sim, settings: Value) -> Sim {
    sim.setting("metallb", settings)
}

fn install(cluster: &Cluster, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = cluster.lbctl();
    // Never ARP-probe from the test machine (probes only run on a cluster node anyway).
    cmd.args(["install", "--no-probe"]);
    if !extra.contains(&"--timeout") {
        cmd.args(["--timeout", "60s"]);
    }
    let out = cmd.args(extra).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    (out.status.code(), stdout, stderr)
}

/// `lbctl install` that must succeed; its stdout and stderr.
fn install_ok(cluster: &Cluster, extra: &[&str]) -> (String, String) {
    let (code, stdout, stderr) = install(cluster, extra);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    (stdout, stderr)
}

fn get(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    ns: Option<&str>,
    name: &str,
) -> Option<Value> {
    cluster.get(api_version, kind, ns, name)
}

/// The pool `default` install creates from `--pool`.
fn pool(cluster: &Cluster) -> Option<Value> {
    get(
        cluster,
        "metallb.io/v1beta1",
        "IPAddressPool",
        Some(NS),
        "default",
    )
}

/// Asserts that `text` contains every part, showing the whole text otherwise.
fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} missing in:\n{text}");
    }
}

/// `lbctl doctor` (no probes) passes: what install left is healthy.
fn assert_doctor_passes(cluster: &Cluster) {
    let doctor = cluster
        .lbctl()
        .args(["doctor", "--no-probe"])
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&doctor);
    assert_eq!(doctor.status.code(), Some(0), "{stdout}\n{stderr}");
}

/// resourceVersions of everything install writes, to prove a second run changed nothing.
fn versions(cluster: &Cluster) -> Vec<(String, Value)> {
    let objects = [
        ("v1", "Namespace", None, NS),
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "ipaddresspools.metallb.io",
        ),
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "bgppeers.metallb.io",
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "metallb-system:controller",
        ),
        ("v1", "Secret", Some(NS), "metallb-webhook-cert"),
        ("apps/v1", "Deployment", Some(NS), "controller"),
        ("apps/v1", "DaemonSet", Some(NS), "speaker"),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            None,
            "metallb-webhook-configuration",
        ),
        ("metallb.io/v1beta1", "IPAddressPool", Some(NS), "default"),
        ("metallb.io/v1beta1", "L2Advertisement", Some(NS), "default"),
    ];
    objects
        .iter()
        .map(|(v, k, ns, name)| {
            let obj = get(cluster, v, k, *ns, name).unwrap_or_else(|| panic!("{k} {name} missing"));
            (
                format!("{k}/{name}"),
                obj["metadata"]["resourceVersion"].clone(),
            )
        })
        .collect()
}

on_both_backends! {
fn fresh_install_creates_metallb_and_the_pool_with_server_side_apply(backend) {
    let Some(cluster) = kubeadm().on(backend) else {
        return;
    };
    let (stdout, _) = install_ok(&cluster, &["--pool", POOL]);
    for phase in [
        "namespace",
        "CRDs",
        "RBAC and config",
        "controller and speaker",
        "rollouts",
        "webhook",
        "pools",
    ] {
        assert!(
            stdout.contains(&format!("✓ {phase}")),
            "phase {phase} missing:\n{stdout}"
        );
    }
    assert_contains(
        &stdout,
        &[
            "created L2Advertisement default",
            "is installed and serving, 3/3 speakers ready",
        ],
    );

    let pool = pool(&cluster).unwrap();
    assert_eq!(pool["spec"]["addresses"], json!([POOL]));
    assert_eq!(
        pool["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "lbctl"
    );
    let ad = get(
        &cluster,
        "metallb.io/v1beta1",
        "L2Advertisement",
        Some(NS),
        "default",
    )
    .unwrap();
    assert_eq!(ad["spec"]["ipAddressPools"], json!(["default"]));
    let controller = get(&cluster, "apps/v1", "Deployment", Some(NS), "controller").unwrap();
    assert_eq!(
        controller["metadata"]["labels"]["app.kubernetes.io/version"],
        "v0.16.1"
    );

    // Every write is a server-side apply by lbctl (never a replace that would drop the
    // caBundle the controller injected), except deletes and dry-run creates.
    if cluster.is_sim() {
        let writes = cluster.writes();
        assert!(!writes.is_empty());
        for w in &writes {
            assert_eq!(w.method, "PATCH", "{} {}?{}", w.method, w.path, w.query);
            assert!(
                w.query.contains("fieldManager=lbctl"),
                "{}?{}",
                w.path,
                w.query
            );
        }
    }
    let vwc = get(
        &cluster,
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        None,
        "metallb-webhook-configuration",
    )
    .unwrap();
    assert!(
        vwc["webhooks"][0]["clientConfig"]["caBundle"].is_string(),
        "caBundle kept"
    );
}
}

on_both_backends! {
fn second_run_changes_nothing_and_says_so(backend) {
    let Some(cluster) = kubeadm().on(backend) else {
        return;
    };
    install_ok(&cluster, &["--pool", POOL]);
    // The controller writes the pool's status once it counted the addresses; wait for that so
    // only lbctl could change anything below.
    let counted = cluster.eventually(std::time::Duration::from_secs(10), |c| {
        pool(c).is_some_and(|p| p["status"]["availableIPv4"].is_number())
    });
    assert!(counted, "the stand-in never counted the pool");
    let before = versions(&cluster);
    let (stdout, _) = install_ok(&cluster, &["--pool", POOL]);
    assert_contains(
        &stdout,
        &["Nothing changed: MetalLB v0.16.1 is installed as planned"],
    );
    assert!(
        !stdout.contains("created") && !stdout.contains("configured"),
        "{stdout}"
    );
    assert_eq!(
        versions(&cluster),
        before,
        "an object changed on the second run"
    );

    // A server-side dry run of the installed state: every object exists and is accepted.
    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let (code, stdout, stderr) = install(&cluster, &["--pool", POOL, "--dry-run=server"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_contains(
        &stdout,
        &[
            "28 existing accepted",
            "the API server accepts every object",
        ],
    );
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty());
    }
    assert_eq!(versions(&cluster), before, "the dry run changed an object");

    // -o json: one document on stdout, the same verdict.
    let out = cluster
        .lbctl()
        .args(["-o", "json", "install", "--pool", POOL])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["changed"], false);
    assert_eq!(doc["objects"].as_array().unwrap().len(), 28);
}
}

on_both_backends! {
fn webhook_that_becomes_ready_late_is_waited_for(backend) {
    let sim = metallb_setting(kubeadm(), json!({"webhookSettle": "2s"}));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (stdout, _) = install_ok(&cluster, &["--pool", POOL]);
    if cluster.is_sim() {
        let refused: Vec<_> = cluster
            .requests()
            .into_iter()
            .filter(|r| {
                r.query.contains("dryRun=All")
                    && r.path.ends_with("/ipaddresspools")
                    && r.status == 500
            })
            .collect();
        assert!(
            !refused.is_empty(),
            "the webhook was never refused: the test proves nothing"
        );
        // kube-sim answers the early attempts; the real API server calls the agent's webhook,
        // which listens only after the settle time, however lbctl times its attempts.
        assert!(!stdout.contains("after 1 dry-run attempt)"), "{stdout}");
    }
    assert!(pool(&cluster).is_some());
}
}

on_both_backends! {
fn webhook_never_serving_exits_3_with_a_network_diagnosis(backend) {
    let sim = metallb_setting(kubeadm(), json!({"webhookServing": false}));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    // The deadline covers the whole install (preflight and rollouts too): room for a loaded
    // machine, where 4s once ran out before the webhook wait began.
    let (code, stdout, stderr) = install(&cluster, &["--pool", POOL, "--timeout", "10s"]);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert_contains(
        &stderr,
        &[
            "MetalLB's webhook did not become ready within 10s",
            "cannot connect to the webhook pod",
            "firewalls and the CNI",
            "kubectl -n metallb-system logs deploy/controller",
        ],
    );
    assert!(pool(&cluster).is_none());
}
}

on_both_backends! {
fn certificate_never_injected_is_diagnosed_as_x509(backend) {
    let sim = metallb_setting(kubeadm(), json!({"caBundleInjected": false}));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    // A real API server answers the first dry-run creates only after seconds (it is still
    // calling the webhook); the deadline leaves room for an answer, which names the x509 error.
    let (code, stdout, stderr) = install(&cluster, &["--pool", POOL, "--timeout", "12s"]);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert_contains(
        &stderr,
        &["does not trust the webhook certificate", "caBundle"],
    );
}
}

on_both_backends! {
fn controller_never_ready_names_its_pods(backend) {
    let sim = kubeadm().setting("podsNeverReady", json!(["metallb-system/controller"]));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, stdout, stderr) = install(&cluster, &["--pool", POOL, "--timeout", "8s"]);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert_contains(
        &stderr,
        &[
            "Deployment metallb-system/controller",
            "pod controller-",
            "kubectl -n metallb-system get pods -l app=metallb,component=controller",
        ],
    );
}
}

on_both_backends! {
fn the_users_file_stops_before_any_request(backend) {
    let Some(cluster) = kubeadm().on(backend) else {
        return;
    };
    let fixture = support::root().join("tests/fixtures/install/wrong-namespace.yaml");
    let out = cluster
        .lbctl()
        .args(["install", "--config"])
        .arg(&fixture)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert_contains(&stderr, &["namespace \"system\""]);
    if cluster.is_sim() {
        assert!(
            cluster.requests().is_empty(),
            "the input is judged before the cluster is contacted"
        );
    }
    assert!(get(&cluster, "v1", "Namespace", None, NS).is_none());
}
}

on_both_backends! {
fn dry_run_yaml_is_accepted_by_kubectl_server_side_dry_run(backend) {
    // A server-side dry run cannot place objects in a namespace that does not exist yet (the
    // same holds for a real API server), so the namespace is there already.
    let sim = kubeadm_with(NAMESPACE);
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("skipping: kubectl is not installed");
        return;
    }
    let out = cluster
        .lbctl()
        .args(["install", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let file = cluster.kubeconfig().with_file_name("metallb.yaml");
    std::fs::write(&file, &out.stdout).unwrap();
    let applied = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .args(["apply", "--server-side", "--dry-run=server", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_contains(
        &stdout,
        &["deployment.apps/controller serverside-applied (server dry run)"],
    );
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty(), "a dry run wrote something");
    }
    assert!(get(&cluster, "apps/v1", "Deployment", Some(NS), "controller").is_none());
}
}

on_both_backends! {
/// install's pre-check judges which nodes can announce (LB108) for the speaker it renders:
/// with cp1 and w2 excluded (kubeadm's label) and w1 tainted, the default speaker has no node
/// and nothing is written; tolerating the taint lets the install go on (the controller runs on
/// w2).
fn the_pre_check_judges_the_speaker_the_flags_place(backend) {
    let base = std::fs::read_to_string(support::scenario_path("kubeadm-ipvs")).unwrap();
    let spec = "      podCIDRs: [10.244.1.0/24]\n";
    let taint = "      taints:\n        - { key: dedicated, value: infra, effect: NoSchedule }\n";
    let host = "        kubernetes.io/hostname: w2\n";
    let exclude = "        node.kubernetes.io/exclude-from-external-load-balancers: \"\"\n";
    let tainted = base
        .replace(spec, &format!("{spec}{taint}"))
        .replace(host, &format!("{host}{exclude}"));
    assert_eq!(tainted.len(), base.len() + taint.len() + exclude.len(), "the fixture changed");
    let Some(cluster) = Sim::yaml(&tainted).on(backend) else {
        return;
    };
    let (code, stdout, stderr) = install(&cluster, &["--pool", POOL]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert_contains(
        &format!("{stdout}{stderr}"),
        &["LB108", "taint dedicated=infra:NoSchedule not tolerated"],
    );
    assert!(crd(&cluster).is_none(), "nothing is written after a failed pre-check");
    install_ok(
        &cluster,
        &["--pool", POOL, "--speaker-tolerations", "dedicated=infra:NoSchedule"],
    );
}
}

on_both_backends! {
fn server_dry_run_writes_nothing(backend) {
    let Some(cluster) = kubeadm().on(backend) else {
        return;
    };
    let (code, stdout, stderr) = install(&cluster, &["--pool", POOL, "--dry-run=server"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_contains(&stdout, &["would create Namespace/metallb-system"]);
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty());
    }
    assert!(get(&cluster, "v1", "Namespace", None, NS).is_none());
}
}

on_both_backends! {
fn uninstall_removes_everything_and_install_works_again(backend) {
    let Some(cluster) = kubeadm().on(backend) else {
        return;
    };
    install_ok(&cluster, &["--pool", POOL]);

    if cluster.is_sim() {
        cluster.clear_requests();
    }
    let out = cluster
        .lbctl()
        .args(["uninstall", "--dry-run"])
        .output()
        .unwrap();
    let (stdout, _) = output_text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert_contains(
        &stdout,
        &[
            "IPAddressPool metallb-system/default",
            "CustomResourceDefinition/ipaddresspools.metallb.io",
        ],
    );
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty());
    }
    assert!(pool(&cluster).is_some(), "the dry run removed the pool");

    let out = cluster
        .lbctl()
        // A real namespace controller finalizes the namespace after discovery has caught up
        // with the CRDs going away: on a loaded machine that took over 30s.
        .args(["uninstall", "--timeout", "120s"])
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_contains(&stdout, &["MetalLB is removed"]);
    // Pools go first, the namespace last.
    if cluster.is_sim() {
        let deletes: Vec<String> = cluster
            .writes()
            .into_iter()
            .filter(|w| w.method == "DELETE")
            .map(|w| w.path)
            .collect();
        assert!(
            deletes.first().unwrap().contains("/ipaddresspools/")
                || deletes.first().unwrap().contains("/l2advertisements/"),
            "{deletes:?}"
        );
        assert!(
            deletes
                .last()
                .unwrap()
                .ends_with("/namespaces/metallb-system"),
            "{deletes:?}"
        );
        // Each CRD's objects are read from the API server's cache (its watch cache built, or
        // the CRD's finalizer can fail for minutes on a real server) before the CRDs go.
        let requests = cluster.requests();
        let first_crd_delete = requests
            .iter()
            .position(|r| r.method == "DELETE" && r.path.contains("/customresourcedefinitions/"))
            .expect("the CRDs are deleted");
        for stored in ["v1beta1/namespaces/metallb-system/bfdprofiles", "v1beta2/namespaces/metallb-system/bgppeers"] {
            assert!(
                requests[..first_crd_delete].iter().any(|r| r.verb == "list"
                    && r.path == format!("/apis/metallb.io/{stored}")
                    && r.query.contains("resourceVersion=0")),
                "{stored} was not listed from the cache before the CRDs were deleted"
            );
        }
    }
    // The namespace is really gone (on a real cluster the namespace controller finalizes it).
    assert!(get(&cluster, "v1", "Namespace", None, NS).is_none());
    assert!(get(&cluster, "apps/v1", "Deployment", Some(NS), "controller").is_none());
    assert!(crd(&cluster).is_none());

    let out = cluster.lbctl().args(["uninstall"]).output().unwrap();
    let (stdout, _) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "uninstall is safe to repeat");
    assert_contains(&stdout, &["nothing to remove"]);

    install_ok(&cluster, &["--pool", POOL]);
    assert!(pool(&cluster).is_some());
}
}

on_both_backends! {
fn uninstall_keep_crds_keeps_the_pools(backend) {
    let Some(cluster) = kubeadm().on(backend) else {
        return;
    };
    install_ok(&cluster, &["--pool", POOL]);
    let out = cluster
        .lbctl()
        .args(["uninstall", "--keep-crds"])
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_contains(&stdout, &["Kept (--keep-crds)"]);
    assert!(pool(&cluster).is_some());
    assert!(crd(&cluster).is_some());
    assert!(get(&cluster, "apps/v1", "DaemonSet", Some(NS), "speaker").is_none());
}
}

on_both_backends! {
fn restricted_namespace_is_reported_before_any_write(backend) {
    let sim = kubeadm_with(
        "  - { apiVersion: v1, kind: Namespace, metadata: { name: metallb-system, labels: { pod-security.kubernetes.io/enforce: restricted } } }\n",
    );
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, stdout, stderr) = install(&cluster, &["--pool", POOL]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert_contains(
        &stdout,
        &[
            "LB122",
            "enforces Pod Security level restricted",
            "is rejected",
            "Nothing was written",
        ],
    );
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty(), "{:?}", cluster.writes());
    }
    assert!(crd(&cluster).is_none());
}
}

on_both_backends! {
fn helm_managed_metallb_stops_with_the_choices(backend) {
    let helm_controller = "  - apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: metallb-controller\n      namespace: metallb-system\n      labels: { app.kubernetes.io/name: metallb, app.kubernetes.io/component: controller, app.kubernetes.io/managed-by: Helm, app.kubernetes.io/instance: lb }\n      annotations: { meta.helm.sh/release-name: lb, meta.helm.sh/release-namespace: metallb-system }\n    spec:\n      replicas: 1\n      selector: { matchLabels: { app.kubernetes.io/name: metallb } }\n      template:\n        metadata: { labels: { app.kubernetes.io/name: metallb } }\n        spec: { containers: [ { name: controller, image: quay.io/metallb/controller:v0.15.2 } ] }\n";
    let sim = kubeadm_with(&format!(
        "  - {{ apiVersion: v1, kind: Namespace, metadata: {{ name: metallb-system }} }}\n{helm_controller}"
    ));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, stdout, stderr) = install(&cluster, &["--pool", POOL]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert_contains(
        &stdout,
        &[
            "LB120",
            "would fight Helm",
            "helm uninstall lb -n metallb-system",
        ],
    );
    if cluster.is_sim() {
        assert!(cluster.writes().is_empty());
    }
    assert!(crd(&cluster).is_none());
}
}

on_both_backends! {
fn objects_a_newer_version_dropped_are_removed(backend) {
    // An object an older lbctl wrote that v0.16.1 no longer has.
    let stale = "  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: metallb-old-config\n      namespace: metallb-system\n      labels: { app.kubernetes.io/managed-by: lbctl, app.kubernetes.io/part-of: metallb, app.kubernetes.io/version: v0.15.0 }\n    data: { x: \"y\" }\n";
    let sim = kubeadm_with(&format!(
        "  - {{ apiVersion: v1, kind: Namespace, metadata: {{ name: metallb-system }} }}\n{stale}"
    ));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let (code, stdout, stderr) = install(&cluster, &[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_contains(&stdout, &["removed 1 object(s) this version no longer has"]);
    assert!(get(&cluster, "v1", "ConfigMap", Some(NS), "metallb-old-config").is_none());
    assert!(get(&cluster, "v1", "ConfigMap", Some(NS), "metallb-excludel2").is_some());
}
}

on_both_backends! {
/// An install an older lbctl wrote (MetalLB v0.15.0: other images and version labels, an object
/// this version no longer has) is upgraded in place: the workloads roll out the new images, the
/// dropped object goes, and the result is healthy.
fn an_older_lbctl_install_is_upgraded_in_place(backend) {
    let Some(cluster) = kubeadm().on(backend) else {
        return;
    };
    // kube-proxy as MetalLB L2 needs it, so that doctor judges MetalLB alone at the end.
    let out = cluster.lbctl().args(["enable-strictarp"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    let out = cluster.lbctl().args(["install", "--dry-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rendered = String::from_utf8(out.stdout).unwrap();
    // The older release as an older lbctl wrote it: every object but the pools (which need
    // a serving webhook), by server-side apply as lbctl's field manager.
    let older: Vec<String> = rendered
        .split("\n---\n")
        .filter(|doc| {
            !doc
                .lines()
                .any(|l| l == "kind: IPAddressPool" || l == "kind: L2Advertisement")
        })
        .map(|doc| doc.replace("v0.16.1", "v0.15.0"))
        .chain(std::iter::once(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: metallb-old-config\n  namespace: metallb-system\n  labels: { app.kubernetes.io/managed-by: lbctl, app.kubernetes.io/part-of: metallb, app.kubernetes.io/version: v0.15.0 }\ndata: { x: \"y\" }\n".to_string(),
        ))
        .collect();
    let file = cluster.dir().join("older.yaml");
    std::fs::write(&file, older.join("\n---\n")).unwrap();
    let applied = cluster
        .kubectl()
        .args(["apply", "--server-side", "--field-manager=lbctl", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&applied);
    assert!(applied.status.success(), "{stdout}\n{stderr}");
    let old_controller = get(&cluster, "apps/v1", "Deployment", Some(NS), "controller").unwrap();
    assert_eq!(
        old_controller["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/metallb/controller:v0.15.0"
    );
    let ready = cluster.eventually(std::time::Duration::from_secs(60), |c| {
        get(c, "apps/v1", "Deployment", Some(NS), "controller")
            .is_some_and(|d| d["status"]["availableReplicas"] == 1)
    });
    assert!(ready, "the older controller never came up");

    let (stdout, _) = install_ok(&cluster, &["--pool", POOL]);
    assert_contains(
        &stdout,
        &[
            "removed 1 object(s) this version no longer has",
            "MetalLB v0.16.1 is installed and serving",
        ],
    );
    let controller = get(&cluster, "apps/v1", "Deployment", Some(NS), "controller").unwrap();
    assert_eq!(
        controller["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/metallb/controller:v0.16.1"
    );
    assert_eq!(
        controller["metadata"]["labels"]["app.kubernetes.io/version"],
        "v0.16.1"
    );
    assert!(controller["metadata"]["generation"].as_i64() > old_controller["metadata"]["generation"].as_i64());
    assert!(get(&cluster, "v1", "ConfigMap", Some(NS), "metallb-old-config").is_none());
    let speaker = get(&cluster, "apps/v1", "DaemonSet", Some(NS), "speaker").unwrap();
    assert_eq!(
        speaker["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/metallb/speaker:v0.16.1"
    );
    assert_doctor_passes(&cluster);
}
}

/// The CRDs lbctl wrote while their root `metadata` carried a description: kube-sim refuses
/// them as a real kube-apiserver v1.36.2 refused them (server-side apply, 422 bodies recorded
/// from the real server), a schema every version shares at `spec.validation`, per-version
/// schemas at `spec.versions[i]`. The CRDs lbctl writes now are accepted.
#[test]
fn crds_that_describe_their_root_metadata_are_refused_as_a_real_server_refuses_them_sim_only() {
    let Some(cluster) = Cluster::sim_only("CRDs a real server refuses", kubeadm()) else {
        return;
    };
    let crds: Vec<Value> = lbctl::metallb::render(&lbctl::metallb::RenderOptions::default())
        .into_iter()
        .map(|r| r.object)
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .collect();
    let crd = |name: &str| {
        crds.iter()
            .find(|c| c["metadata"]["name"] == name)
            .cloned()
            .unwrap()
    };
    let described = |mut crd: Value| {
        for version in crd["spec"]["versions"].as_array_mut().unwrap() {
            version["schema"]["openAPIV3Schema"]["properties"]["metadata"]["description"] =
                json!("Standard Kubernetes object metadata.");
        }
        crd
    };
    let forbidden = "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified";
    let cause = |field: &str| json!({"reason": "FieldValueForbidden", "message": forbidden, "field": field});
    let refusal = |name: &str, causes: Vec<Value>| {
        let texts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {forbidden}", c["field"].as_str().unwrap()))
            .collect();
        let listed = if texts.len() == 1 {
            texts[0].clone()
        } else {
            format!("[{}]", texts.join(", "))
        };
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("CustomResourceDefinition.apiextensions.k8s.io \"{name}\" is invalid: {listed}"),
            "reason": "Invalid",
            "details": {"name": name, "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition", "causes": causes},
            "code": 422})
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&cluster.sim().kubeconfig_yaml("admin")).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let apply = |crd: Value| {
            let name = crd["metadata"]["name"].as_str().unwrap().to_string();
            let request = http::Request::patch(format!(
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}?fieldManager=lbctl&force=true"
            ))
            .header("content-type", "application/apply-patch+yaml")
            .body(kube::client::Body::from(serde_json::to_vec(&crd).unwrap()))
            .unwrap();
            let client = client.clone();
            async move {
                let response = client.send(request).await.unwrap();
                let code = response.status().as_u16();
                let body = response.into_body().collect_bytes().await.unwrap();
                (code, serde_json::from_slice::<Value>(&body).unwrap())
            }
        };

        let (code, body) = apply(described(crd("bfdprofiles.metallb.io"))).await;
        assert_eq!(code, 422);
        assert_eq!(
            body,
            refusal("bfdprofiles.metallb.io", vec![cause("spec.validation.openAPIV3Schema.properties[metadata]")])
        );
        let (code, body) = apply(described(crd("bgppeers.metallb.io"))).await;
        assert_eq!(code, 422);
        assert_eq!(
            body,
            refusal(
                "bgppeers.metallb.io",
                vec![
                    cause("spec.versions[0].schema.openAPIV3Schema.properties[metadata]"),
                    cause("spec.versions[1].schema.openAPIV3Schema.properties[metadata]"),
                ]
            )
        );
        for crd in &crds {
            let (code, body) = apply(crd.clone()).await;
            assert!(code == 200 || code == 201, "{}: {body}", crd["metadata"]["name"]);
        }
    });
}

/// CRDs an interrupted install wrote (the first two of nine, by server-side apply as lbctl's
/// field manager), as a fault or Ctrl-C in the CRD phase leaves them.
fn interrupted_in_the_crd_phase(cluster: &Cluster) {
    let out = cluster
        .lbctl()
        .args(["install", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rendered = String::from_utf8(out.stdout).unwrap();
    let crds: Vec<&str> = rendered
        .split("\n---\n")
        .filter(|doc| doc.lines().any(|l| l == "kind: CustomResourceDefinition"))
        .take(2)
        .collect();
    assert_eq!(crds.len(), 2);
    let file = cluster.dir().join("partial.yaml");
    std::fs::write(&file, crds.join("\n---\n")).unwrap();
    let applied = cluster
        .kubectl()
        .args(["apply", "--server-side", "--field-manager=lbctl", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(applied.status.success(), "{:?}", output_text(&applied));
}

on_both_backends! {
/// An install that stopped in the CRD phase is completed by the next run, not refused
/// (LB121 says what happened and that install completes it), and the result is healthy.
fn an_install_interrupted_in_the_crd_phase_is_completed_by_the_next_run(backend) {
    let Some(cluster) = Sim::scenario("kubeadm-iptables").on(backend) else {
        return;
    };
    interrupted_in_the_crd_phase(&cluster);
    let out = cluster
        .lbctl()
        .args(["preflight", "--no-probe", "--for", "install", "-o", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lb121 = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "LB121")
        .unwrap()
        .clone();
    assert_eq!(lb121["status"], "warn", "{lb121}");
    assert!(
        lb121["message"].as_str().unwrap().contains("stopped part-way"),
        "{lb121}"
    );
    install_ok(&cluster, &["--pool", POOL]);
    assert!(crd(&cluster).is_some());
    assert_doctor_passes(&cluster);
}
}

/// A server error on one apply is retried (the apply is idempotent): the install goes through.
#[test]
fn a_server_error_on_an_apply_is_retried_sim_only() {
    let Some(cluster) = Cluster::sim_only("one server error", Sim::scenario("kubeadm-iptables"))
    else {
        return;
    };
    cluster.sim().inject(kube_sim::Fault::status(
        "PATCH",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/communities.metallb.io",
        500,
        2,
    ));
    install_ok(&cluster, &["--pool", POOL]);
    let failed = cluster
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/communities.metallb.io") && r.status == 500)
        .count();
    assert_eq!(
        failed, 2,
        "the injected errors were not hit: the test proves nothing"
    );
}

on_both_backends! {
/// IPVS without strictARP: install goes on (MetalLB installs fine) but says, with the command
/// to run, that its addresses are not reliably answered yet; with strictARP on it says nothing.
fn install_warns_while_kube_proxy_lacks_strict_arp(backend) {
    let Some(cluster) = kubeadm().on(backend) else {
        return;
    };
    let (stdout, stderr) = install_ok(&cluster, &["--pool", POOL]);
    let text = format!("{stdout}\n{stderr}");
    assert_contains(
        &text,
        &[
            "warning LB111 kube-proxy mode and strictARP",
            "not reliably answered until this is fixed",
            "hint: lbctl enable-strictarp",
        ],
    );
    let out = cluster.lbctl().args(["enable-strictarp"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    let (stdout, stderr) = install_ok(&cluster, &["--pool", POOL]);
    assert!(!format!("{stdout}{stderr}").contains("LB111"), "{stdout}\n{stderr}");
}
}

// The rerun matrix (issue 14, item 4): a write the server keeps failing, or Ctrl-C, at each
// step of install and uninstall; the next run without the fault finishes the job. Each case
// runs on its own kube-sim on its own thread, so the matrix costs about one case.

const CRD_PATH: &str =
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/communities.metallb.io";
const CLUSTER_ROLE_PATH: &str =
    "/apis/rbac.authorization.k8s.io/v1/clusterroles/metallb-system:controller";
const WEBHOOK_CONFIGURATION_PATH: &str = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/metallb-webhook-configuration";
const CONTROLLER_PATH: &str = "/apis/apps/v1/namespaces/metallb-system/deployments/controller";
const POOL_PATH: &str = "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/default";
const ADVERTISEMENT_PATH: &str =
    "/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements/default";
const NAMESPACE_PATH: &str = "/api/v1/namespaces/metallb-system";

/// One write of each install step: (step, object's path).
const INSTALL_WRITES: [(&str, &str); 7] = [
    ("namespace", NAMESPACE_PATH),
    ("CRDs", CRD_PATH),
    ("RBAC and config", CLUSTER_ROLE_PATH),
    ("controller and speaker", WEBHOOK_CONFIGURATION_PATH),
    ("controller and speaker", CONTROLLER_PATH),
    ("pools", POOL_PATH),
    ("pools", ADVERTISEMENT_PATH),
];

/// One delete of each uninstall step: (step, object's path).
const UNINSTALL_DELETES: [(&str, &str); 6] = [
    ("pools and advertisements", POOL_PATH),
    ("webhook configuration", WEBHOOK_CONFIGURATION_PATH),
    ("controller and speaker", CONTROLLER_PATH),
    ("RBAC and config", CLUSTER_ROLE_PATH),
    ("CRDs", CRD_PATH),
    ("namespace", NAMESPACE_PATH),
];

/// kube-proxy in iptables mode: doctor then judges MetalLB alone.
fn fault_cluster(test: &str) -> Option<Cluster> {
    Cluster::sim_only(test, Sim::scenario("kubeadm-iptables"))
}

/// Runs `case` for every item, each on its own thread; panics name the failed item.
fn each_in_parallel<T: Sync + std::fmt::Debug>(cases: &[T], case: impl Fn(&T) + Sync) {
    std::thread::scope(|scope| {
        let runs: Vec<_> = cases.iter().map(|c| (c, scope.spawn(|| case(c)))).collect();
        let failed: Vec<String> = runs
            .into_iter()
            .filter_map(|(c, run)| run.join().is_err().then(|| format!("{c:?}")))
            .collect();
        assert!(failed.is_empty(), "failed cases: {failed:?}");
    });
}

fn uninstall(cluster: &Cluster, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = cluster
        .lbctl()
        .args(["uninstall"])
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    (out.status.code(), stdout, stderr)
}

/// No object install renders exists any more, and no pool.
fn assert_nothing_left(cluster: &Cluster) {
    let rendered = lbctl::metallb::render(&lbctl::metallb::RenderOptions::default());
    for r in &rendered {
        let o = &r.object;
        let left = get(
            cluster,
            o["apiVersion"].as_str().unwrap(),
            o["kind"].as_str().unwrap(),
            o["metadata"]["namespace"].as_str(),
            o["metadata"]["name"].as_str().unwrap(),
        );
        assert!(left.is_none(), "left behind: {o}", o = o["metadata"]);
    }
    assert!(pool(cluster).is_none(), "the pool was left behind");
}

/// Starts lbctl without waiting for it.
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

/// Waits (up to 60 s) until `reached` holds, then sends SIGINT as a terminal's Ctrl-C does
/// and waits (up to 10 s) for lbctl to end: its exit code and stderr.
fn ctrl_c_once(
    cluster: &Cluster,
    mut child: std::process::Child,
    reached: impl FnMut(&Cluster) -> bool,
) -> (Option<i32>, String) {
    let in_step = cluster.eventually(Duration::from_secs(60), reached);
    if !in_step || child.try_wait().unwrap().is_some() {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!("lbctl never reached the step: {:?}", output_text(&out));
    }
    // SAFETY: kill has no memory preconditions; the pid is our live child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("lbctl did not stop after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), output_text(&out).1)
}

/// Whether the held request of a latency fault has arrived (its fault is used up).
fn held(cluster: &Cluster) -> bool {
    cluster.sim().pending_faults().is_empty()
}

use std::time::Duration;

/// A write the server keeps failing at any step stops install with exit 3, naming the object,
/// what was done and what was not; the next run finishes the install and doctor passes.
#[test]
fn install_stopped_by_a_failing_write_at_any_step_is_finished_by_the_next_run_sim_only() {
    each_in_parallel(&INSTALL_WRITES, |(step, path)| {
        let Some(cluster) = fault_cluster("failing writes during install") else {
            return;
        };
        cluster
            .sim()
            .inject(kube_sim::Fault::status("PATCH", path, 500, 10));
        let (code, stdout, stderr) = install(&cluster, &["--pool", POOL]);
        assert_eq!(code, Some(3), "{stdout}\n{stderr}");
        let object = path.rsplit('/').next().unwrap();
        assert_contains(
            &stderr,
            &[
                &format!("{object}: the API server failed the write 4 times"),
                &format!("Not done: {step} (stopped there)"),
                "run the command again (`lbctl install`): it continues where this run stopped",
            ],
        );
        cluster.sim().clear_faults();
        install_ok(&cluster, &["--pool", POOL]);
        assert_doctor_passes(&cluster);
    });
}

/// How Ctrl-C finds an install in one of its steps: a request of the step held by kube-sim,
/// or a wait kept from ending by a setting switched back afterwards.
#[derive(Debug)]
enum Hold {
    Request(&'static str),
    Setting(&'static str, fn() -> Value, fn() -> Value),
}

/// Ctrl-C in any step of install ends it with exit 130; the next run finishes the install
/// and doctor passes.
#[test]
fn install_interrupted_in_any_step_is_finished_by_the_next_run_sim_only() {
    let holds = [
        Hold::Request(NAMESPACE_PATH),
        Hold::Request(CRD_PATH),
        Hold::Request(CLUSTER_ROLE_PATH),
        Hold::Request(CONTROLLER_PATH),
        Hold::Setting(
            "rollouts",
            || json!({"podsNeverReady": ["metallb-system/controller"]}),
            || json!({"podsNeverReady": null}),
        ),
        Hold::Setting(
            "webhook",
            || json!({"metallb": {"webhookServing": false}}),
            || json!({"metallb": null}),
        ),
        Hold::Request(POOL_PATH),
    ];
    each_in_parallel(&holds, |hold| {
        let Some(cluster) = fault_cluster("Ctrl-C during install") else {
            return;
        };
        let sim = cluster.sim();
        match hold {
            Hold::Request(path) => sim.inject(kube_sim::Fault::latency(
                "PATCH",
                path,
                Duration::from_secs(60),
                1,
            )),
            Hold::Setting(_, on, _) => {
                sim.set_settings(on()).unwrap();
            }
        }
        let child = spawn_lbctl(&cluster, &["install", "--no-probe", "--pool", POOL]);
        let (code, stderr) = ctrl_c_once(&cluster, child, |c| match hold {
            Hold::Request(_) => held(c),
            // The rollout wait's watch, or the webhook's dry-run creates, have begun.
            Hold::Setting("rollouts", ..) => c
                .requests()
                .iter()
                .any(|r| r.path.ends_with("/deployments") && r.query.contains("watch=true")),
            Hold::Setting(..) => c
                .requests()
                .iter()
                .any(|r| r.method == "POST" && r.path.ends_with("/ipaddresspools")),
        });
        assert_eq!(code, Some(130), "{stderr}");
        assert_contains(&stderr, &["interrupted"]);
        // It says where it stopped, as a failed write does.
        let step = match *hold {
            Hold::Request(NAMESPACE_PATH) => "namespace",
            Hold::Request(CRD_PATH) => "CRDs",
            Hold::Request(CLUSTER_ROLE_PATH) => "RBAC and config",
            Hold::Request(CONTROLLER_PATH) => "controller and speaker",
            Hold::Request(POOL_PATH) => "pools",
            Hold::Request(other) => panic!("which install step writes {other}?"),
            Hold::Setting(step, ..) => step,
        };
        assert_contains(
            &stderr,
            &[&format!("{step} (stopped there)"), "`lbctl install`"],
        );
        sim.clear_faults();
        if let Hold::Setting(_, _, off) = hold {
            sim.set_settings(off()).unwrap();
        }
        install_ok(&cluster, &["--pool", POOL]);
        assert_doctor_passes(&cluster);
    });
}

/// A delete the server keeps failing in any step of uninstall stops it with exit 3, naming
/// what was deleted and what was not; the next run removes the rest.
#[test]
fn uninstall_stopped_by_a_failing_delete_at_any_step_is_finished_by_the_next_run_sim_only() {
    each_in_parallel(&UNINSTALL_DELETES, |(step, path)| {
        let Some(cluster) = fault_cluster("failing deletes during uninstall") else {
            return;
        };
        install_ok(&cluster, &["--pool", POOL]);
        cluster
            .sim()
            .inject(kube_sim::Fault::status("DELETE", path, 500, 10));
        let (code, stdout, stderr) = uninstall(&cluster, &[]);
        assert_eq!(code, Some(3), "{stdout}\n{stderr}");
        let object = path.rsplit('/').next().unwrap();
        assert_contains(
            &stderr,
            &[
                &format!("{object}: the API server failed the write 4 times"),
                &format!("Not done: {step} (stopped there)"),
                "run the command again (`lbctl uninstall`)",
            ],
        );
        cluster.sim().clear_faults();
        let (code, stdout, stderr) = uninstall(&cluster, &[]);
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        assert_nothing_left(&cluster);
    });
}

/// Ctrl-C in any step of uninstall ends it with exit 130; the next run removes the rest.
#[test]
fn uninstall_interrupted_in_any_step_is_finished_by_the_next_run_sim_only() {
    each_in_parallel(&UNINSTALL_DELETES, |(label, path)| {
        let Some(cluster) = fault_cluster("Ctrl-C during uninstall") else {
            return;
        };
        install_ok(&cluster, &["--pool", POOL]);
        cluster.sim().inject(kube_sim::Fault::latency(
            "DELETE",
            path,
            Duration::from_secs(60),
            1,
        ));
        let child = spawn_lbctl(&cluster, &["uninstall"]);
        let (code, stderr) = ctrl_c_once(&cluster, child, held);
        assert_eq!(code, Some(130), "{stderr}");
        assert_contains(
            &stderr,
            &[&format!("{label} (stopped there)"), "`lbctl uninstall`"],
        );
        cluster.sim().clear_faults();
        let (code, stdout, stderr) = uninstall(&cluster, &[]);
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        assert_nothing_left(&cluster);
    });
}

/// `--timeout` is a deadline for the whole command (issue 14, item 9): a request the server
/// holds for a minute ends install at the deadline with exit 3, naming that request and its step.
#[test]
fn install_timeout_ends_a_stalled_request_at_the_deadline_and_names_it_sim_only() {
    let Some(cluster) = fault_cluster("a stalled request during install") else {
        return;
    };
    cluster.sim().inject(kube_sim::Fault::latency(
        "PATCH",
        CRD_PATH,
        Duration::from_secs(60),
        1,
    ));
    let started = std::time::Instant::now();
    // Without preflight: on a busy machine it alone could use up a short deadline.
    let args = ["--pool", POOL, "--skip-preflight", "--timeout", "8s"];
    let (code, stdout, stderr) = install(&cluster, &args);
    let took = started.elapsed();
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}:\n{stderr}");
    assert_contains(
        &stderr,
        &[
            "timed out after 8s (--timeout) in step CRDs",
            "no answer yet to patch customresourcedefinitions communities.metallb.io",
            "longer --timeout",
        ],
    );
    cluster.sim().clear_faults();
    install_ok(&cluster, &["--pool", POOL]);
}

/// The same deadline holds for uninstall: a delete the server holds ends it at the deadline.
#[test]
fn uninstall_timeout_ends_a_stalled_delete_at_the_deadline_and_names_it_sim_only() {
    let Some(cluster) = fault_cluster("a stalled request during uninstall") else {
        return;
    };
    install_ok(&cluster, &["--pool", POOL]);
    cluster.sim().inject(kube_sim::Fault::latency(
        "DELETE",
        CONTROLLER_PATH,
        Duration::from_secs(60),
        1,
    ));
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = uninstall(&cluster, &["--timeout", "8s"]);
    let took = started.elapsed();
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}:\n{stderr}");
    assert_contains(
        &stderr,
        &[
            "in step controller and speaker",
            "no answer yet to delete deployments metallb-system/controller",
        ],
    );
}

on_both_backends! {
/// SIGTERM (a CI runner cancelling the job) ends an install that waits as Ctrl-C does: at once,
/// with 128 + 15 and "interrupted by SIGTERM", no "error:" label (and under -o json the error
/// document); before, the default action killed it with no word.
fn sigterm_ends_an_install_as_ctrl_c_does(backend) {
    let sim = kubeadm().setting("podsNeverReady", json!(["metallb-system/controller"]));
    let Some(cluster) = sim.on(backend) else {
        return;
    };
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lbctl"))
        .env_remove("KUBECONFIG")
        .env("HOME", cluster.dir())
        .env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .args(["-o", "json", "install", "--no-probe", "--pool", POOL, "--timeout", "5m"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The controller exists once the workloads phase ran: install now waits for its rollout.
    let waiting = cluster.eventually(std::time::Duration::from_secs(60), |c| {
        get(c, "apps/v1", "Deployment", Some(NS), "controller").is_some()
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let stopped = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert!(waiting, "install reached the rollout wait\n{stdout}\n{stderr}");
    assert!(stopped.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(143), "{stdout}\n{stderr}");
    assert!(stderr.contains("\ninterrupted by SIGTERM\n"), "{stderr}");
    assert!(!stderr.contains("error:"), "{stderr}");
    // How far it got, as a failed write says it (the signal came in the workloads' apply or
    // in the rollout wait right after it).
    let said = stderr.split("\ninterrupted by SIGTERM\n").nth(1).unwrap_or_default();
    assert!(
        said.starts_with("hint: Done: namespace, CRDs, RBAC and config")
            && said.contains("(stopped there)")
            && said.contains("run the command again (`lbctl install`): it continues"),
        "{stderr}"
    );
    // Under -o json the stop is also the one document on stdout.
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(
        (&doc["result"], &doc["exitCode"], &doc["error"]["message"]),
        (&json!("error"), &json!(143), &json!("interrupted by SIGTERM"))
    );
    assert!(
        doc["error"]["hint"].as_str().is_some_and(|h| h.contains("Not done:")),
        "{doc}"
    );
}
}

// `-q` (scripts, CI logs): no headline and no step lines, but the verdict, every warning, the
// error and its hint, and the same exit codes.

/// The lines `-q` drops from install's and uninstall's stdout: headlines and steps.
fn progress_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| {
            l.contains('✓')
                || l.contains('…')
                || l.starts_with("Installing ")
                || l.starts_with("Removing ")
        })
        .collect()
}

#[test]
fn quiet_install_and_uninstall_print_the_verdict_and_every_problem_sim_only() {
    let sim = kubeadm().user(
        "viewer",
        r#"
- { apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch] }
- { apiGroups: ["authorization.k8s.io"], resources: [selfsubjectaccessreviews], verbs: [create] }
"#,
    );
    let Some(cluster) = Cluster::sim_only(
        "quiet_install_and_uninstall_print_the_verdict_and_every_problem_sim_only",
        sim,
    ) else {
        return;
    };
    let (code, stdout, stderr) = install(&cluster, &["-q", "--pool", POOL]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(progress_lines(&stdout), Vec::<&str>::new(), "{stdout}");
    // kube-proxy lacks strictARP: the warning and its hint are problems, kept.
    assert_contains(
        &stdout,
        &[
            "is installed and serving, 3/3 speakers ready",
            "warning LB111 kube-proxy mode and strictARP",
            "hint: lbctl enable-strictarp",
        ],
    );
    assert!(pool(&cluster).is_some());

    // The same run without -q shows its headline and steps, with the same exit code.
    let (stdout, _) = install_ok(&cluster, &["--pool", POOL]);
    assert!(stdout.starts_with("Installing MetalLB"), "{stdout}");
    assert!(progress_lines(&stdout).len() > 3, "{stdout}");
    let (code, stdout, stderr) = install(&cluster, &["--quiet", "--pool", POOL]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(progress_lines(&stdout), Vec::<&str>::new(), "{stdout}");
    assert_contains(&stdout, &["Nothing changed: MetalLB v0.16.1 is installed"]);

    // A dry run's list of what it would delete is its result.
    let (code, stdout, stderr) = uninstall(&cluster, &["-q", "--dry-run"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("Would remove"), "{stdout}");
    assert_contains(
        &stdout,
        &[
            "would delete",
            "Deployment metallb-system/controller",
            "Dry run: nothing was deleted.",
        ],
    );

    // A user who may not delete: the error and its hint, exit 3, nothing else.
    let out = cluster
        .lbctl_as("viewer")
        .args(["uninstall", "-q", "--timeout", "30s"])
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert_eq!(stdout, "", "{stderr}");
    assert_contains(&stderr, &["error: ", "hint: "]);

    let (code, stdout, stderr) = uninstall(&cluster, &["-q", "--timeout", "60s"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].starts_with("MetalLB is removed. ("), "{stdout}");
    assert_nothing_left(&cluster);
    // Nothing to remove: that headline is the whole answer, so -q keeps it.
    let (code, stdout, stderr) = uninstall(&cluster, &["-q"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_contains(&stdout, &[": nothing to remove"]);
}

#[test]
fn a_quiet_install_that_fails_prints_the_error_and_its_hint_sim_only() {
    let sim = metallb_setting(kubeadm(), json!({"webhookServing": false}));
    let Some(cluster) = Cluster::sim_only(
        "a_quiet_install_that_fails_prints_the_error_and_its_hint_sim_only",
        sim,
    ) else {
        return;
    };
    let (code, stdout, stderr) = install(&cluster, &["-q", "--pool", POOL, "--timeout", "10s"]);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert_eq!(progress_lines(&stdout), Vec::<&str>::new(), "{stdout}");
    assert_contains(
        &stderr,
        &[
            "error: MetalLB's webhook did not become ready within 10s",
            "hint: ",
        ],
    );
}
