//! What to send when: every candidate is in flight at once, packets are paced by one global
//! rate, attempts for one address are at least PROBE_MIN apart (RFC 5227), an address proven in
//! use gets no more probes, and one deadline bounds it all.
//! Pure: time is a `Duration` since the start.
//!
//! RFC 5227 (section 2.1.1) describes a host that is about to *claim* an address: it waits a
//! random 0..PROBE_WAIT before its first probe, spaces its probes randomly PROBE_MIN..PROBE_MAX
//! apart, and keeps watching ANNOUNCE_WAIT after the last one before it starts using the address.
//! The random waits keep hosts that start together (after a power failure) from probing in
//! lockstep, and ANNOUNCE_WAIT gives a rival claimer's own probes time to show up. lbctl claims
//! nothing, and one global rate limit already bounds its traffic, so it keeps only what protects
//! the hosts it asks: probes to one address are never closer than PROBE_MIN (1 s). The first
//! probe goes out at once. Replies to the earlier attempts have had 1 s each; after an address's
//! last probe lbctl listens as long as this link's answers say a reply can take (the way TCP and
//! nmap size their timeouts from measured round trips): srtt + 4 x rttvar of the unambiguous
//! replies seen so far, never less than MIN_REPLY_WAIT, and REPLY_WAIT while nothing has been
//! measured or the link is slow.

use std::collections::VecDeque;
use std::time::Duration;

/// RFC 5227 section 1.1: the least time between two probes for one address.
pub const PROBE_MIN: Duration = Duration::from_secs(1);

/// How long to listen after an address's last probe: arp-scan's default per-attempt timeout,
/// and far more than a host answering ARP from its kernel (microseconds) or from user space,
/// like a MetalLB speaker, needs.
pub const REPLY_WAIT: Duration = Duration::from_millis(500);

/// The least final listen however fast the link answered: hundreds of times what a kernel or a
/// MetalLB speaker needs, with room for a responder whose thread waits for a busy CPU.
pub const MIN_REPLY_WAIT: Duration = Duration::from_millis(250);

/// Packets whose rate slot has come are sent together once per window: one wake-up and one
/// system call per batch (5 probes at 500/s) instead of one per packet.
pub const BATCH_WINDOW: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// Packets per second over all candidates.
    pub rate: u32,
    /// Probes per address.
    pub attempts: u32,
    /// The least time between two probes for one address.
    pub spacing: Duration,
    /// How long to keep listening after an address's last probe, at most (and while no reply
    /// has been measured).
    pub reply_wait: Duration,
    /// How long at least, however fast replies came.
    pub min_reply_wait: Duration,
    /// Slots that come due within this window are sent together.
    pub batch_window: Duration,
    /// Nothing is sent or awaited past this.
    pub deadline: Duration,
}

impl ScheduleConfig {
    pub fn new(rate: u32, attempts: u32, deadline: Duration) -> Self {
        ScheduleConfig {
            rate: rate.max(1),
            attempts: attempts.max(1),
            spacing: PROBE_MIN,
            reply_wait: REPLY_WAIT,
            min_reply_wait: MIN_REPLY_WAIT,
            batch_window: BATCH_WINDOW,
            deadline,
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(1) / self.rate
    }

    /// The most time probing `count` addresses takes on an idle link: the packets at the rate
    /// limit, or the first round plus the spacing of one address's attempts, whichever is
    /// longer, plus the longest final listen.
    pub fn expected_duration(&self, count: usize) -> Duration {
        let round = self.interval() * (count as u32);
        let sending = round.saturating_mul(self.attempts);
        let spacing = round + self.spacing * (self.attempts - 1);
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
    /// (due time, candidate) of every address that still needs a probe. The spacing is fixed
    /// and sends happen in time order, so a retry's due time is never earlier than any queued
    /// one: a FIFO is already sorted, and the next round starts as soon as its first address
    /// may be probed again, while the previous one is still being sent (the link stays busy).
    due: VecDeque<(Duration, usize)>,
    sent: Vec<u32>,
    /// When each candidate's latest probe went out.
    last_sent: Vec<Duration>,
    settled: Vec<bool>,
    /// The earliest time the rate limit allows the next packet.
    next_slot: Duration,
    /// The latest probe whose reply window must be waited out: the last probe of an address
    /// that got all its attempts, or the one that proved an address in use.
    listen_from: Option<Duration>,
    round_trip: RoundTrip,
    packets: u64,
}

/// Smoothed reply time and its variation, as RFC 6298 keeps them for TCP.
#[derive(Debug, Default, Clone, Copy)]
struct RoundTrip {
    /// (srtt, rttvar) once a reply has been measured.
    estimate: Option<(Duration, Duration)>,
}

impl RoundTrip {
    fn sample(&mut self, r: Duration) {
        self.estimate = Some(match self.estimate {
            None => (r, r / 2),
            Some((srtt, rttvar)) => {
                let deviation = srtt.abs_diff(r);
                (srtt * 7 / 8 + r / 8, rttvar * 3 / 4 + deviation / 4)
            }
        });
    }

    /// How long a reply may still take: srtt + 4 x rttvar, between `min` and `max`.
    fn timeout(&self, min: Duration, max: Duration) -> Duration {
        match self.estimate {
            None => max,
            Some((srtt, rttvar)) => (srtt + rttvar * 4).clamp(min, max.max(min)),
        }
    }
}

impl Schedule {
    pub fn new(candidates: usize, config: ScheduleConfig) -> Schedule {
        Schedule {
            due: (0..candidates).map(|i| (Duration::ZERO, i)).collect(),
            sent: vec![0; candidates],
            last_sent: vec![Duration::ZERO; candidates],
            settled: vec![false; candidates],
            next_slot: Duration::ZERO,
            listen_from: None,
            round_trip: RoundTrip::default(),
            packets: 0,
            config,
        }
    }

    /// Decides the next step at time `now`. A `Send` is taken to have happened at `now`.
    pub fn next(&mut self, now: Duration) -> Step {
        if now >= self.config.deadline {
            return Step::Finished;
        }
        while self.due.front().is_some_and(|&(_, i)| self.settled[i]) {
            self.due.pop_front();
        }
        let Some(&(due, index)) = self.due.front() else {
            return match self.listen_until() {
                Some(until) if now < until => Step::WaitUntil(until.min(self.config.deadline)),
                _ => Step::Finished,
            };
        };
        let slot = due.max(self.next_slot);
        if now < slot {
            // Sleep at least one batch window: the slots that pass meanwhile go out together.
            let wake = slot.max(now + self.config.batch_window);
            return Step::WaitUntil(wake.min(self.config.deadline));
        }
        self.due.pop_front();
        // A loop woken late (a busy machine) may catch up on up to two batch windows of missed
        // slots, so the average rate holds; older debts are forgotten rather than sent as one burst.
        let interval = self.config.interval();
        let catch_up = (interval * 2).max(self.config.batch_window * 2);
        self.next_slot = slot.max(now.saturating_sub(catch_up)) + interval;
        self.sent[index] += 1;
        self.last_sent[index] = now;
        self.packets += 1;
        if self.sent[index] < self.config.attempts {
            self.due.push_back((now + self.config.spacing, index));
        } else {
            self.listen_after(now);
        }
        Step::Send(index)
    }

    /// The address is proven in use at `at`: no more probes for it. Replies of other owners to
    /// the probe already sent may still be on their way, so keep listening for that probe's
    /// whole reply window: a split brain is only seen when every MAC that answers is collected.
    /// `reply` says the proof answered our probe (not a gratuitous or foreign frame); it then
    /// measures the link, when only one probe was out (a reply after a retry could answer
    /// either: Karn's rule).
    pub fn settle(&mut self, index: usize, at: Duration, reply: bool) {
        let Some(flag) = self.settled.get_mut(index) else {
            return;
        };
        *flag = true;
        let last = self.last_sent[index];
        if reply && self.sent[index] == 1 {
            self.round_trip.sample(at.saturating_sub(last));
        }
        if self.sent[index] > 0 {
            self.listen_after(last);
        }
    }

    fn listen_after(&mut self, probe: Duration) {
        self.listen_from = Some(self.listen_from.map_or(probe, |t| t.max(probe)));
    }

    /// The end of the final listen, by what the replies measured so far say.
    fn listen_until(&self) -> Option<Duration> {
        self.listen_from.map(|t| t + self.reply_wait())
    }

    /// The final listen as it stands now.
    pub fn reply_wait(&self) -> Duration {
        self.round_trip
            .timeout(self.config.min_reply_wait, self.config.reply_wait)
    }

    pub fn attempts_sent(&self, index: usize) -> u32 {
        self.sent[index]
    }

    pub fn packets_sent(&self) -> u64 {
        self.packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a schedule with a simulated clock; `settle_after` settles a candidate once it has
    /// been probed that many times, by a reply that arrives at once. Returns (time, candidate)
    /// of every send and the end time.
    fn simulate(
        n: usize,
        config: ScheduleConfig,
        settle_after: &dyn Fn(usize) -> Option<u32>,
    ) -> (Vec<(Duration, usize)>, Duration) {
        let mut schedule = Schedule::new(n, config);
        let mut now = Duration::ZERO;
        let mut sends = Vec::new();
        loop {
            match schedule.next(now) {
                Step::Send(i) => {
                    sends.push((now, i));
                    if settle_after(i) == Some(schedule.attempts_sent(i)) {
                        schedule.settle(i, now, true);
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

    fn times_of(sends: &[(Duration, usize)], i: usize) -> Vec<Duration> {
        sends.iter().filter(|s| s.1 == i).map(|s| s.0).collect()
    }

    #[test]
    fn every_address_gets_every_attempt_at_least_probe_min_apart() {
        let config = ScheduleConfig::new(500, 3, Duration::from_secs(60));
        let (sends, end) = simulate(20, config, &|_| None);
        assert_eq!(sends.len(), 60);
        for i in 0..20 {
            let times = times_of(&sends, i);
            assert_eq!(times.len(), 3);
            for pair in times.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(gap >= PROBE_MIN, "{gap:?}");
                assert!(gap <= PROBE_MIN + BATCH_WINDOW, "no idle time: {gap:?}");
            }
        }
        let last = sends.iter().map(|s| s.0).max().unwrap();
        assert_eq!(end, last + REPLY_WAIT, "listens after the last probe");
    }

    #[test]
    fn a_small_pool_ends_one_round_and_two_spacings_after_the_start() {
        // 256 addresses at 500/s: each round takes 0.51 s, then the link waits for PROBE_MIN.
        let config = ScheduleConfig::new(500, 3, Duration::from_secs(60));
        let (sends, end) = simulate(256, config, &|_| None);
        assert_eq!(sends.len(), 768);
        let last = sends.last().unwrap().0;
        assert!(last >= Duration::from_millis(2_510), "{last:?}");
        assert!(last <= Duration::from_millis(2_530), "{last:?}");
        assert_eq!(end, last + REPLY_WAIT);
        for i in [0, 128, 255] {
            let times = times_of(&sends, i);
            assert!(times.windows(2).all(|p| p[1] - p[0] >= PROBE_MIN), "{i}");
        }
    }

    #[test]
    fn a_large_pool_keeps_the_link_busy_across_rounds() {
        // 2000 addresses at 500/s: a round takes 4 s, longer than PROBE_MIN, so the rounds
        // follow each other without a pause and the whole run is set by the rate.
        let config = ScheduleConfig::new(500, 3, Duration::from_secs(60));
        let (sends, _) = simulate(2000, config, &|_| None);
        assert_eq!(sends.len(), 6000);
        let last = sends.last().unwrap().0;
        assert!(last >= Duration::from_millis(11_990), "{last:?}");
        assert!(last <= Duration::from_millis(12_010), "{last:?}");
        let longest_pause = sends.windows(2).map(|p| p[1].0 - p[0].0).max().unwrap();
        assert!(longest_pause <= BATCH_WINDOW, "{longest_pause:?}");
    }

    #[test]
    fn the_rate_limit_holds_over_every_window_up_to_one_batch() {
        for rate in [100u32, 500, 2000] {
            let config = ScheduleConfig::new(rate, 2, Duration::from_secs(60));
            let n = rate as usize * 3;
            let (sends, _) = simulate(n, config, &|_| None);
            assert_eq!(sends.len(), 2 * n);
            let batch = (rate as usize * BATCH_WINDOW.as_millis() as usize).div_ceil(1000);
            for (k, (t, _)) in sends.iter().enumerate() {
                let in_window = sends[k..]
                    .iter()
                    .take_while(|s| s.0 < *t + Duration::from_secs(1))
                    .count();
                assert!(
                    in_window <= rate as usize + batch,
                    "{in_window} packets in 1s from {t:?} at {rate}/s"
                );
            }
            // Paced: 6 s worth of packets need about 6 s.
            let last = sends.last().unwrap().0;
            assert!(last >= Duration::from_millis(5_980), "{last:?} at {rate}/s");
            // Batched: one wake-up per window, not one per packet.
            let wakeups = sends.windows(2).filter(|p| p[1].0 != p[0].0).count() + 1;
            let windows = 6_000 / BATCH_WINDOW.as_millis() as usize;
            assert!(wakeups <= windows + 1, "{wakeups} wake-ups at {rate}/s");
        }
    }

    #[test]
    fn a_late_loop_catches_up_without_a_long_burst() {
        let config = ScheduleConfig::new(500, 1, Duration::from_secs(60));
        let mut schedule = Schedule::new(100, config);
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
        // The replies came at once, so the window is the least one.
        let config = ScheduleConfig::new(1000, 3, Duration::from_secs(60));
        let (sends, end) = simulate(4, config, &|_| Some(1));
        assert_eq!(sends.len(), 4);
        let last = sends.last().unwrap().0;
        assert_eq!(end, last + MIN_REPLY_WAIT);
    }

    /// Drives a schedule with a simulated clock up to `until`; returns when each candidate's
    /// probes went out.
    fn drive_until(schedule: &mut Schedule, now: &mut Duration, until: Duration) -> Vec<Duration> {
        let mut sent = Vec::new();
        while *now < until {
            match schedule.next(*now) {
                Step::Send(i) => {
                    sent.resize(sent.len().max(i + 1), Duration::MAX);
                    sent[i] = *now;
                }
                Step::WaitUntil(t) => *now = t.min(until),
                Step::Finished => break,
            }
        }
        sent
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Four candidates, each probed once (before 100 ms), and the clock at 100 ms.
    fn four_probed_once() -> (Schedule, Vec<Duration>) {
        let mut schedule = Schedule::new(4, ScheduleConfig::new(1000, 3, ms(60_000)));
        let mut now = Duration::ZERO;
        let sent = drive_until(&mut schedule, &mut now, ms(100));
        assert_eq!(sent.len(), 4);
        (schedule, sent)
    }

    #[test]
    fn the_final_listen_is_the_longest_while_nothing_was_measured() {
        let (schedule, _) = four_probed_once();
        assert_eq!(schedule.reply_wait(), REPLY_WAIT);
    }

    #[test]
    fn fast_replies_shorten_the_final_listen_to_its_floor() {
        let (mut schedule, sent) = four_probed_once();
        schedule.settle(0, sent[0] + ms(1), true);
        schedule.settle(1, sent[1] + ms(2), true);
        assert_eq!(schedule.reply_wait(), MIN_REPLY_WAIT);
    }

    #[test]
    fn slow_or_uneven_replies_lengthen_it_up_to_the_ceiling() {
        // 100 ms, then 20 ms: srtt 90 ms, rttvar 57.5 ms, so 320 ms.
        let (mut schedule, sent) = four_probed_once();
        schedule.settle(0, sent[0] + ms(100), true);
        schedule.settle(1, sent[1] + ms(20), true);
        assert_eq!(schedule.reply_wait(), ms(320));
        // A 400 ms reply (a speaker on a loaded node) pushes it to the ceiling.
        schedule.settle(2, sent[2] + ms(400), true);
        assert_eq!(schedule.reply_wait(), REPLY_WAIT);
    }

    #[test]
    fn only_unambiguous_replies_to_our_probes_are_measured() {
        let (mut schedule, sent) = four_probed_once();
        // A gratuitous ARP or a foreign probe says nothing about how fast the link answers us.
        schedule.settle(0, sent[0] + ms(1), false);
        assert_eq!(schedule.reply_wait(), REPLY_WAIT);
        // After a retry, a reply could answer either probe (Karn's rule).
        let mut now = ms(100);
        drive_until(&mut schedule, &mut now, ms(1_100));
        assert_eq!(schedule.attempts_sent(1), 2);
        schedule.settle(1, now, true);
        assert_eq!(schedule.reply_wait(), REPLY_WAIT);
    }

    #[test]
    fn the_run_ends_the_measured_final_listen_after_the_last_probe() {
        // Candidate 0 answers its first probe at once; 1 never answers and gets all three.
        let config = ScheduleConfig::new(1000, 3, Duration::from_secs(60));
        let (sends, end) = simulate(2, config, &|i| (i == 0).then_some(1));
        let last = *times_of(&sends, 1).last().unwrap();
        assert_eq!(times_of(&sends, 1).len(), 3);
        assert_eq!(end, last + MIN_REPLY_WAIT);
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
            Duration::from_millis(24_576 + 500)
        );
        assert_eq!(
            config.expected_duration(256),
            Duration::from_millis(512 + 2_000 + 500)
        );
    }
}
