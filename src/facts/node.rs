//! Facts about the host lbctl runs on, from `src/net` (the proc root is configurable so tests
//! can point it at a fixture tree).

use super::NodeState;
use crate::net::node::NodeNetFacts;
use crate::net::roots::HostRoots;

/// Reads this host's network facts; on other systems than Linux the node checks skip.
pub fn local(roots: &HostRoots) -> NodeState {
    if !cfg!(target_os = "linux") {
        return NodeState::NotRead {
            reason: "node checks need Linux (/proc)".into(),
        };
    }
    let hostname = std::fs::read_to_string(roots.proc_path("sys/kernel/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".into());
    NodeState::Local {
        hostname,
        facts: Box::new(NodeNetFacts::gather(roots)),
    }
}
