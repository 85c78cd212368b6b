//! Where each address is probed from: addresses that need no packet (ours, behind a gateway,
//! IPv6) are decided from the routes, the rest grouped by the interface their probes leave
//! from, then probed under one deadline. Shared by `lbctl probe`, preflight and doctor.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
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
pub struct Plan {
    pub decided: Vec<Verdict>,
    pub targets: BTreeMap<String, Vec<Ipv4Addr>>,
}

pub fn plan(
    addresses: &[IpAddr],
    interfaces: &[Interface],
    routes: &RouteTable,
    forced: Option<&Interface>,
) -> Plan {
    let mut plan = Plan::default();
    for &address in addresses {
        let IpAddr::V4(v4) = address else {
            plan.decided.push(Verdict::unprobed(
                address,
                Status::Skipped,
                "IPv6: ARP is IPv4 only (lbctl does not probe with NDP)",
            ));
            continue;
        };
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
                        "its route leads to {name}, which cannot carry ARP ({reason})"
                    )));
                    continue;
                }
                name
            }
            (None, None) => continue,
        };
        plan.targets.entry(interface).or_default().push(v4);
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
pub struct Outcome {
    pub verdicts: Vec<Verdict>,
    pub packets_sent: u64,
    pub elapsed: Duration,
}

/// Probes the plan's targets interface by interface (on a blocking thread) under one deadline.
pub async fn execute(plan: Plan, settings: ProbeSettings) -> Result<Outcome, Error> {
    let count: usize = plan.targets.values().map(Vec::len).sum();
    let config = move |deadline| ScheduleConfig::new(settings.rate, settings.attempts, deadline);
    let timeout = settings.timeout.unwrap_or_else(|| {
        config(Duration::ZERO).expected_duration(count) * 2 + Duration::from_secs(5)
    });
    let Plan { decided, targets } = plan;
    let runs = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        targets
            .iter()
            .map(|(interface, candidates)| {
                let left = timeout.saturating_sub(started.elapsed());
                super::probe(interface, candidates, config(left))
            })
            .collect::<Result<Vec<_>, Error>>()
    })
    .await
    .map_err(|e| Error::io("the probing thread failed", std::io::Error::other(e)))??;
    let mut outcome = Outcome {
        verdicts: decided,
        packets_sent: 0,
        elapsed: Duration::ZERO,
    };
    for run in runs {
        outcome.verdicts.extend(run.verdicts);
        outcome.packets_sent += run.packets_sent;
        outcome.elapsed += run.elapsed;
    }
    Ok(outcome)
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
                ("fd00::1".to_string(), Status::Skipped),
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
    fn a_forced_interface_takes_unrouted_addresses_but_not_routed_ones() {
        let (interfaces, routes) = host();
        let addrs = ["172.16.0.1", "10.20.0.1"].map(ip);
        let plan = plan(&addrs, &interfaces, &routes, Some(&interfaces[0]));
        assert_eq!(plan.targets["eth0"], vec![Ipv4Addr::new(172, 16, 0, 1)]);
        assert_eq!(plan.decided[0].status, Status::NotOnLink);
    }
}
