//! One set of insta filters for every snapshot of a check report (human, JSON, JUnit): what
//! differs between runs or backends though the case is the same becomes a placeholder, and
//! everything else is compared byte for byte. The same case then gives the same snapshot on
//! kube-sim and on the real control plane.

use serde_json::Value;

use super::Cluster;

/// The filters for reports lbctl wrote as `user` against `cluster`: the server's URL, the
/// kubeconfig's context, the server's version (kube-sim says v1.36.0, the real server its patch
/// release), lbctl's own version, the node MetalLB's controller was scheduled on, when
/// kube-proxy's ConfigMap last changed (the scenario's time on kube-sim; on the real server,
/// when the agent loaded it), generated name suffixes and JUnit timings.
pub fn report_filters(cluster: &Cluster, user: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let mut exact =
        |from: &str, to: &str| settings.add_filter(&regex::escape(from), to.to_string());

    exact(&cluster.url(), "https://[server]");
    // The real scheduler places MetalLB's controller on either worker (kube-sim's on the
    // first): where it runs is said as `[its node]`.
    for (pod, node) in controller_placement(cluster) {
        exact(&format!("{pod} on {node}"), &format!("{pod} on [its node]"));
    }
    let context = context_of(cluster, user);
    exact(&format!("(context {context}"), "(context [context]");
    exact(
        &format!("\"context\": \"{context}\""),
        "\"context\": \"[context]\"",
    );
    exact(
        &format!("name=\"context\" value=\"{context}\""),
        "name=\"context\" value=\"[context]\"",
    );
    let version = server_version(cluster);
    exact(&format!("Kubernetes {version})"), "Kubernetes [version])");
    exact(
        &format!("\"serverVersion\": \"{version}\""),
        "\"serverVersion\": \"[version]\"",
    );
    exact(
        &format!("name=\"serverVersion\" value=\"{version}\""),
        "name=\"serverVersion\" value=\"[version]\"",
    );
    exact(
        &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\": \"[version]\"",
    );
    if let Some(changed) = kube_proxy_config_changed(cluster) {
        exact(&changed, "[kube-proxy ConfigMap changed]");
    }

    // Generated names end in Kubernetes' safe alphabet (no vowels: `kube-proxy-config` is a
    // name, not a generated one). Pods listed by generated name come in an order that changes
    // with the names.
    const SAFE: &str = "[bcdfghjklmnpqrstvwxz2456789]";
    settings.add_filter(
        &format!(r"\((kube-proxy-{SAFE}{{5}} on [a-z0-9]+(, )?)+\)"),
        "(the kube-proxy pods)",
    );
    settings.add_filter(
        &format!(r"\b(controller|speaker|kube-proxy)-{SAFE}{{5,10}}(-{SAFE}{{5}})?\b"),
        "$1-[id]",
    );
    settings.add_filter(r#"time="[0-9.]+""#, r#"time="[t]""#);
    settings
}

/// The current context of the kubeconfig `user` runs with.
fn context_of(cluster: &Cluster, user: &str) -> String {
    let path = cluster.kubeconfig_for(user);
    let kubeconfig: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(path).expect("the kubeconfig"))
            .expect("kubeconfig YAML");
    kubeconfig["current-context"]
        .as_str()
        .expect("a current context")
        .to_string()
}

fn server_version(cluster: &Cluster) -> String {
    let out = cluster
        .kubectl()
        .args(["get", "--raw", "/version"])
        .output()
        .expect("running kubectl");
    let version: Value = serde_json::from_slice(&out.stdout).expect("/version is JSON");
    version["gitVersion"]
        .as_str()
        .expect("gitVersion")
        .to_string()
}

/// The newest time in kube-proxy's ConfigMap's managedFields, when it has one.
fn kube_proxy_config_changed(cluster: &Cluster) -> Option<String> {
    let cm = cluster.get("v1", "ConfigMap", Some("kube-system"), "kube-proxy")?;
    cm["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .filter_map(|e| e["time"].as_str().map(str::to_string))
        .max()
}

/// (pod, node) of each MetalLB controller pod that has a node.
fn controller_placement(cluster: &Cluster) -> Vec<(String, String)> {
    let out = cluster
        .kubectl()
        .args(["-n", "metallb-system", "get", "pods"])
        .args(["-l", "component=controller", "-o", "json"])
        .output()
        .expect("running kubectl");
    let pods: Value = serde_json::from_slice(&out.stdout).expect("kubectl's JSON");
    pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p["metadata"]["name"].as_str()?;
            let node = p["spec"]["nodeName"].as_str()?;
            Some((name.to_string(), node.to_string()))
        })
        .collect()
}
