//! LB401-LB403: MetalLB is there: its namespace, its nine CRDs established at the versions lbctl
//! installs, and which version runs.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use super::metallb_facts;
use crate::checks::Outcome;
use crate::checks::preflight::metallb::tag_of;
use crate::checks::preflight::{list, read};
use crate::facts::doctor::DoctorFacts;
use crate::facts::metallb::MetalLbFacts;
use crate::metallb::VERSION;

pub fn namespace(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    match read!(m.namespace) {
        None => Outcome::fail(
            format!("namespace {ns} does not exist: MetalLB is not installed there"),
            crate::invocation::command_line(
                "install (or pass -n NAME when MetalLB runs elsewhere)",
            ),
        ),
        Some(n) if n.metadata.deletion_timestamp.is_some() => Outcome::fail(
            format!("namespace {ns} is being deleted"),
            format!(
                "wait for the deletion to finish (kubectl get namespace {ns}), then {}",
                crate::invocation::command_line("install")
            ),
        ),
        Some(_) => Outcome::pass(format!("namespace {ns} exists")),
    }
}

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

/// `v1beta1` or `v1beta1+v1beta2 (storage v1beta2)`.
fn versions(crd: &CustomResourceDefinition) -> String {
    let served: Vec<&str> = crd
        .spec
        .versions
        .iter()
        .filter(|v| v.served)
        .map(|v| v.name.as_str())
        .collect();
    let storage = crd
        .spec
        .versions
        .iter()
        .find(|v| v.storage)
        .map_or("none", |v| v.name.as_str());
    format!("served {}, storage {storage}", served.join("+"))
}

pub fn crds(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let have = read!(m.crds);
    let mut missing = Vec::new();
    let mut pending = Vec::new();
    let mut wrong = Vec::new();
    let expected = crate::metallb::crds::all(&f.metallb_namespace);
    for want in &expected {
        let name = want.metadata.name.clone().unwrap_or_default();
        match have
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
        {
            None => missing.push(name),
            Some(crd) => {
                if versions(crd) != versions(want) {
                    wrong.push(format!(
                        "{name} ({}; lbctl's MetalLB {VERSION}: {})",
                        versions(crd),
                        versions(want)
                    ));
                }
                if !established(crd) {
                    pending.push(name);
                }
            }
        }
    }
    if !missing.is_empty() {
        return Outcome::fail(
            format!(
                "{} of {} MetalLB CRDs are missing ({}): the controller and speaker watch all of them and stop without one",
                missing.len(),
                expected.len(),
                list(&missing, 3)
            ),
            crate::invocation::command_line("install"),
        );
    }
    if !wrong.is_empty() {
        return Outcome::fail(
            format!("CRDs of another MetalLB version: {}", list(&wrong, 2)),
            crate::invocation::command_line(
                "install (server-side apply updates the CRDs to the embedded version)",
            ),
        );
    }
    if !pending.is_empty() {
        return Outcome::fail(
            format!("CRDs not established yet: {}", list(&pending, 3)),
            format!(
                "kubectl wait --for condition=Established crd/{}",
                pending[0]
            ),
        );
    }
    Outcome::pass(format!(
        "all {} MetalLB CRDs established at the versions of MetalLB {VERSION}",
        expected.len()
    ))
}

/// The image tag of the named workload's first MetalLB container.
fn running_version(m: &MetalLbFacts, component: &str) -> Option<Option<String>> {
    let template = match component {
        "controller" => {
            let deployments = m.deployments.as_ref().ok()?;
            let d = deployments
                .iter()
                .find(|d| d.metadata.name.as_deref() == Some("controller"))?;
            d.spec.as_ref().and_then(|s| s.template.spec.clone())
        }
        _ => {
            let daemonsets = m.daemonsets.as_ref().ok()?;
            let d = daemonsets
                .iter()
                .find(|d| d.metadata.name.as_deref() == Some("speaker"))?;
            d.spec.as_ref().and_then(|s| s.template.spec.clone())
        }
    };
    let image = template?
        .containers
        .iter()
        .find_map(|c| c.image.clone().filter(|i| i.contains(component)));
    Some(image.and_then(|i| tag_of(&i).map(str::to_string)))
}

pub fn version(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let _ = read!(m.deployments);
    let _ = read!(m.daemonsets);
    let ns = &f.metallb_namespace;
    let controller = running_version(m, "controller");
    let speaker = running_version(m, "speaker");
    let versions: Vec<(&str, Option<String>)> = [("controller", controller), ("speaker", speaker)]
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .collect();
    if versions.is_empty() {
        return Outcome::fail(
            format!("no MetalLB controller Deployment or speaker DaemonSet in namespace {ns}"),
            crate::invocation::command_line("install"),
        );
    }
    let text: Vec<String> = versions
        .iter()
        .map(|(c, v)| format!("{c} {}", v.as_deref().unwrap_or("(untagged image)")))
        .collect();
    let off: Vec<&str> = versions
        .iter()
        .filter(|(_, v)| v.as_deref() != Some(VERSION))
        .map(|(c, _)| *c)
        .collect();
    if off.is_empty() {
        return Outcome::pass(format!(
            "MetalLB {VERSION} ({}), the version lbctl embeds",
            text.join(", ")
        ));
    }
    Outcome::warn(
        format!("MetalLB runs {}; lbctl embeds {VERSION}", text.join(", ")),
        format!(
            "{} shows the change to the embedded version; {} applies it",
            crate::invocation::command_line("install --dry-run"),
            crate::invocation::command_line("install")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{controller, obj, with};
    use super::*;
    use crate::checks::Status;
    use crate::facts::cluster::SourceError;

    #[test]
    fn namespace_table() {
        assert_eq!(namespace(&with(|_| {})).status, Status::Pass);
        let o = namespace(&with(|m| m.namespace = Ok(None)));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.contains("MetalLB is not installed"));
        let o = namespace(&with(|m| {
            m.namespace = Ok(Some(obj(serde_json::json!({"metadata": {
                "name": "metallb-system", "deletionTimestamp": "2026-11-25T09:00:00Z"}}))))
        }));
        assert!(o.message.contains("being deleted"), "{o:?}");
        let o = namespace(&with(|m| {
            m.namespace = Err(SourceError::forbidden("get", "namespaces", None))
        }));
        assert_eq!(o.status, Status::Error);
        assert!(
            o.hint
                .unwrap()
                .contains("kubectl auth can-i get namespaces")
        );
    }

    #[test]
    fn crds_table() {
        assert_eq!(crds(&with(|_| {})).status, Status::Pass);

        let o = crds(&with(|m| {
            m.crds
                .as_mut()
                .unwrap()
                .retain(|c| c.metadata.name.as_deref() != Some("servicel2statuses.metallb.io"))
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .starts_with("1 of 9 MetalLB CRDs are missing (servicel2statuses.metallb.io)"),
            "{o:?}"
        );
        assert_eq!(o.hint.as_deref(), Some("lbctl install"));

        // bgppeers of an older MetalLB: v1beta1 only.
        let o = crds(&with(|m| {
            for c in m.crds.as_mut().unwrap() {
                if c.metadata.name.as_deref() == Some("bgppeers.metallb.io") {
                    c.spec.versions.retain(|v| v.name == "v1beta1");
                    c.spec.versions[0].storage = true;
                }
            }
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("bgppeers.metallb.io (served v1beta1, storage v1beta1"),
            "{o:?}"
        );

        let o = crds(&with(|m| {
            m.crds.as_mut().unwrap()[0].status = None;
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .starts_with("CRDs not established yet: bfdprofiles.metallb.io")
        );
        assert!(
            o.hint
                .unwrap()
                .contains("kubectl wait --for condition=Established")
        );
    }

    #[test]
    fn version_table() {
        let o = version(&with(|_| {}));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "MetalLB v0.16.1 (controller v0.16.1, speaker v0.16.1), the version lbctl embeds"
        );
        let o = version(&with(|m| {
            let mut c = controller();
            c["spec"]["template"]["spec"]["containers"][0]["image"] =
                "quay.io/metallb/controller:v0.14.9".into();
            m.deployments = Ok(vec![obj(c)]);
        }));
        assert_eq!(o.status, Status::Warn);
        assert!(
            o.message
                .starts_with("MetalLB runs controller v0.14.9, speaker v0.16.1")
        );
        let o = version(&with(|m| {
            m.deployments = Ok(vec![]);
            m.daemonsets = Ok(vec![]);
        }));
        assert_eq!(o.status, Status::Fail);
        let o = version(&with(|m| {
            m.daemonsets = Err(SourceError::forbidden(
                "list",
                "daemonsets.apps",
                Some("metallb-system"),
            ))
        }));
        assert_eq!(o.status, Status::Error);
    }
}
