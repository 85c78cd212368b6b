//! LB11x: where kube-proxy's configuration lives, its mode and strictARP, whether the running
//! pods use the current configuration, and the IPVS deprecation.

use super::{cluster_facts, list, read};
use crate::checks::Outcome;
use crate::facts::PreflightFacts;
use crate::facts::cluster::{KubeProxy, KubeProxyFound, ProxyConfig};
use crate::kubeproxy::staleness;

const RESTART: &str = "kubectl -n kube-system rollout restart daemonset/kube-proxy && kubectl -n kube-system rollout status daemonset/kube-proxy";

fn found(f: &PreflightFacts) -> Result<&KubeProxyFound, Outcome> {
    let c = f
        .cluster()
        .ok_or_else(|| Outcome::skip("skipped: no cluster"))?;
    match &c.kube_proxy {
        Err(e) => Err(crate::checks::source_outcome(e)),
        Ok(KubeProxy::Replaced { name, .. }) => {
            Err(Outcome::skip(format!("kube-proxy is replaced by {name}")))
        }
        Ok(KubeProxy::Unknown) => Err(Outcome::skip("no kube-proxy DaemonSet")),
        Ok(KubeProxy::Found(k)) => Ok(k),
    }
}

/// `mode` and `strictARP` wherever they come from.
fn mode_of(config: &ProxyConfig) -> Option<(&str, Option<bool>)> {
    match config {
        ProxyConfig::ConfigMap {
            mode, strict_arp, ..
        } => Some((mode, *strict_arp)),
        ProxyConfig::Flags {
            mode: Some(mode),
            strict_arp,
            ..
        } => Some((mode, *strict_arp)),
        ProxyConfig::Flags { mode: None, .. } => None,
        ProxyConfig::Unreadable(_) => None,
    }
}

pub fn located(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    match read!(c.kube_proxy) {
        KubeProxy::Replaced { name, why } => Outcome::pass(format!(
            "kube-proxy is replaced by {name}: {why}; nothing for lbctl to change here"
        )),
        KubeProxy::Unknown => Outcome::warn(
            "no kube-proxy DaemonSet and no known replacement or distribution was recognised",
            "find out how kube-proxy runs here; if it uses IPVS it needs --ipvs-strict-arp",
        ),
        KubeProxy::Found(k) => match (&k.config, &k.daemonset) {
            (
                ProxyConfig::ConfigMap {
                    namespace,
                    name,
                    key,
                    ..
                },
                ds,
            ) => Outcome::pass(format!(
                "DaemonSet {} reads ConfigMap {namespace}/{name}, key {key}",
                ds.as_deref().unwrap_or("kube-system/kube-proxy")
            )),
            (
                ProxyConfig::Flags {
                    distribution,
                    source,
                    ..
                },
                ds,
            ) => {
                let runs = match ds {
                    Some(ds) => format!("DaemonSet {ds} has no --config"),
                    None => format!("kube-proxy runs inside {distribution}"),
                };
                let seen = match source {
                    Some(s) => format!("its flags are read from {s}"),
                    None => "its flags are not visible through the API".to_string(),
                };
                Outcome::pass(format!("{runs}: configured by flags only; {seen}"))
            }
            (ProxyConfig::Unreadable(e), _) => crate::checks::source_outcome(e),
        },
    }
}

pub fn strict_arp(f: &PreflightFacts) -> Outcome {
    let k = match found(f) {
        Ok(k) => k,
        Err(o) => return o,
    };
    if let ProxyConfig::Flags {
        mode: None,
        distribution,
        ..
    } = &k.config
    {
        return Outcome::warn(
            format!("kube-proxy's mode is not visible through the API ({distribution})"),
            "if kube-proxy runs in IPVS mode, give it --ipvs-strict-arp=true (k3s/RKE2: --kube-proxy-arg ipvs-strict-arp=true)",
        );
    }
    let Some((mode, strict)) = mode_of(&k.config) else {
        return Outcome::skip("kube-proxy configuration unreadable");
    };
    if mode != "ipvs" {
        return Outcome::pass(format!(
            "kube-proxy runs in {mode} mode: LoadBalancer addresses are not bound to a local interface, so strictARP is not needed"
        ));
    }
    match (strict, &k.config) {
        (Some(true), _) => Outcome::pass("kube-proxy runs in IPVS mode with strictARP: true"),
        (_, ProxyConfig::Flags { .. }) => Outcome::fail(
            "kube-proxy runs in IPVS mode without --ipvs-strict-arp: every node answers ARP for every LoadBalancer address",
            "add --ipvs-strict-arp=true to kube-proxy's flags (k3s/RKE2: --kube-proxy-arg ipvs-strict-arp=true), then restart kube-proxy",
        ),
        (value, _) => Outcome::fail(
            format!(
                "kube-proxy runs in IPVS mode with strictARP {}: every node answers ARP for every LoadBalancer address",
                match value {
                    Some(false) => "false",
                    _ => "unset (false)",
                }
            ),
            crate::invocation::command_line("enable-strictarp"),
        ),
    }
}

pub fn config_active(f: &PreflightFacts) -> Outcome {
    let k = match found(f) {
        Ok(k) => k,
        Err(o) => return o,
    };
    let changed_at = match &k.config {
        ProxyConfig::ConfigMap {
            changed_at: Some(t),
            ..
        } => *t,
        ProxyConfig::ConfigMap { .. } => {
            return Outcome::skip("the ConfigMap has no time of its last change to compare with");
        }
        ProxyConfig::Flags { .. } => {
            return Outcome::skip("kube-proxy is configured by flags; a restart applies them");
        }
        ProxyConfig::Unreadable(_) => return Outcome::skip("kube-proxy configuration unreadable"),
    };
    let pods = read!(k.pods);
    if pods.is_empty() {
        return Outcome::fail(
            "no kube-proxy pod is running (label k8s-app=kube-proxy)",
            "kubectl -n kube-system get daemonset kube-proxy; kubectl -n kube-system get pods -l k8s-app=kube-proxy",
        );
    }
    // The same rule enable-strictarp restarts by (a pod that has not started is not stale).
    let stale: Vec<String> = pods
        .iter()
        .filter(|p| staleness::is_stale(p, changed_at))
        .map(|p| p.describe())
        .collect();
    if stale.is_empty() {
        let pods = super::all_of(
            pods.len(),
            "kube-proxy pod started",
            "kube-proxy pods started",
        );
        return Outcome::pass(format!(
            "{pods} after the last ConfigMap change ({changed_at})"
        ));
    }
    Outcome::fail(
        format!(
            "config changed but not active: {} of {} kube-proxy pods started before the ConfigMap changed at {changed_at} ({}); kube-proxy reads its configuration only at start",
            stale.len(),
            pods.len(),
            list(&stale, 3)
        ),
        RESTART,
    )
}

pub fn ipvs_deprecation(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let k = match found(f) {
        Ok(k) => k,
        Err(o) => return o,
    };
    let Some((mode, _)) = mode_of(&k.config) else {
        return Outcome::skip("kube-proxy's mode is unknown");
    };
    if mode != "ipvs" {
        return Outcome::pass(format!("kube-proxy runs in {mode} mode"));
    }
    let v = read!(c.version);
    if v.at_least(1, 35) {
        Outcome::warn(
            format!(
                "IPVS mode is deprecated since Kubernetes 1.35 (this cluster runs {}) and is planned for removal; nftables mode replaces it",
                v.git_version
            ),
            "plan a move to mode: nftables (MetalLB L2 needs no strictARP there)",
        )
    } else {
        Outcome::pass(format!("IPVS mode is supported on {}", v.git_version))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cluster, facts};
    use super::*;
    use crate::checks::Status;
    use crate::facts::cluster::{ClusterFacts, PodStart, SourceError};
    use k8s_openapi::jiff::Timestamp;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn configmap(mode: &str, strict: Option<bool>, changed: Option<&str>) -> ProxyConfig {
        ProxyConfig::ConfigMap {
            namespace: "kube-system".into(),
            name: "kube-proxy".into(),
            key: "config.conf".into(),
            mode: mode.into(),
            strict_arp: strict,
            changed_at: changed.map(ts),
        }
    }

    fn flags(mode: Option<&str>, strict_arp: Option<bool>) -> ProxyConfig {
        ProxyConfig::Flags {
            distribution: "k3s".into(),
            mode: mode.map(str::to_string),
            strict_arp,
            source: Some("node annotation k3s.io/node-args".into()),
        }
    }

    fn with(config: ProxyConfig, pods: Vec<(&str, &str)>) -> ClusterFacts {
        let mut c = cluster();
        c.kube_proxy = Ok(KubeProxy::Found(Box::new(KubeProxyFound {
            daemonset: Some("kube-system/kube-proxy".into()),
            config,
            pods: Ok(pods
                .into_iter()
                .map(|(name, start)| PodStart {
                    name: name.into(),
                    node: Some("n1".into()),
                    started_at: Some(ts(start)),
                })
                .collect()),
        })));
        c
    }

    #[test]
    fn located_table() {
        let o = located(&facts(with(configmap("ipvs", None, None), vec![])));
        assert_eq!(
            o.message,
            "DaemonSet kube-system/kube-proxy reads ConfigMap kube-system/kube-proxy, key config.conf"
        );
        let o = located(&facts(with(flags(Some("ipvs"), Some(false)), vec![])));
        assert!(o.message.contains("flags only"));
        assert_eq!(located(&facts(cluster())).status, Status::Warn);
        let mut c = cluster();
        c.kube_proxy = Ok(KubeProxy::Replaced {
            name: "Cilium".into(),
            why: "no kube-ipvs0".into(),
        });
        assert!(
            located(&facts(c.clone()))
                .message
                .starts_with("kube-proxy is replaced by Cilium")
        );
        assert_eq!(
            strict_arp(&facts(c)),
            Outcome::skip("kube-proxy is replaced by Cilium")
        );
        let o = located(&facts(with(flags(None, None), vec![])));
        assert!(
            o.message.contains("kube-proxy runs inside k3s")
                || o.message.contains("has no --config"),
            "{}",
            o.message
        );
        let o = strict_arp(&facts(with(flags(None, None), vec![])));
        assert_eq!(o.status, Status::Warn);
        let forbidden = SourceError::forbidden("get", "configmaps", Some("kube-system"));
        let o = located(&facts(with(
            ProxyConfig::Unreadable(forbidden.clone()),
            vec![],
        )));
        assert_eq!(o.status, Status::Error);
        let mut c = cluster();
        c.kube_proxy = Err(SourceError::forbidden("list", "daemonsets.apps", None));
        assert_eq!(located(&facts(c)).status, Status::Error);
    }

    #[test]
    fn strict_arp_table() {
        let cases = [
            (
                configmap("ipvs", Some(false), None),
                Status::Fail,
                "lbctl enable-strictarp",
            ),
            (
                configmap("ipvs", None, None),
                Status::Fail,
                "lbctl enable-strictarp",
            ),
            (configmap("ipvs", Some(true), None), Status::Pass, ""),
            (configmap("iptables", Some(false), None), Status::Pass, ""),
            (configmap("nftables", None, None), Status::Pass, ""),
            (
                flags(Some("ipvs"), Some(false)),
                Status::Fail,
                "--kube-proxy-arg ipvs-strict-arp",
            ),
            (flags(Some("ipvs"), Some(true)), Status::Pass, ""),
        ];
        for (config, want, hint) in cases {
            let o = strict_arp(&facts(with(config.clone(), vec![])));
            assert_eq!(o.status, want, "{config:?}");
            assert!(o.hint.unwrap_or_default().contains(hint), "{config:?}");
        }
        assert_eq!(
            strict_arp(&facts(cluster())),
            Outcome::skip("no kube-proxy DaemonSet")
        );
    }

    #[test]
    fn config_active_compares_pod_starts_with_the_last_change() {
        let changed = Some("2026-11-25T10:00:00Z");
        let o = config_active(&facts(with(
            configmap("ipvs", Some(true), changed),
            vec![
                ("kube-proxy-a", "2026-11-25T09:00:00Z"),
                ("kube-proxy-b", "2026-11-25T10:05:00Z"),
            ],
        )));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .starts_with("config changed but not active: 1 of 2"),
            "{}",
            o.message
        );
        assert!(o.message.contains("kube-proxy-a on n1"));
        assert!(
            o.hint
                .unwrap()
                .contains("rollout restart daemonset/kube-proxy")
        );

        let o = config_active(&facts(with(
            configmap("ipvs", Some(true), changed),
            vec![("kube-proxy-b", "2026-11-25T10:05:00Z")],
        )));
        assert_eq!(o.status, Status::Pass);
        // A pod that has not started yet reads the current configuration when it does (the
        // rule enable-strictarp restarts by).
        let mut c = with(
            configmap("ipvs", Some(true), changed),
            vec![("kube-proxy-b", "2026-11-25T10:05:00Z")],
        );
        if let Ok(KubeProxy::Found(k)) = &mut c.kube_proxy
            && let Ok(pods) = &mut k.pods
        {
            pods.push(PodStart {
                name: "kube-proxy-pending".into(),
                node: None,
                started_at: None,
            });
        }
        assert_eq!(config_active(&facts(c)).status, Status::Pass);
        let o = config_active(&facts(with(configmap("ipvs", Some(true), changed), vec![])));
        assert_eq!(o.status, Status::Fail);
        let o = config_active(&facts(with(configmap("ipvs", Some(true), None), vec![])));
        assert_eq!(o.status, Status::Skip);
        let o = config_active(&facts(with(flags(Some("ipvs"), Some(true)), vec![])));
        assert_eq!(o.status, Status::Skip);

        let mut c = with(configmap("ipvs", Some(true), changed), vec![]);
        if let Ok(KubeProxy::Found(k)) = &mut c.kube_proxy {
            k.pods = Err(SourceError::forbidden("list", "pods", Some("kube-system")));
        }
        assert_eq!(config_active(&facts(c)).status, Status::Error);
    }

    #[test]
    fn ipvs_deprecation_from_1_35() {
        let mut c = with(configmap("ipvs", Some(true), None), vec![]);
        assert_eq!(ipvs_deprecation(&facts(c.clone())).status, Status::Warn);
        c.version = ClusterFacts::empty("v1.34.2").version;
        assert_eq!(ipvs_deprecation(&facts(c.clone())).status, Status::Pass);
        let c = with(configmap("nftables", None, None), vec![]);
        assert_eq!(
            ipvs_deprecation(&facts(c)).message,
            "kube-proxy runs in nftables mode"
        );
        let mut c = with(configmap("ipvs", Some(true), None), vec![]);
        c.version = Err(SourceError::Failed {
            what: "/version".into(),
            reason: "x".into(),
        });
        assert_eq!(ipvs_deprecation(&facts(c)).status, Status::Error);
    }
}
