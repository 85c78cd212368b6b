//! `-v` / `-vv` end to end: what lbctl says on stderr against kube-sim. `-vv` lists every
//! request kube-sim served (watches included), stdout stays one JSON document, and the
//! kubeconfig's token never shows up.

mod support;

use support::{Sim, output_text};

/// The bearer token of kube-sim's kubeconfig.
fn token_of(kubeconfig: &std::path::Path) -> String {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("token:"))
        .map(|t| t.trim().trim_matches('"').to_string())
        .filter(|t| !t.is_empty())
        .expect("kube-sim writes a token into the kubeconfig")
}

#[test]
fn vv_lists_every_request_kube_sim_served_and_never_the_token() {
    let Some(cluster) = support::Cluster::sim_only(
        "vv_lists_every_request_kube_sim_served_and_never_the_token",
        Sim::scenario("kubeadm-ipvs"),
    ) else {
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

    let server = cluster.sim().url();
    let server = server.trim_end_matches('/');
    let mut shown: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains(server) && l.contains(" milliseconds"))
        .map(|l| {
            // `GET https://host/path?query 200 OK in 3 milliseconds` -> `GET /path?query 200`
            let mut words = l.split(' ');
            let (method, url, status) = (words.next(), words.next(), words.next());
            format!(
                "{} {} {}",
                method.unwrap(),
                url.unwrap().strip_prefix(server).unwrap(),
                status.unwrap()
            )
        })
        .collect();
    let mut served: Vec<String> = cluster
        .requests()
        .iter()
        .map(|r| {
            let query = r.query.trim_start_matches('&');
            let sep = if query.is_empty() { "" } else { "?" };
            format!("{} {}{sep}{query} {}", r.method, r.path, r.status)
        })
        .collect();
    shown.sort();
    served.sort();
    assert!(
        served.iter().any(|r| r.contains("watch=true")),
        "the run watches pods: {served:#?}"
    );
    assert_eq!(shown, served, "stderr:\n{stderr}");

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

#[test]
fn v_names_the_target_and_steps_but_no_requests_and_quiet_says_nothing() {
    let Some(cluster) = support::Cluster::sim_only(
        "v_names_the_target_and_steps_but_no_requests_and_quiet_says_nothing",
        Sim::scenario("kubeadm-ipvs"),
    ) else {
        return;
    };
    let server = cluster.sim().url();
    let server = server.trim_end_matches('/');

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
