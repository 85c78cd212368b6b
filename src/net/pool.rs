//! Address pools as MetalLB accepts them: CIDRs, `a-b` ranges and single addresses, IPv4 and
//! IPv6, several per pool. Parsing is strict (every mistake gets its own message) and sizes are
//! exact; set math works on merged ranges, so a /64 never turns into a list of addresses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4AddrRange, Ipv6AddrRange};
use serde::{Serialize, Serializer};

use crate::error::{clip, shorten};

/// Why a pool's text was rejected. Each variant names the offending entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("empty pool: give at least one CIDR, range or address")]
    Empty,
    #[error("{} is not a CIDR, an address range or an address", shorten(entry))]
    Garbage { entry: String },
    #[error(
        "{} has an invalid prefix length /{} (at most /{max} for {family})",
        shorten(entry),
        clip(prefix)
    )]
    BadPrefix {
        entry: String,
        prefix: String,
        max: u8,
        family: Family,
    },
    #[error("{entry} has host bits set; did you mean {network} or {host}?")]
    HostBits {
        entry: String,
        network: IpNet,
        host: IpNet,
    },
    #[error("{} is reversed: {start} comes after {end}", shorten(entry))]
    Reversed {
        entry: String,
        start: IpAddr,
        end: IpAddr,
    },
    #[error(
        "{} mixes address families: {start} is {start_family}, {end} is {end_family}",
        shorten(entry)
    )]
    MixedFamilies {
        entry: String,
        start: IpAddr,
        end: IpAddr,
        start_family: Family,
        end_family: Family,
    },
}

impl PoolError {
    /// The next step for the user.
    pub fn hint(&self) -> String {
        match self {
            PoolError::HostBits { network, host, .. } => {
                format!("write the network ({network}) for the whole block, or {host} for one address")
            }
            PoolError::Reversed { start, end, .. } => format!("write it as {end}-{start}"),
            _ => "pools look like 192.168.10.0/24, 192.168.10.240-192.168.10.250, 192.168.10.7 or fd00::/120; separate several with commas".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRange {
    start: IpAddr,
    end: IpAddr,
}

impl IpRange {
    /// A range from `start` to `end` inclusive; `None` when reversed or of two families.
    pub fn new(start: IpAddr, end: IpAddr) -> Option<IpRange> {
        (Family::of(start) == Family::of(end) && to_u128(start) <= to_u128(end))
            .then_some(IpRange { start, end })
    }

    pub fn single(addr: IpAddr) -> IpRange {
        IpRange {
            start: addr,
            end: addr,
        }
    }

    pub fn of_net(net: IpNet) -> IpRange {
        IpRange {
            start: net.network(),
            end: net.broadcast(),
        }
    }

    pub fn start(&self) -> IpAddr {
        self.start
    }

    pub fn end(&self) -> IpAddr {
        self.end
    }

    pub fn family(&self) -> Family {
        Family::of(self.start)
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        Family::of(addr) == self.family()
            && (to_u128(self.start)..=to_u128(self.end)).contains(&to_u128(addr))
    }

    /// Number of addresses in the range.
    pub fn size(&self) -> PoolSize {
        PoolSize::from_span(to_u128(self.end) - to_u128(self.start))
    }

    /// The addresses both ranges contain, if any.
    pub fn intersection(&self, other: &IpRange) -> Option<IpRange> {
        if self.family() != other.family() {
            return None;
        }
        let start = to_u128(self.start).max(to_u128(other.start));
        let end = to_u128(self.end).min(to_u128(other.end));
        (start <= end).then(|| IpRange {
            start: from_u128(self.family(), start),
            end: from_u128(self.family(), end),
        })
    }

    /// Every address of the range, lazily.
    pub fn addresses(&self) -> Box<dyn Iterator<Item = IpAddr> + Send> {
        match (self.start, self.end) {
            (IpAddr::V4(a), IpAddr::V4(b)) => Box::new(Ipv4AddrRange::new(a, b).map(IpAddr::V4)),
            (IpAddr::V6(a), IpAddr::V6(b)) => Box::new(Ipv6AddrRange::new(a, b).map(IpAddr::V6)),
            _ => Box::new(std::iter::empty()),
        }
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl Serialize for IpRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One entry of a pool as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolEntry {
    Cidr(IpNet),
    Range(IpRange),
    Address(IpAddr),
}

impl PoolEntry {
    pub fn range(&self) -> IpRange {
        match *self {
            PoolEntry::Cidr(net) => IpRange::of_net(net),
            PoolEntry::Range(range) => range,
            PoolEntry::Address(addr) => IpRange::single(addr),
        }
    }
}

impl fmt::Display for PoolEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolEntry::Cidr(net) => write!(f, "{net}"),
            PoolEntry::Range(range) => write!(f, "{}-{}", range.start, range.end),
            PoolEntry::Address(addr) => write!(f, "{addr}"),
        }
    }
}

impl FromStr for PoolEntry {
    type Err = PoolError;

    fn from_str(text: &str) -> Result<Self, PoolError> {
        let entry = text.trim();
        if entry.is_empty() {
            return Err(PoolError::Empty);
        }
        let garbage = || PoolError::Garbage {
            entry: entry.to_string(),
        };
        if let Some((left, right)) = entry.split_once('-') {
            let start: IpAddr = left.trim().parse().map_err(|_| garbage())?;
            let end: IpAddr = right.trim().parse().map_err(|_| garbage())?;
            if Family::of(start) != Family::of(end) {
                return Err(PoolError::MixedFamilies {
                    entry: entry.to_string(),
                    start,
                    end,
                    start_family: Family::of(start),
                    end_family: Family::of(end),
                });
            }
            return IpRange::new(start, end)
                .map(PoolEntry::Range)
                .ok_or(PoolError::Reversed {
                    entry: entry.to_string(),
                    start,
                    end,
                });
        }
        if let Some((addr, prefix)) = entry.split_once('/') {
            let addr: IpAddr = addr.trim().parse().map_err(|_| garbage())?;
            let family = Family::of(addr);
            let max = if family == Family::V4 { 32 } else { 128 };
            let bad_prefix = || PoolError::BadPrefix {
                entry: entry.to_string(),
                prefix: prefix.to_string(),
                max,
                family,
            };
            let len: u8 = prefix.trim().parse().map_err(|_| bad_prefix())?;
            let net = IpNet::new(addr, len).map_err(|_| bad_prefix())?;
            if net.network() != addr {
                return Err(PoolError::HostBits {
                    entry: entry.to_string(),
                    network: net.trunc(),
                    host: IpNet::new(addr, max).map_err(|_| bad_prefix())?,
                });
            }
            return Ok(PoolEntry::Cidr(net));
        }
        entry.parse().map(PoolEntry::Address).map_err(|_| garbage())
    }
}

/// An exact address count; the whole IPv6 space (2^128) does not fit a u128, so it is its own case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PoolSize {
    Exact(u128),
    AllOfIpv6,
}

impl PoolSize {
    /// The size of a range whose last address is `span` after its first.
    fn from_span(span: u128) -> PoolSize {
        span.checked_add(1)
            .map_or(PoolSize::AllOfIpv6, PoolSize::Exact)
    }

    pub fn exact(&self) -> Option<u128> {
        match self {
            PoolSize::Exact(n) => Some(*n),
            PoolSize::AllOfIpv6 => None,
        }
    }

    fn plus(self, other: PoolSize) -> PoolSize {
        match (self, other) {
            (PoolSize::Exact(a), PoolSize::Exact(b)) => a
                .checked_add(b)
                .map_or(PoolSize::AllOfIpv6, PoolSize::Exact),
            _ => PoolSize::AllOfIpv6,
        }
    }

    /// Too many addresses to list or probe one by one (more than a /16).
    pub fn is_huge(&self) -> bool {
        self.exact().is_none_or(|n| n > 65_536)
    }
}

impl fmt::Display for PoolSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolSize::AllOfIpv6 => f.write_str("2^128 (the whole IPv6 space)"),
            PoolSize::Exact(n) if *n > u32::MAX as u128 => {
                write!(f, "{n} (about 2^{})", 127 - n.leading_zeros())
            }
            PoolSize::Exact(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for PoolSize {
    /// Sizes go out as decimal strings: JSON numbers lose precision past 2^53.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PoolSize::Exact(n) => s.collect_str(n),
            PoolSize::AllOfIpv6 => s.serialize_str("340282366920938463463374607431768211456"),
        }
    }
}

/// Why an address of a pool deserves a second look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// The network address of an IPv4 CIDR entry.
    Network,
    /// The broadcast address of an IPv4 CIDR entry.
    Broadcast,
}

/// A parsed pool: its entries as written plus the merged ranges all set math works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    entries: Vec<PoolEntry>,
    ranges: Vec<IpRange>,
}

impl FromStr for Pool {
    type Err = PoolError;

    /// Entries are separated by commas or whitespace; spaces around a range's `-` are allowed.
    fn from_str(text: &str) -> Result<Self, PoolError> {
        let joined: Vec<&str> = text.split('-').map(str::trim).collect();
        let entries = joined
            .join("-")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<PoolEntry>, _>>()?;
        Pool::from_entries(entries)
    }
}

impl Pool {
    /// Parses one pool; `--pool` flags and MetalLB `addresses` lists go through here.
    pub fn parse(text: &str) -> Result<Pool, PoolError> {
        text.parse()
    }

    /// A pool from MetalLB's `spec.addresses` list (one entry per item).
    pub fn from_addresses<S: AsRef<str>>(items: &[S]) -> Result<Pool, PoolError> {
        let entries = items
            .iter()
            .map(|item| item.as_ref().parse())
            .collect::<Result<Vec<PoolEntry>, _>>()?;
        Pool::from_entries(entries)
    }

    /// All addresses of several pools as one pool (overlaps counted once).
    pub fn union(pools: &[Pool]) -> Result<Pool, PoolError> {
        Pool::from_entries(
            pools
                .iter()
                .flat_map(|p| p.entries.iter().copied())
                .collect(),
        )
    }

    fn from_entries(entries: Vec<PoolEntry>) -> Result<Pool, PoolError> {
        if entries.is_empty() {
            return Err(PoolError::Empty);
        }
        let ranges = merge(entries.iter().map(PoolEntry::range).collect());
        Ok(Pool { entries, ranges })
    }

    pub fn entries(&self) -> &[PoolEntry] {
        &self.entries
    }

    /// Disjoint, sorted ranges covering exactly the pool's addresses (IPv4 before IPv6).
    pub fn ranges(&self) -> &[IpRange] {
        &self.ranges
    }

    pub fn families(&self) -> Vec<Family> {
        let mut families: Vec<Family> = self.ranges.iter().map(IpRange::family).collect();
        families.dedup();
        families
    }

    /// Exact number of distinct addresses (entries that overlap are counted once).
    pub fn size(&self) -> PoolSize {
        self.ranges
            .iter()
            .fold(PoolSize::Exact(0), |acc, r| acc.plus(r.size()))
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        self.ranges.iter().any(|r| r.contains(addr))
    }

    /// Every address of the pool in order, lazily: a /64 costs nothing until iterated.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + Send + '_ {
        self.ranges.iter().flat_map(IpRange::addresses)
    }

    /// The addresses this pool shares with `other`.
    pub fn overlap(&self, other: &Pool) -> Vec<IpRange> {
        self.overlap_ranges(&other.ranges)
    }

    /// The addresses this pool shares with a network such as the pod or service CIDR.
    pub fn overlap_with_net(&self, net: IpNet) -> Vec<IpRange> {
        self.overlap_ranges(&[IpRange::of_net(net)])
    }

    /// The given addresses (node addresses, say) that fall inside the pool.
    pub fn overlap_with_addresses(&self, addrs: &[IpAddr]) -> Vec<IpAddr> {
        addrs
            .iter()
            .copied()
            .filter(|a| self.contains(*a))
            .collect()
    }

    fn overlap_ranges(&self, others: &[IpRange]) -> Vec<IpRange> {
        let mut shared: Vec<IpRange> = self
            .ranges
            .iter()
            .flat_map(|a| others.iter().filter_map(move |b| a.intersection(b)))
            .collect();
        shared.sort();
        shared
    }

    /// Network and broadcast addresses of the IPv4 CIDR entries (/30 and wider): some clients
    /// and routers refuse them, which is why MetalLB has `avoidBuggyIPs`.
    pub fn network_and_broadcast(&self) -> Vec<(IpAddr, EdgeKind)> {
        let mut edges = Vec::new();
        for entry in &self.entries {
            if let PoolEntry::Cidr(net @ IpNet::V4(v4)) = entry
                && v4.prefix_len() <= 30
            {
                edges.push((net.network(), EdgeKind::Network));
                edges.push((net.broadcast(), EdgeKind::Broadcast));
            }
        }
        edges
    }
}

/// True for the IPv4 addresses MetalLB skips with `avoidBuggyIPs: true` (ending in .0 or .255).
pub fn is_buggy_ip(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V4(v4) if matches!(v4.octets()[3], 0 | 255))
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.entries.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for Pool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Sorts ranges and merges those that overlap or touch.
fn merge(mut ranges: Vec<IpRange>) -> Vec<IpRange> {
    ranges.sort_by_key(|r| (r.family(), to_u128(r.start), to_u128(r.end)));
    let mut merged: Vec<IpRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        if let Some(last) = merged.last_mut()
            && last.family() == range.family()
            && to_u128(range.start) <= to_u128(last.end).saturating_add(1)
        {
            if to_u128(range.end) > to_u128(last.end) {
                last.end = range.end;
            }
            continue;
        }
        merged.push(range);
    }
    merged
}

pub(crate) fn to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(family: Family, value: u128) -> IpAddr {
    match family {
        // Only called with values taken from addresses of the same family.
        Family::V4 => IpAddr::V4(Ipv4Addr::from(value as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Compresses sorted addresses into runs of consecutive ones, for `a-b free` style output.
pub fn compress(addrs: impl IntoIterator<Item = IpAddr>) -> Vec<IpRange> {
    let mut runs: Vec<IpRange> = Vec::new();
    for addr in addrs {
        if let Some(last) = runs.last_mut()
            && Family::of(addr) == last.family()
            && to_u128(last.end).checked_add(1) == Some(to_u128(addr))
        {
            last.end = addr;
            continue;
        }
        runs.push(IpRange::single(addr));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn accepts_what_metallb_accepts() {
        let cases: &[(&str, &str, &str)] = &[
            ("192.168.10.0/24", "256", "192.168.10.0-192.168.10.255"),
            (
                "192.168.10.240-192.168.10.250",
                "11",
                "192.168.10.240-192.168.10.250",
            ),
            (
                "192.168.10.240 - 192.168.10.250",
                "11",
                "192.168.10.240-192.168.10.250",
            ),
            ("192.168.10.7", "1", "192.168.10.7"),
            ("192.168.10.7/32", "1", "192.168.10.7"),
            ("fd00::/120", "256", "fd00::-fd00::ff"),
            ("fd00::1-fd00::4", "4", "fd00::1-fd00::4"),
            ("10.0.0.0/30,10.0.0.4/30", "8", "10.0.0.0-10.0.0.7"),
            ("10.0.0.0/24 10.0.0.5", "256", "10.0.0.0-10.0.0.255"),
        ];
        for (text, size, ranges) in cases {
            let pool = Pool::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(pool.size().to_string(), *size, "{text}");
            let shown: Vec<String> = pool.ranges().iter().map(ToString::to_string).collect();
            assert_eq!(shown.join(","), *ranges, "{text}");
        }
    }

    #[test]
    fn rejects_with_a_precise_message() {
        let cases: &[(&str, &str)] = &[
            ("", "empty pool: give at least one CIDR, range or address"),
            (
                " , ",
                "empty pool: give at least one CIDR, range or address",
            ),
            (
                "192.168.10.5/24",
                "192.168.10.5/24 has host bits set; did you mean 192.168.10.0/24 or 192.168.10.5/32?",
            ),
            (
                "fd00::5/64",
                "fd00::5/64 has host bits set; did you mean fd00::/64 or fd00::5/128?",
            ),
            (
                "192.168.10.250-192.168.10.240",
                "\"192.168.10.250-192.168.10.240\" is reversed: 192.168.10.250 comes after 192.168.10.240",
            ),
            (
                "192.168.10.1-fd00::1",
                "\"192.168.10.1-fd00::1\" mixes address families: 192.168.10.1 is IPv4, fd00::1 is IPv6",
            ),
            (
                "192.168.10.0/33",
                "\"192.168.10.0/33\" has an invalid prefix length /33 (at most /32 for IPv4)",
            ),
            (
                "192.168.10.0/x",
                "\"192.168.10.0/x\" has an invalid prefix length /x (at most /32 for IPv4)",
            ),
            (
                "banana",
                "\"banana\" is not a CIDR, an address range or an address",
            ),
            (
                "192.168.10.1-",
                "\"192.168.10.1-\" is not a CIDR, an address range or an address",
            ),
            (
                "192.168.300.1",
                "\"192.168.300.1\" is not a CIDR, an address range or an address",
            ),
        ];
        for (text, message) in cases {
            let err = Pool::parse(text).unwrap_err();
            assert_eq!(err.to_string(), *message, "{text}");
        }
        assert!(
            Pool::parse("192.168.10.5/24")
                .unwrap_err()
                .hint()
                .contains("192.168.10.0/24")
        );
    }

    #[test]
    fn sizes_are_exact_even_when_huge() {
        assert_eq!(
            Pool::parse("fd00::/64").unwrap().size(),
            PoolSize::Exact(1 << 64)
        );
        assert_eq!(
            Pool::parse("fd00::/64").unwrap().size().to_string(),
            "18446744073709551616 (about 2^64)"
        );
        assert_eq!(Pool::parse("::/0").unwrap().size(), PoolSize::AllOfIpv6);
        assert!(Pool::parse("::/0").unwrap().size().is_huge());
        assert_eq!(
            Pool::parse("0.0.0.0/0").unwrap().size(),
            PoolSize::Exact(1 << 32)
        );
        assert_eq!(
            serde_json::to_string(&Pool::parse("fd00::/64").unwrap().size()).unwrap(),
            "\"18446744073709551616\""
        );
        // Both families in one pool add up.
        assert_eq!(
            Pool::parse("10.0.0.0/31,fd00::/127").unwrap().size(),
            PoolSize::Exact(4)
        );
    }

    #[test]
    fn iteration_is_lazy() {
        let pool = Pool::parse("fd00::/32").unwrap();
        let first: Vec<IpAddr> = pool.addresses().take(3).collect();
        assert_eq!(first, vec![ip("fd00::"), ip("fd00::1"), ip("fd00::2")]);
        let v4 = Pool::parse("10.0.0.254/31,10.0.1.0").unwrap();
        let all: Vec<String> = v4.addresses().map(|a| a.to_string()).collect();
        assert_eq!(all, ["10.0.0.254", "10.0.0.255", "10.0.1.0"]);
    }

    #[test]
    fn overlaps_with_pools_nets_and_addresses() {
        let a = Pool::parse("192.168.10.0/24").unwrap();
        let b = Pool::parse("192.168.10.250-192.168.11.5,fd00::1").unwrap();
        let shared: Vec<String> = a.overlap(&b).iter().map(ToString::to_string).collect();
        assert_eq!(shared, ["192.168.10.250-192.168.10.255"]);
        assert!(
            a.overlap(&Pool::parse("192.168.11.0/24").unwrap())
                .is_empty()
        );
        assert_eq!(
            a.overlap_with_net("192.168.0.0/16".parse().unwrap()),
            vec![IpRange::of_net("192.168.10.0/24".parse().unwrap())]
        );
        assert!(
            a.overlap_with_net("10.96.0.0/12".parse().unwrap())
                .is_empty()
        );
        assert_eq!(
            a.overlap_with_addresses(&[ip("192.168.10.3"), ip("192.168.11.3"), ip("fd00::1")]),
            vec![ip("192.168.10.3")]
        );
    }

    #[test]
    fn flags_network_broadcast_and_buggy_addresses() {
        let pool = Pool::parse("192.168.10.0/24,192.168.11.8/31,10.0.0.5-10.0.0.9").unwrap();
        assert_eq!(
            pool.network_and_broadcast(),
            vec![
                (ip("192.168.10.0"), EdgeKind::Network),
                (ip("192.168.10.255"), EdgeKind::Broadcast)
            ]
        );
        assert!(is_buggy_ip(ip("10.1.2.255")));
        assert!(is_buggy_ip(ip("10.1.2.0")));
        assert!(!is_buggy_ip(ip("10.1.2.1")));
        assert!(!is_buggy_ip(ip("fd00::ff")));
    }

    #[test]
    fn compresses_consecutive_addresses() {
        let addrs = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.7", "fd00::1"].map(ip);
        let runs: Vec<String> = compress(addrs).iter().map(ToString::to_string).collect();
        assert_eq!(runs, ["10.0.0.1-10.0.0.3", "10.0.0.7", "fd00::1"]);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parsing_never_panics(text in "\\PC{0,40}") {
                let _ = Pool::parse(&text);
            }

            #[test]
            fn range_size_matches_iteration(start in any::<u32>(), len in 0u32..300) {
                let end = start.saturating_add(len);
                let text = format!("{}-{}", Ipv4Addr::from(start), Ipv4Addr::from(end));
                let pool = Pool::parse(&text).unwrap();
                prop_assert_eq!(pool.size(), PoolSize::Exact(u128::from(end - start) + 1));
                prop_assert_eq!(pool.addresses().count() as u128, u128::from(end - start) + 1);
            }

            #[test]
            fn merged_ranges_preserve_membership(
                a in any::<u16>(), alen in 0u16..200, b in any::<u16>(), blen in 0u16..200, probe in any::<u16>()
            ) {
                let v4 = |n: u32| Ipv4Addr::from(0x0a00_0000 | n);
                let (a, b) = (u32::from(a), u32::from(b));
                let (ae, be) = (a + u32::from(alen), b + u32::from(blen));
                let pool = Pool::parse(&format!("{}-{},{}-{}", v4(a), v4(ae), v4(b), v4(be))).unwrap();
                let p = u32::from(probe);
                let expected = (a..=ae).contains(&p) || (b..=be).contains(&p);
                prop_assert_eq!(pool.contains(IpAddr::V4(v4(p))), expected);
                let union = (a..=ae).chain(b..=be).collect::<std::collections::BTreeSet<_>>().len();
                prop_assert_eq!(pool.size(), PoolSize::Exact(union as u128));
            }
        }
    }
}
