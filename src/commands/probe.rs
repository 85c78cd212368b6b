//! `lbctl probe`: which pool addresses does some host on the LAN already claim?
//! Gather (interfaces, routes) -> plan (what to probe where, pure) -> probe -> render.

use std::net::IpAddr;
use std::time::Duration;

use colored::Colorize;
use serde::Serialize;

use crate::cli::{GlobalArgs, ProbeArgs};
use crate::net::arp::classify::{Flag, Status, Verdict};
use crate::net::arp::plan::{ProbeSettings, execute, plan};
use crate::net::interfaces::{self, Interface};
use crate::net::pool::{EdgeKind, Pool, compress, to_u128};
use crate::net::roots::HostRoots;
use crate::net::routes::RouteTable;
use crate::output::{count, is_json, print_json};
use crate::{Error, ExitCode, Result};

/// More addresses than this (a /16) would take minutes at any polite rate.
const MAX_ADDRESSES: u128 = 65_536;

pub async fn run(global: &GlobalArgs, args: &ProbeArgs) -> Result<ExitCode> {
    let pools = parse_pools(&args.pools)?;
    let addresses = pool_addresses(&pools)?;
    let interfaces = interfaces::list();
    let routes = RouteTable::read(&HostRoots::default());
    let forced = match &args.probing.interface {
        Some(name) => Some(probe_interface(&interfaces, name)?),
        None => None,
    };
    let plan = plan(&addresses, &interfaces, &routes, forced);
    let settings = ProbeSettings {
        rate: args.probing.rate,
        attempts: args.probing.attempts,
        timeout: args.timeout,
    };
    let outcome = crate::verbose::timed("probing", execute(plan, settings)).await?;
    let (verdicts, packets_sent, elapsed) =
        (outcome.verdicts, outcome.packets_sent, outcome.elapsed);
    let report = ProbeReport::new(&pools, args, verdicts, packets_sent, elapsed);
    if is_json(global.output) {
        print_json(&report);
    } else {
        print!("{}", render_human(&report));
    }
    Ok(report.exit_code())
}

fn parse_pools(texts: &[String]) -> Result<Vec<Pool>> {
    texts
        .iter()
        .map(|text| Pool::parse(text).map_err(Error::from))
        .collect()
}

/// Every distinct address of all pools, in order; refuses sizes that cannot be probed.
fn pool_addresses(pools: &[Pool]) -> Result<Vec<IpAddr>> {
    let all = Pool::union(pools)?;
    let size = all.size();
    if size.exact().is_none_or(|n| n > MAX_ADDRESSES) {
        return Err(Error::usage_with_hint(
            format!(
                "the pools hold {size} addresses; lbctl probes at most {MAX_ADDRESSES} (a /16) at a time"
            ),
            "probe the part of the range MetalLB will really hand out, e.g. a /24",
        ));
    }
    Ok(all.addresses().collect())
}

/// The interface named by `--interface`, if probing can use it.
fn probe_interface<'a>(interfaces: &'a [Interface], name: &str) -> Result<&'a Interface> {
    let interface = interfaces.iter().find(|i| i.name == name).ok_or_else(|| {
        let names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
        Error::usage_with_hint(
            format!("no network interface named {name:?}"),
            format!("interfaces here: {}", names.join(", ")),
        )
    })?;
    match interface.probe_skip_reason() {
        Some(reason) => Err(Error::usage(format!("cannot probe on {name}: {reason}"))),
        None => Ok(interface),
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    pub free: usize,
    pub in_use: usize,
    pub conflict: usize,
    pub ours: usize,
    pub not_on_link: usize,
    pub skipped: usize,
    pub unprobed: usize,
}

impl Summary {
    fn of(verdicts: &[Verdict]) -> Summary {
        let mut summary = Summary {
            total: verdicts.len(),
            ..Summary::default()
        };
        for verdict in verdicts {
            *match verdict.status {
                Status::Free => &mut summary.free,
                Status::InUse => &mut summary.in_use,
                Status::Conflict => &mut summary.conflict,
                Status::Ours => &mut summary.ours,
                Status::NotOnLink => &mut summary.not_on_link,
                Status::Skipped => &mut summary.skipped,
                Status::Unprobed => &mut summary.unprobed,
            } += 1;
        }
        summary
    }
}

/// The `-o json` document; the human output renders the same data.
#[derive(Debug, Serialize)]
pub struct ProbeReport {
    pub pools: Vec<String>,
    pub interfaces: Vec<String>,
    pub rate: u32,
    pub attempts: u32,
    pub packets_sent: u64,
    pub elapsed_ms: u64,
    pub summary: Summary,
    /// Every address of the pools, in address order.
    pub addresses: Vec<Verdict>,
}

impl ProbeReport {
    pub fn new(
        pools: &[Pool],
        args: &ProbeArgs,
        mut verdicts: Vec<Verdict>,
        packets_sent: u64,
        elapsed: Duration,
    ) -> ProbeReport {
        verdicts.sort_by_key(|v| (v.address.is_ipv6(), to_u128(v.address)));
        let edges: Vec<(IpAddr, EdgeKind)> =
            pools.iter().flat_map(Pool::network_and_broadcast).collect();
        for verdict in &mut verdicts {
            for (addr, kind) in &edges {
                if *addr == verdict.address {
                    verdict.flags.push(match kind {
                        EdgeKind::Network => Flag::NetworkAddress,
                        EdgeKind::Broadcast => Flag::BroadcastAddress,
                    });
                }
            }
        }
        let mut interfaces: Vec<String> = verdicts
            .iter()
            .filter_map(|v| v.interface.clone())
            .collect();
        interfaces.sort();
        interfaces.dedup();
        ProbeReport {
            pools: pools.iter().map(ToString::to_string).collect(),
            interfaces,
            rate: args.probing.rate,
            attempts: args.probing.attempts,
            packets_sent,
            elapsed_ms: elapsed.as_millis() as u64,
            summary: Summary::of(&verdicts),
            addresses: verdicts,
        }
    }

    /// 1 when an address is taken or unusable, else 3 when the deadline cut probing short.
    pub fn exit_code(&self) -> ExitCode {
        if self.addresses.iter().any(|v| v.status.is_problem()) {
            ExitCode::Failed
        } else if self.summary.unprobed > 0 {
            ExitCode::CannotRun
        } else {
            ExitCode::Ok
        }
    }
}

fn status_word(status: Status) -> String {
    let label = status.label();
    match status {
        Status::Free => label.green().to_string(),
        Status::InUse | Status::Ours => label.yellow().bold().to_string(),
        Status::Conflict | Status::NotOnLink => label.red().bold().to_string(),
        Status::Skipped | Status::Unprobed => label.dimmed().to_string(),
    }
}

fn flag_text(flag: Flag) -> &'static str {
    match flag {
        Flag::VrrpMac => "VRRP virtual MAC (a router pair owns it)",
        Flag::ProxyArpSuspected => "proxy ARP suspected (this MAC answers for most of the pool)",
        Flag::ProbedByOtherHost => "another host is probing for it",
        Flag::NetworkAddress => "network address of the CIDR",
        Flag::BroadcastAddress => "broadcast address of the CIDR",
    }
}

/// Summary line, then each address that is not free, then the free addresses as ranges.
/// The summary line: how many addresses, where, what was found and at what pace.
fn headline(report: &ProbeReport) -> String {
    let s = &report.summary;
    let mut counts = vec![format!("{} free", s.free)];
    for (n, label) in [
        (s.in_use, "in use"),
        (s.conflict, "in conflict"),
        (s.ours, "ours"),
        (s.not_on_link, "not on link"),
        (s.skipped, "skipped"),
        (s.unprobed, "not probed"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {label}"));
        }
    }
    let on = if report.interfaces.is_empty() {
        String::new()
    } else {
        format!(" on {}", report.interfaces.join(", "))
    };
    format!(
        "{} of {}{on}: {} ({}, {} per address at most, {} packets/s, {:.1}s)\n",
        count(s.total as u64, "address", "addresses"),
        report.pools.join(" "),
        counts.join(", "),
        count(report.packets_sent, "probe", "probes"),
        report.attempts,
        report.rate,
        report.elapsed_ms as f64 / 1000.0
    )
}

/// One address that is not plainly free, in aligned columns.
fn verdict_line(verdict: &Verdict, width: usize) -> String {
    let mut detail = verdict.macs.join(", ");
    if let Some(ms) = verdict.reply_ms {
        detail.push_str(&format!(" ({ms} ms)"));
    }
    if let Some(reason) = &verdict.reason {
        detail.push_str(reason);
    }
    let flags: Vec<&str> = verdict.flags.iter().map(|f| flag_text(*f)).collect();
    if !flags.is_empty() {
        detail.push_str(&format!("; {}", flags.join("; ")));
    }
    // Pad before colouring so escape codes do not break the columns.
    let word = format!("{:<11}", verdict.status.label());
    format!(
        "{:<width$}  {}  {}\n",
        verdict.address.to_string(),
        word.replace(verdict.status.label(), &status_word(verdict.status)),
        detail.trim_start_matches("; ")
    )
}

pub fn render_human(report: &ProbeReport) -> String {
    let s = &report.summary;
    let mut out = headline(report);
    let width = report
        .addresses
        .iter()
        .map(|v| v.address.to_string().len())
        .max()
        .unwrap_or(0);
    for verdict in report.addresses.iter().filter(|v| v.status != Status::Free) {
        out.push_str(&verdict_line(verdict, width));
    }
    let free = report.addresses.iter().filter(|v| v.status == Status::Free);
    for run in compress(free.clone().map(|v| v.address)) {
        out.push_str(&format!("{run} {}\n", status_word(Status::Free)));
    }
    let edges: Vec<String> = free
        .filter(|v| {
            v.flags
                .iter()
                .any(|f| matches!(f, Flag::NetworkAddress | Flag::BroadcastAddress))
        })
        .map(|v| v.address.to_string())
        .collect();
    if !edges.is_empty() {
        out.push_str(&format!(
            "note: {} {} a network or broadcast address; some clients cannot reach such VIPs (set avoidBuggyIPs: true on the IPAddressPool)\n",
            edges.join(", "),
            if edges.len() == 1 { "is" } else { "are" }
        ));
    }
    if s.free > 0 {
        out.push_str("note: an answer proves an address is in use, silence never that it stays free: hosts that are off or asleep do not answer\n");
    }
    if s.unprobed > 0 {
        out.push_str("hint: the deadline passed before every address was probed; raise --timeout or --rate\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_pools_too_large_to_probe() {
        let pools = parse_pools(&["10.0.0.0/15".into()]).unwrap();
        let err = pool_addresses(&pools).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(err.to_string().contains("131072"));
        let bad = parse_pools(&["10.0.0.5/24".into()]).unwrap_err();
        assert_eq!(bad.exit_code(), ExitCode::Usage);
        assert!(bad.to_string().contains("did you mean 10.0.0.0/24"));
        let overlapping = parse_pools(&["10.0.0.0/30".into(), "10.0.0.2-10.0.0.5".into()]).unwrap();
        assert_eq!(pool_addresses(&overlapping).unwrap().len(), 6);
    }

    fn verdict(addr: &str, status: Status, macs: &[&str]) -> Verdict {
        let mut v = Verdict::unprobed(ip(addr), status, "");
        v.reason = None;
        v.attempts = 3;
        v.macs = macs.iter().map(|m| m.to_string()).collect();
        v.interface = Some("eth0".into());
        v
    }

    fn args() -> ProbeArgs {
        ProbeArgs {
            pools: vec![],
            probing: crate::cli::ProbeTuning {
                interface: None,
                rate: 500,
                attempts: 3,
            },
            timeout: None,
        }
    }

    #[test]
    fn human_output_lists_problems_then_free_ranges() {
        colored::control::set_override(false);
        let pools = parse_pools(&["192.168.10.0/29".into()]).unwrap();
        let mut vrrp = verdict("192.168.10.3", Status::InUse, &["00:00:5e:00:01:0a"]);
        vrrp.flags.push(Flag::VrrpMac);
        vrrp.reply_ms = Some(0.4);
        let verdicts = vec![
            verdict("192.168.10.0", Status::Free, &[]),
            verdict("192.168.10.1", Status::Free, &[]),
            verdict("192.168.10.2", Status::Free, &[]),
            vrrp,
            verdict(
                "192.168.10.4",
                Status::Conflict,
                &["52:54:00:00:00:0a", "52:54:00:00:00:0b"],
            ),
            verdict("192.168.10.5", Status::Free, &[]),
            verdict("192.168.10.6", Status::Free, &[]),
            verdict("192.168.10.7", Status::Free, &[]),
        ];
        let report = ProbeReport::new(&pools, &args(), verdicts, 20, Duration::from_millis(4200));
        assert_eq!(report.exit_code(), ExitCode::Failed);
        let text = render_human(&report);
        let expected = "\
8 addresses of 192.168.10.0/29 on eth0: 6 free, 1 in use, 1 in conflict (20 probes, 3 per address at most, 500 packets/s, 4.2s)
192.168.10.3  in use       00:00:5e:00:01:0a (0.4 ms); VRRP virtual MAC (a router pair owns it)
192.168.10.4  conflict     52:54:00:00:00:0a, 52:54:00:00:00:0b
192.168.10.0-192.168.10.2 free
192.168.10.5-192.168.10.7 free
note: 192.168.10.0, 192.168.10.7 are a network or broadcast address; some clients cannot reach such VIPs (set avoidBuggyIPs: true on the IPAddressPool)
note: an answer proves an address is in use, silence never that it stays free: hosts that are off or asleep do not answer
";
        assert_eq!(text, expected);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["addresses"].as_array().unwrap().len(), 8);
        assert_eq!(json["addresses"][3]["status"], "in-use");
        assert_eq!(json["addresses"][3]["flags"][0], "vrrp-mac");
        assert_eq!(json["addresses"][0]["flags"][0], "network-address");
        assert_eq!(json["summary"]["conflict"], 1);
    }

    #[test]
    fn exit_codes_follow_the_worst_address() {
        let pools = parse_pools(&["10.0.0.1-10.0.0.2".into()]).unwrap();
        let report = |statuses: [Status; 2]| {
            let verdicts = vec![
                verdict("10.0.0.1", statuses[0], &[]),
                verdict("10.0.0.2", statuses[1], &[]),
            ];
            ProbeReport::new(&pools, &args(), verdicts, 0, Duration::ZERO).exit_code()
        };
        assert_eq!(report([Status::Free, Status::Free]), ExitCode::Ok);
        assert_eq!(report([Status::Free, Status::Skipped]), ExitCode::Ok);
        assert_eq!(
            report([Status::Free, Status::Unprobed]),
            ExitCode::CannotRun
        );
        assert_eq!(report([Status::Unprobed, Status::InUse]), ExitCode::Failed);
        assert_eq!(report([Status::Ours, Status::Free]), ExitCode::Failed);
        assert_eq!(report([Status::NotOnLink, Status::Free]), ExitCode::Failed);
    }
}
