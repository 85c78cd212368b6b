//! The `/_sim/` control endpoints and the `kube-sim` binary.

mod common;

use common::{call, client_for, runtime};
use kube_sim::{Controller, Scenario, SimBuilder, Store};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

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
