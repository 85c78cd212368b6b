//! Step 3: every node, kept or dropped, in the order MetalLB v0.16.1's `speakersForAds` and
//! `nodesWithEndpoint` drop them (see [`crate::metallb::election`] for the source lines).

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;

use super::{Advertisement, Candidate, ClusterView};
use crate::metallb::crds::L2Advertisement;
use crate::metallb::pools::selects;

pub const EXCLUDE_LB: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// Whether an advertisement's `nodeSelectors` select a node (none: every node).
pub fn selects_node(ad: &L2Advertisement, node: &Node) -> bool {
    ad.spec
        .node_selectors
        .as_deref()
        .is_none_or(|ss| ss.is_empty() || ss.iter().any(|s| selects(s, node.labels())))
}

/// A speaker MetalLB counts: running and Ready (it has joined memberlist by then).
fn pod_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn network_unavailable(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "NetworkUnavailable" && c.status == "True")
        })
}

/// `local_endpoints`: with `externalTrafficPolicy: Local`, the nodes holding an endpoint that
/// can serve.
pub fn evaluate(
    view: &ClusterView,
    node_names: &[String],
    applying: &[&Advertisement],
    local_endpoints: Option<&Vec<String>>,
) -> Vec<Candidate> {
    node_names
        .iter()
        .map(|name| {
            let node = view.nodes.iter().find(|n| n.name_any() == *name);
            let speaker = view.speakers.iter().find(|p| {
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name.as_str())
            });
            let dropped = |reason: String| Candidate {
                node: name.clone(),
                kept: false,
                reason,
            };
            let Some(speaker) = speaker else {
                return dropped("no speaker pod on this node".into());
            };
            if !pod_ready(speaker) {
                return dropped(format!("speaker {} is not ready", speaker.name_any()));
            }
            if node.is_some_and(network_unavailable) {
                return dropped("condition NetworkUnavailable is True".into());
            }
            if !view.ignore_exclude_lb && node.is_some_and(|n| n.labels().contains_key(EXCLUDE_LB))
            {
                return dropped(format!(
                    "labelled {EXCLUDE_LB} (the speaker runs without --ignore-exclude-lb)"
                ));
            }
            if applying.is_empty() {
                return dropped("no L2Advertisement applies to this Service".into());
            }
            if !applying.iter().any(|a| a.nodes.contains(name)) {
                let names: Vec<&str> = applying.iter().map(|a| a.name.as_str()).collect();
                return dropped(format!(
                    "not selected by the nodeSelectors of L2Advertisement {}",
                    names.join(", ")
                ));
            }
            if let Some(local) = local_endpoints
                && !local.contains(name)
            {
                return dropped(
                    "externalTrafficPolicy Local and no serving endpoint on this node".into(),
                );
            }
            Candidate {
                node: name.clone(),
                kept: true,
                reason: "ready speaker, selected by an L2Advertisement".into(),
            }
        })
        .collect()
}
