//! Route lookup with `ip route get` semantics over the main routing table, read from
//! `/proc/net/route` and `/proc/net/ipv6_route`.
//!
//! Why /proc rather than netlink: the files are plain text that a fixture reproduces and a
//! remote fact-gathering pod can read with a host mount, and the lookup needs no async netlink
//! stack. The cost: policy rules (`ip rule`) and tables other than main are not consulted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::roots::NodeFiles;

const RTF_UP: u32 = 0x1;
const RTF_GATEWAY: u32 = 0x2;
const RTF_REJECT: u32 = 0x200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination: IpNet,
    pub gateway: Option<IpAddr>,
    pub interface: String,
    pub metric: u32,
    /// Unreachable/prohibit routes: traffic is dropped.
    pub reject: bool,
}

/// Where the kernel would send a packet for one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDecision {
    pub interface: String,
    /// Set when the route goes through a router: L2 mode cannot announce such an address.
    pub gateway: Option<IpAddr>,
}

impl RouteDecision {
    pub fn on_link(&self) -> bool {
        self.gateway.is_none()
    }
}

/// The main routing table, both families.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub routes: Vec<Route>,
}

impl RouteTable {
    pub fn read(files: &impl NodeFiles) -> RouteTable {
        let mut routes = files
            .read("/proc/net/route")
            .map(|t| parse_ipv4(&t))
            .unwrap_or_default();
        routes.extend(
            files
                .read("/proc/net/ipv6_route")
                .map(|t| parse_ipv6(&t))
                .unwrap_or_default(),
        );
        RouteTable { routes }
    }

    /// Longest prefix wins, then the lowest metric; `None` when no route matches or it rejects.
    pub fn get(&self, addr: IpAddr) -> Option<RouteDecision> {
        self.routes
            .iter()
            .filter(|r| r.destination.contains(&addr))
            .max_by_key(|r| (r.destination.prefix_len(), std::cmp::Reverse(r.metric)))
            .filter(|r| !r.reject)
            .map(|r| RouteDecision {
                interface: r.interface.clone(),
                gateway: r.gateway,
            })
    }
}

/// Parses `/proc/net/route`: hex fields in host (little-endian) byte order.
pub fn parse_ipv4(text: &str) -> Vec<Route> {
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let addr = |s: &str| hex(s).map(|v| Ipv4Addr::from(u32::from_be(v.to_le())));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let flags = hex(f[3])?;
            if flags & RTF_UP == 0 {
                return None;
            }
            let dest = addr(f[1])?;
            let mask = addr(f[7])?;
            let gateway = addr(f[2])?;
            let prefix = u32::from(mask).leading_ones() as u8;
            Some(Route {
                destination: IpNet::new(IpAddr::V4(dest), prefix).ok()?.trunc(),
                gateway: (flags & RTF_GATEWAY != 0).then_some(IpAddr::V4(gateway)),
                interface: f[0].to_string(),
                metric: f[6].parse().ok()?,
                reject: flags & RTF_REJECT != 0,
            })
        })
        .collect()
}

/// Parses `/proc/net/ipv6_route`: dest, dest prefix, src, src prefix, next hop, metric, refcnt,
/// use, flags, interface; the main table's local and multicast entries are skipped.
pub fn parse_ipv6(text: &str) -> Vec<Route> {
    let addr = |s: &str| u128::from_str_radix(s, 16).ok().map(Ipv6Addr::from);
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let flags = hex(f[8])?;
            let interface = f[9];
            if flags & RTF_UP == 0 || interface == "lo" {
                return None;
            }
            let next_hop = addr(f[4])?;
            Some(Route {
                destination: IpNet::new(IpAddr::V6(addr(f[0])?), hex(f[1])? as u8).ok()?,
                gateway: (flags & RTF_GATEWAY != 0 && !next_hop.is_unspecified())
                    .then_some(IpAddr::V6(next_hop)),
                interface: interface.to_string(),
                metric: hex(f[5])?,
                reject: flags & RTF_REJECT != 0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010AA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000AA8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
eth1\t0014A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t0015A8C0\t020AA8C0\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t0016A8C0\t00000000\t0201\t0\t0\t0\t00FFFFFF\t0\t0\t0
";

    const ROUTE6: &str = "\
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003     eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
";

    #[test]
    fn picks_the_route_ip_route_get_would() {
        let mut table = RouteTable {
            routes: parse_ipv4(ROUTE),
        };
        table.routes.extend(parse_ipv6(ROUTE6));
        let get = |s: &str| table.get(s.parse().unwrap());
        let on_eth0 = get("192.168.10.240").unwrap();
        assert_eq!(
            (on_eth0.interface.as_str(), on_eth0.on_link()),
            ("eth0", true)
        );
        assert!(get("192.168.20.7").unwrap().on_link());
        assert_eq!(get("192.168.20.7").unwrap().interface, "eth1");
        let routed = get("192.168.21.7").unwrap();
        assert_eq!(routed.gateway, Some("192.168.10.2".parse().unwrap()));
        assert_eq!(
            get("8.8.8.8").unwrap().gateway,
            Some("192.168.10.1".parse().unwrap())
        );
        assert_eq!(get("192.168.22.1"), None, "reject route");
        assert!(get("fd00::7").unwrap().on_link());
        assert_eq!(
            get("2001:db8::1").unwrap().gateway,
            Some("fd00::1".parse().unwrap())
        );
    }
}
