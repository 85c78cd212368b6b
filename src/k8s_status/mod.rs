//! Kubernetes status rules, defined once: when a pod or node is ready, why a pod is not, and how
//! far a Deployment or DaemonSet has rolled out. Plain k8s-openapi objects in, plain answers out;
//! no API access, so `checks`, `metallb` and the waits in `kube` all judge the same way.

pub mod node;
pub mod pod;
pub mod rollout;
pub mod service;

pub use node::{node_network_unavailable, node_ready};
pub use pod::{pod_problem, pod_ready};
pub use rollout::{RolloutState, RolloutStatus};
pub use service::{ingress_ips, is_metallbs_load_balancer};
