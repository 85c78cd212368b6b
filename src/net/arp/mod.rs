//! The ARP prober: RFC 5227 probes for many addresses at once. `packet`, `schedule` and
//! `classify` are pure; `socket` is the only part that touches the network.

pub mod classify;
pub mod packet;
pub mod plan;
pub mod schedule;
pub mod socket;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use classify::{Observer, Verdict, judge, proxy_suspects};
use packet::ArpFrame;
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
pub fn probe(
    interface: &str,
    candidates: &[Ipv4Addr],
    config: ScheduleConfig,
) -> Result<ProbeRun, Error> {
    let mut socket = ArpSocket::open(interface)?;
    let (frames_tx, frames) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let receiver = socket.spawn_receiver(frames_tx, Arc::clone(&stop));

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut schedule = Schedule::new(candidates.len(), config, seed);
    let mut observer = Observer::new(candidates, vec![socket.mac]);
    let start = Instant::now();
    let record = |observer: &mut Observer, schedule: &mut Schedule, at: Instant, frame| {
        if let Some(index) = observer.observe(&frame, at.saturating_duration_since(start)) {
            schedule.settle(index);
        }
    };

    let outcome = loop {
        while let Ok((at, frame)) = frames.try_recv() {
            record(&mut observer, &mut schedule, at, frame);
        }
        let now = start.elapsed();
        match schedule.next(now) {
            Step::Send(index) => {
                if let Err(err) = socket.send(&ArpFrame::probe(socket.mac, candidates[index])) {
                    break Err(err);
                }
                observer.probe_sent(index, now);
            }
            Step::WaitUntil(until) => {
                match frames.recv_timeout(until.saturating_sub(now)) {
                    Ok((at, frame)) => record(&mut observer, &mut schedule, at, frame),
                    Err(RecvTimeoutError::Timeout) => {}
                    // The receiver died (the interface went away): nothing more will arrive.
                    Err(RecvTimeoutError::Disconnected) => std::thread::sleep(until - now),
                }
            }
            Step::Finished => break Ok(()),
        }
    };
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    if let Some(handle) = receiver {
        let _ = handle.join();
    }
    outcome?;
    while let Ok((at, frame)) = frames.try_recv() {
        record(&mut observer, &mut schedule, at, frame);
    }

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
