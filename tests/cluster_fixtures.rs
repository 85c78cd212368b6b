//! The MetalLB scenarios under tests/fixtures/clusters are generated: the kubeadm IPVS cluster
//! (strictARP on) plus the objects `lbctl install` renders, plus each scenario's pools, apps and
//! switches. This test checks they are fresh (`LBCTL_REGENERATE=1` rewrites them) and that each
//! one boots in kube-sim into the state it describes.

use std::path::{Path, PathBuf};

use kube_sim::Scenario;
use lbctl::metallb::render::{RenderOptions, render};
use serde_json::{Value, json};

const NS: &str = "metallb-system";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clusters")
}

/// The kubeadm IPVS scenario with strictARP switched on (what `lbctl enable-strictarp` leaves).
fn base() -> Value {
    let text = std::fs::read_to_string(dir().join("kubeadm-ipvs.yaml")).unwrap();
    let mut doc: Value = serde_saphyr::from_str(&text).unwrap();
    for obj in doc["objects"].as_array_mut().unwrap() {
        if obj["kind"] == "ConfigMap" && obj["metadata"]["name"] == "kube-proxy" {
            let conf = obj["data"]["config.conf"]
                .as_str()
                .unwrap()
                .replace("strictARP: false", "strictARP: true");
            obj["data"]["config.conf"] = json!(conf);
        }
    }
    doc
}

fn pool(name: &str, namespace: &str, addresses: &[&str]) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": name, "namespace": namespace},
           "spec": {"addresses": addresses, "autoAssign": true, "avoidBuggyIPs": false}})
}

fn l2_advertisement(name: &str, pools: &[&str]) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": {"name": name, "namespace": NS},
           "spec": {"ipAddressPools": pools}})
}

/// A web app: Deployment plus a LoadBalancer Service, optionally asking for a pool.
fn app(name: &str, pool: Option<&str>) -> Vec<Value> {
    let labels = json!({"app": name});
    let mut svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"type": "LoadBalancer", "selector": labels, "externalTrafficPolicy": "Cluster",
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}});
    if let Some(p) = pool {
        svc["metadata"]["annotations"] = json!({"metallb.io/address-pool": p});
    }
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.29",
                                                           "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}]}]}}}}),
        svc,
    ]
}

struct Fixture {
    file: &'static str,
    about: &'static str,
    settings: Value,
    extra: Vec<Value>,
}

fn fixtures() -> Vec<Fixture> {
    let lan = || pool("lan", NS, &["192.168.77.240-192.168.77.250"]);
    vec![
        Fixture {
            file: "metallb-healthy.yaml",
            about: "MetalLB v0.16.1 installed by lbctl and healthy: pool `lan` announced by L2Advertisement `lan`; Service default/web has an address announced from a worker.",
            settings: json!({}),
            extra: [
                vec![lan(), l2_advertisement("lan", &["lan"])],
                app("web", None),
            ]
            .concat(),
        },
        Fixture {
            file: "metallb-webhook-no-endpoints.yaml",
            about: "MetalLB installed but its controller never becomes ready: the webhook Service has no ready endpoints, so every IPAddressPool write fails with the API server's 500; no pool exists and Service default/web stays pending.",
            settings: json!({"podsNeverReady": ["metallb-system/controller"]}),
            extra: app("web", None),
        },
        Fixture {
            file: "metallb-pool-wrong-namespace.yaml",
            about: "The IPAddressPool was created in namespace `default` (while the webhook was not enforcing): MetalLB ignores it, so Service default/web stays pending without any event.",
            settings: json!({}),
            extra: [
                vec![
                    pool("lan", "default", &["192.168.77.240-192.168.77.250"]),
                    l2_advertisement("lan", &["lan"]),
                ],
                app("web", None),
            ]
            .concat(),
        },
        Fixture {
            file: "metallb-pool-without-l2advertisement.yaml",
            about: "Pool `lan` exists but no L2Advertisement selects it: Service default/web gets an address that no node announces (no ServiceL2Status).",
            settings: json!({}),
            extra: [vec![lan()], app("web", None)].concat(),
        },
        Fixture {
            file: "metallb-pending-services.yaml",
            about: "Pool `small` has two addresses for three LoadBalancer Services, and Service default/reserved asks for pool `reserved` that does not exist: both pending Services carry AllocationFailed events.",
            settings: json!({}),
            extra: [
                vec![
                    pool("small", NS, &["192.168.77.240/31"]),
                    l2_advertisement("small", &["small"]),
                ],
                app("web", None),
                app("api", None),
                app("shop", None),
                app("reserved", Some("reserved")),
            ]
            .concat(),
        },
        Fixture {
            file: "metallb-speakers-not-ready.yaml",
            about: "The speakers on the workers never become ready and the control plane is excluded from announcing: Service default/web has an address but nobody announces it.",
            settings: json!({"podsNeverReady": ["metallb-system/speaker@w1", "metallb-system/speaker@w2"]}),
            extra: [
                vec![lan(), l2_advertisement("lan", &["lan"])],
                app("web", None),
            ]
            .concat(),
        },
    ]
}

fn generate(f: &Fixture) -> String {
    let mut doc = base();
    let objects = doc["objects"].as_array_mut().unwrap();
    objects.extend(
        render(&RenderOptions::default())
            .into_iter()
            .map(|r| r.object),
    );
    objects.extend(f.extra.iter().cloned());
    if let Some(settings) = f.settings.as_object() {
        for (k, v) in settings {
            doc["settings"][k] = v.clone();
        }
    }
    let mut header = String::from(
        "# GENERATED by tests/cluster_fixtures.rs (LBCTL_REGENERATE=1 cargo test --test cluster_fixtures):\n",
    );
    header.push_str(
        "# kubeadm-ipvs.yaml with strictARP on, plus MetalLB as `lbctl install` renders it.\n",
    );
    for line in textwrap(f.about, 96) {
        header.push_str(&format!("# {line}\n"));
    }
    header + &serde_saphyr::to_string(&doc).unwrap()
}

fn textwrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().unwrap();
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

#[test]
fn metallb_fixtures_are_fresh() {
    let regenerate = std::env::var_os("LBCTL_REGENERATE").is_some();
    for f in fixtures() {
        let path = dir().join(f.file);
        let want = generate(&f);
        if regenerate {
            std::fs::write(&path, &want).unwrap();
            continue;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run `LBCTL_REGENERATE=1 cargo test --test cluster_fixtures`",
            path.display()
        );
    }
}

fn spawn(file: &str) -> kube_sim::SimHandle {
    let scenario = Scenario::from_file(&dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    kube_sim::spawn(scenario).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn ingress(sim: &kube_sim::SimHandle, name: &str) -> Option<String> {
    let svc = sim.get("v1", "Service", Some("default"), name)?;
    svc.pointer("/status/loadBalancer/ingress/0/ip")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn l2_statuses(sim: &kube_sim::SimHandle) -> Vec<Value> {
    sim.store()
        .list("metallb.io/v1beta1", "ServiceL2Status", Some(NS))
}

fn event_reasons(sim: &kube_sim::SimHandle, service: &str) -> Vec<String> {
    sim.store()
        .list("v1", "Event", Some("default"))
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == service)
        .map(|e| {
            format!(
                "{}: {}",
                e["reason"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn healthy_metallb_scenario_announces_the_service() {
    let sim = spawn("metallb-healthy.yaml");
    assert_eq!(ingress(&sim, "web").as_deref(), Some("192.168.77.240"));
    let l2 = l2_statuses(&sim);
    assert_eq!(l2.len(), 1);
    assert_ne!(l2[0]["status"]["node"], "cp1");
    let speaker = sim
        .get("apps/v1", "DaemonSet", Some(NS), "speaker")
        .unwrap();
    assert_eq!(speaker["status"]["numberReady"], 3);
    let controller = sim
        .get(
            "metallb.io/v1beta1",
            "ConfigurationState",
            Some(NS),
            "controller",
        )
        .unwrap();
    assert_eq!(controller["status"]["result"], "Valid");
    let vwc = sim
        .get(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            None,
            "metallb-webhook-configuration",
        )
        .unwrap();
    assert!(vwc["webhooks"].as_array().unwrap().iter().all(|w| {
        w["clientConfig"]["caBundle"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    }));
    assert!(
        event_reasons(&sim, "web")
            .contains(&"IPAllocated: Assigned IP [\"192.168.77.240\"]".to_string())
    );
}

#[test]
fn broken_metallb_scenarios_show_their_symptom() {
    let sim = spawn("metallb-webhook-no-endpoints.yaml");
    let slices = sim
        .store()
        .list("discovery.k8s.io/v1", "EndpointSlice", Some(NS));
    let webhook = slices
        .iter()
        .find(|s| {
            s["metadata"]["labels"]["kubernetes.io/service-name"] == "metallb-webhook-service"
        })
        .unwrap();
    assert!(
        webhook["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["conditions"]["ready"] == false)
    );
    assert_eq!(ingress(&sim, "web"), None);
    drop(sim);

    let sim = spawn("metallb-pool-wrong-namespace.yaml");
    assert_eq!(ingress(&sim, "web"), None);
    assert!(event_reasons(&sim, "web").is_empty());
    drop(sim);

    let sim = spawn("metallb-pool-without-l2advertisement.yaml");
    assert!(ingress(&sim, "web").is_some());
    assert!(l2_statuses(&sim).is_empty());
    drop(sim);

    let sim = spawn("metallb-pending-services.yaml");
    let assigned: Vec<String> = ["api", "reserved", "shop", "web"]
        .iter()
        .filter_map(|s| ingress(&sim, s))
        .collect();
    assert_eq!(assigned.len(), 2, "{assigned:?}");
    assert!(event_reasons(&sim, "reserved").contains(&"AllocationFailed: Failed to allocate IP for \"default/reserved\": unknown pool \"reserved\"".to_string()));
    let failed = ["api", "shop", "web"]
        .iter()
        .filter(|s| {
            event_reasons(&sim, s)
                .iter()
                .any(|e| e.ends_with("no available IPs"))
        })
        .count();
    assert_eq!(failed, 1);
    drop(sim);

    let sim = spawn("metallb-speakers-not-ready.yaml");
    assert!(ingress(&sim, "web").is_some());
    assert!(l2_statuses(&sim).is_empty());
    let speaker = sim
        .get("apps/v1", "DaemonSet", Some(NS), "speaker")
        .unwrap();
    assert_eq!(speaker["status"]["numberReady"], 1);
}
