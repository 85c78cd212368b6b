//! Cluster facts: plain data distilled from the API objects preflight reads (`gather` reads
//! them). Every source keeps its own outcome, so a 403 on one list turns only the checks that
//! need it into `error`.

pub mod gather;

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::jiff::Timestamp;

/// Why a source could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// RBAC denied the request; the fields name the permission the way `kubectl auth can-i` does.
    Forbidden {
        verb: String,
        resource: String,
        namespace: Option<String>,
    },
    /// Any other failure (timeout, 5xx, undecodable object).
    Failed { what: String, reason: String },
}

impl SourceError {
    pub fn forbidden(verb: &str, resource: &str, namespace: Option<&str>) -> Self {
        SourceError::Forbidden {
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.map(str::to_string),
        }
    }

    /// What could not be read, for a check's `error` message.
    pub fn describe(&self) -> String {
        match self {
            SourceError::Forbidden {
                verb,
                resource,
                namespace: Some(ns),
            } => format!("cannot {verb} {resource} in namespace {ns}: permission denied"),
            SourceError::Forbidden { verb, resource, .. } => {
                format!("cannot {verb} {resource} (cluster-wide): permission denied")
            }
            SourceError::Failed { what, reason } => format!("cannot read {what}: {reason}"),
        }
    }

    /// The next step.
    pub fn hint(&self) -> String {
        match self {
            SourceError::Forbidden {
                verb,
                resource,
                namespace,
            } => format!(
                "ask for the permission; check it with `{}`",
                crate::permissions::can_i(verb, resource, namespace.as_deref())
            ),
            SourceError::Failed { .. } => "retry; run with -v for details".into(),
        }
    }
}

/// The outcome of reading one source.
pub type Source<T> = Result<T, SourceError>;

/// `/version` of the API server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerVersion {
    pub git_version: String,
    pub major: u32,
    pub minor: u32,
}

impl ServerVersion {
    /// Parses `v1.36.0`, `v1.30.4-eks-a737599`, `v1.31.2+k3s1`.
    pub fn parse(git_version: &str) -> Option<ServerVersion> {
        let rest = git_version.trim().strip_prefix('v')?;
        let mut parts = rest.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor_text: String = parts
            .next()?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some(ServerVersion {
            git_version: git_version.trim().to_string(),
            major,
            minor: minor_text.parse().ok()?,
        })
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// From `/version`'s fields; a minor like `36+` counts as 36.
    pub fn new(git_version: &str, major: &str, minor: &str) -> Option<ServerVersion> {
        let num = |s: &str| s.trim_end_matches('+').parse::<u32>().ok();
        let (major, minor) = match (num(major), num(minor)) {
            (Some(a), Some(b)) => (a, b),
            // Some distributions leave major/minor empty: fall back to gitVersion.
            _ => {
                let mut parts = git_version.trim_start_matches('v').split(['.', '-', '+']);
                (num(parts.next()?)?, num(parts.next()?)?)
            }
        };
        Some(ServerVersion {
            git_version: git_version.to_string(),
            major,
            minor,
        })
    }

    /// IPVS mode is deprecated from Kubernetes 1.35 on (KEP-5495).
    pub fn ipvs_deprecated(&self) -> bool {
        self.at_least(1, 35)
    }
}

/// A node taint, reduced to what the scheduler matches tolerations against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeTaint {
    pub key: String,
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub annotations: BTreeMap<String, String>,
    pub kubelet_version: String,
    pub os_image: String,
    pub labels: BTreeMap<String, String>,
    pub provider_id: Option<String>,
    /// Condition Ready is True.
    pub ready: bool,
    /// Condition NetworkUnavailable is True.
    pub network_unavailable: bool,
    pub taints: Vec<NodeTaint>,
    pub addresses: Vec<IpAddr>,
    /// `spec.podCIDRs` as written.
    pub pod_cidrs: Vec<String>,
}

/// A DaemonSet or Deployment, reduced to what identifies software and its health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workload {
    /// `DaemonSet` or `Deployment`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub images: Vec<String>,
    /// Container args and command, to find feature flags.
    pub args: Vec<String>,
}

impl Workload {
    pub fn reference(&self) -> String {
        format!(
            "{}/{} in {}",
            self.kind.to_ascii_lowercase(),
            self.name,
            self.namespace
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    pub namespace: String,
    pub name: String,
    pub load_balancer: bool,
    /// `status.loadBalancer.ingress[].ip`.
    pub ingress_ips: Vec<IpAddr>,
    pub annotations: BTreeMap<String, String>,
    /// `spec.loadBalancerClass`.
    pub load_balancer_class: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrdInfo {
    /// `ipaddresspools.metallb.io`.
    pub name: String,
    pub group: String,
    pub served_versions: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// An IPAddressPool already in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPool {
    pub namespace: String,
    pub name: String,
    pub addresses: Vec<String>,
}

/// An L2Advertisement's node selection (empty selectors: all nodes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L2Advertisement {
    pub namespace: String,
    pub name: String,
    /// `spec.nodeSelectors`: a node announces when any of them selects it.
    pub node_selectors: Vec<crate::metallb::crds::selectors::LabelSelector>,
}

/// Where kube-proxy's configuration lives and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeProxy {
    /// kube-proxy is replaced (Cilium, kube-router, ...); `why` says why strictARP is moot.
    Replaced {
        name: String,
        why: String,
    },
    /// No kube-proxy DaemonSet and no recognised replacement or distribution.
    Unknown,
    Found(Box<KubeProxyFound>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeProxyFound {
    /// `kube-system/kube-proxy`; `None` when kube-proxy runs outside Kubernetes (k3s, RKE2).
    pub daemonset: Option<String>,
    pub config: ProxyConfig,
    /// Start times of the kube-proxy pods (label `k8s-app=kube-proxy`).
    pub pods: Source<Vec<PodStart>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyConfig {
    /// A KubeProxyConfiguration in a ConfigMap key.
    ConfigMap {
        namespace: String,
        name: String,
        key: String,
        /// The effective mode (`""` is already turned into `iptables`).
        mode: String,
        strict_arp: Option<bool>,
        /// The latest `managedFields` time of the ConfigMap, when known.
        changed_at: Option<Timestamp>,
    },
    /// No `--config`: mode and strictARP come from flags, when they are visible at all.
    Flags {
        /// `k3s`, `RKE2`, `Talos` or `this distribution`.
        distribution: String,
        mode: Option<String>,
        strict_arp: Option<bool>,
        /// Where the flags were read; `None` when the API does not show them.
        source: Option<String>,
    },
    /// The config could not be read (the ConfigMap is forbidden, missing or does not parse).
    Unreadable(SourceError),
}

/// When a kube-proxy pod last read its configuration (the staleness rule lives with it).
pub use crate::kubeproxy::staleness::PodStart;

/// One SelfSubjectAccessReview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub verb: String,
    pub resource: String,
    /// API group (`""` for the core group).
    pub group: String,
    pub namespace: Option<String>,
    /// Which command needs it: `enable-strictarp` or `install`.
    pub needed_by: &'static str,
    pub allowed: Source<bool>,
}

impl Access {
    /// `create customresourcedefinitions.apiextensions.k8s.io` (cluster-wide).
    pub fn describe(&self) -> String {
        let resource = if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        match &self.namespace {
            Some(ns) => format!("{} {resource} -n {ns}", self.verb),
            None => format!("{} {resource}", self.verb),
        }
    }
}

/// Everything gathered from a reachable cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFacts {
    pub server: String,
    pub context: String,
    pub version: Source<ServerVersion>,
    pub nodes: Source<Vec<NodeInfo>>,
    pub kube_proxy: Source<KubeProxy>,
    pub daemonsets: Source<Vec<Workload>>,
    pub deployments: Source<Vec<Workload>>,
    pub services: Source<Vec<ServiceInfo>>,
    /// The MetalLB namespace; `None` when it does not exist.
    pub metallb_namespace: Source<Option<NamespaceInfo>>,
    pub crds: Source<Vec<CrdInfo>>,
    /// Empty when the MetalLB CRDs are not installed.
    pub pools: Source<Vec<ExistingPool>>,
    pub l2_advertisements: Source<Vec<L2Advertisement>>,
    /// Service CIDRs from ServiceCIDR objects; `None` when the API does not serve them.
    pub service_cidrs: Source<Option<Vec<String>>>,
    /// `kube-system/cilium-config` data when Cilium runs; `None` otherwise.
    pub cilium_config: Source<Option<BTreeMap<String, String>>>,
    pub access: Vec<Access>,
}

impl ClusterFacts {
    /// Facts of an empty, fully readable cluster; tests start from here.
    pub fn empty(version: &str) -> Self {
        ClusterFacts {
            server: "https://127.0.0.1:6443".into(),
            context: "test".into(),
            version: ServerVersion::parse(version).ok_or(SourceError::Failed {
                what: "/version".into(),
                reason: format!("unparsable {version:?}"),
            }),
            nodes: Ok(vec![]),
            kube_proxy: Ok(KubeProxy::Unknown),
            daemonsets: Ok(vec![]),
            deployments: Ok(vec![]),
            services: Ok(vec![]),
            metallb_namespace: Ok(None),
            crds: Ok(vec![]),
            pools: Ok(vec![]),
            l2_advertisements: Ok(vec![]),
            service_cidrs: Ok(None),
            cilium_config: Ok(None),
            access: vec![],
        }
    }

    /// Every workload (DaemonSets then Deployments) that could be read.
    pub fn workloads(&self) -> impl Iterator<Item = &Workload> {
        let ds = self
            .daemonsets
            .as_ref()
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        let dep = self
            .deployments
            .as_ref()
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        ds.iter().chain(dep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_common_distributions_parse() {
        let v = ServerVersion::parse("v1.30.4-eks-a737599").unwrap();
        assert_eq!((v.major, v.minor), (1, 30));
        let v = ServerVersion::parse("v1.31.2+k3s1").unwrap();
        assert_eq!((v.major, v.minor), (1, 31));
        assert!(v.at_least(1, 31) && !v.at_least(1, 32));
        assert!(ServerVersion::parse("1.30").is_none());
        assert!(ServerVersion::parse("vX.1").is_none());
    }

    #[test]
    fn source_errors_name_the_permission() {
        let e = SourceError::forbidden("list", "nodes", None);
        assert_eq!(
            e.describe(),
            "cannot list nodes (cluster-wide): permission denied"
        );
        assert!(e.hint().contains("kubectl auth can-i list nodes -A"));
        let e = SourceError::forbidden("get", "configmaps", Some("kube-system"));
        assert!(e.hint().contains("can-i get configmaps -n kube-system"));
    }
}
