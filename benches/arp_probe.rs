//! Benchmark: `lbctl probe` against `arp-scan --arpspa=0.0.0.0` in network namespaces, at the
//! same packet rate and attempts, for /24, /22 and /20 pools with 10 owners placed at random.
//! Prints a Markdown table (medians of 5 runs) for docs/benchmarks.md.
//!
//!     sudo cargo bench --bench arp_probe
//!
//! Needs root, `ip` (iproute2) and `arp-scan`; nothing touches the host's own interfaces.

#[path = "../tests/netns_support/mod.rs"]
mod netns_support;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use netns_support::Lab;

const RUNS: usize = 5;
const RATE: u32 = 500;
const ATTEMPTS: u32 = 3;
const OWNERS: usize = 10;
const LBCTL: &str = env!("CARGO_BIN_EXE_lbctl");

/// One measured run of one tool.
#[derive(Debug, Clone)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    packets: u64,
    found: BTreeSet<Ipv4Addr>,
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("arp_probe is a benchmark program: run it with `cargo bench --bench arp_probe`");
        return;
    }
    if let Some(reason) = netns_support::unavailable() {
        eprintln!("skipping: {reason}");
        return;
    }
    if Command::new("arp-scan").arg("--version").output().is_err() {
        eprintln!("skipping: arp-scan is not installed (apt-get install arp-scan)");
        return;
    }
    println!("load average before: {}", load_average());
    println!(
        "| pool | tool | wall s (min-max) | CPU s (min-max) | packets | owners found | false positives |\n|---|---|---|---|---|---|---|"
    );
    let mut rng = fastrand::Rng::with_seed(5227);
    for prefix in [24u8, 22, 20] {
        bench_pool(prefix, &mut rng);
    }
    println!("load average after: {}", load_average());
}

/// The 1, 5 and 15 minute load averages: the machine is shared, so every table says how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn bench_pool(prefix: u8, rng: &mut fastrand::Rng) {
    let size = 1u32 << (32 - prefix);
    let base = u32::from(Ipv4Addr::new(10, 100, 0, 0));
    let first = Ipv4Addr::from(base);
    let last = Ipv4Addr::from(base + size - 1);
    let pool = format!("{first}-{last}");

    let mut lab = Lab::new("bench");
    // The prober sits outside the pool, in a /16 that covers it.
    let prober = lab.host_with("prober", &["10.100.255.1/16"]);
    let mut owners = BTreeSet::new();
    while owners.len() < OWNERS {
        owners.insert(Ipv4Addr::from(base + rng.u32(0..size)));
    }
    for (i, owner) in owners.iter().enumerate() {
        lab.host_with(&format!("o{i}"), &[&format!("{owner}/16")]);
    }

    let mut lbctl = Vec::new();
    let mut arpscan = Vec::new();
    for _ in 0..RUNS {
        let rate = RATE.to_string();
        let attempts = ATTEMPTS.to_string();
        lbctl.push(measure(
            &lab,
            &prober,
            &[
                LBCTL,
                "probe",
                &pool,
                "--rate",
                &rate,
                "--attempts",
                &attempts,
                "-o",
                "json",
            ],
            parse_lbctl,
        ));
        let interval = format!("{}u", 1_000_000 / RATE);
        let retry = format!("--retry={ATTEMPTS}");
        arpscan.push(measure(
            &lab,
            &prober,
            &[
                "arp-scan",
                "--interface=eth0",
                "--arpspa=0.0.0.0",
                &format!("--interval={interval}"),
                &retry,
                "--plain",
                "--quiet",
                &pool,
            ],
            parse_arp_scan,
        ));
    }
    for (tool, samples) in [("lbctl probe", &lbctl), ("arp-scan", &arpscan)] {
        let sorted = |f: &dyn Fn(&Sample) -> f64| {
            let mut values: Vec<f64> = samples.iter().map(f).collect();
            values.sort_by(f64::total_cmp);
            values
        };
        let wall = sorted(&|s| s.wall.as_secs_f64());
        let cpu = sorted(&|s| s.cpu.as_secs_f64());
        let packets = sorted(&|s| s.packets as f64);
        let found = samples
            .iter()
            .map(|s| s.found.intersection(&owners).count())
            .min()
            .unwrap_or(0);
        let false_positives = samples
            .iter()
            .map(|s| s.found.difference(&owners).count())
            .max()
            .unwrap_or(0);
        println!(
            "| /{prefix} ({size}) | {tool} | {:.2} ({:.2}-{:.2}) | {:.3} ({:.3}-{:.3}) | {:.0} | {found}/{OWNERS} (worst run) | {false_positives} (worst run) |",
            wall[RUNS / 2],
            wall[0],
            wall[RUNS - 1],
            cpu[RUNS / 2],
            cpu[0],
            cpu[RUNS - 1],
            packets[RUNS / 2],
        );
    }
}

/// Runs one tool in the prober namespace and measures it.
fn measure(lab: &Lab, ns: &str, command: &[&str], parse: fn(&str) -> BTreeSet<Ipv4Addr>) -> Sample {
    let tx_before = lab.tx_packets(ns, "eth0");
    let cpu_before = children_cpu();
    let started = Instant::now();
    let output = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(command)
        .output()
        .expect("run the tool");
    let wall = started.elapsed();
    let cpu = children_cpu().saturating_sub(cpu_before);
    let packets = lab.tx_packets(ns, "eth0") - tx_before;
    Sample {
        wall,
        cpu,
        packets,
        found: parse(&String::from_utf8_lossy(&output.stdout)),
    }
}

/// User + system CPU of all waited-for children so far (`ip netns exec` execs the tool itself).
fn children_cpu() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn parse_lbctl(stdout: &str) -> BTreeSet<Ipv4Addr> {
    let report: serde_json::Value = serde_json::from_str(stdout).expect("lbctl JSON");
    report["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .filter(|v| v["status"] == "in-use" || v["status"] == "conflict")
        .filter_map(|v| v["address"].as_str()?.parse().ok())
        .collect()
}

/// `--plain --quiet` prints `IP<TAB>MAC` per reply.
fn parse_arp_scan(stdout: &str) -> BTreeSet<Ipv4Addr> {
    stdout
        .lines()
        .filter_map(|line| line.split('\t').next()?.parse().ok())
        .collect()
}
