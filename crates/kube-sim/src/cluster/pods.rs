//! Pods: built from a workload's template, bound by a small scheduler, and brought to Running and
//! Ready by a simulated kubelet after `podReadyDelay`.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::completion::{self, Step};
use super::images;
use super::meta::{self, rfc3339};
use super::mounts;
use super::rejection;
use super::scheduling;
use super::settings::ClusterSettings;
use super::world::{Action, World};

/// A new pod for `owner` from its pod `template`, named `<prefix><random>` like `generateName`.
pub fn new_pod(
    owner: &Value,
    template: &Value,
    prefix: &str,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{prefix}{}", meta::random_suffix()),
            "generateName": prefix,
            "namespace": meta::namespace(owner),
            "ownerReferences": [meta::controller_ref(owner)],
        },
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
        "status": {"phase": "Pending"},
    });
    for key in ["labels", "annotations"] {
        if let Some(v) = template.pointer(&format!("/metadata/{key}")) {
            pod["metadata"][key] = v.clone();
        }
    }
    for (k, v) in extra_labels {
        meta::set_label(&mut pod, k, v);
    }
    pod
}

/// The workload names a pod's never-ready switch can name: its owner, and for a ReplicaSet owned
/// by a Deployment (`<deployment>-<hash>`) also the Deployment.
fn workload_names(pod: &Value) -> Vec<&str> {
    let Some(owner) = meta::controller_of(pod) else {
        return Vec::new();
    };
    let name = meta::str_at(owner, &["name"]);
    let mut names = vec![name];
    if meta::str_at(owner, &["kind"]) == "ReplicaSet"
        && let Some((deployment, _hash)) = name.rsplit_once('-')
    {
        names.push(deployment);
    }
    names
}

/// Binds unscheduled pods to the eligible node with the fewest pods, or records why none fits
/// (`PodScheduled=False`, reason `Unschedulable`, with the scheduler's message).
pub fn schedule(world: &World, now: Timestamp) -> Vec<Action> {
    let nodes: Vec<&Value> = world.list("Node").iter().collect();
    let mut load: HashMap<&str, usize> = HashMap::new();
    for pod in world.list("Pod") {
        let node = meta::str_at(pod, &["spec", "nodeName"]);
        if !node.is_empty() {
            *load.entry(node).or_default() += 1;
        }
    }
    let mut actions = Vec::new();
    for pod in world.list("Pod") {
        if !meta::str_at(pod, &["spec", "nodeName"]).is_empty() || meta::is_terminating(pod) {
            continue;
        }
        let spec = &pod["spec"];
        let best = nodes
            .iter()
            .filter(|n| scheduling::unschedulable_reason(n, spec).is_none())
            .min_by_key(|n| (load.get(meta::name(n)).copied().unwrap_or(0), meta::name(n)));
        match best {
            Some(node) => {
                let node_name = meta::name(node);
                *load.entry(node_name).or_default() += 1;
                let mut bound = pod.clone();
                bound["spec"]["nodeName"] = json!(node_name);
                actions.push(Action::Update(bound));
            }
            None => {
                let message = scheduling::failed_scheduling_message(&nodes, spec);
                let current = condition(pod, "PodScheduled");
                if current.is_some_and(|c| meta::str_at(c, &["message"]) == message) {
                    continue;
                }
                let mut updated = pod.clone();
                updated["status"] = json!({
                    "phase": "Pending",
                    "qosClass": qos_class(pod),
                    "conditions": [{
                        "lastProbeTime": null,
                        "lastTransitionTime": rfc3339(now),
                        "message": message,
                        "reason": "Unschedulable",
                        "status": "False",
                        "type": "PodScheduled",
                    }],
                });
                actions.push(Action::UpdateStatus(updated));
                actions.push(Action::Create(meta::event(
                    pod,
                    "Warning",
                    "FailedScheduling",
                    &message,
                    "default-scheduler",
                    now,
                )));
            }
        }
    }
    actions
}

pub fn condition<'a>(pod: &'a Value, kind: &str) -> Option<&'a Value> {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| meta::str_at(c, &["type"]) == kind)
}

/// `Ready=True` (what `podutil.IsPodReady` checks).
pub fn is_ready(pod: &Value) -> bool {
    condition(pod, "Ready").is_some_and(|c| meta::str_at(c, &["status"]) == "True")
}

/// Ready for at least `min_ready_seconds` (what `IsPodAvailable` checks).
pub fn is_available(pod: &Value, min_ready_seconds: i64, now: Timestamp) -> bool {
    let Some(ready) = condition(pod, "Ready") else {
        return false;
    };
    if meta::str_at(ready, &["status"]) != "True" {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    meta::parse_time(ready.get("lastTransitionTime"))
        .is_some_and(|t| t + SignedDuration::from_secs(min_ready_seconds) <= now)
}

pub fn phase(pod: &Value) -> &str {
    meta::str_at(pod, &["status", "phase"])
}

/// The node's first InternalIP.
pub fn node_ip(node: &Value) -> Option<&str> {
    node.pointer("/status/addresses")
        .and_then(Value::as_array)?
        .iter()
        .find(|a| meta::str_at(a, &["type"]) == "InternalIP")
        .and_then(|a| a.get("address"))
        .and_then(Value::as_str)
}

/// The simulated kubelets: every bound pod goes Pending (ContainerCreating) with a start time, then
/// Running after `pod_ready_delay`, Ready unless switched off or its node is not Ready. While
/// `booting`, pods go straight to Running with a start time at `boot_time` (the scenario's
/// cluster has been up for a while).
pub struct Kubelet<'a> {
    pub settings: &'a ClusterSettings,
    pub now: Timestamp,
    pub booting: bool,
    /// When the kubelet first saw each pod (`namespace/name`): the delay runs from there at
    /// sub-second precision, which RFC 3339 start times cannot carry.
    pub seen: &'a mut HashMap<String, Timestamp>,
    /// The next timed step of a pod (`namespace/name`) after it runs: a run-to-completion
    /// container exiting, a deleted pod's containers stopped.
    pub timers: &'a mut HashMap<(String, Step), Timestamp>,
}

/// How long a deleted pod's containers take to stop before the kubelet removes the pod.
const CONTAINER_STOP: SignedDuration = SignedDuration::from_millis(100);

impl Kubelet<'_> {
    pub fn sync(&mut self, world: &World) -> Vec<Action> {
        let nodes: HashMap<&str, &Value> = world
            .list("Node")
            .iter()
            .map(|n| (meta::name(n), n))
            .collect();
        let mut used_ips: HashSet<String> = world
            .list("Pod")
            .iter()
            .filter_map(|p| p.pointer("/status/podIP").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        let mut live = HashSet::new();
        let mut actions = Vec::new();
        for pod in world.list("Pod") {
            let key = format!("{}/{}", meta::namespace(pod), meta::name(pod));
            let Some(node) = nodes.get(meta::str_at(pod, &["spec", "nodeName"])) else {
                continue;
            };
            live.insert(key.clone());
            let node_ready = scheduling::node_is_ready(node);
            if meta::is_terminating(pod) {
                if node_ready {
                    actions.extend(self.stop(pod, meta::name(node), &key));
                }
                continue;
            }
            if matches!(phase(pod), "Succeeded" | "Failed") {
                continue;
            }
            if node_ready && let Some(killed) = self.past_deadline(pod, meta::name(node), &key) {
                actions.extend(killed);
                continue;
            }
            // The kubelet's own admission checks NoExecute taints only (NoSchedule is the
            // scheduler's): a pod bound with nodeName that does not tolerate one is rejected.
            // Pods of the booted scenario were admitted before any taint.
            if pod.pointer("/status/startTime").is_none()
                && !self.booting
                && scheduling::untolerated_taints(node, &pod["spec"])
                    .iter()
                    .any(|t| meta::str_at(t, &["effect"]) == "NoExecute")
            {
                if node_ready {
                    actions.extend(rejection::reject(
                        pod,
                        node,
                        &rejection::taint_toleration(),
                        self.now,
                    ));
                }
                continue;
            }
            // Only pods no controller would replace: the simulated scheduler ignores resources,
            // so a rejected workload pod would come back to the same node without end.
            if pod.pointer("/status/startTime").is_none()
                && meta::controller_of(pod).is_none()
                && let Some(rejection) = self.settings.rejection(meta::name(node))
            {
                if node_ready {
                    actions.extend(rejection::reject(pod, node, rejection, self.now));
                }
                continue;
            }
            if phase(pod) != "Running"
                && let Some((_, message)) =
                    mounts::failing_mount(self.settings, pod, meta::name(node))
            {
                if node_ready {
                    actions.extend(self.mount_fails(pod, node, &message));
                }
                continue;
            }
            if phase(pod) != "Running"
                && let Some(failing) = images::failing_image(self.settings, pod, meta::name(node))
            {
                if node_ready {
                    actions.extend(self.pull_fails(pod, node, &key, failing, &mut used_ips));
                }
                continue;
            }
            if completion::runs_to_completion(pod) {
                // A kubelet that is down (node not Ready) never even reports the pod.
                if node_ready {
                    actions.extend(self.run_to_completion(world, pod, node, &key, &mut used_ips));
                }
                continue;
            }
            if let Some(status) = self.desired_status(pod, node, &key, &mut used_ips) {
                let starts = phase(pod) != "Running" && status["phase"] == "Running";
                if starts && !self.booting {
                    actions.extend(images::started_events(pod, meta::name(node), self.now));
                }
                let mut updated = pod.clone();
                updated["status"] = status;
                actions.push(Action::UpdateStatus(updated));
            }
        }
        self.seen.retain(|k, _| live.contains(k));
        self.timers.retain(|(k, _), _| live.contains(k));
        actions
    }

    /// A deleted pod on a working node: its containers stop, then the kubelet removes it (the
    /// final delete with grace period 0). Finalizers keep it, as they would.
    fn stop(&mut self, pod: &Value, node: &str, key: &str) -> Vec<Action> {
        let held = pod
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if held {
            return Vec::new();
        }
        let stopping = self.timers.contains_key(&(key.to_string(), Step::Stop));
        if self.step_done(key, Step::Stop, CONTAINER_STOP) {
            return vec![Action::delete_of(pod)];
        }
        if stopping {
            return Vec::new();
        }
        // The kubelet says which running containers it stops.
        pod.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| c.pointer("/state/running").is_some())
            .map(|c| {
                let name = meta::str_at(c, &["name"]);
                images::kubelet_event(
                    pod,
                    Some(name),
                    node,
                    "Normal",
                    "Killing",
                    &format!("Stopping container {name}"),
                    self.now,
                )
            })
            .collect()
    }

    /// Whether the timed `step` of a pod is over; a step not yet under way starts now and takes
    /// `takes`.
    pub(super) fn step_done(&mut self, key: &str, step: Step, takes: SignedDuration) -> bool {
        let now = self.now;
        let due = *self
            .timers
            .entry((key.to_string(), step))
            .or_insert(now + takes);
        due <= now
    }

    /// Whether a pending pod's containers have been created: `podReadyDelay` after the kubelet
    /// first saw it (its start time when this kubelet has not seen it before).
    pub(super) fn containers_created(&mut self, key: &str, start: Timestamp) -> bool {
        let since = *self.seen.entry(key.to_string()).or_insert(start);
        let delay = SignedDuration::try_from(self.settings.pod_ready_delay).unwrap_or_default();
        since + delay <= self.now
    }

    /// The status the kubelet would report now, or None when the current one is right.
    fn desired_status(
        &mut self,
        pod: &Value,
        node: &Value,
        key: &str,
        used_ips: &mut HashSet<String>,
    ) -> Option<Value> {
        let started = meta::parse_time(pod.pointer("/status/startTime"));
        let want_ready = scheduling::node_is_ready(node)
            && !workload_names(pod).iter().any(|w| {
                self.settings
                    .never_ready(meta::namespace(pod), w, meta::name(node))
            });
        match (phase(pod), started) {
            ("Running", Some(start)) => {
                if is_ready(pod) == want_ready {
                    return None;
                }
                let ip = meta::str_at(pod, &["status", "podIP"]).to_string();
                let running_since = container_started_at(pod).unwrap_or(start);
                Some(self.running_status(pod, node, start, running_since, &ip, want_ready))
            }
            _ if self.booting => {
                let start = self.settings.boot_time(self.now);
                let ip = pod_ip(pod, node, used_ips);
                Some(self.running_status(pod, node, start, start, &ip, want_ready))
            }
            ("Pending" | "", Some(start)) => {
                if !self.containers_created(key, start) {
                    return None;
                }
                let ip = pod_ip(pod, node, used_ips);
                Some(self.running_status(pod, node, start, self.now, &ip, want_ready))
            }
            _ => {
                self.seen.insert(key.to_string(), self.now);
                Some(self.pending_status(pod, node))
            }
        }
    }

    /// When the next pending pod is due to run, or a running step to end (for the wiring's timer).
    pub fn next_due(&self) -> Option<Timestamp> {
        let delay = SignedDuration::try_from(self.settings.pod_ready_delay).unwrap_or_default();
        self.seen
            .values()
            .map(|t| *t + delay)
            .chain(self.timers.values().copied())
            .filter(|t| *t > self.now)
            .min()
    }

    pub(super) fn pending_status(&self, pod: &Value, node: &Value) -> Value {
        let now = rfc3339(self.now);
        let names = container_names(pod);
        let containers: Vec<Value> = containers(pod)
            .iter()
            .map(|c| {
                json!({
                    "image": c["image"],
                    "imageID": "",
                    "lastState": {},
                    "name": c["name"],
                    "ready": false,
                    "restartCount": 0,
                    "started": false,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                })
            })
            .collect();
        let host_ip = node_ip(node).unwrap_or("");
        let mut status = json!({
            "conditions": [
                cond("PodReadyToStartContainers", false, &now, None),
                cond("Initialized", true, &now, None),
                cond("Ready", false, &now, Some(&names)),
                cond("ContainersReady", false, &now, Some(&names)),
                cond("PodScheduled", true, &now, None),
            ],
            "containerStatuses": containers,
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "phase": "Pending",
            "qosClass": qos_class(pod),
            "startTime": now,
        });
        // The kubelet gives hostNetwork pods the node's IPs before their containers run.
        if is_host_network(pod) {
            status["podIP"] = json!(host_ip);
            status["podIPs"] = json!([{"ip": host_ip}]);
        }
        status
    }

    pub(super) fn running_status(
        &self,
        pod: &Value,
        node: &Value,
        start: Timestamp,
        running_since: Timestamp,
        ip: &str,
        ready: bool,
    ) -> Value {
        let since = rfc3339(running_since);
        let names = container_names(pod);
        let containers: Vec<Value> = containers(pod)
            .iter()
            .map(|c| {
                let image = meta::str_at(c, &["image"]);
                let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
                let old = pod
                    .pointer("/status/containerStatuses")
                    .and_then(Value::as_array)
                    .and_then(|cs| cs.iter().find(|s| s["name"] == c["name"]));
                let keep = |field: &str, fresh: String| {
                    old.and_then(|o| o.get(field))
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map_or(fresh, str::to_string)
                };
                json!({
                    "containerID": keep("containerID", format!("containerd://{}", meta::random_hex(64))),
                    "image": image,
                    "imageID": keep("imageID", format!("{repo}@sha256:{:0>64}", meta::template_hash(&json!(image)))),
                    // A restart (`Store::restart_container`) outlives readiness changes.
                    "lastState": old.and_then(|o| o.get("lastState")).cloned().unwrap_or(json!({})),
                    "name": c["name"],
                    "ready": ready,
                    "restartCount": old.and_then(|o| o["restartCount"].as_i64()).unwrap_or(0),
                    "started": true,
                    "state": {"running": {"startedAt": since}},
                })
            })
            .collect();
        let host_ip = node_ip(node).unwrap_or("");
        let ready_since = if ready {
            rfc3339(self.now)
        } else {
            since.clone()
        };
        json!({
            "conditions": [
                cond("PodReadyToStartContainers", true, &since, None),
                cond("Initialized", true, &rfc3339(start), None),
                cond("Ready", ready, &ready_since, Some(&names)),
                cond("ContainersReady", ready, &ready_since, Some(&names)),
                cond("PodScheduled", true, &rfc3339(start), None),
            ],
            "containerStatuses": containers,
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "qosClass": qos_class(pod),
            "startTime": rfc3339(start),
        })
    }
}

/// The QoS class the API server gave the pod when it was created (`status.qosClass` is
/// immutable: a real API server refuses a kubelet status that changes it).
pub(super) fn qos_class(pod: &Value) -> Value {
    pod.pointer("/status/qosClass")
        .cloned()
        .unwrap_or(json!("BestEffort"))
}

fn is_host_network(pod: &Value) -> bool {
    pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true)
}

pub(super) fn containers(pod: &Value) -> &[Value] {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

pub(super) fn container_names(pod: &Value) -> String {
    let names: Vec<&str> = containers(pod)
        .iter()
        .map(|c| meta::str_at(c, &["name"]))
        .collect();
    names.join(" ")
}

fn container_started_at(pod: &Value) -> Option<Timestamp> {
    meta::parse_time(pod.pointer("/status/containerStatuses/0/state/running/startedAt"))
}

/// A pod condition; unready Ready/ContainersReady name the containers, as the kubelet does.
pub(super) fn cond(kind: &str, ok: bool, at: &str, unready_containers: Option<&str>) -> Value {
    let mut c = json!({
        "lastProbeTime": null,
        "lastTransitionTime": at,
        "status": if ok { "True" } else { "False" },
        "type": kind,
    });
    if let (false, Some(names)) = (ok, unready_containers) {
        c["reason"] = json!("ContainersNotReady");
        c["message"] = json!(format!("containers with unready status: [{names}]"));
    }
    c
}

/// The pod's IP: the node's for hostNetwork pods, else the next free address of the node's pod
/// network: the agent's `198.18.R.0/24` for a node whose kubelet serves at loopback address
/// `127.R.0.N` (the agent's nodes beside a real API server, which calls webhooks at their pods'
/// addresses and refuses loopback ones in EndpointSlices), else its pod CIDR.
pub(super) fn pod_ip(pod: &Value, node: &Value, used: &mut HashSet<String>) -> String {
    let current = meta::str_at(pod, &["status", "podIP"]);
    if !current.is_empty() {
        return current.to_string();
    }
    if is_host_network(pod) {
        return node_ip(node).unwrap_or("").to_string();
    }
    let base = loopback_kubelet(node)
        .map(|ip| crate::agent::pod_subnet(ip.octets()[1]))
        .unwrap_or_else(|| pod_cidr_base(node));
    for host in 2u8..=254 {
        let ip = format!("{}.{}.{}.{}", base[0], base[1], base[2], host);
        if used.insert(ip.clone()) {
            return ip;
        }
    }
    String::new()
}

fn pod_cidr_base(node: &Value) -> [u8; 4] {
    meta::str_at(node, &["spec", "podCIDR"])
        .split('/')
        .next()
        .and_then(|ip| ip.parse::<std::net::Ipv4Addr>().ok())
        .map(|ip| ip.octets())
        .unwrap_or_else(|| {
            // No pod CIDR in the scenario: derive a stable /24 from the node name.
            let h = meta::name(node)
                .bytes()
                .fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
            [10, 244, h, 0]
        })
}

/// The loopback address a node's kubelet serves at, from its `Hostname` address (what the agent
/// reports for its nodes; a real API server configured to prefer `Hostname` calls the kubelet
/// there).
pub fn loopback_kubelet(node: &Value) -> Option<std::net::Ipv4Addr> {
    node.pointer("/status/addresses")
        .and_then(Value::as_array)?
        .iter()
        .filter(|a| meta::str_at(a, &["type"]) == "Hostname")
        .filter_map(|a| {
            meta::str_at(a, &["address"])
                .parse::<std::net::Ipv4Addr>()
                .ok()
        })
        .find(|ip| ip.is_loopback())
}
