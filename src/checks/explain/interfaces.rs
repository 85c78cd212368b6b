//! Step 5 (`--nodes`): on the nodes read (the predicted one, those ServiceL2Status names), the
//! interfaces the speaker answers on for the address ([`crate::metallb::answering`]).

use std::net::IpAddr;

use serde::Serialize;

use super::{Advertisement, ClusterView};
use crate::facts::NodeState;
use crate::metallb::answering;

/// One node's interfaces, or why they were not read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInterfaces {
    pub node: String,
    /// MetalLB's election picks this node.
    pub predicted: bool,
    /// Why the node's facts are missing; `None` when read.
    pub not_read: Option<String>,
    pub interfaces: Vec<InterfaceView>,
    /// Answering interfaces sharing a subnet: a request on it reaches each, and each answers
    /// with its own MAC.
    pub shared_segments: Vec<SharedSegment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharedSegment {
    pub subnet: String,
    pub interfaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceView {
    pub name: String,
    pub mac: Option<String>,
    pub addresses: Vec<String>,
    /// The speaker answers ARP/NDP for the address here.
    pub answers: bool,
    /// Why not, when it does not.
    pub reason: Option<String>,
    /// An address of the interface has a subnet holding the address.
    pub on_subnet: bool,
}

impl NodeInterfaces {
    pub fn answering(&self) -> impl Iterator<Item = &InterfaceView> {
        self.interfaces.iter().filter(|i| i.answers)
    }
}

/// The interface names the applying advertisements that select `node` let the speaker answer
/// on (`ipAdvertisementFor`): `None` when one of them names none (every interface).
fn advertised(applying: &[&Advertisement], node: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for ad in applying
        .iter()
        .filter(|a| a.nodes.iter().any(|n| n == node))
    {
        if ad.interfaces.is_empty() {
            return None;
        }
        names.extend(ad.interfaces.iter().cloned());
    }
    Some(names)
}

/// The nodes of `view.node_facts`, the predicted one first; empty without `--nodes`.
pub fn read(
    view: &ClusterView,
    applying: &[&Advertisement],
    predicted: Option<&str>,
    address: Option<IpAddr>,
) -> Vec<NodeInterfaces> {
    let (Some(states), Some(address)) = (&view.node_facts, address) else {
        return Vec::new();
    };
    // A regex the speaker refuses stops the speaker itself; then nothing is excluded here.
    let exclude = answering::exclusions(&view.exclude_l2).ok().flatten();
    let mut out: Vec<NodeInterfaces> = states
        .iter()
        .map(|(node, state)| {
            let mut n = NodeInterfaces {
                node: node.clone(),
                predicted: predicted == Some(node.as_str()),
                not_read: None,
                interfaces: Vec::new(),
                shared_segments: Vec::new(),
            };
            let facts = match state {
                NodeState::Remote { facts, .. } | NodeState::Local { facts, .. } => facts,
                NodeState::Unreadable { message, .. } => {
                    n.not_read = Some(message.clone());
                    return n;
                }
                NodeState::NotRead { reason } => {
                    n.not_read = Some(reason.clone());
                    return n;
                }
            };
            let names = advertised(applying, node);
            let verdicts = answering::judge(
                &facts.interfaces,
                exclude.as_ref(),
                names.as_deref(),
                address,
            );
            n.shared_segments = answering::shared_segments(&verdicts)
                .into_iter()
                .map(|(net, ifs)| SharedSegment {
                    subnet: net.to_string(),
                    interfaces: ifs.iter().map(|i| i.name.clone()).collect(),
                })
                .collect();
            n.interfaces = verdicts
                .into_iter()
                .map(|v| InterfaceView {
                    name: v.interface.name.clone(),
                    mac: v.interface.mac.clone(),
                    addresses: v
                        .interface
                        .addresses
                        .iter()
                        .map(|a| a.to_string())
                        .collect(),
                    answers: v.silent.is_none(),
                    reason: v.silent.map(|s| s.to_string()),
                    on_subnet: v.on_subnet,
                })
                .collect();
            n
        })
        .collect();
    out.sort_by_key(|n| (!n.predicted, n.node.clone()));
    out
}
