//! `?fieldValidation=Strict|Warn|Ignore` through kube::Client: unknown and duplicate fields of
//! built-in kinds and of custom resources with a structural schema, on create, update, patch and
//! server-side apply.

mod common;

use common::{call_with, client_for, runtime};
use kube_sim::Scenario;
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");

fn crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer"},
                        "parts": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}}}]}})
}

#[test]
fn strict_refuses_warn_drops_and_warns_ignore_drops() {
    let sim = kube_sim::spawn(Scenario::empty()).unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cms = "/api/v1/namespaces/default/configmaps";
        let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "colour": "red"}, "data": {"a": "1"}, "spec": {"x": 1}});

        let strict = call_with(&client, "POST", &format!("{cms}?fieldValidation=Strict"), &[JSON], Some(&cm("s"))).await;
        assert_eq!(strict.code, 400, "{}", strict.text);
        assert_eq!(strict.body["reason"], "BadRequest");
        assert_eq!(
            strict.body["message"],
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"metadata.colour\", unknown field \"spec\""
        );
        assert!(sim.get("v1", "ConfigMap", Some("default"), "s").is_none());

        let warn = call_with(&client, "POST", cms, &[JSON], Some(&cm("w"))).await;
        assert_eq!(warn.code, 201, "{}", warn.text);
        assert!(warn.body.get("spec").is_none());
        assert!(warn.body["metadata"].get("colour").is_none());
        let stored = sim.get("v1", "ConfigMap", Some("default"), "w").unwrap();
        assert!(stored.get("spec").is_none());
        assert_eq!(stored["data"]["a"], "1");

        let ignore = call_with(&client, "POST", &format!("{cms}?fieldValidation=Ignore"), &[JSON], Some(&cm("i"))).await;
        assert_eq!(ignore.code, 201);
        assert!(ignore.body.get("spec").is_none());

        // Duplicates are found in the body as sent; Warn keeps the last value.
        let raw = br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}, "data": {"a": "1", "a": "2"}}"#;
        let request = http::Request::post(format!("{cms}?fieldValidation=Strict"))
            .header("content-type", "application/json")
            .body(raw.to_vec())
            .unwrap();
        let err = client.request::<Value>(request).await.unwrap_err();
        let kube::Error::Api(status) = err else { panic!("{err:?}") };
        assert_eq!(status.code, 400);
        assert!(status.message.ends_with("strict decoding error: duplicate field \"data.a\""), "{}", status.message);

        // Update and merge patch: the object as it would be stored is checked.
        let mut replacement = sim.get("v1", "ConfigMap", Some("default"), "w").unwrap();
        replacement["dataa"] = json!({});
        let put = call_with(&client, "PUT", &format!("{cms}/w?fieldValidation=Strict"), &[JSON], Some(&replacement)).await;
        assert_eq!(put.code, 400);
        assert!(put.text.contains("unknown field \\\"dataa\\\""), "{}", put.text);
        let merge = ("content-type", "application/merge-patch+json");
        let patch = call_with(&client, "PATCH", &format!("{cms}/w?fieldValidation=Strict"), &[merge], Some(&json!({"datum": {"b": "2"}}))).await;
        assert_eq!(patch.code, 400);
        assert!(patch.text.contains("unknown field \\\"datum\\\""), "{}", patch.text);

        // Server-side apply refuses undeclared fields whatever fieldValidation says, in
        // structured-merge-diff's words (500, no reason), as a real v1.36 server does.
        let apply = ("content-type", "application/apply-patch+yaml");
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "data": {"b": "2"}, "spek": {}});
        for directive in ["Strict", "Warn", "Ignore"] {
            let applied = call_with(&client, "PATCH", &format!("{cms}/w?fieldManager=me&fieldValidation={directive}"), &[apply], Some(&config)).await;
            assert_eq!(
                applied.body,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "failed to create typed patch object (/w; /v1, Kind=ConfigMap): .spek: field not declared in schema",
                    "code": 500}),
                "{directive}"
            );
        }

        // Keys an apply body repeats are the YAML decoder's findings, by line.
        let repeated = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w\ndata:\n  b: \"2\"\n  b: \"3\"\n";
        let send = |directive: &str| {
            http::Request::patch(format!("{cms}/w?fieldManager=me&fieldValidation={directive}"))
                .header("content-type", "application/apply-patch+yaml")
                .body(kube::client::Body::from(repeated.to_vec()))
                .unwrap()
        };
        let strict = client.send(send("Strict")).await.unwrap();
        assert_eq!(strict.status(), 400);
        let warn = client.send(send("Warn")).await.unwrap();
        assert_eq!(warn.status(), 200);
        let warnings: Vec<&str> = warn.headers().get_all("warning").iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(warnings, ["299 - \"line 7: key \\\"b\\\" already set in map\""]);
        assert_eq!(sim.get("v1", "ConfigMap", Some("default"), "w").unwrap()["data"]["b"], "3");
        let strict = http::Request::patch(format!("{cms}/w?fieldManager=me&fieldValidation=Strict"))
            .header("content-type", "application/apply-patch+yaml")
            .body(repeated.to_vec())
            .unwrap();
        let strict = client.request::<Value>(strict).await.unwrap_err();
        let kube::Error::Api(status) = strict else { panic!("{strict:?}") };
        assert_eq!(
            status.message,
            "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key \"b\" already set in map"
        );

        let bad = call_with(&client, "POST", &format!("{cms}?fieldValidation=Loud"), &[JSON], Some(&cm("b"))).await;
        assert_eq!(bad.code, 400);
    });
}

#[test]
fn warnings_name_each_field() {
    let sim = kube_sim::spawn(Scenario::empty()).unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "foo": 1, "bar": 2});
        let request = http::Request::post("/api/v1/namespaces/default/configmaps")
            .header("content-type", "application/json")
            .body(kube::client::Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.status(), 201);
        let warnings: Vec<&str> = response
            .headers()
            .get_all("warning")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            warnings,
            ["299 - \"unknown field \\\"bar\\\"\"", "299 - \"unknown field \\\"foo\\\"\""]
        );
    });
}

#[test]
fn custom_resources_follow_their_structural_schema() {
    let sim = kube_sim::spawn(Scenario::empty()).unwrap();
    sim.apply_object(crd());
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let widgets = "/apis/example.com/v1/namespaces/default/widgets";
        let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": 3, "colour": "red", "parts": [{"name": "a", "weight": 1}], "extra": {"free": {"form": true}}}});
        let strict = call_with(&client, "POST", &format!("{widgets}?fieldValidation=Strict"), &[JSON], Some(&widget)).await;
        assert_eq!(strict.code, 400, "{}", strict.text);
        assert_eq!(
            strict.body["message"],
            "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.colour\", unknown field \"spec.parts[0].weight\""
        );
        let warn = call_with(&client, "POST", widgets, &[JSON], Some(&widget)).await;
        assert_eq!(warn.code, 201, "{}", warn.text);
        let stored = sim.get("example.com/v1", "Widget", Some("default"), "w").unwrap();
        assert_eq!(stored["spec"], json!({"size": 3, "parts": [{"name": "a"}], "extra": {"free": {"form": true}}}));
    });
}
