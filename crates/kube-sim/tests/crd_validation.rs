//! CustomResourceDefinitions that a real kube-apiserver v1.36.2 refused or accepted, and what
//! it answered (`tests/fixtures/crd-validation-v1.36.json`: one case per line, the CRD and the
//! 422 `Status`, or `null` when the server accepted it; recorded with dry-run creates). kube-sim
//! must answer each the same way, body for body. Cases marked `"unordered": true` list findings
//! from different properties of one schema, which the server walks in Go's random map order;
//! their causes are compared as sets.

mod common;

use common::{call, client_for, runtime};
use kube_sim::{Scenario, SimBuilder};
use serde_json::{Value, json};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const JSON: &str = "application/json";

fn recorded() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/crd-validation-v1.36.json"
    );
    let text = std::fs::read_to_string(path).expect("recordings are readable");
    serde_json::from_str(&text).expect("recordings parse")
}

/// Equal bodies but for the order of the causes (and so of the message's list).
fn same_causes(expected: &Value, actual: &Value) -> bool {
    let sorted = |body: &Value| {
        let mut causes: Vec<String> = body["details"]["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect();
        causes.sort();
        causes
    };
    let without_causes = |body: &Value| {
        let mut body = body.clone();
        body["details"]["causes"] = Value::Null;
        body["message"] = Value::Null;
        body
    };
    sorted(expected) == sorted(actual) && without_causes(expected) == without_causes(actual)
}

/// The API server alone (the simulated cluster plays no part in validation).
fn api_only() -> kube_sim::SimHandle {
    SimBuilder::new(Scenario::empty()).spawn().unwrap()
}

#[test]
fn every_recorded_crd_gets_the_real_servers_answer() {
    let cases = recorded();
    assert!(cases.len() > 90, "{} cases", cases.len());
    let sim = api_only();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let mut wrong = Vec::new();
        for case in &cases {
            let name = case["case"].as_str().unwrap();
            let answer = call(
                &client,
                "POST",
                &format!("{CRDS}?dryRun=All"),
                JSON,
                Some(&case["crd"]),
                None,
            )
            .await;
            match &case["status"] {
                Value::Null if answer.code == 201 => {}
                Value::Null => wrong.push(format!(
                    "{name}: refused, the real server accepted it:\n  {}",
                    answer.text
                )),
                expected if answer.body == *expected => {}
                expected if case["unordered"] == true && same_causes(expected, &answer.body) => {}
                expected => wrong.push(format!(
                    "{name}:\n  real:     {}\n  kube-sim: {}",
                    expected["message"], answer.body["message"]
                )),
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} cases differ:\n{}",
            wrong.len(),
            cases.len(),
            wrong.join("\n")
        );
        assert!(
            sim.store()
                .list("apiextensions.k8s.io/v1", "CustomResourceDefinition", None)
                .is_empty(),
            "dry runs store nothing"
        );
    });
}

/// The same rules hold for a create, a replace, a merge patch and a server-side apply.
#[test]
fn every_way_of_writing_a_crd_is_checked() {
    let cases = recorded();
    let case = |name: &str| cases.iter().find(|c| c["case"] == name).unwrap().clone();
    let bad = case("metadata-description");
    let good = case("metadata-name-ok");
    let expected = bad["status"].clone();
    let sim = api_only();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let created = call(&client, "POST", CRDS, JSON, Some(&bad["crd"]), None).await;
        assert_eq!(created.body, expected);
        let created = call(&client, "POST", CRDS, JSON, Some(&good["crd"]), None).await;
        assert_eq!(created.code, 201, "{}", created.text);

        let url = format!("{CRDS}/widgets.example.com");
        let replaced = call(&client, "PUT", &url, JSON, Some(&bad["crd"]), None).await;
        assert_eq!(replaced.body, expected);
        let patch = json!({"spec": {"versions": bad["crd"]["spec"]["versions"]}});
        let patched = call(
            &client,
            "PATCH",
            &url,
            "application/merge-patch+json",
            Some(&patch),
            None,
        )
        .await;
        assert_eq!(patched.body, expected);
        let applied = call(
            &client,
            "PATCH",
            &format!("{url}?fieldManager=test&force=true"),
            "application/apply-patch+yaml",
            Some(&bad["crd"]),
            None,
        )
        .await;
        assert_eq!(applied.body, expected);
        let applied = call(
            &client,
            "PATCH",
            &format!("{url}?fieldManager=test&force=true&dryRun=All"),
            "application/apply-patch+yaml",
            Some(&bad["crd"]),
            None,
        )
        .await;
        assert_eq!(applied.body, expected);
        let fresh = call(
            &client,
            "PATCH",
            &format!("{CRDS}/widgets.example.com?fieldManager=test"),
            "application/apply-patch+yaml",
            Some(&good["crd"]),
            None,
        )
        .await;
        assert_eq!(fresh.code, 200, "{}", fresh.text);

        sim.get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "widgets.example.com",
        )
        .expect("the accepted CRD is stored");
    });
}

/// Recorded from a real kube-apiserver v1.36.2 with merge patches of an Established CRD.
#[test]
fn an_established_crd_keeps_its_scope_kind_group_and_plural() {
    let cases = recorded();
    let good = cases
        .iter()
        .find(|c| c["case"] == "metadata-name-ok")
        .unwrap()["crd"]
        .clone();
    let sim = api_only();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        assert_eq!(call(&client, "POST", CRDS, JSON, Some(&good), None).await.code, 201);
        let url = format!("{CRDS}/widgets.example.com?dryRun=All");
        let merge = "application/merge-patch+json";
        let scope = call(&client, "PATCH", &url, merge, Some(&json!({"spec": {"scope": "Cluster"}})), None).await;
        assert_eq!(scope.code, 422, "{}", scope.text);
        assert_eq!(
            scope.body,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "CustomResourceDefinition.apiextensions.k8s.io \"widgets.example.com\" is invalid: spec.scope: Invalid value: \"Cluster\": field is immutable",
                "reason": "Invalid",
                "details": {"name": "widgets.example.com", "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition",
                    "causes": [{"reason": "FieldValueInvalid", "message": "Invalid value: \"Cluster\": field is immutable", "field": "spec.scope"}]},
                "code": 422})
        );
        let all = json!({"spec": {"scope": "Cluster", "names": {"kind": "Gadget", "plural": "gadgets"}, "group": "other.com"}});
        let all = call(&client, "PATCH", &url, merge, Some(&all), None).await;
        assert_eq!(
            all.body["message"],
            "CustomResourceDefinition.apiextensions.k8s.io \"widgets.example.com\" is invalid: [spec.scope: Invalid value: \"Cluster\": field is immutable, spec.names.kind: Invalid value: \"Gadget\": field is immutable, spec.group: Invalid value: \"other.com\": field is immutable, spec.names.plural: Invalid value: \"gadgets\": field is immutable]"
        );
        let fields: Vec<&str> = all.body["details"]["causes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["spec.scope", "spec.names.kind", "spec.group", "spec.names.plural"]);
    });
}

#[test]
fn a_scenario_cannot_start_with_a_crd_the_server_refuses() {
    let bad = recorded()
        .into_iter()
        .find(|c| c["case"] == "metadata-description")
        .unwrap();
    let yaml = serde_saphyr::to_string(&json!({"objects": [bad["crd"]]})).unwrap();
    let err = SimBuilder::new(Scenario::from_yaml(&yaml).unwrap())
        .spawn()
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains(bad["status"]["message"].as_str().unwrap()),
        "{err}"
    );
}

/// Recorded from a real kube-apiserver v1.36.2: keywords a JSONSchemaProps does not have are
/// unknown fields at any depth (body order under Strict, warnings under Warn), and a
/// server-side apply refuses them whatever fieldValidation says.
#[test]
fn unknown_schema_keywords_are_unknown_fields() {
    let body = br#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com", "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"}, "scope": "Namespaced", "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}, "spec": {"type": "object", "properties": {"a": {"type": "string", "examples": ["x"], "const": "y"}}}}}}}], "foo": 1}}"#;
    let sim = api_only();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let send = |query: &str, content_type: &str| {
            let request = http::Request::builder()
                .method(if content_type == JSON { "POST" } else { "PATCH" })
                .uri(if content_type == JSON {
                    format!("{CRDS}?dryRun=All&{query}")
                } else {
                    format!("{CRDS}/widgets.example.com?dryRun=All&fieldManager=me&{query}")
                })
                .header("content-type", content_type)
                .body(kube::client::Body::from(body.to_vec()))
                .unwrap();
            let client = client.clone();
            async move { client.send(request).await.unwrap() }
        };
        let strict = send("fieldValidation=Strict", JSON).await;
        assert_eq!(strict.status(), 400);
        let text = strict.into_body().collect_bytes().await.unwrap();
        let strict: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            strict["message"],
            "CustomResourceDefinition in version \"v1\" cannot be handled as a CustomResourceDefinition: strict decoding error: unknown field \"spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.a.examples\", unknown field \"spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.a.const\", unknown field \"spec.foo\""
        );
        let warn = send("", JSON).await;
        assert_eq!(warn.status(), 201);
        let warnings: Vec<String> = warn.headers().get_all("warning").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert_eq!(
            warnings,
            [
                "299 - \"unknown field \\\"spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.a.examples\\\"\"",
                "299 - \"unknown field \\\"spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.a.const\\\"\"",
                "299 - \"unknown field \\\"spec.foo\\\"\"",
            ]
        );
        for directive in ["Strict", "Warn"] {
            let applied = send(&format!("fieldValidation={directive}"), "application/apply-patch+yaml").await;
            assert_eq!(applied.status(), 500);
            let text = applied.into_body().collect_bytes().await.unwrap();
            let applied: Value = serde_json::from_slice(&text).unwrap();
            assert_eq!(
                applied["message"],
                // `spec`'s first undeclared member in key order ends its walk; the real server,
                // walking Go maps, answers this or it with some of the schema's keywords.
                "failed to create typed patch object (/widgets.example.com; apiextensions.k8s.io/v1, Kind=CustomResourceDefinition): .spec.foo: field not declared in schema"
            );
        }
    });
}
