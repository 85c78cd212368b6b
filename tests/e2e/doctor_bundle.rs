//! `lbctl doctor --bundle FILE.tar.gz` end to end: the archive opened in the test, its files
//! checked, and the whole unpacked content searched for every Secret value of the cluster and
//! for the kubeconfig's credentials (none may appear). A restricted user still gets an archive
//! that names what it could not read; a bad path is refused before any request.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::permissions::{documented_rules, without};
use crate::support::{Backend, Cluster, Sim, output_text};
use lbctl::permissions::Command;

/// The archive's files by path below its one `lbctl-bundle-<time>/` directory.
fn unpack(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = std::fs::File::open(path).expect("the archive exists");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = BTreeMap::new();
    let mut roots = Vec::new();
    for entry in archive.entries().expect("a tar archive") {
        let mut entry = entry.expect("an entry");
        let name = entry.path().unwrap().display().to_string();
        let (root, rest) = name.split_once('/').expect("inside one directory");
        if !roots.contains(&root.to_string()) {
            roots.push(root.to_string());
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        files.insert(rest.to_string(), data);
    }
    assert_eq!(roots.len(), 1, "one directory: {roots:?}");
    assert!(roots[0].starts_with("lbctl-bundle-"), "{roots:?}");
    files
}

fn text(files: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    let data = files
        .get(path)
        .unwrap_or_else(|| panic!("{path} in the bundle: {:?}", files.keys()));
    String::from_utf8(data.clone()).unwrap()
}

fn kubectl_json(cluster: &Cluster, args: &[&str]) -> Value {
    let out = cluster
        .kubectl()
        .args(args)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        output_text(&out).1
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn metallb_pods(cluster: &Cluster) -> Vec<Value> {
    let pods = kubectl_json(cluster, &["get", "pods", "-n", "metallb-system"]);
    pods["items"].as_array().cloned().unwrap_or_default()
}

fn running(pod: &Value) -> bool {
    pod["status"]["containerStatuses"][0]["state"]["running"].is_object()
}

/// The healthy cluster with MetalLB's controller and speakers running.
fn healthy(sim: Sim, backend: Backend) -> Option<Cluster> {
    let cluster = sim.on(backend)?;
    cluster.settle(|c| {
        let pods = metallb_pods(c);
        pods.len() >= 2 && pods.iter().all(running)
    });
    Some(cluster)
}

/// What must never be in a bundle: every Secret value (as stored, base64, and decoded), and
/// the kubeconfig's token and client key.
fn forbidden_strings(cluster: &Cluster, kubeconfig: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let secrets = kubectl_json(cluster, &["get", "secrets", "-A"]);
    for secret in secrets["items"].as_array().unwrap() {
        for value in secret["data"].as_object().into_iter().flatten() {
            let encoded = value.1.as_str().unwrap_or_default().to_string();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&encoded)
                .unwrap_or_default();
            if let Ok(raw) = String::from_utf8(raw) {
                // PEM blocks: each line on its own, so a re-wrapped copy is found too.
                out.extend(
                    raw.lines()
                        .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
                        .map(str::to_string),
                );
                out.push(raw);
            }
            out.push(encoded);
        }
    }
    let kubeconfig = std::fs::read_to_string(kubeconfig).unwrap();
    for line in kubeconfig.lines() {
        let line = line.trim();
        for key in ["token:", "client-key-data:"] {
            if let Some(value) = line.strip_prefix(key) {
                out.push(value.trim().trim_matches('"').to_string());
            }
        }
    }
    out.retain(|s| s.len() >= 8);
    assert!(!out.is_empty(), "the cluster has Secret values to look for");
    out
}

fn assert_no_secret(files: &BTreeMap<String, Vec<u8>>, forbidden: &[String]) {
    for (path, data) in files {
        let content = String::from_utf8_lossy(data);
        for f in forbidden {
            assert!(
                !content.contains(f.as_str()),
                "{path} holds a secret value: {f:.20}..."
            );
        }
    }
}

/// Every file of a bundle has content: a kind with no objects or an empty log is a MANIFEST.txt
/// line instead.
fn assert_no_empty_file(files: &BTreeMap<String, Vec<u8>>) {
    let empty: Vec<&String> = files
        .iter()
        .filter(|(_, d)| d.is_empty())
        .map(|(p, _)| p)
        .collect();
    assert!(empty.is_empty(), "empty files in the bundle: {empty:?}");
    let manifest = text(files, "MANIFEST.txt");
    assert!(
        !manifest.contains("         0  "),
        "a 0-byte file listed:\n{manifest}"
    );
}

/// A bundle written without the cluster: exactly the report, lbctl's own version and
/// MANIFEST.txt, which gives doctor's error and hint; no empty file, no secret.
fn assert_unreached_bundle(
    archive: &Path,
    error: &str,
    hint: &str,
    forbidden: &[String],
) -> BTreeMap<String, Vec<u8>> {
    let files = unpack(archive);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(names, ["MANIFEST.txt", "report.json", "version.txt"]);
    let manifest = text(&files, "MANIFEST.txt");
    assert!(
        manifest.contains(&format!(
            "doctor could not read the cluster: this bundle holds only what lbctl knows without it\n  error: {error}"
        )),
        "{error}:\n{manifest}"
    );
    assert!(
        manifest.contains(&format!("\n  hint: {hint}")),
        "{hint}:\n{manifest}"
    );
    assert!(
        manifest.contains("not collected (1):\n  everything read from the cluster"),
        "{manifest}"
    );
    let version = text(&files, "version.txt");
    assert!(
        version.starts_with("lbctl:   v") && !version.contains("Server"),
        "client only: {version}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&text(&files, "report.json")).unwrap()["exitCode"],
        3
    );
    assert_no_empty_file(&files);
    assert_no_secret(&files, forbidden);
    files
}

/// The closing line of a run whose bundle holds only what could be collected without the cluster.
/// Runs `lbctl ARGS --bundle ARCHIVE`, which cannot read the cluster: exit 3. Its stdout and
/// stderr.
fn unreached(mut lbctl: assert_cmd::Command, args: &[&str], archive: &Path) -> (String, String) {
    let out = lbctl
        .args(args)
        .arg("--bundle")
        .arg(archive)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    (stdout, stderr)
}

fn assert_partial_closing_line(out: &str, archive: &Path) {
    assert!(
        out.contains(&format!("bundle: wrote {} (", archive.display()))
            && out.contains("files); it holds only what could be collected without the cluster, see MANIFEST.txt"),
        "{out}"
    );
}

on_both_backends! {
/// An admin's bundle holds every part doctor's support bundle promises, report.json equals the
/// stdout JSON of the same run, and no Secret value or credential appears anywhere.
fn an_admins_bundle_holds_everything_and_no_secret(backend) {
    let Some(cluster) = healthy(Sim::scenario("metallb-healthy"), backend) else {
        return;
    };
    let pods = metallb_pods(&cluster);
    if cluster.is_sim() {
        for pod in &pods {
            let name = pod["metadata"]["name"].as_str().unwrap();
            cluster.sim().store().set_pod_log("metallb-system", name, &format!("{name} line 1\n{name} line 2\n{name} line 3\n"));
        }
    }
    let archive = cluster.dir().join("bundle.tar.gz");
    let out = cluster
        .lbctl()
        .args(["doctor", "--no-probe", "-o", "json", "--bundle-log-lines", "2", "--bundle"])
        .arg(&archive)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("bundle: wrote {}", archive.display())), "{stderr}");
    let files = unpack(&archive);

    assert_eq!(text(&files, "report.json"), stdout, "report.json is the stdout JSON");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["command"], "doctor");
    let version = text(&files, "version.txt");
    assert!(version.starts_with("lbctl:   v") && version.contains("Server:  v1."), "{version}");
    for path in [
        "metallb/ipaddresspools.yaml",
        "metallb/l2advertisements.yaml",
        "metallb/servicel2statuses.yaml",
        "metallb/configurationstates.yaml",
        "metallb/validatingwebhookconfiguration.yaml",
        "metallb/deployments.yaml",
        "metallb/daemonsets.yaml",
        "metallb/pods.yaml",
        "metallb/secrets.yaml",
        "events/loadbalancer-services.yaml",
        "services/loadbalancers.yaml",
        "cluster/nodes.yaml",
        "kube-proxy/daemonset.yaml",
        "kube-proxy/configmap.yaml",
        "MANIFEST.txt",
    ] {
        assert!(files.contains_key(path), "{path}: {:?}", files.keys());
    }
    assert!(text(&files, "metallb/servicel2statuses.yaml").contains("kind: ServiceL2Status"));
    assert!(text(&files, "metallb/configurationstates.yaml").contains("name: controller"));
    assert!(text(&files, "services/loadbalancers.yaml").contains("type: LoadBalancer"));
    let nodes = text(&files, "cluster/nodes.yaml");
    assert!(nodes.contains("conditions:") && !nodes.contains("managedFields") && !nodes.contains("images:"), "{nodes:.400}");
    let secrets = text(&files, "metallb/secrets.yaml");
    assert!(secrets.contains("name: memberlist") && secrets.contains("secretkey"), "{secrets}");
    assert!(text(&files, "kube-proxy/configmap.yaml").contains("config.conf"));
    // Every container of the controller and of each speaker has its log.
    for pod in &pods {
        let name = pod["metadata"]["name"].as_str().unwrap();
        for c in pod["spec"]["containers"].as_array().unwrap() {
            let container = c["name"].as_str().unwrap();
            let path = format!("logs/{name}/{container}.log");
            if cluster.is_sim() {
                let log = text(&files, &path);
                assert_eq!(log, format!("{name} line 2\n{name} line 3\n"), "{path}: the last 2 lines");
            } else if !files.contains_key(&path) {
                // An empty log is a MANIFEST.txt line, not an empty file.
                let line = format!("  log of the container {container} of pod metallb-system/{name}: 0 lines ({path})\n");
                assert!(text(&files, "MANIFEST.txt").contains(&line), "{line}");
            }
        }
    }
    let manifest = text(&files, "MANIFEST.txt");
    assert!(manifest.contains("not collected (0):"), "{manifest}");
    assert!(manifest.contains("  report.json\n"), "{manifest}");
    assert_no_empty_file(&files);
    // An L2 installation has no BGP peers: a MANIFEST.txt line, no empty file.
    assert_eq!(kubectl_json(&cluster, &["get", "bgppeers.metallb.io", "-n", "metallb-system"])["items"], serde_json::json!([]));
    assert!(!files.contains_key("metallb/bgppeers.yaml"), "{:?}", files.keys());
    assert!(
        manifest.contains("collected, empty (no file written):\n")
            && manifest.contains("\n  BGPPeer objects in metallb-system: 0 objects (metallb/bgppeers.yaml)\n"),
        "{manifest}"
    );
    assert!(!manifest.contains("  metallb/bgppeers.yaml\n"), "{manifest}");
    // kube-sim records no events of its own: the namespace's events are a file or that line.
    assert!(
        files.contains_key("events/metallb-system.yaml")
            || manifest.contains("\n  Events in metallb-system: 0 objects (events/metallb-system.yaml)\n"),
        "{manifest}"
    );
    // Only kube-sim's logs were filled (longer than the 2 lines kept).
    if cluster.is_sim() {
        assert!(manifest.contains("(cut: the last 2 lines"), "{manifest}");
    }

    assert_no_secret(&files, &forbidden_strings(&cluster, cluster.kubeconfig()));
}
}

on_both_backends! {
/// doctor's documented roles less `events`: no pods/log either. The archive is written, its
/// MANIFEST.txt names each missing permission as the other messages do, and the exit code is
/// doctor's without --bundle.
fn a_restricted_users_bundle_lists_what_it_could_not_read(backend) {
    let rules = without(documented_rules(Command::Doctor), "events", None);
    let sim = Sim::scenario("metallb-healthy").user("restricted", &Value::from(rules).to_string());
    let Some(cluster) = healthy(sim, backend) else {
        return;
    };
    let plain = cluster
        .lbctl_as("restricted")
        .args(["doctor", "--no-probe"])
        .output()
        .unwrap();
    let archive = cluster.dir().join("restricted.tar.gz");
    let out = cluster
        .lbctl_as("restricted")
        .args(["doctor", "--no-probe", "--bundle"])
        .arg(&archive)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), plain.status.code(), "{stdout}\n{stderr}");
    assert!(stdout.contains("items could not be collected, see MANIFEST.txt"), "{stdout}");
    let files = unpack(&archive);
    let manifest = text(&files, "MANIFEST.txt");
    for needed in [
        "missing permission get pods/log in namespace \"metallb-system\"; check it with `kubectl auth can-i get pods/log -n metallb-system`",
        "missing permission list events in namespace \"metallb-system\"",
        "missing permission get daemonsets.apps in namespace \"kube-system\"",
    ] {
        assert!(manifest.contains(needed), "{needed}:\n{manifest}");
    }
    assert!(files.contains_key("metallb/ipaddresspools.yaml") && files.contains_key("report.json"));
    let restricted = cluster.kubeconfig_for("restricted");
    assert_no_secret(&files, &forbidden_strings(&cluster, &restricted));
}
}

/// A directory that does not exist: exit 2 before any request, nothing written.
#[test]
fn a_bundle_path_in_a_missing_directory_is_refused_before_any_request_sim_only() {
    let Some(cluster) = Cluster::sim_only("bad bundle path", Sim::scenario("metallb-healthy"))
    else {
        return;
    };
    cluster.clear_requests();
    let path = cluster.dir().join("no-such-dir/b.tar.gz");
    let out = cluster
        .lbctl()
        .args(["doctor", "--no-probe", "--bundle"])
        .arg(&path)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("no-such-dir") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(cluster.requests().is_empty(), "{:?}", cluster.requests());
    assert!(!path.parent().unwrap().exists());
}

/// A speaker container that restarted: the bundle holds its previous container's log beside
/// the current one (kube-sim is what can make a container restart).
#[test]
fn a_restarted_containers_previous_log_is_in_the_bundle_sim_only() {
    let Some(cluster) = Cluster::sim_only("previous log", Sim::scenario("metallb-healthy")) else {
        return;
    };
    cluster.settle(|c| {
        let pods = metallb_pods(c);
        pods.len() >= 2 && pods.iter().all(running)
    });
    let pods = metallb_pods(&cluster);
    let speaker = pods
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .find(|n| n.starts_with("speaker-"))
        .expect("a speaker pod");
    let store = cluster.sim().store();
    store.set_pod_log("metallb-system", &speaker, "before the crash\n");
    store
        .restart_container("metallb-system", &speaker, "speaker")
        .expect("the speaker restarts");
    store.set_pod_log("metallb-system", &speaker, "after the restart\n");
    let archive = cluster.dir().join("restarted.tar.gz");
    let out = cluster
        .lbctl()
        .args(["doctor", "--no-probe", "--bundle"])
        .arg(&archive)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    assert!(archive.exists(), "{stdout}\n{stderr}");
    let files = unpack(&archive);
    assert_eq!(
        text(&files, &format!("logs/{speaker}/speaker.log")),
        "after the restart\n"
    );
    assert_eq!(
        text(&files, &format!("logs/{speaker}/speaker.previous.log")),
        "before the crash\n"
    );
    let previous: Vec<&String> = files
        .keys()
        .filter(|k| k.ends_with(".previous.log"))
        .collect();
    assert_eq!(
        previous.len(),
        1,
        "only the restarted container: {previous:?}"
    );
    assert!(text(&files, "MANIFEST.txt").contains("not collected (0):"));
}

/// The API server's port is closed: doctor exits 3 as without --bundle, and the archive holds
/// its JSON report (LB101 as an error) and MANIFEST.txt with the server and the connection
/// error, not one failed read per item.
#[test]
fn a_closed_port_still_gives_a_bundle_that_says_why_sim_only() {
    let Some(cluster) = Cluster::sim_only("closed port", Sim::scenario("metallb-healthy")) else {
        return;
    };
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = format!("https://127.0.0.1:{port}");
    let admin = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let closed: String = admin
        .lines()
        .map(|l| match l.trim_start().strip_prefix("server:") {
            Some(_) => format!("    server: {server}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    assert_ne!(closed, admin);
    let kubeconfig = cluster.dir().join("kubeconfig-closed");
    std::fs::write(&kubeconfig, closed).unwrap();
    let archive = cluster.dir().join("closed.tar.gz");
    let (stdout, stderr) = unreached(
        cluster.lbctl_with_kubeconfig(&kubeconfig),
        &["doctor", "--no-probe", "-o", "json"],
        &archive,
    );
    assert_partial_closing_line(&stderr, &archive);
    let files = assert_unreached_bundle(
        &archive,
        &format!("cannot reach the Kubernetes API at {server}: "),
        "check that the cluster is up and that `kubectl cluster-info` works",
        &forbidden_strings(&cluster, &kubeconfig),
    );
    assert_eq!(
        text(&files, "report.json"),
        stdout,
        "report.json is the stdout JSON"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["checks"][0]["id"], "LB101");
    assert_eq!(report["checks"][0]["status"], "error");

    // --nodes reads the nodes before the checks: that error stops doctor, the bundle is written.
    let archive = cluster.dir().join("closed-nodes.tar.gz");
    let (stdout, stderr) = unreached(
        cluster.lbctl_with_kubeconfig(&kubeconfig),
        &["doctor", "--no-probe", "--nodes", "all"],
        &archive,
    );
    assert!(
        stderr.contains(&format!(
            "error: cannot reach the Kubernetes API at {server}"
        )),
        "{stderr}"
    );
    assert_partial_closing_line(&stdout, &archive);
    assert_unreached_bundle(
        &archive,
        &format!("cannot reach the Kubernetes API at {server}: "),
        "check that the cluster is up",
        &forbidden_strings(&cluster, &kubeconfig),
    );
}

/// A user kube-sim does not know: every request is answered 401. The bundle names the
/// rejected credentials as doctor does, and holds neither that token nor any Secret value.
#[test]
fn rejected_credentials_still_give_a_bundle_that_says_why_sim_only() {
    let Some(cluster) = Cluster::sim_only("401", Sim::scenario("metallb-healthy")) else {
        return;
    };
    let archive = cluster.dir().join("unauthorized.tar.gz");
    let forbidden = forbidden_strings(&cluster, &cluster.kubeconfig_for("nobody"));
    cluster.clear_requests();
    let (stdout, _) = unreached(
        cluster.lbctl_as("nobody"),
        &["doctor", "--no-probe"],
        &archive,
    );
    assert_partial_closing_line(&stdout, &archive);
    assert!(
        stdout.contains("the API server rejected the credentials of context"),
        "{stdout}"
    );
    // doctor's reads were all refused; the bundle did not try its own after them.
    let paths: Vec<String> = cluster.requests().into_iter().map(|r| r.path).collect();
    assert!(paths.iter().any(|p| p == "/version"), "{paths:?}");
    for bundle_only in [
        "/api/v1/namespaces/metallb-system/events",
        "/apis/apps/v1/namespaces/metallb-system/daemonsets",
        "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy",
    ] {
        assert!(
            !paths.iter().any(|p| p == bundle_only),
            "{bundle_only}: {paths:?}"
        );
    }
    assert_unreached_bundle(
        &archive,
        "the API server rejected the credentials of context \"kube-sim\"",
        "refresh the credentials of this context",
        &forbidden,
    );
}

/// A context the kubeconfig does not have, and a kubeconfig the parser cannot read (its error
/// quotes the lines around the fault, a token among them): exit 3 with the error and hint as
/// without --bundle, and a bundle with the error document as report.json, no request made.
#[test]
fn an_unusable_kubeconfig_still_gives_a_bundle_without_its_content_sim_only() {
    let Some(cluster) = Cluster::sim_only("bad kubeconfig", Sim::scenario("metallb-healthy"))
    else {
        return;
    };
    // Read first: kubectl's own requests are not lbctl's.
    let forbidden = forbidden_strings(&cluster, cluster.kubeconfig());
    cluster.clear_requests();
    let archive = cluster.dir().join("context.tar.gz");
    let (stdout, stderr) = unreached(
        cluster.lbctl(),
        &["--context", "no-such-context", "doctor", "--no-probe"],
        &archive,
    );
    let error = "invalid kubeconfig: context \"no-such-context\" not found (contexts: kube-sim)";
    assert!(stderr.contains(&format!("error: {error}")), "{stderr}");
    assert_partial_closing_line(&stdout, &archive);
    let files = assert_unreached_bundle(
        &archive,
        error,
        "check the file with `kubectl config view`",
        &forbidden,
    );
    let report: Value = serde_json::from_str(&text(&files, "report.json")).unwrap();
    assert_eq!(report["command"], "doctor");
    assert_eq!(report["error"]["message"], error);

    let admin = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let broken = cluster.dir().join("kubeconfig-broken");
    std::fs::write(&broken, admin.replace("    token: ", "    token: {")).unwrap();
    let archive = cluster.dir().join("broken.tar.gz");
    let (_, stderr) = unreached(
        cluster.lbctl_with_kubeconfig(&broken),
        &["doctor", "--no-probe"],
        &archive,
    );
    assert!(stderr.contains("error: cannot read kubeconfig"), "{stderr}");
    assert_unreached_bundle(
        &archive,
        &format!("cannot read kubeconfig {}: ", broken.display()),
        "check the file with `kubectl config view`",
        &forbidden,
    );
    assert!(cluster.requests().is_empty(), "{:?}", cluster.requests());
}
