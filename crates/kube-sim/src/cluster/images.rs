//! Image pulls that fail (`settings.imagePullFailures`): the kubelet creates the pod's sandbox,
//! then the pull fails (`ErrImagePull`) and it backs off (`ImagePullBackOff`); the pod stays
//! Pending and the kubelet writes the events `kubectl describe pod` shows. Once the image is no
//! longer listed, the next attempt succeeds and the pod starts as usual.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::completion::Step;
use super::meta::{self, rfc3339};
use super::pods::{self, Kubelet};
use super::settings::ClusterSettings;
use super::world::Action;

/// How long after a failed pull the kubelet reports that it backs off.
const PULL_BACKOFF: SignedDuration = SignedDuration::from_millis(100);

/// The first container (name, image) of `pod` whose image the kubelet on `node` cannot pull.
pub fn failing_image<'a>(
    settings: &ClusterSettings,
    pod: &'a Value,
    node: &str,
) -> Option<(&'a str, &'a str)> {
    pods::containers(pod).iter().find_map(|c| {
        let image = meta::str_at(c, &["image"]);
        settings
            .pull_fails(image, node)
            .then(|| (meta::str_at(c, &["name"]), image))
    })
}

/// The fully qualified reference containerd resolves an image name to.
fn reference(image: &str) -> String {
    let (first, _) = image.split_once('/').unwrap_or(("", image));
    let named = if first.is_empty() {
        format!("docker.io/library/{image}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        image.to_string()
    } else {
        format!("docker.io/{image}")
    };
    let last = named.rsplit('/').next().unwrap_or_default();
    if last.contains(':') || last.contains('@') {
        named
    } else {
        format!("{named}:latest")
    }
}

/// What containerd answers for an image the registry does not have.
pub fn pull_error(image: &str) -> String {
    let r = reference(image);
    format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{r}\": failed to resolve reference \"{r}\": {r}: not found"
    )
}

/// An event of the kubelet on `node` about `pod`, or one of its containers.
pub fn kubelet_event(
    pod: &Value,
    container: Option<&str>,
    node: &str,
    kind: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Action {
    let mut event = meta::event(pod, kind, reason, message, "kubelet", now);
    if let Some(container) = container {
        event["involvedObject"]["fieldPath"] = json!(format!("spec.containers{{{container}}}"));
    }
    event["source"]["host"] = json!(node);
    event["reportingInstance"] = json!(node);
    Action::Create(event)
}

/// The kubelet's events when it starts a pod's containers, their images already on the node
/// (as `kubectl describe pod` shows them on a v1.36 kubelet).
pub fn started_events(pod: &Value, node: &str, now: Timestamp) -> Vec<Action> {
    pods::containers(pod)
        .iter()
        .flat_map(|c| {
            let name = meta::str_at(c, &["name"]);
            let present = format!(
                "Container image \"{}\" already present on machine and can be accessed by the pod",
                meta::str_at(c, &["image"])
            );
            [
                ("Pulled", present),
                ("Created", "Container created".to_string()),
                ("Started", "Container started".to_string()),
            ]
            .map(|(reason, message)| {
                kubelet_event(pod, Some(name), node, "Normal", reason, &message, now)
            })
        })
        .collect()
}

fn waiting_reason<'a>(pod: &'a Value, container: &str) -> &'a str {
    pod.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| meta::str_at(c, &["name"]) == container))
        .map_or("", |c| meta::str_at(c, &["state", "waiting", "reason"]))
}

impl Kubelet<'_> {
    /// The next step of a pod whose `container` cannot pull `image`: ContainerCreating, after
    /// `podReadyDelay` ErrImagePull, shortly after ImagePullBackOff (where it stays).
    pub(super) fn pull_fails(
        &mut self,
        pod: &Value,
        node: &Value,
        key: &str,
        (container, image): (&str, &str),
        used_ips: &mut HashSet<String>,
    ) -> Vec<Action> {
        let node_name = meta::name(node);
        let started = meta::parse_time(pod.pointer("/status/startTime"));
        let error = pull_error(image);
        let now = self.now;
        let event = |kind: &str, reason: &str, message: &str| {
            kubelet_event(pod, Some(container), node_name, kind, reason, message, now)
        };
        match (waiting_reason(pod, container), started) {
            ("ContainerCreating", Some(start)) => {
                if !self.containers_created(key, start) {
                    return Vec::new();
                }
                let ip = pods::pod_ip(pod, node, used_ips);
                let status = self.pull_status(pod, container, "ErrImagePull", &error, &ip);
                self.timers.insert(
                    (key.to_string(), Step::PullBackOff),
                    self.now + PULL_BACKOFF,
                );
                vec![
                    Action::UpdateStatus(status),
                    event("Normal", "Pulling", &format!("Pulling image \"{image}\"")),
                    event(
                        "Warning",
                        "Failed",
                        &format!("Failed to pull image \"{image}\": {error}"),
                    ),
                    event("Warning", "Failed", "Error: ErrImagePull"),
                ]
            }
            ("ErrImagePull", Some(_)) => {
                if !self.step_done(key, Step::PullBackOff, PULL_BACKOFF) {
                    return Vec::new();
                }
                self.timers.remove(&(key.to_string(), Step::PullBackOff));
                let ip = meta::str_at(pod, &["status", "podIP"]).to_string();
                let message = format!("Back-off pulling image \"{image}\": ErrImagePull: {error}");
                let status = self.pull_status(pod, container, "ImagePullBackOff", &message, &ip);
                vec![
                    Action::UpdateStatus(status),
                    event(
                        "Normal",
                        "BackOff",
                        &format!("Back-off pulling image \"{image}\""),
                    ),
                    event("Warning", "Failed", "Error: ImagePullBackOff"),
                ]
            }
            ("ImagePullBackOff", Some(_)) => Vec::new(),
            _ => {
                self.seen.insert(key.to_string(), self.now);
                let mut updated = pod.clone();
                updated["status"] = self.pending_status(pod, node);
                vec![Action::UpdateStatus(updated)]
            }
        }
    }

    /// The pod's pending status with its sandbox up (PodReadyToStartContainers, pod IP) and
    /// `container` waiting for its image.
    fn pull_status(
        &self,
        pod: &Value,
        container: &str,
        reason: &str,
        message: &str,
        ip: &str,
    ) -> Value {
        let mut updated = pod.clone();
        let status = &mut updated["status"];
        if let Some(conditions) = status["conditions"].as_array_mut() {
            for c in conditions {
                if c["type"] == "PodReadyToStartContainers" && c["status"] != "True" {
                    *c = pods::cond("PodReadyToStartContainers", true, &rfc3339(self.now), None);
                }
            }
        }
        if let Some(containers) = status["containerStatuses"].as_array_mut() {
            for c in containers.iter_mut().filter(|c| c["name"] == container) {
                c["state"] = json!({"waiting": {"message": message, "reason": reason}});
            }
        }
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
        updated
    }
}

#[cfg(test)]
mod tests {
    use super::super::ClusterSettings;
    use super::super::testutil::*;
    use super::*;

    fn pod(name: &str, node: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"nodeName": node, "restartPolicy": "Never",
                     "containers": [{"name": "check", "image": "busybox:1.37"}]},
            "status": {"phase": "Pending", "qosClass": "BestEffort"}})
    }

    fn waiting(store: &MemStore, name: &str) -> Value {
        store.find("Pod", "default", name)["status"]["containerStatuses"][0]["state"]["waiting"]
            .clone()
    }

    #[test]
    fn a_failing_pull_backs_off_with_the_kubelets_events_until_the_image_is_there() {
        let settings =
            ClusterSettings::from_settings(&json!({"imagePullFailures": ["busybox:1.37@w1"]}))
                .unwrap();
        let (mut store, mut cluster) = booted(three_nodes(), settings);
        store.apply(
            vec![
                Action::Create(pod("p1", "w1")),
                Action::Create(pod("p2", "w2")),
            ],
            now(),
        );
        store.settle(&mut cluster, now(), 20);
        assert_eq!(waiting(&store, "p1")["reason"], "ContainerCreating");

        let pulled = now() + SignedDuration::from_millis(200);
        store.settle(&mut cluster, pulled, 20);
        let w = waiting(&store, "p1");
        assert_eq!(w["reason"], "ErrImagePull");
        assert_eq!(w["message"], pull_error("busybox:1.37"));
        let p1 = store.find("Pod", "default", "p1");
        assert_eq!(p1["status"]["phase"], "Pending");
        assert_eq!(
            pods::condition(p1, "PodReadyToStartContainers").unwrap()["status"],
            "True"
        );
        assert!(
            !p1["status"]["podIP"].as_str().unwrap().is_empty(),
            "the sandbox has an address"
        );

        let backoff = cluster.next_wakeup(pulled).expect("the back-off is timed");
        store.settle(&mut cluster, backoff + SignedDuration::from_secs(60), 20);
        let w = waiting(&store, "p1");
        assert_eq!(w["reason"], "ImagePullBackOff");
        assert_eq!(
            w["message"],
            format!(
                "Back-off pulling image \"busybox:1.37\": ErrImagePull: {}",
                pull_error("busybox:1.37")
            )
        );
        let docker = "docker.io/library/busybox:1.37";
        let about_p1: Vec<String> = store
            .objects
            .iter()
            .filter(|o| o["kind"] == "Event" && o["involvedObject"]["name"] == "p1")
            .map(|e| {
                format!(
                    "{}: {}",
                    e["reason"].as_str().unwrap(),
                    e["message"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            about_p1,
            [
                "Pulling: Pulling image \"busybox:1.37\"".to_string(),
                format!(
                    "Failed: Failed to pull image \"busybox:1.37\": rpc error: code = NotFound desc = failed to pull and unpack image \"{docker}\": failed to resolve reference \"{docker}\": {docker}: not found"
                ),
                "Failed: Error: ErrImagePull".to_string(),
                "BackOff: Back-off pulling image \"busybox:1.37\"".to_string(),
                "Failed: Error: ImagePullBackOff".to_string(),
            ]
        );
        let event = store.objects.iter().find(|o| o["kind"] == "Event").unwrap();
        assert_eq!(
            event["involvedObject"]["fieldPath"],
            "spec.containers{check}"
        );
        assert_eq!(event["involvedObject"]["name"], "p1");
        assert_eq!(event["involvedObject"]["uid"], "uid-p1");
        assert_eq!(
            (
                event["source"]["component"].as_str(),
                event["source"]["host"].as_str()
            ),
            (Some("kubelet"), Some("w1"))
        );
        assert_eq!(event["type"], "Normal");
        assert_eq!(
            store.find("Pod", "default", "p2")["status"]["phase"],
            "Succeeded",
            "w2 has the image"
        );

        cluster.settings.image_pull_failures.clear();
        let later = backoff + SignedDuration::from_secs(120);
        store.settle(&mut cluster, later, 20);
        store.settle(&mut cluster, later + SignedDuration::from_secs(1), 20);
        assert_eq!(
            store.find("Pod", "default", "p1")["status"]["phase"],
            "Succeeded",
            "the next pull works"
        );
    }

    #[test]
    fn references_are_qualified_as_containerd_resolves_them() {
        assert_eq!(reference("busybox:1.37"), "docker.io/library/busybox:1.37");
        assert_eq!(reference("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(
            reference("bitnami/kubectl"),
            "docker.io/bitnami/kubectl:latest"
        );
        assert_eq!(
            reference("mirror.local:5000/busybox:1.37"),
            "mirror.local:5000/busybox:1.37"
        );
        assert_eq!(
            reference("quay.io/metallb/speaker@sha256:ab"),
            "quay.io/metallb/speaker@sha256:ab"
        );
        assert_eq!(
            pull_error("busybox:nope"),
            "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/busybox:nope\": failed to resolve reference \"docker.io/library/busybox:nope\": docker.io/library/busybox:nope: not found"
        );
    }
}
