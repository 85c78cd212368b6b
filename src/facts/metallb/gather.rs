//! Reading doctor's facts: a fixed set of concurrent list requests (plus a few gets of named
//! objects and one dry-run create), whatever the number of nodes or services. Each request
//! keeps its own outcome, so a 403 turns only the checks that need that list into `error`.

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{MetalLbFacts, PoolDryRun};
use crate::facts::ClusterState;
use crate::facts::cluster::gather::{kube_proxy, list, reach, source_error};
use crate::facts::cluster::{ClusterFacts, Source, SourceError};
use crate::kube::ClusterTarget;
use crate::kubeproxy::locate;
use crate::metallb::crds::{ConfigurationState, IPAddressPool, L2Advertisement, ServiceL2Status};
use crate::metallb::webhook::CONFIGURATION_NAME;

/// The name of the pool doctor dry-runs; `dryRun=All` stores nothing.
const DRY_RUN_POOL: &str = "lbctl-doctor-dry-run";
/// A documentation address (RFC 5737): no real pool should hold it.
const DRY_RUN_ADDRESS: &str = "192.0.2.255/32";

/// Lists a MetalLB kind; a 404 (its CRD is not installed) is an empty list, which LB402 reports.
/// Objects without `spec` (MetalLB allows that for every kind but IPAddressPool, and its speakers
/// write ServiceL2Status without one) read as an empty spec.
pub(crate) async fn list_crd<K>(
    client: &kube::Client,
    ns: Option<&str>,
    resource: &str,
) -> Source<Vec<K>>
where
    K: kube::Resource<DynamicType = ()> + DeserializeOwned,
{
    let api_resource = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &api_resource),
        None => Api::all_with(client.clone(), &api_resource),
    };
    let items = match api.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(vec![]),
        Err(e) => return Err(source_error(e, "list", resource, ns)),
    };
    items
        .into_iter()
        .map(|o| {
            let mut value = serde_json::to_value(o).unwrap_or_default();
            if value.get("spec").is_none_or(serde_json::Value::is_null) {
                value["spec"] = json!({});
            }
            serde_json::from_value(value).map_err(|e| SourceError::Failed {
                what: resource.to_string(),
                reason: format!("unexpected object: {e}"),
            })
        })
        .collect()
}

async fn get_opt<K>(api: Api<K>, name: &str, resource: &str, ns: Option<&str>) -> Source<Option<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name)
        .await
        .map_err(|e| source_error(e, "get", resource, ns))
}

/// A server-side dry-run create of an IPAddressPool: proves the webhook answers.
async fn dry_run(client: &kube::Client, ns: &str) -> Source<PoolDryRun> {
    let api: Api<IPAddressPool> = Api::namespaced(client.clone(), ns);
    let pool: IPAddressPool = serde_json::from_value(json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": DRY_RUN_POOL, "namespace": ns},
        "spec": {"addresses": [DRY_RUN_ADDRESS], "autoAssign": false}
    }))
    .expect("a literal IPAddressPool deserialises");
    let params = PostParams {
        dry_run: true,
        field_manager: Some("lbctl".into()),
    };
    match api.create(&params, &pool).await {
        Ok(_) => Ok(PoolDryRun::Accepted),
        Err(kube::Error::Api(s)) if s.code == 403 => Err(SourceError::forbidden(
            "create",
            "ipaddresspools.metallb.io",
            Some(ns),
        )),
        Err(kube::Error::Api(s)) => Ok(PoolDryRun::Rejected {
            code: s.code,
            message: s.message,
        }),
        Err(e) => Err(source_error(
            e,
            "create",
            "ipaddresspools.metallb.io",
            Some(ns),
        )),
    }
}

/// Reads the cluster for doctor. `None` for the MetalLB facts when the cluster is unusable
/// (unreachable, credentials rejected); the state then says why.
pub async fn gather(target: &ClusterTarget, ns: &str) -> (ClusterState, Option<Box<MetalLbFacts>>) {
    let client = target.client.clone();
    let c = || client.clone();
    let all = ListParams::default();
    let ks = locate::NAMESPACE;
    let (
        version,
        namespace,
        crds,
        deployments,
        daemonsets,
        pods,
        proxy_pods,
        secrets,
        nodes,
        webhook_configuration,
        dry_run,
        configuration_states,
        l2_statuses,
        pools,
        l2_advertisements,
        services,
        events,
        endpoint_slices,
    ) = tokio::join!(
        client.apiserver_version(),
        get_opt(Api::<Namespace>::all(c()), ns, "namespaces", None),
        list(
            Api::<CustomResourceDefinition>::all(c()),
            all.clone(),
            "customresourcedefinitions.apiextensions.k8s.io",
            None
        ),
        list(
            Api::<Deployment>::namespaced(c(), ns),
            all.clone(),
            "deployments.apps",
            Some(ns)
        ),
        list(
            Api::<DaemonSet>::all(c()),
            all.clone(),
            "daemonsets.apps",
            None
        ),
        list(
            Api::<Pod>::namespaced(c(), ns),
            all.clone(),
            "pods",
            Some(ns)
        ),
        list(
            Api::<Pod>::namespaced(c(), ks),
            ListParams::default().labels("k8s-app=kube-proxy"),
            "pods",
            Some(ks)
        ),
        list(
            Api::<Secret>::namespaced(c(), ns),
            all.clone(),
            "secrets",
            Some(ns)
        ),
        list(Api::<Node>::all(c()), all.clone(), "nodes", None),
        get_opt(
            Api::<ValidatingWebhookConfiguration>::all(c()),
            CONFIGURATION_NAME,
            "validatingwebhookconfigurations.admissionregistration.k8s.io",
            None
        ),
        dry_run(&client, ns),
        list_crd::<ConfigurationState>(&client, Some(ns), "configurationstates.metallb.io"),
        list_crd::<ServiceL2Status>(&client, Some(ns), "servicel2statuses.metallb.io"),
        list_crd::<IPAddressPool>(&client, None, "ipaddresspools.metallb.io"),
        list_crd::<L2Advertisement>(&client, None, "l2advertisements.metallb.io"),
        list(Api::<Service>::all(c()), all.clone(), "services", None),
        list(
            Api::<Event>::all(c()),
            ListParams::default().fields("reason=AllocationFailed"),
            "events",
            None
        ),
        list(
            Api::<EndpointSlice>::all(c()),
            all.clone(),
            "endpointslices.discovery.k8s.io",
            None
        ),
    );
    let version = match reach(target, version) {
        Ok(v) => v,
        Err(unreachable) => return (unreachable, None),
    };

    // kube-proxy, exactly as preflight reads it (one more get: its ConfigMap).
    let proxy_ds = daemonsets.as_ref().ok().and_then(|list| {
        list.iter().find(|d| {
            d.metadata.namespace.as_deref() == Some(ks)
                && d.metadata.name.as_deref() == Some(locate::DAEMONSET)
        })
    });
    let cilium: Source<Option<std::collections::BTreeMap<String, String>>> =
        match daemonsets.as_ref().ok().and_then(|l| {
            l.iter()
                .find(|d| d.metadata.name.as_deref() == Some("cilium"))
        }) {
            None => Ok(None),
            Some(_) => get_opt(
                Api::<ConfigMap>::namespaced(c(), ks),
                "cilium-config",
                "configmaps",
                Some(ks),
            )
            .await
            .map(|cm| cm.map(|c| c.data.unwrap_or_default())),
        };
    let kube_proxy = match &daemonsets {
        Err(e) => Err(e.clone()),
        Ok(_) => Ok(kube_proxy(&client, proxy_ds, &nodes, &daemonsets, &cilium, proxy_pods).await),
    };

    // Only what the preflight rules doctor re-runs read (LB101, LB110-LB112): the target, the
    // version and kube-proxy. doctor judges nodes, services and MetalLB from its own lists.
    let mut cluster = ClusterFacts::empty("v0.0.0");
    cluster.server = target.server.clone();
    cluster.context = target.context.clone();
    cluster.version = version;
    cluster.kube_proxy = kube_proxy;
    let facts = MetalLbFacts {
        namespace,
        crds,
        deployments,
        daemonsets: daemonsets.map(|l| {
            l.into_iter()
                .filter(|d| d.metadata.namespace.as_deref() == Some(ns))
                .collect()
        }),
        pods,
        secrets,
        nodes,
        webhook_configuration,
        dry_run,
        configuration_states,
        l2_statuses,
        pools,
        l2_advertisements,
        services,
        events,
        endpoint_slices,
    };
    (
        ClusterState::Reached(Box::new(cluster)),
        Some(Box::new(facts)),
    )
}
