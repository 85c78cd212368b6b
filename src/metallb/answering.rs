//! Which interfaces of a node MetalLB v0.16.1's speaker answers ARP/NDP on, for one address.
//! Pure; pinned to `internal/layer2/announcer.go` `updateInterfaces` (tag v0.16.1):
//! an interface matching the `metallb-excludel2` regexes is skipped first, then one that is
//! down, one with a sysfs `master` (a bond or bridge port) and one with `IFF_NOARP`; an ARP
//! responder needs `IFF_BROADCAST`, an NDP responder an IPv6 link-local address.
//! `shouldAnnounce` then answers only on the interfaces the applying L2Advertisements name
//! (`ipAdvertisementFor`: none named by one of them means every interface).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

use crate::net::interfaces::Interface;

/// The speaker's exclusion regex: `parseAnnouncedInterfacesToExclude` (speaker/main.go) joins
/// the ConfigMap's `announcedInterfacesToExclude` as `(a)|(b)|...`. `None` for an empty list;
/// an error for a pattern Go's RE2 would refuse too (the speaker then does not start).
pub fn exclusions(patterns: &[String]) -> Result<Option<Regex>, regex::Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("({})", patterns.join(")|("))).map(Some)
}

/// Why the speaker does not answer on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Silent {
    Excluded,
    Down,
    Enslaved(String),
    NoArp,
    /// IPv4: no `IFF_BROADCAST`, so no ARP responder.
    NotBroadcast,
    /// IPv6: no link-local address, so no NDP responder.
    NoLinkLocal,
    /// The applying L2Advertisements name other interfaces.
    NotAdvertised,
}

impl std::fmt::Display for Silent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Silent::Excluded => f.write_str("excluded by the metallb-excludel2 ConfigMap"),
            Silent::Down => f.write_str("down"),
            Silent::Enslaved(m) if m.is_empty() => f.write_str("enslaved to a bond or bridge"),
            Silent::Enslaved(m) => write!(f, "enslaved to {m}"),
            Silent::NoArp => f.write_str("NOARP"),
            Silent::NotBroadcast => f.write_str("no BROADCAST flag, no ARP responder"),
            Silent::NoLinkLocal => f.write_str("no IPv6 link-local address, no NDP responder"),
            Silent::NotAdvertised => f.write_str("not among the L2Advertisement's interfaces"),
        }
    }
}

/// One interface as the speaker sees it for the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'a> {
    pub interface: &'a Interface,
    /// `None`: the speaker answers here.
    pub silent: Option<Silent>,
    /// The interface holds an address whose subnet contains the address.
    pub on_subnet: bool,
}

/// Every interface of the node with whether the speaker answers on it for `address`.
/// `advertised` is `None` when an applying L2Advertisement names no interfaces (all of them).
pub fn judge<'a>(
    interfaces: &'a [Interface],
    exclude: Option<&Regex>,
    advertised: Option<&[String]>,
    address: IpAddr,
) -> Vec<Verdict<'a>> {
    interfaces
        .iter()
        .map(|i| Verdict {
            interface: i,
            silent: silent(i, exclude, advertised, address),
            on_subnet: i.addresses.iter().any(|n| n.contains(&address)),
        })
        .collect()
}

fn silent(
    i: &Interface,
    exclude: Option<&Regex>,
    advertised: Option<&[String]>,
    address: IpAddr,
) -> Option<Silent> {
    if exclude.is_some_and(|r| r.is_match(&i.name)) {
        return Some(Silent::Excluded);
    }
    if !i.is_up() {
        return Some(Silent::Down);
    }
    if let Some(m) = &i.master {
        return Some(Silent::Enslaved(m.clone()));
    }
    if i.is_noarp() {
        return Some(Silent::NoArp);
    }
    let responder = match address {
        IpAddr::V4(_) => i.is_broadcast().then_some(()).ok_or(Silent::NotBroadcast),
        IpAddr::V6(_) => i
            .addresses
            .iter()
            .any(|n| matches!(n.addr(), IpAddr::V6(a) if a.is_unicast_link_local()))
            .then_some(())
            .ok_or(Silent::NoLinkLocal),
    };
    if let Err(why) = responder {
        return Some(why);
    }
    if advertised.is_some_and(|names| !names.iter().any(|n| n == &i.name)) {
        return Some(Silent::NotAdvertised);
    }
    None
}

/// Answering interfaces that share a subnet: an ARP/NDP request on that segment reaches each,
/// and each answers with its own MAC. Groups with two MACs or more, by subnet (a VLAN
/// interface shares its parent's MAC: the same answer twice is no conflict).
pub fn shared_segments<'a>(verdicts: &[Verdict<'a>]) -> Vec<(IpNet, Vec<&'a Interface>)> {
    let mut by_net: BTreeMap<IpNet, Vec<&Interface>> = BTreeMap::new();
    for v in verdicts.iter().filter(|v| v.silent.is_none()) {
        let mut nets: Vec<IpNet> = v
            .interface
            .addresses
            .iter()
            .map(IpNet::trunc)
            // Every interface has an fe80::/64; sharing it says nothing about the segment.
            .filter(|n| !matches!(n.addr(), IpAddr::V6(a) if a.is_unicast_link_local()))
            .collect();
        nets.dedup();
        for net in nets {
            by_net.entry(net).or_default().push(v.interface);
        }
    }
    by_net
        .into_iter()
        .filter(|(_, ifs)| {
            let mut macs: Vec<&str> = ifs.iter().filter_map(|i| i.mac.as_deref()).collect();
            macs.sort_unstable();
            macs.dedup();
            macs.len() > 1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, flags: u32, addrs: &[&str]) -> Interface {
        Interface {
            name: name.into(),
            index: 2,
            mac: Some("52:54:00:00:00:01".into()),
            flags,
            addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            master: None,
        }
    }

    const UP_BROADCAST: u32 = 0x1003;
    const VIP: &str = "192.168.77.240";

    fn why(
        i: &Interface,
        exclude: Option<&Regex>,
        advertised: Option<&[String]>,
    ) -> Option<Silent> {
        judge(
            std::slice::from_ref(i),
            exclude,
            advertised,
            VIP.parse().unwrap(),
        )[0]
        .silent
        .clone()
    }

    /// The same cases as kube-sim's `interfaces.rs` (the ConfigMap lbctl installs).
    #[test]
    fn exclusions_join_like_the_speaker() {
        let installed: Vec<String> = ["^docker.*", "^lo$", "^kube-ipvs.*"]
            .map(String::from)
            .to_vec();
        let r = exclusions(&installed).unwrap().unwrap();
        for (name, excluded) in [
            ("docker0", true),
            ("lo", true),
            ("kube-ipvs0", true),
            ("eth0", false),
            ("lo0", false),
        ] {
            assert_eq!(r.is_match(name), excluded, "{name}");
        }
        assert!(exclusions(&[]).unwrap().is_none());
        assert!(exclusions(&["(".into()]).is_err());
    }

    #[test]
    fn each_reason_in_the_speakers_order() {
        let exclude = Regex::new("(^docker.*)").unwrap();
        let mut bond_port = iface("eth1", UP_BROADCAST, &[]);
        bond_port.master = Some("bond0".into());
        let only_eth0 = ["eth0".to_string()];
        let cases = [
            (iface("eth0", UP_BROADCAST, &["192.168.77.10/24"]), None),
            // Excluded comes first, even for an interface that is also down.
            (iface("docker0", 0x1002, &[]), Some(Silent::Excluded)),
            (iface("eth2", 0x1002, &[]), Some(Silent::Down)),
            (bond_port, Some(Silent::Enslaved("bond0".into()))),
            (iface("eth3", 0x1083, &[]), Some(Silent::NoArp)),
            (iface("wg0", 0x1, &[]), Some(Silent::NotBroadcast)),
        ];
        for (i, want) in cases {
            assert_eq!(why(&i, Some(&exclude), None), want, "{}", i.name);
        }
        let eth0_100 = iface("eth0.100", UP_BROADCAST, &[]);
        assert_eq!(
            why(&eth0_100, None, Some(&only_eth0)),
            Some(Silent::NotAdvertised)
        );
        assert_eq!(why(&eth0_100, None, None), None);
    }

    #[test]
    fn ipv6_needs_a_link_local_address_not_broadcast() {
        let vip: IpAddr = "fd00::240".parse().unwrap();
        let with_ll = iface("eth0", 0x1, &["fe80::1/64", "fd00::10/64"]);
        let without = iface("eth1", UP_BROADCAST, &["fd00::11/64"]);
        let interfaces = [with_ll, without];
        let v = judge(&interfaces, None, None, vip);
        assert_eq!(v[0].silent, None);
        assert!(v[0].on_subnet);
        assert_eq!(v[1].silent, Some(Silent::NoLinkLocal));
    }

    #[test]
    fn subnet_and_shared_segments() {
        let mut interfaces = [
            iface("eth0", UP_BROADCAST, &["192.168.77.10/24", "fe80::1/64"]),
            iface("eth1", UP_BROADCAST, &["192.168.77.11/24", "fe80::2/64"]),
            iface("eth2", UP_BROADCAST, &["10.0.0.1/24", "fe80::3/64"]),
            iface("eth3", 0x1002, &["10.0.0.2/24"]),
            // A VLAN of eth2 with its MAC, on eth2's subnet: one MAC, no conflict.
            iface("eth2.5", UP_BROADCAST, &["10.0.0.3/24"]),
        ];
        for (n, i) in interfaces.iter_mut().enumerate().take(4) {
            i.mac = Some(format!("52:54:00:00:00:0{n}"));
        }
        interfaces[4].mac = interfaces[2].mac.clone();
        let v = judge(&interfaces, None, None, VIP.parse().unwrap());
        let on: Vec<bool> = v.iter().map(|v| v.on_subnet).collect();
        assert_eq!(on, [true, true, false, false, false]);
        let shared = shared_segments(&v);
        assert_eq!(
            shared.len(),
            1,
            "eth3 is down, eth2.5 has eth2's MAC, fe80::/64 does not count"
        );
        assert_eq!(shared[0].0, "192.168.77.0/24".parse::<IpNet>().unwrap());
        let names: Vec<&str> = shared[0].1.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["eth0", "eth1"]);
    }
}
