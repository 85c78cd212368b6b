//! MetalLB facts for `lbctl doctor` (and `lbctl explain`): the API objects that tell whether MetalLB runs, accepts its
//! configuration and announces every assigned address. Kept as the typed objects the API
//! returns (k8s-openapi and `crate::metallb::crds` types), one source per list, so the rules in
//! `checks::doctor` stay pure and a 403 on one list only turns the checks that need it into
//! `error`.

mod gather;

pub use gather::gather;
pub(crate) use gather::list_crd;

use std::net::IpAddr;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use super::cluster::Source;
use crate::metallb::crds::{ConfigurationState, IPAddressPool, L2Advertisement, ServiceL2Status};
use crate::net::arp::classify::Verdict;

/// The server-side dry-run create of an IPAddressPool that proves the webhook answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolDryRun {
    Accepted,
    /// The API server refused it; the message is the API's, classified by the check.
    Rejected {
        code: u16,
        message: String,
    },
}

/// The objects read from the cluster, each list with its own outcome.
#[derive(Debug, Clone)]
pub struct MetalLbFacts {
    /// The MetalLB namespace; `None` when it does not exist.
    pub namespace: Source<Option<Namespace>>,
    /// Every CRD of the cluster (MetalLB's are picked by name).
    pub crds: Source<Vec<CustomResourceDefinition>>,
    /// Deployments, DaemonSets, pods and Secrets of the MetalLB namespace.
    pub deployments: Source<Vec<Deployment>>,
    pub daemonsets: Source<Vec<DaemonSet>>,
    pub pods: Source<Vec<Pod>>,
    pub secrets: Source<Vec<Secret>>,
    pub nodes: Source<Vec<Node>>,
    /// `metallb-webhook-configuration`; `None` when it does not exist.
    pub webhook_configuration: Source<Option<ValidatingWebhookConfiguration>>,
    pub dry_run: Source<PoolDryRun>,
    /// ConfigurationStates, ServiceL2Statuses of the MetalLB namespace.
    pub configuration_states: Source<Vec<ConfigurationState>>,
    pub l2_statuses: Source<Vec<ServiceL2Status>>,
    /// Pools and L2Advertisements of every namespace (MetalLB ignores all but its own).
    pub pools: Source<Vec<IPAddressPool>>,
    pub l2_advertisements: Source<Vec<L2Advertisement>>,
    /// Every Service, and the `AllocationFailed` events of every namespace.
    pub services: Source<Vec<Service>>,
    pub events: Source<Vec<Event>>,
    /// Every EndpointSlice (the webhook's and those of `externalTrafficPolicy: Local` services).
    pub endpoint_slices: Source<Vec<EndpointSlice>>,
}

/// The ARP part of doctor.
#[derive(Debug, Clone, PartialEq)]
pub enum ArpFacts {
    /// Not probed; the reason is the skip message (`--no-probe`, no CAP_NET_RAW, ...).
    NotProbed {
        reason: String,
    },
    /// Probing was required (`--probe`) but impossible, or it failed.
    Failed {
        message: String,
        hint: String,
    },
    Probed(ArpProbe),
}

/// What answered for the assigned addresses and for the nodes' InternalIPs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArpProbe {
    /// One verdict per assigned IPv4 LoadBalancer address.
    pub addresses: Vec<Verdict>,
    /// One verdict per node InternalIP that was probed, to learn each node's MAC.
    pub nodes: Vec<Verdict>,
}

impl ArpProbe {
    pub fn verdict(&self, address: IpAddr) -> Option<&Verdict> {
        self.addresses.iter().find(|v| v.address == address)
    }

    pub fn node_verdict(&self, address: IpAddr) -> Option<&Verdict> {
        self.nodes.iter().find(|v| v.address == address)
    }
}
