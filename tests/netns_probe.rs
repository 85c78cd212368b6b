//! `lbctl probe` as a process inside network namespaces, against real kernels and raw-socket
//! responders on a private bridge. Skips (with a message) when not root or `ip` is missing.

mod netns_support;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::process::Output;
use std::time::Duration;

use netns_support::{Behaviour, Lab, Responder};
use serde_json::Value;

const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");

fn probe(_lab: &Lab, ns: &str, args: &[&str]) -> Output {
    let mut full = vec!["netns", "exec", ns, LBCTL, "probe"];
    full.extend_from_slice(args);
    std::process::Command::new("ip")
        .args(&full)
        .output()
        .unwrap()
}

fn probe_json(lab: &Lab, ns: &str, args: &[&str]) -> (i32, Value) {
    let mut full = args.to_vec();
    full.extend_from_slice(&["-o", "json"]);
    let out = probe(lab, ns, &full);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// address -> the verdict object
fn by_address(report: &Value) -> HashMap<String, Value> {
    report["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["address"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn status(verdicts: &HashMap<String, Value>, addr: &str) -> String {
    verdicts[addr]["status"].as_str().unwrap().to_string()
}

fn macs(verdicts: &HashMap<String, Value>, addr: &str) -> Vec<String> {
    let mut macs: Vec<String> = verdicts[addr]["macs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    macs.sort();
    macs
}

fn behaviour(delay_ms: u64, drop_first: usize) -> Behaviour {
    Behaviour {
        delay: Duration::from_millis(delay_ms),
        drop_first,
    }
}

#[test]
fn finds_owners_conflicts_vrrp_late_hosts_and_our_own_address() {
    require_lab!();
    let mut lab = Lab::new("own");
    let prober = lab.host_with("prober", &["10.50.0.1/24"]);
    let h1 = lab.host_with("h1", &["10.50.0.10/24", "10.50.0.11/24"]);
    let h2 = lab.host_with("h2", &["10.50.0.20/24"]);
    // Two hosts claiming one address.
    let c1 = lab.host_with("c1", &["10.50.0.30/24"]);
    let c2 = lab.host_with("c2", &["10.50.0.30/24"]);
    // A router pair's virtual address on a macvlan with a VRRP MAC; arp_ignore=1 so that
    // only the macvlan (not eth0 too) answers, as keepalived setups do.
    let vrrp = lab.host("vrrp");
    lab.sysctl(&vrrp, "net.ipv4.conf.all.arp_ignore", "1");
    lab.ip(
        &vrrp,
        &[
            "link",
            "add",
            "vrrp.10",
            "link",
            "eth0",
            "address",
            "00:00:5e:00:01:0a",
            "type",
            "macvlan",
            "mode",
            "bridge",
        ],
    );
    lab.ip(&vrrp, &["addr", "add", "10.50.0.40/24", "dev", "vrrp.10"]);
    lab.ip(&vrrp, &["link", "set", "vrrp.10", "up"]);
    // A host that answers 300 ms late (user-space responder).
    let late = lab.host("late");
    let responder = Responder::start(
        &late,
        "eth0",
        HashMap::from([(Ipv4Addr::new(10, 50, 0, 50), behaviour(300, 0))]),
    );

    let (code, report) = probe_json(&lab, &prober, &["10.50.0.0/26"]);
    assert!(responder.stop() >= 1);
    assert_eq!(code, 1, "{report:#}");
    let v = by_address(&report);
    assert_eq!(v.len(), 64);
    assert_eq!(status(&v, "10.50.0.1"), "ours");
    assert_eq!(macs(&v, "10.50.0.10"), [lab.mac(&h1, "eth0")]);
    assert_eq!(macs(&v, "10.50.0.11"), [lab.mac(&h1, "eth0")]);
    assert_eq!(status(&v, "10.50.0.20"), "in-use");
    assert_eq!(macs(&v, "10.50.0.20"), [lab.mac(&h2, "eth0")]);
    assert_eq!(status(&v, "10.50.0.30"), "conflict");
    let mut both = vec![lab.mac(&c1, "eth0"), lab.mac(&c2, "eth0")];
    both.sort();
    assert_eq!(macs(&v, "10.50.0.30"), both);
    assert_eq!(status(&v, "10.50.0.40"), "in-use");
    assert_eq!(macs(&v, "10.50.0.40"), ["00:00:5e:00:01:0a"]);
    assert_eq!(v["10.50.0.40"]["flags"][0], "vrrp-mac");
    assert_eq!(status(&v, "10.50.0.50"), "in-use");
    assert_eq!(macs(&v, "10.50.0.50"), [lab.mac(&late, "eth0")]);
    assert!(v["10.50.0.50"]["reply_ms"].as_f64().unwrap() >= 290.0);
    // An answered address is not probed again.
    assert_eq!(v["10.50.0.20"]["attempts"], 1);
    // Everything else is free, after every attempt, and no proxy ARP is suspected.
    let owned = [
        "10.50.0.1",
        "10.50.0.10",
        "10.50.0.11",
        "10.50.0.20",
        "10.50.0.30",
        "10.50.0.40",
        "10.50.0.50",
    ];
    for (addr, verdict) in &v {
        if !owned.contains(&addr.as_str()) {
            assert_eq!(verdict["status"], "free", "{addr}: {verdict}");
            assert_eq!(verdict["attempts"], 3, "{addr}");
        }
        assert!(!verdict.to_string().contains("proxy-arp"), "{addr}");
    }
    assert_eq!(report["summary"]["free"], 57);
    assert_eq!(v["10.50.0.0"]["flags"][0], "network-address");

    // The human form says the same.
    let human = probe(&lab, &prober, &["10.50.0.8-10.50.0.12", "--attempts", "1"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with("5 addresses of 10.50.0.8-10.50.0.12 on eth0: 3 free, 2 in use"),
        "{text}"
    );
    assert!(text.contains("10.50.0.8-10.50.0.9 free\n"), "{text}");
    assert!(
        text.contains(&format!(
            "10.50.0.10  in use       {}",
            lab.mac(&h1, "eth0")
        )),
        "{text}"
    );
}

#[test]
fn retries_find_every_owner_behind_a_lossy_responder() {
    require_lab!();
    let mut lab = Lab::new("loss");
    let prober = lab.host_with("prober", &["10.80.0.1/24"]);
    let lossy = lab.host("lossy");
    // 20 owners; each ignores its first 0, 1 or 2 requests (a third to two thirds dropped).
    let owners: HashMap<Ipv4Addr, Behaviour> = (10..30)
        .map(|last| {
            (
                Ipv4Addr::new(10, 80, 0, last),
                behaviour(0, usize::from(last % 3)),
            )
        })
        .collect();
    let responder = Responder::start(&lossy, "eth0", owners.clone());
    let (code, report) = probe_json(&lab, &prober, &["10.80.0.2-10.80.0.40"]);
    responder.stop();
    assert_eq!(code, 1);
    let v = by_address(&report);
    for (addr, b) in &owners {
        let key = addr.to_string();
        assert_eq!(status(&v, &key), "in-use", "{key}: {}", v[&key]);
        assert_eq!(v[&key]["attempts"], b.drop_first as u64 + 1, "{key}");
    }
    assert_eq!(report["summary"]["in_use"], 20);
    assert_eq!(report["summary"]["free"], 19);
}

#[test]
fn a_linux_proxy_arp_router_ignores_probes_but_an_answer_all_device_is_flagged() {
    require_lab!();
    let mut lab = Lab::new("proxy");
    let prober = lab.host_with("prober", &["10.70.0.1/23"]);
    // A router with proxy_arp on its LAN side and a route to 10.70.1.0/24 behind it.
    let router = lab.host_with("router", &["10.70.0.254/24"]);
    let beyond = lab.isolated("beyond");
    lab.link(&router, "eth1", &beyond, "eth1");
    lab.ip(&router, &["addr", "add", "10.70.1.254/24", "dev", "eth1"]);
    lab.ip(&beyond, &["addr", "add", "10.70.1.5/24", "dev", "eth1"]);
    lab.sysctl(&router, "net.ipv4.ip_forward", "1");
    lab.sysctl(&router, "net.ipv4.conf.eth0.proxy_arp", "1");
    // Linux answers RFC 5227 probes (sender 0.0.0.0) only for its own addresses, never by proxy.
    let (code, report) = probe_json(&lab, &prober, &["10.70.1.0/29", "--attempts", "2"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["free"], 8);
    // ... while an ordinary request (sender IP set) does get the proxy's answer.
    if let Ok(out) = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &prober,
            "arping",
            "-c",
            "1",
            "-w",
            "3",
            "-I",
            "eth0",
            "10.70.1.5",
        ])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(text.contains(&lab.mac(&router, "eth0")), "arping: {text}");
    }

    // A device that answers for every address looks like proxy ARP, not eight owners.
    let box_ns = lab.host("answerall");
    let all: HashMap<Ipv4Addr, Behaviour> = (0..8)
        .map(|last| (Ipv4Addr::new(10, 70, 0, 16 + last), behaviour(0, 0)))
        .collect();
    let responder = Responder::start(&box_ns, "eth0", all);
    let (code, report) = probe_json(&lab, &prober, &["10.70.0.16/29", "--attempts", "1"]);
    responder.stop();
    assert_eq!(code, 1);
    for verdict in report["addresses"].as_array().unwrap() {
        assert_eq!(verdict["status"], "in-use", "{verdict}");
        assert!(
            verdict["flags"]
                .as_array()
                .unwrap()
                .contains(&Value::from("proxy-arp-suspected")),
            "{verdict}"
        );
    }
}

#[test]
fn addresses_behind_a_gateway_or_a_noarp_link_are_never_probed() {
    require_lab!();
    let mut lab = Lab::new("route");
    let prober = lab.host_with("prober", &["10.60.0.1/24"]);
    lab.ip(
        &prober,
        &["route", "add", "10.61.0.0/24", "via", "10.60.0.254"],
    );
    let other = lab.isolated("noarp");
    lab.link(&prober, "eth1", &other, "eth1");
    lab.ip(&prober, &["link", "set", "dev", "eth1", "arp", "off"]);
    lab.ip(&prober, &["addr", "add", "10.62.0.1/24", "dev", "eth1"]);
    let before = lab.tx_packets(&prober, "eth0");

    let (code, report) = probe_json(
        &lab,
        &prober,
        &["10.61.0.1-10.61.0.3,10.62.0.5-10.62.0.6", "10.60.0.7"],
    );
    assert_eq!(code, 1, "{report:#}");
    let v = by_address(&report);
    for addr in ["10.61.0.1", "10.61.0.2", "10.61.0.3"] {
        assert_eq!(status(&v, addr), "not-on-link");
        assert!(
            v[addr]["reason"]
                .as_str()
                .unwrap()
                .contains("via gateway 10.60.0.254")
        );
        assert_eq!(v[addr]["attempts"], 0);
    }
    for addr in ["10.62.0.5", "10.62.0.6"] {
        assert_eq!(status(&v, addr), "not-on-link");
        assert!(
            v[addr]["reason"].as_str().unwrap().contains("NOARP"),
            "{}",
            v[addr]
        );
    }
    assert_eq!(status(&v, "10.60.0.7"), "free");
    // Only the one on-link address was probed (3 attempts).
    assert_eq!(report["packets_sent"], 3);
    assert_eq!(lab.tx_packets(&prober, "eth0") - before, 3);

    // --interface naming something unusable is a usage error.
    let lo = probe(&lab, &prober, &["10.60.0.7", "--interface", "lo"]);
    assert_eq!(lo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&lo.stderr).contains("cannot probe on lo: loopback"));
    let missing = probe(&lab, &prober, &["10.60.0.7", "--interface", "nope0"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no network interface named \"nope0\"")
    );
}

#[test]
fn bad_pools_exit_2_and_no_capability_exits_3() {
    require_lab!();
    let mut lab = Lab::new("perm");
    let prober = lab.host_with("prober", &["10.90.0.1/24"]);
    let bad = probe(&lab, &prober, &["10.90.0.5/24"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr
            .contains("10.90.0.5/24 has host bits set; did you mean 10.90.0.0/24 or 10.90.0.5/32?"),
        "{stderr}"
    );

    // The same probe as an unprivileged user: no CAP_NET_RAW.
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &prober,
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            LBCTL,
            "probe",
            "10.90.0.7",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot open a raw socket on interface eth0"),
        "{stderr}"
    );
    assert!(stderr.contains("setcap cap_net_raw+ep"), "{stderr}");
}
