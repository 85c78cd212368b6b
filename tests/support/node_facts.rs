//! What a node-check pod prints: the real script (`src/net/node_facts.sh`) run with `sh` over a
//! copy of a fixture proc tree (`tests/fixtures/proc/`), edited to describe one node. The
//! end-to-end tests serve it as the pods' logs, and `tests/e2e/cluster_fixtures.rs` writes it into
//! the scenarios' `settings.nodeFacts`, so neither can drift from the script.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

/// The header of /proc/net/tcp (and tcp6's layout), as the kernel prints it.
pub const TCP_HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
/// A memberlist listener on 0.0.0.0:7946 as the socket tables show it.
pub const TCP_7946: &str = "   0: 00000000:1F0A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n";
pub const UDP_7946: &str = "  1: 00000000:1F0A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2 2 0\n";

/// The proc tree every generated node starts from: IPVS with strictARP applied, on
/// 192.168.10.5/24 (eth0) and 192.168.100.5/24 (VLAN eth0.100).
const BASE: &str = "ipvs-strictarp-node";

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs the node-check script with `sh` over a proc tree (its `sysfs` and `lib-modules` too).
fn run_script(dir: &Path) -> String {
    script_with(&["sh"], dir)
}

/// Runs the node-check script with the given shell command (`sh`, or `busybox sh` as in the
/// pod's image) over a proc tree; it must succeed without a word on stderr.
pub fn script_with(shell: &[&str], dir: &Path) -> String {
    let out = Command::new(shell[0])
        .args(&shell[1..])
        .arg("-c")
        .arg(lbctl::net::dump::SCRIPT)
        .env("LBCTL_PROC", dir)
        .env("LBCTL_SYS", dir.join("sysfs"))
        .env("LBCTL_LIB_MODULES", dir.join("lib-modules"))
        .output()
        .expect("the shell runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// The script's output over `tests/fixtures/proc/<fixture>` with some files replaced (path
/// relative to the proc root, new text).
pub fn node_log(fixture: &str, edits: &[(&str, String)]) -> String {
    let tree = tempfile::tempdir().unwrap();
    copy_tree(
        &super::root().join("tests/fixtures/proc").join(fixture),
        tree.path(),
    );
    for (rel, text) in edits {
        std::fs::write(tree.path().join(rel), text).unwrap();
    }
    run_script(tree.path())
}

/// One node of a scenario, as far as the node checks see it.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its hostname; empty for none.
    pub name: String,
    /// Its InternalIP, on eth0 (a /24).
    pub ip: Ipv4Addr,
    /// kube-proxy in IPVS mode: ip_vs loaded, kube-ipvs0 holding the kubernetes Service address.
    pub ipvs: bool,
    /// strictARP applied: `all` has arp_ignore=1 and arp_announce=2 (else both 0, the defaults).
    pub strict_arp: bool,
    /// MetalLB's speaker listens on 7946, TCP and UDP.
    pub memberlist: bool,
}

/// Little-endian hex as /proc/net/route prints an IPv4 address.
fn route_hex(ip: Ipv4Addr) -> String {
    format!("{:08X}", u32::from_le_bytes(ip.octets()))
}

/// The script's output on `node`: the base tree with the node's name, addresses, sysctls,
/// kube-proxy mode and memberlist sockets.
pub fn node_facts(node: &NodeSpec) -> String {
    node_facts_edited(node, &[])
}

/// A file edit of [`node_facts_edited`]: the path relative to the proc root and the new text
/// from the old.
pub type Edit<'a> = (&'a str, &'a dyn Fn(&str) -> String);

/// [`node_facts`], with files of the finished tree edited before the script runs (an interface
/// down, another address).
pub fn node_facts_edited(node: &NodeSpec, edits: &[Edit]) -> String {
    let tree = tempfile::tempdir().unwrap();
    let dir = tree.path();
    copy_tree(&super::root().join("tests/fixtures/proc").join(BASE), dir);
    let [a, b, c, d] = node.ip.octets();
    let lan = Ipv4Addr::new(a, b, c, 0);
    // Order matters: the full addresses before their prefixes.
    let renames = [
        ("192.168.10.5".to_string(), node.ip.to_string()),
        ("192.168.10.".to_string(), format!("{a}.{b}.{c}.")),
        ("192.168.100.5".to_string(), format!("192.168.100.{d}")),
        (route_hex(Ipv4Addr::new(192, 168, 10, 0)), route_hex(lan)),
        (
            route_hex(Ipv4Addr::new(192, 168, 10, 1)),
            route_hex(Ipv4Addr::new(a, b, c, 1)),
        ),
        (
            "52:54:00:00:00:01".to_string(),
            format!("52:54:00:00:00:{d:02x}"),
        ),
        ("fffe000001".to_string(), format!("fffe0000{d:02x}")),
        (
            "fd000000000000000000000000000005 ".to_string(),
            format!("fd0000000000000000000000000000{d:02x} "),
        ),
    ];
    for file in ["net/fib_trie", "net/route", "net/if_inet6"]
        .into_iter()
        .map(|f| dir.join(f))
        .chain(["eth0", "eth0.100"].map(|i| dir.join(format!("sysfs/class/net/{i}/address"))))
    {
        let mut text = std::fs::read_to_string(&file).unwrap();
        for (from, to) in &renames {
            text = text.replace(from.as_str(), to);
        }
        std::fs::write(&file, text).unwrap();
    }
    let write = |rel: &str, text: String| std::fs::write(dir.join(rel), text).unwrap();
    // No name: no hostname file (a log several nodes share).
    if !node.name.is_empty() {
        write("sys/kernel/hostname", format!("{}\n", node.name));
    }
    if !node.strict_arp {
        write("sys/net/ipv4/conf/all/arp_ignore", "0\n".into());
        write("sys/net/ipv4/conf/all/arp_announce", "0\n".into());
    }
    let udp = std::fs::read_to_string(dir.join("net/udp")).unwrap();
    let (tcp, udp) = if node.memberlist {
        (
            format!("{TCP_HEADER}{TCP_7946}"),
            format!("{udp}{UDP_7946}"),
        )
    } else {
        (TCP_HEADER.to_string(), udp)
    };
    write("net/tcp", tcp);
    write("net/udp", udp);
    for (rel, edit) in edits {
        let old = std::fs::read_to_string(dir.join(rel)).unwrap();
        write(rel, edit(&old));
    }
    if !node.ipvs {
        for gone in ["sys/net/ipv4/conf/kube-ipvs0", "sysfs/class/net/kube-ipvs0"] {
            std::fs::remove_dir_all(dir.join(gone)).unwrap();
        }
        std::fs::remove_file(dir.join("net/ip_vs")).unwrap();
        let keep = |rel: &str, keep: &dyn Fn(&str) -> bool| {
            let text = std::fs::read_to_string(dir.join(rel)).unwrap();
            let lines: String = text
                .lines()
                .filter(|l| keep(l))
                .map(|l| format!("{}\n", l.replace("ip_vs,", "")))
                .collect();
            write(rel, lines);
        };
        keep("modules", &|l| !l.starts_with("ip_vs"));
        let release = std::fs::read_to_string(dir.join("sys/kernel/osrelease")).unwrap();
        keep(
            &format!("lib-modules/{}/modules.builtin", release.trim()),
            &|l| !l.contains("/ipvs/"),
        );
        // Without IPVS no Service address is local: drop 10.96.0.1 and the line after it.
        let trie = std::fs::read_to_string(dir.join("net/fib_trie")).unwrap();
        let mut lines: Vec<&str> = Vec::new();
        let mut skip = false;
        for line in trie.lines() {
            if std::mem::take(&mut skip) {
                continue;
            }
            if line.trim_start().starts_with("|-- 10.96.") {
                skip = true;
                continue;
            }
            lines.push(line);
        }
        write("net/fib_trie", lines.join("\n") + "\n");
    }
    run_script(dir)
}
