//! LB510-LB511: what really answers ARP for each assigned address. Exactly one MAC must answer
//! (several: split brain or strictARP missing; none: not announced), and it should be the MAC of
//! the node MetalLB says announces the address (else a stale entry or another device).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::core::v1::Node;

use super::metallb_facts;
use super::qualified;
use super::services::{announcer, ingress_ips, load_balancers};
use crate::checks::Outcome;
use crate::checks::preflight::list;
use crate::facts::metallb::{ArpFacts, ArpProbe, DoctorFacts, MetalLbFacts};
use crate::net::arp::classify::Status as ArpStatus;

/// An assigned IPv4 address, the service holding it and the node announcing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub address: Ipv4Addr,
    pub service: String,
    pub node: Option<String>,
    /// The announcing node's InternalIP, probed to learn its MAC.
    pub node_ip: Option<Ipv4Addr>,
}

fn internal_ip(node: &Node) -> Option<Ipv4Addr> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .filter(|a| a.type_ == "InternalIP")
        .find_map(|a| a.address.parse().ok())
}

/// What to probe: every assigned IPv4 LoadBalancer address (ARP is IPv4 only), with its node.
pub fn targets(m: &MetalLbFacts) -> Vec<Target> {
    let Ok(services) = &m.services else {
        return vec![];
    };
    let nodes: BTreeMap<String, Option<Ipv4Addr>> = m
        .nodes
        .as_ref()
        .map(|nodes| {
            nodes
                .iter()
                .map(|n| (n.metadata.name.clone().unwrap_or_default(), internal_ip(n)))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for svc in load_balancers(services) {
        let node = announcer(m, svc).map(str::to_string);
        for ip in ingress_ips(svc) {
            let IpAddr::V4(address) = ip else { continue };
            out.push(Target {
                address,
                service: qualified(&svc.metadata),
                node_ip: node.as_ref().and_then(|n| nodes.get(n).copied().flatten()),
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
        return Outcome::skip("no IPv4 LoadBalancer address is assigned; nothing to probe");
    }
    let mut split = Vec::new();
    let mut silent = Vec::new();
    let mut unjudged = Vec::new();
    let mut good = 0;
    for t in &targets {
        let Some(v) = probe.verdict(IpAddr::V4(t.address)) else {
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
            "several MACs answer for one address: with kube-proxy in IPVS mode run lbctl enable-strictarp (LB111); otherwise find the other device (ip neigh; arping -I IFACE ADDRESS) and remove the address from it or from the pool",
        );
    }
    if !silent.is_empty() {
        return Outcome::fail(
            format!(
                "not announced: nobody answers ARP for {}{not_probed}",
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
        "exactly one MAC answers for each of {good} addresses{not_probed}"
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
        let Some(v) = probe.verdict(IpAddr::V4(t.address)) else {
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
            .node_verdict(IpAddr::V4(node_ip))
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
            "a stale ARP entry or another device owns the address: compare with ip neigh on a client, and look for the MAC on the network",
        );
    }
    if matched == 0 {
        return Outcome::skip(format!(
            "no address could be compared with its announcing node{unknown_text}"
        ));
    }
    Outcome::pass(format!(
        "{matched} addresses are answered by the MAC of their announcing node{unknown_text}"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{MAC_W1, MAC_W2, healthy, healthy_arp, verdict};
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
                address: Ipv4Addr::new(192, 168, 1, 240),
                service: "default/web".into(),
                node: Some("w1".into()),
                node_ip: Some(Ipv4Addr::new(192, 168, 1, 11)),
            }
        );
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn one_answer_table() {
        let o = one_answer(&healthy());
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.message, "exactly one MAC answers for each of 2 addresses");

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
            "not announced: nobody answers ARP for 192.168.1.241 (default/local)"
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
            "2 addresses are answered by the MAC of their announcing node"
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
