//! Where kube-proxy's configuration lives (docs/enable-strictarp.md, "Locate"): follow `--config` from the
//! kube-proxy DaemonSet through its volume mounts to a ConfigMap key; otherwise recognise a
//! flags-only kube-proxy (k3s, RKE2, Talos) or a cluster that replaced kube-proxy altogether.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Container, PodSpec, Volume};
use serde::Serialize;

pub const NAMESPACE: &str = "kube-system";
pub const DAEMONSET: &str = "kube-proxy";

/// Where the KubeProxyConfiguration text is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKey {
    pub namespace: String,
    pub name: String,
    pub key: String,
    /// The `--config` path that led here, for the report.
    pub config_path: String,
}

/// The distributions that configure kube-proxy with flags only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    K3s,
    Rke2,
    Talos,
    Unknown,
}

impl Distribution {
    pub fn name(self) -> &'static str {
        match self {
            Distribution::K3s => "k3s",
            Distribution::Rke2 => "RKE2",
            Distribution::Talos => "Talos",
            Distribution::Unknown => "this distribution",
        }
    }

    /// Exact steps to set the two kube-proxy flags on this distribution.
    pub fn instructions(self) -> Vec<String> {
        match self {
            Distribution::K3s => vec![
                "On every server node, add to /etc/rancher/k3s/config.yaml:".into(),
                "  kube-proxy-arg:\n    - proxy-mode=ipvs\n    - ipvs-strict-arp=true".into(),
                "(or pass `--kube-proxy-arg proxy-mode=ipvs --kube-proxy-arg ipvs-strict-arp=true` to `k3s server`/`k3s agent`),".into(),
                "then restart k3s on each node: `systemctl restart k3s` (agents: `systemctl restart k3s-agent`).".into(),
            ],
            Distribution::Rke2 => vec![
                "On every node, add to /etc/rancher/rke2/config.yaml:".into(),
                "  kube-proxy-arg:\n    - proxy-mode=ipvs\n    - ipvs-strict-arp=true".into(),
                "then restart RKE2 on each node: `systemctl restart rke2-server` (agents: `systemctl restart rke2-agent`).".into(),
            ],
            Distribution::Talos => vec![
                "Patch the machine configuration of every node:".into(),
                "  cluster:\n    proxy:\n      extraArgs:\n        proxy-mode: ipvs\n        ipvs-strict-arp: \"true\"".into(),
                "e.g. `talosctl patch machineconfig --nodes <node> --patch @strictarp.yaml`; Talos rolls kube-proxy out itself.".into(),
            ],
            Distribution::Unknown => vec![
                "Add the flags `--proxy-mode=ipvs --ipvs-strict-arp=true` to the kube-proxy command line wherever this distribution defines it,".into(),
                "then restart kube-proxy on every node.".into(),
            ],
        }
    }
}

/// A kube-proxy configured by command-line flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagsOnly {
    pub distribution: Distribution,
    /// `--proxy-mode` when it could be read.
    pub proxy_mode: Option<String>,
    /// `--ipvs-strict-arp` when it could be read.
    #[serde(rename = "strictARP")]
    pub strict_arp: Option<bool>,
    /// Where the flags were read (`DaemonSet kube-system/kube-proxy`, a node annotation), or
    /// `None` when they are not visible through the API.
    pub source: Option<String>,
}

impl FlagsOnly {
    pub fn is_configured(&self) -> bool {
        self.proxy_mode.as_deref() == Some("ipvs") && self.strict_arp == Some(true)
    }
}

/// What replaces kube-proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replacement {
    pub name: String,
    /// What showed it (a ConfigMap key, a DaemonSet).
    pub evidence: String,
    /// Why strict ARP does not matter with it.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Location {
    ConfigMap(ConfigMapKey),
    FlagsOnly(FlagsOnly),
    NoKubeProxy(Replacement),
}

/// Why the DaemonSet does not lead to a ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    #[error("DaemonSet {NAMESPACE}/{DAEMONSET} has no container that runs kube-proxy")]
    NoContainer,
    #[error(
        "kube-proxy reads {path}, but no volume mount of container {container:?} covers that path"
    )]
    NoMount { path: String, container: String },
    #[error(
        "kube-proxy reads {path} from volume {volume:?}, which is not a ConfigMap (lbctl edits only ConfigMaps)"
    )]
    NotConfigMap { path: String, volume: String },
}

/// Facts about a cluster without a kube-proxy DaemonSet, gathered by the command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributionFacts {
    /// `kubeletVersion` of the nodes (k3s: `v1.30.2+k3s1`, RKE2: `v1.30.2+rke2r1`).
    pub kubelet_versions: Vec<String>,
    /// `osImage` of the nodes (Talos: `Talos (v1.9.0)`).
    pub os_images: Vec<String>,
    /// Node annotations holding the k3s/RKE2 command line (`k3s.io/node-args`, `rke2.io/node-args`).
    pub node_args: Vec<(String, String)>,
    /// Data of ConfigMap `kube-system/cilium-config`, when it exists.
    pub cilium_config: Option<BTreeMap<String, String>>,
    /// `namespace/name` of every DaemonSet lbctl could list.
    pub daemonsets: Vec<String>,
}

/// The container that runs kube-proxy: named `kube-proxy`, else the one whose command runs it.
fn proxy_container(spec: &PodSpec) -> Option<&Container> {
    spec.containers
        .iter()
        .find(|c| c.name == "kube-proxy")
        .or_else(|| {
            spec.containers
                .iter()
                .find(|c| tokens(c).iter().any(|t| t.ends_with("kube-proxy")))
        })
}

/// The command line as separate words (a `sh -c "kube-proxy --config=..."` string is split too).
fn tokens(c: &Container) -> Vec<String> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .flat_map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// The value of `--name=value` or `--name value`; `Some("")` for a bare `--name`.
fn flag(tokens: &[String], name: &str) -> Option<String> {
    let long = format!("--{name}");
    let mut it = tokens.iter().peekable();
    while let Some(t) = it.next() {
        if let Some(v) = t.strip_prefix(&format!("{long}=")) {
            return Some(v.trim_matches(['"', '\'']).to_string());
        }
        if *t == long {
            return Some(match it.peek() {
                Some(next) if !next.starts_with("--") => next.trim_matches(['"', '\'']).to_string(),
                _ => String::new(),
            });
        }
    }
    None
}

fn parse_bool_flag(value: &str) -> Option<bool> {
    match value {
        "" | "true" | "1" | "t" | "T" | "TRUE" | "True" => Some(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Locates the configuration from the kube-proxy DaemonSet.
pub fn from_daemonset(ds: &DaemonSet, facts: &DistributionFacts) -> Result<Location, LocateError> {
    let spec = ds
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .ok_or(LocateError::NoContainer)?;
    let container = proxy_container(spec).ok_or(LocateError::NoContainer)?;
    let words = tokens(container);
    let Some(path) = flag(&words, "config").filter(|p| !p.is_empty()) else {
        let strict_arp = flag(&words, "ipvs-strict-arp").and_then(|v| parse_bool_flag(&v));
        return Ok(Location::FlagsOnly(FlagsOnly {
            distribution: distribution(facts),
            proxy_mode: flag(&words, "proxy-mode"),
            strict_arp,
            source: Some(format!(
                "DaemonSet {NAMESPACE}/{DAEMONSET}, container {:?}",
                container.name
            )),
        }));
    };
    resolve_path(
        &path,
        container,
        spec.volumes.as_deref().unwrap_or_default(),
    )
    .map(Location::ConfigMap)
}

/// Maps a file path inside the container to a ConfigMap key through the volume mounts.
fn resolve_path(
    path: &str,
    container: &Container,
    volumes: &[Volume],
) -> Result<ConfigMapKey, LocateError> {
    let no_mount = || LocateError::NoMount {
        path: path.to_string(),
        container: container.name.clone(),
    };
    let mount = container
        .volume_mounts
        .iter()
        .flatten()
        .filter(|m| {
            let base = m.mount_path.trim_end_matches('/');
            path == base || path.starts_with(&format!("{base}/"))
        })
        .max_by_key(|m| m.mount_path.trim_end_matches('/').len())
        .ok_or_else(no_mount)?;
    let base = mount.mount_path.trim_end_matches('/');
    // With subPath the mount is the file itself (or a directory inside the volume).
    let in_volume = match mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
        Some(sub) if path == base => sub.to_string(),
        Some(sub) => format!("{}/{}", sub.trim_end_matches('/'), &path[base.len() + 1..]),
        None if path == base => return Err(no_mount()),
        None => path[base.len() + 1..].to_string(),
    };
    let volume = volumes
        .iter()
        .find(|v| v.name == mount.name)
        .ok_or_else(no_mount)?;
    let not_cm = || LocateError::NotConfigMap {
        path: path.to_string(),
        volume: volume.name.clone(),
    };
    // A plain configMap volume, or a projected volume with configMap sources.
    let sources: Vec<(&str, Option<&Vec<k8s_openapi::api::core::v1::KeyToPath>>)> =
        if let Some(cm) = &volume.config_map {
            vec![(cm.name.as_str(), cm.items.as_ref())]
        } else if let Some(projected) = &volume.projected {
            projected
                .sources
                .iter()
                .flatten()
                .filter_map(|s| s.config_map.as_ref())
                .map(|cm| (cm.name.as_str(), cm.items.as_ref()))
                .collect()
        } else {
            return Err(not_cm());
        };
    for (name, items) in sources {
        let key = match items {
            Some(items) => items
                .iter()
                .find(|i| i.path == in_volume)
                .map(|i| i.key.clone()),
            None if !in_volume.contains('/') => Some(in_volume.clone()),
            None => None,
        };
        if let Some(key) = key {
            return Ok(ConfigMapKey {
                namespace: NAMESPACE.to_string(),
                name: name.to_string(),
                key,
                config_path: path.to_string(),
            });
        }
    }
    Err(not_cm())
}

/// Recognises the flags-only distributions from node facts.
fn distribution(facts: &DistributionFacts) -> Distribution {
    if facts.kubelet_versions.iter().any(|v| v.contains("+k3s")) {
        Distribution::K3s
    } else if facts.kubelet_versions.iter().any(|v| v.contains("+rke2")) {
        Distribution::Rke2
    } else if facts.os_images.iter().any(|o| o.starts_with("Talos")) {
        Distribution::Talos
    } else {
        Distribution::Unknown
    }
}

/// Without a kube-proxy DaemonSet: a flags-only distribution that runs kube-proxy itself, or a
/// replacement. `None` when neither can be recognised.
pub fn without_daemonset(facts: &DistributionFacts) -> Option<Location> {
    if let Some(replacement) = replacement(facts) {
        return Some(Location::NoKubeProxy(replacement));
    }
    let dist = distribution(facts);
    if matches!(dist, Distribution::K3s | Distribution::Rke2) {
        // k3s and RKE2 record their command line on each node.
        let (source, args) = match facts.node_args.first() {
            Some((s, a)) => (Some(s.clone()), proxy_args(a)),
            None => (None, Vec::new()),
        };
        let words: Vec<String> = args.iter().map(|a| format!("--{a}")).collect();
        return Some(Location::FlagsOnly(FlagsOnly {
            distribution: dist,
            proxy_mode: flag(&words, "proxy-mode"),
            strict_arp: flag(&words, "ipvs-strict-arp").and_then(|v| parse_bool_flag(&v)),
            source,
        }));
    }
    None
}

/// The `--kube-proxy-arg` values of a k3s/RKE2 `node-args` annotation (a JSON list of words).
fn proxy_args(annotation: &str) -> Vec<String> {
    let words: Vec<String> = serde_json::from_str(annotation).unwrap_or_default();
    let mut out = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if let Some(v) = w.strip_prefix("--kube-proxy-arg=") {
            out.push(v.to_string());
        } else if w == "--kube-proxy-arg"
            && let Some(v) = it.next()
        {
            out.push(v.clone());
        }
    }
    out
}

/// Recognises what took over kube-proxy's job.
fn replacement(facts: &DistributionFacts) -> Option<Replacement> {
    if let Some(cilium) = &facts.cilium_config {
        let kpr = cilium
            .get("kube-proxy-replacement")
            .map(String::as_str)
            .unwrap_or_default();
        if matches!(kpr, "true" | "strict") {
            return Some(Replacement {
                name: "Cilium".into(),
                evidence: format!("ConfigMap {NAMESPACE}/cilium-config has kube-proxy-replacement: {kpr}"),
                why: "Cilium's eBPF service handling does not put Service IPs on a node interface, so nodes do not answer ARP for them".into(),
            });
        }
    }
    let known = [
        (
            "kube-router",
            "kube-router",
            "kube-router runs the service proxy itself and sets the ARP sysctls it needs",
        ),
        (
            "ovnkube-node",
            "OVN-Kubernetes",
            "OVN-Kubernetes implements Services in OVN, without IPVS",
        ),
        (
            "antrea-agent",
            "Antrea (proxyAll)",
            "Antrea's proxy does not bind Service IPs to a node interface",
        ),
    ];
    for ds in &facts.daemonsets {
        let name = ds.rsplit('/').next().unwrap_or(ds);
        if let Some((_, who, why)) = known.iter().find(|(n, _, _)| *n == name) {
            return Some(Replacement {
                name: who.to_string(),
                evidence: format!("DaemonSet {ds} runs and there is no kube-proxy DaemonSet"),
                why: why.to_string(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(container: serde_json::Value, volumes: serde_json::Value) -> DaemonSet {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                "template": {"spec": {"containers": [container], "volumes": volumes}}}
        }))
        .unwrap()
    }

    fn cm(loc: Result<Location, LocateError>) -> ConfigMapKey {
        match loc.unwrap() {
            Location::ConfigMap(c) => c,
            other => panic!("expected a ConfigMap, got {other:?}"),
        }
    }

    #[test]
    fn kubeadm_layout() {
        let d = ds(
            json!({"name": "kube-proxy", "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
                   "volumeMounts": [{"name": "kube-proxy", "mountPath": "/var/lib/kube-proxy"}, {"name": "lib-modules", "mountPath": "/lib/modules"}]}),
            json!([{"name": "kube-proxy", "configMap": {"name": "kube-proxy"}}, {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}}]),
        );
        let c = cm(from_daemonset(&d, &DistributionFacts::default()));
        assert_eq!(
            (c.name.as_str(), c.key.as_str()),
            ("kube-proxy", "config.conf")
        );
    }

    #[test]
    fn eks_layout_with_separate_config_flag() {
        let d = ds(
            json!({"name": "kube-proxy", "command": ["kube-proxy", "--v=2", "--config", "/var/lib/kube-proxy-config/config"],
                   "volumeMounts": [{"name": "config", "mountPath": "/var/lib/kube-proxy-config/"}, {"name": "kubeconfig", "mountPath": "/var/lib/kube-proxy/"}]}),
            json!([{"name": "config", "configMap": {"name": "kube-proxy-config"}}, {"name": "kubeconfig", "configMap": {"name": "kube-proxy"}}]),
        );
        let c = cm(from_daemonset(&d, &DistributionFacts::default()));
        assert_eq!(
            (c.name.as_str(), c.key.as_str()),
            ("kube-proxy-config", "config")
        );
    }

    #[test]
    fn sub_path_items_and_projected_volumes() {
        let d = ds(
            json!({"name": "proxy", "command": ["/bin/sh", "-c", "exec kube-proxy --config=/etc/kp.yaml"],
                   "volumeMounts": [{"name": "cfg", "mountPath": "/etc/kp.yaml", "subPath": "kp.yaml"}]}),
            json!([{"name": "cfg", "configMap": {"name": "proxy-cfg", "items": [{"key": "proxy.yaml", "path": "kp.yaml"}]}}]),
        );
        let c = cm(from_daemonset(&d, &DistributionFacts::default()));
        assert_eq!(
            (c.name.as_str(), c.key.as_str()),
            ("proxy-cfg", "proxy.yaml")
        );
        let d = ds(
            json!({"name": "kube-proxy", "args": ["--config=/cfg/config.conf"], "volumeMounts": [{"name": "all", "mountPath": "/cfg"}]}),
            json!([{"name": "all", "projected": {"sources": [{"secret": {"name": "s"}}, {"configMap": {"name": "kp"}}]}}]),
        );
        assert_eq!(
            cm(from_daemonset(&d, &DistributionFacts::default())).name,
            "kp"
        );
    }

    #[test]
    fn unmounted_or_host_path_configs_are_errors() {
        let d = ds(
            json!({"name": "kube-proxy", "command": ["kube-proxy", "--config=/x/c"]}),
            json!([]),
        );
        assert!(matches!(
            from_daemonset(&d, &DistributionFacts::default()),
            Err(LocateError::NoMount { .. })
        ));
        let d = ds(
            json!({"name": "kube-proxy", "command": ["kube-proxy", "--config=/x/c"], "volumeMounts": [{"name": "h", "mountPath": "/x"}]}),
            json!([{"name": "h", "hostPath": {"path": "/etc/kp"}}]),
        );
        assert!(matches!(
            from_daemonset(&d, &DistributionFacts::default()),
            Err(LocateError::NotConfigMap { .. })
        ));
    }

    #[test]
    fn flags_only_daemonset_reads_the_flags() {
        let d = ds(
            json!({"name": "kube-proxy", "command": ["/usr/local/bin/kube-proxy", "--proxy-mode=ipvs", "--ipvs-strict-arp"]}),
            json!([]),
        );
        let facts = DistributionFacts {
            os_images: vec!["Talos (v1.9.1)".into()],
            ..Default::default()
        };
        let Location::FlagsOnly(f) = from_daemonset(&d, &facts).unwrap() else {
            panic!()
        };
        assert_eq!(f.distribution, Distribution::Talos);
        assert!(f.is_configured());
        let d = ds(
            json!({"name": "kube-proxy", "command": ["kube-proxy", "--proxy-mode", "iptables"]}),
            json!([]),
        );
        let Location::FlagsOnly(f) = from_daemonset(&d, &DistributionFacts::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (f.proxy_mode.as_deref(), f.strict_arp),
            (Some("iptables"), None)
        );
        assert!(!f.is_configured());
    }

    #[test]
    fn k3s_without_daemonset_reads_node_args() {
        let facts = DistributionFacts {
            kubelet_versions: vec!["v1.33.1+k3s1".into()],
            node_args: vec![(
                "k3s.io/node-args".into(),
                r#"["server","--kube-proxy-arg","proxy-mode=ipvs","--kube-proxy-arg=ipvs-strict-arp=true"]"#.into(),
            )],
            ..Default::default()
        };
        let Some(Location::FlagsOnly(f)) = without_daemonset(&facts) else {
            panic!()
        };
        assert_eq!(f.distribution, Distribution::K3s);
        assert!(f.is_configured());
    }

    #[test]
    fn replacements_are_recognised() {
        let facts = DistributionFacts {
            cilium_config: Some(BTreeMap::from([(
                "kube-proxy-replacement".into(),
                "true".into(),
            )])),
            ..Default::default()
        };
        assert!(
            matches!(without_daemonset(&facts), Some(Location::NoKubeProxy(r)) if r.name == "Cilium")
        );
        let facts = DistributionFacts {
            daemonsets: vec!["kube-system/kube-router".into()],
            ..Default::default()
        };
        assert!(
            matches!(without_daemonset(&facts), Some(Location::NoKubeProxy(r)) if r.name == "kube-router")
        );
        let facts = DistributionFacts {
            cilium_config: Some(BTreeMap::from([(
                "kube-proxy-replacement".into(),
                "false".into(),
            )])),
            ..Default::default()
        };
        assert_eq!(without_daemonset(&facts), None);
    }
}
