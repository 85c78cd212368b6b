//! `lbctl doctor`: gather MetalLB's state (a fixed set of list requests) and, when this host can,
//! ARP-probe the assigned addresses; run the doctor checks (again while `--wait` lasts), then
//! render the report and return the exit code of the checks.

use std::net::IpAddr;

use crate::bundle::{Contents, Written};
use crate::checks::doctor::{self, arp::targets};
use crate::checks::runner::{self, Run, Suite};
use crate::checks::{Policy, wait};
use crate::cli::{DoctorArgs, GlobalArgs};
use crate::facts::doctor::DoctorFacts;
use crate::facts::metallb::{ArpFacts, ArpProbe, MetalLbFacts};
use crate::facts::probe::{self, ProbeState};
use crate::facts::{ClusterState, NodeState, PoolInput, node, nodes};
use crate::kube::ClusterTarget;
use crate::net::pool::Pool;
use crate::net::roots::HostRoots;
use crate::output::{ErrorMessage, ErrorReport, is_json};
use crate::progress::Progress;
use crate::report::{self, Report, Target};
use crate::{ExitCode, Result};

pub async fn run(global: &GlobalArgs, args: &DoctorArgs) -> Result<ExitCode> {
    // Bad input stops here, before anything is contacted (exit 2).
    let policy = Policy::new(&args.checks.ignore, args.checks.fail_on, &doctor::ids())?;
    let node_settings = args.nodes.settings()?;
    crate::output_path::check_junit(args.checks.junit.as_deref())?;
    let bundle = args.bundle_settings();
    if let Some(b) = &bundle {
        crate::bundle::check_path(&b.path)?;
    }
    let roots = match &args.proc_root {
        Some(dir) => HostRoots::with_proc(dir),
        None => HostRoots::default(),
    };
    // Without a usable kubeconfig or a server that answers there is nothing to diagnose
    // (exit 3 with the hint); a bundle still holds why, for the support request.
    let (target, node_states) = match connect(global, node_settings.as_ref()).await {
        Ok(connected) => connected,
        Err(err) => {
            if let Some(b) = &bundle
                && err.exit_code() == ExitCode::CannotRun
            {
                let shown = crate::bundle::redact::error(&err);
                let document = ErrorReport::new(Some("doctor"), err.exit_code(), shown.clone());
                let report = crate::output::to_json(&document);
                let contents = Contents::unreached(format!("{report}\n"), shown);
                match write(b, &contents) {
                    Ok(written) => say(global, &written),
                    // The error below stays what the run is about.
                    Err(e) => eprintln!("bundle: {e}"),
                }
            }
            return Err(err);
        }
    };

    let suite = Suite::new(doctor::specs_for(node_states.is_some()), doctor::PER_NODE);
    let run = Run {
        policy: &policy,
        wait: args.wait,
        nodes: node_states.as_deref(),
    };
    let judged = runner::run(&suite, run, wait::on_stderr().as_mut(), || {
        gather(global, args, &target, &roots)
    })
    .await;
    let shown = Target::of(&judged.facts.preflight.cluster);
    let report = Report::new("doctor", shown, judged.checks, judged.exit_code);
    report::emit(
        &report,
        is_json(global.output),
        args.checks.junit.as_deref(),
    )?;
    if let Some(b) = &bundle {
        let written = match &judged.facts.preflight.cluster {
            // Nothing more can be read: the bundle says why instead of a failed read per item.
            ClusterState::Unreachable { message, hint, .. } => {
                let why = ErrorMessage {
                    message: message.clone(),
                    hint: Some(hint.clone()).filter(|h| !h.is_empty()),
                };
                write(
                    b,
                    &Contents::unreached(format!("{}\n", report.to_json()), why),
                )?
            }
            _ => write_bundle(global, b, &target, &report, node_states.as_deref()).await?,
        };
        say(global, &written);
    }
    Ok(judged.exit_code)
}

/// The cluster target and, with `--nodes`, the nodes' facts: settled and read before the
/// checks, so the node-check pods run once, also under `--wait`.
async fn connect(
    global: &GlobalArgs,
    node_settings: Option<&nodes::Settings>,
) -> Result<(ClusterTarget, Option<Vec<(String, NodeState)>>)> {
    let target = crate::kube::connect(global).await?;
    let node_states = match node_settings {
        Some(settings) => Some(nodes::plan_and_read(&target, settings).await?),
        None => None,
    };
    Ok((target, node_states))
}

/// Prints the bundle's closing line where progress goes (stderr under -o json).
fn say(global: &GlobalArgs, written: &Written) {
    let line = crate::bundle::closing_line(written);
    let progress = Progress::new(is_json(global.output));
    // "wrote ..." is progress, but items it could not collect are a problem to show.
    if written.missing == 0 && !written.unreached {
        progress.say(&line);
    } else {
        progress.verdict(&line);
    }
}

/// Writes `contents` into the bundle's archive under a directory named for now.
fn write(settings: &crate::bundle::Settings, contents: &Contents) -> Result<Written> {
    let root = crate::bundle::root_name(jiff::Timestamp::now());
    crate::bundle::write(&settings.path, &root, contents)
}

/// `--bundle`: the report as `-o json` prints it, the version, the node facts `--nodes`
/// gathered (its pods are not run again) and what the bundle reads from the cluster.
async fn write_bundle(
    global: &GlobalArgs,
    settings: &crate::bundle::Settings,
    target: &ClusterTarget,
    report: &Report,
    node_states: Option<&[(String, NodeState)]>,
) -> Result<Written> {
    let mut contents = Contents::default();
    contents.file("report.json", format!("{}\n", report.to_json()));
    let server = report
        .target
        .as_ref()
        .and_then(|t| t.server_version.clone());
    contents.file(
        "version.txt",
        crate::commands::version::VersionReport::with_server(server).text(str::to_string),
    );
    if let Some(states) = node_states {
        contents.files.extend(crate::bundle::node_facts(states));
    }
    crate::verbose::timed(
        "collecting the support bundle",
        crate::bundle::collect(target, &global.metallb_namespace, settings, &mut contents),
    )
    .await;
    write(settings, &contents)
}

async fn gather(
    global: &GlobalArgs,
    args: &DoctorArgs,
    target: &ClusterTarget,
    roots: &HostRoots,
) -> DoctorFacts {
    let ns = global.metallb_namespace.clone();
    let (cluster, metallb) = crate::verbose::timed(
        "gathering cluster and MetalLB facts",
        crate::facts::metallb::gather(target, &ns),
    )
    .await;
    let arp = match &metallb {
        None => ArpFacts::NotProbed {
            reason: "skipped: no cluster".into(),
        },
        Some(m) => {
            crate::verbose::timed(
                "ARP-probing the assigned addresses",
                probe_addresses(args, m, roots),
            )
            .await
        }
    };
    DoctorFacts::new(ns, cluster, metallb, arp)
}

/// Probes every assigned address and the InternalIPs of their announcing nodes (ARP for IPv4,
/// NDP for IPv6) with preflight's prober, which never probes this host's own addresses.
async fn probe_addresses(args: &DoctorArgs, m: &MetalLbFacts, roots: &HostRoots) -> ArpFacts {
    if args.no_probe {
        return ArpFacts::NotProbed {
            reason: "--no-probe".into(),
        };
    }
    let targets = targets(m);
    if targets.is_empty() {
        return ArpFacts::NotProbed {
            reason: "no LoadBalancer address is assigned; nothing to probe".into(),
        };
    }
    let unable = |reason: String| {
        if args.probe {
            ArpFacts::Failed {
                message: format!("--probe: {reason}"),
                hint: format!(
                    "run {} as root on a node of the cluster's L2 segment, or drop --probe",
                    crate::invocation::command_line("doctor")
                ),
            }
        } else {
            ArpFacts::NotProbed { reason }
        }
    };
    let facts = match node::local(roots) {
        NodeState::Local { facts, .. } => facts,
        NodeState::NotRead { reason } => return unable(reason),
        NodeState::Remote { .. } | NodeState::Unreadable { .. } => {
            return unable("this host was not read".into());
        }
    };
    let vips: Vec<IpAddr> = targets.iter().map(|t| t.address).collect();
    let mut all: Vec<String> = vips.iter().map(ToString::to_string).collect();
    all.extend(
        targets
            .iter()
            .filter_map(|t| t.node_ip)
            .map(|ip| ip.to_string()),
    );
    let pool = match Pool::from_addresses(&all) {
        Ok(pool) => pool,
        Err(e) => return unable(format!("assigned addresses do not parse: {e}")),
    };
    let input = PoolInput {
        name: "assigned addresses".into(),
        origin: "LoadBalancer services".into(),
        namespace: None,
        pool,
    };
    let settings = args.probing.settings();
    match probe::run(&[input], &facts, roots, &settings).await {
        ProbeState::NotRun { reason } => unable(reason),
        ProbeState::Failed { message, hint } => ArpFacts::Failed { message, hint },
        ProbeState::Done { verdicts } => {
            let (addresses, nodes) = verdicts
                .into_iter()
                .partition(|v| vips.contains(&v.address));
            ArpFacts::Probed(ArpProbe { addresses, nodes })
        }
    }
}
