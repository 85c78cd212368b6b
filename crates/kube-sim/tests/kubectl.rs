//! The real kubectl against kube-sim, through the kubeconfig kube-sim writes.

use kube_sim::Scenario;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
    _dir: tempfile::TempDir,
}

impl Kubectl {
    fn new(sim: &kube_sim::SimHandle, user: &str) -> Kubectl {
        assert!(
            Command::new("kubectl")
                .arg("version")
                .arg("--client")
                .output()
                .is_ok(),
            "kubectl is not on PATH: the kube-sim compatibility tests need it (it ships on the machine image)"
        );
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig, user).unwrap();
        Kubectl {
            cache: dir.path().join("cache"),
            kubeconfig,
            _dir: dir,
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.kubeconfig.parent().unwrap().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs kubectl; returns (success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args);
        assert!(ok, "kubectl {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: default
  labels: {app: demo}
data:
  a: \"1\"
  b: \"2\"
";

#[test]
fn get_apply_patch_delete() {
    let sim = kube_sim::spawn(Scenario::empty()).unwrap();
    let kubectl = Kubectl::new(&sim, "admin");
    let names = kubectl.ok(&["get", "namespaces", "-o", "name"]);
    assert!(names.contains("namespace/kube-system"), "{names}");

    let manifest = kubectl.file("cm.yaml", CONFIGMAP);
    let out = kubectl.ok(&["apply", "--server-side", "-f", path_str(&manifest)]);
    assert!(out.contains("configmap/demo serverside-applied"), "{out}");
    let cm = sim.get("v1", "ConfigMap", Some("default"), "demo").unwrap();
    assert_eq!(cm["data"]["b"], "2");
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(cm["metadata"]["managedFields"][0]["operation"], "Apply");

    // Another manager changing an owned field conflicts, exactly as kubectl reports it.
    let changed = kubectl.file("cm2.yaml", &CONFIGMAP.replace("a: \"1\"", "a: \"9\""));
    let (ok, _, stderr) = kubectl.run(&[
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "-f",
        path_str(&changed),
    ]);
    assert!(!ok);
    assert!(stderr.contains("conflict with \"kubectl\""), "{stderr}");

    kubectl.ok(&["patch", "configmap", "demo", "-p", r#"{"data":{"c":"3"}}"#]);
    kubectl.ok(&[
        "patch",
        "configmap",
        "demo",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"a":null}}"#,
    ]);
    kubectl.ok(&[
        "patch",
        "configmap",
        "demo",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/data/d","value":"4"}]"#,
    ]);
    let data = kubectl.ok(&["get", "configmap", "demo", "-o", "jsonpath={.data}"]);
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data, serde_json::json!({"b": "2", "c": "3", "d": "4"}));

    let out = kubectl.ok(&["delete", "configmap", "demo"]);
    assert!(out.contains("configmap \"demo\" deleted"), "{out}");
    let (ok, _, stderr) = kubectl.run(&["get", "configmap", "demo"]);
    assert!(!ok);
    assert!(stderr.contains("configmaps \"demo\" not found"), "{stderr}");
}

#[test]
fn forbidden_user_gets_the_rbac_message() {
    let scenario = Scenario::from_yaml(
        "users:\n  viewer:\n    rules:\n      - { apiGroups: [\"\"], resources: [configmaps], verbs: [get, list], namespaces: [kube-system] }\n",
    )
    .unwrap();
    let sim = kube_sim::spawn(scenario).unwrap();
    let kubectl = Kubectl::new(&sim, "viewer");
    kubectl.ok(&["get", "configmaps", "-n", "kube-system"]);
    let (ok, _, stderr) = kubectl.run(&["get", "configmaps", "-n", "default"]);
    assert!(!ok);
    assert!(
        stderr.contains("User \"viewer\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""),
        "{stderr}"
    );
}

#[test]
fn logs_of_run_to_completion_pods_and_graceful_delete() {
    let scenario = Scenario::from_yaml(
        "settings: { podReadyDelay: 100ms, nodeFacts: { w1: \"arp_ignore=1\\n\" } }
objects:
  - { apiVersion: v1, kind: Node, metadata: { name: w1 }, status: { conditions: [{ type: Ready, status: \"True\" }] } }
  - { apiVersion: v1, kind: Node, metadata: { name: w2 }, status: { conditions: [{ type: Ready, status: \"False\" }] } }
",
    )
    .unwrap();
    let sim = kube_sim::spawn(scenario).unwrap();
    let kubectl = Kubectl::new(&sim, "admin");
    let pod = |name: &str, node: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  nodeName: {node}\n  restartPolicy: Never\n  containers: [{{name: check, image: busybox, command: [sh, -c, \"true\"]}}]\n"
        )
    };
    let file = kubectl.file(
        "pods.yaml",
        &format!("{}---\n{}", pod("done", "w1"), pod("stuck", "w2")),
    );
    kubectl.ok(&["apply", "-f", path_str(&file)]);
    kubectl.ok(&[
        "wait",
        "--for=jsonpath={.status.phase}=Succeeded",
        "pod/done",
        "--timeout=20s",
    ]);
    assert_eq!(
        kubectl.ok(&["logs", "done", "-c", "check"]),
        "arp_ignore=1\n"
    );
    let (ok, _, stderr) = kubectl.run(&["logs", "stuck"]);
    assert!(!ok);
    assert!(
        stderr.contains("Error from server: Get \"https://")
            && stderr.contains("connect: connection refused"),
        "{stderr}"
    );
    kubectl.ok(&["delete", "pod", "done", "--timeout=20s"]);
    let (ok, _, stderr) = kubectl.run(&["delete", "pod", "stuck", "--timeout=2s"]);
    assert!(!ok, "kubectl waits for a pod no kubelet removes");
    assert!(stderr.contains("timed out"), "{stderr}");
    kubectl.ok(&["delete", "pod", "stuck", "--grace-period=0", "--force"]);
    assert!(sim.get("v1", "Pod", Some("default"), "stuck").is_none());
}

/// kubectl's table output comes from the server's Tables: the columns of the real printers and
/// of MetalLB's CRD printer columns.
#[test]
fn get_prints_the_server_tables() {
    let sim = kube_sim::spawn(common::fixture("metallb-healthy.yaml")).unwrap();
    let kubectl = Kubectl::new(&sim, "admin");

    let nodes = kubectl.ok(&["get", "nodes"]);
    let lines: Vec<Vec<&str>> = nodes
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        "{nodes}"
    );
    let cp = lines.iter().find(|l| l[0] == "cp1").expect("cp1 listed");
    assert_eq!(cp[1..3], ["Ready", "control-plane"], "{nodes}");
    let worker = lines.iter().find(|l| l[0] == "w1").expect("w1 listed");
    assert_eq!(worker[2], "<none>", "{nodes}");
    let wide = kubectl.ok(&["get", "nodes", "-o", "wide"]);
    assert!(
        wide.lines().next().unwrap().contains("INTERNAL-IP"),
        "{wide}"
    );

    let pools = kubectl.ok(&["get", "ipaddresspools", "-A"]);
    let header: Vec<&str> = pools
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "NAME",
            "AUTO ASSIGN",
            "AVOID BUGGY IPS",
            "ADDRESSES"
        ],
        "{pools}"
    );
    let lan = pools.lines().nth(1).unwrap();
    let cells: Vec<&str> = lan.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "metallb-system",
            "lan",
            "true",
            "false",
            "[\"192.168.77.240-192.168.77.250\"]"
        ],
        "{pools}"
    );

    let pods = kubectl.ok(&["get", "pods", "-n", "metallb-system"]);
    let header: Vec<&str> = pods.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{pods}"
    );
    for line in pods.lines().skip(1) {
        assert!(
            line.contains(" 1/1 ") && line.contains(" Running "),
            "{pods}"
        );
    }
    let services = kubectl.ok(&["get", "services", "-A"]);
    assert!(
        services.lines().next().unwrap().contains("TYPE"),
        "{services}"
    );
    assert!(
        services.lines().next().unwrap().contains("EXTERNAL-IP"),
        "{services}"
    );
}

/// kubectl validates strictly on the server by default: unknown fields are refused with the API
/// server's message; `--validate=warn` writes the object without them and prints the warning.
#[test]
fn unknown_fields_follow_kubectl_validate() {
    let sim = kube_sim::spawn(Scenario::empty()).unwrap();
    let kubectl = Kubectl::new(&sim, "admin");
    let manifest = kubectl.file(
        "typo.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: default}\ndata: {a: \"1\"}\ndatta: {b: \"2\"}\n",
    );
    let (ok, _, stderr) = kubectl.run(&["create", "-f", path_str(&manifest)]);
    assert!(!ok);
    assert!(
        stderr.contains("strict decoding error: unknown field \"datta\""),
        "{stderr}"
    );
    let (ok, _, stderr) = kubectl.run(&["apply", "--server-side", "-f", path_str(&manifest)]);
    assert!(!ok);
    assert!(
        stderr.contains(".datta: field not declared in schema"),
        "{stderr}"
    );
    assert!(
        sim.get("v1", "ConfigMap", Some("default"), "typo")
            .is_none()
    );

    let (ok, _, stderr) = kubectl.run(&["create", "--validate=warn", "-f", path_str(&manifest)]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("unknown field \"datta\""), "{stderr}");
    let cm = sim.get("v1", "ConfigMap", Some("default"), "typo").unwrap();
    assert!(cm.get("datta").is_none());
    assert_eq!(cm["data"]["a"], "1");
}
