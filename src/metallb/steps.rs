//! The order in which install writes MetalLB and uninstall removes it, and what each step
//! touches: pure, so the commands only run the steps.

use std::collections::BTreeMap;

use serde_json::Value;

use super::render::{Phase, Rendered};
use crate::error::StepProgress;
use crate::kube::access::Permission;
use crate::kube::apply::ObjectRef;

/// install's apply phases, in order: namespace -> CRDs -> RBAC/config -> workloads, each applied
/// concurrently within the phase.
pub const APPLY_PHASES: [(Phase, &str); 4] = [
    (Phase::Namespace, "namespace"),
    (Phase::Crds, "CRDs"),
    (Phase::Config, "RBAC and config"),
    (Phase::Workloads, "controller and speaker"),
];

/// Every step of an install, in order (`pools` only when there are pools to create).
pub fn install_steps(with_pools: bool) -> Vec<&'static str> {
    let mut steps: Vec<&'static str> = APPLY_PHASES.iter().map(|(_, name)| *name).collect();
    steps.extend(["rollouts", "webhook"]);
    if with_pools {
        steps.push("pools");
    }
    steps.push("cleanup");
    steps
}

/// The objects of one phase.
pub fn phase_objects(objects: &[Rendered], phase: Phase) -> Vec<&Value> {
    objects
        .iter()
        .filter(|r| r.phase == phase)
        .map(|r| &r.object)
        .collect()
}

/// The names of the CRDs among `objects`.
pub fn crd_names(objects: &[Rendered]) -> Vec<String> {
    objects
        .iter()
        .filter(|r| r.phase == Phase::Crds)
        .map(|r| r.name().to_string())
        .collect()
}

/// The pools and advertisements of a plan as objects to snapshot alongside MetalLB's.
pub fn as_rendered(plan_objects: &[Value]) -> Vec<Rendered> {
    plan_objects
        .iter()
        .map(|o| Rendered {
            phase: Phase::Workloads,
            object: o.clone(),
        })
        .collect()
}

/// Pools first, then the advertisements that name them.
pub fn pools_then_advertisements(plan_objects: &[Value]) -> (Vec<&Value>, Vec<&Value>) {
    plan_objects
        .iter()
        .partition(|o| o["kind"] == "IPAddressPool")
}

/// Objects an earlier lbctl wrote that this version no longer renders (upgrades); pools, the
/// namespace and the CRDs are never among them (they hold the users' data).
pub fn stale<'a>(
    before: &'a BTreeMap<ObjectRef, String>,
    objects: &[Rendered],
) -> Vec<&'a ObjectRef> {
    let rendered: Vec<ObjectRef> = objects.iter().map(|r| ObjectRef::of(&r.object)).collect();
    before
        .keys()
        .filter(|r| !rendered.contains(r))
        .filter(|r| {
            !matches!(
                r.kind.as_str(),
                "IPAddressPool" | "L2Advertisement" | "Namespace" | "CustomResourceDefinition"
            )
        })
        .collect()
}

/// How far a command got when a write of step `current` failed; `None` for a step that is not
/// one of `steps` (a dry run writes nothing, so there is nothing to tell).
pub fn progress(steps: &[&str], current: &str, command: &'static str) -> Option<StepProgress> {
    let at = steps.iter().position(|s| *s == current)?;
    Some(StepProgress {
        command,
        done: steps[..at].iter().map(|s| s.to_string()).collect(),
        stopped_in: current.to_string(),
        not_started: steps
            .get(at + 1..)
            .unwrap_or_default()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
}

/// uninstall's deletion groups, in an order that never leaves a webhook without its server or
/// pools without their controller.
pub const DELETE_GROUPS: &[(&str, &[&str])] = &[
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

/// The deletion groups that hold objects of `found`, in order, with their objects.
pub fn delete_groups<'a>(
    found: impl Iterator<Item = &'a ObjectRef> + Clone,
) -> Vec<(&'static str, Vec<ObjectRef>)> {
    DELETE_GROUPS
        .iter()
        .map(|(label, kinds)| {
            let group: Vec<ObjectRef> = found
                .clone()
                .filter(|r| kinds.contains(&r.kind.as_str()))
                .cloned()
                .collect();
            (*label, group)
        })
        .filter(|(_, group)| !group.is_empty())
        .collect()
}

/// The pool kinds, to find every pool in the namespace (users' pools carry no label).
pub fn pool_kinds(namespace: &str) -> Vec<Rendered> {
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

/// What deleting `refs` takes: the entries of uninstall's one permission list
/// (`crate::permissions`) for the kinds found (`--keep-crds` keeps some).
pub fn delete_permissions<'a>(
    namespace: &str,
    refs: impl Iterator<Item = &'a ObjectRef>,
) -> Vec<Permission> {
    let kinds: std::collections::BTreeSet<(String, String)> = refs
        .map(|r| {
            let resource = r.resource();
            (resource.group, resource.plural)
        })
        .collect();
    let namespaces = crate::permissions::Namespaces {
        metallb: namespace.to_string(),
        ..Default::default()
    };
    crate::permissions::required(crate::permissions::Command::Uninstall, &namespaces)
        .into_iter()
        .filter(|p| kinds.contains(&(p.group.clone(), p.resource.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metallb::render::{RenderOptions, render};

    fn object_ref(kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some("metallb-system".into()),
            name: name.into(),
        }
    }

    #[test]
    fn a_failed_step_splits_the_steps_into_done_and_not_done() {
        let steps = install_steps(true);
        let p = progress(&steps, "RBAC and config", "install").unwrap();
        assert_eq!(p.done, ["namespace", "CRDs"]);
        assert_eq!(
            p.not_started,
            [
                "controller and speaker",
                "rollouts",
                "webhook",
                "pools",
                "cleanup"
            ]
        );
        assert_eq!(
            p.describe(),
            "Done: namespace, CRDs. Not done: RBAC and config (stopped there), controller and speaker, rollouts, webhook, pools, cleanup."
        );
        let first = progress(&steps, "namespace", "install").unwrap();
        assert!(
            first
                .describe()
                .starts_with("Done: nothing. Not done: namespace")
        );
        assert!(!install_steps(false).contains(&"pools"));
        assert_eq!(progress(&steps, "server-side dry run", "install"), None);
    }

    #[test]
    fn only_objects_this_version_dropped_are_stale_and_never_user_data() {
        let objects = render(&RenderOptions::default());
        let mut before: BTreeMap<ObjectRef, String> = objects
            .iter()
            .map(|r| (ObjectRef::of(&r.object), "1".to_string()))
            .collect();
        before.insert(object_ref("ConfigMap", "metallb-old-config"), "1".into());
        before.insert(object_ref("IPAddressPool", "users-pool"), "1".into());
        let stale = stale(&before, &objects);
        assert_eq!(stale, [&object_ref("ConfigMap", "metallb-old-config")]);
    }

    #[test]
    fn deletion_groups_keep_their_order_and_skip_empty_ones() {
        let found = [
            object_ref("Namespace", "metallb-system"),
            object_ref("IPAddressPool", "p"),
            object_ref("Deployment", "controller"),
        ];
        let groups = delete_groups(found.iter());
        let labels: Vec<&str> = groups.iter().map(|(l, _)| *l).collect();
        assert_eq!(
            labels,
            [
                "pools and advertisements",
                "controller and speaker",
                "namespace"
            ]
        );
    }

    #[test]
    fn deleting_needs_list_watch_and_delete_once_per_kind_found() {
        let found = [object_ref("ConfigMap", "a"), object_ref("ConfigMap", "b")];
        let wanted = delete_permissions("metallb-system", found.iter());
        let verbs: Vec<(&str, &str, Option<&str>)> = wanted
            .iter()
            .map(|p| (p.verb.as_str(), p.resource.as_str(), p.namespace.as_deref()))
            .collect();
        assert_eq!(
            verbs,
            [
                ("list", "configmaps", Some("metallb-system")),
                ("watch", "configmaps", Some("metallb-system")),
                ("delete", "configmaps", Some("metallb-system")),
            ]
        );
    }
}
