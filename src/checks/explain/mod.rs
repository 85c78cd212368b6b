//! `lbctl explain`: why one LoadBalancer address is (not) reachable, node by node. Pure: the
//! facts come in as the API objects, the answer goes out as an [`Explanation`] with one
//! [`Verdict`] (an `LB6xx` code of docs/checks.md). The election itself is
//! [`crate::metallb::election`], which pins MetalLB v0.16.1's rules to its source.

mod candidates;
pub mod human;
pub mod interfaces;
mod verdict;

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use serde::Serialize;

use crate::facts::NodeState;
use crate::facts::metallb::ArpFacts;
pub use crate::k8s_status::ingress_ips;
use crate::k8s_status::is_metallbs_load_balancer;
use crate::metallb::crds::{IPAddressPool, L2Advertisement, ServiceL2Status};
use crate::metallb::election;
use crate::metallb::pools::{covers, selects};
use crate::metallb::speaker::SpeakerPlacement;
use crate::net::pool::Pool;

pub use interfaces::{InterfaceView, NodeInterfaces, SharedSegment};
pub use verdict::{CODES, Code};

/// What `explain` reads about the cluster; lists may hold more than one Service's objects.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    pub metallb_namespace: String,
    pub nodes: Vec<Node>,
    /// The speaker pods (MetalLB namespace, `component=speaker`).
    pub speakers: Vec<Pod>,
    /// The speaker DaemonSet's placement and flags; `None` when there is no such DaemonSet.
    pub speaker: Option<SpeakerPlacement>,
    pub pools: Vec<IPAddressPool>,
    pub advertisements: Vec<L2Advertisement>,
    pub l2_statuses: Vec<ServiceL2Status>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub events: Vec<Event>,
    /// `announcedInterfacesToExclude` of the `metallb-excludel2` ConfigMap (read with `--nodes`).
    pub exclude_l2: Vec<String>,
    /// `--nodes`: the facts of the predicted node and of the nodes ServiceL2Status names;
    /// `None` without `--nodes`.
    pub node_facts: Option<Vec<(String, NodeState)>>,
}

/// The answer for one Service. Field names are the stable `-o json` schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub service: String,
    pub external_traffic_policy: String,
    pub address: Address,
    pub advertisements: Vec<Advertisement>,
    pub endpoints: Endpoints,
    pub candidates: Vec<Candidate>,
    pub election: Option<Election>,
    pub status: Announced,
    /// Step 5, with `--nodes`: the nodes read, the predicted one first.
    pub interfaces: Vec<NodeInterfaces>,
    pub wire: Wire,
    pub verdict: Verdict,
    /// What does not stop the address from working but may confuse clients.
    pub warnings: Vec<Warning>,
}

/// A finding beside the verdict (the exit code follows the verdict alone).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
}

/// Step 1: the address and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// `status.loadBalancer.ingress[].ip`; the first is the one MetalLB elects for.
    pub ips: Vec<String>,
    /// The MetalLB pool holding the first address (MetalLB's `poolFor`: by address, not by the
    /// annotation).
    pub pool: Option<String>,
    /// The latest `AllocationFailed` event's message.
    pub allocation_failure: Option<String>,
}

/// Step 2: one L2Advertisement of the MetalLB namespace and whether it applies.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Advertisement {
    pub name: String,
    pub selects_pool: bool,
    pub selects_service: bool,
    /// Nodes its `nodeSelectors` select (every node when it has none).
    pub nodes: Vec<String>,
    /// `spec.interfaces`; empty means every interface.
    pub interfaces: Vec<String>,
}

/// The Service's endpoints that can serve (`EndpointCanServe`), by node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub serving: usize,
    pub nodes: Vec<String>,
}

/// Step 3: one node, kept or dropped.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub node: String,
    pub kept: bool,
    pub reason: String,
}

/// Step 4: the election for the first address.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Election {
    pub address: String,
    /// Kept candidates in election order with their `sha256(node#ip)`.
    pub order: Vec<Ranked>,
    pub predicted: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub node: String,
    pub sha256: String,
}

/// What MetalLB says it does: ServiceL2Status objects and the latest speaker event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Announced {
    pub l2_statuses: Vec<L2StatusView>,
    pub latest_event: Option<EventView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct L2StatusView {
    pub node: String,
    pub interfaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventView {
    pub reason: String,
    pub message: String,
}

/// Step 6: ARP/NDP for the first address from this host.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wire {
    pub probed: bool,
    /// Why not, when not probed.
    pub reason: Option<String>,
    /// Every MAC that answered for the address.
    pub macs: Vec<String>,
    /// The MAC answering for the predicted node's InternalIP, when learnt.
    pub node_mac: Option<String>,
}

/// Step 7: one verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub code: Code,
    /// The address should be reachable and is announced by the predicted node.
    pub ok: bool,
    pub message: String,
    pub hint: Option<String>,
}

/// The Services `--all` explains: every LoadBalancer Service without a foreign
/// `loadBalancerClass`, by namespace and name.
pub fn load_balancers(services: &[Service]) -> Vec<&Service> {
    let mut out: Vec<&Service> = services
        .iter()
        .filter(|s| is_metallbs_load_balancer(s))
        .collect();
    out.sort_by_key(|s| (s.namespace(), s.name_any()));
    out
}

fn same_service(service: &Service, ns: Option<&str>, name: Option<&str>) -> bool {
    ns == service.metadata.namespace.as_deref() && name == service.metadata.name.as_deref()
}

/// The Service's EndpointSlices and events out of lists that may hold others'.
fn slices_of<'a>(view: &'a ClusterView, service: &Service) -> Vec<&'a EndpointSlice> {
    view.endpoint_slices
        .iter()
        .filter(|s| {
            let name = s
                .labels()
                .get("kubernetes.io/service-name")
                .map(String::as_str);
            same_service(service, s.metadata.namespace.as_deref(), name)
        })
        .collect()
}

fn events_of<'a>(view: &'a ClusterView, service: &Service) -> Vec<&'a Event> {
    view.events
        .iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("Service")
                && same_service(
                    service,
                    e.involved_object.namespace.as_deref(),
                    e.involved_object.name.as_deref(),
                )
        })
        .collect()
}

fn event_time(e: &Event) -> Option<jiff::Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// The latest of the events with one of `reasons`.
fn latest<'a>(events: &[&'a Event], reasons: &[&str]) -> Option<&'a Event> {
    events
        .iter()
        .filter(|e| reasons.contains(&e.reason.as_deref().unwrap_or("")))
        .max_by_key(|e| event_time(e))
        .copied()
}

/// The speaker's latest word on the Service. MetalLB's `SetBalancer` reports `announceFailed`
/// and its caller `nodeAssigned` right after, in the same sync: an `announceFailed` as recent as
/// the latest `nodeAssigned` (API times are whole seconds) is the news, a `nodeAssigned` of a
/// later sync means the failure is over.
fn latest_announcement<'a>(events: &[&'a Event]) -> Option<&'a Event> {
    let assigned = latest(events, &["nodeAssigned"]);
    match latest(events, &["announceFailed"]) {
        Some(failed) if assigned.is_none_or(|a| event_time(failed) >= event_time(a)) => {
            Some(failed)
        }
        _ => assigned,
    }
}

fn in_namespace<'a, T: kube::Resource>(items: &'a [T], ns: &str) -> Vec<&'a T> {
    items
        .iter()
        .filter(|i| i.meta().namespace.as_deref() == Some(ns))
        .collect()
}

/// The nodes whose facts `--nodes` reads for a Service: the predicted one and those its
/// ServiceL2Statuses name.
pub fn nodes_to_read(e: &Explanation) -> Vec<String> {
    let mut nodes: Vec<String> = e
        .election
        .iter()
        .filter_map(|el| el.predicted.clone())
        .chain(e.status.l2_statuses.iter().map(|s| s.node.clone()))
        .filter(|n| !n.is_empty())
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

/// Explains one Service. `wire` is what this host's ARP/NDP probe saw (first address, and the
/// predicted node's InternalIP).
pub fn explain(view: &ClusterView, service: &Service, wire: &ArpFacts) -> Explanation {
    let ns = view.metallb_namespace.as_str();
    let ips = ingress_ips(service);
    let events = events_of(view, service);
    let slices = slices_of(view, service);
    let pools = in_namespace(&view.pools, ns);
    let pool = ips.first().and_then(|ip| {
        pools
            .iter()
            .copied()
            .find(|p| Pool::from_addresses(&p.spec.addresses).is_ok_and(|pool| pool.contains(*ip)))
    });
    let address = Address {
        ips: ips.iter().map(ToString::to_string).collect(),
        pool: pool.map(|p| p.name_any()),
        allocation_failure: latest(&events, &["AllocationFailed"]).and_then(|e| e.message.clone()),
    };

    let node_names: Vec<String> = {
        let mut n: Vec<String> = view.nodes.iter().map(|n| n.name_any()).collect();
        n.sort();
        n
    };
    let advertisements: Vec<Advertisement> =
        in_namespace(&view.advertisements, ns)
            .into_iter()
            .map(|ad| Advertisement {
                name: ad.name_any(),
                selects_pool: pool.is_some_and(|p| covers(&ad.spec, p)),
                selects_service: ad.spec.service_selectors.as_deref().is_none_or(|ss| {
                    ss.is_empty() || ss.iter().any(|s| selects(s, service.labels()))
                }),
                nodes: view
                    .nodes
                    .iter()
                    .filter(|n| candidates::selects_node(ad, n))
                    .map(|n| n.name_any())
                    .collect(),
                interfaces: ad.spec.interfaces.clone().unwrap_or_default(),
            })
            .collect();

    let mut serving = 0;
    let mut serving_nodes = BTreeSet::new();
    for e in slices.iter().flat_map(|s| &s.endpoints) {
        let c = e.conditions.as_ref();
        if election::endpoint_can_serve(c.and_then(|c| c.ready), c.and_then(|c| c.serving)) {
            serving += 1;
            if let Some(n) = &e.node_name {
                serving_nodes.insert(n.clone());
            }
        }
    }
    let endpoints = Endpoints {
        serving,
        nodes: serving_nodes.into_iter().collect(),
    };

    let local = service
        .spec
        .as_ref()
        .and_then(|s| s.external_traffic_policy.as_deref())
        == Some("Local");
    let applying: Vec<&Advertisement> = advertisements
        .iter()
        .filter(|a| a.selects_pool && a.selects_service)
        .collect();
    let candidates = candidates::evaluate(
        view,
        &node_names,
        &applying,
        local.then_some(&endpoints.nodes),
    );
    let election = ips.first().map(|ip| {
        let kept: Vec<&str> = candidates
            .iter()
            .filter(|c| c.kept)
            .map(|c| c.node.as_str())
            .collect();
        let order: Vec<Ranked> = election::order(&kept, *ip)
            .into_iter()
            .map(|(node, hash)| Ranked {
                node,
                sha256: election::hex(&hash),
            })
            .collect();
        Election {
            address: ip.to_string(),
            // Without a serving endpoint MetalLB elects nobody, whatever the candidates.
            predicted: order
                .first()
                .filter(|_| endpoints.serving > 0)
                .map(|r| r.node.clone()),
            order,
        }
    });

    let l2_statuses: Vec<L2StatusView> = in_namespace(&view.l2_statuses, ns)
        .into_iter()
        .filter_map(|s| s.status.as_ref())
        .filter(|s| {
            s.service_namespace.as_deref() == service.metadata.namespace.as_deref()
                && s.service_name.as_deref() == service.metadata.name.as_deref()
        })
        .map(|s| L2StatusView {
            node: s.node.clone().unwrap_or_default(),
            interfaces: s
                .interfaces
                .iter()
                .flatten()
                .filter_map(|i| i.name.clone())
                .collect(),
        })
        .collect();
    let status = Announced {
        l2_statuses,
        latest_event: latest_announcement(&events).map(|e| EventView {
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
        }),
    };
    let wire = wire_view(wire, ips.first().copied(), view, election.as_ref());
    let status_nodes: Vec<&str> = status.l2_statuses.iter().map(|s| s.node.as_str()).collect();
    let predicted = election.as_ref().and_then(|e| e.predicted.as_deref());
    let interfaces: Vec<NodeInterfaces> =
        interfaces::read(view, &applying, predicted, ips.first().copied())
            .into_iter()
            // Only the nodes that matter here, whatever `--nodes` selected.
            .filter(|n| n.predicted || status_nodes.contains(&n.node.as_str()))
            .collect();

    let mut out = Explanation {
        service: format!(
            "{}/{}",
            service.namespace().unwrap_or_default(),
            service.name_any()
        ),
        external_traffic_policy: if local { "Local" } else { "Cluster" }.into(),
        address,
        advertisements,
        endpoints,
        candidates,
        election,
        status,
        interfaces,
        wire,
        verdict: Verdict {
            code: Code::Reachable,
            ok: true,
            message: String::new(),
            hint: None,
        },
        warnings: Vec::new(),
    };
    out.verdict = verdict::judge(&out, ns);
    out.warnings = verdict::warnings(&out);
    out
}

/// The node InternalIP lbctl probes to learn the predicted node's MAC: one of the address's
/// family when it has one.
pub fn node_ip(view: &ClusterView, node: &str, family_of: IpAddr) -> Option<IpAddr> {
    let n = view.nodes.iter().find(|n| n.name_any() == node)?;
    let ips: Vec<IpAddr> = n
        .status
        .as_ref()?
        .addresses
        .iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP")
        .filter_map(|a| a.address.parse().ok())
        .collect();
    ips.iter()
        .find(|ip| ip.is_ipv4() == family_of.is_ipv4())
        .or(ips.first())
        .copied()
}

fn wire_view(
    wire: &ArpFacts,
    address: Option<IpAddr>,
    view: &ClusterView,
    election: Option<&Election>,
) -> Wire {
    let not = |reason: String| Wire {
        probed: false,
        reason: Some(reason),
        macs: vec![],
        node_mac: None,
    };
    let probe = match wire {
        ArpFacts::NotProbed { reason } => return not(reason.clone()),
        ArpFacts::Failed { message, .. } => return not(message.clone()),
        ArpFacts::Probed(p) => p,
    };
    let Some(verdict) = address.and_then(|a| probe.verdict(a)) else {
        return not("the address was not probed".into());
    };
    if let Some(reason) = &verdict.reason {
        return not(reason.clone());
    }
    let node_mac = election
        .and_then(|e| e.predicted.as_deref())
        .and_then(|n| node_ip(view, n, verdict.address))
        .and_then(|ip| probe.node_verdict(ip))
        .and_then(|v| v.macs.first().cloned());
    Wire {
        probed: true,
        reason: None,
        macs: verdict.macs.clone(),
        node_mac,
    }
}

#[cfg(test)]
mod tests;
