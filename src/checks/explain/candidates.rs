//! Step 3: every node, kept or dropped, in the order MetalLB v0.16.1's `speakersForAds` and
//! `nodesWithEndpoint` drop them (see [`crate::metallb::election`] for the source lines).
//!
//! Whether a speaker may announce from a node is [`crate::metallb::speaker`]'s rule (shared
//! with preflight and doctor) and pod and node readiness are [`crate::k8s_status`]'s; what is
//! explain's own is the advertisement's node selection and the Local policy's endpoints.

use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;

use super::{Advertisement, Candidate, ClusterView};
use crate::k8s_status::{pod_problem, pod_ready};
use crate::metallb::crds::L2Advertisement;
use crate::metallb::pools::selects;
use crate::metallb::speaker::{
    IGNORE_EXCLUDE_LB, Ineligible, SpeakerNode, SpeakerPlacement, excluded, placement,
};

/// Whether an advertisement's `nodeSelectors` select a node (none: every node).
pub fn selects_node(ad: &L2Advertisement, node: &Node) -> bool {
    ad.spec
        .node_selectors
        .as_deref()
        .is_none_or(|ss| ss.is_empty() || ss.iter().any(|s| selects(s, node.labels())))
}

/// `local_endpoints`: with `externalTrafficPolicy: Local`, the nodes holding an endpoint that
/// can serve.
pub fn evaluate(
    view: &ClusterView,
    node_names: &[String],
    applying: &[&Advertisement],
    local_endpoints: Option<&Vec<String>>,
) -> Vec<Candidate> {
    // Without a speaker DaemonSet nothing is placed anywhere; the default placement then only
    // serves to honour the exclusion label, as MetalLB does by default.
    let placed_by = view.speaker.clone().unwrap_or_default();
    node_names
        .iter()
        .map(|name| {
            let node = view
                .nodes
                .iter()
                .find(|n| n.name_any() == *name)
                .map(SpeakerNode::of)
                .unwrap_or_default();
            let dropped = |reason: String| Candidate {
                node: name.clone(),
                kept: false,
                reason,
            };
            let speaker = view.speakers.iter().find(|p| {
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name.as_str())
            });
            let Some(speaker) = speaker else {
                return dropped(no_speaker(&node, view.speaker.as_ref()));
            };
            // MetalLB asks memberlist; a Ready speaker pod is the API's view of having joined.
            if !pod_ready(speaker) {
                let why = pod_problem(speaker).unwrap_or_default();
                return dropped(format!(
                    "speaker {} is not ready ({why})",
                    speaker.name_any()
                ));
            }
            if node.network_unavailable {
                return dropped("condition NetworkUnavailable is True".into());
            }
            if excluded(&node, &placed_by) {
                return dropped(format!(
                    "{} (the speaker runs without {IGNORE_EXCLUDE_LB})",
                    Ineligible::Excluded
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

/// Why a node has no speaker pod, when the DaemonSet's placement says (nodeSelector, taint).
fn no_speaker(node: &SpeakerNode, daemonset: Option<&SpeakerPlacement>) -> String {
    match daemonset.map(|d| placement(node, d)) {
        None => "no speaker pod on this node (no speaker DaemonSet)".into(),
        Some(Err(why)) => format!("no speaker pod on this node: {why}"),
        Some(Ok(())) => "no speaker pod on this node".into(),
    }
}
