//! kube-sim against a real kube-apiserver v1.36, live: the same requests to both, and the same
//! answers (status code, reason, message, causes, and for some the parts of the object that
//! matter). Each case is a write a real server refuses that kube-sim once accepted, or one
//! lbctl's tests rely on; the real control plane is the judge (`crates/control-plane`; the test
//! skips, saying so, where its binaries are absent).
//!
//! `kube_sim_answers_as_the_real_server_does` runs the API server alone (no controllers, so no
//! garbage collector and no ServiceAccount controller) against kube-sim without its simulated
//! cluster; `garbage_collection_follows_the_propagation_policy` runs both with their
//! controllers.

mod common;

use control_plane::{ADMIN, ControlPlane, ControlPlaneOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What a case sends.
enum Body {
    None,
    Json(Value),
    /// Sent as it is, with this content type.
    Raw(&'static str, &'static str),
}

/// One request, sent after `setup` (each to both servers, answers not compared).
struct Case {
    name: &'static str,
    setup: Vec<(&'static str, &'static str, Value)>,
    method: &'static str,
    path: &'static str,
    body: Body,
    /// Parts of the answer's body compared too (JSON pointers; a leading `?` compares only
    /// whether the part is there).
    compare: &'static [&'static str],
}

impl Case {
    fn new(name: &'static str, method: &'static str, path: &'static str, body: Body) -> Case {
        Case {
            name,
            setup: Vec::new(),
            method,
            path,
            body,
            compare: &[],
        }
    }

    fn after(mut self, method: &'static str, path: &'static str, body: Value) -> Case {
        self.setup.push((method, path, body));
        self
    }

    fn comparing(mut self, pointers: &'static [&'static str]) -> Case {
        self.compare = pointers;
        self
    }
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const SECRETS: &str = "/api/v1/namespaces/default/secrets";
const PODS: &str = "/api/v1/namespaces/default/pods";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const SLICES: &str = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": data})
}

fn named_cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
}

fn deployment(app: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": app}},
                 "template": {"metadata": {"labels": {"app": app}},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}}})
}

/// A Deployment named `d2` with `spec` members replaced by `spec`'s and the container's by
/// `container`'s.
fn deployment_with(spec: Value, container: Value) -> Value {
    let mut d = deployment("a");
    d["metadata"]["name"] = json!("d2");
    for (k, v) in spec.as_object().unwrap() {
        d["spec"][k] = v.clone();
    }
    for (k, v) in container.as_object().unwrap() {
        d["spec"]["template"]["spec"]["containers"][0][k] = v.clone();
    }
    d
}

fn pod(name: &str, spec: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}});
    for (k, v) in spec.as_object().unwrap() {
        p["spec"][k] = v.clone();
    }
    p
}

fn slice(address_type: &str, addresses: Value) -> Value {
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "s", "namespace": "default"}, "addressType": address_type,
        "endpoints": [{"addresses": addresses}], "ports": [{"port": 443, "protocol": "TCP"}]})
}

/// A CRD as lbctl's first releases wrote it: a description on the root `metadata`.
fn described_metadata_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                         "metadata": {"type": "object", "description": "Standard object metadata."},
                         "spec": {"type": "object", "x-kubernetes-list-type": "atomic"}}}}}]}})
}

const DELETED: &[&str] = &[
    "/metadata/finalizers",
    "/metadata/deletionGracePeriodSeconds",
    "?/metadata/deletionTimestamp",
    "/status",
    "/details/kind",
];

fn cases() -> Vec<Case> {
    use Body::{Json, Raw};
    vec![
        Case::new(
            "a CRD with a described root metadata and a list type on an object",
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            Json(described_metadata_crd()),
        ),
        Case::new(
            "an unknown field under fieldValidation=Strict",
            "POST",
            "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
            Json({
                let mut c = cm(json!({"x": "y"}));
                c["spec"] = json!({"foo": 1});
                c
            }),
        ),
        Case::new(
            "a Deployment's selector changed",
            "PUT",
            "/apis/apps/v1/namespaces/default/deployments/d",
            Json(deployment("b")),
        )
        .after("POST", DEPLOYMENTS, deployment("a")),
        // Typed decoding.
        Case::new(
            "a ConfigMap value that is not a string",
            "POST",
            CMS,
            Json(cm(json!({"x": true}))),
        ),
        Case::new(
            "a number in ConfigMap.data",
            "POST",
            CMS,
            Json(cm(json!({"x": 1}))),
        ),
        Case::new(
            "ConfigMap.data as a list, after an unknown field and before a number",
            "POST",
            CMS,
            Raw(
                r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"other":1,"data":[],"binaryData":{"a":1}}"#,
                "application/json",
            ),
        ),
        Case::new(
            "YAML: the first wrong type in key order",
            "POST",
            CMS,
            Raw(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {b: 1, a: true}\n",
                "application/yaml",
            ),
        ),
        Case::new(
            "a label that is a number",
            "POST",
            CMS,
            Json(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": 1}}}),
            ),
        ),
        Case::new(
            "Secret data that is not base64",
            "POST",
            SECRETS,
            Json(
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"x": "YWJjZA"}}),
            ),
        ),
        Case::new(
            "a string for a Deployment's spec.replicas",
            "POST",
            DEPLOYMENTS,
            Json(deployment_with(json!({"replicas": "3"}), json!({}))),
        ),
        Case::new(
            "a fraction for a Deployment's spec.replicas",
            "POST",
            DEPLOYMENTS,
            Raw(
                r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d2"},"spec":{"replicas":1.0}}"#,
                "application/json",
            ),
        ),
        Case::new(
            "a string for a container port, in an update",
            "PUT",
            "/apis/apps/v1/namespaces/default/deployments/d",
            Json({
                let mut d = deployment_with(json!({}), json!({"ports": [{"containerPort": "80"}]}));
                d["metadata"]["name"] = json!("d");
                d
            }),
        ),
        Case::new(
            "a bool for an int-or-string",
            "POST",
            DEPLOYMENTS,
            Json(deployment_with(
                json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": true}}}),
                json!({}),
            )),
        ),
        Case::new(
            "a quantity that is not one",
            "POST",
            DEPLOYMENTS,
            Json(deployment_with(
                json!({}),
                json!({"resources": {"limits": {"cpu": "1kk"}}}),
            )),
        ),
        Case::new(
            "a number for a probe's path (promoted from ProbeHandler)",
            "POST",
            DEPLOYMENTS,
            Json(deployment_with(
                json!({}),
                json!({"livenessProbe": {"httpGet": {"path": 5, "port": 80}}}),
            )),
        ),
        // ServiceAccount admission.
        Case::new(
            "a pod naming a ServiceAccount that does not exist",
            "POST",
            PODS,
            Json(pod("p", json!({"serviceAccountName": "missing"}))),
        ),
        Case::new(
            "a generated pod name and a missing ServiceAccount in the deprecated field",
            "POST",
            PODS,
            Json({
                let mut p = pod("", json!({"serviceAccount": "gone"}));
                p["metadata"] = json!({"generateName": "gen-"});
                p
            }),
        ),
        Case::new(
            "a missing ServiceAccount before an invalid name",
            "POST",
            PODS,
            Json(pod("Bad_Name", json!({"serviceAccountName": "missing"}))),
        ),
        Case::new(
            "a pod in a namespace without its default ServiceAccount (no controller made it)",
            "POST",
            "/api/v1/namespaces/fresh/pods",
            Json(pod("p", json!({}))),
        )
        .after(
            "POST",
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}}),
        ),
        // EndpointSlice addresses.
        Case::new(
            "an EndpointSlice with a loopback address",
            "POST",
            SLICES,
            Json(slice("IPv4", json!(["127.0.0.1"]))),
        ),
        Case::new(
            "an IPv6 loopback in an IPv4 EndpointSlice",
            "POST",
            SLICES,
            Json(slice("IPv4", json!(["10.0.0.1", "::1"]))),
        ),
        Case::new(
            "link-local, unspecified and leading zeros",
            "POST",
            SLICES,
            Json(slice(
                "IPv4",
                json!(["169.254.1.1", "0.0.0.0", "224.0.0.5", "010.0.0.1"]),
            )),
        ),
        Case::new(
            "an IPv4 address in an IPv6 EndpointSlice, a mapped one and link-local",
            "POST",
            SLICES,
            Json(slice(
                "IPv6",
                json!(["10.0.0.1", "::ffff:10.0.0.1", "fe80::1"]),
            )),
        ),
        Case::new(
            "an FQDN without a dot",
            "POST",
            SLICES,
            Json(slice("FQDN", json!(["localhost"]))),
        ),
        // A pod's QoS class.
        Case::new(
            "a pod's status.qosClass changed",
            "PATCH",
            "/api/v1/namespaces/default/pods/q/status",
            Raw(
                r#"{"status":{"qosClass":"Guaranteed"}}"#,
                "application/merge-patch+json",
            ),
        )
        .after("POST", PODS, pod("q", json!({}))),
        Case::new(
            "a pod's status.qosClass emptied",
            "PATCH",
            "/api/v1/namespaces/default/pods/q/status",
            Raw(
                r#"{"status":{"qosClass":""}}"#,
                "application/merge-patch+json",
            ),
        )
        .comparing(&["/status/qosClass"]),
        // Deletion propagation without a garbage collector.
        Case::new(
            "a Foreground delete",
            "DELETE",
            "/api/v1/namespaces/default/configmaps/fg",
            Json(json!({"propagationPolicy": "Foreground"})),
        )
        .after("POST", CMS, named_cm("fg"))
        .comparing(DELETED),
        Case::new(
            "the Foreground-deleted object, with nobody to collect its dependents",
            "GET",
            "/api/v1/namespaces/default/configmaps/fg",
            Body::None,
        )
        .comparing(DELETED),
        Case::new(
            "an Orphan delete in the query",
            "DELETE",
            "/api/v1/namespaces/default/configmaps/or?propagationPolicy=Orphan",
            Body::None,
        )
        .after("POST", CMS, named_cm("or"))
        .comparing(DELETED),
        Case::new(
            "a Background delete",
            "DELETE",
            "/api/v1/namespaces/default/configmaps/bg",
            Json(json!({"propagationPolicy": "Background"})),
        )
        .after("POST", CMS, named_cm("bg"))
        .comparing(DELETED),
        Case::new(
            "an unknown propagation policy",
            "DELETE",
            "/api/v1/namespaces/default/configmaps/c?propagationPolicy=Bogus",
            Body::None,
        ),
        Case::new(
            "a propagation policy and orphanDependents",
            "DELETE",
            "/api/v1/namespaces/default/configmaps/c",
            Json(json!({"propagationPolicy": "Orphan", "orphanDependents": false})),
        ),
        // doctor --bundle asks for the previous container's log: the API server checks the
        // container, and for a pod on no node answers nothing before any kubelet is asked.
        Case::new(
            "the previous log of a pod on no node",
            "GET",
            "/api/v1/namespaces/default/pods/lp/log?previous=true&tailLines=5",
            Body::None,
        )
        .after("POST", PODS, pod("lp", json!({}))),
        Case::new(
            "the previous log of a container the pod does not have",
            "GET",
            "/api/v1/namespaces/default/pods/lq/log?container=nope&previous=true",
            Body::None,
        )
        .after("POST", PODS, pod("lq", json!({}))),
    ]
}

/// What must be equal: code, reason, message and causes (as a set: the order of Go maps), and
/// the parts of the body `compare` names.
fn essence(answer: &common::Answer, compare: &[&str]) -> Value {
    let b = &answer.body;
    let mut causes: Vec<String> = b["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {} {}", c["reason"], c["field"], c["message"]))
        .collect();
    causes.sort();
    let parts: Vec<Value> = compare
        .iter()
        .map(|p| match p.strip_prefix('?') {
            Some(p) => json!(b.pointer(p).is_some()),
            None => b.pointer(p).cloned().unwrap_or(Value::Null),
        })
        .collect();
    let reason = if answer.code < 300 {
        Value::Null
    } else {
        b["reason"].clone()
    };
    json!({"code": answer.code, "reason": reason, "message": b["message"], "causes": causes, "parts": parts})
}

async fn send(client: &kube::Client, method: &str, path: &str, body: &Body) -> common::Answer {
    match body {
        Body::None => common::call(client, method, path, "", None, None).await,
        Body::Json(v) => {
            common::call(client, method, path, "application/json", Some(v), None).await
        }
        Body::Raw(text, content_type) => {
            let headers = [("content-type", *content_type)];
            common::call_bytes(client, method, path, &headers, text.as_bytes().to_vec()).await
        }
    }
}

#[test]
fn kube_sim_answers_as_the_real_server_does() {
    if control_plane::should_skip() {
        return;
    }
    let real = ControlPlane::start(ControlPlaneOptions {
        controllers: false,
        ..ControlPlaneOptions::default()
    })
    .expect("the real control plane starts");
    // Without the simulated cluster, as the real server runs without its controllers here.
    let sim = kube_sim::SimBuilder::new(kube_sim::Scenario::empty())
        .spawn()
        .expect("kube-sim starts");
    common::runtime().block_on(async {
        let real_client = real.client(ADMIN).await;
        let sim_client = common::client_for(&sim, "admin").await;
        // The default ServiceAccount the real controller manager would make (kube-sim's
        // scenario namespaces have theirs).
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}});
        let made = common::call(&real_client, "POST", "/api/v1/namespaces/default/serviceaccounts", "application/json", Some(&sa), None).await;
        assert_eq!(made.code, 201, "{}", made.text);
        let mut differences = Vec::new();
        for case in cases() {
            let mut answers = Vec::new();
            for client in [&real_client, &sim_client] {
                for (method, path, body) in &case.setup {
                    let a = common::call(client, method, path, "application/json", Some(body), None).await;
                    assert!(a.code < 300, "{}: setup {method} {path}: {}", case.name, a.text);
                }
                let mut body = case.body.clone_json();
                if case.method == "PUT" && let Body::Json(b) = &mut body {
                    // The resourceVersion of the object the setup made.
                    let current = common::call(client, "GET", case.path, "", None, None).await;
                    b["metadata"]["resourceVersion"] = current.body["metadata"]["resourceVersion"].clone();
                }
                answers.push(send(client, case.method, case.path, &body).await);
            }
            let (want, got) = (essence(&answers[0], case.compare), essence(&answers[1], case.compare));
            if want != got {
                differences.push(format!(
                    "{}:\n  real:     {want}\n  kube-sim: {got}",
                    case.name
                ));
            }
        }
        assert!(
            differences.is_empty(),
            "kube-sim disagrees with kube-apiserver v1.36:\n{}",
            differences.join("\n")
        );
    });
}

impl Body {
    fn clone_json(&self) -> Body {
        match self {
            Body::None => Body::None,
            Body::Json(v) => Body::Json(v.clone()),
            Body::Raw(t, c) => Body::Raw(t, c),
        }
    }
}

/// A ConfigMap owned by `owner` (its uid).
fn dependent(name: &str, owner: &Value, block: bool, finalizers: &[&str]) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "finalizers": finalizers,
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
                             "uid": owner["metadata"]["uid"], "blockOwnerDeletion": block}]}})
}

/// `name`'s state as the steps below see it: gone, or its deletion mark, finalizers and owners.
async fn state(client: &kube::Client, path: &str) -> String {
    let a = common::call(client, "GET", path, "", None, None).await;
    if a.code == 404 {
        return "gone".into();
    }
    let m = &a.body["metadata"];
    format!(
        "deleting={} finalizers={} owners={}",
        m.get("deletionTimestamp").is_some(),
        m["finalizers"],
        m["ownerReferences"].as_array().map_or(0, Vec::len)
    )
}

/// Polls `path` until its state is `want` (the collectors work asynchronously), else returns
/// the last state seen.
async fn until(client: &kube::Client, path: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        let now = state(client, path).await;
        if now == want || start.elapsed() > Duration::from_secs(30) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Owners deleted with each propagation policy, their dependents (blocking or not, held by a
/// finalizer of their own or not), as the real garbage collector and the simulated one handle
/// them: the same states at every step.
async fn propagation_script(client: &kube::Client) -> Vec<String> {
    let mut seen = Vec::new();
    let cm = |name: &str| format!("{CMS}/{name}");
    let create = |body: Value| async move {
        let a = common::call(client, "POST", CMS, "application/json", Some(&body), None).await;
        assert_eq!(a.code, 201, "{}", a.text);
        a.body
    };
    // Foreground: the owner waits for its blocking dependent, held by a finalizer.
    let owner = create(named_cm("own")).await;
    create(dependent("held", &owner, true, &["example.com/hold"])).await;
    create(dependent("loose", &owner, false, &[])).await;
    let options = json!({"propagationPolicy": "Foreground"});
    let a = common::call(
        client,
        "DELETE",
        &cm("own"),
        "application/json",
        Some(&options),
        None,
    )
    .await;
    seen.push(format!(
        "foreground delete: {} {}",
        a.code, a.body["metadata"]["finalizers"]
    ));
    seen.push(format!(
        "loose: {}",
        until(client, &cm("loose"), "gone").await
    ));
    let held = "deleting=true finalizers=[\"example.com/hold\"] owners=1";
    seen.push(format!("held: {}", until(client, &cm("held"), held).await));
    seen.push(format!("owner waits: {}", state(client, &cm("own")).await));
    let release = json!({"metadata": {"finalizers": null}});
    let headers = [("content-type", "application/merge-patch+json")];
    let body = serde_json::to_vec(&release).unwrap();
    common::call_bytes(client, "PATCH", &cm("held"), &headers, body).await;
    seen.push(format!(
        "owner: {}",
        until(client, &cm("own"), "gone").await
    ));
    seen.push(format!("held: {}", state(client, &cm("held")).await));
    // Background: the owner goes at once, its dependent after it.
    let owner = create(named_cm("own2")).await;
    create(dependent("dep2", &owner, true, &[])).await;
    let options = json!({"propagationPolicy": "Background"});
    let a = common::call(
        client,
        "DELETE",
        &cm("own2"),
        "application/json",
        Some(&options),
        None,
    )
    .await;
    seen.push(format!(
        "background delete: {} {}",
        a.code, a.body["status"]
    ));
    seen.push(format!("owner: {}", state(client, &cm("own2")).await));
    seen.push(format!(
        "dependent: {}",
        until(client, &cm("dep2"), "gone").await
    ));
    // Orphan: the dependent stays, without its owner reference.
    let owner = create(named_cm("own3")).await;
    create(dependent("dep3", &owner, true, &[])).await;
    let a = common::call(
        client,
        "DELETE",
        &format!("{}?propagationPolicy=Orphan", cm("own3")),
        "",
        None,
        None,
    )
    .await;
    seen.push(format!(
        "orphan delete: {} {}",
        a.code, a.body["metadata"]["finalizers"]
    ));
    seen.push(format!(
        "owner: {}",
        until(client, &cm("own3"), "gone").await
    ));
    seen.push(format!("dependent: {}", state(client, &cm("dep3")).await));
    // A Deployment in the foreground: gone only once its ReplicaSet and pods are.
    let mut d = deployment("web");
    d["spec"]["replicas"] = json!(2);
    let a = common::call(
        client,
        "POST",
        DEPLOYMENTS,
        "application/json",
        Some(&d),
        None,
    )
    .await;
    assert_eq!(a.code, 201, "{}", a.text);
    let start = Instant::now();
    let count = |path: &'static str| async move {
        let a = common::call(client, "GET", path, "", None, None).await;
        a.body["items"].as_array().map_or(0, Vec::len)
    };
    while count("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb").await < 2
        && start.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a = common::call(
        client,
        "DELETE",
        &format!("{DEPLOYMENTS}/d"),
        "application/json",
        Some(&options_foreground()),
        None,
    )
    .await;
    seen.push(format!(
        "deployment delete: {} {}",
        a.code, a.body["metadata"]["finalizers"]
    ));
    seen.push(format!(
        "deployment: {}",
        until(client, &format!("{DEPLOYMENTS}/d"), "gone").await
    ));
    seen.push(format!(
        "then: {} ReplicaSets, {} pods",
        count("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb").await,
        count("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb").await
    ));
    seen
}

fn options_foreground() -> Value {
    json!({"propagationPolicy": "Foreground"})
}

#[test]
fn garbage_collection_follows_the_propagation_policy() {
    if control_plane::should_skip() {
        return;
    }
    let real =
        ControlPlane::start(ControlPlaneOptions::default()).expect("the real control plane starts");
    let sim = kube_sim::spawn(kube_sim::Scenario::empty()).expect("kube-sim starts");
    common::runtime().block_on(async {
        let real_seen = propagation_script(&real.client(ADMIN).await).await;
        let sim_seen = propagation_script(&common::client_for(&sim, "admin").await).await;
        assert_eq!(real_seen, sim_seen, "kube-sim's garbage collection differs");
    });
}
