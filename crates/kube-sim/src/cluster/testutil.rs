//! Fixtures for the controllers' unit tests.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::meta;
use super::world::Action;

pub fn now() -> Timestamp {
    "2026-11-25T10:00:00Z".parse().unwrap()
}

pub fn node(name: &str, ip: &str, control_plane: bool) -> Value {
    let mut n = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "labels": {"kubernetes.io/os": "linux", "kubernetes.io/hostname": name}},
        "spec": {"podCIDR": format!("10.244.{}.0/24", ip.rsplit('.').next().unwrap())},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}});
    if control_plane {
        meta::set_label(&mut n, "node-role.kubernetes.io/control-plane", "");
        meta::set_label(
            &mut n,
            "node.kubernetes.io/exclude-from-external-load-balancers",
            "",
        );
        n["spec"]["taints"] =
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]);
    }
    n
}

pub fn three_nodes() -> Vec<Value> {
    vec![
        node("cp1", "192.168.77.10", true),
        node("w1", "192.168.77.11", false),
        node("w2", "192.168.77.12", false),
    ]
}

/// A running, ready pod of `owner` on `node_name` with the given revision hash.
pub fn ready_pod(owner: &Value, node_name: &str, hash: &str) -> Value {
    let generation = meta::annotation(owner, "deprecated.daemonset.template.generation")
        .unwrap_or("1")
        .to_string();
    let mut labels = owner["spec"]["template"]["metadata"]["labels"].clone();
    labels["controller-revision-hash"] = json!(hash);
    labels["pod-template-hash"] = json!(hash);
    labels["pod-template-generation"] = json!(generation);
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{}-{node_name}", meta::name(owner)), "namespace": meta::namespace(owner),
                     "uid": format!("pod-{}-{node_name}", meta::name(owner)),
                     "creationTimestamp": "2026-11-25T09:00:00Z",
                     "labels": labels, "ownerReferences": [meta::controller_ref(owner)]},
        "spec": {"nodeName": node_name, "containers": owner["spec"]["template"]["spec"]["containers"].clone()},
        "status": {"phase": "Running", "podIP": format!("10.244.0.{}", node_name.len()), "startTime": "2026-11-25T09:00:00Z",
                   "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-25T09:00:00Z"}]}})
}

pub fn creates<'a>(actions: &'a [Action], kind: &str) -> Vec<&'a Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Create(o) if o["kind"] == kind => Some(o),
            _ => None,
        })
        .collect()
}

pub fn updates<'a>(actions: &'a [Action], kind: &str) -> Vec<&'a Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Update(o) if o["kind"] == kind => Some(o),
            _ => None,
        })
        .collect()
}

pub fn deletes(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Delete { kind, name, .. } => Some(format!("{kind}/{name}")),
            _ => None,
        })
        .collect()
}

/// The status of the first status update of `kind`.
pub fn status_update(actions: &[Action], kind: &str) -> Option<Value> {
    actions.iter().find_map(|a| match a {
        Action::UpdateStatus(o) if o["kind"] == kind => Some(o["status"].clone()),
        _ => None,
    })
}

/// A minimal in-memory store for multi-pass tests: applies actions the way the API server would
/// (uids and creation times for new objects; status writes only touch status).
pub struct MemStore {
    pub objects: Vec<Value>,
    /// Pod logs by `namespace/name`.
    pub logs: std::collections::HashMap<String, String>,
    next_uid: u64,
}

/// A store with `objects` and a cluster past its boot: new pods then go through the kubelet's
/// steps (`podReadyDelay`, admission, pulls) instead of coming up at once.
pub fn booted(objects: Vec<Value>, settings: super::ClusterSettings) -> (MemStore, super::Cluster) {
    let mut store = MemStore::new(objects);
    let mut cluster = super::Cluster::new(settings);
    store.settle(&mut cluster, now(), 20);
    cluster.finish_boot();
    (store, cluster)
}

impl MemStore {
    pub fn new(objects: Vec<Value>) -> MemStore {
        let mut store = MemStore {
            objects: Vec::new(),
            logs: std::collections::HashMap::new(),
            next_uid: 0,
        };
        for o in objects {
            store.create(o, now());
        }
        store
    }

    fn create(&mut self, mut obj: Value, at: Timestamp) {
        self.next_uid += 1;
        let m = meta::object_at(&mut obj, &["metadata"]);
        m.entry("uid")
            .or_insert_with(|| json!(format!("uid-{}", self.next_uid)));
        m.entry("creationTimestamp")
            .or_insert_with(|| json!(meta::rfc3339(at)));
        m.entry("generation").or_insert(json!(1));
        self.objects.push(obj);
    }

    fn position(&self, obj: &Value) -> Option<usize> {
        self.objects.iter().position(|o| {
            o["kind"] == obj["kind"]
                && meta::name(o) == meta::name(obj)
                && meta::namespace(o) == meta::namespace(obj)
        })
    }

    pub fn world(&self) -> super::World {
        super::World::new(self.objects.clone())
    }

    pub fn apply(&mut self, actions: Vec<Action>, at: Timestamp) {
        for action in actions {
            match action {
                Action::Create(o) => {
                    if self.position(&o).is_none() {
                        self.create(o, at);
                    }
                }
                Action::Update(mut o) => {
                    if let Some(i) = self.position(&o) {
                        o["status"] = self.objects[i]["status"].clone();
                        if o["spec"] != self.objects[i]["spec"] {
                            o["metadata"]["generation"] = json!(meta::generation(&o) + 1);
                        }
                        self.objects[i] = o;
                    }
                }
                Action::UpdateStatus(o) => {
                    if let Some(i) = self.position(&o) {
                        self.objects[i]["status"] = o["status"].clone();
                    }
                }
                Action::Delete {
                    kind,
                    namespace,
                    name,
                    ..
                } => {
                    self.objects.retain(|o| {
                        !(o["kind"] == kind.as_str()
                            && meta::name(o) == name
                            && meta::namespace(o) == namespace)
                    });
                }
                Action::PodLog {
                    namespace,
                    name,
                    text,
                } => {
                    self.logs.insert(format!("{namespace}/{name}"), text);
                }
            }
        }
    }

    /// Runs passes at time `at` until the cluster has nothing left to do (at most `limit`).
    pub fn settle(&mut self, cluster: &mut super::Cluster, at: Timestamp, limit: usize) -> usize {
        for pass in 0..limit {
            let actions = cluster.reconcile(&self.world(), at);
            if actions.is_empty() {
                return pass;
            }
            self.apply(actions, at);
        }
        limit
    }

    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && meta::name(o) == name && meta::namespace(o) == namespace)
            .unwrap_or_else(|| panic!("{kind} {namespace}/{name} not found"))
    }

    pub fn pods(&self, name_prefix: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|o| o["kind"] == "Pod" && meta::name(o).starts_with(name_prefix))
            .collect()
    }
}

/// A trimmed MetalLB installation (the generator's).
pub fn metallb_install() -> Vec<Value> {
    super::generator::metallb_install()
}

pub fn ip_pool(name: &str, ns: &str, addresses: &[&str]) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": name, "namespace": ns}, "spec": {"addresses": addresses}})
}

pub fn l2_advertisement(name: &str, pools: &[&str]) -> Value {
    json!({"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": {"name": name, "namespace": "metallb-system"}, "spec": {"ipAddressPools": pools}})
}

pub fn lb_service(name: &str, created: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
        "spec": {"type": "LoadBalancer", "clusterIP": "10.96.10.1", "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
}

/// Events created so far, as `reason: message`.
pub fn events(store: &MemStore) -> Vec<String> {
    store
        .objects
        .iter()
        .filter(|o| o["kind"] == "Event")
        .map(|e| {
            format!(
                "{}: {}",
                meta::str_at(e, &["reason"]),
                meta::str_at(e, &["message"])
            )
        })
        .collect()
}

/// An EndpointSlice of `svc` (not the controller's, so it stays) with one endpoint per
/// `(node, ready, serving)`.
pub fn endpoint_slice(svc: &str, endpoints: &[(&str, bool, bool)]) -> Value {
    let eps: Vec<Value> = endpoints
        .iter()
        .enumerate()
        .map(|(i, (node, ready, serving))| {
            json!({"addresses": [format!("10.244.9.{}", i + 1)], "nodeName": node,
                "conditions": {"ready": ready, "serving": serving, "terminating": !serving}})
        })
        .collect();
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": format!("{svc}-manual"), "namespace": "default",
            "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4", "endpoints": eps, "ports": [{"port": 8080, "protocol": "TCP"}]})
}
