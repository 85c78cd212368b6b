//! hostPath volumes whose path is missing on a node (`settings.missingHostPaths`): the kubelet
//! checks a `type: Directory` (or `File`) volume before it creates the containers, so the pod stays
//! Pending in ContainerCreating and the kubelet writes a `FailedMount` warning, as
//! `kubectl describe pod` shows it. Paths without a type (or `...OrCreate`) are created instead.

use serde_json::Value;

use super::images::kubelet_event;
use super::meta;
use super::pods::Kubelet;
use super::settings::ClusterSettings;
use super::world::Action;

/// The first hostPath volume of `pod` the kubelet on `node` cannot mount: (volume, message).
pub fn failing_mount(
    settings: &ClusterSettings,
    pod: &Value,
    node: &str,
) -> Option<(String, String)> {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)?
        .iter()
        .find_map(|v| {
            let path = meta::str_at(v, &["hostPath", "path"]);
            let kind = match meta::str_at(v, &["hostPath", "type"]) {
                "Directory" => "a directory",
                "File" => "a file",
                _ => return None,
            };
            settings.host_path_missing(path, node).then(|| {
                let volume = meta::str_at(v, &["name"]);
                (
                    volume.to_string(),
                    format!(
                        "MountVolume.SetUp failed for volume \"{volume}\" : hostPath type check failed: {path} is not {kind}"
                    ),
                )
            })
        })
}

impl Kubelet<'_> {
    /// A pod whose volume cannot be mounted: Pending (ContainerCreating) with the warning, once.
    pub(super) fn mount_fails(&mut self, pod: &Value, node: &Value, message: &str) -> Vec<Action> {
        if pod.pointer("/status/startTime").is_some() {
            return Vec::new();
        }
        let mut updated = pod.clone();
        updated["status"] = self.pending_status(pod, node);
        let event = kubelet_event(
            pod,
            None,
            meta::name(node),
            "Warning",
            "FailedMount",
            message,
            self.now,
        );
        vec![Action::UpdateStatus(updated), event]
    }
}

#[cfg(test)]
mod tests {
    use super::super::ClusterSettings;
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: &str, kind: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"nodeName": node, "restartPolicy": "Never",
                     "containers": [{"name": "check", "image": "busybox:1.37"}],
                     "volumes": [{"name": "lib-modules", "hostPath": {"path": "/lib/modules", "type": kind}}]},
            "status": {"phase": "Pending"}})
    }

    #[test]
    fn a_missing_host_directory_keeps_the_pod_pending_with_a_failed_mount_warning() {
        let settings =
            ClusterSettings::from_settings(&json!({"missingHostPaths": ["/lib/modules@w1"]}))
                .unwrap();
        let (mut store, mut cluster) = booted(three_nodes(), settings);
        let pods = [
            pod("dir-on-w1", "w1", "Directory"),
            pod("created-on-w1", "w1", "DirectoryOrCreate"),
            pod("dir-on-w2", "w2", "Directory"),
        ];
        store.apply(pods.map(Action::Create).to_vec(), now());
        store.settle(&mut cluster, now(), 20);
        // Long past podReadyDelay: the others ran to their end; the warning is not repeated.
        store.settle(&mut cluster, now() + jiff::SignedDuration::from_secs(1), 20);
        store.settle(&mut cluster, now() + jiff::SignedDuration::from_secs(2), 20);
        store.settle(&mut cluster, now() + jiff::SignedDuration::from_secs(3), 20);

        let st = &store.find("Pod", "default", "dir-on-w1")["status"];
        assert_eq!(st["phase"], "Pending");
        assert_eq!(
            st["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        let failed: Vec<String> = events(&store)
            .into_iter()
            .filter(|e| e.starts_with("FailedMount"))
            .collect();
        assert_eq!(
            failed,
            [
                "FailedMount: MountVolume.SetUp failed for volume \"lib-modules\" : hostPath type check failed: /lib/modules is not a directory"
            ]
        );
        for name in ["created-on-w1", "dir-on-w2"] {
            assert_eq!(
                store.find("Pod", "default", name)["status"]["phase"],
                "Succeeded",
                "{name}"
            );
        }
        let err =
            ClusterSettings::from_settings(&json!({"missingHostPaths": ["lib"]})).unwrap_err();
        assert!(err.contains("must be an absolute PATH"), "{err}");
    }
}
