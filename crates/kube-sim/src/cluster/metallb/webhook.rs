//! MetalLB's validating webhooks as the API server experiences them: a call fails until the
//! webhook Service has a ready endpoint and the controller listens (and has injected its CA);
//! once serving, MetalLB rejects objects outside its namespace and invalid or overlapping pools.
//! Answers are the exact Status bodies a real API server sends.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::super::endpoints;
use super::super::meta;
use super::super::settings::MetalLbSettings;
use super::super::world::World;
use super::addresses;

/// The write the API server is about to admit.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub group: &'a str,
    pub version: &'a str,
    /// Plural resource (`ipaddresspools`).
    pub resource: &'a str,
    /// `CREATE`, `UPDATE` or `DELETE`.
    pub operation: &'a str,
    pub namespace: &'a str,
    /// The object as it would be stored (None for deletes).
    pub object: Option<&'a Value>,
}

/// What the webhook server is doing, from the stand-in's memory.
#[derive(Debug, Clone, Copy)]
pub struct Serving {
    /// When the webhook Service first had a ready endpoint (None: not seen yet).
    pub endpoints_since: Option<Timestamp>,
    pub now: Timestamp,
}

fn list_contains(rule: &Value, key: &str, want: &str) -> bool {
    rule.get(key)
        .and_then(Value::as_array)
        .is_some_and(|vs| vs.iter().any(|v| v == want || v == "*"))
}

/// Every webhook of every ValidatingWebhookConfiguration.
pub fn all_webhooks(world: &World) -> impl Iterator<Item = &Value> {
    world
        .list("ValidatingWebhookConfiguration")
        .iter()
        .flat_map(|c| {
            c.get("webhooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
}

/// The webhooks whose rules match the call.
fn matching<'a>(world: &'a World, call: &Call) -> Vec<&'a Value> {
    all_webhooks(world)
        .filter(|w| {
            w.get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|r| {
                    list_contains(r, "apiGroups", call.group)
                        && list_contains(r, "apiVersions", call.version)
                        && list_contains(r, "resources", call.resource)
                        && list_contains(r, "operations", call.operation)
                })
        })
        .collect()
}

/// Runs every matching webhook; `Err` is the Status body the API server answers with.
pub fn admit(
    world: &World,
    call: &Call,
    serving: Serving,
    settings: &MetalLbSettings,
) -> Result<(), Value> {
    for hook in matching(world, call) {
        let name = meta::str_at(hook, &["name"]);
        let svc = &hook["clientConfig"]["service"];
        let (svc_ns, svc_name) = (
            meta::str_at(svc, &["namespace"]),
            meta::str_at(svc, &["name"]),
        );
        if let Err(problem) = reachable(world, hook, serving, settings) {
            if meta::str_at(hook, &["failurePolicy"]) == "Ignore" {
                continue;
            }
            let port = svc.get("port").and_then(Value::as_i64).unwrap_or(443);
            let timeout = hook
                .get("timeoutSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(10);
            let url = format!(
                "https://{svc_name}.{svc_ns}.svc:{port}{}?timeout={timeout}s",
                meta::str_at(svc, &["path"])
            );
            let cause = format!(
                "failed calling webhook \"{name}\": failed to call webhook: Post \"{url}\": {problem}"
            );
            return Err(json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": format!("Internal error occurred: {cause}"),
                "reason": "InternalError",
                "details": {"causes": [{"message": cause}]},
                "code": 500,
            }));
        }
        if let Err(reason) = validate(world, call, svc_ns) {
            return Err(json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": format!("admission webhook \"{name}\" denied the request: {reason}"),
                "code": 403,
            }));
        }
    }
    Ok(())
}

/// Why the API server cannot get an answer from the webhook, if it cannot.
fn reachable(
    world: &World,
    hook: &Value,
    serving: Serving,
    settings: &MetalLbSettings,
) -> Result<(), String> {
    let svc = &hook["clientConfig"]["service"];
    let (ns, name) = (
        meta::str_at(svc, &["namespace"]),
        meta::str_at(svc, &["name"]),
    );
    if world.get("Service", ns, name).is_none() {
        return Err(format!("service \"{name}\" not found"));
    }
    let Some(ip) = endpoints::ready_address(world, ns, name) else {
        return Err(format!("no endpoints available for service \"{name}\""));
    };
    let settle = SignedDuration::try_from(settings.webhook_settle).unwrap_or_default();
    let listening = settings.webhook_serving
        && serving
            .endpoints_since
            .is_some_and(|since| since + settle <= serving.now);
    if !listening {
        let port = target_port(world, ns, name);
        return Err(format!("dial tcp {ip}:{port}: connect: connection refused"));
    }
    let ca = meta::str_at(hook, &["clientConfig", "caBundle"]);
    if ca.is_empty() {
        return Err(
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"
                .to_string(),
        );
    }
    Ok(())
}

/// The port the webhook's endpoints listen on (from the EndpointSlice, else the Service).
fn target_port(world: &World, ns: &str, name: &str) -> i64 {
    world
        .in_namespace("EndpointSlice", ns)
        .filter(|s| meta::label(s, "kubernetes.io/service-name") == Some(name))
        .find_map(|s| s.pointer("/ports/0/port").and_then(Value::as_i64))
        .unwrap_or(443)
}

/// What MetalLB's webhook handlers check: `Err` is the reason they deny the call with.
pub fn validate(world: &World, call: &Call, metallb_ns: &str) -> Result<(), String> {
    if call.operation == "DELETE" {
        return Ok(());
    }
    if call.namespace != metallb_ns {
        return Err(format!(
            "resource must be created in {metallb_ns} namespace"
        ));
    }
    if call.resource != "ipaddresspools" {
        return Ok(());
    }
    let Some(candidate) = call.object else {
        return Ok(());
    };
    let name = meta::name(candidate);
    // The whole configuration is parsed: existing pools (but the one being replaced) first.
    let mut objects: Vec<&Value> = world
        .in_namespace("IPAddressPool", metallb_ns)
        .filter(|p| meta::name(p) != name)
        .collect();
    objects.sort_by_key(|p| meta::name(p));
    objects.push(candidate);
    let mut pools = Vec::new();
    for pool in objects {
        pools.push(
            super::pool_ranges(pool)
                .map_err(|e| format!("parsing address pool {}: {e}", meta::name(pool)))?,
        );
    }
    let node_ips: Vec<std::net::IpAddr> = world
        .list("Node")
        .iter()
        .flat_map(|n| {
            n.pointer("/status/addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|a| meta::str_at(a, &["type"]) == "InternalIP")
        .filter_map(|a| meta::str_at(a, &["address"]).parse().ok())
        .collect();
    addresses::validate(&pools, &node_ips)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::testutil::*;

    /// The shapes of MetalLB's webhook configuration, Service and endpoints, trimmed to what the
    /// API server reads.
    pub fn webhook_objects(ready: bool, ca: &str) -> Vec<Value> {
        vec![
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": "metallb-webhook-configuration"},
                "webhooks": [{"name": "ipaddresspoolvalidationwebhook.metallb.io", "failurePolicy": "Fail",
                    "clientConfig": {"caBundle": ca, "service": {"name": "metallb-webhook-service", "namespace": "metallb-system", "path": "/validate-metallb-io-v1beta1-ipaddresspool"}},
                    "rules": [{"apiGroups": ["metallb.io"], "apiVersions": ["v1beta1"], "operations": ["CREATE", "UPDATE"], "resources": ["ipaddresspools"]}]}]}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metallb-webhook-service", "namespace": "metallb-system"},
                "spec": {"selector": {"component": "controller"}, "ports": [{"port": 443, "targetPort": 9443}]}}),
            json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "metallb-webhook-service-dl7kl", "namespace": "metallb-system", "labels": {"kubernetes.io/service-name": "metallb-webhook-service"}},
                "endpoints": [{"addresses": ["10.244.184.26"], "conditions": {"ready": ready}}], "ports": [{"name": "", "port": 9443, "protocol": "TCP"}]}),
        ]
    }

    fn pool(ns: &str, addresses: &str) -> Value {
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "p2", "namespace": ns}, "spec": {"addresses": [addresses]}})
    }

    fn call<'a>(obj: &'a Value) -> Call<'a> {
        Call {
            group: "metallb.io",
            version: "v1beta1",
            resource: "ipaddresspools",
            operation: "CREATE",
            namespace: meta::namespace(obj),
            object: Some(obj),
        }
    }

    fn served() -> Serving {
        Serving {
            endpoints_since: Some(now() - SignedDuration::from_secs(5)),
            now: now(),
        }
    }

    fn reference(name: &str) -> Option<Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/kube-api-v1.36")
            .join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(serde_json::from_str(&text).unwrap()),
            Err(_) => {
                println!("skipping the comparison: {} is absent", path.display());
                None
            }
        }
    }

    #[test]
    fn no_ready_endpoint_answers_like_the_recording() {
        let world = World::new(webhook_objects(false, ""));
        let p = pool("metallb-system", "172.31.41.240-172.31.41.250");
        let err = admit(&world, &call(&p), served(), &MetalLbSettings::default()).unwrap_err();
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .ends_with("no endpoints available for service \"metallb-webhook-service\"")
        );
        if let Some(recorded) = reference("error-500-webhook-no-endpoints.json") {
            assert_eq!(err, recorded);
        }
    }

    #[test]
    fn endpoints_but_not_listening_is_connection_refused() {
        let world = World::new(webhook_objects(true, ""));
        let p = pool("metallb-system", "172.31.41.240-172.31.41.250");
        let just_ready = Serving {
            endpoints_since: Some(now()),
            now: now(),
        };
        let err = admit(&world, &call(&p), just_ready, &MetalLbSettings::default()).unwrap_err();
        if let Some(recorded) = reference("error-500-webhook-connection-refused.json") {
            assert_eq!(err, recorded);
        }
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .ends_with("dial tcp 10.244.184.26:9443: connect: connection refused")
        );
        let never = MetalLbSettings {
            webhook_serving: false,
            ..MetalLbSettings::default()
        };
        assert!(
            admit(&world, &call(&p), served(), &never).is_err(),
            "webhookServing: false never serves"
        );
    }

    #[test]
    fn missing_ca_bundle_is_a_tls_error() {
        let world = World::new(webhook_objects(true, ""));
        let p = pool("metallb-system", "172.31.41.240-172.31.41.250");
        let err = admit(&world, &call(&p), served(), &MetalLbSettings::default()).unwrap_err();
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .ends_with("x509: certificate signed by unknown authority"),
            "{err}"
        );
    }

    #[test]
    fn serving_webhook_accepts_and_rejects_like_metallb() {
        let world = World::new([webhook_objects(true, "Q0E="), three_nodes()].concat());
        let settings = MetalLbSettings::default();
        let ok = pool("metallb-system", "172.31.41.240-172.31.41.250");
        assert!(admit(&world, &call(&ok), served(), &settings).is_ok());
        let wrong = pool("default", "172.31.41.240-172.31.41.250");
        let err = admit(&world, &call(&wrong), served(), &settings).unwrap_err();
        if let Some(recorded) = reference("error-403-webhook-denied-wrong-namespace.json") {
            assert_eq!(err, recorded);
        }
        let on_nodes = pool("metallb-system", "192.168.77.0/24");
        let err = admit(&world, &call(&on_nodes), served(), &settings).unwrap_err();
        assert!(
            err["message"].as_str().unwrap().contains("contains nodeIp"),
            "{err}"
        );
        let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}});
        let cm = Call {
            group: "",
            version: "v1",
            resource: "configmaps",
            operation: "CREATE",
            namespace: "default",
            object: Some(&other),
        };
        assert!(
            admit(
                &World::new(webhook_objects(false, "")),
                &cm,
                served(),
                &settings
            )
            .is_ok(),
            "only metallb.io is hooked"
        );
    }

    #[test]
    fn overlapping_pool_is_denied() {
        let mut existing = pool("metallb-system", "172.19.255.200-172.19.255.250");
        existing["metadata"]["name"] = json!("lab-pool");
        let world = World::new([webhook_objects(true, "Q0E="), vec![existing]].concat());
        let mut new = pool("metallb-system", "172.19.255.230-172.19.255.239");
        new["metadata"]["name"] = json!("lab-pool-reserved");
        let err = admit(&world, &call(&new), served(), &MetalLbSettings::default()).unwrap_err();
        assert_eq!(
            err["message"],
            "admission webhook \"ipaddresspoolvalidationwebhook.metallb.io\" denied the request: CIDR \"172.19.255.230/31\" in pool \"lab-pool-reserved\" overlaps with already defined CIDR \"172.19.255.224/28\""
        );
    }
}
