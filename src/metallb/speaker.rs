//! Which nodes a MetalLB v0.16.1 speaker can announce from: the one rule preflight (before the
//! install, for the speaker lbctl would install) and doctor (for the speaker that runs) share.
//!
//! A speaker announces from its node when the DaemonSet can place a pod there (nodeSelector,
//! taints against its tolerations) and the speaker itself does not step back: it skips nodes
//! that are not Ready or whose network is unavailable, and nodes labelled
//! `node.kubernetes.io/exclude-from-external-load-balancers` unless run with
//! `--ignore-exclude-lb`.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Taint, Toleration};

use crate::k8s_status::{node_network_unavailable, node_ready};

/// The label kubeadm puts on control-plane nodes; MetalLB does not announce from such nodes.
pub const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// The speaker flag that makes it announce from nodes carrying [`EXCLUDE_LABEL`].
pub const IGNORE_EXCLUDE_LB: &str = "--ignore-exclude-lb";

/// Taints the DaemonSet controller tolerates on every daemon pod by itself, so a speaker runs
/// on cordoned or pressured nodes whatever its own tolerations say.
const DAEMONSET_TOLERATED: &[&str] = &[
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/pid-pressure",
    "node.kubernetes.io/unschedulable",
    // Added for host-network pods, as the speaker is.
    "node.kubernetes.io/network-unavailable",
];

/// Where a speaker DaemonSet places its pods and whether it honours [`EXCLUDE_LABEL`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpeakerPlacement {
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub ignore_exclude_lb: bool,
}

impl SpeakerPlacement {
    /// The placement of the speaker lbctl renders with `opts`.
    pub fn rendered(opts: &super::render::RenderOptions) -> SpeakerPlacement {
        SpeakerPlacement::of(&super::workloads::speaker(opts))
    }

    /// Read from a speaker DaemonSet (running, or rendered by lbctl).
    pub fn of(ds: &DaemonSet) -> SpeakerPlacement {
        let template = ds.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        let ignore_exclude_lb = template
            .into_iter()
            .flat_map(|t| t.containers.iter())
            .filter(|c| c.name == "speaker")
            .flat_map(|c| c.args.iter().flatten().chain(c.command.iter().flatten()))
            .any(|a| a == IGNORE_EXCLUDE_LB || a == &format!("{IGNORE_EXCLUDE_LB}=true"));
        SpeakerPlacement {
            node_selector: template
                .and_then(|t| t.node_selector.clone())
                .unwrap_or_default(),
            tolerations: template
                .and_then(|t| t.tolerations.clone())
                .unwrap_or_default(),
            ignore_exclude_lb,
        }
    }
}

/// What the rule needs to know about a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpeakerNode {
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// Condition Ready is True.
    pub ready: bool,
    /// Condition NetworkUnavailable is True.
    pub network_unavailable: bool,
}

impl SpeakerNode {
    pub fn of(node: &Node) -> SpeakerNode {
        SpeakerNode {
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default(),
            ready: node_ready(node),
            network_unavailable: node_network_unavailable(node),
        }
    }
}

/// Why a speaker does not announce from a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Ineligible {
    NotReady,
    NetworkUnavailable,
    /// The speaker's nodeSelector wants `key=value`, which the node lacks.
    NotSelected {
        key: String,
        value: String,
    },
    /// A NoSchedule or NoExecute taint the speaker does not tolerate.
    Tainted(Taint),
    /// The node carries [`EXCLUDE_LABEL`] and the speaker honours it.
    Excluded,
}

impl fmt::Display for Ineligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ineligible::NotReady => f.write_str("NotReady"),
            Ineligible::NetworkUnavailable => f.write_str("NetworkUnavailable"),
            Ineligible::NotSelected { key, value } => {
                write!(
                    f,
                    "not selected by the speaker's nodeSelector {key}={value}"
                )
            }
            Ineligible::Tainted(t) => {
                let value = t
                    .value
                    .as_deref()
                    .map(|v| format!("={v}"))
                    .unwrap_or_default();
                write!(f, "taint {}{value}:{} not tolerated", t.key, t.effect)
            }
            Ineligible::Excluded => write!(f, "labelled {EXCLUDE_LABEL}"),
        }
    }
}

/// Whether `toleration` lets a pod onto a node with `taint` (the scheduler's rule).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let key_ok = match toleration.key.as_deref() {
        None | Some("") => toleration.operator.as_deref() == Some("Exists"),
        Some(key) => key == taint.key,
    };
    let value_ok = toleration.operator.as_deref() == Some("Exists")
        || toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("");
    effect_ok && key_ok && value_ok
}

/// `Ok` when the speaker announces from `node`, else the first reason it does not: the node's
/// state, then placement (nodeSelector, taints), then the exclusion label.
pub fn eligibility(node: &SpeakerNode, speaker: &SpeakerPlacement) -> Result<(), Ineligible> {
    if !node.ready {
        return Err(Ineligible::NotReady);
    }
    if node.network_unavailable {
        return Err(Ineligible::NetworkUnavailable);
    }
    placement(node, speaker)?;
    if excluded(node, speaker) {
        return Err(Ineligible::Excluded);
    }
    Ok(())
}

/// Whether the speaker steps back from `node` because of [`EXCLUDE_LABEL`] (MetalLB's
/// `IsNodeExcludedFromBalancers`, unless `--ignore-exclude-lb`).
pub fn excluded(node: &SpeakerNode, speaker: &SpeakerPlacement) -> bool {
    !speaker.ignore_exclude_lb && node.labels.contains_key(EXCLUDE_LABEL)
}

/// `Ok` when the DaemonSet places a speaker pod on `node`, else why not: its nodeSelector, then
/// a NoSchedule or NoExecute taint it does not tolerate.
pub fn placement(node: &SpeakerNode, speaker: &SpeakerPlacement) -> Result<(), Ineligible> {
    if let Some((key, value)) = speaker
        .node_selector
        .iter()
        .find(|(k, v)| node.labels.get(*k) != Some(*v))
    {
        return Err(Ineligible::NotSelected {
            key: key.clone(),
            value: value.clone(),
        });
    }
    if let Some(t) = node.taints.iter().find(|t| {
        matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")
            && !DAEMONSET_TOLERATED.contains(&t.key.as_str())
            && !speaker.tolerations.iter().any(|tol| tolerates(tol, t))
    }) {
        return Err(Ineligible::Tainted(t.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metallb::RenderOptions;
    use crate::metallb::workloads::speaker;
    use serde_json::json;

    fn obj<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    fn node(labels: serde_json::Value, taints: serde_json::Value) -> SpeakerNode {
        SpeakerNode::of(&obj(json!({
            "metadata": {"name": "n", "labels": labels},
            "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        })))
    }

    fn linux() -> serde_json::Value {
        json!({"kubernetes.io/os": "linux"})
    }

    #[test]
    fn the_speaker_lbctl_installs() {
        let default = SpeakerPlacement::of(&speaker(&RenderOptions::default()));
        assert!(!default.ignore_exclude_lb);
        let control_plane = node(
            json!({"kubernetes.io/os": "linux", EXCLUDE_LABEL: ""}),
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
        );
        assert_eq!(
            eligibility(&control_plane, &default),
            Err(Ineligible::Excluded)
        );
        let ignoring = SpeakerPlacement::of(&speaker(&RenderOptions {
            ignore_exclude_lb: true,
            ..RenderOptions::default()
        }));
        assert!(ignoring.ignore_exclude_lb);
        assert_eq!(eligibility(&control_plane, &ignoring), Ok(()));
        let windows = node(json!({"kubernetes.io/os": "windows"}), json!([]));
        assert_eq!(
            eligibility(&windows, &default).unwrap_err().to_string(),
            "not selected by the speaker's nodeSelector kubernetes.io/os=linux"
        );
    }

    #[test]
    fn node_state_comes_first() {
        let placement = SpeakerPlacement::default();
        let mut n = node(json!({EXCLUDE_LABEL: ""}), json!([]));
        n.ready = false;
        assert_eq!(eligibility(&n, &placement), Err(Ineligible::NotReady));
        n.ready = true;
        n.network_unavailable = true;
        assert_eq!(
            eligibility(&n, &placement),
            Err(Ineligible::NetworkUnavailable)
        );
        n.network_unavailable = false;
        assert_eq!(eligibility(&n, &placement), Err(Ineligible::Excluded));
        assert_eq!(
            Ineligible::Excluded.to_string(),
            "labelled node.kubernetes.io/exclude-from-external-load-balancers"
        );
    }

    #[test]
    fn taints_against_tolerations() {
        let placement = SpeakerPlacement {
            tolerations: vec![obj(json!({"key": "gpu", "operator": "Exists"}))],
            ..SpeakerPlacement::default()
        };
        let cases = [
            (
                json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}]),
                None,
            ),
            (
                json!([{"key": "edge", "value": "true", "effect": "NoExecute"}]),
                Some("taint edge=true:NoExecute not tolerated"),
            ),
            (
                json!([{"key": "edge", "effect": "NoSchedule"}]),
                Some("taint edge:NoSchedule not tolerated"),
            ),
            (json!([{"key": "edge", "effect": "PreferNoSchedule"}]), None),
            // Cordoned: every DaemonSet pod tolerates it.
            (
                json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
                None,
            ),
        ];
        for (taints, want) in cases {
            let got = eligibility(&node(linux(), taints.clone()), &placement);
            assert_eq!(
                got.err().map(|e| e.to_string()).as_deref(),
                want,
                "{taints}"
            );
        }
    }

    #[test]
    fn tolerations_follow_the_scheduler() {
        let taint: Taint = obj(json!({"key": "k", "value": "v", "effect": "NoSchedule"}));
        let cases = [
            (json!({"operator": "Exists"}), true),
            (json!({"key": "k", "operator": "Exists"}), true),
            (json!({"key": "k", "operator": "Equal", "value": "v"}), true),
            (
                json!({"key": "k", "value": "v", "effect": "NoSchedule"}),
                true,
            ),
            (
                json!({"key": "k", "operator": "Equal", "value": "w"}),
                false,
            ),
            (
                json!({"key": "k", "operator": "Exists", "effect": "NoExecute"}),
                false,
            ),
            (json!({"key": "other", "operator": "Exists"}), false),
        ];
        for (tol, want) in cases {
            assert_eq!(tolerates(&obj(tol.clone()), &taint), want, "{tol}");
        }
    }

    #[test]
    fn the_flag_is_read_from_the_speaker_container() {
        let ds = |args: serde_json::Value| -> DaemonSet {
            obj(
                json!({"spec": {"selector": {}, "template": {"spec": {"containers": [
                {"name": "speaker", "args": args}]}}}}),
            )
        };
        assert!(
            SpeakerPlacement::of(&ds(json!(["--port=7472", "--ignore-exclude-lb"])))
                .ignore_exclude_lb
        );
        assert!(SpeakerPlacement::of(&ds(json!(["--ignore-exclude-lb=true"]))).ignore_exclude_lb);
        assert!(!SpeakerPlacement::of(&ds(json!(["--port=7472"]))).ignore_exclude_lb);
    }
}
