//! Turning the ARP (or NDP) traffic seen during probing into a verdict per address (RFC 5227
//! conflict rules: any frame whose sender is the address, or another host probing for it, claims
//! it; see docs/probe.md, Results). Pure: frames come in with the time they were seen.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use pnet_base::MacAddr;
use serde::Serialize;

use super::packet::ArpFrame;

/// Fewest addresses one MAC must answer for before proxy ARP is suspected.
const PROXY_MIN_ADDRESSES: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimKind {
    /// An ARP reply from the address (or an NDP Neighbor Advertisement for it).
    Reply,
    /// An ARP request sent from the address (gratuitous or ordinary).
    Request,
    /// Another host probing for the same address: it is about to claim it.
    Probe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub mac: MacAddr,
    pub at: Duration,
    pub kind: ClaimKind,
}

/// What was seen for one candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub first_probe: Option<Duration>,
    pub claims: Vec<Claim>,
}

impl Evidence {
    /// Distinct MACs that claimed the address, in the order they were first seen.
    pub fn macs(&self) -> Vec<MacAddr> {
        let mut macs: Vec<MacAddr> = Vec::new();
        for claim in &self.claims {
            if !macs.contains(&claim.mac) {
                macs.push(claim.mac);
            }
        }
        macs
    }

    /// From our first probe to the first claim.
    pub fn reply_time(&self) -> Option<Duration> {
        let first = self.claims.first()?;
        Some(
            first
                .at
                .saturating_sub(self.first_probe.unwrap_or(first.at)),
        )
    }
}

/// One frame's claim on an address, whatever the protocol that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sighting<A> {
    pub address: A,
    pub mac: MacAddr,
    pub kind: ClaimKind,
}

impl ArpFrame {
    /// The address an ARP frame claims: the target of a probe, the sender of anything else.
    pub fn sighting(&self) -> Sighting<Ipv4Addr> {
        let (address, kind) = if self.is_probe() {
            (self.target_ip, ClaimKind::Probe)
        } else if self.operation == super::packet::Operation::Reply {
            (self.sender_ip, ClaimKind::Reply)
        } else {
            (self.sender_ip, ClaimKind::Request)
        };
        Sighting {
            address,
            mac: self.sender_mac,
            kind,
        }
    }
}

/// Collects claims for the candidates (IPv4 or IPv6 addresses) while probing runs.
#[derive(Debug)]
pub struct Observer<A = Ipv4Addr> {
    our_macs: Vec<MacAddr>,
    index: HashMap<A, usize>,
    evidence: Vec<Evidence>,
}

impl Observer<Ipv4Addr> {
    /// Records an ARP frame. Returns the candidate it proves in use, the first time it does.
    pub fn observe(&mut self, frame: &ArpFrame, at: Duration) -> Option<usize> {
        self.record(frame.sighting(), at)
    }
}

impl<A: Copy + Eq + Hash> Observer<A> {
    pub fn new(candidates: &[A], our_macs: Vec<MacAddr>) -> Observer<A> {
        Observer {
            index: candidates
                .iter()
                .enumerate()
                .map(|(i, a)| (*a, i))
                .collect(),
            evidence: vec![Evidence::default(); candidates.len()],
            our_macs,
        }
    }

    pub fn probe_sent(&mut self, index: usize, at: Duration) {
        let evidence = &mut self.evidence[index];
        evidence.first_probe.get_or_insert(at);
    }

    /// Records a claim. Returns the candidate it proves in use, the first time it does.
    pub fn record(&mut self, sighting: Sighting<A>, at: Duration) -> Option<usize> {
        // Our own probes, should a bridge or a tap reflect them, are never evidence.
        if self.our_macs.contains(&sighting.mac) {
            return None;
        }
        let index = *self.index.get(&sighting.address)?;
        let evidence = &mut self.evidence[index];
        let first = evidence.claims.is_empty();
        evidence.claims.push(Claim {
            mac: sighting.mac,
            at,
            kind: sighting.kind,
        });
        first.then_some(index)
    }

    pub fn evidence(&self) -> &[Evidence] {
        &self.evidence
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// No answer to any probe.
    Free,
    /// One MAC claims it.
    InUse,
    /// Several MACs claim it.
    Conflict,
    /// An address of this host; not probed.
    Ours,
    /// Reached through a router or not through an interface that can carry ARP or NDP: never
    /// probed.
    NotOnLink,
    /// Not probed for another reason (no longer produced; kept so JSON consumers keep parsing).
    Skipped,
    /// The deadline passed before its first probe.
    Unprobed,
}

impl Status {
    /// Whether the address is unusable for a MetalLB pool as far as probing can tell.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Status::InUse | Status::Conflict | Status::Ours | Status::NotOnLink
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Free => "free",
            Status::InUse => "in use",
            Status::Conflict => "conflict",
            Status::Ours => "ours",
            Status::NotOnLink => "not on link",
            Status::Skipped => "skipped",
            Status::Unprobed => "not probed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// A VRRP virtual router MAC (00:00:5e:00:01:xx for IPv4, 00:00:5e:00:02:xx for IPv6): a
    /// legitimate owner, probably a router pair.
    VrrpMac,
    /// One MAC answered for most of the pool: a proxy-ARP device, not real owners.
    ProxyArpSuspected,
    /// Another host was probing for this address while we were.
    ProbedByOtherHost,
    /// The network address of a CIDR entry of the pool.
    NetworkAddress,
    /// The broadcast address of a CIDR entry of the pool.
    BroadcastAddress,
}

/// The result for one address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub address: IpAddr,
    pub status: Status,
    pub macs: Vec<String>,
    /// Milliseconds from our first probe to the first answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_ms: Option<f64>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Why the address was not probed, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Verdict {
    /// A verdict for an address that was never probed.
    pub fn unprobed(address: IpAddr, status: Status, reason: impl Into<String>) -> Verdict {
        Verdict {
            address,
            status,
            macs: Vec::new(),
            reply_ms: None,
            attempts: 0,
            flags: Vec::new(),
            interface: None,
            reason: Some(reason.into()),
        }
    }
}

/// RFC 5798 section 7.3: 00:00:5e:00:01:{VRID} for IPv4, 00:00:5e:00:02:{VRID} for IPv6.
pub fn is_vrrp_mac(mac: MacAddr) -> bool {
    (mac.0, mac.1, mac.2, mac.3) == (0x00, 0x00, 0x5e, 0x00) && matches!(mac.4, 0x01 | 0x02)
}

/// MACs that claimed more than half of the probed addresses (and at least a few).
pub fn proxy_suspects(evidence: &[Evidence], probed: usize) -> Vec<MacAddr> {
    let mut counts: BTreeMap<MacAddr, usize> = BTreeMap::new();
    for e in evidence {
        for mac in e.macs() {
            *counts.entry(mac).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n >= PROXY_MIN_ADDRESSES && n * 2 > probed)
        .map(|(mac, _)| mac)
        .collect()
}

/// The verdict for one probed candidate.
pub fn judge(
    address: impl Into<IpAddr>,
    evidence: &Evidence,
    attempts: u32,
    proxies: &[MacAddr],
) -> Verdict {
    let macs = evidence.macs();
    let status = match (evidence.first_probe, macs.len()) {
        (_, n) if n > 1 => Status::Conflict,
        (_, 1) => Status::InUse,
        (None, _) => Status::Unprobed,
        _ => Status::Free,
    };
    let mut flags = Vec::new();
    if macs.iter().any(|m| is_vrrp_mac(*m)) {
        flags.push(Flag::VrrpMac);
    }
    if macs.iter().any(|m| proxies.contains(m)) {
        flags.push(Flag::ProxyArpSuspected);
    }
    if evidence.claims.iter().any(|c| c.kind == ClaimKind::Probe) {
        flags.push(Flag::ProbedByOtherHost);
    }
    Verdict {
        address: address.into(),
        status,
        macs: macs.iter().map(ToString::to_string).collect(),
        reply_ms: evidence
            .reply_time()
            .map(|d| (d.as_secs_f64() * 10_000.0).round() / 10.0),
        attempts,
        flags,
        interface: None,
        reason: (status == Status::Unprobed)
            .then(|| "the deadline passed before it was probed; raise --timeout or --rate".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::Operation;
    use super::*;

    const OURS: MacAddr = MacAddr(0x52, 0x54, 0, 0, 0, 1);
    const HOST_A: MacAddr = MacAddr(0x52, 0x54, 0, 0, 0, 0xa);
    const HOST_B: MacAddr = MacAddr(0x52, 0x54, 0, 0, 0, 0xb);
    const VRRP: MacAddr = MacAddr(0, 0, 0x5e, 0, 1, 0x0a);

    fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 10, last)
    }

    fn reply(from: MacAddr, addr: Ipv4Addr, to_broadcast: bool) -> ArpFrame {
        let probe = ArpFrame::probe(OURS, addr);
        let mut frame = ArpFrame::reply_to(&probe, from);
        if to_broadcast {
            frame.target_mac = MacAddr::broadcast();
        }
        frame
    }

    fn observer() -> Observer {
        let candidates: Vec<Ipv4Addr> = (1..=10).map(ip).collect();
        let mut o = Observer::new(&candidates, vec![OURS]);
        for i in 0..10 {
            o.probe_sent(i, Duration::from_millis(i as u64));
        }
        o
    }

    fn verdict(o: &Observer, index: usize) -> Verdict {
        let proxies = proxy_suspects(o.evidence(), 10);
        judge(ip(index as u8 + 1), &o.evidence()[index], 3, &proxies)
    }

    #[test]
    fn classifies_free_in_use_and_conflict() {
        let mut o = observer();
        let t = Duration::from_millis(30);
        assert_eq!(o.observe(&reply(HOST_A, ip(2), false), t), Some(1));
        assert_eq!(
            o.observe(&reply(HOST_A, ip(2), false), t),
            None,
            "only the first proves"
        );
        o.observe(&reply(HOST_A, ip(3), false), t);
        o.observe(&reply(HOST_B, ip(3), true), t);
        assert_eq!(verdict(&o, 0).status, Status::Free);
        let in_use = verdict(&o, 1);
        assert_eq!(in_use.status, Status::InUse);
        assert_eq!(in_use.macs, ["52:54:00:00:00:0a"]);
        assert_eq!(in_use.reply_ms, Some(29.0));
        let conflict = verdict(&o, 2);
        assert_eq!(conflict.status, Status::Conflict);
        assert_eq!(conflict.macs.len(), 2);
    }

    #[test]
    fn requests_and_foreign_probes_are_claims_too() {
        let mut o = observer();
        let gratuitous = ArpFrame {
            operation: Operation::Request,
            sender_mac: HOST_A,
            sender_ip: ip(4),
            target_mac: MacAddr::zero(),
            target_ip: ip(4),
        };
        o.observe(&gratuitous, Duration::from_millis(5));
        let foreign_probe = ArpFrame::probe(HOST_B, ip(5));
        o.observe(&foreign_probe, Duration::from_millis(5));
        assert_eq!(verdict(&o, 3).status, Status::InUse);
        let probed = verdict(&o, 4);
        assert_eq!(probed.status, Status::InUse);
        assert_eq!(probed.flags, [Flag::ProbedByOtherHost]);
    }

    #[test]
    fn our_own_frames_and_strangers_are_ignored() {
        let mut o = observer();
        assert_eq!(
            o.observe(&ArpFrame::probe(OURS, ip(1)), Duration::ZERO),
            None
        );
        assert_eq!(o.observe(&reply(OURS, ip(1), false), Duration::ZERO), None);
        assert_eq!(
            o.observe(&reply(HOST_A, ip(99), false), Duration::ZERO),
            None
        );
        // A request *for* a candidate from an addressed host is not a claim on the candidate.
        let ask = ArpFrame {
            operation: Operation::Request,
            sender_mac: HOST_A,
            sender_ip: ip(200),
            target_mac: MacAddr::zero(),
            target_ip: ip(1),
        };
        assert_eq!(o.observe(&ask, Duration::ZERO), None);
        assert!(o.evidence().iter().all(|e| e.claims.is_empty()));
    }

    #[test]
    fn flags_vrrp_and_proxy_arp() {
        let mut o = observer();
        o.observe(&reply(VRRP, ip(1), false), Duration::from_millis(1));
        assert_eq!(verdict(&o, 0).flags, [Flag::VrrpMac]);
        // One MAC answering for 6 of 10 addresses looks like proxy ARP.
        for last in 5..=10 {
            o.observe(&reply(HOST_B, ip(last), false), Duration::from_millis(2));
        }
        assert_eq!(proxy_suspects(o.evidence(), 10), [HOST_B]);
        assert!(verdict(&o, 6).flags.contains(&Flag::ProxyArpSuspected));
        assert!(!verdict(&o, 0).flags.contains(&Flag::ProxyArpSuspected));
        // Three addresses of one host in a pool of ten: a multi-homed host, not a proxy.
        let mut few = observer();
        for last in 1..=3 {
            few.observe(&reply(HOST_A, ip(last), false), Duration::ZERO);
        }
        assert!(proxy_suspects(few.evidence(), 10).is_empty());
    }

    #[test]
    fn ipv6_claims_use_the_same_rules() {
        let v6 = |last: u16| std::net::Ipv6Addr::new(0xfd00, 0x10, 0, 0, 0, 0, 0, last);
        let candidates: Vec<_> = (1..=10).map(v6).collect();
        let mut o = Observer::new(&candidates, vec![OURS]);
        for i in 0..10 {
            o.probe_sent(i, Duration::ZERO);
        }
        let claim = |address, mac| Sighting {
            address,
            mac,
            kind: ClaimKind::Reply,
        };
        let t = Duration::from_millis(2);
        assert_eq!(o.record(claim(v6(2), HOST_A), t), Some(1));
        assert_eq!(o.record(claim(v6(3), HOST_A), t), Some(2));
        assert_eq!(o.record(claim(v6(3), HOST_B), t), None);
        assert_eq!(o.record(claim(v6(4), OURS), t), None, "our own MAC");
        assert_eq!(o.record(claim(v6(99), HOST_A), t), None, "not a candidate");
        let ipv6_vrrp = MacAddr(0, 0, 0x5e, 0, 2, 0x0a);
        o.record(claim(v6(5), ipv6_vrrp), t);
        let verdict = |i: usize| judge(candidates[i], &o.evidence()[i], 3, &[]);
        assert_eq!(verdict(0).status, Status::Free);
        assert_eq!(verdict(1).status, Status::InUse);
        assert_eq!(verdict(1).address, IpAddr::V6(v6(2)));
        assert_eq!(verdict(1).reply_ms, Some(2.0));
        assert_eq!(verdict(2).status, Status::Conflict);
        assert_eq!(verdict(3).status, Status::Free);
        assert_eq!(verdict(4).flags, [Flag::VrrpMac]);
        assert!(!is_vrrp_mac(MacAddr(0, 0, 0x5e, 0, 3, 1)));
    }

    #[test]
    fn never_probed_is_not_free() {
        let o = Observer::new(&[ip(1)], vec![OURS]);
        let v = judge(ip(1), &o.evidence()[0], 0, &[]);
        assert_eq!(v.status, Status::Unprobed);
        assert!(v.reason.unwrap().contains("--timeout"));
    }
}
