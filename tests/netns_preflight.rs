//! `lbctl preflight` inside a network namespace whose LAN already has a host owning a pool
//! address: the ARP probe check (LB309) must name the address and the owner's MAC. Real
//! packets only travel between namespaces this test creates. Skips when not root.

mod netns_support;

use netns_support::Lab;
use serde_json::Value;

const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");

fn preflight(ns: &str, args: &[&str]) -> (i32, String) {
    let mut full = vec![
        "netns",
        "exec",
        ns,
        LBCTL,
        "--color",
        "never",
        "preflight",
        "--local",
    ];
    full.extend_from_slice(args);
    let out = std::process::Command::new("ip")
        .args(&full)
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[test]
fn a_planted_owner_of_a_pool_address_is_a_conflict() {
    require_lab!();
    let mut lab = Lab::new("pf");
    let node = lab.host_with("node", &["10.61.0.1/24"]);
    let owner = lab.host_with("owner", &["10.61.0.12/24"]);
    let owner_mac = lab.mac(&owner, "eth0");
    lab.sysctl(&node, "net.ipv4.ip_forward", "1");

    let (code, text) = preflight(
        &node,
        &[
            "--pool",
            "10.61.0.10-10.61.0.14",
            "--attempts",
            "2",
            "-o",
            "json",
        ],
    );
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(code, 1, "{report:#}");
    let lb309 = check(&report, "LB309");
    assert_eq!(lb309["status"], "fail", "{lb309:#}");
    let message = lb309["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("10.61.0.12 (in use by {owner_mac})")),
        "{message}"
    );
    assert!(!message.contains("10.61.0.11"), "{message}");
    assert_eq!(check(&report, "LB308")["status"], "pass");

    // The same pool without the owner's address passes the probe.
    let (_, text) = preflight(
        &node,
        &[
            "--pool",
            "10.61.0.20-10.61.0.22",
            "--attempts",
            "1",
            "-o",
            "json",
        ],
    );
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(check(&report, "LB309")["status"], "pass", "{report:#}");

    // A pool behind a router is reported by LB308 and never probed.
    let (_, text) = preflight(&node, &["--pool", "10.99.0.1", "--attempts", "1"]);
    assert!(text.contains("✖ LB308"), "{text}");
    assert!(text.contains("- LB309"), "{text}");
}
