//! Where each address is probed from: addresses that need no packet (ours, behind a gateway)
//! are decided from the routes, the rest grouped by the interface their probes leave from (ARP
//! for IPv4, NDP for IPv6), then probed under one deadline. Shared by `lbctl probe`, preflight
//! and doctor.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::classify::{Status, Verdict};
use super::schedule::ScheduleConfig;
use crate::Error;
use crate::net::interfaces::Interface;
use crate::net::node::{AddressPath, path_to};
use crate::net::routes::RouteTable;

/// What to do with each address: some are decided without a packet, the rest are grouped by
/// the interface their probes leave from.
#[derive(Debug, Default)]
pub struct ProbePlan {
    pub decided: Vec<Verdict>,
    pub targets: BTreeMap<String, Vec<Ipv4Addr>>,
    /// IPv6 addresses, probed with NDP.
    pub targets_v6: BTreeMap<String, Vec<Ipv6Addr>>,
}

pub fn plan(
    addresses: &[IpAddr],
    interfaces: &[Interface],
    routes: &RouteTable,
    forced: Option<&Interface>,
) -> ProbePlan {
    let mut plan = ProbePlan::default();
    for &address in addresses {
        let protocol = if address.is_ipv4() { "ARP" } else { "NDP" };
        let path = path_to(interfaces, routes, address);
        let not_on_link = |reason: String| Verdict::unprobed(address, Status::NotOnLink, reason);
        let via = match path {
            AddressPath::Local { interface } => {
                let mut verdict = Verdict::unprobed(
                    address,
                    Status::Ours,
                    format!("configured on this host ({interface})"),
                );
                verdict.interface = Some(interface);
                plan.decided.push(verdict);
                continue;
            }
            AddressPath::ViaGateway { interface, gateway } => {
                plan.decided.push(not_on_link(format!(
                    "routed via gateway {gateway} on {interface}: L2 mode cannot announce it from this segment"
                )));
                continue;
            }
            AddressPath::NoRoute if forced.is_none() => {
                plan.decided.push(not_on_link(
                    "no route to it from this host; pass --interface to probe anyway".into(),
                ));
                continue;
            }
            AddressPath::NoRoute => None,
            AddressPath::OnLink { interface } => Some(interface),
        };
        let interface = match (forced, via) {
            (Some(forced), _) => forced.name.clone(),
            (None, Some(name)) => {
                let skip = interfaces
                    .iter()
                    .find(|i| i.name == name)
                    .and_then(Interface::probe_skip_reason);
                if let Some(reason) = skip {
                    plan.decided.push(not_on_link(format!(
                        "its route leads to {name}, which cannot carry {protocol} ({reason})"
                    )));
                    continue;
                }
                name
            }
            (None, None) => continue,
        };
        match address {
            IpAddr::V4(v4) => plan.targets.entry(interface).or_default().push(v4),
            IpAddr::V6(v6) => plan.targets_v6.entry(interface).or_default().push(v6),
        }
    }
    plan
}

/// How to probe: `--rate`, `--attempts`, and an optional overall deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSettings {
    pub rate: u32,
    pub attempts: u32,
    /// Default: twice the time the probes need, plus 5 s.
    pub timeout: Option<Duration>,
}

/// Everything a plan's probing found, decided addresses included.
#[derive(Debug)]
pub struct ProbeResults {
    pub verdicts: Vec<Verdict>,
    pub packets_sent: u64,
    pub elapsed: Duration,
}

/// Probes the plan's targets under one deadline: every interface and family at once, each on
/// its own socket and thread, with a share of `--rate` in proportion to its addresses, so the
/// total rate holds and a dual-stack pool takes as long as one family.
pub async fn execute(plan: ProbePlan, settings: ProbeSettings) -> Result<ProbeResults, Error> {
    let ProbePlan {
        decided,
        targets,
        targets_v6,
    } = plan;
    let counts: Vec<usize> = targets
        .values()
        .map(Vec::len)
        .chain(targets_v6.values().map(Vec::len))
        .collect();
    let count: usize = counts.iter().sum();
    let rates = rate_shares(settings.rate, &counts);
    let timeout = settings.timeout.unwrap_or_else(|| {
        ScheduleConfig::new(settings.rate, settings.attempts, Duration::ZERO)
            .expected_duration(count)
            * 2
            + Duration::from_secs(5)
    });
    let config = move |rate| ScheduleConfig::new(rate, settings.attempts, timeout);
    let started = std::time::Instant::now();
    let runs = tokio::task::spawn_blocking(move || {
        // `rates` follows `counts`: IPv4 interfaces, then IPv6 ones.
        let mut rates = rates.into_iter();
        std::thread::scope(|scope| {
            let mut running = Vec::new();
            for ((interface, candidates), rate) in targets.iter().zip(&mut rates) {
                let config = config(rate);
                running.push(scope.spawn(move || super::probe(interface, candidates, config)));
            }
            for ((interface, candidates), rate) in targets_v6.iter().zip(&mut rates) {
                let config = config(rate);
                running.push(scope.spawn(move || super::probe_v6(interface, candidates, config)));
            }
            running
                .into_iter()
                .map(|run| {
                    run.join().map_err(|_| {
                        Error::io("a probing thread failed", std::io::Error::other("panicked"))
                    })?
                })
                .collect::<Result<Vec<_>, Error>>()
        })
    })
    .await
    .map_err(|e| Error::io("the probing thread failed", std::io::Error::other(e)))??;
    let mut outcome = ProbeResults {
        verdicts: decided,
        packets_sent: 0,
        elapsed: started.elapsed(),
    };
    for run in runs {
        outcome.verdicts.extend(run.verdicts);
        outcome.packets_sent += run.packets_sent;
    }
    Ok(outcome)
}

/// Splits `rate` packets per second over runs probing `counts` addresses, in proportion; every
/// run gets at least 1/s.
pub fn rate_shares(rate: u32, counts: &[usize]) -> Vec<u32> {
    let total: u64 = counts.iter().map(|&n| n as u64).sum();
    counts
        .iter()
        .map(|&n| {
            let share = u64::from(rate) * n as u64 / total.max(1);
            u32::try_from(share).unwrap_or(rate).max(1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::routes::Route;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn host() -> (Vec<Interface>, RouteTable) {
        let iface = |name: &str, flags: u32, addr: &str| Interface {
            name: name.into(),
            index: 2,
            mac: Some("52:54:00:00:00:01".into()),
            flags,
            addresses: vec![addr.parse().unwrap()],
            master: None,
        };
        let route = |dest: &str, gateway: Option<&str>, interface: &str| Route {
            destination: dest.parse().unwrap(),
            gateway: gateway.map(ip),
            interface: interface.into(),
            metric: 0,
            reject: false,
        };
        (
            vec![
                iface("eth0", 0x1043, "192.168.10.5/24"),
                iface("eth9", 0x10c3, "10.9.0.1/24"),
            ],
            RouteTable {
                routes: vec![
                    route("192.168.10.0/24", None, "eth0"),
                    route("10.9.0.0/24", None, "eth9"),
                    route("10.20.0.0/16", Some("192.168.10.1"), "eth0"),
                ],
            },
        )
    }

    #[test]
    fn plans_probes_only_for_on_link_addresses() {
        let (interfaces, routes) = host();
        let addrs = [
            "192.168.10.5",
            "192.168.10.6",
            "10.20.0.1",
            "10.9.0.7",
            "172.16.0.1",
            "fd00::1",
        ]
        .map(ip);
        let plan = plan(&addrs, &interfaces, &routes, None);
        assert_eq!(plan.targets.len(), 1);
        assert_eq!(plan.targets["eth0"], vec![Ipv4Addr::new(192, 168, 10, 6)]);
        let decided: Vec<(String, Status)> = plan
            .decided
            .iter()
            .map(|v| (v.address.to_string(), v.status))
            .collect();
        assert_eq!(
            decided,
            [
                ("192.168.10.5".to_string(), Status::Ours),
                ("10.20.0.1".to_string(), Status::NotOnLink),
                ("10.9.0.7".to_string(), Status::NotOnLink),
                ("172.16.0.1".to_string(), Status::NotOnLink),
                ("fd00::1".to_string(), Status::NotOnLink),
            ]
        );
        assert!(
            plan.decided[1]
                .reason
                .as_deref()
                .unwrap()
                .contains("via gateway 192.168.10.1")
        );
        assert!(plan.decided[2].reason.as_deref().unwrap().contains("NOARP"));
    }

    #[test]
    fn ipv6_addresses_follow_the_ipv6_routes() {
        let (mut interfaces, mut routes) = host();
        interfaces[0]
            .addresses
            .push("fd00:10::5/64".parse().unwrap());
        interfaces[1]
            .addresses
            .push("fd00:9::1/64".parse().unwrap());
        let route = |dest: &str, gateway: Option<&str>, interface: &str| Route {
            destination: dest.parse().unwrap(),
            gateway: gateway.map(ip),
            interface: interface.into(),
            metric: 256,
            reject: false,
        };
        routes.routes.extend([
            route("fd00:10::/64", None, "eth0"),
            route("fd00:9::/64", None, "eth9"),
            route("fd00:20::/64", Some("fd00:10::1"), "eth0"),
        ]);
        let addrs = [
            "fd00:10::5",
            "fd00:10::6",
            "192.168.10.6",
            "fd00:10::7",
            "fd00:20::1",
            "fd00:9::7",
            "fd00:99::1",
        ]
        .map(ip);
        let plan = plan(&addrs, &interfaces, &routes, None);
        assert_eq!(plan.targets["eth0"], [Ipv4Addr::new(192, 168, 10, 6)]);
        assert_eq!(
            plan.targets_v6["eth0"],
            ["fd00:10::6", "fd00:10::7"].map(ip6)
        );
        assert_eq!(plan.targets_v6.len(), 1);
        let decided: Vec<(String, Status)> = plan
            .decided
            .iter()
            .map(|v| (v.address.to_string(), v.status))
            .collect();
        assert_eq!(
            decided,
            [
                ("fd00:10::5".to_string(), Status::Ours),
                ("fd00:20::1".to_string(), Status::NotOnLink),
                ("fd00:9::7".to_string(), Status::NotOnLink),
                ("fd00:99::1".to_string(), Status::NotOnLink),
            ]
        );
        let reason = |i: usize| plan.decided[i].reason.clone().unwrap();
        assert!(
            reason(1).contains("via gateway fd00:10::1"),
            "{}",
            reason(1)
        );
        assert!(
            reason(2).contains("cannot carry NDP (") && reason(2).contains("NOARP"),
            "{}",
            reason(2)
        );
        assert!(reason(3).contains("no route"), "{}", reason(3));
        // A forced interface takes on-link and unrouted ones (as for IPv4), never routed ones.
        let forced = super::plan(&addrs[4..], &interfaces, &routes, Some(&interfaces[0]));
        assert_eq!(
            forced.targets_v6["eth0"],
            [ip6("fd00:9::7"), ip6("fd00:99::1")]
        );
        assert_eq!(forced.decided.len(), 1);
        assert_eq!(forced.decided[0].address, ip("fd00:20::1"));
    }

    fn ip6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn the_rate_is_shared_in_proportion_and_never_exceeded() {
        assert_eq!(rate_shares(500, &[256]), [500]);
        assert_eq!(rate_shares(500, &[16, 16]), [250, 250]);
        assert_eq!(rate_shares(500, &[300, 100]), [375, 125]);
        // Rounding down keeps the sum within the rate; a tiny run still gets 1/s.
        let shares = rate_shares(500, &[1000, 999, 1]);
        assert_eq!(shares, [250, 249, 1]);
        assert!(shares.iter().sum::<u32>() <= 500);
        assert_eq!(rate_shares(1, &[5, 5]), [1, 1]);
        assert!(rate_shares(500, &[]).is_empty());
    }

    #[test]
    fn a_forced_interface_takes_unrouted_addresses_but_not_routed_ones() {
        let (interfaces, routes) = host();
        let addrs = ["172.16.0.1", "10.20.0.1"].map(ip);
        let plan = plan(&addrs, &interfaces, &routes, Some(&interfaces[0]));
        assert_eq!(plan.targets["eth0"], vec![Ipv4Addr::new(172, 16, 0, 1)]);
        assert_eq!(plan.decided[0].status, Status::NotOnLink);
    }
}
