//! Validation of built-in kinds beyond their names, where lbctl's writes meet it (words of
//! kube-apiserver v1.36): a Deployment's or DaemonSet's selector must match its pod template's
//! labels and cannot change; a Service's cluster IPs cannot change once set; a pod's
//! `status.qosClass` cannot change once set.

use crate::cluster::meta::label_selector_matches;
use crate::field_error::{FieldError, go_json, write_go_string};
use serde_json::{Value, json};

/// The findings about a Deployment or DaemonSet (`old`: the object it replaces), in the order
/// the server lists them: a Deployment's spec before its immutable selector, a DaemonSet's
/// immutable selector before its spec.
pub fn workload(group: &str, plural: &str, new: &Value, old: Option<&Value>) -> Vec<FieldError> {
    if group != "apps" || !matches!(plural, "deployments" | "daemonsets") {
        return Vec::new();
    }
    let spec = template_errors(new);
    let immutable = old
        .filter(|old| old.pointer("/spec/selector") != new.pointer("/spec/selector"))
        .map(|_| {
            FieldError::invalid_shown(
                "spec.selector",
                selector_shown(new.pointer("/spec/selector")),
                "field is immutable",
            )
        });
    match plural {
        "deployments" => spec.into_iter().chain(immutable).collect(),
        _ => immutable.into_iter().chain(spec).collect(),
    }
}

/// `selector` does not match template `labels` (an empty or absent selector is checked
/// elsewhere by the server, and not here).
fn template_errors(obj: &Value) -> Option<FieldError> {
    let selector = obj.pointer("/spec/selector").filter(|s| {
        s.as_object().is_some_and(|m| {
            m.values().any(|v| {
                v.as_object().is_some_and(|o| !o.is_empty())
                    || v.as_array().is_some_and(|a| !a.is_empty())
            })
        })
    })?;
    let template = obj.pointer("/spec/template").cloned().unwrap_or(json!({}));
    if label_selector_matches(selector, &template) {
        return None;
    }
    let labels = template
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(Value::Null);
    Some(FieldError::invalid(
        "spec.template.metadata.labels",
        labels,
        "`selector` does not match template `labels`",
    ))
}

/// A `LabelSelector` as Go writes the struct: `matchLabels` before `matchExpressions`, empty
/// ones left out.
fn selector_shown(selector: Option<&Value>) -> String {
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return "null".into();
    };
    let mut out = String::from("{");
    let mut first = true;
    for key in ["matchLabels", "matchExpressions"] {
        let value = &selector[key];
        let empty = value.is_null()
            || value.as_object().is_some_and(|m| m.is_empty())
            || value.as_array().is_some_and(|a| a.is_empty());
        if empty {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_go_string(key, &mut out);
        out.push(':');
        out.push_str(&go_json(value));
    }
    out.push('}');
    out
}

/// A pod status update (`/status`): the QoS class the API server set at creation stays
/// (`status.qosClass: Invalid value: "Guaranteed": field is immutable`). An update that leaves
/// it out keeps the stored one (see [`pod_status_backfill`]).
pub fn pod_status(new: &Value, old: &Value) -> Vec<FieldError> {
    let qos = new
        .pointer("/status/qosClass")
        .cloned()
        .unwrap_or(Value::Null);
    if qos
        == old
            .pointer("/status/qosClass")
            .cloned()
            .unwrap_or(Value::Null)
    {
        return Vec::new();
    }
    vec![FieldError::immutable("status.qosClass", qos)]
}

/// What the pod status strategy keeps from the stored pod before validating a status update:
/// its owner references (old kubelets corrupted them) and an empty or absent QoS class.
pub fn pod_status_backfill(new: &mut Value, old: &Value) {
    match old.pointer("/metadata/ownerReferences") {
        Some(refs) => new["metadata"]["ownerReferences"] = refs.clone(),
        None => {
            if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("ownerReferences");
            }
        }
    }
    let unset = new
        .pointer("/status/qosClass")
        .is_none_or(|q| q.is_null() || q == "");
    if unset && let Some(qos) = old.pointer("/status/qosClass") {
        new["status"]["qosClass"] = qos.clone();
    }
}

/// A Service update's cluster IPs once the registry has filled in what the update left out
/// and lined `clusterIPs` up with a changed `clusterIP` (`new_spec` is changed accordingly):
/// `clusterIPs` must start with `clusterIP`, and neither may change once set (a headless
/// Service stays headless; ExternalName Services have none).
pub fn service_cluster_ips(old_spec: &Value, new_spec: &mut Value) -> Vec<FieldError> {
    let ip = |spec: &Value| {
        spec.get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let ips = |spec: &Value| -> Vec<String> {
        spec.get("clusterIPs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old_ip, old_ips) = (ip(old_spec), ips(old_spec));
    let (new_ip, mut new_ips) = (ip(new_spec), ips(new_spec));
    if old_ip != new_ip && old_ips == new_ips && !new_ip.is_empty() && !new_ips.is_empty() {
        new_ips[0] = new_ip.clone();
        new_spec["clusterIPs"] = json!(new_ips);
    }
    if new_spec.get("type") == Some(&json!("ExternalName"))
        || old_spec.get("type") == Some(&json!("ExternalName"))
    {
        return Vec::new();
    }
    if !new_ips.is_empty() && new_ips[0] != new_ip {
        return vec![FieldError::invalid(
            "spec.clusterIPs",
            json!(new_ips),
            "first value must match `clusterIP`",
        )];
    }
    if old_ip == "None" && new_ip == "None" {
        return Vec::new();
    }
    let mut errs = Vec::new();
    if old_ips.len() == new_ips.len() {
        for (i, was) in old_ips.iter().enumerate() {
            if *was != new_ips[i] {
                errs.push(FieldError::invalid(
                    format!("spec.clusterIPs[{i}]"),
                    json!(new_ips),
                    "may not change once set",
                ));
            }
        }
    } else if !old_ips.is_empty() && !new_ips.is_empty() && old_ips[0] != new_ips[0] {
        errs.push(FieldError::invalid(
            "spec.clusterIPs[0]",
            json!(new_ips),
            "may not change once set",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({"spec": {"selector": selector, "template": {"metadata": {"labels": labels}}}})
    }

    #[test]
    fn selectors_must_match_the_template_and_stay() {
        let old = deployment(
            json!({"matchLabels": {"app": "a"}}),
            json!({"app": "a", "x": "y"}),
        );
        assert!(workload("apps", "deployments", &old, None).is_empty());
        let wider = deployment(
            json!({"matchLabels": {"app": "a", "x": "y"}}),
            json!({"app": "a", "x": "y"}),
        );
        let texts = |errs: Vec<FieldError>| errs.iter().map(FieldError::text).collect::<Vec<_>>();
        assert_eq!(
            texts(workload("apps", "daemonsets", &wider, Some(&old))),
            [
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"a\",\"x\":\"y\"}}: field is immutable"
            ]
        );
        let other = deployment(
            json!({"matchLabels": {"app": "b"}}),
            json!({"app": "a", "x": "y"}),
        );
        assert_eq!(
            texts(workload("apps", "deployments", &other, Some(&old))),
            [
                "spec.template.metadata.labels: Invalid value: {\"app\":\"a\",\"x\":\"y\"}: `selector` does not match template `labels`",
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"b\"}}: field is immutable",
            ]
        );
        assert_eq!(
            texts(workload("apps", "daemonsets", &other, Some(&old))),
            [
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"b\"}}: field is immutable",
                "spec.template.metadata.labels: Invalid value: {\"app\":\"a\",\"x\":\"y\"}: `selector` does not match template `labels`",
            ]
        );
        let both = deployment(
            json!({"matchLabels": {"app": "a"}, "matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]}),
            json!({"app": "a"}),
        );
        assert_eq!(
            texts(workload("apps", "deployments", &both, Some(&old))),
            [
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"a\"},\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"In\",\"values\":[\"a\"]}]}: field is immutable"
            ]
        );
        assert!(workload("", "services", &other, Some(&old)).is_empty());
    }

    #[test]
    fn a_pods_qos_class_stays() {
        let old = json!({"metadata": {"ownerReferences": [{"uid": "u"}]}, "status": {"phase": "Pending", "qosClass": "BestEffort"}});
        let mut cleared = json!({"metadata": {}, "status": {"phase": "Running", "qosClass": ""}});
        pod_status_backfill(&mut cleared, &old);
        assert_eq!(cleared["status"]["qosClass"], "BestEffort");
        assert_eq!(cleared["metadata"]["ownerReferences"][0]["uid"], "u");
        assert!(pod_status(&cleared, &old).is_empty());
        let changed = json!({"status": {"qosClass": "Guaranteed"}});
        assert_eq!(
            pod_status(&changed, &old)
                .iter()
                .map(FieldError::text)
                .collect::<Vec<_>>(),
            ["status.qosClass: Invalid value: \"Guaranteed\": field is immutable"]
        );
    }

    #[test]
    fn cluster_ips_do_not_change_once_set() {
        let old =
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]});
        let texts = |errs: Vec<FieldError>| errs.iter().map(FieldError::text).collect::<Vec<_>>();
        let mut same = old.clone();
        assert!(service_cluster_ips(&old, &mut same).is_empty());
        let mut moved =
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.77", "clusterIPs": ["10.96.0.10"]});
        assert_eq!(
            texts(service_cluster_ips(&old, &mut moved)),
            ["spec.clusterIPs[0]: Invalid value: [\"10.96.0.77\"]: may not change once set"]
        );
        assert_eq!(moved["clusterIPs"], json!(["10.96.0.77"]));
        let mut headless =
            json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["10.96.0.10"]});
        assert_eq!(
            texts(service_cluster_ips(&old, &mut headless)),
            ["spec.clusterIPs[0]: Invalid value: [\"None\"]: may not change once set"]
        );
        let mut plural =
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.78"]});
        assert_eq!(
            texts(service_cluster_ips(&old, &mut plural)),
            [
                "spec.clusterIPs: Invalid value: [\"10.96.0.78\"]: first value must match `clusterIP`"
            ]
        );
        let mut external = json!({"type": "ExternalName", "externalName": "x.example"});
        assert!(service_cluster_ips(&old, &mut external).is_empty());
    }
}
