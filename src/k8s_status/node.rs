//! Node conditions as the scheduler and MetalLB read them.

use k8s_openapi::api::core::v1::{Node, NodeCondition};

/// The node's condition `kind`, when the node reports it.
fn condition<'a>(node: &'a Node, kind: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == kind))
}

/// Whether the node's condition `kind` is `True` (a missing condition is not).
fn condition_true(node: &Node, kind: &str) -> bool {
    condition(node, kind).is_some_and(|c| c.status == "True")
}

/// The kubelet reports the node Ready.
pub fn node_ready(node: &Node) -> bool {
    condition_true(node, "Ready")
}

/// The node's Ready condition, for saying why a node is not Ready (`None`: never reported).
pub fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    condition(node, "Ready")
}

/// The network plugin says the node's network is not set up yet.
pub fn node_network_unavailable(node: &Node) -> bool {
    condition_true(node, "NetworkUnavailable")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(conditions: serde_json::Value) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": "n"}, "status": {"conditions": conditions}}),
        )
        .unwrap()
    }

    #[test]
    fn conditions_count_only_when_true() {
        assert!(node_ready(&node(
            json!([{"type": "Ready", "status": "True"}])
        )));
        assert!(!node_ready(&node(
            json!([{"type": "Ready", "status": "Unknown"}])
        )));
        assert!(!node_ready(&node(json!([]))));
        assert!(!node_ready(&Node::default()), "no status yet");
        let n = node(json!([{"type": "Ready", "status": "True"},
            {"type": "NetworkUnavailable", "status": "True"}]));
        assert!(node_network_unavailable(&n));
        let n = node(json!([{"type": "NetworkUnavailable", "status": "False"}]));
        assert!(!node_network_unavailable(&n));
    }
}
