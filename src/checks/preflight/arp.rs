//! LB309: what ARP probes of the pool addresses found.

use super::list;
use crate::checks::Outcome;
use crate::facts::PreflightFacts;
use crate::facts::probe::ProbeState;
use crate::net::arp::classify::{Flag, Status};
use crate::output::count;

pub fn probes(f: &PreflightFacts) -> Outcome {
    let verdicts = match &f.probe {
        ProbeState::NotRun { reason } => return Outcome::skip(reason.clone()),
        ProbeState::Failed { message, hint } => {
            return Outcome::error(message.clone(), hint.clone());
        }
        ProbeState::Done { verdicts } => verdicts,
    };
    let probed: Vec<_> = verdicts.iter().filter(|v| v.attempts > 0).collect();
    let describe = |v: &&crate::net::arp::classify::Verdict| {
        format!(
            "{} ({} by {})",
            v.address,
            v.status.label(),
            v.macs.join(", ")
        )
    };
    let proxy: Vec<String> = verdicts
        .iter()
        .filter(|v| v.flags.contains(&Flag::ProxyArpSuspected))
        .map(|v| v.address.to_string())
        .collect();
    let taken: Vec<String> = verdicts
        .iter()
        .filter(|v| matches!(v.status, Status::InUse | Status::Conflict))
        .filter(|v| !v.flags.contains(&Flag::ProxyArpSuspected))
        .map(|v| describe(&v))
        .collect();
    let unprobed = verdicts
        .iter()
        .filter(|v| v.status == Status::Unprobed)
        .count();
    if !taken.is_empty() {
        return Outcome::fail(
            format!(
                "{} pool addresses already answer ARP: {}",
                taken.len(),
                list(&taken, 3)
            ),
            "take these addresses out of the pool, or find and stop their owner (arping -D ADDRESS; the MAC's vendor helps)",
        );
    }
    if !proxy.is_empty() {
        return Outcome::warn(
            format!(
                "one device answered for {} pool addresses ({}): proxy ARP suspected, so probing cannot tell which addresses are free",
                proxy.len(),
                list(&proxy, 3)
            ),
            format!(
                "turn proxy ARP off on the router or host that answers (its MAC is in {})",
                crate::invocation::command_line("probe -o json")
            ),
        );
    }
    if unprobed > 0 {
        return Outcome::warn(
            format!(
                "{} not probed before the deadline",
                count(unprobed as u64, "address was", "addresses were")
            ),
            format!(
                "probe them with {}",
                crate::invocation::command_line("probe --rate N")
            ),
        );
    }
    if probed.is_empty() {
        return Outcome::skip("no pool address is on a network this host can probe (see LB308)");
    }
    Outcome::pass(format!(
        "{} probed, none answered (an answer shows an address in use, silence never that it stays free)",
        count(probed.len() as u64, "address", "addresses")
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cluster, facts};
    use super::*;
    use crate::checks::Status as CheckStatus;
    use crate::net::arp::classify::Verdict;

    fn verdict(addr: &str, status: Status, attempts: u32, flags: Vec<Flag>) -> Verdict {
        Verdict {
            address: addr.parse().unwrap(),
            status,
            macs: if matches!(status, Status::InUse | Status::Conflict) {
                vec!["02:00:00:00:00:09".into()]
            } else {
                vec![]
            },
            reply_ms: None,
            attempts,
            flags,
            interface: Some("eth0".into()),
            reason: None,
        }
    }

    fn with(state: ProbeState) -> PreflightFacts {
        let mut f = facts(cluster());
        f.probe = state;
        f
    }

    #[test]
    fn probe_results_table() {
        let free = verdict("10.0.0.1", Status::Free, 3, vec![]);
        let used = verdict("10.0.0.2", Status::InUse, 1, vec![]);
        let proxied = verdict("10.0.0.3", Status::InUse, 1, vec![Flag::ProxyArpSuspected]);
        let late = verdict("10.0.0.4", Status::Unprobed, 0, vec![]);
        let cases = [
            (vec![free.clone()], CheckStatus::Pass, "1 address probed"),
            (
                vec![free.clone(), used],
                CheckStatus::Fail,
                "10.0.0.2 (in use by 02:00:00:00:00:09)",
            ),
            (
                vec![free.clone(), proxied],
                CheckStatus::Warn,
                "proxy ARP suspected",
            ),
            (vec![free, late], CheckStatus::Warn, "not probed"),
            (vec![], CheckStatus::Skip, "no pool address"),
        ];
        for (verdicts, want, text) in cases {
            let o = probes(&with(ProbeState::Done { verdicts }));
            assert_eq!(o.status, want, "{text}: {o:?}");
            assert!(o.message.contains(text), "{text}: {}", o.message);
        }
        let o = probes(&with(ProbeState::NotRun {
            reason: "needs CAP_NET_RAW".into(),
        }));
        assert_eq!(o, Outcome::skip("needs CAP_NET_RAW"));
        let o = probes(&with(ProbeState::Failed {
            message: "socket".into(),
            hint: "h".into(),
        }));
        assert_eq!(o.status, CheckStatus::Error);
    }
}
