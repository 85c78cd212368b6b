//! `lbctl preflight` end to end: the real binary against the scenarios on both backends, with a
//! node proc tree written by the test (`--proc-root`) and no ARP probes (`--no-probe`: these
//! tests never send packets). On kube-sim, human, JSON and JUnit outputs are compared with
//! reviewed snapshots (the server URL redacted); on the real control plane, every check must
//! reach the snapshot's verdict (the texts carry the real server's version and context).

use crate::support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kube_sim::Scenario;
use support::Backend;
use tempfile::TempDir;

fn fixture(name: &str) -> PathBuf {
    support::scenario_path(name)
}

/// A proc tree for host `w1` (a worker of the kubeadm scenarios) on 192.168.77.0/24 via eth0.
fn write_proc(dir: &Path, arp_ignore: u8, arp_announce: u8) {
    let put = |rel: &str, text: &str| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    put("sys/kernel/hostname", "w1\n");
    put("sys/net/ipv4/ip_forward", "1\n");
    for iface in ["all", "default", "eth0", "lo"] {
        let (ignore, announce) = if iface == "all" {
            (arp_ignore, arp_announce)
        } else {
            (0, 0)
        };
        for (key, value) in [
            ("arp_ignore", ignore),
            ("arp_announce", announce),
            ("rp_filter", 2),
            ("proxy_arp", 0),
            ("arp_filter", 0),
            ("arp_accept", 0),
            ("arp_notify", 0),
            ("drop_gratuitous_arp", 0),
        ] {
            put(
                &format!("sys/net/ipv4/conf/{iface}/{key}"),
                &format!("{value}\n"),
            );
        }
    }
    // Default route via 192.168.77.1 and the on-link 192.168.77.0/24, both on eth0.
    put(
        "net/route",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
         eth0\t00000000\t014DA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
         eth0\t004DA8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n",
    );
    let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        put(&format!("net/{table}"), header);
    }
    put(
        "modules",
        "ip_vs 0 0 - Live 0x0\nip_vs_rr 0 0 - Live 0x0\nip_vs_wrr 0 0 - Live 0x0\nip_vs_sh 0 0 - Live 0x0\nnf_conntrack 0 0 - Live 0x0\n",
    );
}

struct Run {
    code: i32,
    human: String,
    json: String,
    junit: String,
    filters: insta::Settings,
}

/// A scenario on one backend from the shared harness, plus the proc tree of the host.
struct Env {
    cluster: support::Cluster,
    dir: TempDir,
}

impl Env {
    /// None when the backend cannot run here (the real tier skips with one loud line).
    fn new(scenario: Scenario, backend: Backend) -> Option<Env> {
        let cluster = support::Sim::new(scenario).on(backend)?;
        let dir = tempfile::tempdir().unwrap();
        write_proc(&dir.path().join("proc"), 0, 0);
        Some(Env { cluster, dir })
    }

    fn from_fixture(name: &str, backend: Backend) -> Option<Env> {
        Env::new(
            Scenario::from_file(&fixture(name)).expect("fixture loads"),
            backend,
        )
    }

    fn kubeconfig(&self, user: &str) -> PathBuf {
        self.cluster.kubeconfig_for(user)
    }

    fn lbctl(&self, user: &str, args: &[&str]) -> Command {
        let mut cmd = self.cluster.lbctl_as(user);
        cmd.args(["preflight", "--no-probe", "--proc-root"])
            .arg(self.dir.path().join("proc"))
            .args(args);
        cmd
    }

    /// Runs preflight in every report format (their exit codes must agree).
    fn run(&self, user: &str, args: &[&str]) -> Run {
        let junit_path = self.dir.path().join("junit.xml");
        let out = support::in_every_format(|| self.lbctl(user, args), &junit_path);
        Run {
            code: out.code,
            human: out.human,
            json: out.json,
            junit: out.junit,
            filters: support::report_filters(&self.cluster, user),
        }
    }
}

fn status_of<'a>(json: &'a serde_json::Value, id: &str) -> &'a str {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["status"].as_str())
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// On kube-sim, the reviewed snapshots; on the real control plane, the snapshot's verdicts: the
/// same checks with the same statuses and exit code (one truth, two backends).
fn snapshot(name: &str, run: &Run, env: &Env) {
    let json: serde_json::Value =
        serde_json::from_str(&run.json).expect("stdout is one JSON document");
    assert_eq!(json["exitCode"], run.code);
    if env.cluster.is_real() {
        let path = support::root().join(format!(
            "tests/e2e/snapshots/e2e__preflight__{name}_json.snap"
        ));
        let text = std::fs::read_to_string(&path).unwrap();
        let body = text.splitn(3, "---\n").nth(2).expect("a snapshot body");
        let reviewed: serde_json::Value = serde_json::from_str(body).unwrap();
        let verdicts = |doc: &serde_json::Value| -> Vec<(String, String)> {
            doc["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        format!("{} {}", c["id"], c["node"]),
                        c["status"].to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(
            verdicts(&json),
            verdicts(&reviewed),
            "the real control plane disagrees with kube-sim's snapshot {name}:\n{}",
            run.human
        );
        assert_eq!(json["exitCode"], reviewed["exitCode"]);
        return;
    }
    run.filters.bind(|| {
        insta::assert_snapshot!(format!("{name}_human"), run.human);
        insta::assert_snapshot!(format!("{name}_json"), run.json);
        insta::assert_snapshot!(format!("{name}_junit"), run.junit);
    });
}

const POOL: &[&str] = &["--pool", "192.168.77.240-192.168.77.250"];

on_both_backends! {
fn kubeadm_ipvs_without_strictarp_fails_with_the_fix(backend) {
    let Some(env) = Env::from_fixture("kubeadm-ipvs", backend) else {
        return;
    };
    let run = env.run("admin", POOL);
    assert_eq!(run.code, 1, "{}", run.human);
    let json: serde_json::Value = serde_json::from_str(&run.json).unwrap();
    assert_eq!(status_of(&json, "LB111"), "fail");
    assert_eq!(status_of(&json, "LB201"), "fail");
    assert!(run.human.contains("hint: lbctl enable-strictarp"));
    snapshot("kubeadm_ipvs", &run, &env);
}
}

on_both_backends! {
fn kubeadm_iptables_and_nftables_pass(backend) {
    for name in ["kubeadm-iptables", "kubeadm-nftables"] {
        let Some(env) = Env::from_fixture(name, backend) else {
        return;
    };
        let run = env.run("admin", POOL);
        assert_eq!(run.code, 0, "{name}: {}", run.human);
        snapshot(&name.replace('-', "_"), &run, &env);
    }
}
}

on_both_backends! {
fn managed_clusters_and_other_implementations(backend) {
    for (name, code, failing) in [
        ("eks", 1, "LB105"),
        ("k3s", 1, "LB106"),
        ("cilium", 0, "LB111"),
        ("single-node", 1, "LB108"),
    ] {
        let Some(env) = Env::from_fixture(name, backend) else {
        return;
    };
        let run = env.run("admin", POOL);
        assert_eq!(run.code, code, "{name}: {}", run.human);
        let json: serde_json::Value = serde_json::from_str(&run.json).unwrap();
        let want = if code == 0 { "skip" } else { "fail" };
        assert_eq!(status_of(&json, failing), want, "{name}: {}", run.human);
        snapshot(&name.replace('-', "_"), &run, &env);
    }
}
}

on_both_backends! {
/// LB108 judges the nodes for the speaker install will render: its placement flags, taken by
/// preflight too, change which nodes can announce. The single node carries
/// exclude-from-external-load-balancers and the control-plane taint.
fn announcing_nodes_are_judged_for_the_speaker_flags(backend) {
    let text = std::fs::read_to_string(fixture("single-node")).unwrap();
    let tainted = text.replace(
        "      podCIDRs: [10.244.0.0/24]\n    status:",
        "      podCIDRs: [10.244.0.0/24]\n      taints:\n        - { key: dedicated, value: infra, effect: NoSchedule }\n    status:",
    );
    assert_ne!(tainted, text, "the fixture's node spec changed");
    let Some(env) = Env::new(Scenario::from_yaml(&tainted).unwrap(), backend) else {
        return;
    };
    let lb108 = |extra: &[&str]| {
        let args: Vec<&str> = POOL.iter().chain(extra).copied().collect();
        let run = env.run("admin", &args);
        let json: serde_json::Value = serde_json::from_str(&run.json).unwrap();
        let check = json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "LB108")
            .cloned()
            .unwrap();
        (check["status"].as_str().unwrap().to_string(), check.to_string())
    };
    let (status, check) = lb108(&[]);
    assert_eq!(status, "fail", "{check}");
    assert!(check.contains("taint dedicated=infra:NoSchedule not tolerated"), "{check}");
    // Tolerating the taint, the label is what is left.
    let tolerate = ["--speaker-tolerations", "dedicated=infra:NoSchedule"];
    let (status, check) = lb108(&tolerate);
    assert_eq!(status, "fail", "{check}");
    assert!(check.contains("exclude-from-external-load-balancers"), "{check}");
    let (status, check) = lb108(&[&tolerate[..], &["--ignore-exclude-lb"]].concat());
    assert_eq!(status, "pass", "{check}");
    // A node selector no node matches leaves none.
    let (status, check) = lb108(&[
        "--ignore-exclude-lb",
        "--speaker-tolerations",
        "dedicated=infra:NoSchedule",
        "--speaker-node-selector",
        "pool=edge",
    ]);
    assert_eq!(status, "fail", "{check}");
}
}

on_both_backends! {
fn a_forbidden_user_gets_errors_naming_the_permission(backend) {
    let text = std::fs::read_to_string(fixture("kubeadm-iptables")).unwrap();
    let scenario = Scenario::from_yaml(&format!(
        "{text}\nusers:\n  viewer:\n    rules:\n      - {{ apiGroups: [\"\"], resources: [services, namespaces], verbs: [get, list] }}\n"
    ))
    .unwrap();
    let Some(env) = Env::new(scenario, backend) else {
        return;
    };
    let run = env.run("viewer", POOL);
    assert_eq!(run.code, 3, "{}", run.human);
    let json: serde_json::Value = serde_json::from_str(&run.json).unwrap();
    assert_eq!(status_of(&json, "LB103"), "error");
    assert_eq!(status_of(&json, "LB105"), "error");
    assert!(
        run.human
            .contains("cannot list nodes (cluster-wide): permission denied"),
        "{}",
        run.human
    );
    assert!(run.human.contains("kubectl auth can-i list nodes -A"));
    snapshot("forbidden", &run, &env);
}
}

on_both_backends! {
fn local_runs_node_and_pool_checks_only(backend) {
    let Some(env) = Env::from_fixture("kubeadm-iptables", backend) else {
        return;
    };
    let mut cmd = env.lbctl("admin", &["--local", "--pool", "192.168.77.240/29"]);
    let out = cmd.output().unwrap();
    let human = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{human}");
    assert!(human.contains("LB101 API server reachable: --local: the cluster is not contacted"));
    assert!(human.contains("✔ LB308"), "{human}");
    if env.cluster.is_sim() {
        assert!(
            env.cluster.requests().is_empty(),
            "--local must not contact the API"
        );
    }
}
}

on_both_backends! {
fn ignore_fail_on_and_bad_input(backend) {
    let Some(env) = Env::from_fixture("kubeadm-ipvs", backend) else {
        return;
    };
    let out = env
        .lbctl("admin", &["--ignore", "lb111,LB201,lb113", "-o", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json:#}");
    let lb111 = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "LB111")
        .unwrap();
    assert_eq!(lb111["status"], "warn");
    assert_eq!(lb111["ignored"], true);
    let out = env
        .lbctl(
            "admin",
            &["--ignore", "LB111,LB201,LB113", "--fail-on", "warning"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    for bad in [
        &["--ignore", "LB9"][..],
        &["--pool", "192.168.77.250-192.168.77.240"],
    ] {
        let out = env.lbctl("admin", bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));
    }
}
}

on_both_backends! {
fn config_file_pools_in_the_wrong_namespace_fail_with_the_fix(backend) {
    let Some(env) = Env::from_fixture("kubeadm-iptables", backend) else {
        return;
    };
    let file = env.dir.path().join("pools.yaml");
    std::fs::write(
        &file,
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: lan\n  namespace: default\nspec:\n  addresses: [192.168.77.240/29]\n",
    )
    .unwrap();
    let out = env
        .lbctl("admin", &["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    let human = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{human}");
    assert!(
        human.contains("set `namespace: metallb-system` under metadata of lan"),
        "{human}"
    );
}
}

/// A workstation: the proc tree of `w1`, but with IP forwarding off (LB205 would fail if this
/// host were judged as a node).
fn write_workstation_proc(dir: &Path) {
    write_proc(dir, 0, 0);
    std::fs::write(dir.join("sys/net/ipv4/ip_forward"), "0\n").unwrap();
}

/// Preflight from a workstation in JSON, with `--kubeconfig` when given and no other source of
/// one (no KUBECONFIG, an empty HOME, not in a pod).
fn preflight_from_workstation(
    kubeconfig: Option<&Path>,
    args: &[&str],
) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let proc = dir.path().join("proc");
    write_workstation_proc(&proc);
    let mut cmd = Command::cargo_bin("lbctl").unwrap();
    cmd.env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("HOME", dir.path());
    if let Some(path) = kubeconfig {
        cmd.arg("--kubeconfig").arg(path);
    }
    let out = cmd
        .args(["preflight", "--no-probe", "-o", "json", "--proc-root"])
        .arg(&proc)
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).expect("one JSON document");
    (out.status.code().unwrap(), json)
}

/// Without a cluster lbctl cannot tell a workstation from a node: exit 3, LB101 says why, and
/// the node checks are skipped instead of judging this host's sysctls.
fn assert_not_judged(code: i32, json: &serde_json::Value, cause: &str) {
    assert_eq!(code, 3, "{json:#}");
    assert_eq!(json["exitCode"], 3);
    assert_eq!(json["result"], "error");
    let lb101 = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "LB101")
        .unwrap();
    assert_eq!(lb101["status"], "error", "{lb101:#}");
    assert!(
        lb101["message"].as_str().unwrap().contains(cause),
        "{lb101:#}"
    );
    assert_eq!(status_of(json, "LB200"), "skip");
    assert_eq!(status_of(json, "LB205"), "skip");
    let lb205 = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "LB205")
        .unwrap();
    assert!(
        lb205["message"]
            .as_str()
            .unwrap()
            .contains("--local checks this host"),
        "{lb205:#}"
    );
}

#[test]
fn without_a_cluster_preflight_is_exit_3_unless_local() {
    let dir = tempfile::tempdir().unwrap();
    let (code, json) = preflight_from_workstation(None, &[]);
    assert_not_judged(code, &json, "no kubeconfig found");
    let closed = crate::support::closed_port_kubeconfig(dir.path());
    let (code, json) = preflight_from_workstation(Some(&closed), &[]);
    assert_not_judged(code, &json, "cannot reach the Kubernetes API");
    // --local: this host is judged as a node, as asked.
    for kubeconfig in [None, Some(closed.as_path())] {
        let (code, json) = preflight_from_workstation(kubeconfig, &["--local"]);
        assert_eq!(code, 1, "{json:#}");
        assert_eq!(status_of(&json, "LB101"), "skip");
        assert_eq!(status_of(&json, "LB205"), "fail");
    }
}

/// Without a kubeconfig the human report says the cause once per area, not once per check;
/// `-v` lists every check again.
#[test]
fn without_a_cluster_the_skipped_checks_share_one_line_per_area() {
    let dir = tempfile::tempdir().unwrap();
    let proc = dir.path().join("proc");
    write_workstation_proc(&proc);
    let run = |verbose: bool| {
        let mut cmd = Command::cargo_bin("lbctl").unwrap();
        cmd.env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .env("HOME", dir.path())
            .args(["preflight", "--no-probe", "--color", "never", "--proc-root"])
            .arg(&proc)
            .args(["--pool", "192.168.10.240-192.168.10.250"]);
        if verbose {
            cmd.arg("-v");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let quiet = run(false);
    for line in [
        "  - 7 checks skipped (LB102, LB103, LB104, LB105, LB106, LB107, LB108): LB101 could not run\n",
        "  - 4 checks skipped (LB110, LB111, LB112, LB113): LB101 could not run\n",
        "  - 5 checks skipped (LB303, LB304, LB305, LB306, LB307): LB101 could not run\n",
    ] {
        assert!(quiet.contains(line), "{quiet}");
    }
    assert!(quiet.contains("no kubeconfig found"), "{quiet}");
    assert!(
        quiet.contains("7 checks skipped (LB200, LB201, LB202, LB203, LB204, LB205, LB206): without the cluster"),
        "{quiet}"
    );
    assert!(!quiet.contains("LB102 Kubernetes version"), "{quiet}");
    let every = quiet.lines().count();
    assert!(every < 25, "{quiet}");
    let verbose = run(true);
    assert!(!verbose.contains("checks skipped"), "{verbose}");
    assert!(
        verbose.contains("  - LB102 Kubernetes version supported: skipped: LB101 could not run\n"),
        "{verbose}"
    );
    assert!(verbose.lines().count() > every + 20, "{verbose}");
}

on_both_backends! {
fn a_bad_context_or_no_right_to_list_nodes_is_exit_3_without_judging_this_host(backend) {
    let text = std::fs::read_to_string(fixture("kubeadm-iptables")).unwrap();
    let scenario = Scenario::from_yaml(&format!(
        "{text}\nusers:\n  no-nodes:\n    rules:\n      - {{ apiGroups: [\"*\"], resources: [namespaces, services, pods, configmaps, daemonsets, deployments, customresourcedefinitions], verbs: [get, list] }}\n"
    ))
    .unwrap();
    let Some(env) = Env::new(scenario, backend) else {
        return;
    };
    write_workstation_proc(&env.dir.path().join("proc"));
    let admin = env.kubeconfig("admin");
    let (code, json) = preflight_from_workstation(Some(&admin), &["--context", "nope"]);
    assert_not_judged(code, &json, "nope");

    let out = env.lbctl("no-nodes", &["-o", "json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{json:#}");
    let lb200 = json["checks"].as_array().unwrap().iter().find(|c| c["id"] == "LB200").unwrap();
    assert_eq!(lb200["status"], "error", "{lb200:#}");
    assert!(lb200["message"].as_str().unwrap().contains("cannot tell whether this host (w1) is a node"), "{lb200:#}");
    assert!(lb200["hint"].as_str().unwrap().contains("kubectl auth can-i list nodes -A"), "{lb200:#}");
    assert_eq!(status_of(&json, "LB205"), "skip");
}
}

on_both_backends! {
fn metallb_installed_by_lbctl_is_recognised_and_its_pool_checked(backend) {
    let Some(env) = Env::from_fixture("kubeadm-nftables", backend) else {
        return;
    };
    let install = env
        .cluster
        .lbctl()
        .args([
            "install",
            "--pool",
            "192.168.77.240-192.168.77.245",
            "--timeout",
            "60s",
        ])
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "install failed: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    // A second pool overlapping the installed one, and the installed pool itself.
    let run = env.run("admin", &["--pool", "192.168.77.244-192.168.77.250"]);
    assert_eq!(run.code, 1, "{}", run.human);
    let json: serde_json::Value = serde_json::from_str(&run.json).unwrap();
    assert_eq!(status_of(&json, "LB120"), "pass", "{}", run.human);
    assert_eq!(status_of(&json, "LB121"), "pass");
    assert_eq!(status_of(&json, "LB122"), "pass");
    assert_eq!(status_of(&json, "LB306"), "fail");
    assert!(run.human.contains("managed by lbctl"), "{}", run.human);
    snapshot("metallb_installed", &run, &env);
}
}

on_both_backends! {
fn a_config_change_without_restart_is_not_active_and_wait_gives_up_at_the_deadline(backend) {
    let Some(env) = Env::from_fixture("kubeadm-ipvs", backend) else {
        return;
    };
    // The change must be newer than the running kube-proxy pods to the second.
    env.cluster.after_pods_started("kube-system", "k8s-app=kube-proxy");
    let mut cm = env
        .cluster
        .get("v1", "ConfigMap", Some("kube-system"), "kube-proxy")
        .expect("kube-proxy ConfigMap");
    let text = cm["data"]["config.conf"]
        .as_str()
        .unwrap()
        .replace("strictARP: false", "strictARP: true");
    cm["data"]["config.conf"] = serde_json::Value::String(text);
    env.cluster.apply_object(cm);

    let out = env
        .lbctl("admin", &["-o", "json", "--wait", "3s"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{json:#}");
    assert_eq!(status_of(&json, "LB111"), "pass");
    let lb112 = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "LB112")
        .unwrap();
    assert_eq!(lb112["status"], "fail", "{lb112:#}");
    let message = lb112["message"].as_str().unwrap();
    assert!(
        message.starts_with("config changed but not active: 3 of 3"),
        "{message}"
    );
    assert!(
        message.ends_with("(still fail when --wait 3s ran out)"),
        "{message}"
    );
    assert!(
        lb112["hint"]
            .as_str()
            .unwrap()
            .contains("rollout restart daemonset/kube-proxy")
    );
    // Not a terminal: plain progress lines on stderr, never on stdout.
    assert!(stderr.contains("waiting for LB112"), "{stderr}");

    // -q: the same rounds and verdict, no progress lines.
    let out = env
        .lbctl("admin", &["-q", "-o", "json", "--wait", "3s"])
        .output()
        .unwrap();
    let quiet: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{quiet:#}");
    assert_eq!(status_of(&quiet, "LB112"), "fail");
    assert!(!stderr.contains("waiting for"), "{stderr}");
}
}
