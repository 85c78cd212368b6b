//! `lbctl install`: render MetalLB, check the cluster, apply phase by phase with waits driven
//! by watches, then create the pools once the webhook accepts them.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use kube::ResourceExt;

use crate::checks::runner::{self, Run, Suite};
use crate::checks::{Check, Policy, Status, Summary, preflight, wait};
use crate::cli::{DryRunMode, GlobalArgs, InstallArgs, RenderArgs};
use crate::facts::cluster::gather;
use crate::facts::probe::{self, ProbeState};
use crate::facts::{NodeState, PoolInput, PreflightFacts, node};
use crate::kube::apply::{ApplyMode, ObjectRef, delete};
use crate::kube::changes::{Applied, Change, apply_all, counts};
use crate::kube::deadline::Deadline;
use crate::kube::{ClusterTarget, connect};
use crate::metallb::existing::{self, managed_selector};
use crate::metallb::pools::{self, PoolPlan};
use crate::metallb::render::{Phase, RenderOptions, Rendered, render, to_yaml};
use crate::metallb::speaker::SpeakerPlacement;
use crate::metallb::{VERSION, steps, waits};
use crate::net::pool::Pool;
use crate::net::roots::HostRoots;
use crate::output::is_json;
use crate::progress::Progress;
use crate::report::{self, Report, Target};
use crate::{Error, ExitCode, Result};

/// Turns the render flags into options, validating what clap cannot.
pub fn render_options(global: &GlobalArgs, args: &RenderArgs) -> Result<RenderOptions> {
    // clap checked the namespace and the registry (cli.rs).
    let namespace = global.metallb_namespace.clone();
    Ok(args.speaker.options(RenderOptions {
        namespace,
        registry: args.registry.clone(),
        image_pull_policy: args.image_pull_policy,
        log_level: args.log_level,
        ..RenderOptions::default()
    }))
}

fn pool_plan(args: &InstallArgs, namespace: &str) -> Result<PoolPlan> {
    if let Some(path) = &args.config {
        let text = super::read_config(path)?;
        return pools::from_config(&path.display().to_string(), &text, namespace);
    }
    if args.pools.is_empty() {
        return Ok(PoolPlan::default());
    }
    pools::from_flags(&args.pool_name, &args.pools, namespace)
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhaseResult {
    name: &'static str,
    seconds: f64,
}

/// The `-o json` document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct InstallSummary {
    version: &'static str,
    namespace: String,
    dry_run: Option<&'static str>,
    changed: bool,
    objects: Vec<Applied>,
    removed: Vec<String>,
    advertisements_added: Vec<String>,
    phases: Vec<PhaseResult>,
    /// Reading lbctl's objects plus applying MetalLB (namespace, CRDs until Established, RBAC,
    /// config, workloads): what `kubectl apply --server-side -f` of the same YAML does.
    apply_seconds: f64,
    speakers: Option<(i32, i32)>,
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

pub async fn run(global: &GlobalArgs, args: &InstallArgs) -> Result<ExitCode> {
    let opts = render_options(global, &args.render)?;
    let plan = pool_plan(args, &opts.namespace)?;
    let policy = Policy::new(&args.ignore, Default::default(), &install_checks().ids())?;
    let objects = render(&opts);
    let plan_objects = plan.objects();
    if args.dry_run == Some(DryRunMode::Client) && is_json(global.output) {
        // As `kubectl get -o json` prints several objects: one List, never YAML under -o json.
        let items = objects.iter().map(|r| r.object.clone());
        let items = items.chain(plan_objects.iter().cloned()).collect();
        crate::output::print_json(&crate::output::kube_list(items));
        return Ok(ExitCode::Ok);
    }
    if args.dry_run == Some(DryRunMode::Client) {
        return print_manifests(&objects, &plan_objects);
    }

    let json = is_json(global.output);
    let progress = Progress::new(json);
    let started = Instant::now();
    let deadline = Deadline::new(started, args.timeout);
    let target = connect(global).await?;
    let server_dry_run = args.dry_run == Some(DryRunMode::Server);
    progress.say(&headline(server_dry_run, &opts.namespace, &target.context));

    if !args.skip_preflight {
        let checks = precheck(&target, &opts, &plan, args, &policy, &progress, json);
        let code = deadline.bound(&target, "preflight", checks).await?;
        if code != ExitCode::Ok {
            return Ok(code);
        }
    }

    let apply_started = Instant::now();
    let read = before_install(&target, &objects, &plan_objects, &opts.namespace);
    let before = deadline
        .bound(&target, "reading lbctl's objects", read)
        .await?;
    let mut install = Installer {
        target: &target,
        progress: &progress,
        deadline,
        mode: ApplyMode {
            dry_run: server_dry_run,
            force: args.force_conflicts,
        },
        steps: steps::install_steps(!plan.is_empty()),
        before,
        outcome: InstallSummary {
            version: VERSION,
            namespace: opts.namespace.clone(),
            dry_run: server_dry_run.then_some("server"),
            changed: false,
            objects: Vec::new(),
            removed: Vec::new(),
            advertisements_added: plan.added.clone(),
            phases: Vec::new(),
            apply_seconds: 0.0,
            speakers: None,
        },
    };
    if server_dry_run {
        install.server_dry_run(&objects, &plan_objects).await?;
        return finish(json, &progress, install.outcome, started);
    }
    install.apply_phases(&objects).await?;
    install.outcome.apply_seconds = seconds(apply_started.elapsed());
    install.wait_rollouts(&opts.namespace).await?;
    install.wait_webhook(&opts.namespace, &plan_objects).await?;
    if !plan.is_empty() {
        install.apply_pools(&plan_objects, &plan.added).await?;
    }
    install.remove_stale(&objects).await?;
    let outcome = install.outcome;
    finish(json, &progress, outcome, started)
}

/// `--dry-run` (client): the manifests as YAML on stdout.
fn print_manifests(objects: &[Rendered], plan_objects: &[Value]) -> Result<ExitCode> {
    let mut yaml = to_yaml(objects);
    for obj in plan_objects {
        yaml.push_str("---\n");
        yaml.push_str(&serde_saphyr::to_string(obj).expect("JSON values serialize to YAML"));
    }
    // A closed pipe (`| head`) is the reader's choice, not an error.
    use std::io::Write;
    match std::io::stdout().lock().write_all(yaml.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write to stdout", e))
        }
        _ => Ok(ExitCode::Ok),
    }
}

fn headline(server_dry_run: bool, namespace: &str, context: &str) -> String {
    format!(
        "{} MetalLB {VERSION} into namespace {namespace} (context {context}){}",
        if server_dry_run {
            "Checking an install of"
        } else {
            "Installing"
        },
        if server_dry_run {
            ", server-side dry run"
        } else {
            ""
        }
    )
}

/// lbctl's objects and the plan's pools as they are now: reference -> resourceVersion.
async fn before_install(
    target: &ClusterTarget,
    objects: &[Rendered],
    plan_objects: &[Value],
    namespace: &str,
) -> Result<BTreeMap<ObjectRef, String>> {
    let mut before = existing::snapshot(target, objects, namespace, &managed_selector()).await?;
    let pools = steps::as_rendered(plan_objects);
    before.extend(existing::snapshot(target, &pools, namespace, "").await?);
    Ok(before)
}

/// An install under way: where it writes, how far it got, and what it did so far.
struct Installer<'a> {
    target: &'a ClusterTarget,
    progress: &'a Progress,
    deadline: Deadline,
    mode: ApplyMode,
    /// Every step of this install, for the message of a write that failed.
    steps: Vec<&'static str>,
    before: BTreeMap<ObjectRef, String>,
    outcome: InstallSummary,
}

impl Installer<'_> {
    /// Runs one step under the command's deadline; a write that failed says how far the
    /// install got.
    async fn step<T>(&self, name: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
        crate::interrupt::entering(steps::progress(&self.steps, name, "install"));
        self.deadline
            .bound(self.target, name, work)
            .await
            .map_err(|e| e.with_progress(steps::progress(&self.steps, name, "install")))
    }

    fn finished(&mut self, name: &'static str, detail: &str, took: Duration) {
        self.progress.step(name, detail, took);
        self.outcome.phases.push(PhaseResult {
            name,
            seconds: seconds(took),
        });
    }

    /// `--dry-run=server`: every object applied with `dryRun=All`, nothing stored.
    async fn server_dry_run(&mut self, objects: &[Rendered], plan_objects: &[Value]) -> Result<()> {
        let all: Vec<&Value> = objects
            .iter()
            .map(|r| &r.object)
            .chain(plan_objects)
            .collect();
        let t = Instant::now();
        let apply = apply_all(self.target, &all, &self.before, self.mode);
        let results = self.step("server-side dry run", apply).await?;
        self.progress
            .step("server-side dry run", &counts(&results), t.elapsed());
        for r in results
            .iter()
            .filter(|r| !matches!(r.change, Change::Unchanged | Change::Accepted))
        {
            let what = match r.change {
                Change::NotChecked => "not checked (its namespace or CRD does not exist yet):",
                Change::Created => "would create",
                _ => "would configure",
            };
            self.progress.finding(&format!("{what} {}", r.describe()));
        }
        self.outcome.changed = results
            .iter()
            .any(|r| matches!(r.change, Change::Created | Change::Configured));
        self.outcome.objects = results;
        Ok(())
    }

    /// Namespace, CRDs (until Established), RBAC and config, workloads: phase by phase.
    async fn apply_phases(&mut self, objects: &[Rendered]) -> Result<()> {
        for (phase, name) in steps::APPLY_PHASES {
            let t = Instant::now();
            let batch = steps::phase_objects(objects, phase);
            let work = async {
                let results = apply_all(self.target, &batch, &self.before, self.mode).await?;
                let mut detail = counts(&results);
                if phase == Phase::Crds {
                    let names = steps::crd_names(objects);
                    let (at, timeout) = (self.deadline.at, self.deadline.timeout);
                    waits::crds_established(self.target, &names, at, timeout).await?;
                    detail.push_str(", established");
                }
                Ok((results, detail))
            };
            let (results, detail) = self.step(name, work).await?;
            self.finished(name, &detail, t.elapsed());
            self.outcome.objects.extend(results);
        }
        Ok(())
    }

    async fn wait_rollouts(&mut self, namespace: &str) -> Result<()> {
        let t = Instant::now();
        let progress = self.progress;
        progress.waiting("rollouts", "controller available, every speaker ready");
        let wait = waits::rollouts(self.target, namespace, self.deadline, |name, status| {
            progress.detail(&format!("{name}: {}", status.describe()))
        });
        let rollout = self.step("rollouts", wait).await?;
        let (ready, desired) = (rollout.speaker.ready, rollout.speaker.desired);
        self.outcome.speakers = Some((ready, desired));
        let detail = format!("controller available, speakers {ready}/{desired} ready");
        self.finished("rollouts", &detail, t.elapsed());
        if desired == 0 {
            progress.detail(
                "warning: no node runs a speaker (check --speaker-node-selector and node taints); nothing will be announced",
            );
        }
        Ok(())
    }

    async fn wait_webhook(&mut self, namespace: &str, plan_objects: &[Value]) -> Result<()> {
        let t = Instant::now();
        self.progress.waiting(
            "webhook",
            "endpoints ready, then the webhook accepts a dry-run create",
        );
        let (at, timeout) = (self.deadline.at, self.deadline.timeout);
        let wait = waits::webhook(self.target, namespace, plan_objects, at, timeout);
        let attempts = self.step("webhook", wait).await?;
        let detail = format!(
            "serving (accepted after {attempts} dry-run attempt{})",
            if attempts == 1 { "" } else { "s" }
        );
        self.finished("webhook", &detail, t.elapsed());
        Ok(())
    }

    /// The plan's pools, then the advertisements that name them.
    async fn apply_pools(&mut self, plan_objects: &[Value], added: &[String]) -> Result<()> {
        let t = Instant::now();
        let (pools, ads) = steps::pools_then_advertisements(plan_objects);
        let work = async {
            let mut results = apply_all(self.target, &pools, &self.before, self.mode).await?;
            results.extend(apply_all(self.target, &ads, &self.before, self.mode).await?);
            Ok(results)
        };
        let results = self.step("pools", work).await?;
        self.progress.step("pools", &counts(&results), t.elapsed());
        for added in added {
            let created = results.iter().any(|r| {
                r.kind == "L2Advertisement" && &r.name == added && r.change == Change::Created
            });
            if created {
                self.progress.finding(&format!(
                    "created L2Advertisement {added}: no advertisement announced pool {added}, so its addresses would never be answered for"
                ));
            }
        }
        self.outcome.phases.push(PhaseResult {
            name: "pools",
            seconds: seconds(t.elapsed()),
        });
        self.outcome.objects.extend(results);
        Ok(())
    }

    /// Removes objects an earlier lbctl wrote that this version no longer has (upgrades).
    async fn remove_stale(&mut self, objects: &[Rendered]) -> Result<()> {
        let t = Instant::now();
        let stale = steps::stale(&self.before, objects);
        let work = async {
            for r in &stale {
                delete(self.target, r, false).await?;
            }
            Ok(())
        };
        self.step("cleanup", work).await?;
        self.outcome.removed = stale.iter().map(|r| r.describe()).collect();
        if !stale.is_empty() {
            let detail = format!(
                "removed {} object(s) this version no longer has",
                stale.len()
            );
            self.progress.step("cleanup", &detail, t.elapsed());
        }
        self.outcome.changed = !self.outcome.removed.is_empty()
            || self
                .outcome
                .objects
                .iter()
                .any(|r| r.change != Change::Unchanged);
        Ok(())
    }
}

fn finish(
    json: bool,
    progress: &Progress,
    outcome: InstallSummary,
    started: Instant,
) -> Result<ExitCode> {
    let elapsed = started.elapsed();
    if json {
        crate::output::print_json(&outcome);
        return Ok(ExitCode::Ok);
    }
    let pools: Vec<&str> = outcome
        .objects
        .iter()
        .filter(|r| r.kind == "IPAddressPool")
        .map(|r| r.name.as_str())
        .collect();
    let speakers = outcome
        .speakers
        .map(|(ready, desired)| format!(", {ready}/{desired} speakers ready"))
        .unwrap_or_default();
    let pools_text = if pools.is_empty() {
        " (no pools: create IPAddressPool and L2Advertisement objects, or re-run with --pool)"
            .to_string()
    } else {
        format!(", pools: {}", pools.join(", "))
    };
    let verdict = match (outcome.dry_run.is_some(), outcome.changed) {
        (true, true) => format!(
            "Server-side dry run passed; an install would create {} object(s).",
            outcome
                .objects
                .iter()
                .filter(|r| r.change == Change::Created)
                .count()
        ),
        (true, false) => "Server-side dry run passed: the API server accepts every object (existing ones are not compared)."
            .to_string(),
        (false, false) => format!(
            "Nothing changed: MetalLB {VERSION} is installed as planned{speakers}{pools_text}."
        ),
        (false, true) => {
            format!("MetalLB {VERSION} is installed and serving{speakers}{pools_text}.")
        }
    };
    progress.verdict(&format!("{verdict} ({:.1}s)", elapsed.as_secs_f64()));
    Ok(ExitCode::Ok)
}

/// kube-proxy's checks install runs as advice: MetalLB installs fine without strictARP, but an
/// install that says "serving" while every node answers ARP for every address misleads.
const KUBE_PROXY_ADVICE: [&str; 2] = ["LB110", "LB111"];

/// Preflight's install set, read as install reads it.
fn install_checks() -> Suite<PreflightFacts> {
    let mut suite = Suite::new(preflight::specs_of(preflight::INSTALL), &[]);
    suite.adjust = Some(for_install);
    suite
}

/// kube-proxy's findings are advice; a missing permission means install cannot run (exit 3,
/// as for every command), which is no failed check of the cluster.
fn for_install(checks: &mut [Check]) {
    as_advice(checks);
    for c in checks
        .iter_mut()
        .filter(|c| c.id == "LB104" && c.status == Status::Fail)
    {
        c.status = Status::Error;
    }
}

/// kube-proxy's failures are warnings for install (the hint still says what to run), and so
/// are its errors (a user who may install MetalLB need not be allowed to read kube-system).
fn as_advice(checks: &mut [Check]) {
    for c in checks
        .iter_mut()
        .filter(|c| KUBE_PROXY_ADVICE.contains(&c.id.as_str()))
    {
        let consequence = match c.status {
            Status::Fail => {
                "MetalLB installs, but its addresses are not reliably answered until this is fixed"
            }
            Status::Error => &format!(
                "kube-proxy could not be checked; `{}` as a user who may read kube-system tells",
                crate::invocation::command_line("preflight")
            ),
            _ => continue,
        };
        c.status = Status::Warn;
        c.message = format!("{}; {consequence}", c.message);
    }
}

fn pool_inputs(plan: &PoolPlan, origin: &str) -> Vec<PoolInput> {
    plan.pools
        .iter()
        .filter_map(|p| {
            Some(PoolInput {
                name: p.name_any(),
                origin: origin.to_string(),
                namespace: p.metadata.namespace.clone(),
                pool: Pool::from_addresses(&p.spec.addresses).ok()?,
            })
        })
        .collect()
}

/// Runs the install checks; prints the report and returns its exit code when something fails.
async fn precheck(
    target: &ClusterTarget,
    opts: &RenderOptions,
    plan: &PoolPlan,
    args: &InstallArgs,
    policy: &Policy,
    progress: &Progress,
    json: bool,
) -> Result<ExitCode> {
    let t = Instant::now();
    let origin = if args.config.is_some() {
        "--config"
    } else {
        "--pool"
    };
    let pools = pool_inputs(plan, origin);
    let run = Run {
        policy,
        wait: None,
        nodes: None,
    };
    let judged = runner::run(&install_checks(), run, wait::on_stderr().as_mut(), || {
        install_facts(target, opts, args.no_probe, pools.clone())
    })
    .await;
    let (checks, code) = (judged.checks, judged.exit_code);
    if code == ExitCode::Ok {
        let summary = Summary::of(&checks);
        let counts = format!(
            "{} passed, {} warnings, {} skipped",
            summary.pass, summary.warn, summary.skip
        );
        progress.step("preflight", &counts, t.elapsed());
        for c in checks.iter().filter(|c| c.status == Status::Warn) {
            progress.finding(&format!("warning {} {}: {}", c.id, c.title, c.message));
            if let Some(hint) = &c.hint {
                progress.finding(&format!("  hint: {hint}"));
            }
        }
        return Ok(code);
    }
    let target = Target {
        server: target.server.clone(),
        context: target.context.clone(),
        server_version: None,
    };
    report::emit(
        &Report::new("install", Some(target), checks, code),
        json,
        None,
    )?;
    if !json {
        println!("{}", nothing_written(code));
    }
    Ok(code)
}

/// The cluster, this host and the pools as install sees them.
async fn install_facts(
    target: &ClusterTarget,
    opts: &RenderOptions,
    no_probe: bool,
    pools: Vec<PoolInput>,
) -> PreflightFacts {
    let roots = HostRoots::default();
    let options = gather::Options {
        metallb_namespace: opts.namespace.clone(),
        service_cidrs: !pools.is_empty(),
        permissions_for: Some(crate::permissions::Command::Install),
    };
    let cluster = gather::cluster(target, &options);
    let mut facts = PreflightFacts {
        metallb_namespace: opts.namespace.clone(),
        for_install: true,
        speaker: SpeakerPlacement::rendered(opts),
        permissions_for: Some(crate::permissions::Command::Install),
        cluster: crate::verbose::timed("gathering cluster facts", cluster).await,
        node: node::local(&roots),
        pools,
        probe: ProbeState::NotRun {
            reason: if no_probe {
                "--no-probe".into()
            } else {
                "lbctl does not run on a node of this cluster".into()
            },
        },
    };
    // ARP probes only from a node of the cluster (LB200 passes): from anywhere else they would
    // ask the wrong network.
    let on_node = preflight::node::host(&facts).status == Status::Pass;
    if on_node
        && !no_probe
        && let NodeState::Local { facts: node, .. } = &facts.node
    {
        let settings = probe::Settings {
            interface: None,
            rate: 500,
            attempts: 3,
        };
        facts.probe = probe::run(&facts.pools, node, &roots, &settings).await;
    }
    facts
}

/// The last line of a stopped install: what to do depends on whether a check failed or could
/// not run (fixing a connection is not done with --ignore).
fn nothing_written(code: ExitCode) -> &'static str {
    match code {
        ExitCode::Failed => {
            "Nothing was written. Fix the failed checks, or pass --ignore ID to go on anyway."
        }
        _ => {
            "Nothing was written: a check could not run. Fix what its hint names (connection, credentials, permissions) and run install again."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, status: Status) -> Check {
        Check {
            id: id.into(),
            title: "t".into(),
            area: "kube-proxy".into(),
            status,
            message: "m".into(),
            hint: Some("lbctl enable-strictarp".into()),
            docs: String::new(),
            ignored: false,
            node: None,
            can_become_true: false,
        }
    }

    #[test]
    fn kube_proxy_failures_and_errors_are_advice_for_install() {
        let mut checks = vec![
            check("LB111", Status::Fail),
            check("LB110", Status::Error),
            check("LB121", Status::Fail),
            check("LB111", Status::Pass),
        ];
        as_advice(&mut checks);
        let statuses: Vec<Status> = checks.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [Status::Warn, Status::Warn, Status::Fail, Status::Pass]
        );
        assert!(checks[0].message.contains("not reliably answered"));
        assert!(checks[1].message.contains("could not be checked"));
        assert_eq!(checks[2].message, "m");
    }

    #[test]
    fn a_missing_permission_stops_install_as_could_not_run() {
        let mut checks = vec![check("LB104", Status::Fail), check("LB121", Status::Fail)];
        for_install(&mut checks);
        assert_eq!(checks[0].status, Status::Error);
        assert_eq!(checks[1].status, Status::Fail);
        assert_eq!(
            Policy::default().exit_code(&checks[..1]),
            ExitCode::CannotRun
        );
        assert!(nothing_written(ExitCode::CannotRun).contains("could not run"));
        assert!(nothing_written(ExitCode::Failed).contains("Fix the failed checks"));
    }
}
