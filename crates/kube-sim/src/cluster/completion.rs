//! Run-to-completion pods (`restartPolicy: Never`, e.g. lbctl's node-check pods): the kubelet
//! creates the container after `podReadyDelay`, it runs briefly, prints the node's
//! `settings.nodeFacts` entry as its log and exits with its exit code, and the pod ends Succeeded
//! or Failed with the status a v1.36 kubelet writes for a finished pod.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::host;
use super::images;
use super::meta::{self, rfc3339};
use super::pods::{self, Kubelet};
use super::settings::NodeFact;
use super::world::{Action, World};

/// How long a run-to-completion container runs before it exits.
const CONTAINER_RUN: SignedDuration = SignedDuration::from_millis(100);

/// Which timed step a kubelet timer stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The container of a run-to-completion pod exits.
    Exit,
    /// A pod reaches its `activeDeadlineSeconds`.
    Deadline,
    /// A deleted pod's containers have stopped; the kubelet removes the pod.
    Stop,
    /// A failed image pull turns into a back-off.
    PullBackOff,
}

/// Pods whose containers are not restarted when they exit (what the kubelet simulates to the end).
pub fn runs_to_completion(pod: &Value) -> bool {
    meta::str_at(pod, &["spec", "restartPolicy"]) == "Never"
}

impl Kubelet<'_> {
    /// The next step of a run-to-completion pod on a working node: ContainerCreating, after
    /// `podReadyDelay` Running (its log written), after a short run Succeeded or Failed.
    pub(super) fn run_to_completion(
        &mut self,
        world: &World,
        pod: &Value,
        node: &Value,
        key: &str,
        used_ips: &mut HashSet<String>,
    ) -> Vec<Action> {
        let fact = self.settings.node_fact(meta::name(node));
        let started = meta::parse_time(pod.pointer("/status/startTime"));
        let log = || Action::PodLog {
            namespace: meta::namespace(pod).to_string(),
            name: meta::name(pod).to_string(),
            text: if self.settings.host_effects {
                host::effects(&fact.log, meta::name(node), world)
            } else {
                fact.log.clone()
            },
        };
        match (pods::phase(pod), started) {
            ("Running", Some(start)) => {
                if !self.step_done(key, Step::Exit, CONTAINER_RUN) {
                    return Vec::new();
                }
                self.timers.remove(&(key.to_string(), Step::Exit));
                let ip = meta::str_at(pod, &["status", "podIP"]).to_string();
                let ran_from = meta::parse_time(
                    pod.pointer("/status/containerStatuses/0/state/running/startedAt"),
                )
                .unwrap_or(start);
                let running = self.running_status(pod, node, start, ran_from, &ip, true);
                vec![Action::UpdateStatus(with_status(
                    pod,
                    finished_status(running, &fact, self.now),
                ))]
            }
            _ if self.booting => {
                let start = self.settings.boot_time(self.now);
                let ip = pods::pod_ip(pod, node, used_ips);
                let running = self.running_status(pod, node, start, start, &ip, true);
                vec![
                    log(),
                    Action::UpdateStatus(with_status(pod, finished_status(running, &fact, start))),
                ]
            }
            ("Pending" | "", Some(start)) => {
                if !self.containers_created(key, start) {
                    return Vec::new();
                }
                let ip = pods::pod_ip(pod, node, used_ips);
                self.timers
                    .insert((key.to_string(), Step::Exit), self.now + CONTAINER_RUN);
                let running = self.running_status(pod, node, start, self.now, &ip, true);
                let mut actions = vec![log(), Action::UpdateStatus(with_status(pod, running))];
                actions.extend(images::started_events(pod, meta::name(node), self.now));
                actions
            }
            _ => {
                self.seen.insert(key.to_string(), self.now);
                vec![Action::UpdateStatus(with_status(
                    pod,
                    self.pending_status(pod, node),
                ))]
            }
        }
    }
}

fn with_status(pod: &Value, status: Value) -> Value {
    let mut updated = pod.clone();
    updated["status"] = status;
    updated
}

/// The status of a pod whose containers all exited at `at` with the node fact's exit code, made
/// from its running status: containers terminated (`Completed` or `Error`), then [`ended`].
pub fn finished_status(mut status: Value, fact: &NodeFact, at: Timestamp) -> Value {
    let at = rfc3339(at);
    let ok = fact.exit_code == 0;
    if let Some(containers) = status["containerStatuses"].as_array_mut() {
        for c in containers {
            let started_at = c["state"]["running"]["startedAt"].clone();
            c["state"] = json!({"terminated": {
                "containerID": c["containerID"],
                "exitCode": fact.exit_code,
                "finishedAt": at,
                "reason": if ok { "Completed" } else { "Error" },
                "startedAt": started_at,
            }});
            c["ready"] = json!(false);
            c["started"] = json!(false);
        }
    }
    ended(status, ok, &at)
}

/// The status of a pod the kubelet killed at `at` because it outlived its
/// `activeDeadlineSeconds`: running containers terminated by SIGKILL (137, `Error`), containers
/// that never ran `ContainerStatusUnknown`; Failed with reason `DeadlineExceeded`.
pub fn deadline_status(mut status: Value, at: Timestamp) -> Value {
    let at = rfc3339(at);
    if let Some(containers) = status["containerStatuses"].as_array_mut() {
        for c in containers {
            let state = &c["state"];
            if state.get("terminated").is_some() {
                continue;
            }
            c["state"] = match state.get("running") {
                Some(running) => json!({"terminated": {
                    "containerID": c["containerID"],
                    "exitCode": 137,
                    "finishedAt": at,
                    "reason": "Error",
                    "startedAt": running["startedAt"],
                }}),
                None => json!({"terminated": {
                    "exitCode": 137,
                    "finishedAt": null,
                    "message": "The container could not be located when the pod was terminated",
                    "reason": "ContainerStatusUnknown",
                    "startedAt": null,
                }}),
            };
            c["ready"] = json!(false);
            c["started"] = json!(false);
        }
    }
    let mut status = ended(status, false, &at);
    status["reason"] = json!(DEADLINE_EXCEEDED);
    status["message"] = json!(DEADLINE_MESSAGE);
    status
}

const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
const DEADLINE_MESSAGE: &str = "Pod was active on the node longer than the specified deadline";

/// Conditions and phase of a pod whose containers have all ended at `at`: Succeeded or Failed,
/// Ready/ContainersReady False with reason `PodCompleted`/`PodFailed`, Initialized True (reason
/// `PodCompleted` when it succeeded), PodReadyToStartContainers False once the sandbox is gone.
/// Transition times move only for conditions whose status changes.
fn ended(mut status: Value, succeeded: bool, at: &str) -> Value {
    let pod_reason = if succeeded {
        "PodCompleted"
    } else {
        "PodFailed"
    };
    if let Some(conditions) = status["conditions"].as_array_mut() {
        for c in conditions {
            let kind = meta::str_at(c, &["type"]).to_string();
            let was_true = meta::str_at(c, &["status"]) == "True";
            let mut changed = match kind.as_str() {
                "PodReadyToStartContainers" | "Ready" | "ContainersReady" => {
                    pods::cond(&kind, false, at, None)
                }
                "Initialized" if succeeded => c.clone(),
                _ => continue,
            };
            if kind != "Initialized" && !was_true {
                changed["lastTransitionTime"] = c["lastTransitionTime"].clone();
            }
            match kind.as_str() {
                "Ready" | "ContainersReady" => changed["reason"] = json!(pod_reason),
                "Initialized" => changed["reason"] = json!("PodCompleted"),
                _ => {}
            }
            *c = changed;
        }
    }
    status["phase"] = json!(if succeeded { "Succeeded" } else { "Failed" });
    status
}

impl Kubelet<'_> {
    /// `activeDeadlineSeconds`, counted from the pod's start: once it has passed, the kubelet
    /// kills the pod (see [`deadline_status`]) and says so in a Normal event; before, the
    /// deadline is timed. None for pods without a deadline or not yet started.
    pub(super) fn past_deadline(
        &mut self,
        pod: &Value,
        node: &str,
        key: &str,
    ) -> Option<Vec<Action>> {
        let seconds = pod
            .pointer("/spec/activeDeadlineSeconds")
            .and_then(Value::as_i64)?;
        let start = meta::parse_time(pod.pointer("/status/startTime"))?;
        let due = start + SignedDuration::from_secs(seconds);
        let timer = (key.to_string(), Step::Deadline);
        if due > self.now {
            self.timers.insert(timer, due);
            return None;
        }
        self.timers.remove(&timer);
        Some(vec![
            Action::UpdateStatus(with_status(
                pod,
                deadline_status(pod["status"].clone(), self.now),
            )),
            images::kubelet_event(
                pod,
                None,
                node,
                "Normal",
                DEADLINE_EXCEEDED,
                DEADLINE_MESSAGE,
                self.now,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Cluster, ClusterSettings};
    use super::*;
    use serde_json::json;

    fn check_pod(name: &str, node: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app.kubernetes.io/name": "lbctl-node-check"}},
            "spec": {"nodeName": node, "restartPolicy": "Never", "hostNetwork": true,
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "check", "image": "busybox:1.37", "command": ["sh", "-c", "true"]}]},
            "status": {"phase": "Pending", "qosClass": "BestEffort"}})
    }

    fn facts() -> ClusterSettings {
        ClusterSettings::from_settings(&json!({"nodeFacts": {
            "w1": "arp_ignore=1\n", "w2": {"log": "broken\n", "exitCode": 2}, "*": "other\n"}}))
        .unwrap()
    }

    /// A cluster past its boot, with `pods` created just now.
    fn started(
        settings: ClusterSettings,
        mut nodes: Vec<Value>,
        pods: Vec<Value>,
    ) -> (MemStore, Cluster) {
        nodes.retain(|n| !n.is_null());
        let (mut store, cluster) = booted(nodes, settings);
        store.apply(pods.into_iter().map(Action::Create).collect(), now());
        (store, cluster)
    }

    fn condition<'a>(pod: &'a Value, kind: &str) -> &'a Value {
        pods::condition(pod, kind).unwrap_or_else(|| panic!("no {kind} condition in {pod}"))
    }

    #[test]
    fn a_pod_on_a_ready_node_runs_prints_its_facts_and_succeeds() {
        let (mut store, mut cluster) = started(facts(), three_nodes(), vec![check_pod("c1", "w1")]);
        store.settle(&mut cluster, now(), 20);
        let pod = store.find("Pod", "default", "c1").clone();
        assert_eq!(pod["status"]["phase"], "Pending");
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        assert_eq!(
            pod["status"]["podIP"], "192.168.77.11",
            "hostNetwork pods have the node's IP at once"
        );
        assert!(
            store.logs.is_empty(),
            "nothing printed before the container runs"
        );

        let running_at = cluster.next_wakeup(now()).expect("the pod is due to run");
        assert_eq!(running_at, now() + SignedDuration::from_millis(200));
        store.settle(&mut cluster, running_at, 20);
        let pod = store.find("Pod", "default", "c1").clone();
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(store.logs["default/c1"], "arp_ignore=1\n");

        let exit_at = cluster
            .next_wakeup(running_at)
            .expect("the container is due to exit");
        assert_eq!(exit_at, running_at + CONTAINER_RUN);
        let later = exit_at + SignedDuration::from_secs(1);
        store.settle(&mut cluster, later, 20);
        let pod = store.find("Pod", "default", "c1");
        let st = &pod["status"];
        assert_eq!(st["phase"], "Succeeded");
        assert_eq!(
            (st["hostIP"].as_str(), st["podIP"].as_str()),
            (Some("192.168.77.11"), Some("192.168.77.11"))
        );
        assert_eq!(st["podIPs"], json!([{"ip": "192.168.77.11"}]));
        let c = &st["containerStatuses"][0];
        assert_eq!(
            (c["ready"].as_bool(), c["started"].as_bool()),
            (Some(false), Some(false))
        );
        let t = &c["state"]["terminated"];
        assert_eq!(
            (t["exitCode"].as_i64(), t["reason"].as_str()),
            (Some(0), Some("Completed"))
        );
        assert_eq!(t["startedAt"], st["startTime"]);
        assert_eq!(t["finishedAt"], meta::rfc3339(later));
        assert_eq!(t["containerID"], c["containerID"]);
        assert!(
            c["containerID"]
                .as_str()
                .unwrap()
                .starts_with("containerd://")
        );
        assert!(
            c["imageID"]
                .as_str()
                .unwrap()
                .starts_with("busybox@sha256:")
        );
        for (kind, status, reason) in [
            ("PodReadyToStartContainers", "False", None),
            ("Initialized", "True", Some("PodCompleted")),
            ("Ready", "False", Some("PodCompleted")),
            ("ContainersReady", "False", Some("PodCompleted")),
            ("PodScheduled", "True", None),
        ] {
            let cond = condition(pod, kind);
            assert_eq!(cond["status"], status, "{kind}");
            assert_eq!(cond["reason"].as_str(), reason, "{kind}");
            assert!(cond.get("message").is_none(), "{kind}: {cond}");
        }
        assert_eq!(
            condition(pod, "Ready")["lastTransitionTime"],
            meta::rfc3339(later)
        );
        assert_eq!(
            events(&store),
            [
                "Pulled: Container image \"busybox:1.37\" already present on machine and can be accessed by the pod",
                "Created: Container created",
                "Started: Container started",
            ]
        );
        let started = store.objects.iter().find(|o| o["kind"] == "Event").unwrap();
        assert_eq!(
            started["involvedObject"]["fieldPath"],
            "spec.containers{check}"
        );
        assert_eq!(started["lastTimestamp"], meta::rfc3339(running_at));
        assert_eq!(cluster.next_wakeup(later), None, "nothing left to do");
    }

    #[test]
    fn a_failing_exit_code_fails_the_pod_and_the_fallback_fact_applies_elsewhere() {
        let pods = vec![check_pod("c2", "w2"), check_pod("cp", "cp1")];
        let (mut store, mut cluster) = started(facts(), three_nodes(), pods);
        for step in 0..4 {
            store.settle(&mut cluster, now() + SignedDuration::from_secs(step), 20);
        }
        let st = &store.find("Pod", "default", "c2")["status"];
        assert_eq!(st["phase"], "Failed");
        let t = &st["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(
            (t["exitCode"].as_i64(), t["reason"].as_str()),
            (Some(2), Some("Error"))
        );
        let pod = store.find("Pod", "default", "c2");
        assert_eq!(condition(pod, "Ready")["reason"], "PodFailed");
        assert!(condition(pod, "Initialized").get("reason").is_none());
        assert_eq!(store.logs["default/c2"], "broken\n");
        assert_eq!(
            store.find("Pod", "default", "cp")["status"]["phase"],
            "Succeeded"
        );
        assert_eq!(store.logs["default/cp"], "other\n");
    }

    #[test]
    fn pods_on_unready_or_missing_nodes_stay_pending_without_a_kubelet_status() {
        let mut nodes = three_nodes();
        nodes[2]["status"]["conditions"] =
            json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]);
        let pods = vec![check_pod("down", "w2"), check_pod("gone", "w9")];
        let (mut store, mut cluster) = started(facts(), nodes, pods);
        for step in 0..4 {
            store.settle(
                &mut cluster,
                now() + SignedDuration::from_secs(step * 60),
                20,
            );
        }
        for name in ["down", "gone"] {
            let pod = store.find("Pod", "default", name);
            assert_eq!(
                pod["status"],
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
                "{name}"
            );
        }
        assert!(events(&store).is_empty(), "{:?}", events(&store));
        assert!(store.logs.is_empty());
    }

    #[test]
    fn deleted_pods_are_removed_by_a_working_kubelet_only() {
        let mut nodes = three_nodes();
        nodes[2]["status"]["conditions"] = json!([{"type": "Ready", "status": "Unknown"}]);
        let mut pods = vec![check_pod("up", "w1"), check_pod("down", "w2")];
        for p in &mut pods {
            p["metadata"]["deletionTimestamp"] = json!("2026-11-25T10:00:30Z");
            p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        }
        let mut held = check_pod("held", "w1");
        held["metadata"]["deletionTimestamp"] = json!("2026-11-25T10:00:00Z");
        held["metadata"]["finalizers"] = json!(["example.com/keep"]);
        pods.push(held);
        let (mut store, mut cluster) = started(facts(), nodes, pods);
        store.settle(&mut cluster, now(), 20);
        assert_eq!(store.pods("").len(), 3, "containers take a moment to stop");
        let stopped = cluster.next_wakeup(now()).expect("the stop is timed");
        store.settle(&mut cluster, stopped, 20);
        let left: Vec<&str> = store.pods("").iter().map(|p| meta::name(p)).collect();
        assert_eq!(left, ["down", "held"]);
    }

    #[test]
    fn pods_past_their_active_deadline_are_killed() {
        let settings =
            ClusterSettings::from_settings(&json!({"imagePullFailures": ["busybox:1.37@w2"]}))
                .unwrap();
        let mut stuck = check_pod("stuck", "w2");
        stuck["spec"]["containers"][0]["image"] = json!("busybox:1.37");
        stuck["spec"]["activeDeadlineSeconds"] = json!(5);
        let mut server = check_pod("server", "w1");
        server["spec"]["restartPolicy"] = json!("Always");
        server["spec"]["activeDeadlineSeconds"] = json!(5);
        let (mut store, mut cluster) = started(settings, three_nodes(), vec![stuck, server]);
        store.settle(&mut cluster, now(), 20);
        store.settle(&mut cluster, now() + SignedDuration::from_secs(1), 20);
        store.settle(&mut cluster, now() + SignedDuration::from_secs(2), 20);
        let waiting = &store.find("Pod", "default", "stuck")["status"]["containerStatuses"][0]["state"]
            ["waiting"];
        assert_eq!(waiting["reason"], "ImagePullBackOff");
        let due = cluster
            .next_wakeup(now() + SignedDuration::from_secs(2))
            .expect("the deadline is timed");
        assert_eq!(due, now() + SignedDuration::from_secs(5));
        store.settle(&mut cluster, due, 20);

        let st = &store.find("Pod", "default", "stuck")["status"];
        assert_eq!(
            (st["phase"].as_str(), st["reason"].as_str()),
            (Some("Failed"), Some("DeadlineExceeded"))
        );
        assert_eq!(
            st["message"],
            "Pod was active on the node longer than the specified deadline"
        );
        let t = &st["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(
            (t["exitCode"].as_i64(), t["reason"].as_str()),
            (Some(137), Some("ContainerStatusUnknown"))
        );
        let st = &store.find("Pod", "default", "server")["status"];
        assert_eq!(st["reason"], "DeadlineExceeded");
        let t = &st["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(
            (t["exitCode"].as_i64(), t["reason"].as_str()),
            (Some(137), Some("Error"))
        );
        assert_eq!(t["finishedAt"], meta::rfc3339(due));
        let pod = store.find("Pod", "default", "server");
        assert_eq!(condition(pod, "Ready")["reason"], "PodFailed");
        assert_eq!(
            condition(pod, "Ready")["lastTransitionTime"],
            meta::rfc3339(due),
            "it was ready until killed"
        );
        let deadline_events: Vec<String> = events(&store)
            .into_iter()
            .filter(|e| e.starts_with("DeadlineExceeded"))
            .collect();
        assert_eq!(deadline_events.len(), 2, "{deadline_events:?}");
        assert_eq!(
            deadline_events[0],
            "DeadlineExceeded: Pod was active on the node longer than the specified deadline"
        );
    }

    #[test]
    fn pods_in_a_loaded_scenario_have_finished_at_boot() {
        let mut store = MemStore::new([three_nodes(), vec![check_pod("old", "w1")]].concat());
        let mut cluster = Cluster::new(facts());
        store.settle(&mut cluster, now(), 20);
        let st = &store.find("Pod", "default", "old")["status"];
        assert_eq!(st["phase"], "Succeeded");
        assert_eq!(st["startTime"], "2026-11-25T09:00:00Z");
        assert_eq!(
            st["containerStatuses"][0]["state"]["terminated"]["finishedAt"],
            "2026-11-25T09:00:00Z"
        );
        assert_eq!(store.logs["default/old"], "arp_ignore=1\n");
    }
}
