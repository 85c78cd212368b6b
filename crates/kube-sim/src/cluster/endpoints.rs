//! The EndpointSlice controller: one `discovery.k8s.io/v1` slice per selecting Service, listing
//! the selected pods that have an IP with their ready/serving/terminating conditions.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::meta::{self, rfc3339};
use super::pods;
use super::world::{Action, World};

const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
const CONTROLLER: &str = "endpointslice-controller.k8s.io";
const SERVICE_NAME: &str = "kubernetes.io/service-name";

pub fn sync(world: &World, now: Timestamp) -> Vec<Action> {
    let mut actions = Vec::new();
    // The controller's slices by (namespace, Service name), in store order.
    let mut slices: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
    for slice in world.list("EndpointSlice") {
        if meta::label(slice, MANAGED_BY) == Some(CONTROLLER)
            && let Some(svc) = meta::label(slice, SERVICE_NAME)
        {
            slices
                .entry((meta::namespace(slice), svc))
                .or_default()
                .push(slice);
        }
    }
    for svc in world.list("Service") {
        let Some(selector) = svc.pointer("/spec/selector").and_then(Value::as_object) else {
            continue;
        };
        if selector.is_empty()
            || meta::str_at(svc, &["spec", "type"]) == "ExternalName"
            || meta::is_terminating(svc)
        {
            continue;
        }
        let ns = meta::namespace(svc);
        let selected: Vec<&Value> = world
            .in_namespace("Pod", ns)
            .filter(|p| {
                meta::map_selects(selector, p) && !meta::str_at(p, &["status", "podIP"]).is_empty()
            })
            .collect();
        let (endpoints, ports) = desired(svc, &selected);
        let existing = slices
            .get(&(ns, meta::name(svc)))
            .map(Vec::as_slice)
            .unwrap_or_default();
        match existing.split_first() {
            None => actions.push(Action::Create(new_slice(svc, endpoints, ports, now))),
            Some((slice, extra)) => {
                if slice["endpoints"] != endpoints || slice["ports"] != ports {
                    let mut updated = (*slice).clone();
                    updated["endpoints"] = endpoints;
                    updated["ports"] = ports;
                    meta::set_annotation(
                        &mut updated,
                        "endpoints.kubernetes.io/last-change-trigger-time",
                        &rfc3339(now),
                    );
                    actions.push(Action::Update(updated));
                }
                actions.extend(extra.iter().map(|s| Action::delete_of(s)));
            }
        }
    }
    // Slices whose Service is gone go too (the garbage collector would remove them by owner).
    for slice in world.list("EndpointSlice") {
        if meta::label(slice, MANAGED_BY) != Some(CONTROLLER) {
            continue;
        }
        let svc = meta::label(slice, SERVICE_NAME).unwrap_or("");
        if world.get("Service", meta::namespace(slice), svc).is_none() {
            actions.push(Action::delete_of(slice));
        }
    }
    actions
}

/// The endpoints and ports a slice should hold (Go nil slices serialize as null).
fn desired(svc: &Value, selected: &[&Value]) -> (Value, Value) {
    let mut endpoints: Vec<Value> = selected
        .iter()
        .map(|p| {
            let terminating = meta::is_terminating(p);
            let ready = pods::is_ready(p) && !terminating;
            let mut ep = json!({
                "addresses": [meta::str_at(p, &["status", "podIP"])],
                "conditions": {"ready": ready, "serving": pods::is_ready(p), "terminating": terminating},
                "nodeName": meta::str_at(p, &["spec", "nodeName"]),
                "targetRef": {"kind": "Pod", "name": meta::name(p), "namespace": meta::namespace(p), "uid": meta::uid(p)},
            });
            if ep["nodeName"] == "" {
                ep.as_object_mut().map(|o| o.remove("nodeName"));
            }
            ep
        })
        .collect();
    endpoints.sort_by(|a, b| a["addresses"][0].as_str().cmp(&b["addresses"][0].as_str()));
    let ports: Vec<Value> = match selected.first() {
        None => Vec::new(),
        Some(pod) => svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|sp| {
                let port = resolve_target_port(sp, pod)?;
                let mut p = json!({"name": meta::str_at(sp, &["name"]), "port": port, "protocol": sp.get("protocol").and_then(Value::as_str).unwrap_or("TCP")});
                if let Some(ap) = sp.get("appProtocol") {
                    p["appProtocol"] = ap.clone();
                }
                Some(p)
            })
            .collect(),
    };
    let nil_if_empty = |v: Vec<Value>| {
        if v.is_empty() {
            Value::Null
        } else {
            Value::Array(v)
        }
    };
    (nil_if_empty(endpoints), nil_if_empty(ports))
}

/// A Service port's target on a pod: a number, a named container port, or the port itself.
fn resolve_target_port(service_port: &Value, pod: &Value) -> Option<i64> {
    match service_port.get("targetPort") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)?
            .iter()
            .flat_map(|c| {
                c.get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .find(|p| meta::str_at(p, &["name"]) == name)
            .and_then(|p| p.get("containerPort"))
            .and_then(Value::as_i64),
        _ => service_port.get("port").and_then(Value::as_i64),
    }
}

fn new_slice(svc: &Value, endpoints: Value, ports: Value, now: Timestamp) -> Value {
    let prefix = format!("{}-", meta::name(svc));
    let mut labels = svc
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    labels[MANAGED_BY] = json!(CONTROLLER);
    labels[SERVICE_NAME] = json!(meta::name(svc));
    let owner = json!({"apiVersion": "v1", "kind": "Service", "metadata": svc["metadata"].clone()});
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": format!("{prefix}{}", meta::random_suffix()),
            "generateName": prefix,
            "namespace": meta::namespace(svc),
            "labels": labels,
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": rfc3339(now)},
            "ownerReferences": [meta::controller_ref(&owner)],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    })
}

/// The ready endpoints of a Service, over all its EndpointSlices.
pub fn ready_endpoints<'a>(
    world: &'a World,
    namespace: &str,
    service: &str,
) -> impl Iterator<Item = &'a Value> + use<'a> {
    let service = service.to_string();
    world
        .in_namespace("EndpointSlice", namespace)
        .filter(move |s| meta::label(s, SERVICE_NAME) == Some(service.as_str()))
        .flat_map(|s| {
            s.get("endpoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(true))
}

/// Whether a Service has at least one ready endpoint (what the API server needs to reach a
/// webhook behind it); returns the first ready address.
pub fn ready_address<'a>(world: &'a World, namespace: &str, service: &str) -> Option<&'a str> {
    ready_endpoints(world, namespace, service)
        .find_map(|e| e.pointer("/addresses/0"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::testutil::*;

    fn webhook_service() -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "metallb-webhook-service", "namespace": "metallb-system", "uid": "svc-uid"},
            "spec": {"selector": {"component": "controller"}, "ports": [{"port": 443, "targetPort": 9443}]}})
    }

    fn controller_pod(ready: bool) -> Value {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "controller-658745d67-fsj8s", "namespace": "metallb-system", "uid": "pod-uid", "labels": {"component": "controller"}},
            "spec": {"nodeName": "w2", "containers": [{"name": "controller", "ports": [{"name": "webhook-server", "containerPort": 9443}]}]},
            "status": {"phase": "Running", "podIP": "10.244.184.26", "conditions": [{"type": "Ready", "status": "True"}]}});
        if !ready {
            pod["status"]["conditions"][0]["status"] = json!("False");
        }
        pod
    }

    #[test]
    fn slice_has_the_real_shape() {
        let world = World::new(vec![webhook_service(), controller_pod(true)]);
        let actions = sync(&world, now());
        let slice = creates(&actions, "EndpointSlice")[0];
        assert!(meta::name(slice).starts_with("metallb-webhook-service-"));
        assert_eq!(
            slice["metadata"]["generateName"],
            "metallb-webhook-service-"
        );
        assert_eq!(slice["metadata"]["labels"][MANAGED_BY], CONTROLLER);
        assert_eq!(
            slice["metadata"]["labels"][SERVICE_NAME],
            "metallb-webhook-service"
        );
        assert_eq!(
            slice["metadata"]["ownerReferences"][0],
            json!({"apiVersion": "v1", "kind": "Service", "name": "metallb-webhook-service", "uid": "svc-uid", "controller": true, "blockOwnerDeletion": true})
        );
        assert_eq!(slice["addressType"], "IPv4");
        assert_eq!(
            slice["ports"],
            json!([{"name": "", "port": 9443, "protocol": "TCP"}])
        );
        assert_eq!(
            slice["endpoints"],
            json!([{"addresses": ["10.244.184.26"], "conditions": {"ready": true, "serving": true, "terminating": false}, "nodeName": "w2",
                    "targetRef": {"kind": "Pod", "name": "controller-658745d67-fsj8s", "namespace": "metallb-system", "uid": "pod-uid"}}])
        );
    }

    #[test]
    fn unready_pods_are_listed_not_ready_and_do_not_count() {
        let world = World::new(vec![webhook_service(), controller_pod(false)]);
        let actions = sync(&world, now());
        let slice = creates(&actions, "EndpointSlice")[0].clone();
        assert_eq!(slice["endpoints"][0]["conditions"]["ready"], false);
        let world = World::new(vec![webhook_service(), controller_pod(false), slice]);
        assert_eq!(
            ready_address(&world, "metallb-system", "metallb-webhook-service"),
            None
        );
        assert!(sync(&world, now()).is_empty(), "nothing changes: no write");
    }

    #[test]
    fn slice_follows_readiness_and_named_ports() {
        let mut svc = webhook_service();
        svc["spec"]["ports"][0]["targetPort"] = json!("webhook-server");
        svc["spec"]["ports"][0]["name"] = json!("https");
        let world = World::new(vec![svc.clone(), controller_pod(false)]);
        let slice = creates(&sync(&world, now()), "EndpointSlice")[0].clone();
        assert_eq!(
            slice["ports"],
            json!([{"name": "https", "port": 9443, "protocol": "TCP"}])
        );
        let world = World::new(vec![svc, controller_pod(true), slice]);
        let actions = sync(&world, now());
        let updated = updates(&actions, "EndpointSlice")[0];
        assert_eq!(updated["endpoints"][0]["conditions"]["ready"], true);
        let world = World::new(vec![updated.clone()]);
        assert_eq!(
            ready_address(&world, "metallb-system", "metallb-webhook-service"),
            Some("10.244.184.26")
        );
    }

    #[test]
    fn service_without_pods_gets_an_empty_slice_and_orphans_go() {
        let world = World::new(vec![webhook_service()]);
        let slice = creates(&sync(&world, now()), "EndpointSlice")[0].clone();
        assert_eq!(slice["endpoints"], Value::Null);
        assert_eq!(slice["ports"], Value::Null);
        let world = World::new(vec![slice]);
        assert_eq!(deletes(&sync(&world, now())).len(), 1);
    }
}
