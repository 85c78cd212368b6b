//! LB404-LB406: the controller Deployment is available, the speaker DaemonSet is rolled out (kubectl's
//! rollout rule, `k8s_status`), and every node that can announce runs a ready speaker.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Pod;

use super::metallb_facts;
use crate::checks::Outcome;
use crate::checks::preflight::{list, read};
use crate::facts::doctor::DoctorFacts;
use crate::k8s_status::{RolloutState, RolloutStatus, pod_problem, pod_ready};
use crate::metallb::speaker::{SpeakerNode, SpeakerPlacement, eligibility};

pub(crate) fn named<'a, T: kube::Resource>(items: &'a [T], name: &str) -> Option<&'a T> {
    items
        .iter()
        .find(|i| i.meta().name.as_deref() == Some(name))
}

pub(crate) fn component_pods<'a>(pods: &'a [Pod], component: &str) -> Vec<&'a Pod> {
    pods.iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("component"))
                .is_some_and(|c| c == component)
        })
        .collect()
}

/// The controller has not seen the latest generation (`None` when it has).
fn unobserved(kind: &str, s: &RolloutStatus) -> Option<String> {
    (s.state() == RolloutState::Unobserved).then(|| {
        format!(
            "the {kind} controller has not seen generation {} yet (observed {})",
            s.generation, s.observed_generation
        )
    })
}

/// Why the controller Deployment is not rolled out by `k8s_status`'s rule, or is scaled to zero
/// (rolled out, but then nothing allocates addresses).
fn deployment_problem(d: &Deployment) -> Option<String> {
    let s = RolloutStatus::of_deployment(d);
    if let Some(why) = unobserved("Deployment", &s) {
        return Some(why);
    }
    if s.state() != RolloutState::Complete {
        let mut why = format!(
            "{}/{} replicas available, {} updated",
            s.available, s.desired, s.updated
        );
        if s.old > 0 {
            why.push_str(&format!(", {} old still running", s.old));
        }
        if s.deadline_exceeded {
            why.push_str(", progress deadline exceeded");
        }
        return Some(why);
    }
    (s.desired == 0).then(|| "it is scaled to 0 replicas".to_string())
}

pub fn controller(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let Some(d) = named(read!(m.deployments), "controller") else {
        return Outcome::fail(
            format!("no Deployment controller in namespace {ns}"),
            crate::invocation::command_line("install"),
        );
    };
    let Some(problem) = deployment_problem(d) else {
        return Outcome::pass("Deployment controller is available");
    };
    let pods: Vec<String> = match &m.pods {
        Ok(pods) => component_pods(pods, "controller")
            .into_iter()
            .filter_map(pod_problem)
            .collect(),
        Err(_) => vec![],
    };
    let detail = if pods.is_empty() {
        String::new()
    } else {
        format!(" ({})", list(&pods, 2))
    };
    Outcome::fail(
        format!("Deployment controller is not available: {problem}{detail}"),
        format!(
            "kubectl -n {ns} describe deployment controller; kubectl -n {ns} logs deployment/controller"
        ),
    )
}

/// Why the speaker DaemonSet is not rolled out by `k8s_status`'s rule, or runs on no node
/// (rolled out, but then nothing announces).
fn daemonset_problem(ds: &DaemonSet) -> Option<String> {
    let Some(status) = &ds.status else {
        return Some("the DaemonSet has no status yet".into());
    };
    let s = RolloutStatus::of_daemonset(ds);
    if let Some(why) = unobserved("DaemonSet", &s) {
        return Some(why);
    }
    if s.desired == 0 {
        return Some("it is scheduled on no node".into());
    }
    (s.state() != RolloutState::Complete).then(|| {
        let mut why = format!(
            "desired {}, current {}, ready {}, updated {}",
            s.desired, status.current_number_scheduled, s.ready, s.updated
        );
        // Ready pods count once available (ready for minReadySeconds); say so when they differ.
        if s.available != s.ready {
            why.push_str(&format!(", available {}", s.available));
        }
        why
    })
}

pub fn speaker(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let Some(ds) = named(read!(m.daemonsets), "speaker") else {
        return Outcome::fail(
            format!("no DaemonSet speaker in namespace {ns}"),
            crate::invocation::command_line("install"),
        );
    };
    match daemonset_problem(ds) {
        None => Outcome::pass(format!(
            "DaemonSet speaker is rolled out: {} of {} ready and up to date",
            ds.status.as_ref().map_or(0, |s| s.number_ready),
            ds.status.as_ref().map_or(0, |s| s.desired_number_scheduled)
        )),
        Some(problem) => Outcome::fail(
            format!("DaemonSet speaker is not rolled out: {problem}"),
            format!(
                "kubectl -n {ns} rollout status daemonset/speaker; kubectl -n {ns} get pods -l component=speaker -o wide"
            ),
        ),
    }
}

pub fn speaker_per_node(f: &DoctorFacts) -> Outcome {
    let m = metallb_facts!(f);
    let ns = &f.metallb_namespace;
    let nodes = read!(m.nodes);
    let pods = read!(m.pods);
    let Some(ds) = named(read!(m.daemonsets), "speaker") else {
        return Outcome::skip("skipped: no speaker DaemonSet");
    };
    let placement = SpeakerPlacement::of(ds);
    let speakers = component_pods(pods, "speaker");
    let mut able = 0;
    let mut excluded = Vec::new();
    let mut missing = Vec::new();
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        if let Err(why) = eligibility(&SpeakerNode::of(node), &placement) {
            excluded.push(format!("{name} ({why})"));
            continue;
        }
        able += 1;
        let on_node: Vec<&&Pod> = speakers
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(&name))
            .collect();
        if on_node.iter().any(|p| pod_ready(p)) {
            continue;
        }
        missing.push(match on_node.first() {
            None => format!("{name} (no speaker pod)"),
            Some(p) => format!(
                "{name} ({})",
                pod_problem(p).unwrap_or_else(|| "not ready".into())
            ),
        });
    }
    let others = if excluded.is_empty() {
        String::new()
    } else {
        format!("; not announcing: {}", list(&excluded, 3))
    };
    if able == 0 {
        return Outcome::fail(
            format!("no node can announce{others}"),
            "let a node announce: kubectl label node NODE node.kubernetes.io/exclude-from-external-load-balancers-, or repair the nodes",
        );
    }
    if !missing.is_empty() {
        return Outcome::fail(
            format!(
                "no ready speaker on {} of {able} nodes that can announce: {}{others}",
                missing.len(),
                list(&missing, 3)
            ),
            format!(
                "kubectl -n {ns} get pods -l component=speaker -o wide; kubectl -n {ns} describe daemonset speaker"
            ),
        );
    }
    Outcome::pass(format!(
        "a ready speaker on each of the {able} nodes that can announce{others}"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{controller, node, obj, pod, speaker, with};
    use super::*;
    use crate::checks::Status;
    use serde_json::json;

    #[test]
    fn controller_table() {
        assert_eq!(super::controller(&with(|_| {})).status, Status::Pass);
        let o = super::controller(&with(|m| m.deployments = Ok(vec![])));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.hint.as_deref(), Some("lbctl install"));

        let o = super::controller(&with(|m| {
            let mut d = controller();
            d["status"]["availableReplicas"] = json!(0);
            d["status"]["conditions"][0]["status"] = json!("False");
            m.deployments = Ok(vec![obj(d)]);
            let mut p = pod("controller-7d4b9c-x2x4z", "controller", "w1", false);
            p["status"]["containerStatuses"] = json!([{"name": "controller", "ready": false,
                "restartCount": 0, "image": "i", "imageID": "",
                "state": {"waiting": {"reason": "ImagePullBackOff"}}}]);
            m.pods = Ok(vec![obj(p)]);
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message,
            "Deployment controller is not available: 0/1 replicas available, 1 updated (pod controller-7d4b9c-x2x4z on w1: ImagePullBackOff)"
        );
        assert!(o.hint.unwrap().contains("logs deployment/controller"));

        let o = super::controller(&with(|m| {
            let mut d = controller();
            d["metadata"]["generation"] = json!(2);
            m.deployments = Ok(vec![obj(d)]);
        }));
        assert!(o.message.contains("has not seen generation 2"), "{o:?}");

        // Rolled out to zero replicas: nothing allocates addresses.
        let o = super::controller(&with(|m| {
            let mut d = controller();
            d["spec"]["replicas"] = json!(0);
            d["status"] = json!({"observedGeneration": 1, "replicas": 0, "updatedReplicas": 0,
                "availableReplicas": 0, "conditions": [{"type": "Available", "status": "True"}]});
            m.deployments = Ok(vec![obj(d)]);
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.ends_with("scaled to 0 replicas"), "{o:?}");
    }

    #[test]
    fn speaker_table() {
        let o = super::speaker(&with(|_| {}));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "DaemonSet speaker is rolled out: 3 of 3 ready and up to date"
        );
        let cases = [
            ("observedGeneration", json!(1), "has not seen generation 2"),
            // A pod that is not ready is not available either (the status always has both).
            (
                "numberReady",
                json!(2),
                "desired 3, current 3, ready 2, updated 3",
            ),
            // Ready but not yet available (minReadySeconds): kubectl still waits.
            (
                "numberAvailable",
                json!(2),
                "ready 3, updated 3, available 2",
            ),
            ("updatedNumberScheduled", json!(1), "updated 1"),
            ("desiredNumberScheduled", json!(0), "scheduled on no node"),
        ];
        for (field, value, text) in cases {
            let o = super::speaker(&with(|m| {
                let mut ds = speaker();
                ds["status"][field] = value.clone();
                if field == "numberReady" {
                    ds["status"]["numberAvailable"] = value;
                }
                m.daemonsets = Ok(vec![obj(ds)]);
            }));
            assert_eq!(o.status, Status::Fail, "{field}");
            assert!(o.message.contains(text), "{field}: {}", o.message);
        }
        assert_eq!(
            super::speaker(&with(|m| m.daemonsets = Ok(vec![]))).status,
            Status::Fail
        );
    }

    #[test]
    fn speaker_per_node_table() {
        let o = speaker_per_node(&with(|_| {}));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message,
            "a ready speaker on each of the 2 nodes that can announce; not announcing: cp (labelled node.kubernetes.io/exclude-from-external-load-balancers)"
        );

        // The speaker of w2 is gone.
        let o = speaker_per_node(&with(|m| {
            m.pods
                .as_mut()
                .unwrap()
                .retain(|p| p.metadata.name.as_deref() != Some("speaker-ccccc"))
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.starts_with(
                "no ready speaker on 1 of 2 nodes that can announce: w2 (no speaker pod)"
            ),
            "{o:?}"
        );
        assert!(
            o.hint
                .unwrap()
                .contains("get pods -l component=speaker -o wide")
        );

        // Not ready, tainted, NotReady and unselected nodes.
        let o = speaker_per_node(&with(|m| {
            let mut gpu = node("gpu1", "192.168.1.20", false);
            gpu["spec"]["taints"] =
                json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}]);
            let mut down = node("down", "192.168.1.21", false);
            down["status"]["conditions"][0]["status"] = json!("False");
            let mut win = node("win", "192.168.1.22", false);
            win["metadata"]["labels"]["kubernetes.io/os"] = json!("windows");
            let nodes = m.nodes.as_mut().unwrap();
            nodes.extend([obj(gpu), obj(down), obj(win)]);
            m.pods
                .as_mut()
                .unwrap()
                .push(obj(pod("speaker-ddddd", "speaker", "w2", false)));
            m.pods
                .as_mut()
                .unwrap()
                .retain(|p| p.metadata.name.as_deref() != Some("speaker-ccccc"));
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("w2 (pod speaker-ddddd on w2: Running, not ready)"),
            "{o:?}"
        );
        assert!(
            o.message
                .contains("gpu1 (taint gpu=true:NoSchedule not tolerated)"),
            "{o:?}"
        );
        assert!(o.message.contains("and 1 more"), "{o:?}");

        // Only the control-plane node: nobody can announce.
        let o = speaker_per_node(&with(|m| {
            m.nodes.as_mut().unwrap().truncate(1);
        }));
        assert_eq!(o.status, Status::Fail);
        assert!(o.message.starts_with("no node can announce"));

        // A speaker run with --ignore-exclude-lb announces from the control plane too.
        let o = speaker_per_node(&with(|m| {
            let mut ds = speaker();
            ds["spec"]["template"]["spec"]["containers"][0]["args"] =
                json!(["--port=7472", "--ignore-exclude-lb"]);
            m.daemonsets = Ok(vec![obj(ds)]);
        }));
        assert_eq!(
            o.message,
            "a ready speaker on each of the 3 nodes that can announce"
        );

        // MetalLB does not announce from a node whose network is unavailable.
        let o = speaker_per_node(&with(|m| {
            let w2 = &mut m.nodes.as_mut().unwrap()[2];
            w2.status
                .as_mut()
                .unwrap()
                .conditions
                .as_mut()
                .unwrap()
                .push(obj(json!({"type": "NetworkUnavailable", "status": "True"})));
        }));
        assert!(o.message.contains("w2 (NetworkUnavailable)"), "{o:?}");
    }
}
