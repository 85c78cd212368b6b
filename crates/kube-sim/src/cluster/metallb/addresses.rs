//! IPAddressPool address math, as MetalLB parses it: CIDRs and `first-last` ranges (ranges become
//! the smallest set of CIDRs), overlap checks with MetalLB's messages, and pool capacity.

use std::net::IpAddr;

/// One CIDR of a pool, as a numeric range (IPv4 addresses are kept in the low 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub v6: bool,
    pub base: u128,
    pub prefix: u8,
}

impl Cidr {
    fn bits(v6: bool) -> u8 {
        if v6 { 128 } else { 32 }
    }

    pub fn first(&self) -> u128 {
        self.base
    }

    pub fn last(&self) -> u128 {
        let host_bits = Self::bits(self.v6) - self.prefix;
        if host_bits == 128 {
            u128::MAX
        } else {
            self.base | ((1u128 << host_bits) - 1)
        }
    }

    pub fn contains(&self, v6: bool, ip: u128) -> bool {
        self.v6 == v6 && ip >= self.first() && ip <= self.last()
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.v6 == other.v6 && self.first() <= other.last() && other.first() <= self.last()
    }

    /// Number of addresses (saturating for huge IPv6 prefixes, as MetalLB caps them).
    pub fn size(&self) -> u128 {
        let host_bits = Self::bits(self.v6) - self.prefix;
        if host_bits >= 64 {
            u64::MAX as u128
        } else {
            1u128 << host_bits
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", to_ip(self.v6, self.base), self.prefix)
    }
}

pub fn to_ip(v6: bool, n: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(n.into())
    } else {
        IpAddr::V4((n as u32).into())
    }
}

pub fn from_ip(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u32::from(a) as u128),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

/// Parses one `spec.addresses` entry of pool `pool` into CIDRs, with MetalLB's error texts.
pub fn parse_entry(entry: &str, pool: &str) -> Result<Vec<Cidr>, String> {
    if let Some((start, end)) = entry.split_once('-') {
        let parse = |s: &str| s.trim().parse::<IpAddr>().ok().map(from_ip);
        let (Some((v6a, a)), Some((v6b, b))) = (parse(start), parse(end)) else {
            return Err(format!(
                "invalid IP range {entry:?}: invalid start or end IP in pool {pool:?}"
            ));
        };
        if v6a != v6b {
            return Err(format!(
                "invalid IP range {entry:?}: start and end must be the same IP family"
            ));
        }
        if b < a {
            return Err(format!(
                "invalid IP range {entry:?}: start IP {start:?} is after the end IP {end:?}"
            ));
        }
        return Ok(range_to_cidrs(v6a, a, b));
    }
    let invalid = || format!("invalid CIDR {entry:?} in pool {pool:?}");
    let (ip, prefix) = entry.split_once('/').ok_or_else(invalid)?;
    let (v6, n) = from_ip(ip.parse().map_err(|_| invalid())?);
    let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
    if prefix > Cidr::bits(v6) {
        return Err(invalid());
    }
    let host_bits = Cidr::bits(v6) - prefix;
    let mask = if host_bits == 128 {
        0
    } else {
        !((1u128 << host_bits) - 1)
    };
    Ok(vec![Cidr {
        v6,
        base: n & mask,
        prefix,
    }])
}

/// The smallest list of CIDRs covering `first..=last`.
fn range_to_cidrs(v6: bool, mut first: u128, last: u128) -> Vec<Cidr> {
    let bits = Cidr::bits(v6);
    let mut out = Vec::new();
    loop {
        // The largest aligned block starting at `first` that stays within `last`.
        let mut host_bits = if first == 0 {
            bits
        } else {
            first.trailing_zeros().min(bits as u32) as u8
        };
        while host_bits > 0 {
            let span_last = first.checked_add((1u128 << host_bits) - 1);
            if span_last.is_some_and(|l| l <= last) {
                break;
            }
            host_bits -= 1;
        }
        out.push(Cidr {
            v6,
            base: first,
            prefix: bits - host_bits,
        });
        let next_last = first
            + if host_bits == 0 {
                0
            } else {
                (1u128 << host_bits) - 1
            };
        if next_last >= last {
            return out;
        }
        first = next_last + 1;
    }
}

/// A pool's usable addresses, in allocation order.
#[derive(Debug, Clone)]
pub struct PoolRanges {
    pub name: String,
    pub cidrs: Vec<Cidr>,
    pub avoid_buggy_ips: bool,
}

impl PoolRanges {
    /// Whether the pool hands out `ip`.
    pub fn owns(&self, v6: bool, ip: u128) -> bool {
        !(self.avoid_buggy_ips && buggy(v6, ip)) && self.cidrs.iter().any(|c| c.contains(v6, ip))
    }

    /// Addresses per family (IPv4, IPv6), without the buggy ones when they are avoided.
    pub fn capacity(&self) -> (u128, u128) {
        let mut v4 = 0;
        let mut v6 = 0;
        for c in &self.cidrs {
            let mut n = c.size();
            if self.avoid_buggy_ips && !c.v6 {
                n -= (c.first()..=c.last())
                    .filter(|ip| buggy(false, *ip))
                    .count() as u128;
            }
            if c.v6 { v6 += n } else { v4 += n }
        }
        (v4, v6)
    }

    /// The first address of the given family, at or after `from`, not in `used`.
    pub fn first_free(&self, v6: bool, from: u128, used: &dyn Fn(u128) -> bool) -> Option<u128> {
        self.cidrs
            .iter()
            .filter(|c| c.v6 == v6 && c.last() >= from)
            .flat_map(|c| c.first().max(from)..=c.last())
            .find(|ip| !(used(*ip) || self.avoid_buggy_ips && buggy(v6, *ip)))
    }
}

/// IPv4 addresses ending in .0 or .255 confuse some CPE firmware (`avoidBuggyIPs`).
fn buggy(v6: bool, ip: u128) -> bool {
    !v6 && matches!(ip & 0xff, 0 | 255)
}

/// Checks pools the way MetalLB's configuration parser does (in order: each CIDR against all
/// earlier ones, and against node addresses), returning its error text.
pub fn validate(pools: &[PoolRanges], node_ips: &[IpAddr]) -> Result<(), String> {
    let mut seen: Vec<Cidr> = Vec::new();
    for pool in pools {
        for cidr in &pool.cidrs {
            if let Some(other) = seen.iter().find(|o| o.overlaps(cidr)) {
                return Err(format!(
                    "CIDR \"{cidr}\" in pool \"{}\" overlaps with already defined CIDR \"{other}\"",
                    pool.name
                ));
            }
            for ip in node_ips {
                let (v6, n) = from_ip(*ip);
                if cidr.contains(v6, n) {
                    return Err(format!("pool cidr \"{cidr}\" contains nodeIp \"{ip}\""));
                }
            }
            seen.push(*cidr);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(cidrs: &[Cidr]) -> Vec<String> {
        cidrs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn ranges_become_minimal_cidrs() {
        assert_eq!(
            strs(&parse_entry("1.1.1.15-1.1.1.20", "p").unwrap()),
            ["1.1.1.15/32", "1.1.1.16/30", "1.1.1.20/32"]
        );
        assert_eq!(
            strs(&parse_entry("192.168.77.240-192.168.77.255", "p").unwrap()),
            ["192.168.77.240/28"]
        );
        assert_eq!(
            strs(&parse_entry("10.0.0.5-10.0.0.5", "p").unwrap()),
            ["10.0.0.5/32"]
        );
        assert_eq!(
            strs(&parse_entry("10.0.0.0/24", "p").unwrap()),
            ["10.0.0.0/24"]
        );
        assert_eq!(
            strs(&parse_entry("10.0.0.7/24", "p").unwrap()),
            ["10.0.0.0/24"],
            "host bits are masked"
        );
        assert_eq!(
            strs(&parse_entry("fd00::10-fd00::13", "p").unwrap()),
            ["fd00::10/126"]
        );
    }

    #[test]
    fn bad_entries_use_metallbs_words() {
        assert_eq!(
            parse_entry("10.0.0.300/32", "p1").unwrap_err(),
            "invalid CIDR \"10.0.0.300/32\" in pool \"p1\""
        );
        assert_eq!(
            parse_entry("10.0.0.0/33", "p1").unwrap_err(),
            "invalid CIDR \"10.0.0.0/33\" in pool \"p1\""
        );
        assert!(
            parse_entry("10.0.0.9-10.0.0.1", "p1")
                .unwrap_err()
                .contains("after the end IP")
        );
    }

    #[test]
    fn overlap_and_node_ip_checks() {
        let pool = |name: &str, e: &str| PoolRanges {
            name: name.into(),
            cidrs: parse_entry(e, name).unwrap(),
            avoid_buggy_ips: false,
        };
        let a = pool("lab-pool", "172.19.255.200-172.19.255.250");
        let b = pool("lab-pool-reserved", "172.19.255.230-172.19.255.239");
        assert_eq!(
            validate(&[a.clone(), b], &[]).unwrap_err(),
            "CIDR \"172.19.255.230/31\" in pool \"lab-pool-reserved\" overlaps with already defined CIDR \"172.19.255.224/28\""
        );
        let node: IpAddr = "172.19.255.201".parse().unwrap();
        assert_eq!(
            validate(std::slice::from_ref(&a), &[node]).unwrap_err(),
            "pool cidr \"172.19.255.200/29\" contains nodeIp \"172.19.255.201\""
        );
        assert!(validate(&[a, pool("other", "172.19.254.0/24")], &[]).is_ok());
    }

    #[test]
    fn capacity_and_allocation_order() {
        let p = PoolRanges {
            name: "p".into(),
            cidrs: parse_entry("192.168.1.254-192.168.2.1", "p").unwrap(),
            avoid_buggy_ips: true,
        };
        assert_eq!(p.capacity(), (2, 0), ".255 and .0 are skipped");
        let (_, first) = from_ip("192.168.1.254".parse().unwrap());
        assert_eq!(p.first_free(false, 0, &|_| false), Some(first));
        assert_eq!(
            to_ip(false, p.first_free(false, 0, &|ip| ip == first).unwrap()).to_string(),
            "192.168.2.1"
        );
        let q = PoolRanges {
            avoid_buggy_ips: false,
            ..p
        };
        assert_eq!(q.capacity(), (4, 0));
        assert!(!q.owns(false, 1));
    }
}
