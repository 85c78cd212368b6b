//! The preflight check set: is this cluster, this node and this pool ready for MetalLB L2?
//! Every rule is a pure function of [`PreflightFacts`]; the catalog is in docs/checks.md.

mod arp;
pub(crate) mod cluster;
pub(crate) mod kube_proxy;
pub(crate) mod metallb;
pub(crate) mod node;
mod pool;

use super::model::CheckSpec;
use crate::facts::PreflightFacts;

/// Reads a source or returns the `error` outcome that names what could not be read.
macro_rules! read {
    ($source:expr) => {
        match &$source {
            Ok(value) => value,
            Err(err) => return crate::checks::source_outcome(err),
        }
    };
}

/// The cluster facts, or a skip when the cluster was not used (LB101 normally skips first).
macro_rules! cluster_facts {
    ($facts:expr) => {
        match $facts.cluster() {
            Some(c) => c,
            None => return crate::checks::Outcome::skip("skipped: no cluster"),
        }
    };
}

pub(crate) use {cluster_facts, read};

/// Joins up to `max` items and says how many more there are.
pub(crate) fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

/// "the 1 pool has free addresses", "all 3 pools have free addresses": a count that reads
/// right for one (`one` and `many` carry the noun and its verb).
pub(crate) fn all_of(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("the 1 {one}")
    } else {
        format!("all {n} {many}")
    }
}

/// The pools to check, or the skip that says none was given.
pub(crate) fn pools_or_skip(
    f: &PreflightFacts,
) -> Result<&[crate::facts::PoolInput], crate::checks::Outcome> {
    if f.pools.is_empty() {
        Err(crate::checks::Outcome::skip(
            "no pool given; use --pool RANGE or --config FILE",
        ))
    } else {
        Ok(&f.pools)
    }
}

/// The checks `--nodes` runs once per selected node.
pub const PER_NODE: &[&str] = &[
    "LB200", "LB201", "LB202", "LB203", "LB204", "LB205", "LB206", "LB308",
];

const CLUSTER: &[&str] = &["LB101"];
const NODE: &[&str] = &["LB200"];
const POOL_CLUSTER: &[&str] = &["LB301", "LB101"];

/// Every preflight check in the order they run and are reported.
// One line per check reads as the catalog it is.
#[rustfmt::skip]
pub fn specs() -> Vec<CheckSpec<PreflightFacts>> {
    let spec = |id, title, area, depends_on, can_become_true, rule| CheckSpec {
        id,
        title,
        area,
        depends_on,
        can_become_true,
        rule,
    };
    vec![
        spec("LB101", "API server reachable", "cluster", &[], true, cluster::reachable),
        spec("LB102", "Kubernetes version supported", "cluster", CLUSTER, false, cluster::version),
        spec("LB103", "read access for preflight", "cluster", CLUSTER, true, cluster::read_access),
        spec("LB104", "permissions for the next steps", "cluster", CLUSTER, true, cluster::next_step_access),
        spec("LB105", "not a cloud provider network", "cluster", CLUSTER, false, cluster::cloud_provider),
        spec("LB106", "no other load-balancer implementation", "cluster", CLUSTER, true, cluster::other_implementations),
        spec("LB107", "no LoadBalancer addresses from someone else", "cluster", CLUSTER, true, cluster::foreign_ingress),
        spec("LB108", "nodes that can announce", "cluster", CLUSTER, true, cluster::announcing_nodes),
        spec("LB110", "kube-proxy configuration located", "kube-proxy", CLUSTER, false, kube_proxy::located),
        spec("LB111", "kube-proxy mode and strictARP", "kube-proxy", &["LB110"], false, kube_proxy::strict_arp),
        spec("LB112", "kube-proxy runs its current configuration", "kube-proxy", &["LB110"], true, kube_proxy::config_active),
        spec("LB113", "IPVS mode not deprecated", "kube-proxy", &["LB110"], false, kube_proxy::ipvs_deprecation),
        spec("LB120", "existing MetalLB installation", "metallb", CLUSTER, false, metallb::existing),
        spec("LB121", "MetalLB CRDs complete", "metallb", CLUSTER, false, metallb::crds),
        spec("LB122", "MetalLB namespace allows privileged pods", "metallb", CLUSTER, false, metallb::pod_security),
        spec("LB200", "node can be checked", "node", &[], false, node::host),
        spec("LB201", "ARP sysctls for the kube-proxy mode", "node", NODE, true, node::arp_sysctls),
        spec("LB202", "IPVS kernel modules", "node", NODE, false, node::ipvs_modules),
        spec("LB203", "reverse-path filter not strict", "node", NODE, false, node::rp_filter),
        spec("LB204", "proxy ARP off", "node", NODE, false, node::proxy_arp),
        spec("LB205", "IP forwarding on", "node", NODE, false, node::ip_forward),
        spec("LB206", "memberlist port 7946 free", "node", NODE, false, node::memberlist_port),
        spec("LB301", "pool addresses", "pool", &[], false, pool::addresses),
        spec("LB302", "pool namespace", "pool", &["LB301"], false, pool::namespace),
        spec("LB303", "pool avoids node addresses", "pool", POOL_CLUSTER, false, pool::node_addresses),
        spec("LB304", "pool avoids pod CIDRs", "pool", POOL_CLUSTER, false, pool::pod_cidrs),
        spec("LB305", "pool avoids service CIDRs", "pool", POOL_CLUSTER, false, pool::service_cidrs),
        spec("LB306", "pool avoids existing pools", "pool", POOL_CLUSTER, false, pool::existing_pools),
        spec("LB307", "pool addresses not assigned to services", "pool", POOL_CLUSTER, false, pool::assigned_ips),
        spec("LB308", "pool on a connected network", "pool", &["LB301", "LB200"], false, node::on_link),
        spec("LB309", "pool addresses unanswered (ARP probe)", "pool", &["LB301", "LB200"], false, arp::probes),
    ]
}

/// Every preflight check ID (for `--ignore` validation).
pub fn ids() -> Vec<&'static str> {
    specs().iter().map(|s| s.id).collect()
}

/// The checks that decide whether `lbctl install` can succeed: the cluster, an existing
/// MetalLB and the pools; LB200 (whether this host is a node, so that its ARP probes ask the
/// right network); and kube-proxy's mode, which install reports as advice. kube-proxy's state
/// and node tuning otherwise are preflight's and doctor's business.
#[rustfmt::skip]
pub const INSTALL: &[&str] = &[
    "LB101", "LB102", "LB103", "LB104", "LB105", "LB106", "LB107", "LB108",
    "LB110", "LB111",
    "LB120", "LB121", "LB122",
    "LB200",
    "LB301", "LB302", "LB303", "LB304", "LB305", "LB306", "LB307", "LB308", "LB309",
];

/// The checks named in `ids`, in catalog order.
pub fn specs_of(ids: &[&str]) -> Vec<CheckSpec<PreflightFacts>> {
    specs()
        .into_iter()
        .filter(|s| ids.contains(&s.id))
        .collect()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for facts, shared by the rule tests.
    use crate::facts::cluster::ClusterFacts;
    use crate::facts::{ClusterState, NodeState, PoolInput, PreflightFacts};
    use crate::net::pool::Pool;

    pub fn facts(cluster: ClusterFacts) -> PreflightFacts {
        PreflightFacts {
            metallb_namespace: "metallb-system".into(),
            for_install: false,
            speaker: crate::metallb::speaker::SpeakerPlacement::rendered(&Default::default()),
            permissions_for: None,
            cluster: ClusterState::Reached(Box::new(cluster)),
            node: NodeState::NotRead {
                reason: "not read in this test".into(),
            },
            pools: vec![],
            probe: crate::facts::probe::ProbeState::NotRun {
                reason: "not probed in this test".into(),
            },
        }
    }

    pub fn with_pool(mut facts: PreflightFacts, text: &str) -> PreflightFacts {
        facts.pools.push(PoolInput {
            name: format!("--pool #{}", facts.pools.len() + 1),
            origin: "--pool".into(),
            namespace: None,
            pool: Pool::parse(text).unwrap(),
        });
        facts
    }

    pub fn cluster() -> ClusterFacts {
        ClusterFacts::empty("v1.36.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Status, run_checks};
    use crate::facts::ClusterState;

    #[test]
    fn ids_are_unique_ordered_and_documented() {
        crate::checks::assert_catalog(&specs());
    }

    #[test]
    fn the_install_set_names_only_preflight_checks_with_their_dependencies() {
        let install = specs_of(INSTALL);
        assert_eq!(
            install.len(),
            INSTALL.len(),
            "an ID in INSTALL is not a check"
        );
        crate::checks::assert_catalog(&install);
    }

    #[test]
    fn local_runs_skip_cluster_checks_with_the_reason() {
        let facts = PreflightFacts {
            metallb_namespace: "metallb-system".into(),
            for_install: false,
            speaker: crate::metallb::speaker::SpeakerPlacement::rendered(&Default::default()),
            permissions_for: None,
            cluster: ClusterState::NotUsed {
                reason: "--local: the cluster is not contacted".into(),
            },
            node: crate::facts::NodeState::NotRead {
                reason: "not read".into(),
            },
            pools: vec![],
            probe: crate::facts::probe::ProbeState::NotRun {
                reason: "not probed in this test".into(),
            },
        };
        let checks = run_checks(&specs(), &facts);
        let lb111 = checks.iter().find(|c| c.id == "LB111").unwrap();
        assert_eq!(lb111.status, Status::Skip);
        assert_eq!(
            lb111.message,
            "skipped: LB101 was skipped (--local: the cluster is not contacted)"
        );
        let lb303 = checks.iter().find(|c| c.id == "LB303").unwrap();
        assert_eq!(
            lb303.message,
            "skipped: LB301 was skipped (no pool given; use --pool RANGE or --config FILE)"
        );
        assert!(checks.iter().all(|c| c.status == Status::Skip));
    }

    #[test]
    fn an_unreachable_cluster_is_an_error_and_its_dependants_skip() {
        let facts = PreflightFacts {
            metallb_namespace: "metallb-system".into(),
            for_install: false,
            speaker: crate::metallb::speaker::SpeakerPlacement::rendered(&Default::default()),
            permissions_for: None,
            cluster: ClusterState::Unreachable {
                server: Some("https://10.0.0.1:6443".into()),
                message:
                    "cannot reach the Kubernetes API at https://10.0.0.1:6443: connection refused"
                        .into(),
                hint: "check kubectl cluster-info".into(),
            },
            node: crate::facts::NodeState::NotRead {
                reason: "not read".into(),
            },
            pools: vec![],
            probe: crate::facts::probe::ProbeState::NotRun {
                reason: "not probed in this test".into(),
            },
        };
        let checks = run_checks(&specs(), &facts);
        assert_eq!(checks[0].status, Status::Error);
        assert_eq!(checks[1].message, "skipped: LB101 could not run");
    }
}
