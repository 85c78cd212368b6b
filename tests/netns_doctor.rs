//! The ARP part of `lbctl doctor` with real packets, inside network namespaces this test creates:
//! the healthy MetalLB scenario with its nodes and pool moved onto a private bridge, the nodes
//! as namespaces with their InternalIPs, and the service address held by one node (pass) or by
//! two (split brain); over IPv4 (ARP) and IPv6 (NDP). Nothing is sent on the machine's own
//! interfaces.
//!
//! lbctl must run inside the prober's namespace and reach kube-sim on loopback, so the test
//! re-runs itself there (`ip netns exec`): the inner run starts kube-sim in that namespace,
//! waits for MetalLB to announce the service, places the address, and runs `lbctl doctor
//! --probe`. Skips (with a message) when not root or `ip` is missing.

mod netns_support;

use std::path::Path;
use std::process::Command;

use kube_sim::Scenario;
use netns_support::Lab;
use serde_json::{Value, json};

const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");
/// Set in the inner run: `<prober ns>,<w1 ns>,<w2 ns>,<holders>,<family>` (holders: `announcer`
/// or `both`; family: `4` or `6`).
const INNER: &str = "LBCTL_NETNS_DOCTOR_INNER";

/// The IP family of a lab: its addresses, on 10.66.0.0/24 or fd00:66::/64.
#[derive(Clone, Copy, PartialEq)]
enum Family {
    V4,
    V6,
}
use Family::{V4, V6};

impl Family {
    fn of(name: &str) -> Family {
        if name == "6" { V6 } else { V4 }
    }
    fn name(self) -> &'static str {
        match self {
            V4 => "4",
            V6 => "6",
        }
    }
    fn address(self, host: u8) -> String {
        match self {
            V4 => format!("10.66.0.{host}"),
            V6 => format!("fd00:66::{host}"),
        }
    }
    fn vip(self) -> String {
        self.address(50)
    }
    /// The pool: the VIP alone (MetalLB takes CIDRs and ranges, not bare addresses).
    fn pool(self) -> String {
        let bits = if self == V6 { 128 } else { 32 };
        format!("{}/{bits}", self.vip())
    }
    /// `ip addr add` arguments for `host` on eth0 (IPv6 without DAD, so it answers at once).
    fn add(self, host: u8) -> Vec<String> {
        let prefix = if self == V6 { 64 } else { 24 };
        let cidr = format!("{}/{prefix}", self.address(host));
        let mut args: Vec<String> = vec!["addr".into(), "add".into(), cidr];
        args.extend(["dev".into(), "eth0".into()]);
        if self == V6 {
            args.push("nodad".into());
        }
        args
    }
}

/// The healthy scenario with node addresses and the pool on the family's lab network. An IPv6
/// lab gets IPv6-only nodes and an IPv6 Service (MetalLB picks the family of its cluster IP).
fn scenario(family: Family) -> Scenario {
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
                    {"type": "InternalIP", "address": family.address(last)},
                    {"type": "Hostname", "address": name}
                ]);
            }
            (Some("IPAddressPool"), _) => obj["spec"]["addresses"] = json!([family.pool()]),
            (Some("Service"), Some("web")) if family == V6 => {
                obj["spec"]["clusterIP"] = json!("fd00:96::10");
            }
            _ => {}
        }
    }
    s
}

/// Runs in the prober's namespace: kube-sim, address placement, doctor. Prints doctor's JSON.
fn inner(spec: &str) {
    let parts: Vec<&str> = spec.split(',').collect();
    let (w1, w2, holders) = (parts[1], parts[2], parts[3]);
    let family = Family::of(parts[4]);
    let sim = kube_sim::spawn(scenario(family)).expect("kube-sim starts");
    let announcer = netns_support::wait_for_announcer(&sim);
    let (node_ns, other_ns) = if announcer == "w1" {
        (w1, w2)
    } else {
        (w2, w1)
    };
    let mut holders_ns = vec![node_ns];
    if holders == "both" {
        holders_ns.push(other_ns);
    }
    for ns in holders_ns {
        let mut args = vec!["-n".to_string(), ns.to_string()];
        args.extend(family.add(50));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        netns_support::run("ip", &args);
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "admin").unwrap();
    let out = Command::new(LBCTL)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["doctor", "--probe", "--rate", "50", "-o", "json"])
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

/// Builds the lab, re-runs this test inside the prober's namespace, and returns doctor's exit
/// code, its report, the announcing node and the lab (kept alive for MAC lookups).
fn doctor_in_lab(
    holders: &str,
    family: Family,
) -> Option<(i32, Value, String, Lab, String, String)> {
    let mut lab = Lab::new("doctor");
    let mut host = |name: &str, last: u8| {
        let ns = lab.host(name);
        if family == V6 {
            lab.enable_ipv6(&ns, &["eth0"]);
        }
        let args = family.add(last);
        lab.ip(&ns, &args.iter().map(String::as_str).collect::<Vec<_>>());
        ns
    };
    let prober = host("prober", 1);
    let w1 = host("w1", 11);
    let w2 = host("w2", 12);
    lab.flood_multicast();
    let exe = std::env::current_exe().unwrap();
    let test = std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string();
    let out = Command::new("ip")
        .args(["netns", "exec", &prober])
        .arg(exe)
        .args(["--exact", &test, "--nocapture", "--test-threads", "1"])
        .env(
            INNER,
            format!("{prober},{w1},{w2},{holders},{}", family.name()),
        )
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
    let code: i32 = field("EXIT=").parse().unwrap();
    let report: Value = serde_json::from_str(&field("REPORT=")).expect("doctor printed JSON");
    let announcer = field("ANNOUNCER=");
    Some((code, report, announcer, lab, w1, w2))
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

/// In the inner run (inside the prober's namespace): does its part and says so.
fn inner_run() -> bool {
    let Ok(spec) = std::env::var(INNER) else {
        return false;
    };
    inner(&spec);
    true
}

/// The announcing node alone holds the address: LB510 and LB511 pass.
fn one_host_passes(family: Family) {
    let (code, report, announcer, _lab, _, _) = doctor_in_lab("announcer", family).unwrap();
    let lb510 = check(&report, "LB510");
    assert_eq!(lb510["status"], "pass", "{lb510:#}");
    assert_eq!(
        lb510["message"],
        "exactly one MAC answers for the 1 address"
    );
    // The announcing node's MAC is learnt from its InternalIP (of the same family).
    let lb511 = check(&report, "LB511");
    assert_eq!(lb511["status"], "pass", "{lb511:#} (announcer {announcer})");
    assert_eq!(code, 0, "{report:#}");
}

/// Both workers hold the address: LB510 fails naming both MACs.
fn two_hosts_split_brain(family: Family) {
    let (code, report, _, lab, w1, w2) = doctor_in_lab("both", family).unwrap();
    assert_eq!(code, 1, "{report:#}");
    let lb510 = check(&report, "LB510");
    assert_eq!(lb510["status"], "fail", "{lb510:#}");
    let message = lb510["message"].as_str().unwrap();
    let expected = format!("split brain: {} (default/web) answered by", family.vip());
    assert!(message.starts_with(&expected), "{message}");
    for mac in [lab.mac(&w1, "eth0"), lab.mac(&w2, "eth0")] {
        assert!(message.contains(&mac), "{message} lacks {mac}");
    }
    assert!(
        lb510["hint"]
            .as_str()
            .unwrap()
            .contains("lbctl enable-strictarp")
    );
}

#[test]
fn one_host_answering_passes() {
    if inner_run() {
        return;
    }
    require_lab!();
    one_host_passes(V4);
}

#[test]
fn two_hosts_answering_is_split_brain() {
    if inner_run() {
        return;
    }
    require_lab!();
    two_hosts_split_brain(V4);
}

#[test]
fn one_host_answering_ndp_passes() {
    if inner_run() {
        return;
    }
    require_lab!();
    one_host_passes(V6);
}

#[test]
fn two_hosts_answering_ndp_is_split_brain() {
    if inner_run() {
        return;
    }
    require_lab!();
    two_hosts_split_brain(V6);
}
