//! Fields a real kube-apiserver v1.36.2 does not let an update change, with the 422 bodies it
//! answered (recorded with dry-run merge patches and replaces): a Service's cluster IPs, a
//! Deployment's or DaemonSet's selector (which must also match the pod template's labels).

mod common;

use common::{call, client_for, runtime};
use kube_sim::{Scenario, SimBuilder};
use serde_json::{Value, json};

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";

fn invalid(kind: &str, group: &str, name: &str, causes: Value) -> Value {
    let list: Vec<String> = causes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c["field"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            )
        })
        .collect();
    let joined = if list.len() == 1 {
        list[0].clone()
    } else {
        format!("[{}]", list.join(", "))
    };
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let mut details = json!({"name": name, "kind": kind, "causes": causes});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("{qualified} \"{name}\" is invalid: {joined}"),
        "reason": "Invalid", "details": details, "code": 422})
}

fn cause(field: &str, message: &str) -> Value {
    json!({"reason": "FieldValueInvalid", "message": message, "field": field})
}

#[test]
fn service_cluster_ips_may_not_change_once_set() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let services = "/api/v1/namespaces/default/services";
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s2", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.50", "selector": {"app": "a"}, "ports": [{"port": 80}]}});
        assert_eq!(call(&client, "POST", services, JSON, Some(&service), None).await.code, 201);
        let url = format!("{services}/s2?dryRun=All");

        let moved = call(&client, "PATCH", &url, MERGE, Some(&json!({"spec": {"clusterIP": "10.96.0.77"}})), None).await;
        assert_eq!(
            moved.body,
            invalid("Service", "", "s2", json!([cause("spec.clusterIPs[0]", "Invalid value: [\"10.96.0.77\"]: may not change once set")]))
        );
        let both = json!({"spec": {"clusterIP": "10.96.0.77", "clusterIPs": ["10.96.0.77"]}});
        let both = call(&client, "PATCH", &url, MERGE, Some(&both), None).await;
        assert_eq!(both.body, moved.body);

        let mut headless = service.clone();
        headless["spec"]["clusterIP"] = json!("None");
        let headless = call(&client, "PUT", &url, JSON, Some(&headless), None).await;
        assert_eq!(
            headless.body,
            invalid("Service", "", "s2", json!([cause("spec.clusterIPs[0]", "Invalid value: [\"None\"]: may not change once set")]))
        );

        let plural = call(&client, "PATCH", &url, MERGE, Some(&json!({"spec": {"clusterIPs": ["10.96.0.78"]}})), None).await;
        assert_eq!(
            plural.body,
            invalid("Service", "", "s2", json!([cause("spec.clusterIPs", "Invalid value: [\"10.96.0.78\"]: first value must match `clusterIP`")]))
        );

        // Leaving them out keeps them (kubectl apply does).
        let mut omitted = service.clone();
        omitted["spec"].as_object_mut().unwrap().remove("clusterIP");
        omitted["spec"]["ports"] = json!([{"port": 81}]);
        let kept = call(&client, "PUT", &url, JSON, Some(&omitted), None).await;
        assert_eq!(kept.code, 200, "{}", kept.text);
        assert_eq!(kept.body["spec"]["clusterIP"], "10.96.0.50");
        let emptied = json!({"spec": {"clusterIP": "", "clusterIPs": []}});
        let kept = call(&client, "PATCH", &url, MERGE, Some(&emptied), None).await;
        assert_eq!(kept.code, 200, "{}", kept.text);
        assert_eq!(kept.body["spec"]["clusterIPs"], json!(["10.96.0.50"]));
    });
}

#[test]
fn workload_selectors_are_immutable_and_match_their_template() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        for (kind, plural, name) in [("Deployment", "deployments", "d1"), ("DaemonSet", "daemonsets", "ds1")] {
            let base = format!("/apis/apps/v1/namespaces/default/{plural}");
            let workload = json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": {"matchLabels": {"app": "a"}},
                    "template": {"metadata": {"labels": {"app": "a", "x": "y"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
            let created = call(&client, "POST", &base, JSON, Some(&workload), None).await;
            assert_eq!(created.code, 201, "{}", created.text);
            let url = format!("{base}/{name}?dryRun=All");

            let wider = json!({"spec": {"selector": {"matchLabels": {"app": "a", "x": "y"}}}});
            let wider = call(&client, "PATCH", &url, MERGE, Some(&wider), None).await;
            let immutable = |selector: &str| {
                cause("spec.selector", &format!("Invalid value: {selector}: field is immutable"))
            };
            assert_eq!(
                wider.body,
                invalid(kind, "apps", name, json!([immutable(r#"{"matchLabels":{"app":"a","x":"y"}}"#)]))
            );

            let other = json!({"spec": {"selector": {"matchLabels": {"app": "b"}}}});
            let other = call(&client, "PATCH", &url, MERGE, Some(&other), None).await;
            let mismatch = cause(
                "spec.template.metadata.labels",
                "Invalid value: {\"app\":\"a\",\"x\":\"y\"}: `selector` does not match template `labels`",
            );
            let selector = immutable(r#"{"matchLabels":{"app":"b"}}"#);
            let causes = if kind == "Deployment" { json!([mismatch, selector]) } else { json!([selector, mismatch]) };
            assert_eq!(other.body, invalid(kind, "apps", name, causes), "{kind}");

            let mut unmatched = workload.clone();
            unmatched["metadata"]["name"] = json!(format!("{name}-2"));
            unmatched["spec"]["selector"] = json!({"matchLabels": {"app": "b"}});
            let refused = call(&client, "POST", &format!("{base}?dryRun=All"), JSON, Some(&unmatched), None).await;
            assert_eq!(refused.body, invalid(kind, "apps", &format!("{name}-2"), json!([mismatch])));
        }
    });
}
