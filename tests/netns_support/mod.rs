//! Network-namespace labs for ARP tests and benchmarks: uniquely named namespaces joined by
//! veth pairs to a bridge that lives in a namespace of its own. Nothing is ever attached to
//! the host's interfaces or namespace, and everything is deleted on drop (also on panic).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lbctl::net::arp::ndp;
use lbctl::net::arp::packet::ArpFrame;
use pnet_base::MacAddr;
use pnet_datalink::{Channel, Config};

/// Why the lab cannot run here, or `None` when it can.
pub fn unavailable() -> Option<String> {
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: network-namespace tests need root (CI runs them as root)".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("the `ip` command (iproute2) is missing".into());
    }
    None
}

/// Returns early from a test, with a message, when the lab cannot run.
#[macro_export]
macro_rules! require_lab {
    () => {
        if let Some(reason) = netns_support::unavailable() {
            eprintln!("skipping: {reason}");
            return;
        }
    };
}

static SERIAL: AtomicUsize = AtomicUsize::new(0);

/// Runs a command and panics with its stderr when it fails.
/// The node kube-sim's MetalLB stand-in announces the (one) LoadBalancer Service from, once
/// its ServiceL2Status appears (30 s at most).
pub fn wait_for_announcer(sim: &kube_sim::SimHandle) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let statuses = sim.store().list(
            "metallb.io/v1beta1",
            "ServiceL2Status",
            Some("metallb-system"),
        );
        if let Some(node) = statuses
            .iter()
            .find_map(|s| s["status"]["node"].as_str().map(str::to_string))
        {
            return node;
        }
        assert!(
            Instant::now() < deadline,
            "MetalLB never announced the service"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub struct Lab {
    prefix: String,
    switch: String,
    namespaces: Vec<String>,
    ports: usize,
}

impl Lab {
    /// A lab whose names start with `lbt-<tag>-<pid>-<n>` so parallel tests never collide.
    pub fn new(tag: &str) -> Lab {
        let prefix = format!(
            "lbt-{tag}-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        let switch = format!("{prefix}-sw");
        let mut lab = Lab {
            prefix,
            switch: switch.clone(),
            namespaces: Vec::new(),
            ports: 0,
        };
        lab.add_namespace(&switch);
        lab.ip(&switch, &["link", "add", "br0", "type", "bridge"]);
        lab.ip(&switch, &["link", "set", "br0", "up"]);
        lab
    }

    fn add_namespace(&mut self, name: &str) {
        run("ip", &["netns", "add", name]);
        self.namespaces.push(name.to_string());
        self.ip(name, &["link", "set", "lo", "up"]);
        // No IPv6 chatter (router solicitations, MLD): packet counts then mean ARP probes.
        self.sysctl(name, "net.ipv6.conf.all.disable_ipv6", "1");
        self.sysctl(name, "net.ipv6.conf.default.disable_ipv6", "1");
    }

    /// `ip -n NS ...`
    pub fn ip(&self, ns: &str, args: &[&str]) -> Output {
        let mut full = vec!["-n", ns];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// `ip netns exec NS program args...`, failing the test if it fails.
    pub fn exec(&self, ns: &str, program: &str, args: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", ns, program];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    pub fn sysctl(&self, ns: &str, key: &str, value: &str) {
        self.exec(ns, "sysctl", &["-qw", &format!("{key}={value}")]);
    }

    /// Turns IPv6 back on in `ns` (labs start with it off): on `interfaces` and on those
    /// created later.
    pub fn enable_ipv6(&self, ns: &str, interfaces: &[&str]) {
        for scope in ["all", "default"].iter().chain(interfaces) {
            self.sysctl(ns, &format!("net.ipv6.conf.{scope}.disable_ipv6"), "0");
        }
    }

    /// Lets the bridge flood IPv6 multicast (solicited-node groups) to every port, whatever
    /// MLD reports it has or has not seen.
    pub fn flood_multicast(&self) {
        self.ip(
            &self.switch,
            &[
                "link",
                "set",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
    }

    /// A namespace that is not on the bridge (reach it with [`Lab::link`]).
    pub fn isolated(&mut self, name: &str) -> String {
        let ns = format!("{}-{name}", self.prefix);
        self.add_namespace(&ns);
        ns
    }

    /// A new host namespace with `eth0` plugged into the bridge. Returns its name.
    pub fn host(&mut self, name: &str) -> String {
        let ns = format!("{}-{name}", self.prefix);
        self.add_namespace(&ns);
        self.ports += 1;
        let port = format!("p{}", self.ports);
        let switch = self.switch.clone();
        self.ip(
            &switch,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        );
        self.ip(&switch, &["link", "set", &port, "master", "br0", "up"]);
        self.ip(&ns, &["link", "set", "eth0", "up"]);
        ns
    }

    /// A host with `addresses` (CIDR notation) on eth0.
    pub fn host_with(&mut self, name: &str, addresses: &[&str]) -> String {
        let ns = self.host(name);
        for addr in addresses {
            self.ip(&ns, &["addr", "add", addr, "dev", "eth0"]);
        }
        ns
    }

    /// A veth pair between two lab namespaces (not through the bridge).
    pub fn link(&self, a: &str, a_if: &str, b: &str, b_if: &str) {
        self.ip(
            a,
            &[
                "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b,
            ],
        );
        self.ip(a, &["link", "set", a_if, "up"]);
        self.ip(b, &["link", "set", b_if, "up"]);
    }

    pub fn mac(&self, ns: &str, interface: &str) -> String {
        let out = self.ip(ns, &["-br", "link", "show", "dev", interface]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_string()
    }

    /// Transmitted packets of an interface (for counting probes on the wire).
    pub fn tx_packets(&self, ns: &str, interface: &str) -> u64 {
        let out = self.exec(
            ns,
            "cat",
            &[&format!("/sys/class/net/{interface}/statistics/tx_packets")],
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its veth ends, and with them their peers.
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// How a raw responder treats requests for one address.
#[derive(Clone)]
pub struct Behaviour {
    /// Answer this long after the request arrives.
    pub delay: Duration,
    /// Ignore the first N requests for the address.
    pub drop_first: usize,
}

/// A user-space ARP or NDP responder inside a namespace: answers requests for its addresses
/// with the interface's MAC, optionally late or after ignoring some requests. The interface
/// must not carry these addresses itself, or the kernel answers too.
pub struct Responder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<usize>>,
}

/// Reads one frame: the address it asks for and the answer to send, if it is a question.
type Answerer = fn(&[u8], MacAddr) -> Option<(IpAddr, Vec<u8>)>;

impl Responder {
    /// Answers ARP requests, probes included.
    pub fn start(ns: &str, interface: &str, answers: HashMap<Ipv4Addr, Behaviour>) -> Responder {
        Self::run(ns, interface, answers, |bytes, mac| {
            let frame = ArpFrame::parse(bytes)?;
            (frame.sender_mac != mac
                && frame.operation == lbctl::net::arp::packet::Operation::Request)
                .then(|| {
                    let reply = ArpFrame::reply_to(&frame, mac).to_bytes().to_vec();
                    (IpAddr::V4(frame.target_ip), reply)
                })
        })
    }

    /// Answers Neighbor Solicitations as MetalLB's speaker does: only those that carry a
    /// source link-layer address option, so never a DAD probe.
    pub fn start_ndp(
        ns: &str,
        interface: &str,
        answers: HashMap<Ipv6Addr, Behaviour>,
    ) -> Responder {
        Self::run(ns, interface, answers, |bytes, mac| {
            let asked = ndp::parse_solicitation(bytes)?;
            (asked.source_mac.is_some_and(|m| m != mac))
                .then(|| (IpAddr::V6(asked.target), ndp::answer(mac, &asked)))
        })
    }

    fn run<A: Into<IpAddr>>(
        ns: &str,
        interface: &str,
        answers: HashMap<A, Behaviour>,
        answer: Answerer,
    ) -> Responder {
        let answers: HashMap<IpAddr, Behaviour> =
            answers.into_iter().map(|(a, b)| (a.into(), b)).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let ns_path = format!("/run/netns/{ns}");
        let interface = interface.to_string();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            enter_namespace(&ns_path);
            let iface = pnet_datalink::interfaces()
                .into_iter()
                .find(|i| i.name == interface)
                .expect("responder interface exists");
            let mac = iface.mac.expect("responder interface has a MAC");
            let config = Config {
                promiscuous: false,
                read_timeout: Some(Duration::from_millis(5)),
                ..Config::default()
            };
            let Ok(Channel::Ethernet(mut tx, mut rx)) = pnet_datalink::channel(&iface, config)
            else {
                panic!("responder cannot open a channel");
            };
            ready_tx.send(()).unwrap();
            let mut seen: HashMap<IpAddr, usize> = HashMap::new();
            let mut pending: Vec<(Instant, Vec<u8>)> = Vec::new();
            let mut answered = 0;
            while !flag.load(Ordering::Relaxed) {
                if let Ok(bytes) = rx.next()
                    && let Some((address, reply)) = answer(bytes, mac)
                    && let Some(behaviour) = answers.get(&address)
                {
                    let count = seen.entry(address).or_default();
                    *count += 1;
                    if *count > behaviour.drop_first {
                        pending.push((Instant::now() + behaviour.delay, reply));
                    }
                }
                let now = Instant::now();
                for (_, reply) in pending.iter().filter(|(due, _)| *due <= now) {
                    tx.send_to(reply, None);
                    answered += 1;
                }
                pending.retain(|(due, _)| *due > now);
            }
            answered
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("responder started");
        Responder {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the responder and returns how many replies it sent.
    pub fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().map_or(0, |t| t.join().unwrap_or(0))
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Moves the calling thread (only) into the network namespace at `path`.
fn enter_namespace(path: &str) {
    let file = std::fs::File::open(path).expect("namespace file");
    use std::os::fd::AsRawFd;
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}

pub fn mac_string(mac: MacAddr) -> String {
    mac.to_string()
}
