//! ARP probes of the pool addresses from this host (RFC 5227, through `src/net/arp`), run only
//! when the process may open raw sockets; otherwise the check says why it did not run.

use std::net::IpAddr;

use super::PoolInput;
use crate::net::arp::classify::Verdict;
use crate::net::arp::plan::{ProbeSettings, execute, plan};
use crate::net::node::NodeNetFacts;
use crate::net::pool::Pool;
use crate::net::roots::HostRoots;

/// Preflight probes at most this many addresses; `lbctl probe` is the tool for more.
pub const MAX_ADDRESSES: u128 = 4096;

/// CAP_NET_RAW's bit in the capability sets of /proc/self/status.
const CAP_NET_RAW: u32 = 13;

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeState {
    NotRun { reason: String },
    Done { verdicts: Vec<Verdict> },
    Failed { message: String, hint: String },
}

// Verdict carries an f64 (reply time); equality is still exact for facts compared in tests.
impl Eq for ProbeState {}

/// How to probe: `--interface`, `--rate`, `--attempts`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub interface: Option<String>,
    pub rate: u32,
    pub attempts: u32,
}

/// Whether `CapEff` in a /proc/<pid>/status text holds CAP_NET_RAW.
pub fn has_net_raw(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_NET_RAW) != 0)
}

/// Probes the addresses of all pools that are on a local network of this host.
pub async fn run(
    pools: &[PoolInput],
    node: &NodeNetFacts,
    roots: &HostRoots,
    settings: &Settings,
) -> ProbeState {
    if pools.is_empty() {
        return ProbeState::NotRun {
            reason: "no pool given".into(),
        };
    }
    let status = std::fs::read_to_string(roots.proc_path("self/status")).unwrap_or_default();
    if !has_net_raw(&status) {
        return ProbeState::NotRun {
            reason: "ARP probing needs CAP_NET_RAW: run as root (or setcap cap_net_raw+ep on lbctl) on a node".into(),
        };
    }
    let pools: Vec<Pool> = pools.iter().map(|p| p.pool.clone()).collect();
    let Ok(all) = Pool::union(&pools) else {
        return ProbeState::NotRun {
            reason: "the pools could not be merged".into(),
        };
    };
    let size = all.size();
    if size.exact().is_none_or(|n| n > MAX_ADDRESSES) {
        return ProbeState::NotRun {
            reason: format!(
                "the pools hold {size} addresses; preflight probes at most {MAX_ADDRESSES}: run {} on the part MetalLB will hand out",
                crate::invocation::command_line("probe")
            ),
        };
    }
    let addresses: Vec<IpAddr> = all.addresses().collect();
    let forced = match &settings.interface {
        Some(name) => match node.interface(name) {
            Some(i) => Some(i.clone()),
            None => {
                return ProbeState::Failed {
                    message: format!("no network interface named {name:?}"),
                    hint: "pass --interface with a name from `ip -br link`".into(),
                };
            }
        },
        None => None,
    };
    let plan = plan(&addresses, &node.interfaces, &node.routes, forced.as_ref());
    let probe_settings = ProbeSettings {
        rate: settings.rate,
        attempts: settings.attempts,
        timeout: None,
    };
    match execute(plan, probe_settings).await {
        Ok(outcome) => ProbeState::Done {
            verdicts: outcome.verdicts,
        },
        Err(e) => ProbeState::Failed {
            hint: e.hint().unwrap_or_else(|| {
                format!(
                    "run {} for details",
                    crate::invocation::command_line("probe")
                )
            }),
            message: format!("ARP probing failed: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_raw_from_the_effective_set() {
        assert!(has_net_raw("Name:\tlbctl\nCapEff:\t000001ffffffffff\n"));
        assert!(has_net_raw("CapEff:\t0000000000002000\n"));
        assert!(!has_net_raw("CapEff:\t0000000000000000\n"));
        assert!(!has_net_raw("CapPrm:\t0000000000002000\n"));
    }
}
