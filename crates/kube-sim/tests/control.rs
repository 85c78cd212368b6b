//! The `/_sim/` control endpoints and the `kube-sim` binary.

mod common;

use common::{
    assert_same_shape, call, client_for, client_without_retries, reference_json, runtime,
};
use kube_sim::{Controller, Fault, Scenario, SimBuilder, Store};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Marks ConfigMaps `seen` once they are 10 simulated seconds old.
struct Ager;

impl Controller for Ager {
    fn name(&self) -> &str {
        "ager"
    }

    fn reconcile(&mut self, store: &Store) {
        let now = store.now();
        for mut cm in store.list("v1", "ConfigMap", Some("default")) {
            let created: jiff::Timestamp = cm["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            if cm["data"]["seen"].is_null() && now.duration_since(created).as_secs() >= 10 {
                cm["data"]["seen"] = json!("yes");
                store.update(cm).unwrap();
            }
        }
    }
}

#[test]
fn control_endpoints_inject_faults_log_and_move_time() {
    let sim = SimBuilder::new(Scenario::empty())
        .controller(Box::new(Ager))
        .spawn()
        .unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let fault = json!({"method": "GET", "path": "/api/v1/namespaces/default/configmaps*", "times": 2, "action": {"status": 429}});
        let answer = call(&client, "POST", "/_sim/faults", "application/json", Some(&fault), None).await;
        assert_eq!(answer.code, 201, "{}", answer.text);
        call(&client, "DELETE", "/_sim/requests", "", None, None).await;
        // kube's client retries 429 (honouring Retry-After): both injected answers are used up.
        let answer = call(&client, "GET", "/api/v1/namespaces/default/configmaps", "", None, None).await;
        assert_eq!(answer.code, 200);
        let log = call(&client, "GET", "/_sim/requests", "", None, None).await.body;
        let codes: Vec<u64> = log.as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(codes, [429, 429, 200]);
        assert_eq!(log[0]["verb"], "list");
        let fault = json!({"path": "/api/v1/namespaces/default/configmaps", "action": {"status": 500}});
        call(&client, "POST", "/_sim/faults", "application/json", Some(&fault), None).await;
        let refused = call(&client, "GET", "/api/v1/namespaces/default/configmaps", "", None, None).await;
        assert_eq!(refused.code, 500);
        assert_eq!(refused.body["reason"], "InternalError");
        call(&client, "DELETE", "/_sim/faults", "", None, None).await;
        assert_eq!(call(&client, "GET", "/api/v1/namespaces/default/configmaps", "", None, None).await.code, 200);

        assert_eq!(call(&client, "POST", "/_sim/pause", "", None, None).await.code, 200);
        sim.apply_object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": {}}));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(sim.get("v1", "ConfigMap", Some("default"), "c").unwrap()["data"]["seen"].is_null());
        let answer = call(&client, "POST", "/_sim/advance?by=11s", "", None, None).await;
        assert_eq!(answer.code, 200, "{}", answer.text);
        assert_eq!(sim.get("v1", "ConfigMap", Some("default"), "c").unwrap()["data"]["seen"], "yes");
        assert_eq!(call(&client, "POST", "/_sim/advance?by=soon", "", None, None).await.code, 400);
        assert_eq!(call(&client, "POST", "/_sim/resume", "", None, None).await.code, 200);
    });
}

/// A `Status` body as kube-apiserver writes it.
fn status_body(code: u16, reason: &str, message: &str, details: Value) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": details, "code": code})
}

const MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

#[test]
fn injected_conflicts_read_like_real_ones() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let cm = "/api/v1/namespaces/kube-system/configmaps/kube-proxy";
        sim.inject(Fault::status("PUT", cm, 409, 1));
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system"}});
        let answer = call(&client, "PUT", cm, "application/json", Some(&body), None).await;
        assert_eq!((answer.code, answer.content_type.as_str()), (409, "application/json"));
        let expected = status_body(409, "Conflict",
            &format!("Operation cannot be fulfilled on configmaps \"kube-proxy\": {MODIFIED}"),
            json!({"name": "kube-proxy", "kind": "configmaps"}));
        assert_eq!(answer.body, expected);
        // Exactly what the real server answered to an outdated write of that ConfigMap.
        if let Some(recorded) = reference_json("error-409-conflict-stale-resourceversion.json") {
            assert_eq!(answer.body, recorded);
        }

        // A create on a collection path: the name comes from the body, the group is given.
        let daemonsets = "/apis/apps/v1/namespaces/kube-system/daemonsets";
        sim.inject(Fault::status("POST", daemonsets, 409, 1));
        let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "speaker"}});
        let answer = call(&client, "POST", daemonsets, "application/json", Some(&ds), None).await;
        let expected = status_body(409, "Conflict",
            &format!("Operation cannot be fulfilled on daemonsets.apps \"speaker\": {MODIFIED}"),
            json!({"name": "speaker", "group": "apps", "kind": "daemonsets"}));
        assert_eq!(answer.body, expected);
        assert!(sim.get("apps/v1", "DaemonSet", Some("kube-system"), "speaker").is_none());

        // No name at all: the real `NewConflict` still quotes an empty one and omits details.name.
        sim.inject(Fault::status("GET", "/api/v1/nodes", 409, 1));
        let answer = call(&client, "GET", "/api/v1/nodes", "", None, None).await;
        let expected = status_body(409, "Conflict",
            &format!("Operation cannot be fulfilled on nodes \"\": {MODIFIED}"),
            json!({"kind": "nodes"}));
        assert_eq!(answer.body, expected);
    });
}

#[test]
fn injected_throttling_outage_and_internal_error_read_like_the_real_server() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        // kube's own client would retry 429 and 503 until the fault is used up.
        let client = client_without_retries(&sim, "admin").await;
        let path = "/api/v1/namespaces/default/configmaps";
        // Priority and fairness rejects before any API handler: Go's `http.Error`, plain text.
        sim.inject(Fault::status("GET", path, 429, 1));
        let answer = call(&client, "GET", path, "", None, None).await;
        assert_eq!(answer.code, 429);
        assert_eq!(answer.content_type, "text/plain; charset=utf-8");
        assert_eq!(answer.text, "Too many requests, please try again later.\n");
        assert_eq!(answer.headers["retry-after"], "1");
        assert_eq!(answer.headers["x-content-type-options"], "nosniff");

        // An aggregated API whose service is down: the aggregator's plain-text 503.
        sim.inject(Fault::status("GET", path, 503, 1));
        let answer = call(&client, "GET", path, "", None, None).await;
        assert_eq!(
            (answer.code, answer.text.as_str()),
            (503, "service unavailable\n")
        );
        assert_eq!(answer.content_type, "text/plain; charset=utf-8");
        assert!(answer.headers.get("retry-after").is_none());

        sim.inject(Fault::status("GET", path, 500, 1));
        let answer = call(&client, "GET", path, "", None, None).await;
        assert_eq!(answer.content_type, "application/json");
        let expected = status_body(
            500,
            "InternalError",
            "Internal error occurred: injected fault",
            json!({"causes": [{"message": "injected fault"}]}),
        );
        assert_eq!(answer.body, expected);
        if let Some(recorded) = reference_json("error-500-webhook-no-endpoints.json") {
            assert_same_shape(&recorded, &answer.body);
        }

        // On a named object, an injected 404 is that object's NotFound.
        sim.inject(Fault::status(
            "GET",
            "/apis/apps/v1/namespaces/default/deployments/web",
            404,
            1,
        ));
        let answer = call(
            &client,
            "GET",
            "/apis/apps/v1/namespaces/default/deployments/web",
            "",
            None,
            None,
        )
        .await;
        let expected = status_body(
            404,
            "NotFound",
            "deployments.apps \"web\" not found",
            json!({"name": "web", "group": "apps", "kind": "deployments"}),
        );
        assert_eq!(answer.body, expected);
        // The faults were used up: the same requests are served again.
        assert_eq!(call(&client, "GET", path, "", None, None).await.code, 200);
    });
}

#[test]
fn injected_latency_delays_the_answer() {
    let sim = SimBuilder::new(Scenario::empty()).spawn().unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let path = "/api/v1/namespaces/default/configmaps";
        let delay = Duration::from_millis(400);
        sim.inject(Fault::latency("GET", path, delay, 1));
        let start = Instant::now();
        let answer = call(&client, "GET", path, "", None, None).await;
        assert!(
            start.elapsed() >= delay,
            "answered after {:?}",
            start.elapsed()
        );
        // Then served normally.
        assert_eq!(answer.code, 200);
        assert_eq!(answer.body["kind"], "ConfigMapList");
    });
}

#[test]
fn binary_serves_a_scenario_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(
        &scenario,
        "objects:\n  - { apiVersion: v1, kind: Namespace, metadata: { name: demo } }\n",
    )
    .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .arg("--scenario")
        .arg(&scenario)
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("kube-sim serving on https://127.0.0.1:"),
        "{first}"
    );
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    let result = runtime().block_on(async {
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::from_yaml(&text).unwrap(),
            &Default::default(),
        )
        .await
        .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(client)
            .get("demo")
            .await
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(result.is_ok(), "{result:?}");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "objects: [ { kind: Namespace } ]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .args([
            "--scenario",
            bad.to_str().unwrap(),
            "--kubeconfig-out",
            kubeconfig.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("apiVersion and kind are required"));
}
