//! What to send when: every candidate is in flight at once, packets are paced by one global
//! rate, attempts for one address are spaced as RFC 5227 asks (a random gap between PROBE_MIN
//! and PROBE_MAX), an address proven in use gets no more probes, and one deadline bounds it all.
//! Pure: time is a `Duration` since the start and randomness comes from a seeded generator.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// RFC 5227 section 1.1.
pub const PROBE_MIN: Duration = Duration::from_secs(1);
pub const PROBE_MAX: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// Packets per second over all candidates.
    pub rate: u32,
    /// Probes per address.
    pub attempts: u32,
    pub probe_min: Duration,
    pub probe_max: Duration,
    /// How long to keep listening after an address's last probe.
    pub reply_wait: Duration,
    /// Nothing is sent or awaited past this.
    pub deadline: Duration,
}

impl ScheduleConfig {
    pub fn new(rate: u32, attempts: u32, deadline: Duration) -> Self {
        ScheduleConfig {
            rate: rate.max(1),
            attempts: attempts.max(1),
            probe_min: PROBE_MIN,
            probe_max: PROBE_MAX,
            reply_wait: PROBE_MIN,
            deadline,
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(1) / self.rate
    }

    /// The least time probing `count` addresses can take: the packets at the rate limit, or
    /// the spacing of one address's attempts, whichever is longer, plus the final listen.
    pub fn expected_duration(&self, count: usize) -> Duration {
        let sending = self.interval() * (count as u32).saturating_mul(self.attempts);
        let spacing = self.probe_max * (self.attempts - 1);
        sending.max(spacing) + self.reply_wait
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send a probe for candidate `index` now.
    Send(usize),
    /// Nothing is due before this time (listen for replies meanwhile).
    WaitUntil(Duration),
    Finished,
}

#[derive(Debug)]
pub struct Schedule {
    config: ScheduleConfig,
    rng: fastrand::Rng,
    /// (due time, candidate) of every address that still needs a probe.
    due: BinaryHeap<Reverse<(Duration, usize)>>,
    sent: Vec<u32>,
    /// When each candidate's latest probe went out.
    last_sent: Vec<Duration>,
    settled: Vec<bool>,
    /// The earliest time the rate limit allows the next packet.
    next_slot: Duration,
    /// Keep listening until then (last probe of some address + reply wait).
    listen_until: Duration,
    packets: u64,
}

impl Schedule {
    pub fn new(candidates: usize, config: ScheduleConfig, seed: u64) -> Schedule {
        Schedule {
            due: (0..candidates)
                .map(|i| Reverse((Duration::ZERO, i)))
                .collect(),
            sent: vec![0; candidates],
            last_sent: vec![Duration::ZERO; candidates],
            settled: vec![false; candidates],
            next_slot: Duration::ZERO,
            listen_until: Duration::ZERO,
            packets: 0,
            rng: fastrand::Rng::with_seed(seed),
            config,
        }
    }

    /// Decides the next step at time `now`. A `Send` is taken to have happened at `now`.
    pub fn next(&mut self, now: Duration) -> Step {
        if now >= self.config.deadline {
            return Step::Finished;
        }
        while let Some(&Reverse((_, index))) = self.due.peek() {
            if !self.settled[index] {
                break;
            }
            self.due.pop();
        }
        let Some(&Reverse((due, index))) = self.due.peek() else {
            return if now >= self.listen_until {
                Step::Finished
            } else {
                Step::WaitUntil(self.listen_until.min(self.config.deadline))
            };
        };
        let slot = due.max(self.next_slot);
        if now < slot {
            return Step::WaitUntil(slot.min(self.config.deadline));
        }
        self.due.pop();
        // A loop woken late (a busy machine) may catch up on up to 20 ms of missed slots, so the
        // average rate holds; older debts are forgotten rather than sent as one burst.
        let interval = self.config.interval();
        let catch_up = (interval * 2).max(Duration::from_millis(20));
        self.next_slot = slot.max(now.saturating_sub(catch_up)) + interval;
        self.sent[index] += 1;
        self.last_sent[index] = now;
        self.packets += 1;
        if self.sent[index] < self.config.attempts {
            let gap = self.random_gap();
            self.due.push(Reverse((now + gap, index)));
        } else {
            self.listen_until = self.listen_until.max(now + self.config.reply_wait);
        }
        Step::Send(index)
    }

    /// The address is proven in use: no more probes for it. Replies of other owners to the
    /// probe already sent may still be on their way, so keep listening for that probe's whole
    /// reply window: a split brain is only seen when every MAC that answers is collected.
    pub fn settle(&mut self, index: usize) {
        if let Some(flag) = self.settled.get_mut(index) {
            *flag = true;
            self.listen_until = self
                .listen_until
                .max(self.last_sent[index] + self.config.reply_wait);
        }
    }

    pub fn attempts_sent(&self, index: usize) -> u32 {
        self.sent[index]
    }

    pub fn packets_sent(&self) -> u64 {
        self.packets
    }

    fn random_gap(&mut self) -> Duration {
        let min = self.config.probe_min.as_micros() as u64;
        let max = self.config.probe_max.as_micros() as u64;
        Duration::from_micros(self.rng.u64(min..=max.max(min)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a schedule with a simulated clock; `settle_after` settles a candidate once it has
    /// been probed that many times. Returns (time, candidate) of every send and the end time.
    fn simulate(
        n: usize,
        config: ScheduleConfig,
        settle_after: &dyn Fn(usize) -> Option<u32>,
    ) -> (Vec<(Duration, usize)>, Duration) {
        let mut schedule = Schedule::new(n, config, 7);
        let mut now = Duration::ZERO;
        let mut sends = Vec::new();
        loop {
            match schedule.next(now) {
                Step::Send(i) => {
                    sends.push((now, i));
                    if settle_after(i) == Some(schedule.attempts_sent(i)) {
                        schedule.settle(i);
                    }
                }
                Step::WaitUntil(t) => {
                    assert!(t > now, "waits must move time forward");
                    now = t;
                }
                Step::Finished => return (sends, now),
            }
        }
    }

    #[test]
    fn every_address_gets_every_attempt_spaced_per_rfc_5227() {
        let config = ScheduleConfig::new(500, 3, Duration::from_secs(60));
        let (sends, end) = simulate(20, config, &|_| None);
        assert_eq!(sends.len(), 60);
        for i in 0..20 {
            let times: Vec<Duration> = sends.iter().filter(|s| s.1 == i).map(|s| s.0).collect();
            assert_eq!(times.len(), 3);
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(
                    gap >= PROBE_MIN && gap <= PROBE_MAX + Duration::from_millis(50),
                    "{gap:?}"
                );
            }
        }
        let last = sends.iter().map(|s| s.0).max().unwrap();
        assert!(end >= last + PROBE_MIN, "listens after the last probe");
    }

    #[test]
    fn the_rate_limit_holds_over_every_window() {
        let config = ScheduleConfig::new(100, 2, Duration::from_secs(60));
        let (sends, _) = simulate(300, config, &|_| None);
        assert_eq!(sends.len(), 600);
        for (k, (t, _)) in sends.iter().enumerate() {
            // No more than 100 packets in any one-second window starting at a send.
            let in_window = sends[k..]
                .iter()
                .take_while(|s| s.0 < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 100, "{in_window} packets in 1s from {t:?}");
        }
        // Paced: 600 packets at 100/s need about 6 s.
        assert!(sends.last().unwrap().0 >= Duration::from_millis(5_900));
    }

    #[test]
    fn a_late_loop_catches_up_without_a_long_burst() {
        let config = ScheduleConfig::new(500, 1, Duration::from_secs(60));
        let mut schedule = Schedule::new(100, config, 1);
        assert_eq!(schedule.next(Duration::ZERO), Step::Send(0));
        // Woken 100 ms late: 20 ms of missed slots (10 packets) go out at once, then pacing resumes.
        let late = Duration::from_millis(100);
        let mut burst = 0;
        while let Step::Send(_) = schedule.next(late) {
            burst += 1;
        }
        assert_eq!(burst, 11);
        assert!(matches!(schedule.next(late), Step::WaitUntil(t) if t > late));
    }

    #[test]
    fn settled_addresses_are_not_probed_again() {
        let config = ScheduleConfig::new(1000, 3, Duration::from_secs(60));
        let (sends, _) = simulate(10, config, &|i| (i % 2 == 0).then_some(1));
        for i in 0..10 {
            let count = sends.iter().filter(|s| s.1 == i).count();
            assert_eq!(count, if i % 2 == 0 { 1 } else { 3 }, "candidate {i}");
        }
    }

    #[test]
    fn a_settled_address_keeps_its_reply_window_open_for_other_owners() {
        // Every candidate answers its first probe: without the window the run would end at
        // once and a second owner's slightly later reply (a split brain) would be missed.
        let config = ScheduleConfig::new(1000, 3, Duration::from_secs(60));
        let (sends, end) = simulate(4, config, &|_| Some(1));
        assert_eq!(sends.len(), 4);
        let last = sends.last().unwrap().0;
        assert_eq!(end, last + PROBE_MIN);
    }

    #[test]
    fn the_deadline_stops_everything() {
        let config = ScheduleConfig::new(10, 3, Duration::from_secs(2));
        let (sends, end) = simulate(100, config, &|_| None);
        assert_eq!(end, Duration::from_secs(2));
        assert!(sends.iter().all(|s| s.0 < Duration::from_secs(2)));
        assert!(sends.len() <= 21);
    }

    #[test]
    fn expected_duration_covers_rate_and_spacing() {
        let config = ScheduleConfig::new(500, 3, Duration::from_secs(600));
        assert_eq!(
            config.expected_duration(4096),
            Duration::from_millis(24_576 + 1_000)
        );
        assert_eq!(config.expected_duration(10), Duration::from_secs(5));
    }
}
