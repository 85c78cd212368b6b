//! `GET pods/<name>/log`: which container, and whether the API server and the node's kubelet
//! would serve its log or answer with the error a real cluster gives.

use serde_json::Value;

use crate::cluster::{pods, scheduling};
use crate::status::Status;

/// What a log request gets when it is not an error.
#[derive(Debug, PartialEq)]
pub(crate) enum LogAnswer {
    /// The pod is not bound to a node: the API server answers 204 with nothing.
    Nothing,
    /// The container has started: the pod's log.
    Log,
}

fn names<'a>(pod: &'a Value, list: &str) -> impl Iterator<Item = &'a str> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
}

/// The container a request means (`ValidateContainer`): the named one, which must exist, or the
/// only one.
fn container<'a>(
    pod: &'a Value,
    pod_name: &str,
    asked: Option<&'a str>,
) -> Result<&'a str, Status> {
    let all = || {
        names(pod, "initContainers")
            .chain(names(pod, "containers"))
            .chain(names(pod, "ephemeralContainers"))
    };
    if let Some(asked) = asked.filter(|c| !c.is_empty()) {
        return if all().any(|c| c == asked) {
            Ok(asked)
        } else {
            Err(Status::bad_request(format!(
                "container {asked} is not valid for pod {pod_name}"
            )))
        };
    }
    let main: Vec<&str> = names(pod, "containers").collect();
    match main.as_slice() {
        [only] => Ok(only),
        [] => Err(Status::bad_request(format!(
            "a container name must be specified for pod {pod_name}"
        ))),
        _ => Err(Status::bad_request(format!(
            "a container name must be specified for pod {pod_name}, choose one of: [{}]",
            all().collect::<Vec<_>>().join(" ")
        ))),
    }
}

/// Decides a log request for `pod` (bound to `node`, None when that node does not exist), as the
/// API server (container, node lookup) and then the kubelet (`validateContainerLogStatus`) do.
/// A node that is not Ready stands for a kubelet that is down: the connection is refused.
pub(crate) fn answer(
    pod: &Value,
    node: Option<&Value>,
    asked: Option<&str>,
    previous: bool,
) -> Result<LogAnswer, Status> {
    let pod_name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let container = container(pod, pod_name, asked)?;
    let node_name = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if node_name.is_empty() {
        return Ok(LogAnswer::Nothing);
    }
    let Some(node) = node else {
        return Err(Status::not_found("", "nodes", node_name));
    };
    if !scheduling::node_is_ready(node) {
        let ip = pods::node_ip(node).unwrap_or(node_name);
        return Err(Status::new(
            500,
            None,
            format!(
                "Get \"https://{ip}:10250/containerLogs/{namespace}/{pod_name}/{container}\": dial tcp {ip}:10250: connect: connection refused"
            ),
        ));
    }
    let status = [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|list| {
        pod.pointer(&format!("/status/{list}"))
            .and_then(Value::as_array)
    })
    .flatten()
    .find(|s| s.get("name").and_then(Value::as_str) == Some(container));
    let Some(status) = status else {
        return Err(Status::bad_request(format!(
            "container {container:?} in pod {pod_name:?} is not available"
        )));
    };
    // `previous=true`: the kubelet serves the last terminated container, or refuses.
    if previous {
        if status.pointer("/lastState/terminated").is_some() {
            return Ok(LogAnswer::Log);
        }
        return Err(Status::bad_request(format!(
            "previous terminated container {container:?} in pod {pod_name:?} not found"
        )));
    }
    let state = &status["state"];
    if state.get("running").is_some() || state.get("terminated").is_some() {
        return Ok(LogAnswer::Log);
    }
    let reason = state
        .pointer("/waiting/reason")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let why = match reason {
        "ErrImagePull" => ": image can't be pulled".to_string(),
        "ImagePullBackOff" => ": trying and failing to pull image".to_string(),
        "" => " - no logs yet".to_string(),
        other => format!(": {other}"),
    };
    Err(Status::bad_request(format!(
        "container {container:?} in pod {pod_name:?} is waiting to start{why}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: &[&str], status: Value) -> Value {
        let containers: Vec<Value> = containers
            .iter()
            .map(|c| json!({"name": c, "image": "busybox"}))
            .collect();
        json!({"metadata": {"name": "x", "namespace": "lbctl"},
               "spec": {"nodeName": "w1", "containers": containers}, "status": status})
    }

    fn node(ready: &str) -> Value {
        json!({"metadata": {"name": "w1"}, "status": {
            "addresses": [{"type": "InternalIP", "address": "192.168.77.11"}],
            "conditions": [{"type": "Ready", "status": ready}]}})
    }

    fn waiting(reason: &str) -> Value {
        json!({"containerStatuses": [{"name": "check", "state": {"waiting": {"reason": reason}}}]})
    }

    fn message(result: Result<LogAnswer, Status>) -> (u16, String) {
        let status = result.unwrap_err();
        (status.code, status.message)
    }

    #[test]
    fn started_containers_serve_their_log() {
        let ready = node("True");
        for state in [
            json!({"running": {}}),
            json!({"terminated": {"exitCode": 0}}),
        ] {
            let p = pod(
                &["check"],
                json!({"containerStatuses": [{"name": "check", "state": state}]}),
            );
            assert_eq!(
                answer(&p, Some(&ready), None, false).unwrap(),
                LogAnswer::Log
            );
            assert_eq!(
                answer(&p, Some(&ready), Some("check"), false).unwrap(),
                LogAnswer::Log
            );
        }
    }

    #[test]
    fn waiting_containers_answer_the_kubelets_400() {
        let ready = node("True");
        for (reason, text) in [
            (
                "ContainerCreating",
                "container \"check\" in pod \"x\" is waiting to start: ContainerCreating",
            ),
            (
                "ErrImagePull",
                "container \"check\" in pod \"x\" is waiting to start: image can't be pulled",
            ),
            (
                "ImagePullBackOff",
                "container \"check\" in pod \"x\" is waiting to start: trying and failing to pull image",
            ),
        ] {
            let got = message(answer(
                &pod(&["check"], waiting(reason)),
                Some(&ready),
                None,
                false,
            ));
            assert_eq!(got, (400, text.to_string()));
        }
        let got = message(answer(
            &pod(&["check"], json!({"phase": "Pending"})),
            Some(&ready),
            None,
            false,
        ));
        assert_eq!(
            got,
            (
                400,
                "container \"check\" in pod \"x\" is not available".to_string()
            )
        );
    }

    #[test]
    fn container_must_exist_or_be_the_only_one() {
        let ready = node("True");
        let got = message(answer(
            &pod(&["check"], waiting("x")),
            Some(&ready),
            Some("main"),
            false,
        ));
        assert_eq!(
            got,
            (400, "container main is not valid for pod x".to_string())
        );
        let got = message(answer(
            &pod(&["a", "b"], waiting("x")),
            Some(&ready),
            None,
            false,
        ));
        assert_eq!(
            got,
            (
                400,
                "a container name must be specified for pod x, choose one of: [a b]".to_string()
            )
        );
    }

    #[test]
    fn node_problems() {
        let mut unbound = pod(&["check"], json!({"phase": "Pending"}));
        unbound["spec"]["nodeName"] = json!(null);
        assert_eq!(
            answer(&unbound, None, None, false).unwrap(),
            LogAnswer::Nothing
        );
        let p = pod(&["check"], json!({"phase": "Pending"}));
        let (code, text) = message(answer(&p, None, None, false));
        assert_eq!((code, text.as_str()), (404, "nodes \"w1\" not found"));
        let (code, text) = message(answer(&p, Some(&node("Unknown")), None, false));
        assert_eq!(code, 500);
        assert_eq!(
            text,
            "Get \"https://192.168.77.11:10250/containerLogs/lbctl/x/check\": dial tcp 192.168.77.11:10250: connect: connection refused"
        );
    }
}

#[cfg(test)]
mod previous_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn previous_needs_a_terminated_container() {
        let node = json!({"metadata": {"name": "w1"}, "status": {
            "conditions": [{"type": "Ready", "status": "True"}]}});
        let mut p = json!({"metadata": {"name": "x", "namespace": "lbctl"},
            "spec": {"nodeName": "w1", "containers": [{"name": "c"}]},
            "status": {"containerStatuses": [{"name": "c", "restartCount": 0,
                "lastState": {}, "state": {"running": {}}}]}});
        let err = answer(&p, Some(&node), None, true).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                400,
                "previous terminated container \"c\" in pod \"x\" not found"
            )
        );
        p["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 1}});
        assert_eq!(answer(&p, Some(&node), None, true).unwrap(), LogAnswer::Log);
    }
}
