//! `lbctl probe` for IPv6 pools: Neighbor Solicitations from the prober's link-local address
//! (DAD probes from `::` when it has none) answered by real Linux kernels, and by a user-space
//! responder that answers as MetalLB's speaker does, in network namespaces on a private bridge.
//! Skips (with a message) when not root or `ip` is missing.

mod netns_support;

use std::collections::HashMap;
use std::process::Output;
use std::time::Duration;

use netns_support::{Behaviour, Lab, Responder};
use serde_json::Value;

const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");

fn probe(ns: &str, args: &[&str]) -> Output {
    let mut full = vec!["netns", "exec", ns, LBCTL, "probe"];
    full.extend_from_slice(args);
    std::process::Command::new("ip")
        .args(&full)
        .output()
        .unwrap()
}

fn probe_json(ns: &str, args: &[&str]) -> (i32, Value) {
    let mut full = args.to_vec();
    full.extend_from_slice(&["-o", "json"]);
    let out = probe(ns, &full);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn by_address(report: &Value) -> HashMap<String, Value> {
    report["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["address"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn macs(verdict: &Value) -> Vec<String> {
    let mut macs: Vec<String> = verdict["macs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    macs.sort();
    macs
}

/// A bridged host with IPv6 on and `addresses` on eth0 without DAD (so they answer at once).
fn v6_host(lab: &mut Lab, name: &str, addresses: &[&str]) -> String {
    let ns = lab.host(name);
    lab.enable_ipv6(&ns, &["eth0"]);
    for addr in addresses {
        lab.ip(&ns, &["addr", "add", addr, "dev", "eth0", "nodad"]);
    }
    ns
}

/// A host whose user-space responder answers for `address` as MetalLB's speaker does.
fn speaker(lab: &mut Lab, name: &str, address: &str) -> (String, Responder) {
    let ns = v6_host(lab, name, &[]);
    let answers = HashMap::from([(
        address.parse().unwrap(),
        Behaviour {
            delay: Duration::ZERO,
            drop_first: 0,
        },
    )]);
    let responder = Responder::start_ndp(&ns, "eth0", answers);
    (ns, responder)
}

/// A host in the middle of DAD for `address` (30 probes, one a second).
fn claimer(lab: &mut Lab, address: &str) -> String {
    let ns = v6_host(lab, "claimer", &[]);
    lab.sysctl(&ns, "net.ipv6.conf.eth0.dad_transmits", "30");
    lab.ip(&ns, &["addr", "add", address, "dev", "eth0"]);
    ns
}

/// eth0's IPv6 addresses in `ns`, with their flags (tentative, dadfailed).
fn dad_state(lab: &Lab, ns: &str) -> String {
    let out = lab.ip(ns, &["-6", "addr", "show", "dev", "eth0"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn solicitations_find_owners_conflicts_vrrp_and_speakers_and_leave_the_rest_free() {
    require_lab!();
    let mut lab = Lab::new("ndp");
    lab.flood_multicast();
    let prober = v6_host(&mut lab, "prober", &["fd00:50::1/64"]);
    lab.ip(&prober, &["addr", "add", "10.55.0.1/24", "dev", "eth0"]);
    lab.ip(
        &prober,
        &["-6", "route", "add", "fd00:51::/64", "via", "fd00:50::fe"],
    );
    let h1 = v6_host(&mut lab, "h1", &["fd00:50::10/64", "fd00:50::11/64"]);
    lab.ip(&h1, &["addr", "add", "10.55.0.10/24", "dev", "eth0"]);
    let h2 = v6_host(&mut lab, "h2", &["fd00:50::20/64"]);
    // Two hosts owning one address.
    let c1 = v6_host(&mut lab, "c1", &["fd00:50::30/64"]);
    let c2 = v6_host(&mut lab, "c2", &["fd00:50::30/64"]);
    // A router pair's virtual address on a macvlan with an IPv6 VRRP MAC. Linux answers an NS
    // only on the interface holding the target, so eth0 (which sees the probe too) stays quiet.
    let vrrp = v6_host(&mut lab, "vrrp", &[]);
    lab.ip(
        &vrrp,
        &[
            "link",
            "add",
            "vrrp.10",
            "link",
            "eth0",
            "address",
            "00:00:5e:00:02:0a",
            "type",
            "macvlan",
            "mode",
            "bridge",
        ],
    );
    lab.ip(
        &vrrp,
        &["addr", "add", "fd00:50::40/64", "dev", "vrrp.10", "nodad"],
    );
    lab.ip(&vrrp, &["link", "set", "vrrp.10", "up"]);
    // A host still running DAD for ::50 (see `claimer`): its own DAD probes are
    // no claim, and our solicitations, which come from a unicast address, leave its DAD alone
    // (RFC 4862 section 5.4.3).
    let claimer = claimer(&mut lab, "fd00:50::50/64");
    // A MetalLB speaker announcing ::60: it answers only solicitations that name their sender's
    // MAC, never a DAD probe.
    let (speaker, responder) = speaker(&mut lab, "speaker", "fd00:50::60");

    let (code, report) = probe_json(
        &prober,
        &[
            "fd00:50::/121",
            "fd00:51::1-fd00:51::3",
            "10.55.0.8-10.55.0.11",
        ],
    );
    assert!(responder.stop() >= 1, "the speaker answered");
    assert_eq!(code, 1, "{report:#}");
    let v = by_address(&report);
    assert_eq!(v.len(), 128 + 3 + 4);
    assert_eq!(v["fd00:50::1"]["status"], "ours");
    let h1_mac = lab.mac(&h1, "eth0");
    for addr in ["fd00:50::10", "fd00:50::11", "10.55.0.10"] {
        assert_eq!(v[addr]["status"], "in-use", "{addr}: {}", v[addr]);
        assert_eq!(macs(&v[addr]), std::slice::from_ref(&h1_mac), "{addr}");
        assert_eq!(
            v[addr]["attempts"], 1,
            "an answered address is not probed again"
        );
    }
    assert_eq!(macs(&v["fd00:50::20"]), [lab.mac(&h2, "eth0")]);
    assert_eq!(v["fd00:50::30"]["status"], "conflict");
    let mut both = vec![lab.mac(&c1, "eth0"), lab.mac(&c2, "eth0")];
    both.sort();
    assert_eq!(macs(&v["fd00:50::30"]), both);
    assert_eq!(v["fd00:50::40"]["status"], "in-use");
    assert_eq!(macs(&v["fd00:50::40"]), ["00:00:5e:00:02:0a"]);
    assert_eq!(v["fd00:50::40"]["flags"][0], "vrrp-mac");
    assert_eq!(v["fd00:50::50"]["status"], "free", "{}", v["fd00:50::50"]);
    let claimed = dad_state(&lab, &claimer);
    assert!(
        claimed.contains("tentative") && !claimed.contains("dadfailed"),
        "the claimer's DAD goes on: {claimed}"
    );
    assert_eq!(v["fd00:50::60"]["status"], "in-use", "{}", v["fd00:50::60"]);
    assert_eq!(macs(&v["fd00:50::60"]), [lab.mac(&speaker, "eth0")]);
    for addr in ["fd00:51::1", "fd00:51::2", "fd00:51::3"] {
        assert_eq!(v[addr]["status"], "not-on-link");
        assert!(
            v[addr]["reason"]
                .as_str()
                .unwrap()
                .contains("via gateway fd00:50::fe"),
            "{}",
            v[addr]
        );
        assert_eq!(v[addr]["attempts"], 0);
    }
    let owned = [
        "fd00:50::1",
        "fd00:50::10",
        "fd00:50::11",
        "fd00:50::20",
        "fd00:50::30",
        "fd00:50::40",
        "fd00:50::60",
        "10.55.0.10",
    ];
    for (addr, verdict) in &v {
        if !owned.contains(&addr.as_str()) && !addr.starts_with("fd00:51::") {
            assert_eq!(verdict["status"], "free", "{addr}: {verdict}");
            assert_eq!(verdict["attempts"], 3, "{addr}");
        }
        assert!(!verdict.to_string().contains("proxy-arp"), "{addr}");
    }
    assert_eq!(report["summary"]["free"], 128 - 7 + 3);
    assert_eq!(report["summary"]["skipped"], 0);
}

#[test]
fn a_free_ipv6_range_exits_0_in_both_output_forms() {
    require_lab!();
    let mut lab = Lab::new("ndpfree");
    lab.flood_multicast();
    let prober = v6_host(&mut lab, "prober", &["fd00:60::1/64"]);
    // An owner elsewhere on the segment, outside the range, answers nothing for it.
    v6_host(&mut lab, "other", &["fd00:60::99/64"]);
    let (code, report) = probe_json(&prober, &["fd00:60::100-fd00:60::10f", "--attempts", "2"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["free"], 16);
    assert_eq!(report["packets_sent"], 32);
    for verdict in report["addresses"].as_array().unwrap() {
        assert_eq!(verdict["attempts"], 2, "{verdict}");
        assert_eq!(verdict["interface"], "eth0", "{verdict}");
    }

    let human = probe(
        &prober,
        &["fd00:60::100-fd00:60::10f,fd00:60::99", "--attempts", "1"],
    );
    let text = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with(
            "17 addresses of fd00:60::100-fd00:60::10f,fd00:60::99 on eth0: 16 free, 1 in use"
        ),
        "{text}"
    );
    assert!(text.contains("fd00:60::100-fd00:60::10f free\n"), "{text}");
}

#[test]
fn without_a_link_local_address_dad_probes_find_kernel_owners_only() {
    require_lab!();
    let mut lab = Lab::new("ndpdad");
    lab.flood_multicast();
    let prober = v6_host(&mut lab, "prober", &["fd00:70::1/64"]);
    lab.ip(
        &prober,
        &["-6", "addr", "flush", "dev", "eth0", "scope", "link"],
    );
    let owner = v6_host(&mut lab, "owner", &["fd00:70::10/64"]);
    let claimer = claimer(&mut lab, "fd00:70::50/64");
    let (_speaker, responder) = speaker(&mut lab, "speaker", "fd00:70::60");

    let (code, report) = probe_json(&prober, &["fd00:70::10,fd00:70::50,fd00:70::60"]);
    let answered = responder.stop();
    assert_eq!(code, 1, "{report:#}");
    let v = by_address(&report);
    assert_eq!(macs(&v["fd00:70::10"]), [lab.mac(&owner, "eth0")]);
    // A DAD probe is what the claimer itself sends: RFC 4862 section 5.4.3 makes it give up.
    assert_eq!(v["fd00:70::50"]["status"], "free");
    let claimed = dad_state(&lab, &claimer);
    assert!(claimed.contains("dadfailed"), "{claimed}");
    // And a speaker never answers a DAD probe: what docs/probe.md warns about.
    assert_eq!(v["fd00:70::60"]["status"], "free", "{}", v["fd00:70::60"]);
    assert_eq!(answered, 0);
}
