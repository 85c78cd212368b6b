//! Finding kube-proxy in a cluster: the facts [`locate`] judges (built the same way for
//! `enable-strictarp` and for preflight's gathering), and the reads `enable-strictarp` makes.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::{Api, ListParams};

use super::locate::{self, ConfigMapKey, DAEMONSET, DistributionFacts, Location, NAMESPACE};
use super::plan::ServerVersion;
use crate::kube::ClusterTarget;
use crate::kube::errors::{Request, api_error};
use crate::{Error, Result};

/// Node annotations where k3s and RKE2 record their command line.
const NODE_ARGS: [&str; 2] = ["k3s.io/node-args", "rke2.io/node-args"];

/// The facts that tell a distribution or a kube-proxy replacement from what was read.
pub fn cluster_facts(
    nodes: &[Node],
    daemonsets: &[DaemonSet],
    cilium_config: Option<BTreeMap<String, String>>,
) -> DistributionFacts {
    let infos = || {
        nodes
            .iter()
            .filter_map(|n| n.status.as_ref()?.node_info.as_ref())
    };
    DistributionFacts {
        kubelet_versions: infos().map(|i| i.kubelet_version.clone()).collect(),
        os_images: infos().map(|i| i.os_image.clone()).collect(),
        node_args: nodes
            .iter()
            .flat_map(|n| n.metadata.annotations.iter().flatten())
            .filter(|(k, _)| NODE_ARGS.contains(&k.as_str()))
            .map(|(k, v)| (format!("node annotation {k}"), v.clone()))
            .collect(),
        cilium_config,
        daemonsets: daemonsets
            .iter()
            .map(|d| {
                format!(
                    "{}/{}",
                    d.metadata.namespace.as_deref().unwrap_or_default(),
                    d.metadata.name.as_deref().unwrap_or_default()
                )
            })
            .collect(),
    }
}

fn request<'a>(verb: &'a str, resource: &'a str, namespace: &'a str) -> Request<'a> {
    Request {
        verb,
        resource,
        namespace: Some(namespace),
    }
}

/// The API server's version, for the plan's IPVS deprecation warning.
pub async fn server_version(target: &ClusterTarget) -> Result<Option<ServerVersion>> {
    let info = target
        .client
        .apiserver_version()
        .await
        .map_err(|e| crate::kube::errors::version_error(target, e))?;
    Ok(ServerVersion::new(
        &info.git_version,
        &info.major,
        &info.minor,
    ))
}

/// Where kube-proxy's configuration lives, and its DaemonSet when there is one.
pub async fn find(target: &ClusterTarget) -> Result<(Location, Option<DaemonSet>)> {
    let api: Api<DaemonSet> = Api::namespaced(target.client.clone(), NAMESPACE);
    let ds = api.get_opt(DAEMONSET).await.map_err(|e| {
        api_error(
            e,
            request("get", "daemonsets", NAMESPACE),
            &target.server,
            &target.context,
        )
    })?;
    let Some(ds) = ds else {
        let facts = read_facts(target, true).await;
        let location = locate::without_daemonset(&facts).ok_or_else(|| Error::Unsupported {
            message: format!(
                "no DaemonSet {NAMESPACE}/{DAEMONSET}, and no known kube-proxy replacement (Cilium, kube-router, OVN-Kubernetes, Antrea) was found"
            ),
            hint: Some(
                "if kube-proxy runs under another name or as static pods, set `mode: ipvs` and `ipvs.strictARP: true` (or the flags --proxy-mode=ipvs --ipvs-strict-arp) where it is configured".into(),
            ),
        })?;
        return Ok((location, None));
    };
    let facts = read_facts(target, false).await;
    let location = locate::from_daemonset(&ds, &facts).map_err(|e| Error::Unsupported {
        message: e.to_string(),
        hint: Some("set `mode: ipvs` and `ipvs.strictARP: true` where this kube-proxy reads its configuration, then restart it".into()),
    })?;
    Ok((location, Some(ds)))
}

/// Reads what [`cluster_facts`] needs: nodes always, replacements only without a kube-proxy
/// DaemonSet. Read failures only make the answer less specific, so they are not errors.
async fn read_facts(target: &ClusterTarget, replacements: bool) -> DistributionFacts {
    let client = &target.client;
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default().limit(50))
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    if !replacements {
        return cluster_facts(&nodes, &[], None);
    }
    let cilium = Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
        .get_opt("cilium-config")
        .await
        .ok()
        .flatten()
        .map(|cm| cm.data.unwrap_or_default());
    // Cluster-wide when allowed, else at least kube-system.
    let daemonsets = match Api::<DaemonSet>::all(client.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(l) => l.items,
        Err(_) => Api::<DaemonSet>::namespaced(client.clone(), NAMESPACE)
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default(),
    };
    cluster_facts(&nodes, &daemonsets, cilium)
}

/// The ConfigMap kube-proxy reads.
pub async fn configmap(target: &ClusterTarget, key: &ConfigMapKey) -> Result<ConfigMap> {
    let api: Api<ConfigMap> = Api::namespaced(target.client.clone(), &key.namespace);
    api.get_opt(&key.name)
        .await
        .map_err(|e| {
            api_error(
                e,
                request("get", "configmaps", &key.namespace),
                &target.server,
                &target.context,
            )
        })?
        .ok_or_else(|| Error::Unsupported {
            message: format!(
                "kube-proxy reads ConfigMap {}/{}, which does not exist",
                key.namespace, key.name
            ),
            hint: Some("check the kube-proxy pods: `kubectl -n kube-system get pods -l k8s-app=kube-proxy`".into()),
        })
}

/// The configuration text in the key kube-proxy reads.
pub fn config_text(cm: &ConfigMap, key: &ConfigMapKey) -> Result<String> {
    cm.data
        .as_ref()
        .and_then(|d| d.get(&key.key))
        .cloned()
        .ok_or_else(|| Error::Unsupported {
            message: format!("ConfigMap {}/{} has no key {:?}", key.namespace, key.name, key.key),
            hint: Some("kube-proxy's --config points at a key that is missing; check the DaemonSet's volumes".into()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_name_the_node_annotation_and_every_daemonset() {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "n1", "annotations": {"k3s.io/node-args": "[]", "other": "x"}},
            "status": {"nodeInfo": {"kubeletVersion": "v1.33.1+k3s1", "osImage": "Ubuntu",
                "architecture": "", "bootID": "", "containerRuntimeVersion": "", "kernelVersion": "",
                "kubeProxyVersion": "", "machineID": "", "operatingSystem": "", "systemUUID": ""}}
        }))
        .unwrap();
        let ds: DaemonSet = serde_json::from_value(
            json!({"metadata": {"name": "kube-router", "namespace": "kube-system"}}),
        )
        .unwrap();
        let facts = cluster_facts(&[node], &[ds], None);
        assert_eq!(facts.kubelet_versions, ["v1.33.1+k3s1"]);
        assert_eq!(facts.os_images, ["Ubuntu"]);
        assert_eq!(
            facts.node_args,
            [(
                "node annotation k3s.io/node-args".to_string(),
                "[]".to_string()
            )]
        );
        assert_eq!(facts.daemonsets, ["kube-system/kube-router"]);
    }
}
