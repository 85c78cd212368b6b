//! Facts of a healthy three-node installation (one control-plane node excluded from announcing,
//! two workers, two LoadBalancer services), which each rule test then breaks in one place.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::checks::preflight::testing as preflight;
use crate::facts::ClusterState;
use crate::facts::cluster::{KubeProxy, KubeProxyFound, PodStart, ProxyConfig};
use crate::facts::doctor::DoctorFacts;
use crate::facts::metallb::{ArpFacts, ArpProbe, MetalLbFacts, PoolDryRun};
use crate::metallb::RenderOptions;
use crate::net::arp::classify::{Status as ArpStatus, Verdict};

pub const NS: &str = "metallb-system";
/// The CA the controller wrote, in Secret data and in every caBundle.
pub const CA: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
pub const MAC_W1: &str = "52:54:00:00:00:11";
pub const MAC_W2: &str = "52:54:00:00:00:12";

/// Deserialises a JSON literal into a typed object.
pub fn obj<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test object deserialises")
}

pub fn node(name: &str, ip: &str, control_plane: bool) -> Value {
    let mut labels = json!({"kubernetes.io/os": "linux", "kubernetes.io/hostname": name});
    let mut taints = json!([]);
    if control_plane {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
        taints = json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]);
    }
    json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]
        }
    })
}

pub fn pod(name: &str, component: &str, node: &str, ready: bool) -> Value {
    json!({
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "metallb", "component": component}},
        "spec": {"nodeName": node, "containers": [{"name": component}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]
        }
    })
}

pub fn controller() -> Value {
    json!({
        "metadata": {"name": "controller", "namespace": NS, "generation": 1},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"component": "controller"}},
            "template": {"spec": {"containers": [{"name": "controller", "image": "quay.io/metallb/controller:v0.16.1"}]}}
        },
        "status": {
            "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
            "availableReplicas": 1,
            "conditions": [{"type": "Available", "status": "True"}]
        }
    })
}

pub fn speaker() -> Value {
    json!({
        "metadata": {"name": "speaker", "namespace": NS, "generation": 2},
        "spec": {
            "selector": {"matchLabels": {"component": "speaker"}},
            "template": {"spec": {
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [
                    {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}
                ],
                "containers": [{"name": "speaker", "image": "quay.io/metallb/speaker:v0.16.1"}]
            }}
        },
        "status": {
            "observedGeneration": 2, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
            "numberReady": 3, "updatedNumberScheduled": 3, "numberAvailable": 3, "numberMisscheduled": 0
        }
    })
}

pub fn secret(name: &str, key: &str, value: &[u8]) -> Value {
    json!({"metadata": {"name": name, "namespace": NS}, "data": {key: base64_text(value)}})
}

/// Base64, as the API carries Secret data and caBundle (k8s-openapi's encoding).
pub fn base64_text(bytes: &[u8]) -> Value {
    serde_json::to_value(k8s_openapi::ByteString(bytes.to_vec())).unwrap()
}

pub fn config_state(name: &str, result: &str, summary: Option<&str>) -> Value {
    let mut status = json!({"result": result});
    if let Some(s) = summary {
        status["errorSummary"] = json!(s);
    }
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState",
           "metadata": {"name": name, "namespace": NS}, "status": status})
}

pub fn pool(
    namespace: &str,
    name: &str,
    addresses: &[&str],
    assigned: i64,
    available: i64,
) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
           "metadata": {"name": name, "namespace": namespace, "labels": {"zone": "a"}},
           "spec": {"addresses": addresses},
           "status": {"assignedIPv4": assigned, "assignedIPv6": 0, "availableIPv4": available, "availableIPv6": 0}})
}

pub fn advertisement(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement",
           "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

pub fn l2_status(service_ns: &str, service: &str, node: &str) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "ServiceL2Status",
           "metadata": {"name": format!("l2-{service}"), "namespace": NS}, "spec": {},
           "status": {"node": node, "serviceName": service, "serviceNamespace": service_ns,
                      "interfaces": [{"name": "eth0"}]}})
}

pub fn lb_service(namespace: &str, name: &str, ip: Option<&str>, local: bool) -> Value {
    let mut svc = json!({
        "metadata": {"name": name, "namespace": namespace, "annotations": {}},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": if local { "Local" } else { "Cluster" },
                 "ports": [{"port": 80}]},
        "status": {"loadBalancer": {}}
    });
    if let Some(ip) = ip {
        svc["status"]["loadBalancer"] = json!({"ingress": [{"ip": ip, "ipMode": "VIP"}]});
        svc["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"] = json!("default");
    }
    svc
}

pub fn slice(namespace: &str, service: &str, endpoints: &[(&str, &str, bool)]) -> Value {
    let endpoints: Vec<Value> = endpoints
        .iter()
        .map(|(ip, node, ready)| {
            json!({"addresses": [ip], "nodeName": node, "conditions": {"ready": ready}})
        })
        .collect();
    json!({
        "metadata": {"name": format!("{service}-abcde"), "namespace": namespace,
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": endpoints
    })
}

pub fn event(namespace: &str, service: &str, message: &str, at: &str) -> Value {
    json!({
        "metadata": {"name": format!("{service}.{at}"), "namespace": namespace},
        "involvedObject": {"kind": "Service", "namespace": namespace, "name": service},
        "reason": "AllocationFailed", "type": "Warning", "message": message,
        "lastTimestamp": at, "source": {"component": "metallb-controller"}
    })
}

pub fn verdict(address: &str, macs: &[&str]) -> Verdict {
    Verdict {
        address: address.parse::<IpAddr>().unwrap(),
        status: match macs.len() {
            0 => ArpStatus::Free,
            1 => ArpStatus::InUse,
            _ => ArpStatus::Conflict,
        },
        macs: macs.iter().map(|m| m.to_string()).collect(),
        reply_ms: None,
        attempts: 3,
        flags: vec![],
        interface: Some("eth0".into()),
        reason: None,
    }
}

fn crds() -> Value {
    let mut crds = serde_json::to_value(crate::metallb::crds::all(NS)).unwrap();
    for crd in crds.as_array_mut().unwrap() {
        crd["status"] = json!({"conditions": [
            {"type": "NamesAccepted", "status": "True"},
            {"type": "Established", "status": "True"}
        ]});
        if crd["metadata"]["name"] == "bgppeers.metallb.io" {
            crd["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"] = base64_text(CA);
        }
    }
    crds
}

fn webhook_configuration() -> Value {
    let mut config = serde_json::to_value(crate::metallb::webhook::configuration(
        &RenderOptions::default(),
    ))
    .unwrap();
    for hook in config["webhooks"].as_array_mut().unwrap() {
        hook["clientConfig"]["caBundle"] = base64_text(CA);
    }
    config
}

pub fn healthy_metallb() -> MetalLbFacts {
    MetalLbFacts {
        namespace: Ok(Some(obj(json!({"metadata": {"name": NS}})))),
        crds: Ok(obj(crds())),
        deployments: Ok(vec![obj(controller())]),
        daemonsets: Ok(vec![obj(speaker())]),
        pods: Ok(vec![
            obj(pod("controller-7d4b9c-x2x4z", "controller", "w1", true)),
            obj(pod("speaker-aaaaa", "speaker", "cp", true)),
            obj(pod("speaker-bbbbb", "speaker", "w1", true)),
            obj(pod("speaker-ccccc", "speaker", "w2", true)),
        ]),
        secrets: Ok(vec![
            obj(secret("metallb-webhook-cert", "ca.crt", CA)),
            obj(secret("memberlist", "secretkey", b"0123456789abcdef")),
        ]),
        nodes: Ok(vec![
            obj(node("cp", "192.168.1.10", true)),
            obj(node("w1", "192.168.1.11", false)),
            obj(node("w2", "192.168.1.12", false)),
        ]),
        webhook_configuration: Ok(Some(obj(webhook_configuration()))),
        dry_run: Ok(PoolDryRun::Accepted),
        configuration_states: Ok(vec![
            obj(config_state("controller", "Valid", None)),
            obj(config_state("speaker-cp", "Valid", None)),
            obj(config_state("speaker-w1", "Valid", None)),
            obj(config_state("speaker-w2", "Valid", None)),
        ]),
        l2_statuses: Ok(vec![
            obj(l2_status("default", "web", "w1")),
            obj(l2_status("default", "local", "w2")),
        ]),
        pools: Ok(vec![obj(pool(
            NS,
            "default",
            &["192.168.1.240-192.168.1.250"],
            2,
            9,
        ))]),
        l2_advertisements: Ok(vec![obj(advertisement(
            "default",
            json!({"ipAddressPools": ["default"]}),
        ))]),
        services: Ok(vec![
            obj(lb_service("default", "web", Some("192.168.1.240"), false)),
            obj(lb_service("default", "local", Some("192.168.1.241"), true)),
            obj(
                json!({"metadata": {"name": "metallb-webhook-service", "namespace": NS},
                       "spec": {"type": "ClusterIP", "ports": [{"port": 443}]}}),
            ),
        ]),
        events: Ok(vec![]),
        endpoint_slices: Ok(vec![
            obj(slice(
                NS,
                "metallb-webhook-service",
                &[("10.244.1.5", "w1", true)],
            )),
            obj(slice("default", "web", &[("10.244.1.9", "w1", true)])),
            obj(slice("default", "local", &[("10.244.2.7", "w2", true)])),
        ]),
    }
}

pub fn healthy_arp() -> ArpProbe {
    ArpProbe {
        addresses: vec![
            verdict("192.168.1.240", &[MAC_W1]),
            verdict("192.168.1.241", &[MAC_W2]),
        ],
        nodes: vec![
            verdict("192.168.1.11", &[MAC_W1]),
            verdict("192.168.1.12", &[MAC_W2]),
        ],
    }
}

/// kube-proxy in IPVS mode with strictARP, restarted after its last change.
fn kube_proxy() -> KubeProxy {
    let ts = |t: &str| t.parse().unwrap();
    KubeProxy::Found(Box::new(KubeProxyFound {
        daemonset: Some("kube-system/kube-proxy".into()),
        config: ProxyConfig::ConfigMap {
            namespace: "kube-system".into(),
            name: "kube-proxy".into(),
            key: "config.conf".into(),
            mode: "ipvs".into(),
            strict_arp: Some(true),
            changed_at: Some(ts("2026-11-25T09:00:00Z")),
        },
        pods: Ok(vec![PodStart {
            name: "kube-proxy-abcde".into(),
            node: Some("w1".into()),
            started_at: Some(ts("2026-11-25T09:01:00Z")),
        }]),
    }))
}

pub fn healthy() -> DoctorFacts {
    let mut cluster = preflight::cluster();
    cluster.kube_proxy = Ok(kube_proxy());
    DoctorFacts {
        metallb_namespace: NS.into(),
        preflight: preflight::facts(cluster),
        metallb: Some(Box::new(healthy_metallb())),
        arp: ArpFacts::Probed(healthy_arp()),
    }
}

/// Healthy facts with the MetalLB part changed by `edit`.
pub fn with(edit: impl FnOnce(&mut MetalLbFacts)) -> DoctorFacts {
    let mut facts = healthy();
    edit(facts.metallb.as_mut().unwrap());
    facts
}

pub fn unreachable() -> DoctorFacts {
    let mut facts = healthy();
    facts.preflight.cluster = ClusterState::Unreachable {
        server: Some("https://10.0.0.1:6443".into()),
        message: "cannot reach the Kubernetes API at https://10.0.0.1:6443: connection refused"
            .into(),
        hint: "check kubectl cluster-info".into(),
    };
    facts.metallb = None;
    facts.arp = ArpFacts::NotProbed {
        reason: "no cluster".into(),
    };
    facts
}
