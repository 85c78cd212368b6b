//! Reading the cluster for preflight: a fixed set of concurrent calls (never one per node), in
//! two short waves: the lists, then what depends on them (kube-proxy's ConfigMap, MetalLB pools
//! when the CRDs exist, cilium-config when Cilium runs). Every source keeps its own outcome.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::authorization::v1::{SelfSubjectRulesReview, SelfSubjectRulesReviewSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, PodSpec, Service};
use k8s_openapi::api::networking::v1::ServiceCIDR;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde::de::DeserializeOwned;

use super::*;
use crate::facts::ClusterState;
use crate::facts::access::{self, RulesReview};
use crate::kube::ClusterTarget;
use crate::kubeproxy::config as proxy_config;
use crate::kubeproxy::locate::{self, Location};
use crate::kubeproxy::{discover, staleness};
use crate::metallb::crds::selectors::{LabelRequirement, LabelSelector};
use crate::permissions::{Command, Namespaces};

/// What to read besides the fixed set.
#[derive(Debug, Clone)]
pub struct Options {
    pub metallb_namespace: String,
    /// Read ServiceCIDRs (only pool checks need them).
    pub service_cidrs: bool,
    /// The one command whose permissions LB104 judges (install's pre-check, `preflight --for
    /// COMMAND`); without one, install's plus enable-strictarp's when kube-proxy needs strictARP.
    pub permissions_for: Option<Command>,
}

/// Maps a failed request to the source error a check reports.
pub(crate) fn source_error(
    err: kube::Error,
    verb: &str,
    resource: &str,
    ns: Option<&str>,
) -> SourceError {
    match &err {
        kube::Error::Api(status) if status.code == 403 => {
            SourceError::forbidden(verb, resource, ns)
        }
        _ => SourceError::Failed {
            what: match ns {
                Some(ns) => format!("{resource} in {ns}"),
                None => resource.to_string(),
            },
            reason: crate::kube::errors::reason(&err),
        },
    }
}

fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404)
}

pub(crate) async fn list<K>(
    api: Api<K>,
    params: ListParams,
    resource: &str,
    ns: Option<&str>,
) -> Source<Vec<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    api.list(&params)
        .await
        .map(|l| l.items)
        .map_err(|e| source_error(e, "list", resource, ns))
}

/// The server version from `/version`, or the state saying why the cluster is unusable when that
/// first answer shows it (connection refused, credentials rejected).
pub(crate) fn reach(
    target: &ClusterTarget,
    version: std::result::Result<k8s_openapi::apimachinery::pkg::version::Info, kube::Error>,
) -> std::result::Result<Source<ServerVersion>, ClusterState> {
    match version {
        Ok(info) => Ok(
            ServerVersion::parse(&info.git_version).ok_or(SourceError::Failed {
                what: "/version".into(),
                reason: format!("unrecognised gitVersion {:?}", info.git_version),
            }),
        ),
        Err(err) => {
            let mapped = crate::kube::errors::version_error(target, err);
            match mapped {
                crate::Error::Unreachable { .. } | crate::Error::Unauthorized { .. } => {
                    Err(ClusterState::Unreachable {
                        server: Some(target.server.clone()),
                        hint: mapped.hint().unwrap_or_default(),
                        message: mapped.to_string(),
                    })
                }
                other => Ok(Err(SourceError::Failed {
                    what: "/version".into(),
                    reason: other.to_string(),
                })),
            }
        }
    }
}

/// Reads the cluster. Only a failure of the very first call that shows the server unusable
/// (connection refused, credentials rejected) makes the whole cluster `Unreachable`.
pub async fn cluster(target: &ClusterTarget, opts: &Options) -> ClusterState {
    let client = target.client.clone();
    let ks = "kube-system";
    let mns = opts.metallb_namespace.as_str();
    let proxy_pods = ListParams::default().labels("k8s-app=kube-proxy");
    let namespaces = Api::<Namespace>::all(client.clone());
    let (
        version,
        nodes,
        daemonsets,
        deployments,
        services,
        namespace,
        crds,
        pods,
        cidrs,
        ks_rules,
        mlb_rules,
    ) = tokio::join!(
        client.apiserver_version(),
        list(
            Api::<Node>::all(client.clone()),
            ListParams::default(),
            "nodes",
            None
        ),
        list(
            Api::<DaemonSet>::all(client.clone()),
            ListParams::default(),
            "daemonsets.apps",
            None
        ),
        list(
            Api::<Deployment>::all(client.clone()),
            ListParams::default(),
            "deployments.apps",
            None
        ),
        list(
            Api::<Service>::all(client.clone()),
            ListParams::default(),
            "services",
            None
        ),
        namespaces.get_opt(mns),
        list(
            Api::<CustomResourceDefinition>::all(client.clone()),
            ListParams::default(),
            "customresourcedefinitions.apiextensions.k8s.io",
            None
        ),
        list(
            Api::<Pod>::namespaced(client.clone(), ks),
            proxy_pods,
            "pods",
            Some(ks)
        ),
        async {
            if !opts.service_cidrs {
                return None;
            }
            Some(
                Api::<ServiceCIDR>::all(client.clone())
                    .list(&ListParams::default())
                    .await,
            )
        },
        rules_review(&client, ks),
        rules_review(&client, mns),
    );

    let version = match reach(target, version) {
        Ok(v) => v,
        Err(unreachable) => return unreachable,
    };

    let node_infos = nodes
        .as_ref()
        .map(|n| n.iter().map(node_info).collect::<Vec<_>>())
        .map_err(Clone::clone);
    let ds_objects = daemonsets.as_ref().ok();
    let has_cilium = ds_objects.is_some_and(|list| {
        list.iter()
            .any(|d| d.metadata.name.as_deref() == Some("cilium"))
    });
    let crds = crds.map(|l| l.iter().map(crd_info).collect::<Vec<_>>());
    let metallb_crds = crds
        .as_ref()
        .is_ok_and(|l| l.iter().any(|c| c.name == "ipaddresspools.metallb.io"));

    // Wave 2: what the first answers point at.
    let proxy_ds = ds_objects.and_then(|list| {
        list.iter().find(|d| {
            d.metadata.namespace.as_deref() == Some(locate::NAMESPACE)
                && d.metadata.name.as_deref() == Some(locate::DAEMONSET)
        })
    });
    let cilium = async {
        if !has_cilium {
            return Ok(None);
        }
        match Api::<ConfigMap>::namespaced(client.clone(), ks)
            .get_opt("cilium-config")
            .await
        {
            Ok(cm) => Ok(cm.map(|c| c.data.unwrap_or_default())),
            Err(e) => Err(source_error(e, "get", "configmaps", Some(ks))),
        }
    };
    let (cilium_config, pools, ads) = tokio::join!(
        cilium,
        async {
            if !metallb_crds {
                return Ok(vec![]);
            }
            list_metallb(&client, mns, "IPAddressPool", "ipaddresspools").await
        },
        async {
            if !metallb_crds {
                return Ok(vec![]);
            }
            list_metallb(&client, mns, "L2Advertisement", "l2advertisements").await
        },
    );
    let kube_proxy = match &daemonsets {
        Err(e) => Err(e.clone()),
        Ok(_) => Ok(kube_proxy(&client, proxy_ds, &nodes, &daemonsets, &cilium_config, pods).await),
    };

    let review_for = |ns: &str| -> Option<Source<RulesReview>> {
        if ns == ks {
            Some(ks_rules.clone())
        } else if ns == mns {
            Some(mlb_rules.clone())
        } else {
            None
        }
    };
    let namespaces = Namespaces {
        metallb: mns.to_string(),
        ..Namespaces::default()
    };
    let mut needs = Vec::new();
    match opts.permissions_for {
        Some(command) => needs.extend(access::needs(command, &namespaces)),
        None => {
            if needs_strictarp(&kube_proxy) {
                needs.extend(access::needs(Command::EnableStrictarp, &namespaces));
            }
            needs.extend(access::needs(Command::Install, &namespaces));
        }
    }
    let access = access::evaluate(needs, &[ks, mns], review_for);

    ClusterState::Reached(Box::new(ClusterFacts {
        server: target.server.clone(),
        context: target.context.clone(),
        version,
        nodes: node_infos,
        kube_proxy,
        daemonsets: daemonsets.map(|l| {
            l.iter()
                .map(|d| {
                    workload(
                        "DaemonSet",
                        &d.metadata,
                        d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
                    )
                })
                .collect()
        }),
        deployments: deployments.map(|l| {
            l.iter()
                .map(|d| {
                    workload(
                        "Deployment",
                        &d.metadata,
                        d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
                    )
                })
                .collect()
        }),
        services: services.map(|l| l.iter().map(service_info).collect()),
        metallb_namespace: namespace
            .map(|ns| {
                ns.map(|n| NamespaceInfo {
                    name: n.metadata.name.unwrap_or_default(),
                    labels: n.metadata.labels.unwrap_or_default(),
                })
            })
            .map_err(|e| source_error(e, "get", "namespaces", None)),
        crds,
        pools: pools.map(|l| l.iter().map(existing_pool).collect()),
        l2_advertisements: ads.map(|l| l.iter().map(l2_advertisement).collect()),
        service_cidrs: match cidrs {
            None => Ok(None),
            Some(Ok(list)) => Ok(Some(
                list.items
                    .iter()
                    .flat_map(|c| {
                        c.spec
                            .as_ref()
                            .and_then(|s| s.cidrs.clone())
                            .unwrap_or_default()
                    })
                    .collect(),
            )),
            Some(Err(e)) if is_not_found(&e) => Ok(None),
            Some(Err(e)) => Err(source_error(
                e,
                "list",
                "servicecidrs.networking.k8s.io",
                None,
            )),
        },
        cilium_config,
        access,
    }))
}

/// enable-strictarp's permissions matter only when kube-proxy needs the change.
fn needs_strictarp(kube_proxy: &Source<KubeProxy>) -> bool {
    matches!(kube_proxy, Ok(KubeProxy::Found(k)) if matches!(
        &k.config,
        ProxyConfig::ConfigMap { mode, strict_arp, .. } if mode == "ipvs" && *strict_arp != Some(true)
    ))
}

async fn rules_review(client: &kube::Client, namespace: &str) -> Source<RulesReview> {
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec {
            namespace: Some(namespace.to_string()),
        },
        ..Default::default()
    };
    let answer = Api::<SelfSubjectRulesReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| {
            source_error(
                e,
                "create",
                "selfsubjectrulesreviews.authorization.k8s.io",
                None,
            )
        })?;
    let status = answer.status.unwrap_or_default();
    Ok(RulesReview {
        rules: status
            .resource_rules
            .into_iter()
            .map(|r| access::Rule {
                verbs: r.verbs,
                api_groups: r.api_groups.unwrap_or_default(),
                resources: r.resources.unwrap_or_default(),
                resource_names: r.resource_names.unwrap_or_default(),
            })
            .collect(),
        incomplete: status.incomplete,
    })
}

async fn list_metallb(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    plural: &str,
) -> Source<Vec<DynamicObject>> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("metallb.io", "v1beta1", kind),
        plural,
    );
    let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(list.items),
        // The CRD exists but is not served yet (a partial install, just written): no object of
        // the kind can exist; LB121 judges the CRDs themselves.
        Err(e) if is_not_found(&e) => Ok(vec![]),
        Err(e) => Err(source_error(
            e,
            "list",
            &format!("{plural}.metallb.io"),
            Some(ns),
        )),
    }
}

pub(crate) async fn kube_proxy(
    client: &kube::Client,
    ds: Option<&DaemonSet>,
    nodes: &Source<Vec<Node>>,
    daemonsets: &Source<Vec<DaemonSet>>,
    cilium_config: &Source<Option<BTreeMap<String, String>>>,
    pods: Source<Vec<Pod>>,
) -> KubeProxy {
    let facts = discover::cluster_facts(
        nodes.as_deref().unwrap_or_default(),
        daemonsets.as_deref().unwrap_or_default(),
        cilium_config.as_ref().ok().cloned().flatten(),
    );
    let pods = pods.map(|list| list.iter().map(staleness::pod_start).collect());
    let location = match ds {
        Some(ds) => match locate::from_daemonset(ds, &facts) {
            Ok(location) => location,
            Err(e) => {
                return KubeProxy::Found(Box::new(KubeProxyFound {
                    daemonset: Some(format!("{}/{}", locate::NAMESPACE, locate::DAEMONSET)),
                    config: ProxyConfig::Unreadable(SourceError::Failed {
                        what: "kube-proxy's configuration".into(),
                        reason: e.to_string(),
                    }),
                    pods,
                }));
            }
        },
        None => match locate::without_daemonset(&facts) {
            Some(location) => location,
            None => return KubeProxy::Unknown,
        },
    };
    let daemonset = ds.map(|_| format!("{}/{}", locate::NAMESPACE, locate::DAEMONSET));
    let config = match location {
        Location::NoKubeProxy(r) => {
            return KubeProxy::Replaced {
                name: r.name,
                why: r.why,
            };
        }
        Location::FlagsOnly(f) => ProxyConfig::Flags {
            distribution: f.distribution.name().to_string(),
            mode: f.proxy_mode.map(|m| {
                proxy_config::ProxyMode::from_value(Some(&m))
                    .name()
                    .to_string()
            }),
            strict_arp: f.strict_arp,
            source: f.source,
        },
        Location::ConfigMap(key) => config_map(client, key).await,
    };
    KubeProxy::Found(Box::new(KubeProxyFound {
        daemonset,
        config,
        pods,
    }))
}

async fn config_map(client: &kube::Client, key: locate::ConfigMapKey) -> ProxyConfig {
    let api = Api::<ConfigMap>::namespaced(client.clone(), &key.namespace);
    let cm = match api.get_opt(&key.name).await {
        Ok(Some(cm)) => cm,
        Ok(None) => {
            return ProxyConfig::Unreadable(SourceError::Failed {
                what: format!("ConfigMap {}/{}", key.namespace, key.name),
                reason: "it does not exist, but the kube-proxy DaemonSet mounts it".into(),
            });
        }
        Err(e) => {
            return ProxyConfig::Unreadable(source_error(
                e,
                "get",
                "configmaps",
                Some(&key.namespace),
            ));
        }
    };
    let changed_at = staleness::last_change(&cm);
    let Some(text) = cm.data.as_ref().and_then(|d| d.get(&key.key)) else {
        return ProxyConfig::Unreadable(SourceError::Failed {
            what: format!("ConfigMap {}/{}", key.namespace, key.name),
            reason: format!("it has no key {:?}", key.key),
        });
    };
    match proxy_config::parse(text) {
        Ok((_, settings)) => ProxyConfig::ConfigMap {
            namespace: key.namespace,
            name: key.name,
            key: key.key,
            mode: settings.mode.name().to_string(),
            strict_arp: settings.strict_arp,
            changed_at,
        },
        Err(e) => ProxyConfig::Unreadable(SourceError::Failed {
            what: format!(
                "key {} of ConfigMap {}/{}",
                key.key, key.namespace, key.name
            ),
            reason: e.to_string(),
        }),
    }
}

fn node_info(n: &Node) -> NodeInfo {
    let status = n.status.as_ref();
    let condition = |kind: &str| {
        status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == kind))
            .is_some_and(|c| c.status == "True")
    };
    let info = status.and_then(|s| s.node_info.as_ref());
    NodeInfo {
        name: n.metadata.name.clone().unwrap_or_default(),
        labels: n.metadata.labels.clone().unwrap_or_default(),
        annotations: n.metadata.annotations.clone().unwrap_or_default(),
        kubelet_version: info.map(|i| i.kubelet_version.clone()).unwrap_or_default(),
        os_image: info.map(|i| i.os_image.clone()).unwrap_or_default(),
        provider_id: n.spec.as_ref().and_then(|s| s.provider_id.clone()),
        ready: condition("Ready"),
        network_unavailable: condition("NetworkUnavailable"),
        taints: n
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|t| NodeTaint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
            })
            .collect(),
        addresses: status
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|a| a.address.parse().ok())
            .collect(),
        pod_cidrs: n
            .spec
            .as_ref()
            .and_then(|s| {
                s.pod_cidrs
                    .clone()
                    .or_else(|| s.pod_cidr.clone().map(|c| vec![c]))
            })
            .unwrap_or_default(),
    }
}

fn workload(
    kind: &str,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: Option<&PodSpec>,
) -> Workload {
    let containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    Workload {
        kind: kind.into(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        labels: meta.labels.clone().unwrap_or_default(),
        images: containers.iter().filter_map(|c| c.image.clone()).collect(),
        // Flags and environment both switch features (kube-vip reads svc_enable from env).
        args: containers
            .iter()
            .flat_map(|c| {
                let words = c
                    .command
                    .iter()
                    .flatten()
                    .chain(c.args.iter().flatten())
                    .cloned();
                let env = c
                    .env
                    .iter()
                    .flatten()
                    .map(|e| format!("{}={}", e.name, e.value.clone().unwrap_or_default()));
                words.chain(env).collect::<Vec<_>>()
            })
            .collect(),
    }
}

fn service_info(s: &Service) -> ServiceInfo {
    let spec = s.spec.as_ref();
    ServiceInfo {
        namespace: s.metadata.namespace.clone().unwrap_or_default(),
        name: s.metadata.name.clone().unwrap_or_default(),
        load_balancer: spec.and_then(|s| s.type_.as_deref()) == Some("LoadBalancer"),
        ingress_ips: crate::k8s_status::ingress_ips(s),
        annotations: s.metadata.annotations.clone().unwrap_or_default(),
        load_balancer_class: spec.and_then(|s| s.load_balancer_class.clone()),
    }
}

fn crd_info(c: &CustomResourceDefinition) -> CrdInfo {
    CrdInfo {
        name: c.metadata.name.clone().unwrap_or_default(),
        group: c.spec.group.clone(),
        served_versions: c
            .spec
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name.clone())
            .collect(),
        labels: c.metadata.labels.clone().unwrap_or_default(),
    }
}

fn existing_pool(o: &DynamicObject) -> ExistingPool {
    ExistingPool {
        namespace: o.metadata.namespace.clone().unwrap_or_default(),
        name: o.metadata.name.clone().unwrap_or_default(),
        addresses: o.data["spec"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
    }
}

fn l2_advertisement(o: &DynamicObject) -> L2Advertisement {
    L2Advertisement {
        namespace: o.metadata.namespace.clone().unwrap_or_default(),
        name: o.metadata.name.clone().unwrap_or_default(),
        node_selectors: o.data["spec"]["nodeSelectors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                // A selector the API server accepted but we cannot read selects nothing: never
                // claim more announcing nodes than there are.
                serde_json::from_value(s.clone()).unwrap_or_else(|_| LabelSelector {
                    match_expressions: Some(vec![LabelRequirement {
                        key: "lbctl.invalid/unreadable-selector".into(),
                        operator: "Exists".into(),
                        values: None,
                    }]),
                    match_labels: None,
                })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metallb::pools::selects;

    fn ad(spec: serde_json::Value) -> L2Advertisement {
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": "edge", "namespace": "metallb-system"},
            "spec": spec,
        }))
        .unwrap();
        l2_advertisement(&obj)
    }

    #[test]
    fn l2_advertisement_node_selectors_keep_expressions_and_never_widen() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let edge = labels(&[("role", "edge")]);
        let core = labels(&[("role", "core")]);

        let a = ad(serde_json::json!({"nodeSelectors": [
            {"matchExpressions": [{"key": "role", "operator": "In", "values": ["edge"]}]}
        ]}));
        assert_eq!(a.node_selectors.len(), 1);
        assert!(selects(&a.node_selectors[0], &edge));
        assert!(!selects(&a.node_selectors[0], &core));

        assert!(ad(serde_json::json!({})).node_selectors.is_empty());

        // A selector of the wrong shape selects no node at all.
        let odd = ad(serde_json::json!({"nodeSelectors": [{"matchLabels": "role=edge"}]}));
        assert_eq!(odd.node_selectors.len(), 1);
        assert!(!selects(&odd.node_selectors[0], &edge));
        assert!(!selects(&odd.node_selectors[0], &BTreeMap::new()));
    }
}
