//! `lbctl preflight`: gather cluster, node and pool facts, run the preflight checks (again
//! while `--wait` lasts), then render the report and return the exit code of the checks.

use crate::checks::runner::{self, Run, Suite};
use crate::checks::{Policy, preflight, wait};
use crate::cli::{ForCommand, GlobalArgs, PreflightArgs};
use crate::facts::cluster::gather;
use crate::facts::probe::{self, ProbeState};
use crate::facts::{ClusterState, NodeState, PoolInput, PreflightFacts, node, nodes, pools};
use crate::kube::ClusterTarget;
use crate::metallb::RenderOptions;
use crate::metallb::speaker::SpeakerPlacement;
use crate::net::roots::HostRoots;
use crate::output::is_json;
use crate::report::{self, Report, Target};
use crate::{ExitCode, Result};

pub async fn run(global: &GlobalArgs, args: &PreflightArgs) -> Result<ExitCode> {
    // Bad input stops here, before anything is contacted (exit 2).
    let suite = Suite::new(preflight::specs(), preflight::PER_NODE);
    let policy = Policy::new(&args.checks.ignore, args.checks.fail_on, &suite.ids())?;
    let pools = pool_inputs(args)?;
    crate::output_path::check_junit(args.checks.junit.as_deref())?;
    let node_settings = args.nodes.settings()?;
    let roots = match &args.proc_root {
        Some(dir) => HostRoots::with_proc(dir),
        None => HostRoots::default(),
    };
    let (target, node_states) = match (&node_settings, args.local) {
        (_, true) => (None, None),
        (None, false) => (Some(crate::kube::connect(global).await), None),
        // --nodes needs the cluster (exit 3 without it); the plan (nodes, permissions) is
        // settled before any pod exists, and the pods run once, also under --wait.
        (Some(settings), false) => {
            let t = crate::kube::connect(global).await?;
            let states = nodes::plan_and_read(&t, settings).await?;
            (Some(Ok(t)), Some(states))
        }
    };

    let run = Run {
        policy: &policy,
        wait: args.wait,
        nodes: node_states.as_deref(),
    };
    let judged = runner::run(&suite, run, wait::on_stderr().as_mut(), || {
        gather(global, args, &target, &roots, pools.clone())
    })
    .await;
    let target = Target::of(&judged.facts.cluster);
    let report = Report::new("preflight", target, judged.checks, judged.exit_code);
    report::emit(
        &report,
        is_json(global.output),
        args.checks.junit.as_deref(),
    )?;
    Ok(judged.exit_code)
}

fn pool_inputs(args: &PreflightArgs) -> Result<Vec<PoolInput>> {
    let mut inputs = pools::from_flags(&args.pools)?;
    if let Some(path) = &args.config {
        let text = super::read_config(path)?;
        inputs.extend(pools::from_config(&text, &path.display().to_string())?);
    }
    Ok(inputs)
}

async fn gather(
    global: &GlobalArgs,
    args: &PreflightArgs,
    target: &Option<Result<ClusterTarget>>,
    roots: &HostRoots,
    pools: Vec<PoolInput>,
) -> PreflightFacts {
    let options = gather::Options {
        metallb_namespace: global.metallb_namespace.clone(),
        service_cidrs: !pools.is_empty(),
        permissions_for: args.for_command.map(ForCommand::command),
    };
    let cluster = async {
        match target {
            None => ClusterState::NotUsed {
                reason: "--local: the cluster is not contacted".into(),
            },
            // No kubeconfig is no cluster, as an unreachable one is: without it lbctl cannot
            // tell this host from a node (exit 3; --local judges this host).
            Some(Err(e)) => ClusterState::Unreachable {
                server: None,
                message: e.to_string(),
                hint: e.hint().unwrap_or_default(),
            },
            Some(Ok(t)) => {
                crate::verbose::timed("gathering cluster facts", gather::cluster(t, &options)).await
            }
        }
    };
    let node = if args.nodes.nodes.is_some() {
        NodeState::NotRead {
            reason: "--nodes: the selected nodes are checked through pods".into(),
        }
    } else {
        let start = std::time::Instant::now();
        let local = node::local(roots);
        crate::verbose::step("reading this host's node facts", start.elapsed());
        local
    };
    let probe = probe_pools(args, &node, roots, &pools);
    let (cluster, probe) = tokio::join!(cluster, probe);
    PreflightFacts {
        metallb_namespace: global.metallb_namespace.clone(),
        for_install: args.for_command == Some(ForCommand::Install),
        speaker: SpeakerPlacement::rendered(&args.speaker.options(RenderOptions::default())),
        permissions_for: args.for_command.map(ForCommand::command),
        cluster,
        node,
        pools,
        probe,
    }
}

/// LB309's ARP probes, sent only from this host and only when its facts were read.
async fn probe_pools(
    args: &PreflightArgs,
    node: &NodeState,
    roots: &HostRoots,
    pools: &[PoolInput],
) -> ProbeState {
    let not_run = |reason: &str| ProbeState::NotRun {
        reason: reason.into(),
    };
    match (node, args.no_probe) {
        (_, true) => not_run("--no-probe"),
        (_, false) if args.nodes.nodes.is_some() => not_run(
            "--nodes: ARP probes are sent only from the host lbctl runs on, without --nodes",
        ),
        (NodeState::NotRead { reason }, _) => not_run(reason),
        (NodeState::Remote { .. } | NodeState::Unreadable { .. }, _) => {
            not_run("this host was not read")
        }
        (NodeState::Local { facts, .. }, false) => {
            let settings = args.probing.settings();
            let probing = probe::run(pools, facts, roots, &settings);
            crate::verbose::timed("ARP-probing the pools", probing).await
        }
    }
}
