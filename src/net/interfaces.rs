//! The node's interfaces as plain data, and which of them ARP probing may use.

use std::net::IpAddr;

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::roots::NodeFiles;
use super::routes::{self, Route};

/// `IFF_*` flags from `<linux/if.h>`.
const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
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
    /// The bond or bridge this interface is enslaved to (`/sys/class/net/NAME/master`);
    /// `Some("")` when the link exists but its target could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
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

    pub fn is_broadcast(&self) -> bool {
        self.flags & IFF_BROADCAST != 0
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
    pnet_datalink::interfaces()
        .into_iter()
        .map(|i| Interface {
            addresses: i
                .ips
                .iter()
                .filter_map(|n| IpNet::new(n.ip(), n.prefix()).ok())
                .collect(),
            mac: i.mac.map(|m| m.to_string()),
            master: master_of(&i.name),
            name: i.name,
            index: i.index,
            flags: i.flags,
        })
        .collect()
}

/// The bond or bridge enslaving an interface of this host: the name its sysfs `master` link
/// points to.
fn master_of(name: &str) -> Option<String> {
    let link = std::fs::read_link(format!("/sys/class/net/{name}/master")).ok()?;
    Some(
        link.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    )
}

/// The interfaces as files show them, for a node read through a [`NodeFiles`] dump:
/// name, index, MAC, flags and master from `/sys/class/net/<name>/`, IPv6 addresses from
/// `/proc/net/if_inet6`, IPv4 addresses from the local entries of `/proc/net/fib_trie`.
///
/// fib_trie does not name the interface of an IPv4 address, so each is given to the interface
/// whose connected route (`/proc/net/route`, no gateway) covers it, loopback addresses to the
/// loopback interface, and addresses without a connected route (kube-proxy puts Service IPs on
/// kube-ipvs0 as /32 without one) to kube-ipvs0 when it exists; others are left out.
/// `flags` are the administrative flags sysfs shows (IFF_RUNNING and IFF_LOWER_UP are not
/// among them), which is all the checks look at (UP, LOOPBACK, NOARP).
pub fn read(files: &impl NodeFiles) -> Vec<Interface> {
    let Some(names) = files.list("/sys/class/net") else {
        return Vec::new();
    };
    let attr = |name: &str, key: &str| {
        files
            .read(&format!("/sys/class/net/{name}/{key}"))
            .map(|t| t.trim().to_string())
    };
    let mut interfaces: Vec<Interface> = names
        .iter()
        .filter_map(|name| {
            // `bonding_masters` and other plain files have no ifindex.
            let index = attr(name, "ifindex")?.parse().ok()?;
            let flags = attr(name, "flags")
                .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            Some(Interface {
                name: name.clone(),
                index,
                mac: attr(name, "address").filter(|m| !m.is_empty()),
                flags,
                addresses: Vec::new(),
                // A dump holds the master's name; a sysfs tree holds a link to its directory.
                master: attr(name, "master").or_else(|| {
                    files
                        .exists(&format!("/sys/class/net/{name}/master"))
                        .then(String::new)
                }),
            })
        })
        .collect();
    interfaces.sort_by_key(|i| i.index);

    let connected: Vec<Route> = files
        .read("/proc/net/route")
        .map(|t| routes::parse_ipv4(&t))
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.gateway.is_none() && !r.reject)
        .collect();
    let locals = files
        .read("/proc/net/fib_trie")
        .map(|t| parse_fib_trie_locals(&t))
        .unwrap_or_default();
    for addr in locals {
        if let Some((name, prefix)) = owner_of(addr, &interfaces, &connected)
            && let Some(i) = interfaces.iter_mut().find(|i| i.name == name)
            && let Ok(net) = IpNet::new(IpAddr::V4(addr), prefix)
        {
            i.addresses.push(net);
        }
    }
    for (name, net) in files
        .read("/proc/net/if_inet6")
        .map(|t| parse_if_inet6(&t))
        .unwrap_or_default()
    {
        if let Some(i) = interfaces.iter_mut().find(|i| i.name == name) {
            i.addresses.push(net);
        }
    }
    interfaces
}

/// The interface and prefix length an IPv4 address of this node belongs to (see [`read`]).
fn owner_of(addr: Ipv4Addr, interfaces: &[Interface], connected: &[Route]) -> Option<(String, u8)> {
    if addr.is_loopback() {
        let lo = interfaces.iter().find(|i| i.is_loopback())?;
        return Some((lo.name.clone(), 8));
    }
    let ip = IpAddr::V4(addr);
    if let Some(route) = connected
        .iter()
        .filter(|r| r.destination.contains(&ip))
        .max_by_key(|r| r.destination.prefix_len())
    {
        return Some((route.interface.clone(), route.destination.prefix_len()));
    }
    interfaces
        .iter()
        .find(|i| i.name == "kube-ipvs0")
        .map(|i| (i.name.clone(), 32))
}

/// The node's own IPv4 addresses: leaves of `/proc/net/fib_trie` marked `/32 host LOCAL`,
/// in order of first appearance (the file shows the local and main tables).
pub fn parse_fib_trie_locals(text: &str) -> Vec<Ipv4Addr> {
    let mut leaf: Option<Ipv4Addr> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("|-- ") {
            leaf = rest.trim().parse().ok();
        } else if t.starts_with("/32 host LOCAL")
            && let Some(a) = leaf
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out
}

/// `/proc/net/if_inet6`: address (32 hex digits), index, prefix length (hex), scope, flags, name.
pub fn parse_if_inet6(text: &str) -> Vec<(String, IpNet)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                return None;
            }
            let addr = Ipv6Addr::from(u128::from_str_radix(f[0], 16).ok()?);
            let prefix = u8::from_str_radix(f[2], 16).ok()?;
            Some((f[5].to_string(), IpNet::new(IpAddr::V6(addr), prefix).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB_TRIE: &str = "Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.168.10.0/24 2 0 2
        |-- 192.168.10.5
           /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
           |-- 127.0.0.1
              /32 host LOCAL
";

    #[test]
    fn fib_trie_local_addresses_once_each() {
        assert_eq!(
            parse_fib_trie_locals(FIB_TRIE),
            vec![Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(192, 168, 10, 5)]
        );
    }

    #[test]
    fn if_inet6_lines() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\nfe80000000000000505400fffe123456 02 40 20 80     eth0\nshort line\n";
        let got = parse_if_inet6(text);
        assert_eq!(
            got,
            vec![
                ("lo".into(), "::1/128".parse().unwrap()),
                ("eth0".into(), "fe80::5054:ff:fe12:3456/64".parse().unwrap())
            ]
        );
    }

    fn iface(name: &str, flags: u32, mac: Option<&str>) -> Interface {
        Interface {
            name: name.into(),
            index: 2,
            mac: mac.map(Into::into),
            flags,
            addresses: vec!["192.168.10.5/24".parse().unwrap()],
            master: None,
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
