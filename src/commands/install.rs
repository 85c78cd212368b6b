//! `lbctl install`: render MetalLB, check the cluster, apply phase by phase with waits driven
//! by watches, then create the pools once the webhook accepts them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use kube::ResourceExt;

use crate::checks::{CheckSpec, Policy, Status, Summary, preflight, run_checks};
use crate::cli::{DryRun, GlobalArgs, InstallArgs, RenderArgs};
use crate::facts::probe::{self, ProbeState};
use crate::facts::{NodeState, PoolInput, PreflightFacts, gather, node};
use crate::kube::apply::{ApplyMode, ObjectRef, apply, delete};
use crate::kube::{ClusterTarget, connect};
use crate::metallb::existing::{self, managed_selector};
use crate::metallb::pools::{self, PoolPlan};
use crate::metallb::render::{Phase, RenderOptions, Rendered, render, to_yaml};
use crate::metallb::{VERSION, waits};
use crate::net::pool::Pool;
use crate::net::roots::HostRoots;
use crate::output::is_json;
use crate::progress::Progress;
use crate::report::{Report, Target, human};
use crate::{Error, ExitCode, Result};

/// Turns the render flags into options, validating what clap cannot.
pub fn render_options(global: &GlobalArgs, args: &RenderArgs) -> Result<RenderOptions> {
    // clap checked the namespace and the registry (cli.rs).
    let namespace = global.metallb_namespace.clone();
    Ok(RenderOptions {
        namespace,
        registry: args.registry.clone(),
        image_pull_policy: args.image_pull_policy,
        speaker_node_selector: args.speaker_node_selector.iter().cloned().collect(),
        speaker_tolerations: args.speaker_tolerations.clone(),
        log_level: args.log_level,
        ignore_exclude_lb: args.ignore_exclude_lb,
    })
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

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Created,
    Configured,
    Unchanged,
    /// Server-side dry run of an object whose namespace or CRD does not exist yet.
    NotChecked,
    /// Server-side dry run of an existing object: the server accepted the apply. A dry run
    /// stores nothing, so its resourceVersion cannot tell whether the object would change.
    Accepted,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectResult {
    kind: String,
    namespace: Option<String>,
    name: String,
    change: Change,
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
struct Outcome {
    version: &'static str,
    namespace: String,
    dry_run: Option<&'static str>,
    changed: bool,
    objects: Vec<ObjectResult>,
    removed: Vec<String>,
    advertisements_added: Vec<String>,
    phases: Vec<PhaseResult>,
    /// Reading lbctl's objects plus applying MetalLB (namespace, CRDs until Established, RBAC,
    /// config, workloads): what `kubectl apply --server-side -f` of the same YAML does.
    apply_seconds: f64,
    speakers: Option<(i32, i32)>,
}

/// Applies `objects` concurrently; each result says whether the object changed.
async fn apply_all(
    target: &ClusterTarget,
    objects: &[&Value],
    before: &BTreeMap<ObjectRef, String>,
    mode: ApplyMode,
) -> Result<Vec<ObjectResult>> {
    let applies = objects.iter().map(|obj| async move {
        let r = ObjectRef::of(obj);
        let change = match apply(target, obj, mode).await {
            Ok(applied) => match before.get(&r) {
                None => Change::Created,
                Some(_) if mode.dry_run => Change::Accepted,
                Some(rv) if applied.metadata.resource_version.as_ref() == Some(rv) => {
                    Change::Unchanged
                }
                Some(_) => Change::Configured,
            },
            // A server-side dry run cannot place objects in a namespace or of a kind that the
            // same run would only create.
            Err(Error::Api { code: 404, .. }) if mode.dry_run => Change::NotChecked,
            Err(err) => return Err(err),
        };
        Ok(ObjectResult {
            kind: r.kind,
            namespace: r.namespace,
            name: r.name,
            change,
        })
    });
    futures::future::join_all(applies)
        .await
        .into_iter()
        .collect()
}

fn counts(results: &[ObjectResult]) -> String {
    let n = |c: Change| results.iter().filter(|r| r.change == c).count();
    let mut parts = Vec::new();
    for (change, word) in [
        (Change::Created, "created"),
        (Change::Configured, "configured"),
        (Change::Unchanged, "unchanged"),
        (Change::NotChecked, "not checked"),
        (Change::Accepted, "existing accepted"),
    ] {
        if n(change) > 0 {
            parts.push(format!("{} {word}", n(change)));
        }
    }
    parts.join(", ")
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

pub async fn run(global: &GlobalArgs, args: &InstallArgs) -> Result<ExitCode> {
    let opts = render_options(global, &args.render)?;
    let plan = pool_plan(args, &opts.namespace)?;
    let ids: Vec<&str> = install_checks().iter().map(|s| s.id).collect();
    let policy = Policy::new(&args.ignore, Default::default(), &ids)?;
    let objects = render(&opts);
    let plan_objects = plan.objects();
    if args.dry_run == Some(DryRun::Client) {
        let mut yaml = to_yaml(&objects);
        for obj in &plan_objects {
            yaml.push_str("---\n");
            yaml.push_str(&serde_saphyr::to_string(obj).expect("JSON values serialize to YAML"));
        }
        // A closed pipe (`| head`) is the reader's choice, not an error.
        use std::io::Write;
        return match std::io::stdout().lock().write_all(yaml.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(Error::io("cannot write to stdout", e))
            }
            _ => Ok(ExitCode::Ok),
        };
    }

    let json = is_json(global.output);
    let progress = Progress::new(json);
    let started = Instant::now();
    let deadline = crate::deadline::after(started, args.timeout);
    let target = connect(global).await?;
    let server_dry_run = args.dry_run == Some(DryRun::Server);
    progress.say(&format!(
        "{} MetalLB {VERSION} into namespace {} (context {}){}",
        if server_dry_run {
            "Checking an install of"
        } else {
            "Installing"
        },
        opts.namespace,
        target.context,
        if server_dry_run {
            ", server-side dry run"
        } else {
            ""
        }
    ));

    if !args.skip_preflight {
        let code = precheck(&target, &opts, &plan, args, &policy, &progress, json).await?;
        if code != ExitCode::Ok {
            return Ok(code);
        }
    }

    let apply_started = Instant::now();
    let mut before =
        existing::snapshot(&target, &objects, &opts.namespace, &managed_selector()).await?;
    let plan_rendered: Vec<Rendered> = plan_objects
        .iter()
        .map(|o| Rendered {
            phase: Phase::Workloads,
            object: o.clone(),
        })
        .collect();
    before.extend(existing::snapshot(&target, &plan_rendered, &opts.namespace, "").await?);
    let mode = ApplyMode {
        dry_run: server_dry_run,
        force: args.force_conflicts,
    };
    let mut outcome = Outcome {
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
    };

    if server_dry_run {
        let all: Vec<&Value> = objects
            .iter()
            .map(|r| &r.object)
            .chain(&plan_objects)
            .collect();
        let t = Instant::now();
        let results = apply_all(&target, &all, &before, mode).await?;
        progress.step("server-side dry run", &counts(&results), t.elapsed());
        for r in results
            .iter()
            .filter(|r| !matches!(r.change, Change::Unchanged | Change::Accepted))
        {
            let what = match r.change {
                Change::NotChecked => "not checked (its namespace or CRD does not exist yet):",
                Change::Created => "would create",
                _ => "would configure",
            };
            let name = match &r.namespace {
                Some(ns) => format!("{} {ns}/{}", r.kind, r.name),
                None => format!("{}/{}", r.kind, r.name),
            };
            progress.detail(&format!("{what} {name}"));
        }
        outcome.changed = results
            .iter()
            .any(|r| matches!(r.change, Change::Created | Change::Configured));
        outcome.objects = results;
        return finish(json, &progress, outcome, started);
    }

    // namespace -> CRDs -> RBAC/config -> workloads, each applied concurrently within its phase.
    let phase_names = [
        (Phase::Namespace, "namespace"),
        (Phase::Crds, "CRDs"),
        (Phase::Config, "RBAC and config"),
        (Phase::Workloads, "controller and speaker"),
    ];
    for (phase, name) in phase_names {
        let t = Instant::now();
        let batch: Vec<&Value> = objects
            .iter()
            .filter(|r| r.phase == phase)
            .map(|r| &r.object)
            .collect();
        let results = apply_all(&target, &batch, &before, mode).await?;
        let mut detail = counts(&results);
        if phase == Phase::Crds {
            let names: Vec<String> = objects
                .iter()
                .filter(|r| r.phase == Phase::Crds)
                .map(|r| r.name().to_string())
                .collect();
            waits::crds_established(&target, &names, deadline, args.timeout).await?;
            detail.push_str(", established");
        }
        progress.step(name, &detail, t.elapsed());
        outcome.phases.push(PhaseResult {
            name,
            seconds: seconds(t.elapsed()),
        });
        outcome.objects.extend(results);
    }

    outcome.apply_seconds = seconds(apply_started.elapsed());

    let t = Instant::now();
    progress.waiting("rollouts", "controller available, every speaker ready");
    let rollout = waits::rollouts(&target, &opts.namespace, deadline, |name, status| {
        progress.detail(&format!("{name}: {}", status.describe()))
    })
    .await?;
    outcome.speakers = Some((rollout.speaker.ready, rollout.speaker.desired));
    progress.step(
        "rollouts",
        &format!(
            "controller available, speakers {}/{} ready",
            rollout.speaker.ready, rollout.speaker.desired
        ),
        t.elapsed(),
    );
    if rollout.speaker.desired == 0 {
        progress.detail(
            "warning: no node runs a speaker (check --speaker-node-selector and node taints); nothing will be announced",
        );
    }
    outcome.phases.push(PhaseResult {
        name: "rollouts",
        seconds: seconds(t.elapsed()),
    });

    let t = Instant::now();
    progress.waiting(
        "webhook",
        "endpoints ready, then the webhook accepts a dry-run create",
    );
    let attempts = waits::webhook(
        &target,
        &opts.namespace,
        &plan_objects,
        deadline,
        args.timeout,
    )
    .await?;
    progress.step(
        "webhook",
        &format!(
            "serving (accepted after {attempts} dry-run attempt{})",
            if attempts == 1 { "" } else { "s" }
        ),
        t.elapsed(),
    );
    outcome.phases.push(PhaseResult {
        name: "webhook",
        seconds: seconds(t.elapsed()),
    });

    if !plan.is_empty() {
        let t = Instant::now();
        let batch: Vec<&Value> = plan_objects.iter().collect();
        // Pools before the advertisements that name them.
        let (pool_objs, ad_objs): (Vec<&Value>, Vec<&Value>) = batch
            .into_iter()
            .partition(|o| o["kind"] == "IPAddressPool");
        let mut results = apply_all(&target, &pool_objs, &before, mode).await?;
        results.extend(apply_all(&target, &ad_objs, &before, mode).await?);
        progress.step("pools", &counts(&results), t.elapsed());
        for added in &plan.added {
            let created = results.iter().any(|r| {
                r.kind == "L2Advertisement" && &r.name == added && r.change == Change::Created
            });
            if created {
                progress.detail(&format!(
                    "created L2Advertisement {added}: no advertisement announced pool {added}, so its addresses would never be answered for"
                ));
            }
        }
        outcome.phases.push(PhaseResult {
            name: "pools",
            seconds: seconds(t.elapsed()),
        });
        outcome.objects.extend(results);
    }

    // Objects an earlier lbctl wrote that this version no longer renders (upgrades).
    let t = Instant::now();
    let rendered: Vec<ObjectRef> = objects.iter().map(|r| ObjectRef::of(&r.object)).collect();
    let stale: Vec<&ObjectRef> = before
        .keys()
        .filter(|r| !rendered.contains(r))
        .filter(|r| {
            !matches!(
                r.kind.as_str(),
                "IPAddressPool" | "L2Advertisement" | "Namespace" | "CustomResourceDefinition"
            )
        })
        .collect();
    for r in &stale {
        delete(&target, r, false).await?;
        outcome.removed.push(r.describe());
    }
    if !stale.is_empty() {
        progress.step(
            "cleanup",
            &format!(
                "removed {} object(s) this version no longer has",
                stale.len()
            ),
            t.elapsed(),
        );
    }

    outcome.changed = !outcome.removed.is_empty()
        || outcome
            .objects
            .iter()
            .any(|r| r.change != Change::Unchanged);
    finish(json, &progress, outcome, started)
}

fn finish(json: bool, progress: &Progress, outcome: Outcome, started: Instant) -> Result<ExitCode> {
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
    progress.say(&format!("{verdict} ({:.1}s)", elapsed.as_secs_f64()));
    Ok(ExitCode::Ok)
}

/// Preflight's checks that decide whether an install can succeed: cluster, existing MetalLB,
/// namespace and pools (kube-proxy and node tuning are preflight's and doctor's business).
/// kube-proxy's checks install runs as advice: MetalLB installs fine without strictARP, but an
/// install that says "serving" while every node answers ARP for every address misleads.
const KUBE_PROXY_ADVICE: [&str; 2] = ["LB110", "LB111"];

fn install_checks() -> Vec<CheckSpec<PreflightFacts>> {
    preflight::specs()
        .into_iter()
        .filter(|s| {
            matches!(s.area, "cluster" | "metallb" | "pool")
                || s.id == "LB200"
                || KUBE_PROXY_ADVICE.contains(&s.id)
        })
        .collect()
}

/// kube-proxy's failures are warnings for install (the hint still says what to run), and so
/// are its errors (a user who may install MetalLB need not be allowed to read kube-system).
fn as_advice(checks: &mut [crate::checks::Check]) {
    for c in checks
        .iter_mut()
        .filter(|c| KUBE_PROXY_ADVICE.contains(&c.id.as_str()))
    {
        let consequence = match c.status {
            Status::Fail => {
                "MetalLB installs, but its addresses are not reliably answered until this is fixed"
            }
            Status::Error => {
                "kube-proxy could not be checked; `lbctl preflight` as a user who may read kube-system tells"
            }
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
    let specs = install_checks();
    let pools = pool_inputs(
        plan,
        if args.config.is_some() {
            "--config"
        } else {
            "--pool"
        },
    );
    let roots = HostRoots::default();
    let options = gather::Options {
        metallb_namespace: opts.namespace.clone(),
        service_cidrs: !pools.is_empty(),
    };
    let mut facts = PreflightFacts {
        metallb_namespace: opts.namespace.clone(),
        for_install: true,
        cluster: crate::verbose::timed(
            "gathering cluster facts",
            gather::cluster(target, &options),
        )
        .await,
        node: node::local(&roots),
        pools,
        probe: ProbeState::NotRun {
            reason: if args.no_probe {
                "--no-probe".into()
            } else {
                "lbctl does not run on a node of this cluster".into()
            },
        },
    };
    let mut checks = run_checks(&specs, &facts);
    // ARP probes only from a node of the cluster (LB200 passed): from anywhere else they would
    // ask the wrong network.
    let on_node = checks
        .iter()
        .any(|c| c.id == "LB200" && c.status == Status::Pass);
    if on_node && !args.no_probe {
        if let NodeState::Local { facts: node, .. } = &facts.node {
            let settings = probe::Settings {
                interface: None,
                rate: 500,
                attempts: 3,
            };
            facts.probe = probe::run(&facts.pools, node, &roots, &settings).await;
        }
        checks = run_checks(&specs, &facts);
    }
    as_advice(&mut checks);
    policy.apply(&mut checks);
    let code = policy.exit_code(&checks);
    if code == ExitCode::Ok {
        let summary = Summary::of(&checks);
        progress.step(
            "preflight",
            &format!(
                "{} passed, {} warnings, {} skipped",
                summary.pass, summary.warn, summary.skip
            ),
            t.elapsed(),
        );
        for c in checks.iter().filter(|c| c.status == Status::Warn) {
            progress.detail(&format!("warning {} {}: {}", c.id, c.title, c.message));
            if let Some(hint) = &c.hint {
                progress.detail(&format!("  hint: {hint}"));
            }
        }
        return Ok(code);
    }
    let report = Report::new(
        "install",
        Some(Target {
            server: target.server.clone(),
            context: target.context.clone(),
            server_version: None,
        }),
        checks,
        code,
    );
    if json {
        println!("{}", report.to_json());
    } else {
        let style = human::Style {
            color: colored::control::SHOULD_COLORIZE.should_colorize(),
            unicode: human::unicode_from_env(),
        };
        print!("{}", human::render(&report, style));
        println!(
            "Nothing was written. Fix the failed checks, or pass --ignore ID to go on anyway."
        );
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Check;

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
}
