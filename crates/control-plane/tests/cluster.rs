//! The control plane against itself: access control, isolation, and the controllers at work.
//! Every test skips (one loud stderr line) when `../shared/kubernetes-v1.36` is absent.

use control_plane::{ADMIN, Component, ControlPlane, ControlPlaneOptions};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::{Duration, Instant};

fn start(options: ControlPlaneOptions) -> ControlPlane {
    ControlPlane::start(options).unwrap_or_else(|e| panic!("{e}"))
}

fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[tokio::test]
async fn admin_lists_nodes_a_restricted_user_only_what_rbac_grants() {
    if control_plane::should_skip() {
        return;
    }
    let cp = start(ControlPlaneOptions::default().user("viewer", &["lbctl:viewers"]));

    let admin = cp.client(ADMIN).await;
    let nodes = Api::<Node>::all(admin).list(&ListParams::default()).await;
    assert!(
        nodes.unwrap().items.is_empty(),
        "a fresh cluster has no nodes"
    );

    let viewer: Api<Node> = Api::all(cp.client("viewer").await);
    let denied = viewer.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(status_code(&denied), Some(403), "{denied}");

    cp.apply_rbac_for(
        "viewer",
        &[json!({"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]})],
    )
    .unwrap();
    viewer.list(&ListParams::default()).await.unwrap();
    // Exactly those rights: nothing on other resources.
    let pods: Api<Pod> = Api::all(cp.client("viewer").await);
    let denied = pods.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(status_code(&denied), Some(403), "{denied}");

    // The kubeconfig carries the same identity and trusts the server's certificate.
    let yaml = cp.kubeconfig_yaml("viewer");
    assert!(yaml.contains(cp.token("viewer")), "{yaml}");
    assert!(yaml.contains(cp.url()), "{yaml}");
    assert!(
        yaml.contains("certificate-authority-data:"),
        "the API server's certificate names 127.0.0.1, so it is trusted, not skipped: {yaml}"
    );
    assert!(cp.ca_pem().contains("BEGIN CERTIFICATE"));
    assert!(
        !cp.log_tail(Component::ApiServer, 5).is_empty(),
        "the API server logs to the cluster's directory"
    );
    for (component, bytes) in cp.memory() {
        eprintln!("{}: {} MiB", component.name(), bytes >> 20);
    }
}

#[test]
fn two_clusters_at_once_are_isolated() {
    if control_plane::should_skip() {
        return;
    }
    let begun = Instant::now();
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| start(ControlPlaneOptions::default()));
        let b = scope.spawn(|| start(ControlPlaneOptions::default()));
        (a.join().unwrap(), b.join().unwrap())
    });
    eprintln!(
        "two clusters started concurrently in {:.1} s: {} / {}",
        begun.elapsed().as_secs_f64(),
        a.startup_times(),
        b.startup_times()
    );
    assert_ne!(a.url(), b.url());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let in_a: Api<Namespace> = Api::all(a.client(ADMIN).await);
        let in_b: Api<Namespace> = Api::all(b.client(ADMIN).await);
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": "only-in-a"}})).unwrap();
        in_a.create(&PostParams::default(), &namespace)
            .await
            .unwrap();
        assert!(in_a.get_opt("only-in-a").await.unwrap().is_some());
        assert!(in_b.get_opt("only-in-a").await.unwrap().is_none());
        // Tokens are per cluster too.
        assert_ne!(a.token(ADMIN), b.token(ADMIN));
    });
}

/// A node as the tests' simulated kubelet would register it: Ready, with addresses and room.
async fn register_node(client: kube::Client, name: &str) {
    let nodes: Api<Node> = Api::all(client);
    let node: Node = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
    let status = json!({"status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "simulated"}],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                      {"type": "Hostname", "address": name}],
        "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
    }});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    // Admission tainted the new node not-ready; without a node lifecycle controller nobody
    // lifts the taint.
    let node = nodes.get(name).await.unwrap();
    let taints = node.spec.and_then(|s| s.taints).unwrap_or_default();
    assert!(
        taints
            .iter()
            .any(|t| t.key == "node.kubernetes.io/not-ready"),
        "expected the not-ready taint from admission: {taints:?}"
    );
    let kept: Vec<_> = taints
        .into_iter()
        .filter(|t| t.key != "node.kubernetes.io/not-ready")
        .collect();
    nodes
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": kept}})),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deployment_gets_a_replicaset_and_a_pod_bound_to_a_node() {
    if control_plane::should_skip() {
        return;
    }
    let cp = start(ControlPlaneOptions::default());
    let client = cp.client(ADMIN).await;
    register_node(client.clone(), "worker-1").await;

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();

    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let deadline = Instant::now() + Duration::from_secs(60);
    let pod = loop {
        let bound = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some("worker-1"));
        if let Some(pod) = bound {
            break pod;
        }
        assert!(
            Instant::now() < deadline,
            "no pod of deployment web was bound to worker-1 in 60 s; controller manager:\n{}\n\
             scheduler:\n{}",
            cp.log_tail(Component::ControllerManager, 20),
            cp.log_tail(Component::Scheduler, 20)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let replicaset = replicasets
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items;
    assert_eq!(replicaset.len(), 1, "{replicaset:?}");
    let owner = |refs: &Option<Vec<_>>| -> Vec<(String, String)> {
        refs.iter()
            .flatten()
            .map(
                |r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference| {
                    (r.kind.clone(), r.name.clone())
                },
            )
            .collect()
    };
    assert_eq!(
        owner(&replicaset[0].metadata.owner_references),
        [("Deployment".to_string(), "web".to_string())]
    );
    assert_eq!(
        owner(&pod.metadata.owner_references),
        [(
            "ReplicaSet".to_string(),
            replicaset[0].metadata.name.clone().unwrap()
        )]
    );
}
