//! The simulated cluster seen through kube::Client: workload rollouts, EndpointSlices and the
//! MetalLB stand-in (webhook phases, IP allocation, events, ServiceL2Status).

use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Pod, Secret, Service};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::wait::await_condition;
use kube_sim::Scenario;
use kube_sim::cluster::generator;
use serde_json::{Value, json};

mod common;
use common::{client_for, fixture, runtime};

fn metallb(kind: &str) -> ApiResource {
    let plural = match kind {
        "IPAddressPool" => "ipaddresspools",
        "L2Advertisement" => "l2advertisements",
        "ServiceL2Status" => "servicel2statuses",
        _ => "configurationstates",
    };
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("metallb.io", "v1beta1", kind),
        plural,
    )
}

fn crd(kind: &str) -> Value {
    generator::metallb_crd(kind, &metallb(kind).plural)
}

fn pool(name: &str, namespace: &str, addresses: &[&str]) -> DynamicObject {
    serde_json::from_value(
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": namespace}, "spec": {"addresses": addresses}}),
    )
    .unwrap()
}

fn lb_service(name: &str) -> Service {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}))
    .unwrap()
}

fn metallb_install() -> Vec<Value> {
    generator::metallb_install()
}

fn api_error(err: kube::Error) -> (u16, String) {
    match err {
        kube::Error::Api(status) => (status.code, status.message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn rollout_restart_of_kube_proxy_replaces_every_pod_and_reports_real_status() {
    let sim = kube_sim::spawn(fixture("kubeadm-ipvs.yaml")).unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let dss: Api<DaemonSet> = Api::namespaced(client.clone(), "kube-system");
        let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
        let before = dss.get("kube-proxy").await.unwrap();
        let status = serde_json::to_value(before.status.as_ref().unwrap()).unwrap();
        assert_eq!(
            status,
            json!({"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 3, "numberMisscheduled": 0,
                   "numberReady": 3, "observedGeneration": 1, "updatedNumberScheduled": 3})
        );
        let selector = ListParams::default().labels("k8s-app=kube-proxy");
        let old: Vec<Pod> = pods.list(&selector).await.unwrap().items;
        assert_eq!(old.len(), 3);
        for pod in &old {
            let started = pod.status.as_ref().unwrap().start_time.as_ref().unwrap();
            assert_eq!(started.0.to_string(), "2026-11-20T08:05:00Z", "scenario pods run since bootTime");
        }

        let restart = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-25T10:00:00Z"}}}}});
        dss.patch("kube-proxy", &PatchParams::default(), &Patch::Strategic(&restart)).await.unwrap();
        let done = await_condition(dss.clone(), "kube-proxy", |ds: Option<&DaemonSet>| {
            ds.and_then(|d| Some((d.metadata.generation?, d.status.as_ref()?)))
                .is_some_and(|(generation, s)| {
                    s.observed_generation == Some(generation)
                        && s.updated_number_scheduled == Some(s.desired_number_scheduled)
                        && s.number_available == Some(s.desired_number_scheduled)
                })
        });
        tokio::time::timeout(Duration::from_secs(20), done).await.expect("rollout completes").unwrap();

        let new: Vec<Pod> = pods.list(&selector).await.unwrap().items;
        assert_eq!(new.len(), 3);
        for pod in &new {
            assert!(!old.iter().any(|o| o.metadata.name == pod.metadata.name), "every pod was replaced");
            let status = pod.status.as_ref().unwrap();
            assert!(status.start_time.as_ref().unwrap().0.to_string().as_str() > "2026-11-20T08:05:00Z");
            let running = status.container_statuses.as_ref().unwrap()[0].state.as_ref().unwrap().running.as_ref().unwrap();
            assert!(running.started_at.is_some());
            assert_eq!(status.pod_ip, status.host_ip, "hostNetwork pods use the node address");
        }
    });
}

/// The API server computes a pod's QoS class when the pod is created and never lets it change
/// (a real one refuses a status update that does: 422 `field is immutable`); the kubelets keep it.
#[test]
fn pods_keep_the_qos_class_their_requests_give_them() {
    // EKS' kube-proxy requests 100m CPU and limits nothing: Burstable.
    let sim = kube_sim::spawn(fixture("eks.yaml")).unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let dss: Api<DaemonSet> = Api::namespaced(client.clone(), "kube-system");
        let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
        let selector = ListParams::default().labels("k8s-app=kube-proxy");
        let restart = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-25T10:00:00Z"}}}}});
        dss.patch("kube-proxy", &PatchParams::default(), &Patch::Strategic(&restart)).await.unwrap();
        let running = |pods: &[Pod]| {
            pods.iter().all(|p| p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubectl.kubernetes.io/restartedAt"))
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let new = loop {
            let items = pods.list(&selector).await.unwrap().items;
            if items.len() == 2 && running(&items) {
                break items;
            }
            assert!(std::time::Instant::now() < deadline, "the restarted pods never ran: {items:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        for pod in &new {
            assert_eq!(pod.status.as_ref().unwrap().qos_class.as_deref(), Some("Burstable"), "{pod:?}");
        }
        // A client cannot set it either: the create strategy computes it.
        let mut pod: Pod = serde_json::from_value(json!({"metadata": {"name": "asks-for-best-effort"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.37", "resources": {"requests": {"memory": "1Mi"}}}]},
            "status": {"qosClass": "BestEffort"}})).unwrap();
        pod = Api::<Pod>::namespaced(client.clone(), "default").create(&PostParams::default(), &pod).await.unwrap();
        assert_eq!(pod.status.unwrap().qos_class.as_deref(), Some("Burstable"));
    });
}

#[test]
fn metallb_webhook_goes_from_no_endpoints_to_accepting_pools() {
    let scenario = Scenario::from_yaml(
        "settings: { podReadyDelay: 400ms, metallb: { webhookSettle: 600ms } }\nobjects: []\n",
    )
    .unwrap();
    let sim = kube_sim::spawn(scenario).unwrap();
    for node in ["cp1", "w1", "w2"] {
        sim.apply_object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"kubernetes.io/os": "linux"}},
            "status": {"addresses": [{"type": "InternalIP", "address": format!("192.168.77.{}", 10 + node.len())}],
                       "conditions": [{"type": "Ready", "status": "True"}]}}));
    }
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        for kind in ["IPAddressPool", "L2Advertisement", "ServiceL2Status", "ConfigurationState"] {
            sim.apply_object(crd(kind));
        }
        for obj in metallb_install() {
            sim.apply_object(obj);
        }
        let pools: Api<DynamicObject> = Api::namespaced_with(client.clone(), "metallb-system", &metallb("IPAddressPool"));
        let dry = PostParams { dry_run: true, ..Default::default() };
        let candidate = pool("lan", "metallb-system", &["192.168.77.240-192.168.77.250"]);

        let (code, message) = api_error(pools.create(&dry, &candidate).await.unwrap_err());
        assert_eq!(code, 500);
        assert!(message.ends_with("no endpoints available for service \"metallb-webhook-service\""), "{message}");

        // The controller pod turns ready: connection refused until the webhook listens.
        let mut phases = vec!["no endpoints".to_string()];
        let accepted = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match pools.create(&dry, &candidate).await {
                    Ok(obj) => break obj,
                    Err(err) => {
                        let (code, message) = api_error(err);
                        assert_eq!(code, 500, "{message}");
                        let phase = if message.contains("connection refused") { "connection refused" } else { "no endpoints" };
                        if phases.last().map(String::as_str) != Some(phase) {
                            phases.push(phase.to_string());
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the webhook starts serving");
        assert_eq!(phases, ["no endpoints", "connection refused"]);
        assert_eq!(accepted.metadata.name.as_deref(), Some("lan"));
        assert!(pools.get_opt("lan").await.unwrap().is_none(), "dry run stores nothing");

        let secrets: Api<Secret> = Api::namespaced(client.clone(), "metallb-system");
        let cert = secrets.get("metallb-webhook-cert").await.unwrap();
        assert!(cert.data.unwrap().contains_key("ca.crt"));
        assert!(secrets.get("memberlist").await.unwrap().data.unwrap().contains_key("secretkey"));

        let wrong: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &metallb("IPAddressPool"));
        let (code, message) = api_error(wrong.create(&PostParams::default(), &pool("lan", "default", &["10.1.0.0/24"])).await.unwrap_err());
        assert_eq!(code, 403);
        assert_eq!(
            message,
            "admission webhook \"ipaddresspoolvalidationwebhook.metallb.io\" denied the request: resource must be created in metallb-system namespace"
        );
        pools.create(&PostParams::default(), &candidate).await.expect("a real create passes");
    });
}

#[test]
fn load_balancer_services_get_addresses_events_and_l2_status_until_the_pool_runs_out() {
    let scenario =
        Scenario::from_yaml("settings: { podReadyDelay: 100ms }\nobjects: []\n").unwrap();
    let sim = kube_sim::spawn(scenario).unwrap();
    for (node, cp) in [("cp1", true), ("w1", false), ("w2", false)] {
        let mut labels = json!({"kubernetes.io/os": "linux"});
        if cp {
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
        }
        sim.apply_object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": labels},
            "status": {"addresses": [{"type": "InternalIP", "address": format!("192.168.77.{}", 10 + node.len())}]}}));
    }
    for kind in [
        "IPAddressPool",
        "L2Advertisement",
        "ServiceL2Status",
        "ConfigurationState",
    ] {
        sim.apply_object(crd(kind));
    }
    for obj in metallb_install() {
        sim.apply_object(obj);
    }
    sim.apply_object(
        serde_json::to_value(pool("one", "metallb-system", &["192.168.77.240/32"])).unwrap(),
    );
    sim.apply_object(json!({"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": {"name": "one", "namespace": "metallb-system"}, "spec": {"ipAddressPools": ["one"]}}));
    // MetalLB announces only a Service with a serving endpoint: one on w1, outside the
    // EndpointSlice controller's care.
    sim.apply_object(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-manual", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.1.9"], "nodeName": "w1", "conditions": {"ready": true}}]}));
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let services: Api<Service> = Api::namespaced(client.clone(), "default");
        services
            .create(&PostParams::default(), &lb_service("web"))
            .await
            .unwrap();
        let assigned = await_condition(services.clone(), "web", |s: Option<&Service>| {
            s.and_then(|s| s.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref())
                .is_some_and(|i| !i.is_empty())
        });
        let web = tokio::time::timeout(Duration::from_secs(20), assigned)
            .await
            .expect("an address is assigned")
            .unwrap()
            .unwrap();
        let ingress = &web.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0];
        assert_eq!(ingress.ip.as_deref(), Some("192.168.77.240"));
        // The annotation comes with a separate write right after the status.
        let web = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let web = services.get("web").await.unwrap();
                if web
                    .metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a.contains_key("metallb.io/ip-allocated-from-pool"))
                {
                    break web;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap();
        assert_eq!(
            web.metadata.annotations.unwrap()["metallb.io/ip-allocated-from-pool"],
            "one"
        );

        services
            .create(&PostParams::default(), &lb_service("extra"))
            .await
            .unwrap();
        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        let wanted = [
            (
                "web",
                "IPAllocated",
                "Assigned IP [\"192.168.77.240\"]".to_string(),
            ),
            (
                "extra",
                "AllocationFailed",
                "Failed to allocate IP for \"default/extra\": no available IPs".to_string(),
            ),
        ];
        for (svc, reason, message) in wanted {
            let fields = ListParams::default().fields(&format!("involvedObject.name={svc}"));
            let found = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    let list = events.list(&fields).await.unwrap().items;
                    if let Some(e) = list
                        .into_iter()
                        .find(|e| e.reason.as_deref() == Some(reason))
                    {
                        break e;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{reason} event for {svc}"));
            assert_eq!(found.message.as_deref(), Some(message.as_str()));
            assert_eq!(
                found.source.unwrap().component.as_deref(),
                Some("metallb-controller")
            );
        }

        let statuses: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            "metallb-system",
            &metallb("ServiceL2Status"),
        );
        let l2 = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let items = statuses.list(&ListParams::default()).await.unwrap().items;
                if let Some(first) = items.into_iter().next() {
                    break first;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("a ServiceL2Status is written");
        let status = &l2.data["status"];
        assert_eq!(status["serviceName"], "web");
        assert!(status["node"] == "w1" || status["node"] == "w2", "{status}");
        let pools: Api<DynamicObject> =
            Api::namespaced_with(client, "metallb-system", &metallb("IPAddressPool"));
        let one = pools.get("one").await.unwrap();
        assert_eq!(one.data["status"]["assignedIPv4"], 1);
        assert_eq!(one.data["status"]["availableIPv4"], 0);
    });
}

#[test]
fn generated_clusters_boot_with_every_service_served() {
    let sim = kube_sim::spawn(Scenario::generated(12, 150, true)).unwrap();
    let store = sim.store();
    assert_eq!(store.list("v1", "Node", None).len(), 12);
    let services: Vec<Value> = store
        .list("v1", "Service", None)
        .into_iter()
        .filter(|s| s["spec"]["type"] == "LoadBalancer")
        .collect();
    assert_eq!(services.len(), 150);
    assert!(
        services
            .iter()
            .all(|s| s.pointer("/status/loadBalancer/ingress/0/ip").is_some())
    );
    let proxy = sim
        .get("apps/v1", "DaemonSet", Some("kube-system"), "kube-proxy")
        .unwrap();
    assert_eq!(proxy["status"]["numberReady"], 12);
    let announced = store.list(
        "metallb.io/v1beta1",
        "ServiceL2Status",
        Some("metallb-system"),
    );
    assert_eq!(announced.len(), 150);
    let control_plane = ["node-0000", "node-0001", "node-0002"];
    assert!(
        announced
            .iter()
            .all(|s| !control_plane.contains(&s["status"]["node"].as_str().unwrap())),
        "excluded control-plane nodes never announce"
    );
    drop(sim);

    let yaml = Scenario::from_yaml("generate: { nodes: 5, services: 3 }\n").unwrap();
    let sim = kube_sim::spawn(yaml).unwrap();
    let pending = sim
        .store()
        .list("v1", "Service", None)
        .into_iter()
        .filter(|s| s["spec"]["type"] == "LoadBalancer")
        .count();
    assert_eq!(pending, 3, "services without MetalLB stay pending");
}

/// The target cluster (1000 nodes, 5000 Services) boots and serves every Service exactly once in
/// pages of 500, as `kube::Client` pages with `limit` and `continue`. How long it takes is
/// measured by the `large_cluster` example (docs/benchmarks.md), not here.
#[test]
fn a_thousand_node_cluster_lists_its_services_in_pages() {
    let sim = kube_sim::spawn(Scenario::generated(1000, 5000, false)).unwrap();
    let stored: std::collections::BTreeSet<String> = sim
        .store()
        .list("v1", "Service", None)
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["metadata"]["namespace"].as_str().unwrap(),
                s["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(stored.len() >= 5000, "{} services stored", stored.len());
    runtime().block_on(async {
        let services: Api<Service> = Api::all(client_for(&sim, "admin").await);
        let mut params = ListParams::default().limit(500);
        let (mut seen, mut pages, mut versions) =
            (Vec::new(), 0, std::collections::BTreeSet::new());
        loop {
            let page = services.list(&params).await.unwrap();
            pages += 1;
            let remaining = page.metadata.remaining_item_count;
            let token = page.metadata.continue_.clone().filter(|t| !t.is_empty());
            versions.insert(page.metadata.resource_version.clone().unwrap());
            let count = page.items.len();
            seen.extend(page.items.into_iter().map(|s| {
                format!(
                    "{}/{}",
                    s.metadata.namespace.unwrap(),
                    s.metadata.name.unwrap()
                )
            }));
            match token {
                Some(t) => {
                    assert_eq!(count, 500, "page {pages} is full");
                    assert_eq!(
                        remaining,
                        Some((stored.len() - seen.len()) as i64),
                        "page {pages}"
                    );
                    params = params.continue_token(&t);
                }
                None => break,
            }
        }
        assert_eq!(pages, stored.len().div_ceil(500));
        let unique: std::collections::BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no Service is listed twice");
        assert_eq!(unique, stored, "every Service is listed");
        let load_balancers = unique.iter().filter(|s| s.starts_with("app-")).count();
        assert_eq!(load_balancers, 5000);
        assert_eq!(
            versions.len(),
            1,
            "every page is the same snapshot: {versions:?}"
        );
    });
}
