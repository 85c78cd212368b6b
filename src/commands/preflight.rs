//! `lbctl preflight`: gather cluster, node and pool facts, run the preflight checks (again
//! while `--wait` lasts), then render the report and return the exit code of the checks.

use std::io::IsTerminal;
use std::path::Path;

use crate::checks::wait::{self, PlainProgress, Progress, SpinnerProgress};
use crate::checks::{Check, CheckSpec, Policy, preflight, run_checks, run_checks_per_node};
use crate::cli::{ForCommand, GlobalArgs, PreflightArgs};
use crate::facts::probe::{self, ProbeState};
use crate::facts::{
    ClusterState, NodeState, PoolInput, PreflightFacts, gather, node, nodes, pools,
};
use crate::net::roots::HostRoots;
use crate::output::is_json;
use crate::report::{Report, Target, human, junit};
use crate::{Error, ExitCode, Result};

pub async fn run(global: &GlobalArgs, args: &PreflightArgs) -> Result<ExitCode> {
    // Bad input stops here, before anything is contacted (exit 2).
    let policy = Policy::new(&args.checks.ignore, args.checks.fail_on, &preflight::ids())?;
    let pools = pool_inputs(args)?;
    let node_settings = nodes::Settings::from_args(&args.nodes)?;
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
            let states = read_nodes(&t, settings).await?;
            (Some(Ok(t)), Some(states))
        }
    };

    let specs = preflight::specs();
    let target_info: std::cell::RefCell<Option<Target>> = std::cell::RefCell::new(None);
    let (specs_ref, policy_ref, info_ref) = (&specs, &policy, &target_info);
    let mut progress = progress();
    let checks = wait::run_until(args.wait, wait::RETRY_INTERVAL, progress.as_mut(), || {
        let facts = gather(global, args, &target, &roots, pools.clone());
        let node_states = &node_states;
        async move {
            let mut facts = facts.await;
            *info_ref.borrow_mut() = target_of(&facts.cluster);
            let mut checks = judge(
                specs_ref,
                &mut facts,
                node_states.as_deref(),
                preflight::PER_NODE,
                |f, state| f.node = state.clone(),
            );
            policy_ref.apply(&mut checks);
            checks
        }
    })
    .await;

    let code = policy.exit_code(&checks);
    let report = Report::new("preflight", target_info.into_inner(), checks, code);
    emit(global, &report, args.checks.junit.as_deref())?;
    Ok(code)
}

/// `--nodes`: plans, then reads every selected node through its pod.
pub(crate) async fn read_nodes(
    target: &crate::kube::ClusterTarget,
    settings: &nodes::Settings,
) -> Result<Vec<(String, NodeState)>> {
    let plan = crate::verbose::timed(
        "planning the node checks (nodes, permissions, namespace)",
        nodes::plan(target, settings),
    )
    .await?;
    crate::verbose::say(1, || {
        format!(
            "node checks: {} Ready node(s) get a pod, {} not Ready",
            plan.check.len(),
            plan.not_ready.len()
        )
    });
    // Pods can take a while (image pulls): say what is happening on a terminal.
    if std::io::stderr().is_terminal() {
        eprintln!(
            "checking {} node(s) through pods in namespace {} ({}, up to {} at a time)...",
            plan.check.len(),
            settings.namespace,
            settings.image,
            settings.concurrency
        );
    }
    crate::verbose::timed(
        "running the node-check pods",
        nodes::read(target, &plan, settings),
    )
    .await
}

/// Runs the checks once, or with `--nodes` the checks in `per_node` once per node (`select`
/// puts a node's state into the facts). Node facts read by pods do not change while `--wait`
/// waits: those checks are final.
pub(crate) fn judge<F>(
    specs: &[CheckSpec<F>],
    facts: &mut F,
    nodes: Option<&[(String, NodeState)]>,
    per_node: &[&str],
    select: fn(&mut F, &NodeState),
) -> Vec<Check> {
    let Some(nodes) = nodes else {
        return run_checks(specs, facts);
    };
    let mut checks = run_checks_per_node(specs, facts, per_node, nodes, select);
    for c in checks.iter_mut().filter(|c| c.node.is_some()) {
        c.can_become_true = false;
    }
    checks
}

/// Writes `--junit FILE` when asked, then prints the report in the chosen format.
pub(crate) fn emit(global: &GlobalArgs, report: &Report, junit: Option<&Path>) -> Result<()> {
    if let Some(path) = junit {
        write_junit(path, report)?;
    }
    if is_json(global.output) {
        println!("{}", report.to_json());
    } else {
        let style = human::Style {
            color: colored::control::SHOULD_COLORIZE.should_colorize(),
            unicode: human::unicode_from_env(),
        };
        print!("{}", human::render(report, style));
    }
    Ok(())
}

/// Progress while waiting goes to stderr: a spinner on a terminal, lines otherwise.
pub(crate) fn progress() -> Box<dyn Progress> {
    let err = std::io::stderr();
    if err.is_terminal() {
        Box::new(SpinnerProgress::new(err))
    } else {
        Box::new(PlainProgress { out: err })
    }
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
    target: &Option<Result<crate::kube::ClusterTarget>>,
    roots: &HostRoots,
    pools: Vec<PoolInput>,
) -> PreflightFacts {
    let options = gather::Options {
        metallb_namespace: global.metallb_namespace.clone(),
        service_cidrs: !pools.is_empty(),
    };
    let cluster = async {
        match target {
            None => ClusterState::NotUsed {
                reason: "--local: the cluster is not contacted".into(),
            },
            Some(Err(Error::KubeconfigMissing { .. })) => ClusterState::NotUsed {
                reason: "no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config): only node and pool checks run".into(),
            },
            Some(Err(e)) => ClusterState::Unreachable {
                server: None,
                message: e.to_string(),
                hint: e.hint().unwrap_or_default(),
            },
            Some(Ok(t)) => crate::verbose::timed("gathering cluster facts", gather::cluster(t, &options)).await,
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
    let probe = async {
        match (&node, args.no_probe) {
            (_, true) => ProbeState::NotRun {
                reason: "--no-probe".into(),
            },
            (_, false) if args.nodes.nodes.is_some() => ProbeState::NotRun {
                reason:
                    "--nodes: ARP probes are sent only from the host lbctl runs on, without --nodes"
                        .into(),
            },
            (NodeState::NotRead { reason }, _) => ProbeState::NotRun {
                reason: reason.clone(),
            },
            (NodeState::Remote { .. } | NodeState::Unreadable { .. }, _) => ProbeState::NotRun {
                reason: "this host was not read".into(),
            },
            (NodeState::Local { facts, .. }, false) => {
                let settings = probe::Settings {
                    interface: args.probing.interface.clone(),
                    rate: args.probing.rate,
                    attempts: args.probing.attempts,
                };
                crate::verbose::timed(
                    "ARP-probing the pools",
                    probe::run(&pools, facts, roots, &settings),
                )
                .await
            }
        }
    };
    let (cluster, probe) = tokio::join!(cluster, probe);
    PreflightFacts {
        metallb_namespace: global.metallb_namespace.clone(),
        for_install: args.for_command == Some(ForCommand::Install),
        cluster,
        node,
        pools,
        probe,
    }
}

pub(crate) fn target_of(cluster: &ClusterState) -> Option<Target> {
    match cluster {
        ClusterState::Reached(c) => Some(Target {
            server: c.server.clone(),
            context: c.context.clone(),
            server_version: c.version.as_ref().ok().map(|v| v.git_version.clone()),
        }),
        _ => None,
    }
}

fn write_junit(path: &Path, report: &Report) -> Result<()> {
    std::fs::write(path, junit::render(report))
        .map_err(|e| Error::io(format!("cannot write --junit {}", path.display()), e))
}
