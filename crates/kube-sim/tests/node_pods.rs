//! Run-to-completion pods (lbctl's node checks) seen through kube::Client: they complete on
//! Ready nodes and serve `settings.nodeFacts` as their log, stay Pending on broken nodes, answer
//! log requests like the API server and kubelet do, and are deleted gracefully or at once.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::runtime::wait::await_condition;
use kube_sim::{Scenario, SimHandle};
use serde_json::json;

mod common;
use common::{call, client_for, runtime};

const SCENARIO: &str = r#"
settings:
  podReadyDelay: 200ms
  nodeFacts:
    w1: "arp_ignore=1\narp_announce=2\n"
    w2: { log: "sysctl: permission denied\n", exitCode: 3 }
    "*": "other\n"
objects:
  - { apiVersion: v1, kind: Namespace, metadata: { name: lbctl-system } }
  - apiVersion: v1
    kind: Node
    metadata: { name: w1 }
    status:
      allocatable: { cpu: "4", memory: 8Gi, pods: "110" }
      addresses: [{ type: InternalIP, address: 192.168.77.11 }]
      conditions: [{ type: Ready, status: "True", reason: KubeletReady }]
  - apiVersion: v1
    kind: Node
    metadata: { name: w2 }
    status:
      addresses: [{ type: InternalIP, address: 192.168.77.12 }]
      conditions: [{ type: Ready, status: "True", reason: KubeletReady }]
  - apiVersion: v1
    kind: Node
    metadata: { name: w3 }
    status:
      addresses: [{ type: InternalIP, address: 192.168.77.13 }]
      conditions: [{ type: Ready, status: Unknown, reason: NodeStatusUnknown, message: Kubelet stopped posting node status. }]
"#;

fn sim() -> SimHandle {
    kube_sim::spawn(Scenario::from_yaml(SCENARIO).unwrap()).unwrap()
}

fn check_pod(node: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "lbctl-node-check-", "labels": {"app.kubernetes.io/name": "lbctl-node-check"}},
        "spec": {"nodeName": node, "restartPolicy": "Never", "hostNetwork": true,
                 "tolerations": [{"operator": "Exists"}],
                 "containers": [{"name": "check", "image": "busybox:1.37", "command": ["sh", "-c", "cat /proc/sys/net/ipv4/conf/all/arp_ignore"]}]}
    }))
    .unwrap()
}

fn finished(pod: Option<&Pod>) -> bool {
    pod.and_then(|p| p.status.as_ref())
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|phase| matches!(phase, "Succeeded" | "Failed"))
}

fn api_error(err: kube::Error) -> (u16, String, String) {
    match err {
        kube::Error::Api(status) => (status.code, status.reason, status.message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn pods_on_ready_nodes_complete_and_serve_their_nodes_facts() {
    let sim = sim();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "lbctl-system");
        for (node, phase, exit_code, reason, log) in [
            (
                "w1",
                "Succeeded",
                0,
                "Completed",
                "arp_ignore=1\narp_announce=2\n",
            ),
            ("w2", "Failed", 3, "Error", "sysctl: permission denied\n"),
        ] {
            let created = pods
                .create(&PostParams::default(), &check_pod(node))
                .await
                .unwrap();
            let name = created.metadata.name.clone().unwrap();
            let done = tokio::time::timeout(
                Duration::from_secs(10),
                await_condition(pods.clone(), &name, finished),
            )
            .await
            .expect("the pod finishes")
            .unwrap()
            .unwrap();
            let status = done.status.unwrap();
            assert_eq!(status.phase.as_deref(), Some(phase), "{node}");
            assert_eq!(
                status.pod_ip.as_deref(),
                status.host_ip.as_deref(),
                "hostNetwork"
            );
            let container = &status.container_statuses.unwrap()[0];
            let terminated = container
                .state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap();
            assert_eq!(terminated.exit_code, exit_code);
            assert_eq!(terminated.reason.as_deref(), Some(reason));
            assert!(terminated.started_at.is_some() && terminated.finished_at.is_some());
            let params = LogParams {
                container: Some("check".into()),
                ..LogParams::default()
            };
            assert_eq!(pods.logs(&name, &params).await.unwrap(), log, "{node}");
        }
        let events: Api<Event> = Api::namespaced(client, "lbctl-system");
        let reasons: Vec<(String, String)> = events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| (e.type_.unwrap(), e.reason.unwrap()))
            .collect();
        let started = [
            ("Normal", "Pulled"),
            ("Normal", "Created"),
            ("Normal", "Started"),
        ]
        .map(|(t, r)| (t.to_string(), r.to_string()));
        assert_eq!(
            reasons,
            [started.clone(), started].concat(),
            "a clean run: only the kubelet's Normal events"
        );
    });
}

#[test]
fn logs_answer_like_the_api_server_until_the_container_has_started() {
    let sim = sim();
    sim.pause();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "lbctl-system");
        let name = pods.create(&PostParams::default(), &check_pod("w1")).await.unwrap().metadata.name.unwrap();
        sim.advance(Duration::ZERO);
        let err = pods.logs(&name, &LogParams::default()).await.unwrap_err();
        assert_eq!(
            api_error(err),
            (400, "BadRequest".into(), format!("container \"check\" in pod \"{name}\" is waiting to start: ContainerCreating"))
        );
        let err = pods.logs(&name, &LogParams { container: Some("main".into()), ..LogParams::default() }).await.unwrap_err();
        assert_eq!(api_error(err), (400, "BadRequest".into(), format!("container main is not valid for pod {name}")));
        sim.advance(Duration::from_millis(200));
        assert_eq!(pods.logs(&name, &LogParams::default()).await.unwrap(), "arp_ignore=1\narp_announce=2\n", "a running container has printed");

        let down = pods.create(&PostParams::default(), &check_pod("w3")).await.unwrap().metadata.name.unwrap();
        let gone = pods.create(&PostParams::default(), &check_pod("w9")).await.unwrap().metadata.name.unwrap();
        sim.advance(Duration::from_secs(600));
        for pod in [&down, &gone] {
            let status = pods.get(pod).await.unwrap().status.unwrap();
            assert_eq!(status.phase.as_deref(), Some("Pending"), "{pod}");
            assert!(status.container_statuses.is_none() && status.conditions.is_none(), "{pod}: no kubelet wrote a status");
        }
        let (code, _, message) = api_error(pods.logs(&down, &LogParams::default()).await.unwrap_err());
        assert_eq!(code, 500);
        assert_eq!(
            message,
            format!("Get \"https://192.168.77.13:10250/containerLogs/lbctl-system/{down}/check\": dial tcp 192.168.77.13:10250: connect: connection refused")
        );
        let err = pods.logs(&gone, &LogParams::default()).await.unwrap_err();
        assert_eq!(api_error(err), (404, "NotFound".into(), "nodes \"w9\" not found".into()));
        let events: Api<Event> = Api::namespaced(client, "lbctl-system");
        for pod in [&down, &gone] {
            let about = events.list(&ListParams::default().fields(&format!("involvedObject.name={pod}"))).await.unwrap();
            assert!(about.items.is_empty(), "{pod}: no kubelet writes events");
        }
    });
}

#[test]
fn deletion_is_graceful_unless_the_grace_period_is_zero() {
    let sim = sim();
    sim.pause();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "lbctl-system");
        let create = |node: &'static str| {
            let pods = pods.clone();
            async move {
                pods.create(&PostParams::default(), &check_pod(node))
                    .await
                    .unwrap()
                    .metadata
                    .name
                    .unwrap()
            }
        };
        let (running, stuck, forced, by_query, unbound) = (
            create("w1").await,
            create("w3").await,
            create("w3").await,
            create("w3").await,
            create("w1").await,
        );
        sim.advance(Duration::ZERO);
        sim.advance(Duration::from_millis(200));
        let phase = |name: &str| {
            sim.get("v1", "Pod", Some("lbctl-system"), name).unwrap()["status"]["phase"].clone()
        };
        assert_eq!(phase(&running), "Running");
        let exists = |name: String| {
            let sim = &sim;
            move || sim.get("v1", "Pod", Some("lbctl-system"), &name).is_some()
        };

        // A running pod on a Ready node: marked with its grace period, removed by the kubelet.
        let marked = pods
            .delete(&running, &DeleteParams::default())
            .await
            .unwrap()
            .left()
            .expect("the pod is returned");
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));
        assert!(marked.metadata.deletion_timestamp.is_some());
        assert!(exists(running.clone())());
        sim.advance(Duration::ZERO);
        assert!(exists(running.clone())(), "its containers are stopping");
        let events: Api<Event> = Api::namespaced(client.clone(), "lbctl-system");
        let killing: Vec<String> = events
            .list(
                &ListParams::default()
                    .fields(&format!("involvedObject.name={running},reason=Killing")),
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|e| e.message)
            .collect();
        assert_eq!(killing, ["Stopping container check"]);
        sim.advance(Duration::from_millis(100));
        assert!(
            !exists(running.clone())(),
            "the kubelet removed the stopped pod"
        );

        // On a node whose kubelet is down the pod stays Terminating; a zero grace period removes it.
        pods.delete(&stuck, &DeleteParams::default()).await.unwrap();
        sim.advance(Duration::from_secs(600));
        assert!(
            exists(stuck.clone())(),
            "Terminating forever without a kubelet"
        );
        let again = pods
            .delete(&stuck, &DeleteParams::default())
            .await
            .unwrap()
            .left()
            .unwrap();
        assert_eq!(
            again.metadata.deletion_grace_period_seconds,
            Some(30),
            "a second delete changes nothing"
        );
        pods.delete(&stuck, &DeleteParams::default().grace_period(0))
            .await
            .unwrap();
        assert!(!exists(stuck)());
        pods.delete(&forced, &DeleteParams::default().grace_period(0))
            .await
            .unwrap();
        assert!(!exists(forced)());
        let path = format!("/api/v1/namespaces/lbctl-system/pods/{by_query}?gracePeriodSeconds=0");
        let answer = call(&client, "DELETE", &path, "", None, None).await;
        assert_eq!(answer.code, 200, "{}", answer.text);
        assert_eq!(answer.body["metadata"]["deletionGracePeriodSeconds"], 0);
        assert!(!exists(by_query)());

        // Finished pods go at once, whatever the grace period.
        sim.advance(Duration::from_millis(100));
        assert_eq!(
            pods.get(&unbound)
                .await
                .unwrap()
                .status
                .unwrap()
                .phase
                .as_deref(),
            Some("Succeeded")
        );
        pods.delete(&unbound, &DeleteParams::default())
            .await
            .unwrap();
        assert!(!exists(unbound)());
    });
}

#[test]
fn unpullable_images_leave_the_pod_pending_with_the_kubelets_events() {
    let sim = sim();
    sim.set_settings(json!({"imagePullFailures": ["busybox:1.37@w2"]}))
        .unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "lbctl-system");
        let name = pods.create(&PostParams::default(), &check_pod("w2")).await.unwrap().metadata.name.unwrap();
        let backing_off = |pod: Option<&Pod>| {
            pod.and_then(|p| p.status.as_ref())
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|cs| cs[0].state.as_ref())
                .and_then(|s| s.waiting.as_ref())
                .is_some_and(|w| w.reason.as_deref() == Some("ImagePullBackOff"))
        };
        let pod = tokio::time::timeout(Duration::from_secs(10), await_condition(pods.clone(), &name, backing_off))
            .await
            .expect("the pull backs off")
            .unwrap()
            .unwrap();
        assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Pending"));
        let events: Api<Event> = Api::namespaced(client.clone(), "lbctl-system");
        let about = events
            .list(&ListParams::default().fields(&format!("involvedObject.name={name},involvedObject.kind=Pod")))
            .await
            .unwrap();
        let seen: Vec<(String, String)> = about
            .items
            .iter()
            .map(|e| (e.reason.clone().unwrap(), e.message.clone().unwrap()))
            .collect();
        let reasons: Vec<&str> = seen.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(reasons, ["Pulling", "Failed", "Failed", "BackOff", "Failed"], "{seen:?}");
        assert!(seen[1].1.starts_with("Failed to pull image \"busybox:1.37\": rpc error: code = NotFound"), "{seen:?}");
        assert_eq!(seen[4].1, "Error: ImagePullBackOff");
        assert!(about.items.iter().all(|e| e.source.as_ref().and_then(|s| s.host.as_deref()) == Some("w2")));
        let err = pods.logs(&name, &LogParams::default()).await.unwrap_err();
        assert_eq!(
            api_error(err),
            (400, "BadRequest".into(), format!("container \"check\" in pod \"{name}\" is waiting to start: trying and failing to pull image"))
        );

        // The image turns up (a mirror is fixed): the next pull works and the pod completes.
        sim.set_settings(json!({"imagePullFailures": null})).unwrap();
        let done = tokio::time::timeout(Duration::from_secs(10), await_condition(pods.clone(), &name, finished))
            .await
            .expect("the pod finishes")
            .unwrap()
            .unwrap();
        assert_eq!(done.status.unwrap().phase.as_deref(), Some("Failed"), "w2's facts exit 3");
    });
}

#[test]
fn kubelet_admission_rejects_pods_on_full_nodes() {
    let sim = sim();
    sim.set_settings(json!({"podAdmissionFailures": {"w1": "OutOfmemory"}}))
        .unwrap();
    runtime().block_on(async {
        let client = client_for(&sim, "admin").await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "lbctl-system");
        let mut pod = check_pod("w1");
        pod.spec.as_mut().unwrap().containers[0].resources = Some(serde_json::from_value(json!({"requests": {"memory": "16Mi"}})).unwrap());
        let name = pods.create(&PostParams::default(), &pod).await.unwrap().metadata.name.unwrap();
        let done = tokio::time::timeout(Duration::from_secs(10), await_condition(pods.clone(), &name, finished))
            .await
            .expect("the pod is rejected")
            .unwrap()
            .unwrap();
        let status = done.status.unwrap();
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        assert_eq!(status.reason.as_deref(), Some("OutOfmemory"));
        assert_eq!(
            status.message.as_deref(),
            Some("Pod was rejected: Node didn't have enough resource: memory, requested: 16777216, used: 8589934592, capacity: 8589934592")
        );
        let events: Api<Event> = Api::namespaced(client, "lbctl-system");
        let about = events.list(&ListParams::default().fields(&format!("involvedObject.name={name}"))).await.unwrap();
        assert_eq!(about.items.len(), 1);
        assert_eq!(about.items[0].reason.as_deref(), Some("OutOfmemory"));
        assert_eq!(about.items[0].type_.as_deref(), Some("Warning"));
        pods.delete(&name, &DeleteParams::default()).await.unwrap();
        assert!(sim.get("v1", "Pod", Some("lbctl-system"), &name).is_none(), "a failed pod goes at once");
    });
}
