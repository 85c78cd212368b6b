//! kube-sim's answers compared with the recordings of a real kube-apiserver v1.36
//! (`../shared/reference/kube-api-v1.36/`): same status codes, Content-Type, fields and JSON
//! types; error bodies byte for byte where they carry no generated values.

mod common;

use common::{
    assert_same_shape, call, call_with, client_for, fixture, reference, reference_json, references,
    runtime,
};
use kube_sim::{AdmissionHook, Operation, Scenario, SimBuilder, Status};
use serde_json::{Value, json};
use std::sync::Arc;

const SCENARIO: &str = r#"
users:
  limited:
    rules:
      - { apiGroups: [""], resources: [pods], verbs: [get] }
objects:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: kube-proxy
      namespace: kube-system
      labels: { app: kube-proxy }
      annotations: { kubeadm.kubernetes.io/component-config.hash: "sha256:0" }
    data: { config.conf: "mode: \"\"\n", kubeconfig.conf: "apiVersion: v1\nkind: Config" }
"#;

/// The API server alone: fidelity is about the API, not the simulated controllers.
fn api_only() -> kube_sim::SimHandle {
    SimBuilder::new(Scenario::from_yaml(SCENARIO).unwrap())
        .spawn()
        .unwrap()
}

fn assert_error(name: &str, answer: &common::Answer) {
    let Some(expected) = reference_json(name) else {
        return;
    };
    assert_eq!(
        answer.code,
        expected["code"].as_u64().unwrap() as u16,
        "{}",
        answer.text
    );
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(answer.body, expected, "{name}");
}

#[test]
fn error_bodies_match_the_recordings() {
    let sim = api_only();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let limited = client_for(&sim, "limited").await;
        let cm_path = "/api/v1/namespaces/kube-system/configmaps/kube-proxy";

        let answer = call(&admin, "GET", "/api/v1/namespaces/default/configmaps/nope", "", None, None).await;
        assert_error("error-404-notfound.json", &answer);

        let answer = call(&limited, "GET", cm_path, "", None, None).await;
        assert_error("error-403-forbidden.json", &answer);

        let current = call(&admin, "GET", cm_path, "", None, None).await.body;
        let mut stale = current.clone();
        stale["metadata"]["resourceVersion"] = json!("1");
        stale["data"]["extra"] = json!("x");
        let answer = call(&admin, "PUT", cm_path, "application/json", Some(&stale), None).await;
        assert_error("error-409-conflict-stale-resourceversion.json", &answer);

        // AlreadyExists was not recorded: it is the recorded 404's envelope with apimachinery's
        // `NewAlreadyExists` message, reason and code.
        if let Some(mut expected) = reference_json("error-404-notfound.json") {
            expected["message"] = json!("configmaps \"kube-proxy\" already exists");
            expected["reason"] = json!("AlreadyExists");
            expected["details"]["name"] = json!("kube-proxy");
            expected["code"] = json!(409);
            let again = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy"}});
            let answer = call(&admin, "POST", "/api/v1/namespaces/kube-system/configmaps", "application/json", Some(&again), None).await;
            assert_eq!((answer.code, answer.content_type.as_str()), (409, "application/json"));
            assert_eq!(answer.body, expected);
        }

        let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}});
        let answer = call(&admin, "POST", "/api/v1/namespaces/default/configmaps", "application/json", Some(&bad), None).await;
        assert_error("error-422-invalid.json", &answer);

        let ssa = "/api/v1/namespaces/default/configmaps/ssa-demo";
        let mine = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-demo", "namespace": "default"}, "data": {"a": "1"}});
        let answer = call(&admin, "PATCH", &format!("{ssa}?fieldManager=lbctl"), "application/apply-patch+yaml", Some(&mine), None).await;
        assert_eq!(answer.code, 201, "{}", answer.text);
        let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-demo", "namespace": "default"}, "data": {"a": "2"}});
        let answer = call(&admin, "PATCH", &format!("{ssa}?fieldManager=someone-else"), "application/apply-patch+yaml", Some(&theirs), None).await;
        assert_error("error-409-ssa-field-conflict.json", &answer);
    });
}

/// What MetalLB's webhook answers through the API server, built the way a hook builds it.
fn webhook_hook() -> AdmissionHook {
    Arc::new(|request, _store| {
        if request.group != "metallb.io" || request.operation != Operation::Create {
            return Ok(());
        }
        let webhook = "ipaddresspoolvalidationwebhook.metallb.io";
        if request.namespace != "metallb-system" {
            return Err(Status::new(
                403,
                None,
                format!(
                    "admission webhook \"{webhook}\" denied the request: resource must be created in metallb-system namespace"
                ),
            ));
        }
        let url = "https://metallb-webhook-service.metallb-system.svc:443/validate-metallb-io-v1beta1-ipaddresspool?timeout=10s";
        Err(Status::internal(&format!(
            "failed calling webhook \"{webhook}\": failed to call webhook: Post \"{url}\": no endpoints available for service \"metallb-webhook-service\""
        )))
    })
}

fn pool_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "ipaddresspools.metallb.io"},
        "spec": {
            "group": "metallb.io", "scope": "Namespaced",
            "names": {"plural": "ipaddresspools", "singular": "ipaddresspool", "kind": "IPAddressPool", "listKind": "IPAddressPoolList"},
            "versions": [{"name": "v1beta1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}}}]
        }
    })
}

#[test]
fn webhook_errors_come_from_the_admission_hook_unchanged() {
    let sim = SimBuilder::new(Scenario::from_yaml(SCENARIO).unwrap())
        .admission(webhook_hook())
        .spawn()
        .unwrap();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let answer = call(&admin, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "application/json", Some(&pool_crd()), None).await;
        assert_eq!(answer.code, 201, "{}", answer.text);
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "metallb-system"}});
        call(&admin, "POST", "/api/v1/namespaces", "application/json", Some(&ns), None).await;
        let pool = |ns: &str| json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": "pool", "namespace": ns}, "spec": {"addresses": ["192.0.2.10-192.0.2.20"]}});
        let answer = call(&admin, "POST", "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools", "application/json", Some(&pool("metallb-system")), None).await;
        assert_error("error-500-webhook-no-endpoints.json", &answer);
        let answer = call(&admin, "POST", "/apis/metallb.io/v1beta1/namespaces/default/ipaddresspools", "application/json", Some(&pool("default")), None).await;
        assert_error("error-403-webhook-denied-wrong-namespace.json", &answer);
        // Nothing was stored.
        assert!(sim.get("metallb.io/v1beta1", "IPAddressPool", Some("metallb-system"), "pool").is_none());
    });
}

#[test]
fn ssa_create_and_force_responses_match() {
    let (Some(created), Some(forced)) = (
        reference_json("ssa-apply-create-response.json"),
        reference_json("ssa-apply-force-response.json"),
    ) else {
        return;
    };
    let sim = api_only();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let path = "/api/v1/namespaces/default/configmaps/ssa-demo";
        let body = |a: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-demo", "namespace": "default"}, "data": {"a": a}});
        let answer = call(&admin, "PATCH", &format!("{path}?fieldManager=lbctl"), "application/apply-patch+yaml", Some(&body("1")), None).await;
        assert_eq!(answer.code, 201);
        assert_same_shape(&created, &answer.body);
        assert_eq!(answer.body["metadata"]["managedFields"][0]["fieldsV1"], created["metadata"]["managedFields"][0]["fieldsV1"]);
        let answer = call(&admin, "PATCH", &format!("{path}?fieldManager=someone-else&force=true"), "application/apply-patch+yaml", Some(&body("2")), None).await;
        assert_eq!(answer.code, 200);
        assert_same_shape(&forced, &answer.body);
        let managers: Vec<&Value> = answer.body["metadata"]["managedFields"].as_array().unwrap().iter().map(|e| &e["manager"]).collect();
        assert_eq!(managers, vec!["someone-else"]);
        assert_eq!(answer.body["data"]["a"], "2");
    });
}

#[test]
fn restart_patch_response_matches() {
    let (Some(create), Some(patched)) = (
        reference_json("daemonset-create-response.json"),
        reference_json("daemonset-restart-patch-response.json"),
    ) else {
        return;
    };
    let sim = api_only();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let body = json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": create["metadata"]["labels"]},
            "spec": create["spec"],
        });
        let answer = call(&admin, "POST", "/apis/apps/v1/namespaces/kube-system/daemonsets?fieldManager=kubectl-create", "application/json", Some(&body), None).await;
        assert_eq!(answer.code, 201, "{}", answer.text);
        let mut expected_create = create.clone();
        // The recording was printed by kubectl, which hides managedFields.
        expected_create["metadata"]["managedFields"] = answer.body["metadata"]["managedFields"].clone();
        assert_same_shape(&expected_create, &answer.body);

        let restart = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-24T18:40:00Z"}}}}});
        let answer = call(&admin, "PATCH", "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy", "application/strategic-merge-patch+json", Some(&restart), Some("curl/8.5.0")).await;
        assert_eq!(answer.code, 200, "{}", answer.text);
        assert_eq!(answer.content_type, "application/json");
        assert_same_shape(&patched, &answer.body);
        assert_eq!(answer.body["metadata"]["generation"], 2);
        assert_eq!(answer.body["metadata"]["annotations"]["deprecated.daemonset.template.generation"], "2");
        for (i, entry) in patched["metadata"]["managedFields"].as_array().unwrap().iter().enumerate() {
            let ours = &answer.body["metadata"]["managedFields"][i];
            assert_eq!(ours["manager"], entry["manager"]);
            assert_eq!(ours["fieldsV1"], entry["fieldsV1"], "managedFields of {}", entry["manager"]);
        }
    });
}

#[test]
fn paginated_list_matches() {
    let Some(expected) = reference_json("list-paginated-first-page.json") else {
        return;
    };
    let scenario = Scenario::from_yaml(
        "objects:\n  - { apiVersion: v1, kind: Namespace, metadata: { name: metallb-system } }\n",
    )
    .unwrap();
    let sim = SimBuilder::new(scenario).spawn().unwrap();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let answer = call(&admin, "GET", "/api/v1/namespaces?limit=2", "", None, None).await;
        assert_eq!(answer.code, 200);
        assert_same_shape(&expected, &answer.body);
        assert_eq!(answer.body["metadata"]["remainingItemCount"], 3);
        // The continue token has the real server's layout.
        use base64::Engine;
        let decode = |t: &Value| -> Value {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t.as_str().unwrap())
                .unwrap();
            serde_json::from_slice(&raw).unwrap()
        };
        let ours = decode(&answer.body["metadata"]["continue"]);
        let theirs = decode(&expected["metadata"]["continue"]);
        assert_eq!(ours["start"], theirs["start"]);
        assert_eq!(ours["v"], theirs["v"]);
        let token = answer.body["metadata"]["continue"]
            .as_str()
            .unwrap()
            .to_string();
        let next = call(
            &admin,
            "GET",
            &format!("/api/v1/namespaces?limit=2&continue={token}"),
            "",
            None,
            None,
        )
        .await;
        let names: Vec<&str> = next.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["kube-public", "kube-system"]);
        assert_eq!(next.body["metadata"]["remainingItemCount"], 1);
    });
}

#[test]
fn watch_stream_matches() {
    let Some(expected) = reference("watch-configmap-stream.jsonl") else {
        return;
    };
    let expected: Vec<Value> = expected
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sim = api_only();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let path = "/api/v1/namespaces/kube-system/configmaps?watch=1&fieldSelector=metadata.name=kube-proxy&allowWatchBookmarks=true&timeoutSeconds=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan";
        let answer = call(&admin, "GET", path, "", None, None).await;
        assert_eq!(answer.code, 200);
        assert_eq!(answer.content_type, "application/json");
        let events: Vec<Value> = answer.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(events.len(), expected.len(), "{}", answer.text);
        for (ours, theirs) in events.iter().zip(&expected) {
            assert_same_shape(theirs, ours);
            assert_eq!(ours["type"], theirs["type"]);
        }
        let end = &events[events.len() - 1]["object"]["metadata"];
        assert_eq!(end["annotations"], expected[expected.len() - 1]["object"]["metadata"]["annotations"]);
        assert_eq!(end["resourceVersion"], sim.store().resource_version().to_string());

        // A plain watch from resourceVersion 0 gets the same ADDED events but no end-of-initial-
        // events bookmark: that one answers `sendInitialEvents` only.
        let plain = path.replace("&sendInitialEvents=true&resourceVersionMatch=NotOlderThan", "&resourceVersion=0");
        let answer = call(&admin, "GET", &plain, "", None, None).await;
        let types: Vec<Value> = answer.text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].clone()).collect();
        assert_eq!(types, ["ADDED"], "{}", answer.text);

        // A watch from a compacted resourceVersion: a 200 stream with one ERROR event, 410 Expired.
        let rv = sim.store().resource_version();
        sim.apply_object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later", "namespace": "default"}}));
        sim.store().compact();
        let expired = format!("/api/v1/namespaces/kube-system/configmaps?watch=1&resourceVersion={rv}");
        let answer = call(&admin, "GET", &expired, "", None, None).await;
        assert_eq!((answer.code, answer.content_type.as_str()), (200, "application/json"));
        // The message names the oldest version still served: the one compacted at.
        let oldest = sim.store().resource_version();
        let expected = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("too old resource version: {rv} ({oldest})"), "reason": "Expired", "code": 410}});
        assert_eq!(answer.body, expected, "{}", answer.text);
    });
}

#[test]
fn dry_run_create_and_access_review_match() {
    let (Some(dry), Some(review)) = (
        reference_json("dryrun-create-response.json"),
        reference_json("selfsubjectaccessreview-denied-response.json"),
    ) else {
        return;
    };
    let sim = api_only();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry", "namespace": "default"}});
        let answer = call(&admin, "POST", "/api/v1/namespaces/default/configmaps?dryRun=All", "application/json", Some(&body), None).await;
        assert_eq!(answer.code, 201);
        assert_same_shape(&dry, &answer.body);
        assert!(sim.get("v1", "ConfigMap", Some("default"), "dry").is_none());

        let limited = client_for(&sim, "limited").await;
        let ssar = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": "kube-system", "verb": "patch", "resource": "configmaps", "name": "kube-proxy"}}});
        let answer = call(&limited, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "application/json", Some(&ssar), Some("curl/8.5.0")).await;
        assert_eq!(answer.code, 201);
        let mut without_time = answer.body.clone();
        without_time["metadata"]["managedFields"][0]["time"] = review["metadata"]["managedFields"][0]["time"].clone();
        assert_eq!(without_time, review);
    });
}

#[test]
fn crd_status_matches() {
    let Some(status) = reference_json("crd-ipaddresspools-status.json") else {
        return;
    };
    let sim = api_only();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        call(&admin, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "application/json", Some(&pool_crd()), None).await;
        let crd = call(&admin, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ipaddresspools.metallb.io", "", None, None).await.body;
        let ours = json!({"metadata": {"name": crd["metadata"]["name"], "generation": crd["metadata"]["generation"]}, "status": crd["status"]});
        assert_same_shape(&status, &ours);
        let mut without_times = ours.clone();
        for (i, c) in status["status"]["conditions"].as_array().unwrap().iter().enumerate() {
            without_times["status"]["conditions"][i]["lastTransitionTime"] = c["lastTransitionTime"].clone();
        }
        assert_eq!(without_times, status);

    });
}

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// An aggregated discovery document, asked for as client-go and kube-rs ask.
async fn aggregated(client: &kube::Client, path: &str) -> Value {
    let accept = format!("{AGGREGATED},application/json");
    let answer = call_with(client, "GET", path, &[("accept", &accept)], None).await;
    assert_eq!(
        (answer.code, answer.content_type.as_str()),
        (200, AGGREGATED),
        "{path}"
    );
    answer.body
}

/// Compares each resource of an aggregated discovery answer with the recorded entry (only the
/// subresources kube-sim serves are kept of the real ones) and returns the resources compared,
/// as `resource.group`.
fn compare_aggregated(ours: &Value, recorded: &Value) -> Vec<String> {
    assert_eq!(
        (&ours["kind"], &ours["apiVersion"], &ours["metadata"]),
        (
            &recorded["kind"],
            &recorded["apiVersion"],
            &recorded["metadata"]
        )
    );
    let mut compared = Vec::new();
    let mut positions = Vec::new();
    for group in ours["items"].as_array().unwrap() {
        let name = &group["metadata"]["name"];
        let Some(at) = recorded["items"]
            .as_array()
            .unwrap()
            .iter()
            .position(|g| g["metadata"]["name"] == *name)
        else {
            continue;
        };
        positions.push(at);
        let real = &recorded["items"][at];
        assert_eq!(group["metadata"], real["metadata"]);
        for ours_v in group["versions"].as_array().unwrap() {
            let real_v = real["versions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["version"] == ours_v["version"])
                .unwrap_or_else(|| panic!("{name} {} is not a real version", ours_v["version"]));
            assert_eq!(ours_v["freshness"], real_v["freshness"]);
            for resource in ours_v["resources"].as_array().unwrap() {
                let real_r = real_v["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["resource"] == resource["resource"])
                    .unwrap_or_else(|| panic!("{resource} is not a real resource"));
                let mut trimmed = real_r.clone();
                if let Some(subs) = real_r["subresources"].as_array() {
                    let served: Vec<Value> = subs
                        .iter()
                        .filter(|s| {
                            resource["subresources"].as_array().is_some_and(|o| {
                                o.iter().any(|x| x["subresource"] == s["subresource"])
                            })
                        })
                        .cloned()
                        .collect();
                    trimmed["subresources"] = json!(served);
                    if served.is_empty() {
                        trimmed.as_object_mut().unwrap().remove("subresources");
                    }
                }
                assert_eq!(
                    *resource, trimmed,
                    "discovery entry of {}",
                    resource["resource"]
                );
                let group = name.as_str().unwrap_or_default();
                compared.push(format!(
                    "{}.{group}",
                    resource["resource"].as_str().unwrap()
                ));
            }
        }
    }
    assert!(
        positions.is_sorted(),
        "groups in the real server's order: {positions:?}"
    );
    compared
}

#[test]
fn discovery_matches_the_recordings() {
    let Some(recorded) = references([
        "api-aggregated.json",
        "apis-aggregated.json",
        "api.json",
        "apis.json",
        "apis-apps-v1.json",
        "version.json",
    ]) else {
        return;
    };
    let [
        api_aggregated,
        apis_aggregated,
        api_legacy,
        apis_legacy,
        legacy,
        version,
    ] = &recorded;
    let scenario = Scenario::from_yaml(&format!("serverVersion: v1.35.4\n{SCENARIO}")).unwrap();
    let sim = SimBuilder::new(scenario).spawn().unwrap();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;

        // Aggregated core group: every core kind kube-sim serves, with its subresources.
        let ours = aggregated(&admin, "/api").await;
        let core = compare_aggregated(&ours, api_aggregated);
        for kind in [
            "pods",
            "services",
            "nodes",
            "namespaces",
            "endpoints",
            "configmaps",
            "secrets",
            "serviceaccounts",
            "events",
        ] {
            assert!(
                core.contains(&format!("{kind}.")),
                "{kind} missing from /api: {core:?}"
            );
        }
        let pods = ours["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        let subresources: Vec<&str> = pods["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["subresource"].as_str().unwrap())
            .collect();
        assert_eq!(subresources, ["log", "status"]);

        // Aggregated named groups: every built-in resource we serve is described like the real one.
        let named = compare_aggregated(&aggregated(&admin, "/apis").await, apis_aggregated);
        for resource in [
            "daemonsets.apps",
            "deployments.apps",
            "endpointslices.discovery.k8s.io",
            "events.events.k8s.io",
            "customresourcedefinitions.apiextensions.k8s.io",
            "selfsubjectrulesreviews.authorization.k8s.io",
        ] {
            assert!(
                named.contains(&resource.to_string()),
                "{resource} missing from /apis: {named:?}"
            );
        }

        // Legacy discovery.
        let api = call(&admin, "GET", "/api", "", None, None).await.body;
        assert_same_shape(api_legacy, &api);
        assert_eq!(
            (&api["kind"], &api["versions"]),
            (&api_legacy["kind"], &api_legacy["versions"])
        );
        let apis = call(&admin, "GET", "/apis", "", None, None).await.body;
        assert_same_shape(apis_legacy, &apis);
        assert_eq!(
            (&apis["kind"], &apis["apiVersion"]),
            (&apis_legacy["kind"], &apis_legacy["apiVersion"])
        );
        let real_groups = apis_legacy["groups"].as_array().unwrap();
        let mut positions = Vec::new();
        for group in apis["groups"].as_array().unwrap() {
            let at = real_groups
                .iter()
                .position(|g| g["name"] == group["name"])
                .unwrap_or_else(|| panic!("{} is not a real group", group["name"]));
            assert_eq!(
                *group, real_groups[at],
                "legacy discovery of {}",
                group["name"]
            );
            positions.push(at);
        }
        assert!(positions.len() >= 8, "only {} groups", positions.len());
        assert!(
            positions.is_sorted(),
            "groups in the real server's order: {positions:?}"
        );

        let apps = call(&admin, "GET", "/apis/apps/v1", "", None, None)
            .await
            .body;
        assert_eq!(apps["kind"], legacy["kind"]);
        for entry in apps["resources"].as_array().unwrap() {
            let real = legacy["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == entry["name"])
                .unwrap();
            assert_same_shape(real, entry);
            assert_eq!(entry["verbs"], real["verbs"]);
        }
        // /version: the real fields, and the scenario's serverVersion.
        let ours = call(&admin, "GET", "/version", "", None, None).await.body;
        assert_same_shape(version, &ours);
        assert_eq!(
            (&ours["gitVersion"], &ours["major"], &ours["minor"]),
            (&json!("v1.35.4"), &json!("1"), &json!("35"))
        );
        assert_eq!(
            (&ours["emulationMinor"], &ours["minCompatibilityMinor"]),
            (&json!("35"), &json!("34"))
        );
    });
}

/// An object as kubectl prints it (the recordings were taken with `kubectl get -o json`, which
/// hides managedFields).
fn as_printed(mut object: Value) -> Value {
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    object
}

/// Metadata as the server makes it: the labels are the installer's (lbctl adds its own).
fn server_metadata(object: &Value) -> Value {
    let mut meta = object["metadata"].clone();
    if let Some(meta) = meta.as_object_mut() {
        meta.remove("labels");
    }
    meta
}

#[test]
fn workload_status_and_webhook_endpoints_match() {
    let Some(recorded) = references([
        "kube-proxy-daemonset-ready.json",
        "metallb-speaker-daemonset-ready.json",
        "metallb-controller-deployment-available.json",
        "metallb-webhook-endpointslices.json",
    ]) else {
        return;
    };
    let [proxy, speaker, controller, slices] = &recorded;
    let sim = kube_sim::spawn(fixture("metallb-healthy.yaml")).unwrap();
    // What the controllers settled at boot, held still while it is read.
    sim.pause();
    runtime().block_on(async {
        let admin = client_for(&sim, "admin").await;
        let get = |path: String| {
            let admin = admin.clone();
            async move {
                let answer = call(&admin, "GET", &path, "", None, None).await;
                assert_eq!(answer.code, 200, "{path}: {}", answer.text);
                as_printed(answer.body)
            }
        };

        for (real, path) in [(proxy, "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy"),
            (speaker, "/apis/apps/v1/namespaces/metallb-system/daemonsets/speaker")] {
            let ours = get(path.to_string()).await;
            assert_same_shape(&server_metadata(real), &server_metadata(&ours));
            assert_same_shape(&real["status"], &ours["status"]);
            let status = &ours["status"];
            let desired = &status["desiredNumberScheduled"];
            assert!(desired.as_u64().unwrap() > 0, "{path}");
            for key in ["currentNumberScheduled", "numberReady", "numberAvailable", "updatedNumberScheduled"] {
                assert_eq!(&status[key], desired, "{path} {key}");
            }
            assert_eq!(status["numberMisscheduled"], 0);
            assert_eq!(status["observedGeneration"], ours["metadata"]["generation"]);
            let generation = ours["metadata"]["generation"].to_string();
            assert_eq!(ours["metadata"]["annotations"]["deprecated.daemonset.template.generation"], generation.as_str());
        }

        let ours = get("/apis/apps/v1/namespaces/metallb-system/deployments/controller".into()).await;
        assert_same_shape(&server_metadata(controller), &server_metadata(&ours));
        assert_same_shape(&controller["status"], &ours["status"]);
        assert_eq!(ours["metadata"]["annotations"], controller["metadata"]["annotations"]);
        let status = &ours["status"];
        for key in ["replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "terminatingReplicas", "observedGeneration"] {
            assert_eq!(status[key], controller["status"][key], "{key}");
        }
        let sets = get("/apis/apps/v1/namespaces/metallb-system/replicasets?labelSelector=component%3Dcontroller".into()).await;
        let set = sets["items"][0]["metadata"]["name"].as_str().unwrap();
        assert!(set.starts_with("controller-"), "{set}");
        for (i, real) in controller["status"]["conditions"].as_array().unwrap().iter().enumerate() {
            let ours = &status["conditions"][i];
            for key in ["type", "status", "reason"] {
                assert_eq!(ours[key], real[key], "condition {i} {key}");
            }
            // The recorded message with our ReplicaSet's name where it names one.
            let message = real["message"].as_str().unwrap();
            let expected = match message.split('"').nth(1) {
                Some(real_set) => message.replace(real_set, set),
                None => message.to_string(),
            };
            assert_eq!(ours["message"], expected.as_str(), "condition {i}");
        }

        let ours = get("/apis/discovery.k8s.io/v1/namespaces/metallb-system/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dmetallb-webhook-service".into()).await;
        let items = ours["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        let (ours, real) = (as_printed(items[0].clone()), &slices["items"][0]);
        // A list's items carry no kind and apiVersion; kubectl adds them to what it prints.
        let mut real_item = real.clone();
        for key in ["kind", "apiVersion"] {
            real_item.as_object_mut().unwrap().remove(key);
        }
        // The controller copies the Service's labels (lbctl's) and adds its own two.
        real_item["metadata"] = server_metadata(real);
        let mut ours_item = ours.clone();
        ours_item["metadata"] = server_metadata(&ours);
        assert_same_shape(&real_item, &ours_item);
        for (key, value) in real["metadata"]["labels"].as_object().unwrap() {
            assert_eq!(&ours["metadata"]["labels"][key], value, "label {key}");
        }
        for key in ["addressType", "ports"] {
            assert_eq!(ours[key], real[key], "{key}");
        }
        assert_eq!(ours["metadata"]["generateName"], real["metadata"]["generateName"]);
        let endpoint = &ours["endpoints"][0];
        assert_eq!(endpoint["conditions"], real["endpoints"][0]["conditions"]);
        let pod = endpoint["targetRef"]["name"].as_str().unwrap();
        assert!(pod.starts_with(&format!("{set}-")), "{pod} belongs to {set}");
        let service = get("/api/v1/namespaces/metallb-system/services/metallb-webhook-service".into()).await;
        assert_eq!(ours["metadata"]["ownerReferences"][0]["uid"], service["metadata"]["uid"]);
    });
}
