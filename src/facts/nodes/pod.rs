//! The node-check pod (pure): its manifest, and what its status and events say when it does
//! not finish. docs/node-checks.md explains every field.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EnvVar, Event, HostPathVolumeSource, Pod, PodSecurityContext, PodSpec,
    SeccompProfile, SecurityContext, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::net::dump::SCRIPT;

pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const NAME: &str = "lbctl-node-check";
pub const MANAGED_LABEL: &str = "app.kubernetes.io/managed-by";
pub const RUN_LABEL: &str = "lbctl.io/run";
pub const CONTAINER: &str = "check";
/// Where the host's /lib/modules is mounted (read-only) for modules.builtin.
const LIB_MODULES: &str = "/host/lib/modules";
/// `nobody`: reading the files needs no privilege.
const NOBODY: i64 = 65534;

/// Selects every node-check pod lbctl made, of any run.
pub fn all_runs_selector() -> String {
    format!("{NAME_LABEL}={NAME},{MANAGED_LABEL}=lbctl")
}

/// The pod that prints the facts of `node`.
pub fn manifest(node: &str, run: &str, image: &str, timeout: Duration) -> Pod {
    let labels = BTreeMap::from([
        (NAME_LABEL.to_string(), NAME.to_string()),
        (MANAGED_LABEL.to_string(), "lbctl".to_string()),
        (RUN_LABEL.to_string(), run.to_string()),
    ]);
    let container = Container {
        name: CONTAINER.into(),
        image: Some(image.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["sh".into(), "-c".into(), SCRIPT.into()]),
        env: Some(vec![EnvVar {
            name: "LBCTL_LIB_MODULES".into(),
            value: Some(LIB_MODULES.into()),
            ..Default::default()
        }]),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(NOBODY),
            run_as_group: Some(NOBODY),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: None,
            }),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "lib-modules".into(),
            mount_path: LIB_MODULES.into(),
            read_only: Some(true),
            ..Default::default()
        }]),
        ..Default::default()
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{NAME}-")),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(
                "lbctl.io/node".to_string(),
                node.to_string(),
            )])),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            host_network: Some(true),
            restart_policy: Some("Never".into()),
            // The kubelet stops the pod even if lbctl is killed before it deletes it. The slack
            // keeps this backstop from racing lbctl's own --node-timeout, which reports better.
            active_deadline_seconds: Some(timeout.as_secs().max(1) as i64 + DEADLINE_SLACK),
            termination_grace_period_seconds: Some(0),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            tolerations: Some(vec![Toleration {
                operator: Some("Exists".into()),
                ..Default::default()
            }]),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(NOBODY),
                run_as_group: Some(NOBODY),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..Default::default()
            }),
            containers: vec![container],
            volumes: Some(vec![Volume {
                name: "lib-modules".into(),
                host_path: Some(HostPathVolumeSource {
                    path: "/lib/modules".into(),
                    type_: Some("Directory".into()),
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

/// `Succeeded` or `Failed`: the container ran to its end.
pub fn finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// The container's exit code once it terminated.
pub fn exit_code(pod: &Pod) -> Option<i32> {
    container_status(pod)?
        .state
        .as_ref()?
        .terminated
        .as_ref()
        .map(|t| t.exit_code)
}

fn container_status(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == CONTAINER)
}

/// True when the kubelet killed the pod for outliving its `activeDeadlineSeconds`.
pub fn deadline_exceeded(pod: &Pod) -> bool {
    phase(pod) == "Failed"
        && pod.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("DeadlineExceeded")
}

/// Why the kubelet refused to run the pod at all (`OutOfcpu: Pod was rejected: ...`): it
/// failed without its container ever running.
pub fn rejected(pod: &Pod) -> Option<String> {
    if phase(pod) != "Failed" || exit_code(pod).is_some() {
        return None;
    }
    let status = pod.status.as_ref()?;
    let text = [status.reason.as_deref(), status.message.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    Some(if text.is_empty() {
        "the pod failed before its container ran".into()
    } else {
        text
    })
}

/// Waiting reasons that do not go away by waiting longer.
const HOPELESS: [&str; 6] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Why the pod will not run, as soon as its container status says so (an image that cannot be
/// pulled): the check then ends at once instead of at the timeout.
pub fn hopeless(pod: &Pod) -> Option<String> {
    let waiting = container_status(pod)?.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref()?;
    HOPELESS.contains(&reason).then(|| match &waiting.message {
        Some(m) if !m.is_empty() => format!("{reason}: {m}"),
        _ => reason.to_string(),
    })
}

/// Why a pod did not finish in time, from the newest warning event about it, its container
/// status, or its phase; with the next step. `pod` is the pod as read after the timeout:
/// `Ok(None)` when it is gone, `Err` (the API's message) when it could not be read.
pub fn stuck_reason(
    pod: Result<Option<&Pod>, String>,
    events: &[Event],
    image: &str,
    namespace: &str,
) -> (String, String) {
    let newest_warning = events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .max_by_key(|e| {
            e.last_timestamp
                .as_ref()
                .map(|t| t.0)
                .or_else(|| e.event_time.as_ref().map(|t| t.0))
        });
    if let Ok(Some(pod)) = pod
        && let Some(reason) = hopeless(pod)
    {
        return (reason, image_hint(image));
    }
    if let Some(e) = newest_warning {
        let reason = e.reason.clone().unwrap_or_default();
        let message = e.message.clone().unwrap_or_default();
        let hint = if reason.contains("Pull") || message.contains("pull") {
            image_hint(image)
        } else {
            "kubectl describe pod of the node check, or see docs/node-checks.md".into()
        };
        return (format!("{reason}: {message}"), hint);
    }
    let pod = match pod {
        Ok(pod) => pod,
        // Not knowing is no evidence that the pod is gone.
        Err(e) => {
            return (
                format!("the pod's state cannot be read: {e}"),
                format!(
                    "check `{}` (the node namespace, --node-namespace)",
                    crate::permissions::can_i("list", "pods", Some(namespace))
                ),
            );
        }
    };
    match pod.map(|p| (phase(p), container_status(p))) {
        None => (
            "the pod disappeared before it finished".into(),
            "something deleted it; run the check again".into(),
        ),
        Some(("Pending", None)) => (
            "the pod never started on the node (no container status: is the kubelet running?)"
                .into(),
            "kubectl describe node; check the kubelet on the node".into(),
        ),
        Some((phase, Some(status))) => {
            let waiting = status
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone());
            (
                match waiting {
                    Some(w) => format!("the pod is {phase}, its container waits: {w}"),
                    None => format!("the pod is still {phase}"),
                },
                "raise --node-timeout if the image pull is slow".into(),
            )
        }
        Some((phase, None)) => (
            format!("the pod is still {phase}"),
            "raise --node-timeout if the image pull is slow".into(),
        ),
    }
}

/// True when the API server refused a pod because the namespace's ServiceAccount does not exist
/// (yet): `pods "lbctl-node-check-" is forbidden: error looking up service account lbctl/default:
/// serviceaccount "default" not found`. The ServiceAccount admission waits a second or two
/// for the controller manager to create `default` in a new namespace, then gives up.
pub fn service_account_missing(message: &str) -> bool {
    message.contains("error looking up service account") && message.ends_with("not found")
}

/// Seconds the kubelet's `activeDeadlineSeconds` lies beyond `--node-timeout`.
pub const DEADLINE_SLACK: i64 = 15;

/// Slack after a pod's deadline before another run treats it as abandoned.
const ABANDONED_AFTER: i64 = 60;

/// Names of node-check pods an earlier run left behind: ended, or past their
/// `activeDeadlineSeconds` plus a minute (a run still in progress is never older).
pub fn leftovers(pods: &[Pod], now: jiff::Timestamp) -> Vec<String> {
    pods.iter()
        .filter(|p| {
            let deadline = p
                .spec
                .as_ref()
                .and_then(|s| s.active_deadline_seconds)
                .unwrap_or(0);
            let age = p
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| now.as_second() - t.0.as_second());
            finished(p) || age.is_none_or(|age| age > deadline + ABANDONED_AFTER)
        })
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

fn image_hint(image: &str) -> String {
    format!(
        "the node cannot pull {image}: mirror it and pass --node-image REGISTRY/busybox:TAG (any image with a POSIX sh)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateWaiting, ContainerStatus, PodStatus,
    };

    #[test]
    fn manifest_is_minimal_and_pinned_to_the_node() {
        let pod = manifest("w1", "abc", "busybox:1.37", Duration::from_secs(60));
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("w1"));
        assert_eq!(spec.host_network, Some(true));
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
        assert_eq!(spec.active_deadline_seconds, Some(60 + DEADLINE_SLACK));
        assert_eq!(
            spec.tolerations.as_ref().unwrap()[0].operator.as_deref(),
            Some("Exists")
        );
        let c = &spec.containers[0];
        assert_eq!(c.name, "check");
        assert_eq!(
            c.command.as_ref().unwrap()[..2],
            ["sh".to_string(), "-c".to_string()]
        );
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_ref().unwrap(),
            &["ALL"]
        );
        assert_eq!(c.volume_mounts.as_ref().unwrap()[0].read_only, Some(true));
        let labels = pod.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[RUN_LABEL], "abc");
        assert_eq!(labels[NAME_LABEL], NAME);
    }

    fn waiting(reason: &str) -> Pod {
        Pod {
            status: Some(PodStatus {
                phase: Some("Pending".into()),
                container_statuses: Some(vec![ContainerStatus {
                    name: "check".into(),
                    state: Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some(reason.into()),
                            message: Some("Back-off pulling image \"busybox:1.37\"".into()),
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn leftovers_are_ended_or_past_their_deadline() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
        let now: jiff::Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let at = |name: &str, secs_ago: i64, phase: &str| {
            let mut p = manifest("w1", "r", "busybox:1.37", Duration::from_secs(60));
            p.metadata.name = Some(name.into());
            p.metadata.creation_timestamp =
                Some(Time(now - jiff::SignedDuration::from_secs(secs_ago)));
            p.status = Some(k8s_openapi::api::core::v1::PodStatus {
                phase: Some(phase.into()),
                ..Default::default()
            });
            p
        };
        let pods = [
            at("running-now", 30, "Running"),
            at("done", 5, "Succeeded"),
            at("abandoned", 200, "Pending"),
        ];
        assert_eq!(leftovers(&pods, now), ["done", "abandoned"]);
    }

    #[test]
    fn a_pod_the_kubelet_rejects_says_why() {
        let mut pod = waiting("ContainerCreating");
        assert_eq!(rejected(&pod), None);
        let status = pod.status.as_mut().unwrap();
        status.phase = Some("Failed".into());
        status.container_statuses = None;
        status.reason = Some("OutOfcpu".into());
        status.message = Some("Pod was rejected: Node didn't have enough resource: cpu".into());
        assert_eq!(
            rejected(&pod).as_deref(),
            Some("OutOfcpu: Pod was rejected: Node didn't have enough resource: cpu")
        );
    }

    #[test]
    fn a_pod_killed_at_its_deadline_is_told_apart() {
        let mut pod = waiting("ContainerCreating");
        assert!(!deadline_exceeded(&pod));
        let status = pod.status.as_mut().unwrap();
        status.phase = Some("Failed".into());
        status.reason = Some("DeadlineExceeded".into());
        assert!(deadline_exceeded(&pod));
        pod.status.as_mut().unwrap().reason = Some("OutOfcpu".into());
        assert!(!deadline_exceeded(&pod));
    }

    #[test]
    fn pull_failures_end_the_wait_and_name_the_image() {
        assert!(hopeless(&waiting("ContainerCreating")).is_none());
        let reason = hopeless(&waiting("ImagePullBackOff")).unwrap();
        assert!(
            reason.starts_with("ImagePullBackOff: Back-off pulling"),
            "{reason}"
        );
        let (msg, hint) = stuck_reason(
            Ok(Some(&waiting("ErrImagePull"))),
            &[],
            "busybox:1.37",
            "lbctl",
        );
        assert!(msg.starts_with("ErrImagePull"));
        assert!(hint.contains("--node-image"));
    }

    #[test]
    fn a_pod_that_never_starts_blames_the_kubelet_or_the_newest_warning() {
        let pending = Pod {
            status: Some(PodStatus {
                phase: Some("Pending".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (msg, _) = stuck_reason(Ok(Some(&pending)), &[], "busybox:1.37", "lbctl");
        assert!(msg.contains("never started"), "{msg}");
        let event = Event {
            type_: Some("Warning".into()),
            reason: Some("FailedMount".into()),
            message: Some("hostPath type check failed: /lib/modules is not a directory".into()),
            ..Default::default()
        };
        let (msg, _) = stuck_reason(Ok(Some(&pending)), &[event], "busybox:1.37", "lbctl");
        assert_eq!(
            msg,
            "FailedMount: hostPath type check failed: /lib/modules is not a directory"
        );
        let (msg, _) = stuck_reason(Ok(None), &[], "busybox:1.37", "lbctl");
        assert!(msg.contains("disappeared"));
    }

    #[test]
    fn a_missing_service_account_is_told_from_other_refusals() {
        // As a real v1.36 API server words them.
        assert!(service_account_missing(
            "pods \"lbctl-node-check-\" is forbidden: error looking up service account lbctl/default: serviceaccount \"default\" not found"
        ));
        assert!(!service_account_missing(
            "pods \"lbctl-node-check-5ldzt\" is forbidden: violates PodSecurity \"restricted:latest\": host namespaces (hostNetwork=true), restricted volume types (volume \"lib-modules\" uses restricted volume type \"hostPath\")"
        ));
        assert!(!service_account_missing(
            "pods is forbidden: User \"jane\" cannot create resource \"pods\" in API group \"\" in the namespace \"lbctl\""
        ));
    }

    #[test]
    fn a_pod_that_cannot_be_read_is_not_said_to_have_disappeared() {
        let forbidden = "pods is forbidden: User \"jane\" cannot list resource \"pods\"";
        let (msg, hint) = stuck_reason(Err(forbidden.into()), &[], "busybox:1.37", "lbctl");
        assert_eq!(msg, format!("the pod's state cannot be read: {forbidden}"));
        assert!(
            hint.contains("kubectl auth can-i list pods -n lbctl"),
            "{hint}"
        );
    }
}
