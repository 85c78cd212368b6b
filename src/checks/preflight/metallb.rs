//! LB12x: an existing MetalLB (version, namespace, who manages it), its CRDs, and the Pod
//! Security level of the MetalLB namespace.

use super::{cluster_facts, list, read};
use crate::checks::Outcome;
use crate::facts::PreflightFacts;
use crate::facts::cluster::Workload;

/// The CRDs MetalLB v0.16 installs (all in group metallb.io).
pub const CRDS: [&str; 9] = [
    "bfdprofiles",
    "bgpadvertisements",
    "bgppeers",
    "communities",
    "configurationstates",
    "ipaddresspools",
    "l2advertisements",
    "servicebgpstatuses",
    "servicel2statuses",
];

const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const PSA_LABELS: [&str; 3] = [
    "pod-security.kubernetes.io/enforce",
    "pod-security.kubernetes.io/audit",
    "pod-security.kubernetes.io/warn",
];

/// `quay.io/metallb/controller:v0.14.9` -> `v0.14.9`.
pub(crate) fn tag_of(image: &str) -> Option<&str> {
    let name = image.rsplit('/').next()?;
    name.split_once(':')
        .map(|(_, tag)| tag.split('@').next().unwrap_or(tag))
}

fn is_metallb(w: &Workload) -> bool {
    w.images
        .iter()
        .any(|i| i.contains("metallb/controller") || i.contains("metallb/speaker"))
}

pub fn existing(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let _ = read!(c.daemonsets);
    let _ = read!(c.deployments);
    let found: Vec<&Workload> = c.workloads().filter(|w| is_metallb(w)).collect();
    let Some(first) = found.first() else {
        return Outcome::pass(format!(
            "MetalLB is not installed; {} would install {}",
            crate::invocation::command_line("install"),
            crate::metallb::VERSION
        ));
    };
    let names: Vec<String> = found.iter().map(|w| w.reference()).collect();
    if let Some(other) = found.iter().find(|w| w.namespace != f.metallb_namespace) {
        return Outcome::fail(
            format!(
                "MetalLB runs in namespace {} ({}), not in {}",
                other.namespace,
                list(&names, 2),
                f.metallb_namespace
            ),
            format!(
                "pass --metallb-namespace {} to every lbctl command",
                other.namespace
            ),
        );
    }
    let version = found
        .iter()
        .flat_map(|w| w.images.iter())
        .filter_map(|i| tag_of(i))
        .next()
        .unwrap_or("unknown");
    let manager = first
        .labels
        .get(MANAGED_BY)
        .map(String::as_str)
        .unwrap_or("kubectl apply or another tool");
    let message = format!(
        "MetalLB {version} is installed in {} ({}), managed by {manager}",
        f.metallb_namespace,
        list(&names, 2)
    );
    if manager == "Helm" {
        let hint = format!(
            "keep managing it with helm (helm upgrade), or helm uninstall it before {}",
            crate::invocation::command_line("install")
        );
        // Two tools managing one MetalLB undo each other's changes: install stops here.
        if f.for_install {
            let release = first
                .labels
                .get("app.kubernetes.io/instance")
                .map(String::as_str)
                .unwrap_or("<release>");
            let ns = &first.namespace;
            return Outcome::fail(
                format!(
                    "{message}; {} would fight Helm over these objects",
                    crate::invocation::command_line("install")
                ),
                format!(
                    "either keep Helm (`helm upgrade {release} metallb/metallb -n {ns}`, pools with kubectl apply), or remove it (`helm uninstall {release} -n {ns}`) and re-run {}; --ignore LB120 takes the objects over",
                    crate::invocation::command_line("install")
                ),
            );
        }
        return Outcome::warn(message, hint);
    }
    if version != crate::metallb::VERSION {
        return Outcome::warn(
            format!(
                "{message}; {} would change it to {}",
                crate::invocation::command_line("install"),
                crate::metallb::VERSION
            ),
            crate::invocation::command_line("install --dry-run   (shows what would change)"),
        );
    }
    Outcome::pass(message)
}

pub fn crds(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let crds = read!(c.crds);
    let present: Vec<&crate::facts::cluster::CrdInfo> =
        crds.iter().filter(|c| c.group == "metallb.io").collect();
    if present.is_empty() {
        return Outcome::pass(format!(
            "no MetalLB CRDs yet; {} creates them",
            crate::invocation::command_line("install")
        ));
    }
    let missing: Vec<String> = CRDS
        .iter()
        .filter(|name| {
            !present
                .iter()
                .any(|c| c.name == format!("{name}.metallb.io"))
        })
        .map(|name| format!("{name}.metallb.io"))
        .collect();
    // Every CRD there was written by lbctl: an install that stopped part-way (a fault, Ctrl-C),
    // which `lbctl install` completes; it must not refuse to finish its own work.
    let ours = present.iter().all(|c| {
        c.labels
            .get(crate::metallb::render::MANAGED_BY_LABEL)
            .map(String::as_str)
            == Some(crate::metallb::render::MANAGED_BY)
    });
    if !missing.is_empty() && ours {
        return Outcome::warn(
            format!(
                "{} of the {} MetalLB CRDs are missing ({}): `{}` stopped part-way",
                missing.len(),
                CRDS.len(),
                list(&missing, 3),
                crate::invocation::command_line("install")
            ),
            crate::invocation::command_line("install   (completes it)"),
        );
    }
    if !missing.is_empty() {
        return Outcome::fail(
            format!(
                "{} of the {} MetalLB CRDs are missing ({}); the controller and speaker watch all of them and fail without them",
                missing.len(),
                CRDS.len(),
                list(&missing, 3)
            ),
            crate::invocation::command_line("install   (creates the missing CRDs)"),
        );
    }
    // bgppeers serves v1beta2 since MetalLB v0.13.10; older CRDs mean an older installation.
    let old = present.iter().any(|c| {
        c.name == "bgppeers.metallb.io" && !c.served_versions.iter().any(|v| v == "v1beta2")
    });
    if old {
        return Outcome::warn(
            "the MetalLB CRDs come from an older MetalLB (bgppeers.metallb.io does not serve v1beta2)",
            crate::invocation::command_line("install   (updates the CRDs)"),
        );
    }
    Outcome::pass(format!("all {} MetalLB CRDs are installed", CRDS.len()))
}

pub fn pod_security(f: &PreflightFacts) -> Outcome {
    let c = cluster_facts!(f);
    let ns = &f.metallb_namespace;
    let Some(namespace) = read!(c.metallb_namespace) else {
        return Outcome::pass(format!(
            "namespace {ns} does not exist yet; {} creates it labelled privileged",
            crate::invocation::command_line("install")
        ));
    };
    let fix = format!(
        "kubectl label namespace {ns} --overwrite {}",
        PSA_LABELS
            .iter()
            .map(|l| format!("{l}=privileged"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let levels: Vec<(&str, Option<&str>)> = PSA_LABELS
        .iter()
        .map(|l| (*l, namespace.labels.get(*l).map(String::as_str)))
        .collect();
    let enforce = levels[0].1;
    match enforce {
        Some("privileged") => {
            let lower: Vec<String> = levels[1..]
                .iter()
                .filter_map(|(l, v)| v.filter(|v| *v != "privileged").map(|v| format!("{l}={v}")))
                .collect();
            if lower.is_empty() {
                Outcome::pass(format!(
                    "namespace {ns} enforces Pod Security level privileged"
                ))
            } else {
                Outcome::warn(
                    format!(
                        "namespace {ns} enforces privileged but {} will report the speaker as a violation",
                        lower.join(", ")
                    ),
                    fix,
                )
            }
        }
        Some(level) => Outcome::fail(
            format!(
                "namespace {ns} enforces Pod Security level {level}: the speaker (hostNetwork, NET_RAW) is rejected"
            ),
            fix,
        ),
        None => Outcome::warn(
            format!(
                "namespace {ns} has no pod-security.kubernetes.io/enforce label: the cluster default level applies, which may reject the speaker"
            ),
            fix,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cluster, facts};
    use super::*;
    use crate::checks::Status;
    use crate::facts::cluster::{CrdInfo, NamespaceInfo, SourceError};
    use std::collections::BTreeMap;

    fn metallb(ns: &str, tag: &str, manager: Option<&str>) -> Vec<Workload> {
        let labels: BTreeMap<String, String> = manager
            .map(|m| BTreeMap::from([(MANAGED_BY.to_string(), m.to_string())]))
            .unwrap_or_default();
        vec![Workload {
            kind: "Deployment".into(),
            namespace: ns.into(),
            name: "controller".into(),
            labels,
            images: vec![format!("quay.io/metallb/controller:{tag}")],
            args: vec![],
        }]
    }

    #[test]
    fn existing_table() {
        let v = crate::metallb::VERSION;
        let cases = [
            (vec![], Status::Pass, "not installed"),
            (
                metallb("metallb-system", v, Some("lbctl")),
                Status::Pass,
                "managed by lbctl",
            ),
            (
                metallb("metallb-system", "v0.14.9", None),
                Status::Warn,
                "MetalLB v0.14.9",
            ),
            (
                metallb("metallb-system", v, Some("Helm")),
                Status::Warn,
                "managed by Helm",
            ),
            (metallb("lb", v, None), Status::Fail, "runs in namespace lb"),
        ];
        for (deployments, want, text) in cases {
            let mut c = cluster();
            c.deployments = Ok(deployments);
            let o = existing(&facts(c));
            assert_eq!(o.status, want, "{text}: {o:?}");
            assert!(o.message.contains(text), "{text}: {}", o.message);
        }
        // For install, Helm stops it with both ways out.
        let mut c = cluster();
        c.deployments = Ok(metallb("metallb-system", v, Some("Helm")));
        let mut f = facts(c);
        f.for_install = true;
        let o = existing(&f);
        assert_eq!(o.status, Status::Fail, "{o:?}");
        let hint = o.hint.unwrap();
        assert!(
            hint.contains("helm upgrade") && hint.contains("helm uninstall"),
            "{hint}"
        );
        let mut c = cluster();
        c.daemonsets = Err(SourceError::forbidden("list", "daemonsets.apps", None));
        assert_eq!(existing(&facts(c)).status, Status::Error);
        assert_eq!(
            tag_of("quay.io/metallb/speaker:v0.16.1@sha256:ab"),
            Some("v0.16.1")
        );
        assert_eq!(tag_of("localhost:5000/metallb/speaker"), None);
    }

    fn crd(name: &str, versions: &[&str]) -> CrdInfo {
        CrdInfo {
            name: format!("{name}.metallb.io"),
            group: "metallb.io".into(),
            served_versions: versions.iter().map(|v| v.to_string()).collect(),
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn crds_table() {
        let all: Vec<CrdInfo> = CRDS
            .iter()
            .map(|n| crd(n, &["v1beta1", "v1beta2"]))
            .collect();
        let mut c = cluster();
        assert_eq!(crds(&facts(c.clone())).status, Status::Pass);
        c.crds = Ok(all.clone());
        assert_eq!(
            crds(&facts(c.clone())).message,
            "all 9 MetalLB CRDs are installed"
        );
        c.crds = Ok(all[..8].to_vec());
        let o = crds(&facts(c.clone()));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.contains("servicel2statuses.metallb.io"));
        // The same CRDs written by lbctl: a partial install that lbctl install completes.
        let ours: Vec<CrdInfo> = all[..2]
            .iter()
            .cloned()
            .map(|mut crd| {
                crd.labels.insert(
                    crate::metallb::render::MANAGED_BY_LABEL.into(),
                    crate::metallb::render::MANAGED_BY.into(),
                );
                crd
            })
            .collect();
        c.crds = Ok(ours);
        let o = crds(&facts(c.clone()));
        assert_eq!(o.status, Status::Warn, "{}", o.message);
        assert!(o.message.contains("7 of the 9"), "{}", o.message);
        assert!(o.hint.as_deref().unwrap_or("").contains("completes it"));
        let mut old = all.clone();
        old[2] = crd("bgppeers", &["v1beta1"]);
        c.crds = Ok(old);
        assert_eq!(crds(&facts(c.clone())).status, Status::Warn);
        c.crds = Err(SourceError::forbidden(
            "list",
            "customresourcedefinitions.apiextensions.k8s.io",
            None,
        ));
        assert_eq!(crds(&facts(c)).status, Status::Error);
    }

    #[test]
    fn pod_security_table() {
        let ns = |labels: &[(&str, &str)]| NamespaceInfo {
            name: "metallb-system".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let cases = [
            (None, Status::Pass, "does not exist"),
            (
                Some(ns(&[(PSA_LABELS[0], "privileged")])),
                Status::Pass,
                "enforces Pod Security level privileged",
            ),
            (
                Some(ns(&[(PSA_LABELS[0], "baseline")])),
                Status::Fail,
                "level baseline",
            ),
            (
                Some(ns(&[
                    (PSA_LABELS[0], "privileged"),
                    (PSA_LABELS[2], "restricted"),
                ])),
                Status::Warn,
                "warn=restricted",
            ),
            (Some(ns(&[])), Status::Warn, "no pod-security"),
        ];
        for (namespace, want, text) in cases {
            let mut c = cluster();
            c.metallb_namespace = Ok(namespace);
            let o = pod_security(&facts(c));
            assert_eq!(o.status, want, "{text}: {o:?}");
            assert!(o.message.contains(text), "{text}: {}", o.message);
            if want != Status::Pass {
                assert_eq!(
                    o.hint.unwrap(),
                    "kubectl label namespace metallb-system --overwrite pod-security.kubernetes.io/enforce=privileged pod-security.kubernetes.io/audit=privileged pod-security.kubernetes.io/warn=privileged"
                );
            }
        }
        let mut c = cluster();
        c.metallb_namespace = Err(SourceError::forbidden("get", "namespaces", None));
        assert_eq!(pod_security(&facts(c)).status, Status::Error);
    }
}
