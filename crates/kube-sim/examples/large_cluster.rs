//! Benchmark: start kube-sim with a large cluster and list it in pages.
//!
//! `cargo run --release -p kube-sim --example large_cluster -- [NODES] [SERVICES] [--metallb]`
//! (defaults 1000 and 5000; the cluster comes from `Scenario::generated`). Prints the start-up
//! time (loading, the simulated controllers settling the cluster, TLS and the listener) with the
//! CPU time the process used for it (which other load on the machine does not inflate), and the
//! time to list every Service and Node in pages of 500 through kube::Client.
//! See docs/benchmarks.md.

use k8s_openapi::api::core::v1::{Node, Service};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::time::Instant;

async fn count_pages<K>(api: &Api<K>) -> (usize, usize)
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut params = ListParams::default().limit(500);
    let (mut items, mut pages) = (0, 0);
    loop {
        let page = api.list(&params).await.expect("list");
        items += page.items.len();
        pages += 1;
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return (items, pages),
        }
    }
}

/// User plus system CPU time of this process so far (Linux `/proc/self/stat`, in USER_HZ = 100).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let services: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let metallb = args.next().as_deref() == Some("--metallb");
    let scenario = kube_sim::Scenario::generated(nodes, services, metallb);

    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let sim = kube_sim::spawn(scenario).expect("kube-sim starts");
    let startup = started.elapsed();
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let cpu = cpu.map_or("unknown".to_string(), |s| format!("{s:.2}s"));
    println!("start-up ({nodes} nodes, {services} services): {startup:?} (CPU {cpu})");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let kubeconfig = Kubeconfig::from_yaml(&sim.kubeconfig_yaml("admin")).unwrap();
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let started = Instant::now();
        let (items, pages) = count_pages(&Api::<Service>::all(client.clone())).await;
        println!(
            "list services: {items} items in {pages} pages of 500: {:?}",
            started.elapsed()
        );
        let started = Instant::now();
        let (items, pages) = count_pages(&Api::<Node>::all(client)).await;
        println!(
            "list nodes: {items} items in {pages} pages of 500: {:?}",
            started.elapsed()
        );
    });
}
