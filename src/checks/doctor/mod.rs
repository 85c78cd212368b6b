//! The doctor check set: is MetalLB healthy, and are the addresses really announced?
//! Every rule is a pure function of [`DoctorFacts`]; the catalog is in docs/checks.md
//! (LB4xx MetalLB, LB5xx services). The cluster and kube-proxy checks are preflight's own rules,
//! run again over the same facts.

pub mod arp;
mod config;
mod install;
mod nodes;
mod pools;
mod services;
mod webhook;
mod workloads;

use super::model::CheckSpec;
use super::preflight::{cluster, kube_proxy};
use crate::facts::doctor::DoctorFacts;

/// The MetalLB facts, or a skip when the cluster was not reached (LB101 normally skips first).
macro_rules! metallb_facts {
    ($facts:expr) => {
        match $facts.metallb() {
            Some(m) => m,
            None => return crate::checks::Outcome::skip("skipped: no cluster"),
        }
    };
}

pub(crate) use metallb_facts;

const CLUSTER: &[&str] = &["LB101"];
const NAMESPACE: &[&str] = &["LB401"];
const CRDS: &[&str] = &["LB402"];

pub use nodes::PER_NODE;

/// The doctor checks, with the node checks (LB20x) when `--nodes` reads the nodes.
pub fn specs_for(nodes: bool) -> Vec<CheckSpec<DoctorFacts>> {
    let mut specs = specs();
    if nodes {
        // After the kube-proxy checks they depend on, before MetalLB's.
        let at = specs
            .iter()
            .position(|s| s.id.starts_with("LB4"))
            .unwrap_or(specs.len());
        specs.splice(at..at, nodes::specs());
    }
    specs
}

/// Every doctor check in the order they run and are reported (without `--nodes`).
pub fn specs() -> Vec<CheckSpec<DoctorFacts>> {
    let spec = |id, title, area, depends_on, can_become_true, rule| CheckSpec {
        id,
        title,
        area,
        depends_on,
        can_become_true,
        rule,
    };
    vec![
        spec(
            "LB101",
            "API server reachable",
            "cluster",
            &[],
            true,
            |f: &DoctorFacts| cluster::reachable(&f.preflight),
        ),
        spec(
            "LB110",
            "kube-proxy configuration located",
            "kube-proxy",
            CLUSTER,
            false,
            |f: &DoctorFacts| kube_proxy::located(&f.preflight),
        ),
        spec(
            "LB111",
            "kube-proxy mode and strictARP",
            "kube-proxy",
            &["LB110"],
            false,
            |f: &DoctorFacts| kube_proxy::strict_arp(&f.preflight),
        ),
        spec(
            "LB112",
            "kube-proxy runs its current configuration",
            "kube-proxy",
            &["LB110"],
            true,
            |f: &DoctorFacts| kube_proxy::config_active(&f.preflight),
        ),
        spec(
            "LB401",
            "MetalLB namespace exists",
            "metallb",
            CLUSTER,
            true,
            install::namespace,
        ),
        spec(
            "LB402",
            "MetalLB CRDs established",
            "metallb",
            CLUSTER,
            true,
            install::crds,
        ),
        spec(
            "LB403",
            "MetalLB version",
            "metallb",
            NAMESPACE,
            true,
            install::version,
        ),
        spec(
            "LB404",
            "controller available",
            "metallb",
            NAMESPACE,
            true,
            workloads::controller,
        ),
        spec(
            "LB405",
            "speaker DaemonSet rolled out",
            "metallb",
            NAMESPACE,
            true,
            workloads::speaker,
        ),
        spec(
            "LB406",
            "a speaker on every node that can announce",
            "metallb",
            &["LB405"],
            true,
            workloads::speaker_per_node,
        ),
        spec(
            "LB407",
            "webhook Service has ready endpoints",
            "webhook",
            NAMESPACE,
            true,
            webhook::endpoints,
        ),
        spec(
            "LB408",
            "webhook caBundle matches its certificate",
            "webhook",
            &["LB401", "LB402"],
            true,
            webhook::ca_bundle,
        ),
        spec(
            "LB409",
            "webhook accepts a dry-run pool",
            "webhook",
            &["LB402", "LB407"],
            true,
            webhook::dry_run,
        ),
        spec(
            "LB410",
            "memberlist Secret present",
            "metallb",
            NAMESPACE,
            true,
            config::memberlist,
        ),
        spec(
            "LB411",
            "configuration accepted by every component",
            "metallb",
            CRDS,
            true,
            config::configuration_states,
        ),
        spec(
            "LB412",
            "MetalLB objects in MetalLB's namespace",
            "pools",
            CRDS,
            false,
            pools::foreign_namespaces,
        ),
        spec(
            "LB413",
            "every pool has an L2Advertisement",
            "pools",
            CRDS,
            false,
            pools::advertised,
        ),
        spec(
            "LB414",
            "pools have free addresses",
            "pools",
            CRDS,
            true,
            pools::capacity,
        ),
        spec(
            "LB415",
            "pools do not overlap",
            "pools",
            CRDS,
            false,
            pools::overlaps,
        ),
        spec(
            "LB501",
            "LoadBalancer services have addresses",
            "services",
            &["LB404"],
            true,
            services::pending,
        ),
        spec(
            "LB502",
            "assigned addresses are announced",
            "services",
            &["LB405"],
            true,
            services::announced,
        ),
        spec(
            "LB503",
            "externalTrafficPolicy Local services have a local endpoint",
            "services",
            &["LB502"],
            true,
            services::local_endpoints,
        ),
        spec(
            "LB510",
            "exactly one MAC answers ARP/NDP for each address",
            "arp",
            CLUSTER,
            true,
            arp::one_answer,
        ),
        spec(
            "LB511",
            "the announcing node answers ARP/NDP",
            "arp",
            &["LB510"],
            true,
            arp::announcer_mac,
        ),
    ]
}

/// Every doctor check ID (for `--ignore` validation).
pub fn ids() -> Vec<&'static str> {
    specs_for(true).iter().map(|s| s.id).collect()
}

/// `namespace/name` of an object's metadata.
pub(crate) fn qualified(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::testing::{healthy, unreachable};
    use super::*;
    use crate::checks::{Status, run_checks};

    #[test]
    fn ids_are_unique_ordered_and_documented() {
        crate::checks::assert_catalog(&specs());
    }

    #[test]
    fn a_healthy_installation_passes_everything() {
        let checks = run_checks(&specs(), &healthy());
        let bad: Vec<String> = checks
            .iter()
            .filter(|c| c.status != Status::Pass)
            .map(|c| format!("{} {}: {}", c.id, c.status, c.message))
            .collect();
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn an_unreachable_cluster_errors_once_and_skips_the_rest() {
        let checks = run_checks(&specs(), &unreachable());
        assert_eq!(checks[0].status, Status::Error);
        assert!(checks[1..].iter().all(|c| c.status == Status::Skip));
        let lb406 = checks.iter().find(|c| c.id == "LB406").unwrap();
        assert_eq!(lb406.message, "skipped: LB101 could not run");
    }
}
