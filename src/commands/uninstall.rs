//! `lbctl uninstall`: delete what install wrote, group by group in an order that never leaves a
//! webhook without its server or pools without their controller, and wait until each is gone.
//! Only objects labelled as lbctl's are deleted (and, with the CRDs going, every pool).

use std::collections::BTreeMap;

use serde::Serialize;
use tokio::time::Instant;

use crate::cli::{GlobalArgs, UninstallArgs};
use crate::kube::apply::{ObjectRef, delete};
use crate::kube::deadline::Deadline;
use crate::kube::wait::{until_cached, until_gone};
use crate::kube::{ClusterTarget, access, connect};
use crate::metallb::VERSION;
use crate::metallb::crds::stored_kinds;
use crate::metallb::existing::{managed_selector, snapshot};
use crate::metallb::render::{RenderOptions, render};
use crate::metallb::steps::{self, delete_groups, delete_permissions, pool_kinds};
use crate::output::is_json;
use crate::progress::Progress;
use crate::{ExitCode, Result};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UninstallSummary {
    namespace: String,
    dry_run: bool,
    deleted: Vec<String>,
    kept: Vec<String>,
}

/// What uninstall removes (reference -> resourceVersion) and what `--keep-crds` keeps.
struct Removal {
    found: BTreeMap<ObjectRef, String>,
    kept: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &UninstallArgs) -> Result<ExitCode> {
    let ns = global.metallb_namespace.clone();
    let json = is_json(global.output);
    let progress = Progress::new(json);
    let started = Instant::now();
    let deadline = Deadline::new(started, args.timeout);
    let target = connect(global).await?;

    let plan = deadline
        .bound(
            &target,
            "listing what lbctl installed",
            plan(&target, &ns, args.keep_crds),
        )
        .await?;
    // With nothing to remove the headline is all there is to say: the verdict.
    let headline = if plan.found.is_empty() {
        Progress::verdict
    } else {
        Progress::say
    };
    headline(
        &progress,
        &format!(
            "{} MetalLB {VERSION} installed by lbctl in namespace {ns} (context {}){}",
            if args.dry_run {
                "Would remove"
            } else {
                "Removing"
            },
            target.context,
            if plan.found.is_empty() {
                ": nothing to remove"
            } else {
                ""
            }
        ),
    );
    if !args.dry_run {
        // Every delete is allowed, or none is sent: a half-removed MetalLB (pools gone, the
        // controller still running) is worse than the installation it was.
        let wanted = delete_permissions(&ns, plan.found.keys());
        deadline
            .bound(
                &target,
                "checking permissions",
                access::require(&target, &wanted),
            )
            .await?;
    }
    let mut outcome = UninstallSummary {
        namespace: ns,
        dry_run: args.dry_run,
        deleted: Vec::new(),
        kept: plan.kept.clone(),
    };
    let groups = delete_groups(plan.found.keys());
    let labels: Vec<&str> = groups.iter().map(|(label, _)| *label).collect();
    for (label, group) in &groups {
        if args.dry_run {
            show_group(&progress, label, group);
        } else {
            crate::interrupt::entering(steps::progress(&labels, label, "uninstall"));
            deadline
                .bound(
                    &target,
                    label,
                    delete_group(
                        &target,
                        &progress,
                        label,
                        group,
                        &outcome.namespace,
                        deadline,
                    ),
                )
                .await
                .map_err(|e| e.with_progress(steps::progress(&labels, label, "uninstall")))?;
        }
        outcome
            .deleted
            .extend(group.iter().map(ObjectRef::describe));
    }
    finish(json, &progress, &outcome, !plan.found.is_empty(), started);
    Ok(ExitCode::Ok)
}

/// Lists lbctl's objects and every pool in the namespace; with `keep_crds` the CRDs, the
/// namespace and the pools are kept.
async fn plan(target: &ClusterTarget, ns: &str, keep_crds: bool) -> Result<Removal> {
    let rendered = render(&RenderOptions {
        namespace: ns.to_string(),
        ..Default::default()
    });
    let mut found = crate::verbose::timed(
        "listing what lbctl installed",
        snapshot(target, &rendered, ns, &managed_selector()),
    )
    .await?;
    let pools = snapshot(target, &pool_kinds(ns), ns, "").await?;
    let mut kept = Vec::new();
    if keep_crds {
        let keeps = |r: &ObjectRef| r.kind == "CustomResourceDefinition" || r.kind == "Namespace";
        kept.extend(found.keys().filter(|r| keeps(r)).map(ObjectRef::describe));
        kept.extend(pools.keys().map(ObjectRef::describe));
        found.retain(|r, _| !keeps(r));
    } else {
        found.extend(pools);
    }
    Ok(Removal { found, kept })
}

fn show_group(progress: &Progress, label: &str, group: &[ObjectRef]) {
    progress.would(label, &format!("would delete {}", group.len()));
    for r in group {
        progress.finding(&r.describe());
    }
}

/// Deletes one group and waits until every object of it is gone.
async fn delete_group(
    target: &ClusterTarget,
    progress: &Progress,
    label: &str,
    group: &[ObjectRef],
    namespace: &str,
    deadline: Deadline,
) -> Result<()> {
    let t = Instant::now();
    let crds: Vec<&str> = group
        .iter()
        .filter(|r| r.kind == "CustomResourceDefinition")
        .map(|r| r.name.as_str())
        .collect();
    if !crds.is_empty() {
        // So that each CRD's finalizer can list what it must delete at once (see `until_cached`).
        let kinds: Vec<_> = stored_kinds(namespace)
            .into_iter()
            .filter(|k| crds.contains(&format!("{}.{}", k.plural, k.group).as_str()))
            .collect();
        until_cached(target, &kinds, namespace, deadline.at).await;
    }
    for r in group {
        delete(target, r, false).await?;
    }
    progress.waiting(label, &format!("{} object(s) to disappear", group.len()));
    until_gone(target, group, deadline.at, deadline.timeout).await?;
    progress.step(label, &format!("{} deleted", group.len()), t.elapsed());
    Ok(())
}

fn finish(
    json: bool,
    progress: &Progress,
    outcome: &UninstallSummary,
    found: bool,
    started: Instant,
) {
    if !outcome.kept.is_empty() {
        progress.verdict(&format!("Kept (--keep-crds): {}", outcome.kept.join(", ")));
    }
    if json {
        crate::output::print_json(outcome);
    } else if found {
        progress.verdict(&format!(
            "{} ({:.1}s)",
            if outcome.dry_run {
                "Dry run: nothing was deleted."
            } else {
                "MetalLB is removed."
            },
            started.elapsed().as_secs_f64()
        ));
    }
}
