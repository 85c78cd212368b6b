//! The node's interfaces as plain data, and which of them ARP probing may use.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// `IFF_LOOPBACK` and `IFF_NOARP` from `<linux/if.h>`.
const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_NOARP: u32 = 0x80;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    /// `aa:bb:cc:dd:ee:ff`; absent on interfaces without a link-layer address.
    pub mac: Option<String>,
    /// Raw `IFF_*` flags.
    pub flags: u32,
    pub addresses: Vec<IpNet>,
}

/// Why an interface is never used for ARP probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    Loopback,
    NoArp,
    Down,
    NoMac,
    /// kube-proxy's IPVS dummy (`kube-ipvs0`) holds every Service IP.
    KubeIpvs,
    /// CNI bridges, tunnels and pod veths are not the node's LAN.
    CniOrTunnel,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipReason::Loopback => "loopback",
            SkipReason::NoArp => "the interface has the NOARP flag",
            SkipReason::Down => "the interface is down",
            SkipReason::NoMac => "the interface has no MAC address",
            SkipReason::KubeIpvs => "kube-ipvs0 is kube-proxy's dummy interface",
            SkipReason::CniOrTunnel => "a CNI, container or tunnel interface",
        })
    }
}

/// Name prefixes of CNI bridges, overlay tunnels and container links.
const CNI_PREFIXES: [&str; 18] = [
    "cni",
    "flannel",
    "cali",
    "vxlan",
    "tunl",
    "cilium_",
    "lxc",
    "weave",
    "datapath",
    "docker",
    "veth",
    "kube-bridge",
    "kube-dummy",
    "nodelocaldns",
    "genev",
    "ovn-k8s",
    "wg",
    "tailscale",
];

impl Interface {
    pub fn is_loopback(&self) -> bool {
        self.flags & IFF_LOOPBACK != 0
    }

    pub fn is_noarp(&self) -> bool {
        self.flags & IFF_NOARP != 0
    }

    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    /// `None` when probing may use this interface, else the reason it may not.
    pub fn probe_skip_reason(&self) -> Option<SkipReason> {
        if self.is_loopback() {
            Some(SkipReason::Loopback)
        } else if self.name == "kube-ipvs0" {
            Some(SkipReason::KubeIpvs)
        } else if CNI_PREFIXES.iter().any(|p| self.name.starts_with(p)) {
            Some(SkipReason::CniOrTunnel)
        } else if self.is_noarp() {
            Some(SkipReason::NoArp)
        } else if !self.is_up() {
            Some(SkipReason::Down)
        } else if self.mac.as_deref().is_none_or(|m| m == "00:00:00:00:00:00") {
            Some(SkipReason::NoMac)
        } else {
            None
        }
    }

    pub fn has_address(&self, addr: IpAddr) -> bool {
        self.addresses.iter().any(|net| net.addr() == addr)
    }
}

/// Every address configured on any interface (what `ip addr` lists).
pub fn local_addresses(interfaces: &[Interface]) -> Vec<IpAddr> {
    interfaces
        .iter()
        .flat_map(|i| i.addresses.iter().map(IpNet::addr))
        .collect()
}

/// The interfaces of the network namespace this process runs in.
pub fn list() -> Vec<Interface> {
    pnet::datalink::interfaces()
        .into_iter()
        .map(|i| Interface {
            addresses: i
                .ips
                .iter()
                .filter_map(|n| IpNet::new(n.ip(), n.prefix()).ok())
                .collect(),
            mac: i.mac.map(|m| m.to_string()),
            name: i.name,
            index: i.index,
            flags: i.flags,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, flags: u32, mac: Option<&str>) -> Interface {
        Interface {
            name: name.into(),
            index: 2,
            mac: mac.map(Into::into),
            flags,
            addresses: vec!["192.168.10.5/24".parse().unwrap()],
        }
    }

    #[test]
    fn skips_interfaces_that_cannot_carry_probes() {
        let mac = Some("52:54:00:12:34:56");
        let cases = [
            (iface("eth0", 0x1043, mac), None),
            (iface("eth0.100", 0x1043, mac), None),
            (iface("lo", 0x49, None), Some(SkipReason::Loopback)),
            (iface("kube-ipvs0", 0xc2, mac), Some(SkipReason::KubeIpvs)),
            (
                iface("cali12ab", 0x1043, mac),
                Some(SkipReason::CniOrTunnel),
            ),
            (
                iface("flannel.1", 0x1043, mac),
                Some(SkipReason::CniOrTunnel),
            ),
            (
                iface("cilium_host", 0x1043, mac),
                Some(SkipReason::CniOrTunnel),
            ),
            (iface("eth1", 0x10c3, mac), Some(SkipReason::NoArp)),
            (iface("eth2", 0x1002, mac), Some(SkipReason::Down)),
            (iface("gre1", 0x1043, None), Some(SkipReason::NoMac)),
        ];
        for (i, want) in cases {
            assert_eq!(i.probe_skip_reason(), want, "{}", i.name);
        }
    }
}
