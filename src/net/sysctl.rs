//! ARP-related sysctls per interface, combined with the `all` entry the way the kernel does
//! (max for arp_ignore/arp_announce/rp_filter, OR for the boolean ones, as docs/checks.md says
//! for the node checks).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::roots::NodeFiles;

/// The per-interface ARP settings under `net/ipv4/conf/<name>/`. `None` = not readable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArpConf {
    pub arp_ignore: Option<u8>,
    pub arp_announce: Option<u8>,
    pub rp_filter: Option<u8>,
    pub proxy_arp: Option<u8>,
    pub arp_filter: Option<u8>,
    pub arp_accept: Option<u8>,
    pub arp_notify: Option<u8>,
    pub drop_gratuitous_arp: Option<u8>,
}

/// How the kernel combines `all` with an interface's own value.
enum Combine {
    Max,
    Or,
}

fn combine(rule: Combine, all: Option<u8>, own: Option<u8>) -> Option<u8> {
    match (all, own) {
        (None, None) => None,
        (Some(v), None) | (None, Some(v)) => Some(v),
        (Some(a), Some(b)) => Some(match rule {
            Combine::Max => a.max(b),
            Combine::Or => u8::from(a != 0 || b != 0),
        }),
    }
}

impl ArpConf {
    /// The values the kernel acts on for an interface whose own entry is `self`.
    pub fn effective_with(&self, all: &ArpConf) -> ArpConf {
        use Combine::{Max, Or};
        ArpConf {
            arp_ignore: combine(Max, all.arp_ignore, self.arp_ignore),
            arp_announce: combine(Max, all.arp_announce, self.arp_announce),
            rp_filter: combine(Max, all.rp_filter, self.rp_filter),
            proxy_arp: combine(Or, all.proxy_arp, self.proxy_arp),
            arp_filter: combine(Or, all.arp_filter, self.arp_filter),
            arp_accept: combine(Or, all.arp_accept, self.arp_accept),
            arp_notify: combine(Or, all.arp_notify, self.arp_notify),
            drop_gratuitous_arp: combine(Or, all.drop_gratuitous_arp, self.drop_gratuitous_arp),
        }
    }

    fn read(files: &impl NodeFiles, conf_dir: &str) -> ArpConf {
        let value = |key: &str| {
            files
                .read(&format!("{CONF_DIR}/{conf_dir}/{key}"))
                .and_then(|text| parse_value(&text))
        };
        ArpConf {
            arp_ignore: value("arp_ignore"),
            arp_announce: value("arp_announce"),
            rp_filter: value("rp_filter"),
            proxy_arp: value("proxy_arp"),
            arp_filter: value("arp_filter"),
            arp_accept: value("arp_accept"),
            arp_notify: value("arp_notify"),
            drop_gratuitous_arp: value("drop_gratuitous_arp"),
        }
    }
}

/// Where the per-interface IPv4 settings live.
const CONF_DIR: &str = "/proc/sys/net/ipv4/conf";

/// The settings read per interface, in the order the node-check script prints them.
pub const ARP_KEYS: [&str; 8] = [
    "arp_ignore",
    "arp_announce",
    "rp_filter",
    "proxy_arp",
    "arp_filter",
    "arp_accept",
    "arp_notify",
    "drop_gratuitous_arp",
];

fn parse_value(text: &str) -> Option<u8> {
    text.trim().parse().ok()
}

/// One interface's own entry and what is in force on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceArp {
    pub own: ArpConf,
    pub effective: ArpConf,
}

/// The node's ARP sysctls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArpSysctls {
    /// `net.ipv4.ip_forward` (global; must be 1 for Kubernetes).
    pub ip_forward: Option<u8>,
    pub all: ArpConf,
    /// Seeds interfaces created later only; reported, never combined.
    pub default: ArpConf,
    /// Keyed by the name in /proc (a VLAN keeps its dot: `eth0.100`).
    pub interfaces: BTreeMap<String, InterfaceArp>,
}

impl ArpSysctls {
    /// Reads every interface under `sys/net/ipv4/conf/` of the proc root.
    /// `None` when the directory cannot be listed.
    pub fn read(files: &impl NodeFiles) -> Option<ArpSysctls> {
        let names = files.list(CONF_DIR)?;
        let all = ArpConf::read(files, "all");
        let mut interfaces = BTreeMap::new();
        for name in names {
            if name == "all" || name == "default" {
                continue;
            }
            let own = ArpConf::read(files, &name);
            let effective = own.effective_with(&all);
            interfaces.insert(name, InterfaceArp { own, effective });
        }
        Some(ArpSysctls {
            ip_forward: files
                .read("/proc/sys/net/ipv4/ip_forward")
                .and_then(|t| parse_value(&t)),
            default: ArpConf::read(files, "default"),
            all,
            interfaces,
        })
    }

    /// The values in force on `interface`, falling back to `all` for an unknown name.
    pub fn effective(&self, interface: &str) -> ArpConf {
        self.interfaces
            .get(interface)
            .map(|i| i.effective.clone())
            .unwrap_or_else(|| self.all.clone())
    }
}

/// An interface's settings for tests: the four that matter, the rest 0.
#[cfg(test)]
pub(crate) fn conf(ignore: u8, announce: u8, rp: u8, proxy: u8) -> ArpConf {
    ArpConf {
        arp_ignore: Some(ignore),
        arp_announce: Some(announce),
        rp_filter: Some(rp),
        proxy_arp: Some(proxy),
        arp_filter: Some(0),
        arp_accept: Some(0),
        arp_notify: Some(0),
        drop_gratuitous_arp: Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_like_the_kernel() {
        // (all, own) -> effective
        let cases = [
            (conf(1, 2, 0, 0), conf(0, 0, 2, 0), conf(1, 2, 2, 0)),
            (conf(0, 0, 1, 0), conf(8, 1, 0, 1), conf(8, 1, 1, 1)),
            (conf(0, 0, 0, 1), conf(0, 0, 0, 0), conf(0, 0, 0, 1)),
            (conf(0, 0, 0, 0), conf(0, 0, 0, 2), conf(0, 0, 0, 1)),
        ];
        for (all, own, want) in cases {
            assert_eq!(own.effective_with(&all), want, "all={all:?} own={own:?}");
        }
        let missing = ArpConf::default();
        assert_eq!(missing.effective_with(&conf(1, 2, 1, 0)), conf(1, 2, 1, 0));
    }
}
