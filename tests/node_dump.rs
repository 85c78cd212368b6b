//! The node-check script, run for real with `sh`: against fixture proc trees (its dump must
//! read exactly like the tree itself) and inside a network namespace this test creates (its
//! dump must match what lbctl reads locally there, `NodeNetFacts::gather`).

mod netns_support;
// The e2e harness, for its node-check script runner only.
#[allow(dead_code, unused_imports)]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use lbctl::net::dump::{NodeDump, SCRIPT};
use lbctl::net::interfaces::Interface;
use lbctl::net::node::NodeNetFacts;
use lbctl::net::roots::{HostRoots, NodeFiles};
use support::node_facts::script_with;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/proc")
        .join(name)
}

/// Runs the script with `sh` over a fixture tree laid out like [`HostRoots::fixture`].
fn script_over(dir: &Path) -> String {
    script_with(&["sh"], dir)
}

#[test]
fn fixture_dumps_read_like_the_trees() {
    for name in ["ipvs-strictarp-node", "default-node"] {
        let dir = fixture(name);
        let dump = NodeDump::parse(&script_over(&dir)).unwrap();
        let remote = NodeNetFacts::from_files(&dump);
        let local = NodeNetFacts::from_files(&HostRoots::fixture(&dir));
        assert_eq!(remote, local, "{name}");
    }
}

/// The default image is busybox: its ash must print exactly what this machine's sh prints.
#[test]
fn busybox_sh_prints_the_same_dump() {
    if Command::new("busybox").arg("true").output().is_err() {
        eprintln!("skipping: busybox is not installed (apt-get install busybox; .ci/run does)");
        return;
    }
    for name in ["ipvs-strictarp-node", "default-node"] {
        let dir = fixture(name);
        assert_eq!(
            script_with(&["busybox", "sh"], &dir),
            script_over(&dir),
            "{name}"
        );
    }
}

#[test]
fn fixture_dump_has_every_fact_the_checks_use() {
    let dump = NodeDump::parse(&script_over(&fixture("ipvs-strictarp-node"))).unwrap();
    let facts = NodeNetFacts::from_files(&dump);
    let sysctls = facts.sysctls.as_ref().unwrap();
    assert_eq!(sysctls.effective("eth0").arp_ignore, Some(1));
    assert_eq!(sysctls.ip_forward, Some(1));
    assert!(facts.ipvs.missing().is_empty());
    assert!(facts.ipvs.ip_vs_proc_present);
    assert!(!facts.memberlist.tcp_free);
    // Only the lines the checks need travel: the socket table keeps its header and port 7946.
    assert_eq!(dump.read("/proc/net/tcp").unwrap().lines().count(), 2);
    let names: Vec<&str> = facts.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["lo", "eth0", "eth0.100", "kube-ipvs0"]);
    let addrs = |name: &str| -> Vec<String> {
        facts
            .interface(name)
            .unwrap()
            .addresses
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(addrs("lo"), ["127.0.0.1/8", "::1/128"]);
    assert_eq!(
        addrs("eth0"),
        ["192.168.10.5/24", "fe80::5054:ff:fe00:1/64", "fd00::5/64"]
    );
    assert_eq!(addrs("eth0.100"), ["192.168.100.5/24"]);
    assert_eq!(addrs("kube-ipvs0"), ["10.96.0.1/32"]);
    assert!(facts.interface("kube-ipvs0").unwrap().is_noarp());
    assert_eq!(
        facts.interface("eth0").unwrap().mac.as_deref(),
        Some("52:54:00:00:00:01")
    );
}

#[test]
fn a_cut_off_dump_is_refused() {
    let text = script_over(&fixture("ipvs-strictarp-node"));
    let cut = &text[..text.len() / 2];
    let cut = &cut[..cut.rfind('\n').unwrap() + 1];
    assert!(NodeDump::parse(cut).is_err());
}

/// What the checks compare of an interface: the flags they look at (UP, LOOPBACK, NOARP; sysfs
/// has no RUNNING or LOWER_UP), addresses as a set.
fn comparable(interfaces: &[Interface]) -> Vec<Interface> {
    let mut out: Vec<Interface> = interfaces
        .iter()
        .map(|i| {
            let mut i = i.clone();
            i.flags &= 0x1 | 0x8 | 0x80;
            i.addresses.sort();
            i
        })
        .collect();
    out.sort_by_key(|i| i.index);
    out
}

/// Child side of [`namespace_dump_matches_local_reading`], run inside the namespace with
/// `ip netns exec`: holds port 7946 open, prints lbctl's local reading as JSON, a separator,
/// then the script's output.
#[test]
#[ignore = "run by namespace_dump_matches_local_reading inside its namespace"]
fn child_reads_the_namespace() {
    let Some(_) = std::env::var_os("LBCTL_NODE_DUMP_CHILD") else {
        panic!("run only inside a namespace by namespace_dump_matches_local_reading");
    };
    let _listener =
        std::net::TcpListener::bind("127.0.0.1:7946").expect("port 7946 is free in the namespace");
    let local = NodeNetFacts::gather(&HostRoots::default());
    let out = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .output()
        .expect("sh runs");
    // busybox's ash (the default image's shell), when installed, in the same place.
    let busybox = Command::new("busybox")
        .args(["sh", "-c", SCRIPT])
        .output()
        .map(|o| String::from_utf8(o.stdout).unwrap())
        .unwrap_or_default();
    // The last marker keeps libtest's own lines ("test ... ok") out of busybox's part.
    println!(
        "\nlocal-json {}\n=====\n{}=====\n{busybox}=====",
        serde_json::to_string(&local).unwrap(),
        String::from_utf8(out.stdout).unwrap()
    );
}

#[test]
fn namespace_dump_matches_local_reading() {
    require_lab!();
    let mut lab = netns_support::Lab::new("dump");
    let ns = lab.host_with("n1", &["192.168.77.5/24"]);
    lab.ip(&ns, &["route", "add", "default", "via", "192.168.77.1"]);
    lab.sysctl(&ns, "net.ipv4.conf.all.arp_ignore", "1");
    lab.sysctl(&ns, "net.ipv4.conf.eth0.arp_announce", "2");
    lab.sysctl(&ns, "net.ipv4.conf.eth0.proxy_arp", "1");
    // A bridge port: both readings name its master (what explain --nodes drops, as MetalLB does).
    lab.ip(&ns, &["link", "add", "br9", "type", "bridge"]);
    lab.ip(
        &ns,
        &["link", "add", "d9", "type", "veth", "peer", "name", "d9p"],
    );
    lab.ip(&ns, &["link", "set", "d9", "master", "br9"]);
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(&exe)
        .args([
            "--exact",
            "child_reads_the_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LBCTL_NODE_DUMP_CHILD", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (json, log) = text
        .split_once("\n=====\n")
        .unwrap_or_else(|| panic!("child output: {text}"));
    let json = json
        .lines()
        .find_map(|l| l.strip_prefix("local-json "))
        .unwrap_or_else(|| panic!("child output: {text}"));
    let local: NodeNetFacts = serde_json::from_str(json).unwrap();
    let mut parts = log.split("=====\n");
    let (log, busybox) = (parts.next().unwrap(), parts.next().expect("two outputs"));
    if busybox.is_empty() {
        eprintln!("busybox is not installed: only sh's output is compared");
    } else {
        let busybox = &busybox[..busybox.find("end lbctl-node-facts").expect("end marker")];
        assert_eq!(
            busybox,
            &log[..busybox.len()],
            "busybox sh and sh print the same"
        );
    }
    let remote = NodeNetFacts::from_files(&NodeDump::parse(log).unwrap());

    assert_eq!(remote.sysctls, local.sysctls);
    assert_eq!(remote.ipvs, local.ipvs);
    assert_eq!(remote.routes, local.routes);
    assert_eq!(remote.memberlist, local.memberlist);
    assert!(
        !remote.memberlist.tcp_free,
        "the child's listener on 7946 is seen"
    );
    assert_eq!(
        comparable(&remote.interfaces),
        comparable(&local.interfaces)
    );
    let eth0 = remote.sysctls.as_ref().unwrap().effective("eth0");
    assert_eq!(
        (eth0.arp_ignore, eth0.arp_announce, eth0.proxy_arp),
        (Some(1), Some(2), Some(1))
    );
    assert!(
        remote
            .interface("eth0")
            .unwrap()
            .addresses
            .contains(&"192.168.77.5/24".parse().unwrap())
    );
    assert_eq!(
        remote.interface("d9").and_then(|i| i.master.as_deref()),
        Some("br9")
    );
    assert_eq!(remote.interface("eth0").unwrap().master, None);
}
