//! `kube-sim --scenario FILE --kubeconfig-out FILE [--port N] [--user NAME]`: runs a simulated
//! API server for demos and benchmarks until Ctrl-C.
//! `kube-sim --scenario FILE --agent-for KUBECONFIG`: loads the scenario into a real API server
//! without nodes and plays its kubelets and MetalLB until Ctrl-C ([`kube_sim::agent`]).

use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kube-sim",
    version,
    about = "A loopback Kubernetes API server for lbctl's tests",
    after_help = "Control endpoints (no token): GET|DELETE /_sim/requests, POST|DELETE /_sim/faults, \
POST /_sim/pause, POST /_sim/resume, POST /_sim/advance?by=2s, GET /_sim/settings, and \
PATCH /_sim/settings with a JSON merge patch of the scenario's settings (switched at once, e.g. \
'{\"nodeFacts\": {\"w1\": \"...\"}}' or '{\"metallb\": {\"webhookServing\": false}}'; \
400 and nothing changed when invalid)."
)]
struct Args {
    /// Scenario YAML (objects, settings, users).
    #[arg(long, required_unless_present = "nodes")]
    scenario: Option<PathBuf>,
    /// Instead of a scenario: generate a cluster of this many nodes (benchmarks).
    #[arg(long, conflicts_with = "scenario")]
    nodes: Option<usize>,
    /// With --nodes: this many LoadBalancer Services.
    #[arg(long, default_value_t = 0, requires = "nodes")]
    services: usize,
    /// With --nodes: install MetalLB with a pool for every Service.
    #[arg(long, requires = "nodes")]
    metallb: bool,
    /// Where to write a kubeconfig for the server.
    #[arg(long, required_unless_present = "agent_for")]
    kubeconfig_out: Option<PathBuf>,
    /// Instead of serving: load the scenario into the real API server of this kubeconfig (a
    /// control plane without nodes) and play its kubelets and MetalLB there.
    #[arg(long, requires = "scenario", conflicts_with_all = ["nodes", "port", "kubeconfig_out"])]
    agent_for: Option<PathBuf>,
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The user the kubeconfig authenticates as.
    #[arg(long, default_value = "admin")]
    user: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let loaded = match (&args.scenario, args.nodes) {
        (Some(path), _) => kube_sim::Scenario::from_file(path),
        (None, Some(nodes)) => Ok(kube_sim::Scenario::generated(
            nodes,
            args.services,
            args.metallb,
        )),
        (None, None) => unreachable!("clap requires --scenario or --nodes"),
    };
    let scenario = match loaded {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    if let Some(kubeconfig) = &args.agent_for {
        return agent(kubeconfig, &scenario, started);
    }
    let Some(kubeconfig_out) = args.kubeconfig_out else {
        unreachable!("clap requires --kubeconfig-out without --agent-for")
    };
    let built = kube_sim::SimBuilder::new(scenario)
        .port(args.port)
        .with_cluster()
        .and_then(kube_sim::SimBuilder::spawn);
    let sim = match built {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    if let Err(e) = sim.write_kubeconfig(&kubeconfig_out, &args.user) {
        eprintln!("error: cannot write {}: {e}", kubeconfig_out.display());
        return ExitCode::from(2);
    }
    // Whoever started us may stop reading stdout; that must not stop the server.
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "kube-sim serving on {} (started in {:?})",
        sim.url(),
        started.elapsed()
    );
    let _ = writeln!(stdout, "kubeconfig: {}", kubeconfig_out.display());
    let _ = stdout.flush();
    wait_for_ctrl_c();
    drop(sim);
    ExitCode::SUCCESS
}

fn agent(
    kubeconfig: &std::path::Path,
    scenario: &kube_sim::Scenario,
    started: std::time::Instant,
) -> ExitCode {
    let config = match kube_sim::agent::config_from_file(kubeconfig) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let agent = match kube_sim::agent::Agent::start(config, scenario) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    println!(
        "kube-sim agent: scenario loaded into {} and settled in {:?}; playing its nodes and MetalLB until Ctrl-C",
        kubeconfig.display(),
        started.elapsed()
    );
    wait_for_ctrl_c();
    drop(agent);
    ExitCode::SUCCESS
}

fn wait_for_ctrl_c() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return;
        }
    };
    let _ = runtime.block_on(tokio::signal::ctrl_c());
}
