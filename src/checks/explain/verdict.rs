//! Step 7: one verdict per Service, first cause first: an address, an advertisement, an
//! endpoint, a candidate, then whether MetalLB did what the election predicts, then the wire.

use serde::Serialize;

use super::{Explanation, NodeInterfaces, Verdict, Warning};

/// The reason codes, each with an anchor in docs/checks.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Code {
    #[serde(rename = "LB600")]
    Reachable,
    #[serde(rename = "LB601")]
    NotAssigned,
    #[serde(rename = "LB602")]
    PoolExhausted,
    #[serde(rename = "LB603")]
    NotFromPool,
    #[serde(rename = "LB604")]
    NoAdvertisement,
    #[serde(rename = "LB605")]
    NoEndpoints,
    #[serde(rename = "LB606")]
    NoLocalEndpoint,
    #[serde(rename = "LB607")]
    NoCandidate,
    #[serde(rename = "LB608")]
    NotAnnounced,
    #[serde(rename = "LB609")]
    OtherNode,
    #[serde(rename = "LB610")]
    AnnounceFailed,
    #[serde(rename = "LB611")]
    SeveralMacs,
    #[serde(rename = "LB612")]
    NoAnswer,
    #[serde(rename = "LB613")]
    WrongMac,
    #[serde(rename = "LB614")]
    NoAnsweringInterface,
    #[serde(rename = "LB615")]
    OffSubnet,
    #[serde(rename = "LB616")]
    SharedSegment,
}

/// Every code, for the catalog test.
pub const CODES: &[Code] = &[
    Code::Reachable,
    Code::NotAssigned,
    Code::PoolExhausted,
    Code::NotFromPool,
    Code::NoAdvertisement,
    Code::NoEndpoints,
    Code::NoLocalEndpoint,
    Code::NoCandidate,
    Code::NotAnnounced,
    Code::OtherNode,
    Code::AnnounceFailed,
    Code::SeveralMacs,
    Code::NoAnswer,
    Code::WrongMac,
    Code::NoAnsweringInterface,
    Code::OffSubnet,
    Code::SharedSegment,
];

impl Code {
    pub fn id(self) -> &'static str {
        match self {
            Code::Reachable => "LB600",
            Code::NotAssigned => "LB601",
            Code::PoolExhausted => "LB602",
            Code::NotFromPool => "LB603",
            Code::NoAdvertisement => "LB604",
            Code::NoEndpoints => "LB605",
            Code::NoLocalEndpoint => "LB606",
            Code::NoCandidate => "LB607",
            Code::NotAnnounced => "LB608",
            Code::OtherNode => "LB609",
            Code::AnnounceFailed => "LB610",
            Code::SeveralMacs => "LB611",
            Code::NoAnswer => "LB612",
            Code::WrongMac => "LB613",
            Code::NoAnsweringInterface => "LB614",
            Code::OffSubnet => "LB615",
            Code::SharedSegment => "LB616",
        }
    }
}

fn fail(code: Code, message: String, hint: String) -> Verdict {
    Verdict {
        code,
        ok: false,
        message,
        hint: Some(hint),
    }
}

pub fn judge(e: &Explanation, ns: &str) -> Verdict {
    let svc = &e.service;
    let (svc_ns, svc_name) = svc.split_once('/').unwrap_or(("", svc));
    let describe = format!("kubectl -n {svc_ns} describe service {svc_name}");
    let Some(ip) = e.address.ips.first() else {
        return match &e.address.allocation_failure {
            Some(m) if m.contains("no available IPs") => fail(
                Code::PoolExhausted,
                format!("no address: the pool is exhausted ({m})"),
                format!("add addresses to the pool or free some: kubectl -n {ns} get ipaddresspools"),
            ),
            Some(m) => fail(
                Code::NotAssigned,
                format!("no address: MetalLB's controller says {m:?}"),
                describe,
            ),
            None => fail(
                Code::NotAssigned,
                "no address, and no AllocationFailed event: MetalLB's controller has not processed this Service (no pool in its namespace, or the controller is not running)".into(),
                crate::invocation::command_line("doctor"),
            ),
        };
    };
    let Some(pool) = &e.address.pool else {
        return fail(
            Code::NotFromPool,
            format!(
                "{ip} is in no IPAddressPool of {ns}: MetalLB did not assign it and will not announce it"
            ),
            format!("kubectl get ipaddresspools -A; {describe}"),
        );
    };
    let for_pool: Vec<&str> = e
        .advertisements
        .iter()
        .filter(|a| a.selects_pool)
        .map(|a| a.name.as_str())
        .collect();
    if !e
        .advertisements
        .iter()
        .any(|a| a.selects_pool && a.selects_service)
    {
        let message = if for_pool.is_empty() {
            format!(
                "{ip} is assigned from pool {pool}, but no L2Advertisement in {ns} selects that pool: nobody announces it"
            )
        } else {
            format!(
                "{ip} is assigned from pool {pool}, but the serviceSelectors of L2Advertisement {} do not select this Service: nobody announces it",
                for_pool.join(", ")
            )
        };
        return fail(
            Code::NoAdvertisement,
            message,
            format!(
                "printf 'apiVersion: metallb.io/v1beta1\\nkind: L2Advertisement\\nmetadata: {{name: {pool}, namespace: {ns}}}\\nspec: {{ipAddressPools: [{pool}]}}\\n' | kubectl apply -f -"
            ),
        );
    }
    if e.endpoints.serving == 0 {
        return fail(
            Code::NoEndpoints,
            format!(
                "{ip} has no serving endpoint: MetalLB announces nothing for a Service without one"
            ),
            format!(
                "kubectl -n {svc_ns} get endpointslices -l kubernetes.io/service-name={svc_name}"
            ),
        );
    }
    let Some(predicted) = e.election.as_ref().and_then(|el| el.predicted.as_ref()) else {
        let local_dropped = e
            .candidates
            .iter()
            .any(|c| c.reason.starts_with("externalTrafficPolicy Local"));
        if e.external_traffic_policy == "Local" && local_dropped {
            return fail(
                Code::NoLocalEndpoint,
                format!(
                    "externalTrafficPolicy Local and no node that may announce holds a serving endpoint (endpoints on: {}): nobody announces {ip}",
                    list_or_none(&e.endpoints.nodes)
                ),
                "schedule a pod of the Service on a node that may announce, or use externalTrafficPolicy: Cluster".into(),
            );
        }
        let reasons: Vec<String> = e
            .candidates
            .iter()
            .map(|c| format!("{}: {}", c.node, c.reason))
            .collect();
        return fail(
            Code::NoCandidate,
            format!("every node is dropped, nobody announces {ip} ({})", list_or_none(&reasons)),
            "remove node.kubernetes.io/exclude-from-external-load-balancers from a node (or install with --ignore-exclude-lb), widen the L2Advertisement's nodeSelectors, or fix the speakers".into(),
        );
    };
    let status_nodes: Vec<&str> = e
        .status
        .l2_statuses
        .iter()
        .map(|s| s.node.as_str())
        .collect();
    if let Some(ev) = &e.status.latest_event
        && ev.reason == "announceFailed"
    {
        return fail(
            Code::AnnounceFailed,
            format!(
                "{predicted} should announce {ip}, but its speaker reported announceFailed: {}",
                ev.message
            ),
            format!(
                "check the L2Advertisement's interfaces on {predicted}; kubectl -n {ns} logs -l component=speaker --field-selector spec.nodeName={predicted}"
            ),
        );
    }
    if status_nodes.is_empty() {
        return fail(
            Code::NotAnnounced,
            format!(
                "{predicted} should announce {ip}, but no ServiceL2Status says any node does: its speaker is not serving"
            ),
            format!(
                "kubectl -n {ns} logs -l component=speaker --field-selector spec.nodeName={predicted}"
            ),
        );
    }
    if !status_nodes.contains(&predicted.as_str()) || status_nodes.len() > 1 {
        return fail(
            Code::OtherNode,
            format!(
                "MetalLB's election picks {predicted} for {ip}, but ServiceL2Status names {}: a stale status or a speaker of another version",
                status_nodes.join(", ")
            ),
            format!(
                "kubectl -n {ns} get servicel2statuses -o wide; compare the speakers' versions"
            ),
        );
    }
    // With `--nodes`: the predicted node's interfaces, and its MACs for the wire.
    let node = e
        .interfaces
        .iter()
        .find(|n| n.predicted && n.not_read.is_none());
    if let Some(n) = node {
        let answering: Vec<&str> = n.answering().map(|i| i.name.as_str()).collect();
        if answering.is_empty() {
            let why: Vec<String> = n
                .interfaces
                .iter()
                .map(|i| format!("{}: {}", i.name, i.reason.as_deref().unwrap_or("")))
                .collect();
            return fail(
                Code::NoAnsweringInterface,
                format!(
                    "{predicted} should announce {ip}, but its speaker answers ARP/NDP on none of its interfaces ({})",
                    list_or_none(&why)
                ),
                format!(
                    "bring up the interface on {ip}'s segment, take it out of the {ns}/metallb-excludel2 ConfigMap, or list it in the L2Advertisement's interfaces"
                ),
            );
        }
        if !n.answering().any(|i| i.on_subnet) {
            return fail(
                Code::OffSubnet,
                format!(
                    "{predicted}'s speaker answers for {ip} on {}, but none of them has an address in {ip}'s subnet: the pool is not on the node's segment",
                    answering.join(", ")
                ),
                format!(
                    "use a pool on the subnet of {predicted}'s LAN interface (ip -br addr on the node), or limit the L2Advertisement's interfaces to the one on {ip}'s segment"
                ),
            );
        }
    }
    if e.wire.probed
        && let Some(n) = node
    {
        return judge_wire_by_facts(e, n, ip, predicted, ns)
            .unwrap_or_else(|| reachable(ip, predicted, true));
    }
    if e.wire.probed {
        match e.wire.macs.as_slice() {
            [] => {
                return fail(
                    Code::NoAnswer,
                    format!(
                        "{predicted} should announce {ip}, but nothing answered ARP/NDP for it"
                    ),
                    format!(
                        "kubectl -n {ns} logs -l component=speaker --field-selector spec.nodeName={predicted}"
                    ),
                );
            }
            [mac] => {
                if let Some(node_mac) = &e.wire.node_mac
                    && !node_mac.eq_ignore_ascii_case(mac)
                {
                    return fail(
                        Code::WrongMac,
                        format!(
                            "{mac} answers for {ip}, but {predicted} answers with {node_mac}: another device, or a stale neighbour entry"
                        ),
                        format!(
                            "find the owner of {mac} on the segment (ip neigh; the switch's MAC table)"
                        ),
                    );
                }
            }
            macs => {
                return fail(
                    Code::SeveralMacs,
                    format!(
                        "{} MACs answer for {ip} ({}): two hosts claim it, so clients reach either",
                        macs.len(),
                        macs.join(", ")
                    ),
                    crate::invocation::command_line(
                        "enable-strictarp (kube-proxy IPVS without strictARP answers on every node), or find the other device",
                    ),
                );
            }
        }
    }
    reachable(ip, predicted, e.wire.probed)
}

fn reachable(ip: &str, predicted: &str, probed: bool) -> Verdict {
    let on_wire = if probed {
        ", and it answers ARP/NDP"
    } else {
        ""
    };
    Verdict {
        code: Code::Reachable,
        ok: true,
        message: format!(
            "{ip} is announced by {predicted}, as MetalLB's election predicts{on_wire}"
        ),
        hint: None,
    }
}

/// Who owns a MAC among the nodes read: `node's interface`.
fn owner(e: &Explanation, mac: &str) -> Option<String> {
    e.interfaces.iter().find_map(|n| {
        n.interfaces
            .iter()
            .find(|i| {
                i.mac
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(mac))
            })
            .map(|i| format!("{}'s {}", n.node, i.name))
    })
}

/// The wire against the MACs of the predicted node's answering interfaces (`--nodes`), in
/// place of the MAC learnt by ARP for its InternalIP. `None`: nothing wrong.
fn judge_wire_by_facts(
    e: &Explanation,
    node: &NodeInterfaces,
    ip: &str,
    predicted: &str,
    ns: &str,
) -> Option<Verdict> {
    let mine = |mac: &str| {
        node.answering().any(|i| {
            i.mac
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(mac))
        })
    };
    let answering: Vec<String> = node
        .answering()
        .map(|i| format!("{} {}", i.name, i.mac.as_deref().unwrap_or("(no MAC)")))
        .collect();
    let foreign: Vec<&String> = e.wire.macs.iter().filter(|m| !mine(m)).collect();
    match (e.wire.macs.as_slice(), foreign.as_slice()) {
        ([], _) => Some(fail(
            Code::NoAnswer,
            format!(
                "{predicted} should announce {ip} (on {}), but nothing answered ARP/NDP for it",
                answering.join(", ")
            ),
            format!(
                "kubectl -n {ns} logs -l component=speaker --field-selector spec.nodeName={predicted}"
            ),
        )),
        (_, []) => None,
        ([mac], _) => {
            let whose = owner(e, mac).map(|o| format!(" ({o})")).unwrap_or_default();
            Some(fail(
                Code::WrongMac,
                format!(
                    "{mac}{whose} answers for {ip}, but {predicted}'s speaker answers on {}: another device, or a stale neighbour entry",
                    answering.join(", ")
                ),
                format!(
                    "find the owner of {mac} on the segment (ip neigh; the switch's MAC table)"
                ),
            ))
        }
        (macs, _) => {
            let named: Vec<String> = macs
                .iter()
                .map(|m| match owner(e, m) {
                    Some(o) => format!("{m} {o}"),
                    None => m.clone(),
                })
                .collect();
            Some(fail(
                Code::SeveralMacs,
                format!(
                    "{} MACs answer for {ip} ({}): two hosts claim it, so clients reach either",
                    macs.len(),
                    named.join(", ")
                ),
                crate::invocation::command_line(
                    "enable-strictarp (kube-proxy IPVS without strictARP answers on every node), or find the other device",
                ),
            ))
        }
    }
}

/// Findings beside the verdict: the predicted node answering on several interfaces of one
/// subnet (two MACs for one IP on that segment).
pub fn warnings(e: &Explanation) -> Vec<Warning> {
    let Some(ip) = e.address.ips.first() else {
        return Vec::new();
    };
    e.interfaces
        .iter()
        .filter(|n| n.predicted)
        .flat_map(|n| {
            n.shared_segments.iter().map(move |s| Warning {
                code: Code::SharedSegment,
                message: format!(
                    "{}'s speaker answers for {ip} on {}, all on {}: clients on that segment may learn either MAC",
                    n.node,
                    s.interfaces.join(", "),
                    s.subnet
                ),
                hint: Some(format!(
                    "limit the L2Advertisement's interfaces to one of {} (or bond them)",
                    s.interfaces.join(", ")
                )),
            })
        })
        .collect()
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join("; ")
    }
}
