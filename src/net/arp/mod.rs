//! The ARP prober: RFC 5227 probes for many addresses at once. `packet`, `schedule` and
//! `classify` are pure; `socket` is the only part that touches the network.

pub mod classify;
pub mod packet;
pub mod plan;
pub mod schedule;
pub mod socket;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use classify::{Observer, Verdict, judge, proxy_suspects};
use packet::{ArpFrame, FRAME_LEN};
use schedule::{Schedule, ScheduleConfig, Step};
use socket::ArpSocket;

use crate::Error;

/// What one probing run on one interface found.
#[derive(Debug)]
pub struct ProbeRun {
    pub verdicts: Vec<Verdict>,
    pub packets_sent: u64,
    pub elapsed: Duration,
}

/// Probes `candidates` on `interface` until every attempt was made and answered or timed out.
/// One thread: each wake-up sends the probes that came due (one system call) and then sleeps
/// in poll until the next batch or a reply.
pub fn probe(
    interface: &str,
    candidates: &[Ipv4Addr],
    config: ScheduleConfig,
) -> Result<ProbeRun, Error> {
    let mut socket = ArpSocket::open(interface)?;
    let mut schedule = Schedule::new(candidates.len(), config);
    let mut observer = Observer::new(candidates, vec![socket.mac]);
    let mut batch: Vec<[u8; FRAME_LEN]> = Vec::new();
    let start = Instant::now();

    loop {
        let now = start.elapsed();
        let step = loop {
            match schedule.next(now) {
                Step::Send(index) => {
                    batch.push(ArpFrame::probe(socket.mac, candidates[index]).to_bytes());
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
            take_replies(&mut socket, &mut observer, &mut schedule, start.elapsed())?;
        }
    }
    let elapsed = start.elapsed();
    // A reply that arrived as the last wait ended still counts.
    take_replies(&mut socket, &mut observer, &mut schedule, elapsed)?;

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
        elapsed,
    })
}

/// Reads what arrived and records it; an address proven in use gets no more probes.
fn take_replies(
    socket: &mut ArpSocket,
    observer: &mut Observer,
    schedule: &mut Schedule,
    at: Duration,
) -> Result<(), Error> {
    socket.receive(|frame| {
        if let Some(index) = observer.observe(&frame, at) {
            schedule.settle(index);
        }
    })
}
