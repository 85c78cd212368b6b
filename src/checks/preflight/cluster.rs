//! LB10x: the API server, permissions, the environment and competing implementations.

use std::collections::BTreeMap;

use super::{cluster_facts, list, read};
use crate::checks::Outcome;
use k8s_openapi::api::core::v1::Taint;

use crate::facts::cluster::{Access, ClusterFacts, NodeInfo, Workload};
use crate::facts::{ClusterState, PreflightFacts};
use crate::metallb::crds::selectors::LabelSelector;
pub use crate::metallb::speaker::EXCLUDE_LABEL;
use crate::metallb::speaker::{Ineligible, SpeakerNode, eligibility};

/// Oldest Kubernetes minor lbctl supports with MetalLB v0.16.1 (Pod Security labels, SSA).
pub const MIN_MINOR: u32 = 25;
/// Newest minor lbctl was tested against.
pub const MAX_TESTED_MINOR: u32 = 36;

pub fn reachable(f: &PreflightFacts) -> Outcome {
    match &f.cluster {
        ClusterState::NotUsed { reason } => Outcome::skip(reason.clone()),
        ClusterState::Unreachable { message, hint, .. } => {
            Outcome::error(message.clone(), hint.clone())
        }
        ClusterState::Reached(c) => {
            Outcome::pass(format!("{} answers (context {})", c.server, c.context))
        }
    }
}

pub fn version(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let v = read!(c.version);
    if v.major != 1 || v.minor < MIN_MINOR {
        return Outcome::fail(
            format!(
                "Kubernetes {} is older than v1.{MIN_MINOR}, the oldest lbctl supports with MetalLB {}",
                v.git_version,
                crate::metallb::VERSION
            ),
            "upgrade the cluster first",
        );
    }
    if v.minor > MAX_TESTED_MINOR {
        return Outcome::warn(
            format!(
                "Kubernetes {} is newer than v1.{MAX_TESTED_MINOR}, the newest lbctl was tested with",
                v.git_version
            ),
            "check for a newer lbctl release",
        );
    }
    Outcome::pass(format!("Kubernetes {}", v.git_version))
}

/// The sources preflight reads, with the error of each one that failed.
fn source_errors(c: &ClusterFacts) -> Vec<&crate::facts::cluster::SourceError> {
    [
        c.version.as_ref().err(),
        c.nodes.as_ref().err(),
        c.kube_proxy.as_ref().err(),
        c.daemonsets.as_ref().err(),
        c.deployments.as_ref().err(),
        c.services.as_ref().err(),
        c.metallb_namespace.as_ref().err(),
        c.crds.as_ref().err(),
        c.pools.as_ref().err(),
        c.l2_advertisements.as_ref().err(),
        c.service_cidrs.as_ref().err(),
        c.cilium_config.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    .fold(Vec::new(), |mut seen, e| {
        // kube-proxy's source repeats the DaemonSet list's error.
        if !seen.contains(&e) {
            seen.push(e);
        }
        seen
    })
}

pub fn read_access(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let errors = source_errors(c);
    match errors.first() {
        None => Outcome::pass("every source preflight reads is readable"),
        Some(first) => {
            let all: Vec<String> = errors.iter().map(|e| e.describe()).collect();
            Outcome::error(
                format!(
                    "{} of the sources preflight reads could not be read: {}",
                    errors.len(),
                    list(&all, 4)
                ),
                first.hint(),
            )
        }
    }
}

pub fn next_step_access(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    if c.access.is_empty() {
        return Outcome::skip("no permission needed to be reviewed");
    }
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    for a in &c.access {
        match &a.allowed {
            Ok(true) => {}
            Ok(false) => missing.push(format!("{} (for {})", a.describe(), a.needed_by)),
            Err(e) => unknown.push((a, e)),
        }
    }
    let commands: Vec<&str> = {
        let mut v: Vec<&str> = c.access.iter().map(|a| a.needed_by).collect();
        v.dedup();
        v
    };
    if let Some((a, e)) = unknown.first() {
        return Outcome::error(
            format!(
                "cannot tell whether {} is allowed: {}",
                a.describe(),
                e.describe()
            ),
            e.hint(),
        );
    }
    // `--for COMMAND` lists every permission checked, not only the missing ones.
    let everything = if f.permissions_for.is_some() {
        let all: Vec<String> = c.access.iter().map(Access::describe).collect();
        format!(" (checked: {})", all.join(", "))
    } else {
        String::new()
    };
    if missing.is_empty() {
        return Outcome::pass(format!(
            "allowed: all {} permissions {} needs{everything}",
            c.access.len(),
            commands.join(" and ")
        ));
    }
    let shown = if f.permissions_for.is_some() {
        usize::MAX
    } else {
        3
    };
    let message = format!(
        "missing {} of {} permissions: {}{everything}",
        missing.len(),
        c.access.len(),
        list(&missing, shown)
    );
    let hint = "ask a cluster admin for these permissions (or to run the command); check one with `kubectl auth can-i VERB RESOURCE -n NAMESPACE`";
    if f.permissions_for.is_some() {
        Outcome::fail(message, hint)
    } else {
        Outcome::warn(
            message,
            format!(
                "{hint}; `{}` lists every permission",
                crate::invocation::command_line("preflight --for install")
            ),
        )
    }
}

/// `aws://...` -> `AWS`.
fn cloud_of(provider_id: &str) -> Option<&'static str> {
    let clouds = [
        ("aws://", "AWS"),
        ("gce://", "Google Cloud"),
        ("azure://", "Azure"),
        ("digitalocean://", "DigitalOcean"),
    ];
    clouds
        .iter()
        .find(|(prefix, _)| provider_id.starts_with(prefix))
        .map(|(_, name)| *name)
}

pub fn cloud_provider(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let nodes = read!(c.nodes);
    let mut clouds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for n in nodes {
        if let Some(cloud) = n.provider_id.as_deref().and_then(cloud_of) {
            clouds.entry(cloud).or_default().push(n.name.clone());
        }
    }
    match clouds.iter().next() {
        None => Outcome::pass(format!(
            "no node has a cloud providerID ({} nodes)",
            nodes.len()
        )),
        Some((cloud, names)) => Outcome::fail(
            format!(
                "{} of {} nodes run on {cloud} ({}): the cloud network answers ARP only for addresses it assigned itself, so MetalLB L2 announcements never reach clients",
                names.len(),
                nodes.len(),
                list(names, 3)
            ),
            format!(
                "use the {cloud} load balancer (its cloud controller) instead of MetalLB L2, or run MetalLB in BGP mode where the network supports it"
            ),
        ),
    }
}

fn has_arg(w: &Workload, wanted: &[&str]) -> bool {
    w.args.iter().any(|a| wanted.iter().any(|x| a == x))
}

fn image_has(w: &Workload, part: &str) -> bool {
    w.images.iter().any(|i| i.contains(part))
}

pub fn other_implementations(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let _ = read!(c.daemonsets);
    let _ = read!(c.deployments);
    let mut failures: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut hints: Vec<&str> = Vec::new();
    for w in c.workloads() {
        let name = w.name.as_str();
        if w.kind == "DaemonSet" && name.starts_with("svclb-") {
            failures.push(format!("k3s servicelb ({})", w.reference()));
            hints.push("restart k3s with --disable=servicelb");
        } else if name.contains("kube-vip-cloud-provider")
            || image_has(w, "kube-vip-cloud-provider")
        {
            failures.push(format!("kube-vip cloud provider ({})", w.reference()));
            hints.push("remove the kube-vip cloud provider");
        } else if name.contains("kube-vip") || image_has(w, "kube-vip/kube-vip") {
            if has_arg(w, &["svc_enable=true", "--services"]) {
                failures.push(format!(
                    "kube-vip with services enabled ({})",
                    w.reference()
                ));
                hints.push(
                    "set svc_enable=false on kube-vip (keep it for the control-plane address)",
                );
            } else {
                warnings.push(format!("kube-vip ({})", w.reference()));
            }
        } else if name.contains("openelb") || image_has(w, "openelb") {
            failures.push(format!("OpenELB ({})", w.reference()));
            hints.push("uninstall OpenELB");
        } else if name.contains("cloud-controller-manager")
            || name.contains("aws-load-balancer-controller")
            || image_has(w, "cloud-controller-manager")
        {
            warnings.push(format!("a cloud controller ({})", w.reference()));
        }
    }
    match &c.cilium_config {
        Ok(Some(data))
            if data.get("enable-l2-announcements").map(String::as_str) == Some("true") =>
        {
            failures.push("Cilium L2 announcements (enable-l2-announcements: true in kube-system/cilium-config)".into());
            hints.push("set enable-l2-announcements: false in cilium-config, or use Cilium instead of MetalLB");
        }
        Ok(_) => {}
        Err(e) => return crate::checks::source_outcome(e),
    }
    if !failures.is_empty() {
        failures.extend(warnings);
        hints.dedup();
        return Outcome::fail(
            format!(
                "another load-balancer implementation is active: {}; two implementations answering for the same services fight over their addresses",
                failures.join(", ")
            ),
            hints.join("; "),
        );
    }
    if !warnings.is_empty() {
        return Outcome::warn(
            format!(
                "found {}; make sure it does not serve LoadBalancer services",
                warnings.join(", ")
            ),
            "give each LoadBalancer service to one implementation only (spec.loadBalancerClass)",
        );
    }
    Outcome::pass("no other load-balancer implementation found")
}

/// The annotation MetalLB puts on services it assigned an address to.
pub const ALLOCATED_FROM_POOL: &str = "metallb.io/ip-allocated-from-pool";

pub fn foreign_ingress(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let services = read!(c.services);
    let foreign: Vec<String> = services
        .iter()
        .filter(|s| s.load_balancer && !s.ingress_ips.is_empty())
        .filter(|s| !s.annotations.contains_key(ALLOCATED_FROM_POOL))
        .map(|s| {
            let ips: Vec<String> = s.ingress_ips.iter().map(ToString::to_string).collect();
            format!("{}/{} ({})", s.namespace, s.name, ips.join(", "))
        })
        .collect();
    let lb_count = services.iter().filter(|s| s.load_balancer).count();
    if foreign.is_empty() {
        return Outcome::pass(format!(
            "{lb_count} LoadBalancer services, none with an address from another implementation"
        ));
    }
    Outcome::fail(
        format!(
            "{} LoadBalancer services already have addresses MetalLB did not assign: {}",
            foreign.len(),
            list(&foreign, 3)
        ),
        "find what assigns them (LB106 lists known implementations) and remove it, or set spec.loadBalancerClass on services MetalLB must not take",
    )
}

/// Whether a node matches one `matchLabels` selector.
fn selected(node: &NodeInfo, selector: &LabelSelector) -> bool {
    crate::metallb::pools::selects(selector, &node.labels)
}

pub fn announcing_nodes(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let nodes = read!(c.nodes);
    let ads = read!(c.l2_advertisements);
    if nodes.is_empty() {
        return Outcome::fail(
            "the cluster has no nodes",
            "join nodes to the cluster first",
        );
    }
    // With L2Advertisements present, only the nodes they select announce; none select all.
    let selects = |n: &NodeInfo| {
        ads.is_empty()
            || ads.iter().any(|a| {
                a.node_selectors.is_empty() || a.node_selectors.iter().any(|s| selected(n, s))
            })
    };
    let speaker = &f.speaker;
    let mut able = Vec::new();
    let mut excluded = Vec::new();
    let mut not_ready = Vec::new();
    let mut unplaced = Vec::new();
    let mut unselected = Vec::new();
    for n in nodes {
        if !selects(n) {
            unselected.push(n.name.clone());
            continue;
        }
        let node = SpeakerNode {
            labels: n.labels.clone(),
            taints: n
                .taints
                .iter()
                .map(|t| Taint {
                    key: t.key.clone(),
                    value: t.value.clone(),
                    effect: t.effect.clone(),
                    time_added: None,
                })
                .collect(),
            ready: n.ready,
            network_unavailable: n.network_unavailable,
        };
        match eligibility(&node, speaker) {
            Ok(()) => able.push(n.name.clone()),
            Err(Ineligible::Excluded) => excluded.push(n.name.clone()),
            Err(Ineligible::NotReady | Ineligible::NetworkUnavailable) => {
                not_ready.push(n.name.clone())
            }
            Err(why) => unplaced.push(format!("{} ({why})", n.name)),
        }
    }
    let mut why = Vec::new();
    if !excluded.is_empty() {
        why.push(format!(
            "{} carry {EXCLUDE_LABEL} ({})",
            excluded.len(),
            list(&excluded, 3)
        ));
    }
    if !not_ready.is_empty() {
        why.push(format!(
            "{} are NotReady or NetworkUnavailable ({})",
            not_ready.len(),
            list(&not_ready, 3)
        ));
    }
    if !unplaced.is_empty() {
        why.push(format!(
            "{} cannot run the speaker: {}",
            unplaced.len(),
            list(&unplaced, 3)
        ));
    }
    if !unselected.is_empty() {
        why.push(format!(
            "{} are not selected by any L2Advertisement ({})",
            unselected.len(),
            list(&unselected, 3)
        ));
    }
    if able.is_empty() {
        // Every way out that applies, the label first (kubeadm's control-plane default).
        let mut ways: Vec<String> = Vec::new();
        if let Some(node) = excluded.first() {
            ways.push(format!(
                "kubectl label node {node} {EXCLUDE_LABEL}-   (lets this node announce)"
            ));
        }
        if !unselected.is_empty() {
            ways.push("widen the L2Advertisement nodeSelectors".into());
        }
        if !unplaced.is_empty() {
            ways.push("let the speaker run on a node: remove the taint, or tolerate it with --speaker-tolerations".into());
        }
        if ways.is_empty() {
            ways.push("wait for the nodes to become Ready: kubectl get nodes".into());
        }
        let hint = ways.join("; or ");
        return Outcome::fail(
            format!("no node can announce addresses: {}", why.join("; ")),
            hint,
        );
    }
    let message = format!("{} of {} nodes can announce", able.len(), nodes.len());
    if not_ready.is_empty() {
        let detail = if why.is_empty() {
            String::new()
        } else {
            format!(" ({})", why.join("; "))
        };
        Outcome::pass(format!("{message}{detail}"))
    } else {
        Outcome::warn(
            format!("{message}; {}", why.join("; ")),
            "kubectl get nodes; kubectl describe node NAME",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cluster, facts};
    use super::*;
    use crate::checks::Status;
    use crate::facts::cluster::{L2Advertisement, NodeTaint, ServiceInfo, SourceError};

    fn node(name: &str) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            ready: true,
            labels: BTreeMap::from([("kubernetes.io/os".into(), "linux".into())]),
            ..Default::default()
        }
    }

    fn by_labels(key: &str, value: &str) -> LabelSelector {
        LabelSelector {
            match_labels: Some(BTreeMap::from([(key.into(), value.into())])),
            match_expressions: None,
        }
    }

    fn by_expression(key: &str, operator: &str, values: &[&str]) -> LabelSelector {
        use crate::metallb::crds::selectors::LabelRequirement;
        LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelRequirement {
                key: key.into(),
                operator: operator.into(),
                values: Some(values.iter().map(|v| v.to_string()).collect()),
            }]),
        }
    }

    fn workload(kind: &str, ns: &str, name: &str, image: &str) -> Workload {
        Workload {
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
            images: vec![image.into()],
            ..Default::default()
        }
    }

    #[test]
    fn reachable_covers_every_state() {
        let f = facts(cluster());
        assert_eq!(reachable(&f).status, Status::Pass);
        let mut f = facts(cluster());
        f.cluster = ClusterState::NotUsed {
            reason: "--local".into(),
        };
        assert_eq!(reachable(&f), Outcome::skip("--local"));
        f.cluster = ClusterState::Unreachable {
            server: None,
            message: "refused".into(),
            hint: "h".into(),
        };
        assert_eq!(reachable(&f).status, Status::Error);
    }

    #[test]
    fn version_range() {
        let cases = [
            ("v1.24.9", Status::Fail),
            ("v1.25.0", Status::Pass),
            ("v1.36.0", Status::Pass),
            ("v1.37.1", Status::Warn),
            ("v2.0.0", Status::Fail),
        ];
        for (v, want) in cases {
            assert_eq!(version(&facts(ClusterFacts::empty(v))).status, want, "{v}");
        }
        let mut c = cluster();
        c.version = Err(SourceError::Failed {
            what: "/version".into(),
            reason: "500".into(),
        });
        assert_eq!(version(&facts(c)).status, Status::Error);
    }

    #[test]
    fn read_access_names_forbidden_sources() {
        assert_eq!(read_access(&facts(cluster())).status, Status::Pass);
        let mut c = cluster();
        c.nodes = Err(SourceError::forbidden("list", "nodes", None));
        c.services = Err(SourceError::forbidden("list", "services", None));
        let o = read_access(&facts(c));
        assert_eq!(o.status, Status::Error);
        assert!(o.message.starts_with("2 of the sources"), "{}", o.message);
        assert!(o.hint.unwrap().contains("kubectl auth can-i list nodes -A"));
    }

    fn access(resource: &str, allowed: Result<bool, SourceError>) -> Access {
        Access {
            verb: "create".into(),
            resource: resource.into(),
            group: String::new(),
            namespace: None,
            needed_by: "install",
            allowed,
        }
    }

    #[test]
    fn next_step_permissions() {
        let mut c = cluster();
        assert_eq!(next_step_access(&facts(c.clone())).status, Status::Skip);
        c.access = vec![access("namespaces", Ok(true))];
        assert_eq!(next_step_access(&facts(c.clone())).status, Status::Pass);
        c.access.push(access("secrets", Ok(false)));
        let o = next_step_access(&facts(c.clone()));
        assert_eq!(o.status, Status::Warn);
        assert!(o.message.contains("create secrets (for install)"));
        assert!(o.hint.unwrap().contains("--for install"));
        let mut f = facts(c.clone());
        f.permissions_for = Some(crate::permissions::Command::Install);
        let o = next_step_access(&f);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .ends_with("(checked: create namespaces, create secrets)"),
            "{}",
            o.message
        );
        c.access.push(access(
            "roles",
            Err(SourceError::forbidden(
                "create",
                "selfsubjectrulesreviews",
                None,
            )),
        ));
        assert_eq!(next_step_access(&facts(c)).status, Status::Error);
    }

    #[test]
    fn cloud_provider_from_provider_id() {
        let mut c = cluster();
        let mut n = node("ip-10-0-0-1");
        n.provider_id = Some("aws:///eu-west-1a/i-0abc".into());
        c.nodes = Ok(vec![n, node("other")]);
        let o = cloud_provider(&facts(c.clone()));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("1 of 2 nodes run on AWS"),
            "{}",
            o.message
        );
        c.nodes = Ok(vec![node("metal")]);
        assert_eq!(cloud_provider(&facts(c.clone())).status, Status::Pass);
        c.nodes = Err(SourceError::forbidden("list", "nodes", None));
        assert_eq!(cloud_provider(&facts(c)).status, Status::Error);
        assert_eq!(cloud_of("gce://p/z/n"), Some("Google Cloud"));
        assert_eq!(cloud_of("kind://docker/kind/n"), None);
    }

    #[test]
    fn other_implementations_table() {
        type Case = (
            Vec<Workload>,
            Option<(&'static str, &'static str)>,
            Status,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (vec![], None, Status::Pass, "no other"),
            (
                vec![workload(
                    "DaemonSet",
                    "kube-system",
                    "svclb-traefik-1a2b",
                    "rancher/klipper-lb:v0.4",
                )],
                None,
                Status::Fail,
                "k3s servicelb",
            ),
            (
                vec![workload(
                    "DaemonSet",
                    "kube-system",
                    "kube-vip-ds",
                    "ghcr.io/kube-vip/kube-vip:v0.8",
                )],
                None,
                Status::Warn,
                "kube-vip",
            ),
            (
                vec![workload(
                    "Deployment",
                    "kube-system",
                    "kube-vip-cloud-provider",
                    "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.10",
                )],
                None,
                Status::Fail,
                "cloud provider",
            ),
            (
                vec![workload(
                    "Deployment",
                    "openelb-system",
                    "openelb-manager",
                    "kubesphere/openelb:v0.6",
                )],
                None,
                Status::Fail,
                "OpenELB",
            ),
            (
                vec![workload(
                    "Deployment",
                    "kube-system",
                    "cloud-controller-manager",
                    "registry.k8s.io/cloud-controller-manager:v1",
                )],
                None,
                Status::Warn,
                "cloud controller",
            ),
            (
                vec![],
                Some(("enable-l2-announcements", "true")),
                Status::Fail,
                "Cilium L2",
            ),
            (
                vec![],
                Some(("enable-l2-announcements", "false")),
                Status::Pass,
                "no other",
            ),
        ];
        for (workloads, cilium, want, text) in cases {
            let mut c = cluster();
            c.daemonsets = Ok(workloads
                .iter()
                .filter(|w| w.kind == "DaemonSet")
                .cloned()
                .collect());
            c.deployments = Ok(workloads
                .iter()
                .filter(|w| w.kind == "Deployment")
                .cloned()
                .collect());
            c.cilium_config =
                Ok(cilium.map(|(k, v)| BTreeMap::from([(k.to_string(), v.to_string())])));
            let o = other_implementations(&facts(c));
            assert_eq!(o.status, want, "{text}: {o:?}");
            assert!(o.message.contains(text), "{text}: {}", o.message);
        }
        let mut kv = workload(
            "DaemonSet",
            "kube-system",
            "kube-vip-ds",
            "ghcr.io/kube-vip/kube-vip:v0.8",
        );
        kv.args = vec!["svc_enable=true".into()];
        let mut c = cluster();
        c.daemonsets = Ok(vec![kv]);
        assert_eq!(
            other_implementations(&facts(c.clone())).status,
            Status::Fail
        );
        c.deployments = Err(SourceError::forbidden("list", "deployments.apps", None));
        assert_eq!(other_implementations(&facts(c)).status, Status::Error);
    }

    #[test]
    fn foreign_ingress_ignores_metallb_assigned_services() {
        let svc = |name: &str, ip: Option<&str>, metallb: bool| ServiceInfo {
            namespace: "default".into(),
            name: name.into(),
            load_balancer: true,
            ingress_ips: ip.map(|i| i.parse().unwrap()).into_iter().collect(),
            annotations: if metallb {
                BTreeMap::from([(ALLOCATED_FROM_POOL.to_string(), "default".to_string())])
            } else {
                BTreeMap::new()
            },
            load_balancer_class: None,
        };
        let mut c = cluster();
        c.services = Ok(vec![
            svc("pending", None, false),
            svc("ours", Some("10.0.0.5"), true),
        ]);
        assert_eq!(foreign_ingress(&facts(c.clone())).status, Status::Pass);
        c.services = Ok(vec![svc("web", Some("172.18.0.10"), false)]);
        let o = foreign_ingress(&facts(c.clone()));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.contains("default/web (172.18.0.10)"));
        c.services = Err(SourceError::forbidden("list", "services", None));
        assert_eq!(foreign_ingress(&facts(c)).status, Status::Error);
    }

    #[test]
    fn announcing_nodes_table() {
        let mut cp = node("cp");
        cp.labels.insert(EXCLUDE_LABEL.into(), String::new());
        let mut down = node("down");
        down.ready = false;
        let mut labelled = node("edge");
        labelled.labels.insert("role".into(), "edge".into());
        let mut no_network = node("nonet");
        no_network.network_unavailable = true;
        let mut gpu = node("gpu");
        gpu.taints = vec![NodeTaint {
            key: "gpu".into(),
            value: Some("true".into()),
            effect: "NoSchedule".into(),
        }];
        // The control-plane taint is one the speaker tolerates; the label still excludes.
        let mut tainted_cp = cp.clone();
        tainted_cp.taints = vec![NodeTaint {
            key: "node-role.kubernetes.io/control-plane".into(),
            value: None,
            effect: "NoSchedule".into(),
        }];
        let mut windows = node("win");
        windows
            .labels
            .insert("kubernetes.io/os".into(), "windows".into());
        let cases = vec![
            (
                vec![node("w1"), no_network],
                vec![],
                Status::Warn,
                "1 are NotReady or NetworkUnavailable (nonet)",
            ),
            (
                vec![node("w1"), gpu.clone(), windows],
                vec![],
                Status::Pass,
                "1 of 3 nodes can announce (2 cannot run the speaker: gpu (taint gpu=true:NoSchedule not tolerated), win (not selected by the speaker's nodeSelector kubernetes.io/os=linux))",
            ),
            (
                vec![gpu.clone()],
                vec![],
                Status::Fail,
                "tolerate it with --speaker-tolerations",
            ),
            // Every way out is named: the label of one node, the taint of the other.
            (
                vec![cp.clone(), gpu],
                vec![],
                Status::Fail,
                "(lets this node announce); or let the speaker run on a node: remove the taint, or tolerate it with --speaker-tolerations",
            ),
            (
                vec![tainted_cp, node("w1")],
                vec![],
                Status::Pass,
                "1 of 2 nodes can announce (1 carry node.kubernetes.io/exclude-from-external-load-balancers (cp))",
            ),
            (vec![], vec![], Status::Fail, "no nodes"),
            (
                vec![cp.clone()],
                vec![],
                Status::Fail,
                "kubectl label node cp node.kubernetes.io/exclude-from-external-load-balancers-",
            ),
            (
                vec![cp.clone(), node("w1")],
                vec![],
                Status::Pass,
                "1 of 2 nodes can announce (1 carry",
            ),
            (
                vec![node("w1"), down.clone()],
                vec![],
                Status::Warn,
                "NotReady",
            ),
            (
                vec![node("w1"), labelled.clone()],
                vec![L2Advertisement {
                    namespace: "metallb-system".into(),
                    name: "edge".into(),
                    node_selectors: vec![by_labels("role", "edge")],
                }],
                Status::Pass,
                "1 of 2 nodes can announce (1 are not selected",
            ),
            (
                vec![node("w1")],
                vec![L2Advertisement {
                    namespace: "metallb-system".into(),
                    name: "edge".into(),
                    node_selectors: vec![by_labels("role", "edge")],
                }],
                Status::Fail,
                "widen the L2Advertisement",
            ),
            // Expressions are evaluated: "role in (edge)" selects the labelled node only, and
            // "role notin (edge)" the other one.
            (
                vec![node("w1"), labelled.clone()],
                vec![L2Advertisement {
                    namespace: "metallb-system".into(),
                    name: "edge".into(),
                    node_selectors: vec![by_expression("role", "In", &["edge"])],
                }],
                Status::Pass,
                "1 of 2 nodes can announce (1 are not selected by any L2Advertisement (w1)",
            ),
            (
                vec![node("w1"), labelled.clone()],
                vec![L2Advertisement {
                    namespace: "metallb-system".into(),
                    name: "edge".into(),
                    node_selectors: vec![by_expression("role", "NotIn", &["edge"])],
                }],
                Status::Pass,
                "1 of 2 nodes can announce (1 are not selected by any L2Advertisement (edge)",
            ),
        ];
        for (nodes, ads, want, text) in cases {
            let mut c = cluster();
            c.nodes = Ok(nodes);
            c.l2_advertisements = Ok(ads);
            let o = announcing_nodes(&facts(c));
            assert_eq!(o.status, want, "{text}: {o:?}");
            let all = format!("{} {}", o.message, o.hint.unwrap_or_default());
            assert!(all.contains(text), "{text}: {all}");
        }
        let mut c = cluster();
        c.l2_advertisements = Err(SourceError::forbidden(
            "list",
            "l2advertisements.metallb.io",
            Some("metallb-system"),
        ));
        assert_eq!(announcing_nodes(&facts(c)).status, Status::Error);
    }
}
