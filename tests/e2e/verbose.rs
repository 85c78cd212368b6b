//! `-v` / `-vv` end to end, on both backends: what lbctl says on stderr. `-vv` lists every
//! request it sends (watches included; on kube-sim compared with the request log, on the real
//! control plane with the pods the run created, watched, read and deleted), stdout stays one JSON
//! document, and the kubeconfig's token never shows up.

use crate::support;

use std::time::Duration;

use support::{Backend, Cluster, Sim, output_text};

/// The kubeadm scenario on `backend` (None: the backend cannot run here).
fn kubeadm_on(backend: Backend) -> Option<Cluster> {
    Sim::scenario("kubeadm-ipvs").on(backend)
}

/// The bearer token of the test's kubeconfig.
fn token_of(kubeconfig: &std::path::Path) -> String {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("token:"))
        .map(|t| t.trim().trim_matches('"').to_string())
        .filter(|t| !t.is_empty())
        .expect("the test's kubeconfig carries a token")
}

/// The server URL as lbctl prints it (no trailing slash).
fn server(cluster: &Cluster) -> String {
    cluster.url().trim_end_matches('/').to_string()
}

/// The node-check pods' names the run announced (`node w1: pod default/NAME created`).
fn created_pods(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| {
            l.split_once(": pod default/")?
                .1
                .strip_suffix(" created, waiting for it to end")
        })
        .map(str::to_string)
        .collect()
}

on_both_backends! {
fn vv_lists_every_request_and_never_the_token(backend) {
    let Some(cluster) = kubeadm_on(backend) else {
        return;
    };
    // --nodes: pods are created, watched, their logs read and deleted.
    let out = cluster
        .lbctl()
        .args([
            "-vv",
            "-o",
            "json",
            "preflight",
            "--nodes",
            "all",
            "--no-probe",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON under -vv: {e}\n{stdout}"));
    assert_eq!(report["command"], "preflight", "{stdout}");

    let server = server(&cluster);
    let mut shown: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains(server.as_str()) && l.contains(" milliseconds"))
        .map(|l| {
            // `GET https://host/path?query 200 OK in 3 milliseconds` -> `GET /path?query 200`
            let mut words = l.split(' ');
            let (method, url, status) = (words.next(), words.next(), words.next());
            let path = url
                .and_then(|u| u.strip_prefix(server.as_str()))
                .unwrap_or_else(|| panic!("a request line without the server's URL: {l}"));
            format!("{} {path} {}", method.unwrap(), status.unwrap())
        })
        .collect();
    shown.sort();
    assert!(
        shown.iter().any(|r| r.contains("watch=true")),
        "the run watches pods: {shown:#?}"
    );

    // Every node-check pod the run talks about shows up in every request made for it.
    let pods = created_pods(&stderr);
    assert_eq!(pods.len(), 3, "one pod per Ready node:\n{stderr}");
    let creates = shown
        .iter()
        .filter(|r| r.as_str() == "POST /api/v1/namespaces/default/pods 201")
        .count();
    assert_eq!(creates, pods.len(), "{shown:#?}");
    for pod in &pods {
        for wanted in [
            format!("GET /api/v1/namespaces/default/pods/{pod}/log?container=check 200"),
            format!("DELETE /api/v1/namespaces/default/pods/{pod} 200"),
        ] {
            assert!(shown.contains(&wanted), "{wanted:?} missing in {shown:#?}");
        }
        assert!(
            shown.iter().any(|r| r.starts_with("GET /api/v1/namespaces/default/pods?watch=true")
                && r.contains(&format!("metadata.name%3D{pod}"))),
            "no watch of {pod} in {shown:#?}"
        );
    }
    if cluster.is_sim() {
        // Exactly what kube-sim served, no more, no less.
        let mut served: Vec<String> = cluster
            .requests()
            .iter()
            .map(|r| {
                let query = r.query.trim_start_matches('&');
                let sep = if query.is_empty() { "" } else { "?" };
                format!("{} {}{sep}{query} {}", r.method, r.path, r.status)
            })
            .collect();
        served.sort();
        assert_eq!(shown, served, "stderr:\n{stderr}");
    }
    // The DELETEs shown were real: the pods go.
    let gone = cluster.eventually(Duration::from_secs(30), |c| {
        pods.iter().all(|p| c.get("v1", "Pod", Some("default"), p).is_none())
    });
    assert!(gone, "the node-check pods {pods:?} are still there");

    let token = token_of(cluster.kubeconfig());
    assert!(!stderr.contains(&token), "the token leaked:\n{stderr}");
    assert!(!stderr.to_lowercase().contains("bearer"), "{stderr}");
    for said in [
        "kubeconfig: ",
        "context \"",
        "user admin",
        "running the node-check pods: done in ",
    ] {
        assert!(stderr.contains(said), "missing {said:?} in:\n{stderr}");
    }
}
}

on_both_backends! {
fn v_names_the_target_and_steps_but_no_requests_and_quiet_says_nothing(backend) {
    let Some(cluster) = kubeadm_on(backend) else {
        return;
    };
    let server = server(&cluster);

    let out = cluster
        .lbctl()
        .args(["-v", "-o", "json", "doctor", "--no-probe"])
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    serde_json::from_str::<serde_json::Value>(&stdout).expect("stdout stays JSON under -v");
    let kubeconfig = cluster.kubeconfig().display().to_string();
    assert!(
        stderr.contains(&format!("kubeconfig: {kubeconfig} (--kubeconfig)")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("server {server}, user admin, namespace default")),
        "{stderr}"
    );
    assert!(
        stderr.contains("gathering cluster and MetalLB facts: done in "),
        "{stderr}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("GET ")),
        "-v lists no requests:\n{stderr}"
    );

    let quiet = cluster
        .lbctl()
        .args(["-o", "json", "doctor", "--no-probe"])
        .output()
        .unwrap();
    let (_, stderr) = output_text(&quiet);
    assert!(
        !stderr.contains("kubeconfig:") && !stderr.contains("done in"),
        "{stderr}"
    );
}
}

/// `-q` with `-v` asks for less and more at once: a usage error before anything runs, as with
/// kubectl and cargo.
#[test]
fn quiet_with_verbose_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["-q", "-v", "version"][..],
        &["version", "--quiet", "-vv"],
        &["-v", "doctor", "-q"],
    ] {
        let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_lbctl"))
            .env_remove("KUBECONFIG")
            .env("HOME", home.path())
            .args(args)
            .output()
            .unwrap();
        let (stdout, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}\n{stderr}");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
        assert_eq!(stdout, "");
    }
}
