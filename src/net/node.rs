//! Everything the network layer knows about one node, as plain serialisable data, so a remote
//! fact-gathering pod can produce exactly what a local run reads.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::interfaces::{self, Interface};
use super::modules::IpvsSupport;
use super::ports::{MEMBERLIST_PORT, PortUse};
use super::roots::{HostRoots, NodeFiles};
use super::routes::{RouteDecision, RouteTable};
use super::sysctl::ArpSysctls;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeNetFacts {
    /// `None` when `/proc/sys/net/ipv4/conf` could not be read.
    pub sysctls: Option<ArpSysctls>,
    pub ipvs: IpvsSupport,
    pub interfaces: Vec<Interface>,
    pub routes: RouteTable,
    pub memberlist: PortUse,
}

/// Where a pool address would go from this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AddressPath {
    /// Configured on this node already.
    Local {
        interface: String,
    },
    /// On a directly connected network of `interface`: L2 mode can announce it there.
    OnLink {
        interface: String,
    },
    /// Behind a router: L2 mode cannot announce it from this node.
    ViaGateway {
        interface: String,
        gateway: IpAddr,
    },
    NoRoute,
}

impl NodeNetFacts {
    /// Reads the node this process runs on (interfaces from the current network namespace).
    pub fn gather(roots: &HostRoots) -> NodeNetFacts {
        NodeNetFacts {
            interfaces: interfaces::list(),
            ..NodeNetFacts::from_files(roots)
        }
    }

    /// Reads a node from its files only (a node-check pod's dump, or a fixture tree): the
    /// same readers, with the interfaces from sysfs and /proc instead of the kernel's API.
    pub fn from_files(files: &impl NodeFiles) -> NodeNetFacts {
        NodeNetFacts {
            sysctls: ArpSysctls::read(files),
            ipvs: IpvsSupport::read(files),
            interfaces: interfaces::read(files),
            routes: RouteTable::read(files),
            memberlist: PortUse::read(files, MEMBERLIST_PORT),
        }
    }

    /// `ip route get` for one address, with this node's own addresses first.
    pub fn path_to(&self, addr: IpAddr) -> AddressPath {
        path_to(&self.interfaces, &self.routes, addr)
    }

    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
}

/// `ip route get` for one address over the given interfaces and routes.
pub fn path_to(interfaces: &[Interface], routes: &RouteTable, addr: IpAddr) -> AddressPath {
    if let Some(owner) = interfaces.iter().find(|i| i.has_address(addr)) {
        return AddressPath::Local {
            interface: owner.name.clone(),
        };
    }
    match routes.get(addr) {
        Some(RouteDecision {
            interface,
            gateway: None,
        }) => AddressPath::OnLink { interface },
        Some(RouteDecision {
            interface,
            gateway: Some(gateway),
        }) => AddressPath::ViaGateway { interface, gateway },
        None => AddressPath::NoRoute,
    }
}
