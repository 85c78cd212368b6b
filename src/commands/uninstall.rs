//! `lbctl uninstall`: delete what install wrote, group by group in an order that never leaves a
//! webhook without its server or pools without their controller, and wait until each is gone.
//! Only objects labelled as lbctl's are deleted (and, with the CRDs going, every pool).

use std::collections::{BTreeMap, BTreeSet};

use kube::api::DynamicObject;
use serde::Serialize;
use tokio::time::Instant;

use crate::cli::{GlobalArgs, UninstallArgs};
use crate::kube::access::{self, Permission};
use crate::kube::apply::{ObjectRef, delete, dynamic_api};
use crate::kube::wait::until_set;
use crate::kube::{ClusterTarget, connect};
use crate::metallb::VERSION;
use crate::metallb::existing::{managed_selector, snapshot};
use crate::metallb::render::{Phase, RenderOptions, Rendered, render};
use crate::output::is_json;
use crate::permissions;
use crate::progress::Progress;
use crate::{Error, ExitCode, Result};

/// Deletion groups, in order.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "pools and advertisements",
        &["IPAddressPool", "L2Advertisement"],
    ),
    ("webhook configuration", &["ValidatingWebhookConfiguration"]),
    ("controller and speaker", &["Deployment", "DaemonSet"]),
    (
        "RBAC and config",
        &[
            "Service",
            "Secret",
            "ConfigMap",
            "RoleBinding",
            "ClusterRoleBinding",
            "Role",
            "ClusterRole",
            "ServiceAccount",
        ],
    ),
    ("CRDs", &["CustomResourceDefinition"]),
    ("namespace", &["Namespace"]),
];

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    namespace: String,
    dry_run: bool,
    deleted: Vec<String>,
    kept: Vec<String>,
}

/// The pool kinds, to find every pool in the namespace (users' pools carry no label).
fn pool_kinds(namespace: &str) -> Vec<Rendered> {
    ["IPAddressPool", "L2Advertisement"]
        .into_iter()
        .map(|kind| Rendered {
            phase: Phase::Workloads,
            object: serde_json::json!({
                "apiVersion": "metallb.io/v1beta1",
                "kind": kind,
                "metadata": {"name": "", "namespace": namespace}
            }),
        })
        .collect()
}

pub async fn run(global: &GlobalArgs, args: &UninstallArgs) -> Result<ExitCode> {
    let opts = RenderOptions {
        namespace: global.metallb_namespace.clone(),
        ..Default::default()
    };
    let json = is_json(global.output);
    let progress = Progress::new(json);
    let started = Instant::now();
    let deadline = started + args.timeout;
    let target = connect(global).await?;
    let ns = &opts.namespace;

    let rendered = render(&opts);
    let mut found = crate::verbose::timed(
        "listing what lbctl installed",
        snapshot(&target, &rendered, ns, &managed_selector()),
    )
    .await?;
    let pools = snapshot(&target, &pool_kinds(ns), ns, "").await?;
    let mut kept = Vec::new();
    if args.keep_crds {
        for r in found
            .keys()
            .filter(|r| r.kind == "CustomResourceDefinition" || r.kind == "Namespace")
        {
            kept.push(r.describe());
        }
        kept.extend(pools.keys().map(ObjectRef::describe));
        found.retain(|r, _| r.kind != "CustomResourceDefinition" && r.kind != "Namespace");
    } else {
        found.extend(pools);
    }

    progress.say(&format!(
        "{} MetalLB {VERSION} installed by lbctl in namespace {ns} (context {}){}",
        if args.dry_run {
            "Would remove"
        } else {
            "Removing"
        },
        target.context,
        if found.is_empty() {
            ": nothing to remove"
        } else {
            ""
        }
    ));
    if !args.dry_run {
        // Every delete is allowed, or none is sent: a half-removed MetalLB (pools gone, the
        // controller still running) is worse than the installation it was.
        access::require(&target, &needed(ns, found.keys())).await?;
    }
    let mut outcome = Outcome {
        namespace: ns.clone(),
        dry_run: args.dry_run,
        deleted: Vec::new(),
        kept: kept.clone(),
    };
    for (label, kinds) in GROUPS {
        let group: Vec<ObjectRef> = found
            .keys()
            .filter(|r| kinds.contains(&r.kind.as_str()))
            .cloned()
            .collect();
        if group.is_empty() {
            continue;
        }
        let t = Instant::now();
        if args.dry_run {
            progress.step(label, &format!("would delete {}", group.len()), t.elapsed());
            for r in &group {
                progress.detail(&r.describe());
            }
        } else {
            for r in &group {
                delete(&target, r, false).await?;
            }
            progress.waiting(label, &format!("{} object(s) to disappear", group.len()));
            wait_gone(&target, &group, deadline, args.timeout).await?;
            progress.step(label, &format!("{} deleted", group.len()), t.elapsed());
        }
        outcome
            .deleted
            .extend(group.iter().map(ObjectRef::describe));
    }
    if !kept.is_empty() {
        progress.say(&format!("Kept (--keep-crds): {}", kept.join(", ")));
    }
    if json {
        crate::output::print_json(&outcome);
    } else if !found.is_empty() {
        progress.say(&format!(
            "{} ({:.1}s)",
            if args.dry_run {
                "Dry run: nothing was deleted."
            } else {
                "MetalLB is removed."
            },
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(ExitCode::Ok)
}

/// What deleting `refs` takes: the entries of uninstall's one list (`crate::permissions`) for
/// the kinds found (`--keep-crds` keeps some).
fn needed<'a>(namespace: &str, refs: impl Iterator<Item = &'a ObjectRef>) -> Vec<Permission> {
    let kinds: BTreeSet<(String, String)> = refs
        .map(|r| {
            let resource = r.resource();
            (resource.group, resource.plural)
        })
        .collect();
    let namespaces = permissions::Namespaces {
        metallb: namespace.to_string(),
        ..Default::default()
    };
    permissions::required(permissions::Command::Uninstall, &namespaces)
        .into_iter()
        .filter(|p| kinds.contains(&(p.group.clone(), p.resource.clone())))
        .collect()
}

/// Waits, with one watch per kind and namespace, until none of `refs` exists any more.
async fn wait_gone(
    target: &ClusterTarget,
    refs: &[ObjectRef],
    deadline: Instant,
    timeout: std::time::Duration,
) -> Result<()> {
    let mut by_kind: BTreeMap<(String, String, Option<String>), BTreeSet<String>> = BTreeMap::new();
    for r in refs {
        by_kind
            .entry((r.api_version.clone(), r.kind.clone(), r.namespace.clone()))
            .or_default()
            .insert(r.name.clone());
    }
    let waits = by_kind
        .iter()
        .map(|((api_version, kind, namespace), names)| {
            let probe = ObjectRef {
                api_version: api_version.clone(),
                kind: kind.clone(),
                namespace: namespace.clone(),
                name: String::new(),
            };
            let api = dynamic_api(target, &probe.resource(), namespace.as_deref());
            async move {
                let gone = until_set(target, api, "", deadline, |objs: &[DynamicObject]| {
                    !objs
                        .iter()
                        .any(|o| o.metadata.name.as_ref().is_some_and(|n| names.contains(n)))
                })
                .await?;
                Ok::<_, Error>((probe.kind, names, gone))
            }
        });
    for result in futures::future::join_all(waits).await {
        let (kind, names, gone) = result?;
        if !gone {
            return Err(Error::Timeout {
                what: format!(
                    "{kind} {} to be deleted",
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                after: timeout,
                detail: Some(
                    "a finalizer may hold it: look at metadata.finalizers with `kubectl get <kind> <name> -o yaml`, then re-run lbctl uninstall".into(),
                ),
            });
        }
    }
    Ok(())
}
