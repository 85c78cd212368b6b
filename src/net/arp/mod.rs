//! The ARP prober: RFC 5227 probes for many addresses at once, and Neighbor Solicitations
//! (RFC 4861, or RFC 4862 DAD probes without a link-local address) for IPv6 addresses.
//! `packet`, `ndp`, `schedule` and `classify` are pure; `socket` is the only part that touches
//! the network.

pub mod classify;
pub mod ndp;
pub mod packet;
pub mod plan;
pub mod schedule;
pub mod socket;

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

pub use pnet_base::MacAddr;

use classify::{Observer, Sighting, Verdict, judge, proxy_suspects};
use packet::{ArpFrame, FRAME_LEN};
use schedule::{Schedule, ScheduleConfig, Step};
use socket::ArpSocket;

use crate::Error;

/// What differs between probing IPv4 (ARP) and IPv6 (NDP) addresses: the frames and the
/// ethertype. Pacing, retries and classification are shared.
pub trait Family {
    type Addr: Copy + Eq + Hash + Into<IpAddr>;
    type Frame: AsRef<[u8]>;
    /// Names the protocol in error messages.
    const NAME: &'static str;
    const ETHERTYPE: u16;
    /// Link-layer multicast groups the socket must receive besides broadcast.
    const GROUPS: &'static [[u8; 6]];
    fn probe(us: &Sender, candidate: Self::Addr) -> Self::Frame;
    /// The claim a received frame makes, if any.
    fn sighting(frame: &[u8]) -> Option<Sighting<Self::Addr>>;
}

/// Where probes come from: the interface's MAC and, for NDP, its link-local address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    pub mac: MacAddr,
    pub link_local: Option<Ipv6Addr>,
}

/// RFC 5227 ARP probes.
pub enum Arp {}

/// Neighbor Solicitations (see `ndp`), answered by Neighbor Advertisements.
pub enum Ndp {}

impl Family for Arp {
    type Addr = Ipv4Addr;
    type Frame = [u8; FRAME_LEN];
    const NAME: &'static str = "ARP";
    const ETHERTYPE: u16 = libc::ETH_P_ARP as u16;
    const GROUPS: &'static [[u8; 6]] = &[];
    fn probe(us: &Sender, candidate: Ipv4Addr) -> [u8; FRAME_LEN] {
        ArpFrame::probe(us.mac, candidate).to_bytes()
    }
    fn sighting(frame: &[u8]) -> Option<Sighting<Ipv4Addr>> {
        ArpFrame::parse(frame).map(|f| f.sighting())
    }
}

impl Family for Ndp {
    type Addr = Ipv6Addr;
    type Frame = ndp::Probe;
    const NAME: &'static str = "NDP";
    const ETHERTYPE: u16 = ndp::ETHERTYPE_IPV6;
    // Owners answer DAD probes to all-nodes; joining it keeps answers coming even when IPv6 is
    // off on the interface (the kernel then has not joined it itself). Answers to resolution
    // solicitations come to our MAC.
    const GROUPS: &'static [[u8; 6]] = &[ndp::ALL_NODES_MAC];
    fn probe(us: &Sender, candidate: Ipv6Addr) -> ndp::Probe {
        ndp::Probe::new(us.mac, us.link_local, candidate)
    }
    fn sighting(frame: &[u8]) -> Option<Sighting<Ipv6Addr>> {
        ndp::parse_advertisement(frame).map(|a| Sighting {
            address: a.target,
            mac: a.mac,
            kind: classify::ClaimKind::Reply,
        })
    }
}

/// What one probing run on one interface found.
#[derive(Debug)]
pub struct ProbeRun {
    pub verdicts: Vec<Verdict>,
    pub packets_sent: u64,
}

/// Probes `candidates` on `interface` with ARP until every attempt was made and answered or
/// timed out.
pub fn probe(
    interface: &str,
    candidates: &[Ipv4Addr],
    config: ScheduleConfig,
) -> Result<ProbeRun, Error> {
    probe_family::<Arp>(interface, candidates, config)
}

/// The same for IPv6 addresses, with DAD probes.
pub fn probe_v6(
    interface: &str,
    candidates: &[Ipv6Addr],
    config: ScheduleConfig,
) -> Result<ProbeRun, Error> {
    probe_family::<Ndp>(interface, candidates, config)
}

/// One thread: each wake-up sends the probes that came due (one system call) and then sleeps
/// in poll until the next batch or a reply.
pub fn probe_family<F: Family>(
    interface: &str,
    candidates: &[F::Addr],
    config: ScheduleConfig,
) -> Result<ProbeRun, Error> {
    let mut socket = ArpSocket::open(interface, F::NAME, F::ETHERTYPE, F::GROUPS)?;
    let mut schedule = Schedule::new(candidates.len(), config);
    let sender = socket.sender;
    let mut observer = Observer::new(candidates, vec![sender.mac]);
    let mut batch: Vec<F::Frame> = Vec::new();
    let start = Instant::now();

    loop {
        let now = start.elapsed();
        let step = loop {
            match schedule.next(now) {
                Step::Send(index) => {
                    batch.push(F::probe(&sender, candidates[index]));
                    observer.probe_sent(index, now);
                }
                other => break other,
            }
        };
        if !batch.is_empty() {
            socket.send_all(&batch)?;
            batch.clear();
        }
        let Step::WaitUntil(until) = step else {
            break;
        };
        if socket.wait(until.saturating_sub(start.elapsed()))? {
            take_replies::<F>(&mut socket, &mut observer, &mut schedule, start.elapsed())?;
        }
    }
    // A reply that arrived as the last wait ended still counts.
    take_replies::<F>(&mut socket, &mut observer, &mut schedule, start.elapsed())?;

    let evidence = observer.evidence();
    let probed = evidence.iter().filter(|e| e.first_probe.is_some()).count();
    let proxies = proxy_suspects(evidence, probed);
    let verdicts = candidates
        .iter()
        .zip(evidence)
        .enumerate()
        .map(|(i, (addr, e))| {
            let mut verdict = judge(*addr, e, schedule.attempts_sent(i), &proxies);
            verdict.interface = Some(interface.to_string());
            verdict
        })
        .collect();
    Ok(ProbeRun {
        verdicts,
        packets_sent: schedule.packets_sent(),
    })
}

/// Reads what arrived and records it; an address proven in use gets no more probes.
fn take_replies<F: Family>(
    socket: &mut ArpSocket,
    observer: &mut Observer<F::Addr>,
    schedule: &mut Schedule,
    at: Duration,
) -> Result<(), Error> {
    socket.receive(F::sighting, |sighting| {
        if let Some(index) = observer.record(sighting, at) {
            schedule.settle(index, at, sighting.kind == classify::ClaimKind::Reply);
        }
    })
}
