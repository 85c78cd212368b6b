//! kube-sim against a real kube-apiserver v1.36, live: the same requests to both, and the same
//! answers (status code, reason, message, causes). Each case is a write a real server refuses
//! that kube-sim once accepted, or one lbctl's tests rely on; the real control plane is the
//! judge (`crates/control-plane`; the test skips, saying so, where its binaries are absent).

mod common;

use control_plane::{ADMIN, ControlPlane, ControlPlaneOptions};
use serde_json::{Value, json};

/// One request, sent after `setup` (each to both servers, answers not compared).
struct Case {
    name: &'static str,
    setup: Vec<(&'static str, &'static str, Value)>,
    method: &'static str,
    path: &'static str,
    body: Value,
}

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": data})
}

fn deployment(app: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": app}},
                 "template": {"metadata": {"labels": {"app": app}},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}}})
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

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a CRD with a described root metadata and a list type on an object",
            setup: vec![],
            method: "POST",
            path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            body: described_metadata_crd(),
        },
        Case {
            name: "a ConfigMap value that is not a string",
            setup: vec![],
            method: "POST",
            path: "/api/v1/namespaces/default/configmaps",
            body: cm(json!({"x": true})),
        },
        Case {
            name: "an unknown field under fieldValidation=Strict",
            setup: vec![],
            method: "POST",
            path: "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
            body: {
                let mut c = cm(json!({"x": "y"}));
                c["spec"] = json!({"foo": 1});
                c
            },
        },
        Case {
            name: "a pod naming a ServiceAccount that does not exist",
            setup: vec![],
            method: "POST",
            path: "/api/v1/namespaces/default/pods",
            body: json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                "spec": {"serviceAccountName": "missing", "containers": [{"name": "c", "image": "busybox:1.37"}]}}),
        },
        Case {
            name: "an EndpointSlice with a loopback address",
            setup: vec![],
            method: "POST",
            path: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            body: json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "s", "namespace": "default"}, "addressType": "IPv4",
                "endpoints": [{"addresses": ["127.0.0.1"]}], "ports": [{"port": 443, "protocol": "TCP"}]}),
        },
        Case {
            name: "a Deployment's selector changed",
            setup: vec![("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("a"))],
            method: "PUT",
            path: "/apis/apps/v1/namespaces/default/deployments/d",
            body: deployment("b"),
        },
    ]
}

/// What must be equal: code, reason, message and causes (as a set: the order of Go maps).
fn essence(answer: &common::Answer) -> Value {
    let b = &answer.body;
    let mut causes: Vec<String> = b["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {} {}", c["reason"], c["field"], c["message"]))
        .collect();
    causes.sort();
    json!({"code": answer.code, "reason": b["reason"], "message": b["message"], "causes": causes})
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
        // Both namespaces' default ServiceAccount, which the real controller manager would make.
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}});
        for client in [&real_client, &sim_client] {
            common::call(client, "POST", "/api/v1/namespaces/default/serviceaccounts", "application/json", Some(&sa), None).await;
        }
        let mut differences = Vec::new();
        for case in cases() {
            let mut answers = Vec::new();
            for client in [&real_client, &sim_client] {
                for (method, path, body) in &case.setup {
                    let a = common::call(client, method, path, "application/json", Some(body), None).await;
                    assert!(a.code < 300, "{}: setup {method} {path}: {}", case.name, a.text);
                }
                let mut body = case.body.clone();
                if case.method == "PUT" {
                    // The resourceVersion of the object the setup made.
                    let current = common::call(client, "GET", case.path, "", None, None).await;
                    body["metadata"]["resourceVersion"] = current.body["metadata"]["resourceVersion"].clone();
                }
                answers.push(common::call(client, case.method, case.path, "application/json", Some(&body), None).await);
            }
            let (want, got) = (essence(&answers[0]), essence(&answers[1]));
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
