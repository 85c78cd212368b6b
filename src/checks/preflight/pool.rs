//! LB30x: the pools to be used: their addresses, the namespace of pools from a file, and
//! overlaps with everything else that already owns addresses in the cluster.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{cluster_facts, list, read};
use crate::checks::Outcome;
use crate::facts::{PoolInput, PreflightFacts};
use crate::net::pool::{EdgeKind, IpRange, Pool};

macro_rules! pools {
    ($f:expr) => {
        match super::pools_or_skip($f) {
            Ok(p) => p,
            Err(o) => return o,
        }
    };
}

fn ranges(r: &[IpRange]) -> String {
    let text: Vec<String> = r.iter().map(ToString::to_string).collect();
    list(&text, 3)
}

pub fn addresses(f: &PreflightFacts) -> Outcome {
    let pools = pools!(f);
    let mut parts = Vec::new();
    let mut edges = Vec::new();
    for p in pools {
        parts.push(format!(
            "{} = {} ({} addresses)",
            p.name,
            p.pool,
            p.pool.size()
        ));
        for (addr, kind) in p.pool.network_and_broadcast() {
            let what = match kind {
                EdgeKind::Network => "network address",
                EdgeKind::Broadcast => "broadcast address",
            };
            edges.push(format!("{addr} ({what} of a CIDR in {})", p.name));
        }
    }
    let message = parts.join("; ");
    if edges.is_empty() {
        Outcome::pass(message)
    } else {
        Outcome::warn(
            format!(
                "{message}; includes {}, which some clients and routers refuse",
                list(&edges, 3)
            ),
            "set avoidBuggyIPs: true on the IPAddressPool, or use a range that leaves them out",
        )
    }
}

pub fn namespace(f: &PreflightFacts) -> Outcome {
    let pools = pools!(f);
    let from_files: Vec<&PoolInput> = pools.iter().filter(|p| p.origin != "--pool").collect();
    if from_files.is_empty() {
        return Outcome::skip("no --config given");
    }
    let wrong: Vec<&PoolInput> = from_files
        .iter()
        .copied()
        .filter(|p| {
            p.namespace
                .as_deref()
                .is_some_and(|ns| ns != f.metallb_namespace)
        })
        .collect();
    let Some(first) = wrong.first() else {
        return Outcome::pass(format!(
            "{} IPAddressPools, all in namespace {} or without one",
            from_files.len(),
            f.metallb_namespace
        ));
    };
    let names: Vec<String> = wrong
        .iter()
        .map(|p| {
            format!(
                "{} (namespace {})",
                p.name,
                p.namespace.as_deref().unwrap_or_default()
            )
        })
        .collect();
    Outcome::fail(
        format!(
            "IPAddressPool {} in {}: MetalLB only reads pools in namespace {} (its webhook rejects the others)",
            list(&names, 3),
            first.origin,
            f.metallb_namespace
        ),
        format!(
            "in {}, set `namespace: {}` under metadata of {}",
            first.origin,
            f.metallb_namespace,
            wrong
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// Runs `overlap` for every pool and reports the ones that share addresses.
fn judge(
    f: &PreflightFacts,
    what: &str,
    hint: &str,
    overlap: impl Fn(&Pool) -> Vec<String>,
    pass: String,
) -> Outcome {
    let pools = pools!(f);
    let clashes: Vec<String> = pools
        .iter()
        .flat_map(|p| {
            overlap(&p.pool)
                .into_iter()
                .map(move |o| format!("{} shares {o}", p.name))
        })
        .collect();
    if clashes.is_empty() {
        Outcome::pass(pass)
    } else {
        Outcome::fail(
            format!("the pool overlaps {what}: {}", list(&clashes, 3)),
            hint,
        )
    }
}

pub fn node_addresses(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let nodes = read!(c.nodes);
    let _ = pools!(f);
    let owners: Vec<(IpAddr, &str)> = nodes
        .iter()
        .flat_map(|n| n.addresses.iter().map(move |a| (*a, n.name.as_str())))
        .collect();
    let addrs: Vec<IpAddr> = owners.iter().map(|(a, _)| *a).collect();
    judge(
        f,
        "node addresses",
        "choose a range outside the node addresses (kubectl get nodes -o wide)",
        |pool| {
            pool.overlap_with_addresses(&addrs)
                .into_iter()
                .map(|a| {
                    let node = owners
                        .iter()
                        .find(|(o, _)| *o == a)
                        .map(|(_, n)| *n)
                        .unwrap_or("?");
                    format!("{a} (node {node})")
                })
                .collect()
        },
        format!("no overlap with the addresses of {} nodes", nodes.len()),
    )
}

fn nets(texts: impl Iterator<Item = String>) -> Vec<IpNet> {
    texts.filter_map(|t| t.parse::<IpNet>().ok()).collect()
}

fn net_overlaps(pool: &Pool, nets: &[IpNet]) -> Vec<String> {
    nets.iter()
        .filter(|n| !pool.overlap_with_net(**n).is_empty())
        .map(|n| format!("{} with {n}", ranges(&pool.overlap_with_net(*n))))
        .collect()
}

pub fn pod_cidrs(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let nodes = read!(c.nodes);
    let _ = pools!(f);
    let mut cidrs = nets(nodes.iter().flat_map(|n| n.pod_cidrs.iter().cloned()));
    cidrs.sort();
    cidrs.dedup();
    if cidrs.is_empty() {
        return Outcome::skip("no node has spec.podCIDRs (the CNI assigns pod addresses itself)");
    }
    judge(
        f,
        "pod CIDRs",
        "choose a range outside the pod network",
        |pool| net_overlaps(pool, &cidrs),
        format!("no overlap with {} pod CIDRs", cidrs.len()),
    )
}

pub fn service_cidrs(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let _ = pools!(f);
    let Some(texts) = read!(c.service_cidrs) else {
        return Outcome::skip(
            "the API serves no ServiceCIDR objects (before Kubernetes 1.33): the service CIDR is unknown",
        );
    };
    if texts.is_empty() {
        return Outcome::skip(
            "the cluster has no ServiceCIDR objects: the service CIDR is unknown",
        );
    }
    let cidrs = nets(texts.iter().cloned());
    judge(
        f,
        "service CIDRs",
        "choose a range outside the service CIDR (kubectl get servicecidrs)",
        |pool| net_overlaps(pool, &cidrs),
        format!("no overlap with the service CIDRs ({})", texts.join(", ")),
    )
}

pub fn existing_pools(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let existing = read!(c.pools);
    let inputs = pools!(f);
    let mut clashes = Vec::new();
    for input in inputs {
        for e in existing {
            // The same pool checked again before re-applying it is not a clash.
            if e.name == input.name && e.namespace == f.metallb_namespace {
                continue;
            }
            let Ok(other) = Pool::from_addresses(&e.addresses) else {
                continue;
            };
            let shared = input.pool.overlap(&other);
            if !shared.is_empty() {
                clashes.push(format!(
                    "{} shares {} with IPAddressPool {}/{}",
                    input.name,
                    ranges(&shared),
                    e.namespace,
                    e.name
                ));
            }
        }
    }
    if clashes.is_empty() {
        Outcome::pass(format!(
            "no overlap with {} existing IPAddressPools",
            existing.len()
        ))
    } else {
        Outcome::fail(
            format!("the pool overlaps existing pools: {}", list(&clashes, 3)),
            "choose a range no other IPAddressPool uses (kubectl get ipaddresspools -A)",
        )
    }
}

pub fn assigned_ips(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let services = read!(c.services);
    let inputs = pools!(f);
    let mut clashes = Vec::new();
    for input in inputs {
        for s in services.iter().filter(|s| s.load_balancer) {
            let from_this_pool = s
                .annotations
                .get(super::cluster::ALLOCATED_FROM_POOL)
                .is_some_and(|p| *p == input.name);
            for ip in s.ingress_ips.iter().filter(|ip| input.pool.contains(**ip)) {
                if !from_this_pool {
                    clashes.push(format!("{ip} (service {}/{})", s.namespace, s.name));
                }
            }
        }
    }
    if clashes.is_empty() {
        Outcome::pass("no LoadBalancer service holds an address of the pool")
    } else {
        Outcome::fail(
            format!(
                "addresses of the pool are already assigned: {}",
                list(&clashes, 3)
            ),
            "choose a range without these addresses, or free them first",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cluster, facts, with_pool};
    use super::*;
    use crate::checks::Status;
    use crate::facts::cluster::{ExistingPool, NodeInfo, ServiceInfo, SourceError};
    use std::collections::BTreeMap;

    fn node(name: &str, addr: &str, pod_cidr: &str) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            ready: true,
            addresses: vec![addr.parse().unwrap()],
            pod_cidrs: vec![pod_cidr.into()],
            ..Default::default()
        }
    }

    #[test]
    fn addresses_and_edges() {
        let f = with_pool(facts(cluster()), "192.168.10.240-192.168.10.250");
        let o = addresses(&f);
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "--pool #1 = 192.168.10.240-192.168.10.250 (11 addresses)"
        );
        let o = addresses(&with_pool(facts(cluster()), "192.168.10.0/24"));
        assert_eq!(o.status, Status::Warn);
        assert!(
            o.message.contains("192.168.10.255 (broadcast"),
            "{}",
            o.message
        );
        assert_eq!(addresses(&facts(cluster())).status, Status::Skip);
    }

    #[test]
    fn namespace_of_file_pools() {
        let mut f = with_pool(facts(cluster()), "10.0.0.0/28");
        assert_eq!(namespace(&f), Outcome::skip("no --config given"));
        f.pools[0].origin = "pools.yaml".into();
        f.pools[0].name = "prod".into();
        assert_eq!(namespace(&f).status, Status::Pass);
        f.pools[0].namespace = Some("default".into());
        let o = namespace(&f);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("prod (namespace default) in pools.yaml"),
            "{}",
            o.message
        );
        assert_eq!(
            o.hint.unwrap(),
            "in pools.yaml, set `namespace: metallb-system` under metadata of prod"
        );
    }

    #[test]
    fn overlaps_with_nodes_pods_and_services() {
        let mut c = cluster();
        c.nodes = Ok(vec![node("n1", "192.168.10.5", "10.244.0.0/24")]);
        c.service_cidrs = Ok(Some(vec!["10.96.0.0/12".into()]));
        let clean = with_pool(facts(c.clone()), "192.168.10.240/28");
        for rule in [node_addresses, pod_cidrs, service_cidrs] {
            assert_eq!(rule(&clean).status, Status::Pass);
        }
        let o = node_addresses(&with_pool(facts(c.clone()), "192.168.10.0-192.168.10.9"));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("192.168.10.5 (node n1)"),
            "{}",
            o.message
        );
        let o = pod_cidrs(&with_pool(facts(c.clone()), "10.244.0.128/25"));
        assert!(
            o.message
                .contains("10.244.0.128-10.244.0.255 with 10.244.0.0/24"),
            "{}",
            o.message
        );
        let o = service_cidrs(&with_pool(facts(c.clone()), "10.100.0.1"));
        assert_eq!(o.status, Status::Fail);

        let mut old = c.clone();
        old.service_cidrs = Ok(None);
        assert_eq!(
            service_cidrs(&with_pool(facts(old), "10.100.0.1")).status,
            Status::Skip
        );
        let mut no_pod_cidrs = c.clone();
        no_pod_cidrs.nodes = Ok(vec![NodeInfo::default()]);
        assert_eq!(
            pod_cidrs(&with_pool(facts(no_pod_cidrs), "10.0.0.1")).status,
            Status::Skip
        );
        let mut forbidden = c;
        forbidden.nodes = Err(SourceError::forbidden("list", "nodes", None));
        let f = with_pool(facts(forbidden), "10.0.0.1");
        assert_eq!(node_addresses(&f).status, Status::Error);
        assert_eq!(pod_cidrs(&f).status, Status::Error);
    }

    #[test]
    fn existing_pools_and_assigned_addresses() {
        let mut c = cluster();
        c.pools = Ok(vec![ExistingPool {
            namespace: "metallb-system".into(),
            name: "old".into(),
            addresses: vec!["192.168.10.240/29".into()],
        }]);
        c.services = Ok(vec![ServiceInfo {
            namespace: "default".into(),
            name: "web".into(),
            load_balancer: true,
            ingress_ips: vec!["192.168.10.250".parse().unwrap()],
            annotations: BTreeMap::new(),
            load_balancer_class: None,
        }]);
        let f = with_pool(facts(c.clone()), "192.168.10.244-192.168.10.250");
        let o = existing_pools(&f);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("192.168.10.244-192.168.10.247 with IPAddressPool metallb-system/old"),
            "{}",
            o.message
        );
        let o = assigned_ips(&f);
        assert!(
            o.message.contains("192.168.10.250 (service default/web)"),
            "{}",
            o.message
        );
        let mut same = f.clone();
        same.pools[0].name = "old".into();
        assert_eq!(existing_pools(&same).status, Status::Pass);
        let f = with_pool(facts(c.clone()), "192.168.20.0/30");
        assert_eq!(existing_pools(&f).status, Status::Pass);
        assert_eq!(assigned_ips(&f).status, Status::Pass);
        c.pools = Err(SourceError::forbidden(
            "list",
            "ipaddresspools.metallb.io",
            None,
        ));
        assert_eq!(
            existing_pools(&with_pool(facts(c), "10.0.0.1")).status,
            Status::Error
        );
    }
}
