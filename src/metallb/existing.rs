//! What is already in the cluster before an install: lbctl's own objects (to tell "unchanged"
//! from "changed" and to find objects a newer version dropped), another MetalLB installation
//! (Helm, plain manifests), and the MetalLB namespace's Pod Security level.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};

use super::render::{MANAGED_BY, MANAGED_BY_LABEL, PART_OF, PART_OF_LABEL, Rendered};
use crate::Result;
use crate::checks::{CheckSpec, Outcome};
use crate::kube::ClusterTarget;
use crate::kube::apply::{ObjectRef, list};
use crate::kube::errors::{Request, api_error};

/// The selector of every object lbctl wrote for MetalLB.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY},{PART_OF_LABEL}={PART_OF}")
}

/// Objects of the kinds in `objects` that match `selector` as they are now: reference ->
/// resourceVersion (namespaced kinds in `namespace` only).
pub async fn snapshot(
    target: &ClusterTarget,
    objects: &[Rendered],
    namespace: &str,
    selector: &str,
) -> Result<BTreeMap<ObjectRef, String>> {
    let mut kinds: BTreeSet<(String, String, bool)> = BTreeSet::new();
    for r in objects {
        kinds.insert((
            r.api_version().into(),
            r.kind().into(),
            r.namespace().is_some(),
        ));
    }
    let lists = kinds.iter().map(|(api_version, kind, namespaced)| {
        let probe = ObjectRef {
            api_version: api_version.clone(),
            kind: kind.clone(),
            namespace: None,
            name: String::new(),
        };
        let resource = probe.resource();
        async move {
            let ns = namespaced.then_some(namespace);
            let items = list(target, &resource, ns, selector).await?;
            Ok::<_, crate::Error>(
                items
                    .into_iter()
                    .map(|o| {
                        let r = ObjectRef {
                            api_version: probe.api_version.clone(),
                            kind: probe.kind.clone(),
                            namespace: o.metadata.namespace.clone(),
                            name: o.metadata.name.clone().unwrap_or_default(),
                        };
                        (r, o.metadata.resource_version.unwrap_or_default())
                    })
                    .collect::<Vec<_>>(),
            )
        }
    });
    let mut out = BTreeMap::new();
    for found in futures::future::join_all(lists).await {
        out.extend(found?);
    }
    Ok(out)
}

/// A MetalLB controller found in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundController {
    pub namespace: String,
    pub name: String,
    /// `Helm`, `lbctl`, or empty for plain manifests.
    pub managed_by: String,
    /// The Helm release, when Helm manages it.
    pub release: Option<String>,
    pub version: Option<String>,
}

/// What install judges before its first write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstallFacts {
    pub namespace: String,
    /// Labels of the MetalLB namespace, `None` when it does not exist yet.
    pub namespace_labels: Option<BTreeMap<String, String>>,
    pub controllers: Vec<FoundController>,
}

/// Reads the facts: the namespace, and MetalLB controllers in any namespace.
pub async fn gather(target: &ClusterTarget, namespace: &str) -> Result<InstallFacts> {
    let err = |verb: &'static str, resource: &'static str| {
        move |e| {
            let req = Request {
                verb,
                resource,
                namespace: None,
            };
            api_error(e, req, &target.server, &target.context)
        }
    };
    let namespaces: Api<Namespace> = Api::all(target.client.clone());
    let ns = namespaces
        .get_opt(namespace)
        .await
        .map_err(err("get", "namespaces"))?;
    let deployments: Api<Deployment> = Api::all(target.client.clone());
    // Both the upstream manifest (`app=metallb`) and the Helm chart
    // (`app.kubernetes.io/name=metallb`) label the controller `component=controller`.
    let mut controllers = Vec::new();
    for selector in [
        "app=metallb,component=controller",
        "app.kubernetes.io/name=metallb,app.kubernetes.io/component=controller",
    ] {
        let found = deployments
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(err("list", "deployments"))?;
        for d in found.items {
            let labels = d.metadata.labels.clone().unwrap_or_default();
            let annotations = d.metadata.annotations.clone().unwrap_or_default();
            let c = FoundController {
                namespace: d.metadata.namespace.clone().unwrap_or_default(),
                name: d.metadata.name.clone().unwrap_or_default(),
                managed_by: labels.get(MANAGED_BY_LABEL).cloned().unwrap_or_default(),
                release: annotations
                    .get("meta.helm.sh/release-name")
                    .or_else(|| labels.get("app.kubernetes.io/instance"))
                    .cloned(),
                version: labels.get("app.kubernetes.io/version").cloned(),
            };
            if !controllers.contains(&c) {
                controllers.push(c);
            }
        }
    }
    Ok(InstallFacts {
        namespace: namespace.into(),
        namespace_labels: ns.map(|n| n.metadata.labels.unwrap_or_default()),
        controllers,
    })
}

/// The checks install runs before writing (IDs as in docs/checks.md).
pub fn checks() -> Vec<CheckSpec<InstallFacts>> {
    vec![
        CheckSpec {
            id: "LB120",
            title: "existing MetalLB installation",
            area: "metallb",
            depends_on: &[],
            can_become_true: false,
            rule: existing_installation,
        },
        CheckSpec {
            id: "LB122",
            title: "MetalLB namespace allows privileged pods",
            area: "metallb",
            depends_on: &[],
            can_become_true: false,
            rule: namespace_allows_privileged,
        },
    ]
}

fn existing_installation(f: &InstallFacts) -> Outcome {
    if let Some(helm) = f.controllers.iter().find(|c| c.managed_by == "Helm") {
        let release = helm.release.clone().unwrap_or_else(|| "<release>".into());
        return Outcome::fail(
            format!(
                "MetalLB is installed by Helm (release {release} in namespace {}); two tools managing one MetalLB would undo each other's changes",
                helm.namespace
            ),
            format!(
                "either keep Helm (`helm upgrade {release} metallb/metallb -n {ns}`, and create pools with `kubectl apply`), or remove it first (`helm uninstall {release} -n {ns}`) and re-run lbctl install; `--ignore LB120` makes lbctl take the objects over",
                ns = helm.namespace
            ),
        );
    }
    if let Some(other) = f.controllers.iter().find(|c| c.namespace != f.namespace) {
        return Outcome::fail(
            format!(
                "MetalLB already runs in namespace {} (Deployment {}); a second MetalLB in {} would fight over every address",
                other.namespace, other.name, f.namespace
            ),
            format!(
                "pass --metallb-namespace {} to manage that installation, or uninstall it first",
                other.namespace
            ),
        );
    }
    match f.controllers.first() {
        Some(c) if c.managed_by == MANAGED_BY => Outcome::pass(format!(
            "installed by lbctl ({}); install updates it in place",
            c.version.as_deref().unwrap_or("unknown version")
        )),
        Some(c) => Outcome::warn(
            format!(
                "MetalLB found in {} without an owner label (plain manifests?); lbctl takes its objects over",
                c.namespace
            ),
            "fields another tool set with different values stop the install; add --force-conflicts to take them over",
        ),
        None => Outcome::pass("no MetalLB installed yet"),
    }
}

fn namespace_allows_privileged(f: &InstallFacts) -> Outcome {
    let ns = &f.namespace;
    let Some(labels) = &f.namespace_labels else {
        return Outcome::pass(format!(
            "namespace {ns} does not exist yet; install creates it with Pod Security level privileged"
        ));
    };
    match labels
        .get("pod-security.kubernetes.io/enforce")
        .map(String::as_str)
    {
        None | Some("privileged") => Outcome::pass(format!(
            "namespace {ns} allows privileged pods (install sets the Pod Security labels to privileged)"
        )),
        Some(level) => Outcome::fail(
            format!(
                "namespace {ns} enforces Pod Security level {level}: the speaker (hostNetwork, NET_RAW) would be rejected"
            ),
            format!(
                "kubectl label namespace {ns} --overwrite pod-security.kubernetes.io/enforce=privileged, or choose another namespace with --metallb-namespace"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Status, run_checks};

    fn facts(controllers: Vec<FoundController>, labels: Option<&[(&str, &str)]>) -> InstallFacts {
        InstallFacts {
            namespace: "metallb-system".into(),
            namespace_labels: labels.map(|l| {
                l.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            controllers,
        }
    }

    fn controller(ns: &str, managed_by: &str) -> FoundController {
        FoundController {
            namespace: ns.into(),
            name: "controller".into(),
            managed_by: managed_by.into(),
            release: (managed_by == "Helm").then(|| "metallb".to_string()),
            version: None,
        }
    }

    fn statuses(f: &InstallFacts) -> Vec<Status> {
        run_checks(&checks(), f).iter().map(|c| c.status).collect()
    }

    #[test]
    fn a_fresh_cluster_passes() {
        assert_eq!(
            statuses(&facts(vec![], None)),
            vec![Status::Pass, Status::Pass]
        );
    }

    #[test]
    fn helm_stops_the_install_with_both_choices() {
        let f = facts(vec![controller("metallb-system", "Helm")], None);
        let c = &run_checks(&checks(), &f)[0];
        assert_eq!(c.status, Status::Fail);
        let hint = c.hint.clone().unwrap();
        assert!(
            hint.contains("helm upgrade metallb")
                && hint.contains("helm uninstall metallb -n metallb-system"),
            "{hint}"
        );
    }

    #[test]
    fn other_namespace_fails_own_passes_plain_warns() {
        assert_eq!(
            statuses(&facts(vec![controller("lb", "")], None))[0],
            Status::Fail
        );
        assert_eq!(
            statuses(&facts(vec![controller("metallb-system", "lbctl")], None))[0],
            Status::Pass
        );
        assert_eq!(
            statuses(&facts(vec![controller("metallb-system", "")], None))[0],
            Status::Warn
        );
    }

    #[test]
    fn restricted_namespace_fails() {
        let f = facts(
            vec![],
            Some(&[("pod-security.kubernetes.io/enforce", "restricted")]),
        );
        let c = &run_checks(&checks(), &f)[1];
        assert_eq!(c.status, Status::Fail);
        assert!(c.message.contains("restricted"));
        let f = facts(
            vec![],
            Some(&[("pod-security.kubernetes.io/enforce", "privileged")]),
        );
        assert_eq!(statuses(&f)[1], Status::Pass);
    }
}
