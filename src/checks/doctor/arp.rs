//! LB510-LB511: what really answers ARP (IPv4) or NDP (IPv6) for each assigned address. Exactly
//! one MAC must answer (several: split brain or strictARP missing; none: not announced), and it
//! should be the MAC of the node MetalLB says announces the address (else a stale entry or
//! another device).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Node;

use super::metallb_facts;
use super::qualified;
use super::services::{announcer, ingress_ips, load_balancers};
use crate::checks::Outcome;
use crate::checks::preflight::{all_of, list};
use crate::facts::doctor::DoctorFacts;
use crate::facts::metallb::{ArpFacts, ArpProbe, MetalLbFacts};
use crate::net::arp::classify::Status as ArpStatus;

/// An assigned address, the service holding it and the node announcing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub address: IpAddr,
    pub service: String,
    pub node: Option<String>,
    /// The announcing node's InternalIP, probed to learn its MAC: one of the address's family
    /// when the node has one (a dual-stack node), else another (the same NIC answers both).
    pub node_ip: Option<IpAddr>,
}

fn internal_ips(node: &Node) -> Vec<IpAddr> {
    let Some(addresses) = node.status.as_ref().and_then(|s| s.addresses.as_ref()) else {
        return vec![];
    };
    addresses
        .iter()
        .filter(|a| a.type_ == "InternalIP")
        .filter_map(|a| a.address.parse().ok())
        .collect()
}

/// What to probe: every assigned LoadBalancer address, with its announcing node.
pub fn targets(m: &MetalLbFacts) -> Vec<Target> {
    let Ok(services) = &m.services else {
        return vec![];
    };
    let nodes: BTreeMap<String, Vec<IpAddr>> = m
        .nodes
        .as_ref()
        .map(|nodes| {
            nodes
                .iter()
                .map(|n| (n.metadata.name.clone().unwrap_or_default(), internal_ips(n)))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for svc in load_balancers(services) {
        let node = announcer(m, svc).map(str::to_string);
        let node_ips = node.as_ref().and_then(|n| nodes.get(n));
        for address in ingress_ips(svc) {
            let node_ip = node_ips.and_then(|ips| {
                ips.iter()
                    .find(|ip| ip.is_ipv4() == address.is_ipv4())
                    .or(ips.first())
                    .copied()
            });
            out.push(Target {
                address,
                service: qualified(&svc.metadata),
                node_ip,
                node: node.clone(),
            });
        }
    }
    out.sort_by_key(|t| t.address);
    out
}

fn probe_of(f: &DoctorFacts) -> Result<&ArpProbe, Outcome> {
    match &f.arp {
        ArpFacts::NotProbed { reason } => Err(Outcome::skip(reason.clone())),
        ArpFacts::Failed { message, hint } => Err(Outcome::error(message.clone(), hint.clone())),
        ArpFacts::Probed(p) => Ok(p),
    }
}

pub fn one_answer(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let probe = match probe_of(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let targets = targets(m);
    if targets.is_empty() {
        return Outcome::skip("no LoadBalancer address is assigned; nothing to probe");
    }
    let mut split = Vec::new();
    let mut silent = Vec::new();
    let mut unjudged = Vec::new();
    let mut good = 0;
    for t in &targets {
        let Some(v) = probe.verdict(t.address) else {
            unjudged.push(format!("{} (not probed)", t.address));
            continue;
        };
        match v.status {
            ArpStatus::InUse => good += 1,
            ArpStatus::Conflict => split.push(format!(
                "{} ({}) answered by {}",
                t.address,
                t.service,
                v.macs.join(" and ")
            )),
            ArpStatus::Free => silent.push(format!("{} ({})", t.address, t.service)),
            other => unjudged.push(format!(
                "{} ({})",
                t.address,
                v.reason
                    .clone()
                    .unwrap_or_else(|| other.label().to_string())
            )),
        }
    }
    let not_probed = if unjudged.is_empty() {
        String::new()
    } else {
        format!("; not judged from here: {}", list(&unjudged, 2))
    };
    if !split.is_empty() {
        let mut message = format!("split brain: {}", list(&split, 2));
        if !silent.is_empty() {
            message.push_str(&format!("; not announced: {}", list(&silent, 2)));
        }
        return Outcome::fail(
            format!("{message}{not_probed}"),
            format!(
                "several MACs answer for one address: with kube-proxy in IPVS mode run {} (LB111); otherwise find the other device (ip neigh; {}) and remove the address from it or from the pool",
                crate::invocation::command_line("enable-strictarp"),
                crate::invocation::command_line("probe ADDRESS")
            ),
        );
    }
    if !silent.is_empty() {
        return Outcome::fail(
            format!(
                "not announced: nobody answers ARP or NDP for {}{not_probed}",
                list(&silent, 3)
            ),
            format!(
                "kubectl -n {} logs daemonset/speaker; check LB406 and LB502; the speaker must be on the same L2 segment as this host",
                f.metallb_namespace
            ),
        );
    }
    if good == 0 {
        return Outcome::skip(format!(
            "no assigned address could be probed from here{not_probed}"
        ));
    }
    Outcome::pass(format!(
        "exactly one MAC answers for {}{not_probed}",
        all_of(good, "address", "addresses")
    ))
}

pub fn announcer_mac(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let probe = match probe_of(f) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut mismatched = Vec::new();
    let mut unknown = Vec::new();
    let mut matched = 0;
    for t in targets(m) {
        let Some(v) = probe.verdict(t.address) else {
            continue;
        };
        if v.status != ArpStatus::InUse {
            continue;
        }
        let (Some(node), Some(node_ip)) = (&t.node, t.node_ip) else {
            unknown.push(format!(
                "{} (no announcing node with an InternalIP)",
                t.address
            ));
            continue;
        };
        let node_macs = probe
            .node_verdict(node_ip)
            .map(|n| n.macs.clone())
            .unwrap_or_default();
        if node_macs.is_empty() {
            unknown.push(format!(
                "{} (node {node} at {node_ip} did not answer)",
                t.address
            ));
        } else if node_macs.iter().any(|mac| v.macs.contains(mac)) {
            matched += 1;
        } else {
            mismatched.push(format!(
                "{} ({}) answered by {} but its announcing node {node} ({node_ip}) is {}",
                t.address,
                t.service,
                v.macs.join(", "),
                node_macs.join(", ")
            ));
        }
    }
    let unknown_text = if unknown.is_empty() {
        String::new()
    } else {
        format!("; could not compare: {}", list(&unknown, 2))
    };
    if !mismatched.is_empty() {
        return Outcome::warn(
            format!("{}{unknown_text}", list(&mismatched, 2)),
            "a stale neighbour entry or another device owns the address: compare with ip neigh on a client, and look for the MAC on the network",
        );
    }
    if matched == 0 {
        return Outcome::skip(format!(
            "no address could be compared with its announcing node{unknown_text}"
        ));
    }
    Outcome::pass(format!(
        "the announcing node's MAC answers for {}{unknown_text}",
        all_of(matched, "address", "addresses")
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{MAC_W1, MAC_W2, healthy, healthy_arp, verdict, with};
    use super::*;
    use crate::checks::Status;

    fn with_arp(edit: impl FnOnce(&mut ArpProbe)) -> DoctorFacts {
        let mut f = healthy();
        let mut probe = healthy_arp();
        edit(&mut probe);
        f.arp = ArpFacts::Probed(probe);
        f
    }

    #[test]
    fn targets_pair_addresses_with_announcing_nodes() {
        let f = healthy();
        let t = targets(f.metallb().unwrap());
        assert_eq!(
            t[0],
            Target {
                address: "192.168.1.240".parse().unwrap(),
                service: "default/web".into(),
                node: Some("w1".into()),
                node_ip: Some("192.168.1.11".parse().unwrap()),
            }
        );
        assert_eq!(t.len(), 2);
    }

    /// Healthy facts where each service also holds an IPv6 address (::240 for web, ::241 for
    /// local) and node w1, unlike w2, has an IPv6 InternalIP.
    fn dual_stack() -> DoctorFacts {
        use k8s_openapi::api::core::v1::{LoadBalancerIngress, NodeAddress};
        let mut f = with(|m| {
            for svc in m.services.as_mut().unwrap() {
                let last = match svc.metadata.name.as_deref() {
                    Some("web") => 240,
                    Some("local") => 241,
                    _ => continue,
                };
                let lb = svc.status.as_mut().unwrap().load_balancer.as_mut().unwrap();
                lb.ingress.as_mut().unwrap().push(LoadBalancerIngress {
                    ip: Some(format!("fd00:1::{last}")),
                    ..Default::default()
                });
            }
            for node in m.nodes.as_mut().unwrap() {
                if node.metadata.name.as_deref() == Some("w1") {
                    let addresses = node.status.as_mut().unwrap().addresses.as_mut().unwrap();
                    addresses.push(NodeAddress {
                        type_: "InternalIP".into(),
                        address: "fd00:1::11".into(),
                    });
                }
            }
        });
        let mut probe = healthy_arp();
        probe.addresses.push(verdict("fd00:1::240", &[MAC_W1]));
        probe.addresses.push(verdict("fd00:1::241", &[MAC_W2]));
        probe.nodes.push(verdict("fd00:1::11", &[MAC_W1]));
        f.arp = ArpFacts::Probed(probe);
        f
    }

    #[test]
    fn ipv6_addresses_are_judged_with_a_node_address_of_their_family_when_there_is_one() {
        let f = dual_stack();
        let t = targets(f.metallb().unwrap());
        assert_eq!(t.len(), 4);
        let node_ip = |address: &str| {
            let address: IpAddr = address.parse().unwrap();
            t.iter()
                .find(|t| t.address == address)
                .unwrap()
                .node_ip
                .unwrap()
                .to_string()
        };
        assert_eq!(node_ip("fd00:1::240"), "fd00:1::11");
        assert_eq!(node_ip("192.168.1.240"), "192.168.1.11");
        // w2 has no IPv6 InternalIP: its IPv4 one tells its MAC (the same NIC answers both).
        assert_eq!(node_ip("fd00:1::241"), "192.168.1.12");

        let o = one_answer(&f);
        assert_eq!(o.message, "exactly one MAC answers for all 4 addresses");
        let o = announcer_mac(&f);
        assert_eq!(
            o.message,
            "the announcing node's MAC answers for all 4 addresses"
        );

        let mut split = f.clone();
        if let ArpFacts::Probed(p) = &mut split.arp {
            p.addresses[2] = verdict("fd00:1::240", &[MAC_W1, MAC_W2]);
        }
        let o = one_answer(&split);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .starts_with("split brain: fd00:1::240 (default/web)"),
            "{}",
            o.message
        );
    }

    #[test]
    fn one_answer_table() {
        let o = one_answer(&healthy());
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.message, "exactly one MAC answers for all 2 addresses");

        let o = one_answer(&with_arp(|p| {
            p.addresses[0] = verdict("192.168.1.240", &[MAC_W1, MAC_W2])
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message,
            "split brain: 192.168.1.240 (default/web) answered by 52:54:00:00:00:11 and 52:54:00:00:00:12"
        );
        assert!(o.hint.unwrap().contains("lbctl enable-strictarp"));

        let o = one_answer(&with_arp(|p| {
            p.addresses[1] = verdict("192.168.1.241", &[])
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message,
            "not announced: nobody answers ARP or NDP for 192.168.1.241 (default/local)"
        );

        let o = one_answer(&with_arp(|p| p.addresses.clear()));
        assert_eq!(o.status, Status::Skip);
        assert!(o.message.contains("192.168.1.240 (not probed)"));

        let mut f = healthy();
        f.arp = ArpFacts::NotProbed {
            reason: "--no-probe".into(),
        };
        assert_eq!(one_answer(&f), Outcome::skip("--no-probe"));
    }

    #[test]
    fn announcer_mac_table() {
        let o = announcer_mac(&healthy());
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "the announcing node's MAC answers for all 2 addresses"
        );

        let o = announcer_mac(&with_arp(|p| {
            p.addresses[0] = verdict("192.168.1.240", &["02:00:00:00:00:99"])
        }));
        assert_eq!(o.status, Status::Warn);
        assert_eq!(
            o.message,
            "192.168.1.240 (default/web) answered by 02:00:00:00:00:99 but its announcing node w1 (192.168.1.11) is 52:54:00:00:00:11"
        );

        let o = announcer_mac(&with_arp(|p| p.nodes.clear()));
        assert_eq!(o.status, Status::Skip);
        assert!(o.message.contains("node w1 at 192.168.1.11 did not answer"));
    }
}
