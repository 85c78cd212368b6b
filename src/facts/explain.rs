//! Reading what `lbctl explain` judges: a fixed set of requests whatever the cluster's size.
//! One Service: a get, its EndpointSlices by `kubernetes.io/service-name` and its events by
//! `involvedObject`; `--all`: every Service, EndpointSlice and the MetalLB events by reason.
//! Nodes, speakers and MetalLB's objects are lists, as doctor reads them.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::ListParams;
use serde::de::DeserializeOwned;

use super::cluster::SourceError;
use crate::checks::explain::ClusterView;
use crate::facts::metallb::list_crd;
use crate::kube::ClusterTarget;
use crate::kube::errors::{Request, api_error};
use crate::metallb::crds::{IPAddressPool, L2Advertisement, ServiceL2Status};
use crate::metallb::speaker::SpeakerPlacement;
use crate::{Error, Result};

/// Which Services to read.
#[derive(Debug, Clone)]
pub enum Scope {
    One { namespace: String, name: String },
    All,
}

async fn list<K>(
    target: &ClusterTarget,
    api: Api<K>,
    params: ListParams,
    resource: &str,
    ns: Option<&str>,
) -> Result<Vec<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    api.list(&params).await.map(|l| l.items).map_err(|e| {
        let req = Request {
            verb: "list",
            resource,
            namespace: ns,
        };
        api_error(e, req, &target.server, &target.context)
    })
}

fn from_source(e: SourceError) -> Error {
    match e {
        SourceError::Forbidden {
            verb,
            resource,
            namespace,
        } => Error::Forbidden {
            message: format!("cannot {verb} {resource}"),
            verb,
            resource,
            namespace,
        },
        SourceError::Failed { what, reason } => Error::Api {
            action: format!("list {what}"),
            code: 0,
            message: reason,
        },
    }
}

/// The view and the Services to explain. A named Service that does not exist, or is not of
/// type LoadBalancer, is bad input (exit 2).
pub async fn gather(
    target: &ClusterTarget,
    metallb_ns: &str,
    scope: &Scope,
) -> Result<(ClusterView, Vec<Service>)> {
    let c = || target.client.clone();
    let all = ListParams::default();
    let speakers = ListParams::default().labels("component=speaker");
    let (nodes, pods, daemonsets, pools, ads, statuses) = tokio::join!(
        list(target, Api::<Node>::all(c()), all.clone(), "nodes", None),
        list(
            target,
            Api::<Pod>::namespaced(c(), metallb_ns),
            speakers.clone(),
            "pods",
            Some(metallb_ns)
        ),
        list(
            target,
            Api::<DaemonSet>::namespaced(c(), metallb_ns),
            speakers,
            "daemonsets.apps",
            Some(metallb_ns)
        ),
        list_crd::<IPAddressPool>(
            &target.client,
            Some(metallb_ns),
            "ipaddresspools.metallb.io"
        ),
        list_crd::<L2Advertisement>(
            &target.client,
            Some(metallb_ns),
            "l2advertisements.metallb.io"
        ),
        list_crd::<ServiceL2Status>(
            &target.client,
            Some(metallb_ns),
            "servicel2statuses.metallb.io"
        ),
    );
    let (services, endpoint_slices, events) = match scope {
        Scope::One { namespace, name } => one(target, namespace, name).await?,
        Scope::All => {
            let by_reason = |r: &str| ListParams::default().fields(&format!("reason={r}"));
            let (services, slices, failed, assigned, announce_failed) = tokio::join!(
                list(
                    target,
                    Api::<Service>::all(c()),
                    all.clone(),
                    "services",
                    None
                ),
                list(
                    target,
                    Api::<EndpointSlice>::all(c()),
                    all.clone(),
                    "endpointslices.discovery.k8s.io",
                    None
                ),
                list(
                    target,
                    Api::<Event>::all(c()),
                    by_reason("AllocationFailed"),
                    "events",
                    None
                ),
                list(
                    target,
                    Api::<Event>::all(c()),
                    by_reason("nodeAssigned"),
                    "events",
                    None
                ),
                list(
                    target,
                    Api::<Event>::all(c()),
                    by_reason("announceFailed"),
                    "events",
                    None
                ),
            );
            let mut events = failed?;
            events.extend(assigned?);
            events.extend(announce_failed?);
            (services?, slices?, events)
        }
    };
    let daemonsets = daemonsets?;
    // The speaker DaemonSet lbctl installs is named `speaker`; another install may name it
    // otherwise, so any DaemonSet of the component will do.
    let speaker = daemonsets
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some("speaker"))
        .or(daemonsets.first())
        .map(SpeakerPlacement::of);
    let view = ClusterView {
        metallb_namespace: metallb_ns.to_string(),
        nodes: nodes?,
        speakers: pods?,
        speaker,
        pools: pools.map_err(from_source)?,
        advertisements: ads.map_err(from_source)?,
        l2_statuses: statuses.map_err(from_source)?,
        endpoint_slices,
        events,
        exclude_l2: Vec::new(),
        node_facts: None,
    };
    Ok((view, services))
}

/// The speaker's `announcedInterfacesToExclude`, from the `metallb-excludel2` ConfigMap it
/// mounts (read for `--nodes`). A missing ConfigMap, or one that does not parse, excludes
/// nothing, as the speaker does without the file.
pub async fn exclude_l2(target: &ClusterTarget, metallb_ns: &str) -> Result<Vec<String>> {
    let api = Api::<ConfigMap>::namespaced(target.client.clone(), metallb_ns);
    let cm = api.get_opt("metallb-excludel2").await.map_err(|e| {
        let req = Request {
            verb: "get",
            resource: "configmaps",
            namespace: Some(metallb_ns),
        };
        api_error(e, req, &target.server, &target.context)
    })?;
    let text = cm
        .and_then(|c| c.data)
        .and_then(|mut d| d.remove("excludel2.yaml"))
        .unwrap_or_default();
    Ok(excluded_patterns(&text))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExcludeL2 {
    #[serde(default)]
    announced_interfaces_to_exclude: Vec<String>,
}

/// `announcedInterfacesToExclude` of `excludel2.yaml`; empty when it does not parse.
pub fn excluded_patterns(yaml: &str) -> Vec<String> {
    serde_saphyr::from_str::<ExcludeL2>(yaml)
        .map(|c| c.announced_interfaces_to_exclude)
        .unwrap_or_default()
}

async fn one(
    target: &ClusterTarget,
    ns: &str,
    name: &str,
) -> Result<(Vec<Service>, Vec<EndpointSlice>, Vec<Event>)> {
    let c = || target.client.clone();
    let slices = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
    let events = ListParams::default().fields(&format!(
        "involvedObject.kind=Service,involvedObject.name={name}"
    ));
    let services = Api::<Service>::namespaced(c(), ns);
    let (service, slices, events) = tokio::join!(
        services.get_opt(name),
        list(
            target,
            Api::<EndpointSlice>::namespaced(c(), ns),
            slices,
            "endpointslices.discovery.k8s.io",
            Some(ns)
        ),
        list(
            target,
            Api::<Event>::namespaced(c(), ns),
            events,
            "events",
            Some(ns)
        ),
    );
    let service = service.map_err(|e| {
        let req = Request {
            verb: "get",
            resource: "services",
            namespace: Some(ns),
        };
        api_error(e, req, &target.server, &target.context)
    })?;
    let Some(service) = service else {
        return Err(Error::usage_with_hint(
            format!("service {ns}/{name} not found"),
            format!(
                "kubectl -n {ns} get services; {}",
                crate::invocation::command_line("explain --all")
            ),
        ));
    };
    if service.spec.as_ref().and_then(|s| s.type_.as_deref()) != Some("LoadBalancer") {
        return Err(Error::usage_with_hint(
            format!(
                "service {ns}/{name} is not of type LoadBalancer: MetalLB does not announce it"
            ),
            crate::invocation::command_line("explain --all lists the LoadBalancer Services"),
        ));
    }
    Ok((vec![service], slices?, events?))
}
