//! kube::Client against kube-sim through a kubeconfig it writes.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use kube_sim::Scenario;
use serde_json::json;

mod common;
use common::{client_for, runtime};

#[test]
fn configmap_and_daemonset_round_trip() {
    let sim = kube_sim::spawn(Scenario::empty()).unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
        let cm: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kube-proxy", "labels": {"app": "kube-proxy"}},
            "data": {"config.conf": "mode: ipvs\n"}
        }))
        .unwrap();
        let created = cms.create(&PostParams::default(), &cm).await.unwrap();
        let rv = created.metadata.resource_version.clone().unwrap();
        assert!(created.metadata.uid.is_some());
        assert!(created.metadata.creation_timestamp.is_some());
        let got = cms.get("kube-proxy").await.unwrap();
        assert_eq!(got.data, cm.data);
        let listed = cms.list(&ListParams::default()).await.unwrap();
        assert_eq!(listed.items.len(), 1);

        let mut changed = got.clone();
        changed.data.as_mut().unwrap().insert("config.conf".into(), "mode: ipvs\nstrictARP: true\n".into());
        let replaced = cms.replace("kube-proxy", &PostParams::default(), &changed).await.unwrap();
        assert_ne!(replaced.metadata.resource_version.unwrap(), rv);

        // A replace carrying the old resourceVersion is refused with the real 409.
        let err = cms.replace("kube-proxy", &PostParams::default(), &got).await.unwrap_err();
        match err {
            kube::Error::Api(status) => {
                assert_eq!(status.code, 409);
                assert_eq!(status.reason, "Conflict");
            }
            other => panic!("expected a 409, got {other:?}"),
        }

        let dss: Api<DaemonSet> = Api::namespaced(client, "kube-system");
        let ds: DaemonSet = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy"},
            "spec": {
                "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                "template": {
                    "metadata": {"labels": {"k8s-app": "kube-proxy"}},
                    "spec": {"containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.36.0"}]}
                }
            }
        }))
        .unwrap();
        let created = dss.create(&PostParams::default(), &ds).await.unwrap();
        assert_eq!(created.metadata.generation, Some(1));
        // The simulated DaemonSet controller writes status concurrently; hold it still.
        sim.pause();
        let mut changed = dss.get("kube-proxy").await.unwrap();
        changed.spec.as_mut().unwrap().template.metadata.as_mut().unwrap().annotations =
            Some([("kubectl.kubernetes.io/restartedAt".to_string(), "now".to_string())].into());
        let replaced = dss.replace("kube-proxy", &PostParams::default(), &changed).await.unwrap();
        assert_eq!(replaced.metadata.generation, Some(2));
        assert_eq!(dss.list(&ListParams::default()).await.unwrap().items.len(), 1);
    });
}
