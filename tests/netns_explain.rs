//! `lbctl explain`'s wire step with real packets, inside network namespaces this test creates:
//! the healthy MetalLB scenario with its nodes and pool moved onto a private bridge, the nodes
//! as namespaces holding their InternalIPs, and the Service's address held by the announcing
//! node (LB600), by both workers (two MACs, LB611), by nobody (LB612) or only by the node that
//! does not announce (a MAC other than the announcing node's, LB613; also with `--nodes`, the
//! node's MACs then coming from the node-check script run inside its namespace). Nothing is sent
//! on the machine's own interfaces.
//!
//! As in `netns_doctor.rs`, lbctl must run inside the prober's namespace and reach kube-sim on
//! loopback, so the test re-runs itself there (`ip netns exec`). Skips (with a message) when
//! not root or `ip` is missing.

mod netns_support;

use std::path::Path;
use std::process::Command;

use kube_sim::Scenario;
use netns_support::Lab;
use serde_json::{Value, json};

const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");
/// Set in the inner run: `<prober ns>,<w1 ns>,<w2 ns>,<holders>` (holders: `announcer`,
/// `both`, `none`, `other`, or `other-nodes`: `other` explained with `--nodes all`).
const INNER: &str = "LBCTL_NETNS_EXPLAIN_INNER";
const VIP: &str = "10.67.0.50";

fn address(host: u8) -> String {
    format!("10.67.0.{host}")
}

/// The healthy scenario with node addresses and the pool (the VIP alone) on the lab network.
fn scenario() -> Scenario {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clusters/metallb-healthy.yaml");
    let mut s = Scenario::from_file(&path).expect("fixture loads");
    for obj in &mut s.objects {
        match (obj["kind"].as_str(), obj["metadata"]["name"].as_str()) {
            (Some("Node"), Some(name)) => {
                let last = match name {
                    "cp1" => 10,
                    "w1" => 11,
                    _ => 12,
                };
                obj["status"]["addresses"] = json!([
                    {"type": "InternalIP", "address": address(last)},
                    {"type": "Hostname", "address": name}
                ]);
            }
            (Some("IPAddressPool"), _) => obj["spec"]["addresses"] = json!([format!("{VIP}/32")]),
            _ => {}
        }
    }
    s
}

/// Runs in the prober's namespace: kube-sim, address placement, explain. Prints its JSON.
fn inner(spec: &str) {
    let parts: Vec<&str> = spec.split(',').collect();
    let (w1, w2, holders) = (parts[1], parts[2], parts[3]);
    let with_nodes = holders == "other-nodes";
    let mut s = scenario();
    if with_nodes {
        // What a node-check pod on each worker prints: the real script in its namespace
        // (`ip netns exec` mounts the namespace's own /sys).
        let dump = |ns: &str| {
            let out = netns_support::run(
                "ip",
                &["netns", "exec", ns, "sh", "-c", lbctl::net::dump::SCRIPT],
            );
            String::from_utf8(out.stdout).unwrap()
        };
        s.settings
            .0
            .insert("nodeFacts".into(), json!({"w1": dump(w1), "w2": dump(w2)}));
    }
    let sim = kube_sim::spawn(s).expect("kube-sim starts");
    let announcer = netns_support::wait_for_announcer(&sim);
    let (node_ns, other_ns) = if announcer == "w1" {
        (w1, w2)
    } else {
        (w2, w1)
    };
    let holders_ns = match holders {
        "announcer" => vec![node_ns],
        "both" => vec![node_ns, other_ns],
        "other" | "other-nodes" => vec![other_ns],
        _ => vec![],
    };
    for ns in holders_ns {
        let cidr = format!("{VIP}/24");
        netns_support::run("ip", &["-n", ns, "addr", "add", &cidr, "dev", "eth0"]);
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "admin").unwrap();
    let nodes: &[&str] = if with_nodes { &["--nodes", "all"] } else { &[] };
    let out = Command::new(LBCTL)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["explain", "web", "--rate", "50", "-o", "json"])
        .args(nodes)
        .output()
        .unwrap();
    println!("ANNOUNCER={announcer}");
    println!("EXIT={}", out.status.code().unwrap_or(-1));
    println!(
        "REPORT={}",
        String::from_utf8_lossy(&out.stdout).replace('\n', " ")
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
}

/// In the inner run (inside the prober's namespace): does its part and says so.
fn inner_run() -> bool {
    let Ok(spec) = std::env::var(INNER) else {
        return false;
    };
    inner(&spec);
    true
}

struct Outcome {
    code: i32,
    report: Value,
    announcer: String,
    /// eth0's MAC of the announcing node and of the other worker.
    announcer_mac: String,
    other_mac: String,
    _lab: Lab,
}

/// Builds the lab, re-runs this test inside the prober's namespace, and returns what explain
/// said.
fn explain_in_lab(holders: &str) -> Outcome {
    let mut lab = Lab::new("explain");
    let mut host = |name: &str, last: u8| {
        let ns = lab.host(name);
        let cidr = format!("{}/24", address(last));
        lab.ip(&ns, &["addr", "add", &cidr, "dev", "eth0"]);
        ns
    };
    let prober = host("prober", 1);
    let w1 = host("w1", 11);
    let w2 = host("w2", 12);
    let exe = std::env::current_exe().unwrap();
    let test = std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string();
    let out = Command::new("ip")
        .args(["netns", "exec", &prober])
        .arg(exe)
        .args(["--exact", &test, "--nocapture", "--test-threads", "1"])
        .env(INNER, format!("{prober},{w1},{w2},{holders}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.split_once(key).map(|(_, value)| value))
            .unwrap_or_else(|| {
                panic!(
                    "inner run printed no {key}: {stdout}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_string()
    };
    let announcer = field("ANNOUNCER=");
    let (a, o) = if announcer == "w1" {
        (&w1, &w2)
    } else {
        (&w2, &w1)
    };
    Outcome {
        code: field("EXIT=").parse().unwrap(),
        report: serde_json::from_str(&field("REPORT=")).expect("explain printed JSON"),
        announcer_mac: lab.mac(a, "eth0"),
        other_mac: lab.mac(o, "eth0"),
        announcer,
        _lab: lab,
    }
}

fn verdict(o: &Outcome) -> (&str, &str) {
    let v = &o.report["verdict"];
    (
        v["code"].as_str().unwrap_or(""),
        v["message"].as_str().unwrap_or(""),
    )
}

#[test]
fn the_announcing_node_alone_answers() {
    if inner_run() {
        return;
    }
    require_lab!();
    let o = explain_in_lab("announcer");
    assert_eq!(verdict(&o).0, "LB600", "{:#}", o.report);
    assert_eq!(o.code, 0);
    assert_eq!(o.report["wire"]["probed"], true, "{:#}", o.report);
    assert_eq!(o.report["wire"]["macs"], json!([o.announcer_mac]));
    // The predicted node's MAC is learnt from its InternalIP.
    assert_eq!(o.report["wire"]["nodeMac"], json!(o.announcer_mac));
    assert_eq!(o.report["election"]["predicted"], json!(o.announcer));
}

#[test]
fn two_macs_answering() {
    if inner_run() {
        return;
    }
    require_lab!();
    let o = explain_in_lab("both");
    let (code, message) = verdict(&o);
    assert_eq!(code, "LB611", "{:#}", o.report);
    assert_eq!(o.code, 1);
    assert!(
        message.starts_with(&format!("2 MACs answer for {VIP}")),
        "{message}"
    );
    for mac in [&o.announcer_mac, &o.other_mac] {
        assert!(message.contains(mac.as_str()), "{message} lacks {mac}");
    }
}

#[test]
fn nothing_answers() {
    if inner_run() {
        return;
    }
    require_lab!();
    let o = explain_in_lab("none");
    let (code, message) = verdict(&o);
    assert_eq!(code, "LB612", "{:#}", o.report);
    assert_eq!(o.code, 1);
    assert_eq!(o.report["wire"]["macs"], json!([]));
    assert!(
        message.contains(&format!("{} should announce {VIP}", o.announcer)),
        "{message}"
    );
}

#[test]
fn the_wrong_node_answers() {
    if inner_run() {
        return;
    }
    require_lab!();
    let o = explain_in_lab("other");
    let (code, message) = verdict(&o);
    assert_eq!(code, "LB613", "{:#}", o.report);
    assert_eq!(o.code, 1);
    assert_eq!(o.report["wire"]["macs"], json!([o.other_mac]));
    assert_eq!(o.report["wire"]["nodeMac"], json!(o.announcer_mac));
    assert!(
        message.starts_with(&format!(
            "{} answers for {VIP}, but {} answers with {}",
            o.other_mac, o.announcer, o.announcer_mac
        )),
        "{message}"
    );
}

#[test]
fn the_wrong_node_answers_judged_by_the_node_facts() {
    if inner_run() {
        return;
    }
    require_lab!();
    let o = explain_in_lab("other-nodes");
    let (code, message) = verdict(&o);
    assert_eq!(code, "LB613", "{:#}", o.report);
    assert_eq!(o.code, 1);
    assert_eq!(o.report["wire"]["macs"], json!([o.other_mac]));
    // The node's MAC comes from its facts: no ARP for its InternalIP.
    assert_eq!(o.report["wire"]["nodeMac"], Value::Null, "{:#}", o.report);
    let node = &o.report["interfaces"][0];
    assert_eq!(node["node"], json!(o.announcer));
    let eth0 = node["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "eth0")
        .expect("eth0 in the node facts");
    assert_eq!(eth0["mac"], json!(o.announcer_mac));
    assert_eq!(
        (&eth0["answers"], &eth0["onSubnet"]),
        (&json!(true), &json!(true))
    );
    assert!(
        message.starts_with(&format!(
            "{} answers for {VIP}, but {}'s speaker answers on eth0 {}",
            o.other_mac, o.announcer, o.announcer_mac
        )),
        "{message}"
    );
}
