//! Gathering facts for the checks: from the API (`cluster`) and from the host (`node`).
//! The types are plain data so the checks stay pure and table-testable.

pub mod access;
pub mod cluster;
pub mod doctor;
pub mod explain;
pub mod metallb;
pub mod node;
pub mod nodes;
pub mod pools;
pub mod probe;

use crate::net::node::NodeNetFacts;
use crate::net::pool::Pool;
use cluster::ClusterFacts;

/// Whether and how the cluster was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterState {
    /// Not contacted (`--local`, or no kubeconfig at all); the reason is shown on skipped checks.
    NotUsed {
        reason: String,
    },
    /// Contacted but not usable: unreachable server, rejected credentials.
    Unreachable {
        server: Option<String>,
        message: String,
        hint: String,
    },
    Reached(Box<ClusterFacts>),
}

/// A pool to check, from `--pool` or from an IPAddressPool in `--config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInput {
    /// `--pool #1` or the IPAddressPool's name.
    pub name: String,
    /// Where it came from: `--pool` or the file path.
    pub origin: String,
    /// `metadata.namespace` of an IPAddressPool document, when it has one.
    pub namespace: Option<String>,
    pub pool: Pool,
}

/// Everything `lbctl preflight` judges.
#[derive(Debug, Clone, PartialEq)]
pub struct PreflightFacts {
    pub metallb_namespace: String,
    /// `--for install` (and install's own pre-check): judge the cluster as install will.
    pub for_install: bool,
    /// The speaker LB108 judges the nodes for: the one install renders, with install's (or
    /// preflight's) `--speaker-*` flags.
    pub speaker: crate::metallb::speaker::SpeakerPlacement,
    /// `--for COMMAND`: its missing permissions are failures, and all of them are listed.
    pub permissions_for: Option<crate::permissions::Command>,
    pub cluster: ClusterState,
    pub node: NodeState,
    pub pools: Vec<PoolInput>,
    pub probe: probe::ProbeState,
}

/// The node the node checks judge: the host lbctl runs on, or (`--nodes`) one node of the
/// cluster read by a node-check pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// Node facts were not read; the reason is shown on the skipped node checks.
    NotRead { reason: String },
    Local {
        hostname: String,
        facts: Box<NodeNetFacts>,
    },
    /// A node of the cluster, read through a pod on it.
    Remote {
        node: String,
        facts: Box<NodeNetFacts>,
    },
    /// A selected node whose facts could not be read (not Ready, image pull, timeout, bad
    /// output): LB200 is an error naming the node and why.
    Unreadable {
        node: String,
        message: String,
        hint: String,
    },
}

impl PreflightFacts {
    pub fn cluster(&self) -> Option<&ClusterFacts> {
        match &self.cluster {
            ClusterState::Reached(c) => Some(c),
            _ => None,
        }
    }
}
