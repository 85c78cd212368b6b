//! Settings switched while the server runs: `SimHandle::set_settings` and `/_sim/settings`.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams, PostParams};
use kube_sim::{Scenario, SimHandle};
use serde_json::{Value, json};

mod common;
use common::{call, client_for, fixture, runtime};

const NODES: &str = r#"
settings: { podReadyDelay: 200ms }
objects:
  - apiVersion: v1
    kind: Node
    metadata: { name: w1 }
    status: { conditions: [{ type: Ready, status: "True" }] }
  - apiVersion: apps/v1
    kind: Deployment
    metadata: { name: web, namespace: default }
    spec:
      selector: { matchLabels: { app: web } }
      template:
        metadata: { labels: { app: web } }
        spec: { containers: [{ name: web, image: nginx }] }
"#;

fn check_pod(name: &str) -> Pod {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeName": "w1", "restartPolicy": "Never", "containers": [{"name": "check", "image": "busybox"}]}}))
    .unwrap()
}

fn phase(sim: &SimHandle, name: &str) -> String {
    let pod = sim
        .get("v1", "Pod", Some("default"), name)
        .expect("the pod exists");
    pod["status"]["phase"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn web_pod_ready(sim: &SimHandle) -> bool {
    let pods = sim.store().list("v1", "Pod", Some("default"));
    let web = pods
        .iter()
        .find(|p| p["metadata"]["name"].as_str().unwrap().starts_with("web-"))
        .expect("web's pod");
    web["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

#[test]
fn cluster_settings_switch_while_the_server_runs() {
    let sim = kube_sim::spawn(Scenario::from_yaml(NODES).unwrap()).unwrap();
    sim.pause();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let pods: Api<Pod> = Api::namespaced(client, "default");

        let now = sim
            .set_settings(json!({"nodeFacts": {"w1": "a=1\n"}, "podReadyDelay": "2s"}))
            .unwrap();
        assert_eq!(
            now,
            json!({"podReadyDelay": "2s", "nodeFacts": {"w1": "a=1\n"}})
        );
        pods.create(&PostParams::default(), &check_pod("slow"))
            .await
            .unwrap();
        sim.advance(Duration::ZERO);
        sim.advance(Duration::from_millis(1500));
        assert_eq!(
            phase(&sim, "slow"),
            "Pending",
            "the new podReadyDelay holds it"
        );
        sim.advance(Duration::from_millis(500));
        assert_eq!(phase(&sim, "slow"), "Running");
        sim.advance(Duration::from_millis(100));
        assert_eq!(phase(&sim, "slow"), "Succeeded");
        assert_eq!(
            pods.logs("slow", &LogParams::default()).await.unwrap(),
            "a=1\n"
        );

        sim.set_settings(json!({"controllers": false, "nodeFacts": {"*": "b=2\n", "w1": null}}))
            .unwrap();
        pods.create(&PostParams::default(), &check_pod("frozen"))
            .await
            .unwrap();
        sim.advance(Duration::from_secs(10));
        assert!(
            sim.get("v1", "Pod", Some("default"), "frozen").unwrap()["status"]
                .get("containerStatuses")
                .is_none()
        );
        sim.set_settings(json!({"controllers": null, "podReadyDelay": null}))
            .unwrap();
        for _ in 0..3 {
            sim.advance(Duration::from_millis(200));
        }
        assert_eq!(
            phase(&sim, "frozen"),
            "Succeeded",
            "controllers back on, default delay"
        );
        assert_eq!(
            pods.logs("frozen", &LogParams::default()).await.unwrap(),
            "b=2\n",
            "w1 dropped: the fallback applies"
        );

        assert!(web_pod_ready(&sim));
        sim.set_settings(json!({"podsNeverReady": ["default/web"]}))
            .unwrap();
        sim.advance(Duration::ZERO);
        assert!(!web_pod_ready(&sim), "switched to never ready");
        sim.set_settings(json!({"podsNeverReady": []})).unwrap();
        sim.advance(Duration::ZERO);
        assert!(web_pod_ready(&sim));
    });
}

#[test]
fn invalid_settings_change_nothing() {
    let sim = kube_sim::spawn(Scenario::from_yaml(NODES).unwrap()).unwrap();
    let before = sim.settings();
    for (patch, wanted) in [
        (
            json!({"podReadyDelay": "soon"}),
            "invalid scenario: settings: settings.podReadyDelay: \"soon\" is not a duration",
        ),
        (
            json!({"podReadyDelai": "1s"}),
            "invalid scenario: settings: settings.podReadyDelai is not a setting (known: controllers,",
        ),
        (
            json!({"metallb": {"webhookServing": "no"}}),
            "invalid scenario: settings: settings.metallb.webhookServing must be true or false",
        ),
        (
            json!({"nodeFacts": {"w1": {"exitCode": -1}}}),
            "invalid scenario: settings: settings.nodeFacts.w1.exitCode must be",
        ),
        (
            json!(["podReadyDelay"]),
            "invalid scenario: settings: a settings patch must be a map",
        ),
    ] {
        let err = sim.set_settings(patch.clone()).unwrap_err().to_string();
        assert!(err.starts_with(wanted), "{patch}: {err}");
        assert_eq!(sim.settings(), before, "{patch} changed nothing");
    }
    // A scenario with the same mistake fails to load with the same message.
    let err = kube_sim::spawn(Scenario::from_yaml("settings: { podReadyDelai: 1s }").unwrap())
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with("invalid scenario: settings: settings.podReadyDelai is not a setting"),
        "{err}"
    );
}

#[test]
fn the_control_endpoint_switches_metallb_behaviour() {
    let sim = kube_sim::spawn(fixture("metallb-healthy.yaml")).unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let pools = "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools?dryRun=All";
        let pool = |name: &str| -> Value {
            json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
                "metadata": {"name": name, "namespace": "metallb-system"}, "spec": {"addresses": ["10.9.0.0/24"]}})
        };
        let created = call(&client, "POST", pools, "application/json", Some(&pool("a")), None).await;
        assert_eq!(created.code, 201, "{}", created.text);

        let patch = json!({"metallb": {"webhookServing": false}});
        let answer = call(&client, "PATCH", "/_sim/settings", "application/merge-patch+json", Some(&patch), None).await;
        assert_eq!(answer.code, 200, "{}", answer.text);
        assert_eq!(answer.body["metallb"], json!({"webhookServing": false}));
        let refused = call(&client, "POST", pools, "application/json", Some(&pool("b")), None).await;
        assert_eq!(refused.code, 500, "{}", refused.text);
        assert!(refused.body["message"].as_str().unwrap().contains("connect: connection refused"), "{}", refused.text);

        let bad = json!({"metallb": {"webhookServing": "later"}});
        let answer = call(&client, "PATCH", "/_sim/settings", "application/merge-patch+json", Some(&bad), None).await;
        assert_eq!(answer.code, 400);
        assert_eq!(answer.body["reason"], "BadRequest");
        assert!(answer.body["message"].as_str().unwrap().contains("settings.metallb.webhookServing must be true or false"));
        let current = call(&client, "GET", "/_sim/settings", "", None, None).await;
        assert_eq!(current.body["metallb"], json!({"webhookServing": false}), "the bad patch changed nothing");

        let back = json!({"metallb": null});
        call(&client, "PATCH", "/_sim/settings", "application/merge-patch+json", Some(&back), None).await;
        let created = call(&client, "POST", pools, "application/json", Some(&pool("c")), None).await;
        assert_eq!(created.code, 201, "{}", created.text);
    });
}
